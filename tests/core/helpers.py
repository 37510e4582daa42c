"""Small builders for hand-computed settlement examples (amounts given in yuan text)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from yibao.core.model import AssistanceCategory, CareType, Claim, InsuranceScheme, Person, Sex
from yibao.core.money import parse_yuan
from yibao.core.scalar import Settlement, settle_claims
from yibao.core.scheme import Scheme
from yibao.engine import Engine, settle_frame

HOME = "reference-city"


def person(
    pid: str,
    scheme: str = "urrbmi",
    category: str = "none",
    *,
    huiminbao: bool = False,
    pre_existing: bool = False,
    born: date = date(1970, 6, 1),
    income: str = "30000",
) -> Person:
    return Person(
        pid, born, Sex.FEMALE, HOME, InsuranceScheme(scheme), AssistanceCategory(category),
        huiminbao, pre_existing, parse_yuan(income),
    )  # fmt: skip


def claim(
    cid: str,
    pid: str,
    day: str,
    level: int,
    care: str = "inpatient",
    a: str = "0",
    b: str = "0",
    self_pay: str = "0",
    special: str = "0",
    region: str = HOME,
) -> Claim:
    return Claim(
        cid, pid, date.fromisoformat(day), region, level, CareType(care),
        parse_yuan(a), parse_yuan(b), parse_yuan(self_pay), parse_yuan(special), "",
    )  # fmt: skip


def persons_frame(persons: list[Person]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": [p.person_id for p in persons],
            "birth_date": [p.birth_date for p in persons],
            "sex": [p.sex.value for p in persons],
            "region": [p.region for p in persons],
            "scheme": [p.scheme.value for p in persons],
            "assistance_category": [p.assistance_category.value for p in persons],
            "huiminbao": [p.huiminbao for p in persons],
            "pre_existing": [p.pre_existing for p in persons],
            "annual_income": pl.Series([p.annual_income for p in persons], dtype=pl.Int64),
            **cover_columns(persons),
        }
    )


def cover_columns(persons: list[Person]) -> dict[str, pl.Series]:
    """The optional cover_start / cover_end columns, when a person has cover dates."""
    if all(p.cover_start is None and p.cover_end is None for p in persons):
        return {}
    return {
        "cover_start": pl.Series([p.cover_start for p in persons], dtype=pl.Date),
        "cover_end": pl.Series([p.cover_end for p in persons], dtype=pl.Date),
    }


def policies_frame(persons: list[Person]) -> pl.DataFrame | None:
    """The persons' policies as the engines take them (None: nobody holds one)."""
    rows = [(p.person_id, c.product, c.start, c.end) for p in persons for c in p.policies]
    if not rows:
        return None
    return pl.DataFrame(rows, schema={"person_id": pl.String, "product": pl.String, "start_date": pl.Date,
                                      "end_date": pl.Date}, orient="row")


def claims_frame(claims: list[Claim]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "claim_id": pl.Series([c.claim_id for c in claims], dtype=pl.String),
            "person_id": pl.Series([c.person_id for c in claims], dtype=pl.String),
            "service_date": pl.Series([c.service_date for c in claims], dtype=pl.Date),
            "region": pl.Series([c.region for c in claims], dtype=pl.String),
            "facility_level": pl.Series([c.facility_level for c in claims], dtype=pl.Int8),
            "care_type": pl.Series([c.care_type.value for c in claims], dtype=pl.String),
            "class_a": pl.Series([c.class_a for c in claims], dtype=pl.Int64),
            "class_b": pl.Series([c.class_b for c in claims], dtype=pl.Int64),
            "self_pay": pl.Series([c.self_pay for c in claims], dtype=pl.Int64),
            "special_drugs": pl.Series([c.special_drugs for c in claims], dtype=pl.Int64),
            "diagnosis": pl.Series([c.diagnosis for c in claims], dtype=pl.String),
        }
    )


def assert_engines_agree(
    scheme: Scheme, persons: pl.DataFrame, claims: pl.DataFrame, *, dask_client: Any = None,
    engines: Sequence[Engine] = ("scalar", "batch"), policies: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """THE check that the engines give the same fen: settles the normalised frames with each engine (and on the
    Dask cluster `dask_client` when given) and asserts every settled frame is equal, column for column and row
    for row; returns the first engine's settled frame."""
    settled = {engine: settle_frame(scheme, persons, claims, engine, policies=policies) for engine in engines}
    if dask_client is not None:
        from yibao.engine.dask import settle_dask_frame

        settled["dask"] = settle_dask_frame(scheme, persons, claims, client=dask_client, policies=policies)
    first, *others = settled
    for engine in others:
        for name in settled[first].columns:
            assert settled[engine][name].to_list() == settled[first][name].to_list(), (first, engine, name)
    return settled[first]


def settle_both(scheme: Scheme, persons: list[Person], claims: list[Claim]) -> dict[str, Settlement]:
    """Settle with the scalar path, check every engine gives the same fen (`assert_engines_agree`), return the
    scalar settlements by claim id."""
    settled = settle_claims(scheme, {p.person_id: p for p in persons}, claims)
    frame = assert_engines_agree(scheme, persons_frame(persons), claims_frame(claims),
                                 policies=policies_frame(persons))
    for s, row in zip(settled, frame.iter_rows(named=True), strict=True):
        assert row["claim_id"] == s.claim_id
        assert [row[f"paid_{layer.layer_id}"] for layer in s.layers] == [layer.paid for layer in s.layers]
        assert row["out_of_pocket"] == s.out_of_pocket
    return {s.claim_id: s for s in settled}


def y(text: str) -> int:
    """Yuan text -> fen, for expected values."""
    return parse_yuan(text)
