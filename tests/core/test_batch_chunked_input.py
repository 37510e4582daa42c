"""The batch path reads a claims table as the Parquet reader leaves it: columns in many chunks, rows in any order."""

from __future__ import annotations

import itertools

import polars as pl
import pytest

from yibao.engine import settle_frame
from yibao.lab.synth import synthesize
from yibao.schemes import load_scheme


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
