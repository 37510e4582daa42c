"""Synthetic city: persons and a year of their bills, calibrated to published Chinese figures.

Every distribution, its parameters and its published source are described in
docs/synth.md; the constants below carry a short citation each. Generation is
vectorised (NumPy, then Polars) and done in blocks of `BLOCK_PEOPLE` persons.
Each block draws from its own random generator, derived from `(seed, block
index)` with NumPy's SeedSequence, and the block size is fixed: a seed gives the
same city however the blocks are later grouped into files or row groups.

Amounts are created as integer fen at the point a drawn cost becomes a bill
(statistics are floats, money is not); the files show yuan with two decimals
(Parquet decimal(14, 2), CSV two-decimal text).

The city is drawn in three modules: persons (yibao.lab.synth_persons), their bills
(yibao.lab.synth_claims), tables and files (yibao.lab.synth_files); this module
generates blocks and cities and writes them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from yibao.core.errors import YibaoError
from yibao.lab.synth_accounts import account_balances
from yibao.lab.synth_claims import CLAIMS_SCHEMA, OTHER_REGIONS, claims_block
from yibao.lab.synth_files import (
    CONTRACT_YUAN,
    City,
    CityFiles,
    CityWriter,
    OutputFormat,
    contract_claims,
    contract_persons,
    grouped,
    write_city,
)
from yibao.lab.synth_persons import DRAWN_PERSONS_SCHEMA, block_rng, persons_block

__all__ = [
    "BLOCK_PEOPLE",
    "CLAIMS_SCHEMA",
    "CONTRACT_YUAN",
    "DEFAULT_REGION",
    "OTHER_REGIONS",
    "PERSONS_SCHEMA",
    "City",
    "CityFiles",
    "CityWriter",
    "OutputFormat",
    "SynthError",
    "block_count",
    "contract_claims",
    "contract_persons",
    "iter_city",
    "synthesize",
    "synthesize_block",
    "write_city",
    "write_partitioned_city",
    "write_synthetic_city",
]

BLOCK_PEOPLE = 10_000  # persons per generation block: fixed, part of what a seed means
DEFAULT_REGION = "reference-city"
# the persons frame: the drawn columns, then the individual-account balance at the start of the year (fen)
PERSONS_SCHEMA = pl.Schema([*DRAWN_PERSONS_SCHEMA.items(), ("individual_account_balance", pl.Int64)])


def synthesize_block(block: int, people: int, year: int, seed: int, region: str = DEFAULT_REGION) -> City:
    """Block `block` of a city of `people` persons: persons block*BLOCK_PEOPLE onwards, and their bills.

    A block is always drawn whole and then cut, so a smaller city is the first persons of a larger one.
    """
    first = block * BLOCK_PEOPLE
    n = min(BLOCK_PEOPLE, people - first)
    if n <= 0:
        raise SynthError(f"block {block} is beyond a city of {people} people")
    rng = block_rng(seed, block)
    persons, attributes = persons_block(rng, first, BLOCK_PEOPLE, year, region)
    persons = persons.with_columns(account_balances(persons, year, region))
    claims = claims_block(rng, attributes, persons["person_id"], year, region)
    if n < BLOCK_PEOPLE:
        persons = persons.head(n)
        claims = claims.filter(pl.col("person_id") <= persons["person_id"][-1])
    return City(persons, claims)


class SynthError(YibaoError):
    def __init__(self, message: str, code: str = "synth.invalid") -> None:
        super().__init__(message, code=code)


def _check_arguments(people: int, year: int, seed: int, region: str) -> None:
    if not region.strip() or region != region.strip():
        raise SynthError(f"the region code must be a non-empty text without surrounding spaces, not {region!r}")
    if people < 1:
        raise SynthError(f"a city needs at least one person, not {people}")
    if not 1900 <= year <= 2200:
        raise SynthError(f"year {year} is outside 1900..2200")
    if seed < 0:
        raise SynthError(f"the seed must be a non-negative integer, not {seed}")


def block_count(people: int) -> int:
    return -(-people // BLOCK_PEOPLE)


def iter_city(people: int, year: int, seed: int, region: str = DEFAULT_REGION) -> Iterator[City]:
    """The city block by block (bounded memory), in person order."""
    _check_arguments(people, year, seed, region)
    for block in range(block_count(people)):
        yield synthesize_block(block, people, year, seed, region)


def synthesize(people: int, year: int, seed: int, region: str = DEFAULT_REGION) -> City:
    """A whole city in memory (normalised frames, fen). For large cities stream with `write_synthetic_city`."""
    blocks = list(iter_city(people, year, seed, region))
    return City(pl.concat([b.persons for b in blocks]), pl.concat([b.claims for b in blocks]))


def write_synthetic_city(
    people: int,
    year: int,
    seed: int,
    out_dir: str | Path,
    fmt: OutputFormat | str = OutputFormat.PARQUET,
    region: str = DEFAULT_REGION,
    blocks_per_write: int = 10,
    on_block: Callable[[City], None] | None = None,
) -> CityFiles:
    """Generate and stream a city to files; memory stays bounded by `blocks_per_write` blocks."""
    if blocks_per_write < 1:
        raise SynthError(f"blocks_per_write must be at least 1, not {blocks_per_write}")

    def blocks() -> Iterator[City]:
        for city in iter_city(people, year, seed, region):
            if on_block is not None:
                on_block(city)
            yield city

    with CityWriter(out_dir, fmt) as writer:
        for chunk in grouped(blocks(), blocks_per_write):
            writer.write(chunk)
    return writer.files()


def write_partitioned_city(
    people: int,
    year: int,
    seed: int,
    out_dir: str | Path,
    parts: int,
    region: str = DEFAULT_REGION,
    on_block: Callable[[City], None] | None = None,
) -> CityFiles:
    """The same city as a Parquet dataset partitioned by person, for the Dask engine: persons/part-N.parquet and
    claims/part-N.parquet hold the same persons (whole generation blocks). Complete folders or none."""
    import shutil

    from yibao.engine.dask import PART
    from yibao.tables import write_table

    if parts < 1:
        raise SynthError(f"parts must be at least 1, not {parts}")
    out = Path(out_dir)
    tmp = out / f".dataset.{os.getpid()}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    per_part = -(-block_count(people) // parts)
    people_written = claims_written = 0
    try:
        for i, part in enumerate(grouped(iter_city(people, year, seed, region), per_part)):
            if on_block is not None:
                on_block(part)
            write_table(contract_persons(part.persons), tmp / "persons" / PART.format(i))
            write_table(contract_claims(part.claims), tmp / "claims" / PART.format(i))
            people_written += part.persons.height
            claims_written += part.claims.height
        for table in ("persons", "claims"):
            shutil.rmtree(out / table, ignore_errors=True)
            (tmp / table).replace(out / table)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return CityFiles(out / "persons", out / "claims", people_written, claims_written)
