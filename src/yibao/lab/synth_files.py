"""Synthetic city, tables and files: the City's frames, the contract's columns, and writers that stream
them to Parquet or CSV (complete files or none)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl

from yibao.tables import CLAIM_AMOUNTS, fen_to_yuan_expr, to_contract_claims, to_contract_persons

ACCOUNT_BALANCE = "individual_account_balance"  # optional persons column (yuan in files, fen inside)

CONTRACT_YUAN = pl.Decimal(14, 2)


class OutputFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


@dataclass(frozen=True)
class City:
    """Normalised tables (amounts in Int64 fen), as `yibao.tables` reads them."""

    persons: pl.DataFrame
    claims: pl.DataFrame


def contract_persons(persons: pl.DataFrame) -> pl.DataFrame:
    """The contract's persons columns, income (and the individual-account balance, when the frame has it) in yuan as
    decimal(14, 2)."""
    out = to_contract_persons(persons).with_columns(pl.col("annual_income").cast(CONTRACT_YUAN))
    if ACCOUNT_BALANCE in persons.columns and ACCOUNT_BALANCE not in out.columns:
        out = out.with_columns(persons.select(fen_to_yuan_expr(ACCOUNT_BALANCE).alias(ACCOUNT_BALANCE)).to_series())
    if ACCOUNT_BALANCE in out.columns:
        out = out.with_columns(pl.col(ACCOUNT_BALANCE).cast(CONTRACT_YUAN))
    return out


def contract_claims(claims: pl.DataFrame) -> pl.DataFrame:
    """The contract's claims columns, amounts in yuan as decimal(14, 2)."""
    return to_contract_claims(claims).with_columns([pl.col(c).cast(CONTRACT_YUAN) for c in CLAIM_AMOUNTS])


class _TableWriter:
    """Appends frames to one Parquet file (a row group each) or one CSV file, under a temporary name."""

    def __init__(self, final: Path, fmt: OutputFormat) -> None:
        self.final, self.fmt = final, fmt
        self.tmp = final.with_name(f".{final.name}.{os.getpid()}.partial")
        self.tmp.unlink(missing_ok=True)
        self._parquet: Any = None  # pyarrow.parquet.ParquetWriter (pyarrow ships no type hints)
        self._started = False

    def write(self, frame: pl.DataFrame) -> None:
        if self.fmt is OutputFormat.CSV:
            with self.tmp.open("a", encoding="utf-8", newline="") as handle:
                frame.write_csv(handle, include_header=not self._started)
        else:
            import pyarrow.parquet as pq  # type: ignore[import-untyped]

            table = frame.to_arrow()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
            self._parquet.write_table(table)
        self._started = True

    def commit(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self.tmp.replace(self.final)

    def abort(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self.tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class CityFiles:
    persons: Path
    claims: Path
    people: int
    claim_count: int


class CityWriter:
    """persons.<fmt> and claims.<fmt> under a directory, written chunk by chunk; complete files or none."""

    def __init__(self, out_dir: str | Path, fmt: OutputFormat | str = OutputFormat.PARQUET) -> None:
        self.fmt = OutputFormat(fmt)
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        suffix = self.fmt.value
        self._persons = _TableWriter(self.out_dir / f"persons.{suffix}", self.fmt)
        self._claims = _TableWriter(self.out_dir / f"claims.{suffix}", self.fmt)
        self.people = 0
        self.claim_count = 0

    def write(self, city: City) -> None:
        self._persons.write(contract_persons(city.persons))
        self._claims.write(contract_claims(city.claims))
        self.people += city.persons.height
        self.claim_count += city.claims.height

    def __enter__(self) -> CityWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self._persons.commit()
            self._claims.commit()
        else:
            self._persons.abort()
            self._claims.abort()

    def files(self) -> CityFiles:
        return CityFiles(self._persons.final, self._claims.final, self.people, self.claim_count)


def grouped(blocks: Iterable[City], size: int) -> Iterator[City]:
    batch: list[City] = []
    for city in blocks:
        batch.append(city)
        if len(batch) == size:
            yield City(pl.concat([b.persons for b in batch]), pl.concat([b.claims for b in batch]))
            batch = []
    if batch:
        yield City(pl.concat([b.persons for b in batch]), pl.concat([b.claims for b in batch]))


def write_city(city: City, out_dir: str | Path, fmt: OutputFormat | str = OutputFormat.PARQUET) -> CityFiles:
    """Write an in-memory city as the contract's persons and claims files."""
    with CityWriter(out_dir, fmt) as writer:
        writer.write(city)
    return writer.files()
