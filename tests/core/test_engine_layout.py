"""Tests of the engine's layout mechanics, not of settlement's behaviour: how a claims table is built, cut and held.

These are the only tests that look inside the engine (yibao.engine: chunk cuts, the person-id hash join, int32
amounts, memory reuse, canonical-order ties across chunks) and may name its private parts; a rework of the layout
may rewrite them. Behaviour (what is paid) is tested through the public API elsewhere; each test here also checks
the result is the same fen as the plain path.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.helpers import assert_engines_agree, claims_frame, persons_frame
from tests.core.strategies import populations, schemes
from yibao.core.errors import InputError
from yibao.core.scheme import Scheme
from yibao.engine import build as columns
from yibao.engine import claim_table, settle_columns, settle_frame
from yibao.lab.synth import synthesize
from yibao.schemes import load_scheme

CITY = load_scheme("reference-city")


# --- a table read as the Parquet reader leaves it -------------------------------------------------

def test_a_claims_table_in_many_chunks_and_shuffled_settles_as_one_chunk() -> None:
    scheme = load_scheme("reference-city")
    city = synthesize(400, 2024, 11)
    claims = city.claims.sample(fraction=1.0, shuffle=True, seed=5)  # rows in no order
    expected = settle_frame(scheme, city.persons, claims.rechunk(), "batch")
    cuts = [0, 1, 2, 700, 701, 1500, claims.height]
    chunked = pl.concat([claims.slice(a, b - a) for a, b in itertools.pairwise(cuts)], rechunk=False)
    assert chunked["class_a"].n_chunks() == len(cuts) - 1
    assert settle_frame(scheme, city.persons, chunked, "batch").equals(expected)
    # and the scalar path agrees
    assert settle_frame(scheme, city.persons, claims, "scalar").equals(expected)


def test_a_person_year_beyond_what_the_batch_path_holds_exactly_is_refused() -> None:
    """Each claim within bounds, but one person-year's sum beyond them: refused (the fast check on the chunk's
    sum must not let it through); the same claims spread over many persons settle."""
    from yibao.core.batch import MAX_BATCH_AMOUNT
    from yibao.core.errors import InputError

    scheme = load_scheme("reference-city")
    city = synthesize(40, 2024, 2)
    one = city.claims["person_id"][0]
    big = MAX_BATCH_AMOUNT // 3
    claims = city.claims.with_columns(
        pl.when(pl.col("person_id") == one).then(pl.lit(big)).otherwise(pl.col("class_a")).alias("class_a")
    )
    assert claims.filter(pl.col("person_id") == one).height >= 4
    with pytest.raises(InputError, match="exceed what the batch path holds"):
        settle_frame(scheme, city.persons, claims, "batch")
    first_each = claims.group_by("person_id", maintain_order=True).head(1)
    settle_frame(scheme, city.persons, first_each, "batch")  # one big claim: within bounds


def test_a_negative_amount_reaching_the_batch_core_is_refused() -> None:
    """Readers refuse negative amounts; the batch core refuses them too (its bounds on what a person-year can
    reach assume amounts of at least nothing)."""
    import dataclasses

    from yibao.core.errors import InputError
    from yibao.engine import claim_table, settle_columns

    scheme = load_scheme("reference-city")
    city = synthesize(30, 2024, 3)
    table = claim_table(city.persons, city.claims)
    table = dataclasses.replace(table, rows=table.rows.copy())
    table.amounts[len(table) // 2, 2] = -1
    with pytest.raises(InputError, match="negative amount"):
        settle_columns(scheme, table, threads=1)


def test_amounts_are_held_in_int32_when_they_fit_and_in_int64_when_one_does_not() -> None:
    """A city's amounts fit in int32 (half the memory); one bill of 30 million yuan does not, and the table is
    then int64: both settle as the scalar path does, to the fen."""
    import numpy as np

    from yibao.engine import claim_table

    scheme = load_scheme("reference-city")
    city = synthesize(60, 2024, 4)
    assert claim_table(city.persons, city.claims).amounts.dtype == np.int32
    one = city.claims["claim_id"][3]
    huge = city.claims.with_columns(
        pl.when(pl.col("claim_id") == one).then(pl.lit(3_000_000_000, dtype=pl.Int64)).otherwise(pl.col("class_b"))
        .alias("class_b")
    )  # fmt: skip
    assert claim_table(city.persons, huge).amounts.dtype == np.int64
    for claims in (city.claims, huge):
        assert settle_frame(scheme, city.persons, claims, "batch").equals(
            settle_frame(scheme, city.persons, claims, "scalar")
        )


def test_a_table_whose_memory_held_results_is_not_settled_again() -> None:
    from yibao.core.errors import SchemeError
    from yibao.engine import claim_table, settle_columns

    scheme = load_scheme("reference-city")
    city = synthesize(30, 2024, 6)
    table = claim_table(city.persons, city.claims)
    settle_columns(scheme, table, reuse=True)
    with pytest.raises(SchemeError, match="settled with reuse"):
        settle_columns(scheme, table)
    with pytest.raises(SchemeError, match="settled with reuse"):
        table.chunks(2)


def test_claims_of_a_person_on_one_day_come_in_claim_id_order_from_a_table_in_many_chunks() -> None:
    """Canonical order breaks ties of person and day on the claim id, read from the column's chunks: claims given
    shuffled, in many chunks, come out as a sort of the whole table on (person, day, claim id) puts them."""
    import numpy as np

    from yibao.engine import claim_table, person_rows

    city = synthesize(300, 2024, 8)
    claims = city.claims.sample(fraction=1.0, shuffle=True, seed=3)
    cuts = [0, 1, 100, 101, 900, claims.height]
    claims = pl.concat([claims.slice(a, b - a) for a, b in itertools.pairwise(cuts)], rechunk=False)
    assert claims["claim_id"].n_chunks() == len(cuts) - 1
    keyed = claims.with_columns(pl.Series("person", person_rows(city.persons, claims)), pl.int_range(pl.len()).alias("at"))
    tied = keyed.filter(pl.len().over("person", "service_date") > 1)
    out_of_order = tied.group_by("person", "service_date").agg(pl.col("claim_id").is_sorted().not_().alias("x"))
    assert tied.height > 20 and out_of_order["x"].sum() > 5  # ties, many of them given out of claim-id order
    expected = keyed.sort("person", "service_date", "claim_id")["at"].to_numpy()
    table = claim_table(city.persons, claims)
    _, rows = table.sorted(np.arange(len(table)))
    assert rows.tolist() == expected.tolist()


def test_rows_grouped_into_chunks_while_the_table_is_made_settle_as_one_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The claims table groups its rows into the batch path's chunks piece by piece as it matches the person
    ids: every row in one chunk, each chunk ascending and of whole persons, and settling by those chunks gives
    the fen of one chunk."""
    import numpy as np

    import yibao.engine.build as columns
    from yibao.engine import settle_columns

    scheme = load_scheme("reference-city")
    city = synthesize(1500, 2024, 12)
    claims = city.claims.sample(fraction=1.0, shuffle=True, seed=9)
    n = claims.height
    monkeypatch.setattr(columns, "CHUNK_ROWS", 700)
    monkeypatch.setattr(columns, "_PIECE", 1000)  # several pieces, each grouped on its own
    table = columns.claim_table(city.persons, claims)
    grouped = table.grouped
    assert grouped is not None and grouped.count == -(-n // 700) >= 4
    chunks = [grouped.rows(j) for j in range(grouped.count)]
    assert sorted(np.concatenate(chunks).tolist()) == list(range(n))
    owners = [set(table.person[rows].tolist()) for rows in chunks]
    assert all(bool(np.all(np.diff(rows) > 0)) for rows in chunks)
    assert sum(len(persons) for persons in owners) == len(set().union(*owners))  # no person in two chunks
    whole = settle_columns(scheme, columns.claim_table(city.persons, claims), chunk_rows=n + 1)
    by_chunks = settle_columns(scheme, table, chunk_rows=700, threads=2)
    for name, values in whole.items():
        assert by_chunks[name].tolist() == values.tolist(), name


# --- the person-id join ------------------------------------------------------------------------------

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
    from yibao.lab.synth import synthesize
    from yibao.schemes import load_scheme

    city = synthesize(300, 2024, 4)
    scheme = load_scheme("reference-city")
    if bits == 0:
        monkeypatch.setattr(columns, "_hash", lambda ids: np.zeros(len(ids), dtype=np.uint64))
    table = columns.claim_table(city.persons, city.claims)
    assert table.person.tolist() == expected(city.persons, city.claims)
    assert_engines_agree(scheme, city.persons, city.claims)
    stranger = city.claims.head(1).with_columns(pl.lit("nobody").alias("person_id"))
    with pytest.raises(InputError, match="unknown person nobody"):
        columns.claim_table(city.persons, pl.concat([city.claims, stranger]))


# --- chunks on threads ---------------------------------------------------------------------------------

@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemes(), populations(), st.integers(1, 9), st.integers(1, 3))
def test_person_aligned_chunks_on_threads_give_the_same_fen(
    scheme: Scheme, population: Any, chunk_rows: int, threads: int
) -> None:
    """The batch path cuts the sorted claims into chunks between persons and settles them on threads: any chunk
    size and thread count gives the one-chunk result (and so the scalar path's, checked above)."""
    people, bills = population
    table = claim_table(persons_frame(people), claims_frame(bills))
    whole = settle_columns(scheme, table, threads=1, chunk_rows=len(bills) + 1)
    chunked = settle_columns(scheme, table, threads=threads, chunk_rows=chunk_rows)
    # the same rows gathered whole into canonical order and settled as ClaimColumns: the same fen
    cols, rows = table.sorted(np.arange(len(table)))  # the whole table in canonical order
    gathered = settle_columns(scheme, cols, threads=threads, chunk_rows=chunk_rows)
    # a table given up for its memory to hold the results: the same fen, and the table is spent
    given_up = claim_table(persons_frame(people), claims_frame(bills))
    reused = settle_columns(scheme, given_up, threads=threads, chunk_rows=chunk_rows, reuse=True)
    assert given_up.spent
    for name, values in whole.items():
        assert chunked[name].tolist() == values.tolist(), name
        assert values[rows].tolist() == gathered[name].tolist(), name
        assert reused[name].tolist() == values.tolist(), name



def test_claim_columns_out_of_canonical_order_are_refused() -> None:
    """The batch path settles columns sorted by person and date; reversed rows are refused, not settled wrongly."""
    import dataclasses

    import pytest

    from yibao.core.errors import SchemeError
    from yibao.lab.synth import synthesize

    city = synthesize(50, 2024, 3)
    table = claim_table(city.persons, city.claims)
    cols, _ = table.sorted(table.chunks(1)[0])
    backwards = dataclasses.replace(
        cols,
        person=cols.person[::-1], day=cols.day[::-1], age=cols.age[::-1],
        keys={dim: codes[::-1] for dim, codes in cols.keys.items()},
        class_a=cols.class_a[::-1], class_b=cols.class_b[::-1], self_pay=cols.self_pay[::-1],
        special_drugs=cols.special_drugs[::-1],
    )  # fmt: skip
    with pytest.raises(SchemeError) as err:
        settle_columns(CITY, backwards)
    assert err.value.code == "batch.not_sorted"
