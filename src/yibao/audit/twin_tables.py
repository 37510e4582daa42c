"""The three input tables of the Twin check, read and validated (CSV or Parquet by suffix).

* workers (W), the registry: person_id, ric, name, birth_date, sex, employer_uscc, region,
  declared_base (monthly contribution base, yuan), months_paid (in year Y);
* inspections (I), what inspectors saw: inspection_id, employer_uscc, inspected_on, ric, name,
  birth_date, sex, monthly_wage (yuan);
* employers (E): employer_uscc, name, region, average_monthly_wage (the region's, in year Y, yuan).

A malformed value in W or E (an invalid identity number or USCC, a negative amount, a missing column)
is an error naming the file, the line and the column. In I, a missing or invalid identity number is
*data* — the linkage works around it — but the other columns must be well formed. Amounts become
integer fen (tables.fen_column).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from yibao.audit.identity import ric_compact, ric_valid, uscc_valid
from yibao.core.errors import InputError
from yibao.core.model import Sex
from yibao.tables import (
    Source,
    _choice,
    _date,
    _first_bad,
    _parquet_files,
    _require_columns,
    _text,
    _unique,
    fen_column,
    fen_to_yuan_expr,
    read_raw,
)

WORKER_COLUMNS = (
    "person_id", "ric", "name", "birth_date", "sex", "employer_uscc", "region", "declared_base", "months_paid",
)  # fmt: skip
INSPECTION_COLUMNS = (
    "inspection_id", "employer_uscc", "inspected_on", "ric", "name", "birth_date", "sex", "monthly_wage",
)  # fmt: skip
EMPLOYER_COLUMNS = ("employer_uscc", "name", "region", "average_monthly_wage")
SEXES = [s.value for s in Sex]


PART_ROWS = 1_000_000  # rows normalised at a time: what a part's checks make is dropped before the next part


@dataclass(frozen=True)
class _Part(Source):
    """Rows `offset`.. of a source: errors name the line in the whole file."""

    offset: int = 0

    def fail(self, row: int, column: str | None, message: str, code: str = "input.invalid") -> InputError:
        return Source(self.name, self.csv).fail(row + self.offset, column, message, code)


class _Rows:
    """A table read part by part: a Parquet file or folder is scanned a part at a time (the whole file as read
    would take gigabytes at ten million rows); a CSV file is read whole (every column text) and sliced."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        self.lazy: pl.LazyFrame | None = None
        if path.suffix.lower() != ".csv" and path.exists():
            self.lazy = pl.scan_parquet(_parquet_files(path))
            try:
                self.columns = self.lazy.collect_schema().names()
                self.height = int(self.lazy.select(pl.len()).collect().item())
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise InputError(
                    f"{path}: not a readable Parquet file or dataset: {exc}", code="input.bad_file"
                ) from exc
            self.src = Source(str(path), csv=False)
        else:
            self.frame, self.src = read_raw(path)
            self.columns, self.height = self.frame.columns, self.frame.height

    def part(self, start: int, rows: int) -> pl.DataFrame:
        if self.lazy is None:
            return self.frame.slice(start, rows)
        return self.lazy.slice(start, rows).collect()

    def require(self, columns: tuple[str, ...]) -> None:
        _require_columns(pl.DataFrame(schema=dict.fromkeys(self.columns, pl.String)), columns, self.src)


def _in_parts(rows: _Rows, normalise: Callable[[pl.DataFrame, Source], pl.DataFrame]) -> pl.DataFrame:
    """`normalise` applied to a million rows at a time: the checks of ten million rows at once need gigabytes."""
    if rows.height <= PART_ROWS:
        return normalise(rows.part(0, max(rows.height, 1)), rows.src)
    parts = [normalise(rows.part(start, PART_ROWS), _Part(rows.src.name, rows.src.csv, start))
             for start in range(0, rows.height, PART_ROWS)]  # fmt: skip
    return pl.concat(parts)


@dataclass(frozen=True)
class TwinInputs:
    """Normalised tables: dates as Date, amounts as Int64 fen, `ric_valid` on the inspections."""

    workers: pl.DataFrame
    inspections: pl.DataFrame
    employers: pl.DataFrame


def _fail_where(frame: pl.DataFrame, src: Source, column: str, bad: pl.Series, why: str) -> None:
    row = _first_bad(pl.DataFrame({"b": bad}), pl.col("b"))
    if row is not None:
        raise src.fail(row, column, f"{frame[column][row]!r} {why}")


def _uscc(frame: pl.DataFrame, src: Source) -> pl.Series:
    codes = _text(frame, src, "employer_uscc").str.to_uppercase()
    _fail_where(frame, src, "employer_uscc", ~uscc_valid(codes), "is not a valid unified social credit code (USCC)")
    return codes


def normalise_employers(frame: pl.DataFrame, src: Source) -> pl.DataFrame:
    _require_columns(frame, EMPLOYER_COLUMNS, src)
    codes = _uscc(frame, src)
    _unique(codes, src, "employer_uscc")
    average = fen_column(frame, src, "average_monthly_wage")
    _fail_where(frame, src, "average_monthly_wage", average == 0, "is zero; the region's average wage is needed")
    return pl.DataFrame(
        {
            "employer_uscc": codes,
            "employer_name": _text(frame, src, "name"),
            "region": _text(frame, src, "region"),
            "average_wage": average,
        }
    )


def _months(frame: pl.DataFrame, src: Source) -> pl.Series:
    text = _text(frame, src, "months_paid")
    months = text.cast(pl.Int16, strict=False)
    _fail_where(frame, src, "months_paid", months.is_null() | (months < 0) | (months > 12),
                "is not a number of months from 0 to 12")  # fmt: skip
    return months.cast(pl.Int8)


def _worker_part(frame: pl.DataFrame, src: Source) -> pl.DataFrame:
    ric = _text(frame, src, "ric").str.to_uppercase()
    _fail_where(frame, src, "ric", ~ric_valid(ric), "is not a valid resident identity number")
    return pl.DataFrame(
        {
            "person_id": _text(frame, src, "person_id"),
            "ric": ric,
            "name": _text(frame, src, "name"),
            "birth_date": _date(frame, src, "birth_date"),
            "sex": _choice(frame, src, "sex", SEXES),
            "employer_uscc": _text(frame, src, "employer_uscc").str.to_uppercase(),  # checked whole: few distinct
            "region": _text(frame, src, "region"),
            "declared_base": fen_column(frame, src, "declared_base"),
            "months_paid": _months(frame, src),
        }
    )


def read_workers(path: str | Path) -> pl.DataFrame:
    rows = _Rows(path)
    rows.require(WORKER_COLUMNS)
    workers = _in_parts(rows, _worker_part)
    invalid = ~uscc_valid(workers["employer_uscc"])
    _fail_where(workers, rows.src, "employer_uscc", invalid, "is not a valid unified social credit code (USCC)")
    # A person may work for two employers (a row at each), not twice for one.
    repeat = _first_repeat(workers, ["person_id", "employer_uscc"])
    if repeat is not None:
        row, first = repeat
        raise rows.src.fail(row, "person_id", f"{workers['person_id'][row]!r} appears twice for the same employer "
                            f"(first at line {rows.src.line(first)})", code="input.duplicate")  # fmt: skip
    return workers


def _first_repeat(frame: pl.DataFrame, key: list[str]) -> tuple[int, int] | None:
    """(row, first row) of the first row whose key an earlier row has, or None. Keys are compared by a 64-bit
    hash first (ten million string keys compared whole take gigabytes), then exactly among the rows it picks."""
    hashes = frame.select(pl.struct(key).hash(seed=19)).to_series()
    maybe = frame.select(key).with_row_index("row").filter(hashes.is_duplicated())
    if maybe.height == 0:
        return None
    again = maybe.filter(pl.struct(key).is_duplicated() & ~pl.struct(key).is_first_distinct())
    if again.height == 0:
        return None
    row = int(again["row"][0])
    same = maybe.filter(pl.all_horizontal(pl.col(c) == again[c][0] for c in key))
    return row, int(same["row"][0])


def read_inspections(path: str | Path, employers: pl.DataFrame, year: int) -> pl.DataFrame:
    rows = _Rows(path)
    rows.require(INSPECTION_COLUMNS)
    seen = _in_parts(rows, lambda part, where: _inspection_part(part, where, employers, year))
    repeat = _first_repeat(seen, ["inspection_id"])
    if repeat is not None:
        row, first = repeat
        raise rows.src.fail(row, "inspection_id", f"duplicate inspection_id {seen['inspection_id'][row]!r} (first "
                            f"at line {rows.src.line(first)})", code="input.duplicate")  # fmt: skip
    return seen


def _inspection_part(frame: pl.DataFrame, src: Source, employers: pl.DataFrame, year: int) -> pl.DataFrame:
    ids = _text(frame, src, "inspection_id")
    codes = _text(frame, src, "employer_uscc").str.to_uppercase()
    unknown = ~codes.is_in(employers["employer_uscc"].implode())
    _fail_where(frame, src, "employer_uscc", unknown, "is not in the employers table")
    inspected = _date(frame, src, "inspected_on")
    _fail_where(frame, src, "inspected_on", inspected.dt.year() < year, f"is before the year checked ({year})")
    raw_ric = frame["ric"].cast(pl.String).fill_null("")
    ric = pl.DataFrame({"r": raw_ric}).select(ric_compact(pl.col("r").str.strip_chars()))["r"]
    return pl.DataFrame(
        {
            "inspection_id": ids,
            "employer_uscc": codes,
            "inspected_on": inspected,
            "ric": ric,
            "ric_valid": ric_valid(ric),
            "name": _text(frame, src, "name"),
            "birth_date": _date(frame, src, "birth_date"),
            "sex": _choice(frame, src, "sex", SEXES),
            "monthly_wage": fen_column(frame, src, "monthly_wage"),
        }
    )


def read_twin_inputs(workers: str | Path, inspections: str | Path, employers: str | Path, year: int) -> TwinInputs:
    """The three tables, validated; the first bad value stops the read with file, line and column."""
    e_frame, e_src = read_raw(employers)
    emp = normalise_employers(e_frame, e_src)
    reg = read_workers(workers)
    obs = read_inspections(inspections, emp, year)
    return TwinInputs(workers=reg, inspections=obs, employers=emp)


# --- the contract's files from normalised tables (synthetic data, exports from the operations store) -------


def contract_employers(employers: pl.DataFrame) -> pl.DataFrame:
    return employers.select(
        "employer_uscc",
        pl.col("employer_name").alias("name"),
        "region",
        fen_to_yuan_expr("average_wage").alias("average_monthly_wage"),
    )


def contract_workers(workers: pl.DataFrame) -> pl.DataFrame:
    return workers.with_columns(fen_to_yuan_expr("declared_base").alias("declared_base")).select(WORKER_COLUMNS)


def contract_inspections(inspections: pl.DataFrame) -> pl.DataFrame:
    return inspections.with_columns(fen_to_yuan_expr("monthly_wage").alias("monthly_wage")).select(INSPECTION_COLUMNS)
