"""yibao for notebooks and other programs.

>>> import yibao
>>> out = yibao.settle("reference-city", persons, claims)          # contract columns, yuan
>>> yibao.explain_claim("reference-city", persons, claims, "B0003", lang="zh").text()

Tables may be Polars or pandas DataFrames or Arrow tables in the contract's columns
(docs/design.md); the result comes back as the same kind of table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from yibao.core.errors import InputError
from yibao.core.explain import Explanation, Lang, explain
from yibao.core.scalar import settle_claims
from yibao.core.scheme import Scheme
from yibao.engine import Engine, settle_frame
from yibao.schemes import load_scheme
from yibao.tables import (
    Source,
    claims_records,
    normalise_claims,
    normalise_persons,
    persons_records,
    settlement_output,
)


def as_scheme(scheme: Scheme | str | Path, reforms: Sequence[str | Path] = ()) -> Scheme:
    if isinstance(scheme, Scheme):
        if reforms:
            raise ValueError("give reforms with a scheme name or path, not with a built Scheme")
        return scheme
    return load_scheme(scheme, tuple(reforms))


def _to_polars(table: Any) -> tuple[pl.DataFrame, str]:
    if isinstance(table, pl.DataFrame):
        return table, "polars"
    module = type(table).__module__
    if module.startswith("pandas"):
        return pl.from_pandas(table), "pandas"
    if module.startswith("pyarrow"):
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame, "arrow"
    raise TypeError(f"expected a Polars or pandas DataFrame or an Arrow table, not {type(table).__name__}")


def _back(frame: pl.DataFrame, kind: str) -> Any:
    if kind == "pandas":
        return frame.to_pandas()
    if kind == "arrow":
        return frame.to_arrow()
    return frame


def normalised(persons: Any, claims: Any, scheme: Scheme | None = None) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    persons_pl, _ = _to_polars(persons)
    claims_pl, kind = _to_polars(claims)
    people = normalise_persons(persons_pl, Source("persons", csv=False))
    bills = normalise_claims(claims_pl, Source("claims", csv=False), people, scheme)
    return people, bills, kind


def settle(
    scheme: Scheme | str | Path,
    persons: Any,
    claims: Any,
    *,
    reforms: Sequence[str | Path] = (),
    engine: Engine = "batch",
    policies: Any = None,
) -> Any:
    """Settle a claims table: claim_id, paid_<layer> per layer, out_of_pocket (yuan, Decimal), in input order.
    `policies`: a table (policy_id, person_id, product, start_date, end_date), as `yibao settle --policies`: the
    named products' indemnity layers are added (paid_<layer>) and pay only policies in force."""
    built = as_scheme(scheme, reforms)
    people, bills, kind = normalised(persons, claims, built)
    built, held = _with_policies(built, people, policies)
    return _back(settlement_output(built, settle_frame(built, people, bills, engine, policies=held)), kind)


def _with_policies(scheme: Scheme, persons: pl.DataFrame, policies: Any) -> tuple[Scheme, pl.DataFrame | None]:
    if policies is None:
        return scheme, None
    from yibao.products.settlement import settle_with_policies

    return settle_with_policies(scheme, persons, _to_polars(policies)[0])


def explain_claim(
    scheme: Scheme | str | Path,
    persons: Any,
    claims: Any,
    claim_id: str,
    *,
    reforms: Sequence[str | Path] = (),
    lang: Lang = "en",
    policies: Any = None,
) -> Explanation:
    """The explanation of one claim, settled after the earlier claims of the same person (scalar path);
    `policies` as for `settle`."""
    built = as_scheme(scheme, reforms)
    people, bills, _ = normalised(persons, claims, built)
    built, held = _with_policies(built, people, policies)
    return explain_from_frames(built, people, bills, claim_id, lang, held)


def explain_from_frames(
    scheme: Scheme, persons: pl.DataFrame, claims: pl.DataFrame, claim_id: str, lang: Lang = "en",
    policies: pl.DataFrame | None = None,
) -> Explanation:
    """`policies`: the persons' policies (person_id, product, start_date, end_date), when they hold any."""
    target = claims.filter(pl.col("claim_id") == claim_id)
    if target.height == 0:
        raise InputError(f"no claim {claim_id!r} in the claims table", code="input.unknown_claim")
    person_id = target["person_id"][0]
    own = claims.filter(pl.col("person_id") == person_id)
    theirs = None if policies is None else policies.filter(pl.col("person_id") == person_id)
    people = persons_records(persons.filter(pl.col("person_id") == person_id), theirs)
    settled = settle_claims(scheme, people, claims_records(own))
    found = next(s for s in settled if s.claim_id == claim_id)
    return explain(found, scheme, lang)
