"""The batch path's person join: ids matched through a NumPy hash table and checked on the strings."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from yibao.core.errors import InputError
from yibao.engine import build as columns


def frames(persons: int, claims: int, unknown: int = 0, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"P{i:09d}" for i in rng.permutation(persons * 3)[:persons]]  # not in any order
    owners = rng.integers(0, persons, claims)
    wanted = [ids[o] for o in owners] + [f"X{i}" for i in range(unknown)]
    return (
        pl.DataFrame({"person_id": ids}),
        pl.DataFrame({"person_id": wanted, "claim_id": [f"C{i}" for i in range(len(wanted))]}),
    )


def expected(persons: pl.DataFrame, claims: pl.DataFrame) -> list[int]:
    where = {pid: row for row, pid in enumerate(persons["person_id"])}
    return [where.get(pid, -1) for pid in claims["person_id"]]


def test_rows_match_a_dictionary_lookup_on_a_large_population() -> None:
    persons, claims = frames(50_000, 300_000)
    assert columns.person_rows(persons, claims).tolist() == expected(persons, claims)


def test_unknown_person_is_refused_with_its_claim() -> None:
    persons, claims = frames(1_000, 5_000, unknown=1)
    with pytest.raises(InputError) as err:
        columns.person_rows(persons, claims)
    assert err.value.code == "input.unknown_person"
    assert "X0" in str(err.value) and "C5000" in str(err.value)


@pytest.mark.parametrize("bits", [0, 3, 12])
def test_colliding_hashes_still_give_exact_rows(monkeypatch: pytest.MonkeyPatch, bits: int) -> None:
    """With a hash of few bits, different ids share hashes: long probe runs, and matches whose strings differ;
    the string check sends those to the join on the strings. The rows are exact either way."""
    real = columns._hash
    monkeypatch.setattr(columns, "_hash", lambda ids: real(ids) & np.uint64((1 << bits) - 1))
    persons, claims = frames(300, 2_000, unknown=0, seed=bits)
    assert columns.person_rows(persons, claims).tolist() == expected(persons, claims)
    persons, claims = frames(300, 2_000, unknown=3, seed=bits)
    with pytest.raises(InputError):
        columns.person_rows(persons, claims)


def test_a_match_whose_strings_differ_sends_the_join_to_the_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns, "_hash", lambda ids: np.zeros(len(ids), dtype=np.uint64))  # every id collides
    persons, claims = frames(50, 400, seed=1)
    assert columns._hashed_rows(persons["person_id"], claims["person_id"]) is None
    assert columns.person_rows(persons, claims).tolist() == expected(persons, claims)


def test_no_persons_and_no_claims() -> None:
    empty = pl.DataFrame({"person_id": pl.Series([], dtype=pl.String), "claim_id": pl.Series([], dtype=pl.String)})
    assert columns.person_rows(empty.select("person_id"), empty).tolist() == []
    with pytest.raises(InputError):
        columns.person_rows(empty.select("person_id"), frames(1, 1)[1])


@pytest.mark.parametrize("bits", [0, 64])
def test_the_claims_table_is_the_same_whichever_way_ids_are_matched(monkeypatch: pytest.MonkeyPatch, bits: int) -> None:
    """claim_table matches ids piece by piece on threads; with every hash colliding (bits=0) the checks fail and
    the table falls back to the string join: the same persons, out-of-area flags and payments either way."""
    from yibao.engine import settle_frame
    from yibao.lab.synth import synthesize
    from yibao.schemes import load_scheme

    city = synthesize(300, 2024, 4)
    scheme = load_scheme("reference-city")
    scalar = settle_frame(scheme, city.persons, city.claims, "scalar")
    if bits == 0:
        monkeypatch.setattr(columns, "_hash", lambda ids: np.zeros(len(ids), dtype=np.uint64))
    table = columns.claim_table(city.persons, city.claims)
    assert table.person.tolist() == expected(city.persons, city.claims)
    assert settle_frame(scheme, city.persons, city.claims, "batch").equals(scalar)
    stranger = city.claims.head(1).with_columns(pl.lit("nobody").alias("person_id"))
    with pytest.raises(InputError, match="unknown person nobody"):
        columns.claim_table(city.persons, pl.concat([city.claims, stranger]))
