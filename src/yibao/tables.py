"""Persons and claims tables: read and validate contract files, write results (yibao.engine settles them).

Contract files (architecture.md) hold amounts in yuan; inside, tables are
"normalised" Polars frames with amounts in integer fen:

* persons: person_id, birth_date (Date), sex, region, scheme, assistance_category,
  huiminbao (Boolean), pre_existing (Boolean), annual_income (Int64 fen); and, when the file has them (optional
  columns), cover_start and cover_end (Date, null = open at that end): the days public cover runs
* policies (yibao.products.policies.read_policies, then yibao.products.settlement.policies_frame):
  person_id, product, start_date, end_date (Date)
* claims: claim_id, person_id, service_date (Date), region, facility_level (Int8),
  care_type, class_a, class_b, self_pay, special_drugs (Int64 fen), diagnosis
* settled: the claims plus total, preselfpay, in_policy, one paid_<layer> per layer
  and out_of_pocket (Int64 fen), in the claims' order.

Every bad value stops the read with an InputError naming the file, the line
(CSV: the physical line, header = line 1; Parquet: the row) and the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from yibao.core.errors import InputError
from yibao.core.model import (
    AssistanceCategory,
    CareType,
    Claim,
    InsuranceScheme,
    Person,
    PolicyCover,
    Sex,
)
from yibao.core.scheme import Scheme
from yibao.outfile import temporary_beside

PERSON_COLUMNS = (
    "person_id", "birth_date", "sex", "region", "scheme", "assistance_category",
    "huiminbao", "pre_existing", "annual_income",
)  # fmt: skip
COVER_COLUMNS = ("cover_start", "cover_end")  # optional in a persons table: empty = open at that end
CLAIM_COLUMNS = (
    "claim_id", "person_id", "service_date", "region", "facility_level", "care_type",
    "amount_class_a", "amount_class_b", "amount_self_pay", "amount_special_drugs", "diagnosis",
)  # fmt: skip
CLAIM_AMOUNTS = {
    "amount_class_a": "class_a",
    "amount_class_b": "class_b",
    "amount_self_pay": "self_pay",
    "amount_special_drugs": "special_drugs",
}
MAX_AMOUNT_FEN = 10**12  # 10 billion yuan: anything larger is a data error, and keeps sums far from int64 limits
YUAN = pl.Decimal(18, 2)


@dataclass(frozen=True)
class Source:
    """Where a table came from, to name lines in errors."""

    name: str
    csv: bool

    def line(self, row: int) -> int:
        return row + 2 if self.csv else row + 1

    def fail(self, row: int, column: str | None, message: str, code: str = "input.invalid") -> InputError:
        if self.csv:
            return InputError(message, file=self.name, line=self.line(row), column=column, code=code)
        where = f"{self.name}, row {row + 1}" + (f", column {column!r}" if column else "")
        return InputError(f"{where}: {message}", code=code)


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise InputError(f"{path}: a directory with no .parquet files", code="input.not_found")
        return files
    return [path]


def read_raw(path: str | Path) -> tuple[pl.DataFrame, Source]:
    """A CSV file (every column as text) or a Parquet file / directory of Parquet files, as given."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file", code="input.not_found")
    if path.suffix.lower() == ".csv":
        try:
            frame = pl.read_csv(path, infer_schema=False)
        except pl.exceptions.NoDataError:
            frame = pl.DataFrame()
        except pl.exceptions.ComputeError as exc:
            raise InputError(f"{path}: not a readable CSV file: {exc}", code="input.bad_file") from exc
        return frame, Source(str(path), csv=True)
    try:
        frame = pl.concat([pl.read_parquet(f) for f in _parquet_files(path)], how="vertical_relaxed")
    except (pl.exceptions.ComputeError, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file or dataset: {exc}", code="input.bad_file") from exc
    return frame, Source(str(path), csv=False)


def _require_columns(frame: pl.DataFrame, columns: Sequence[str], src: Source) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{src.name}, line 1: missing column(s) {missing}; expected columns {list(columns)}",
            code="input.missing_column",
        )


def _first_bad(frame: pl.DataFrame, bad: pl.Expr) -> int | None:
    idx = frame.select(bad.fill_null(True).arg_true().first()).item()
    return None if idx is None else int(idx)


def _text(frame: pl.DataFrame, src: Source, column: str) -> pl.Series:
    series = frame[column]
    if series.dtype != pl.String:
        series = series.cast(pl.String)
    out = series.str.strip_chars()
    row = _first_bad(pl.DataFrame({"v": out}), pl.col("v").is_null() | (pl.col("v") == ""))
    if row is not None:
        raise src.fail(row, column, "empty value")
    return out


def _choice(frame: pl.DataFrame, src: Source, column: str, allowed: Sequence[str]) -> pl.Series:
    values = _text(frame, src, column)
    row = _first_bad(pl.DataFrame({"v": values}), ~pl.col("v").is_in(list(allowed)))
    if row is not None:
        raise src.fail(row, column, f"{values[row]!r} is not one of {list(allowed)}")
    return values


def _date(frame: pl.DataFrame, src: Source, column: str) -> pl.Series:
    series = frame[column]
    if series.dtype == pl.Date:
        parsed = series
    elif isinstance(series.dtype, pl.Datetime):
        parsed = series.dt.date()
    else:
        text = _text(frame, src, column)
        parsed = text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        bad = parsed.is_null() | ~text.str.contains(r"^\d{4}-\d{2}-\d{2}$")
        row = _first_bad(pl.DataFrame({"b": bad}), pl.col("b"))
        if row is not None:
            raise src.fail(row, column, f"{text[row]!r} is not a date YYYY-MM-DD")
    row = _first_bad(pl.DataFrame({"v": parsed}), pl.col("v").is_null())
    if row is not None:
        raise src.fail(row, column, "empty date")
    return parsed


def _flag(frame: pl.DataFrame, src: Source, column: str) -> pl.Series:
    series = frame[column]
    if series.dtype == pl.Boolean:
        row = _first_bad(pl.DataFrame({"v": series}), pl.col("v").is_null())
        if row is not None:
            raise src.fail(row, column, "empty value; expected true or false")
        return series
    text = _text(frame, src, column).str.to_lowercase()
    row = _first_bad(pl.DataFrame({"v": text}), ~pl.col("v").is_in(["true", "false", "1", "0"]))
    if row is not None:
        raise src.fail(row, column, f"{frame[column][row]!r} is not true or false")
    return text.is_in(["true", "1"])


def fen_column(frame: pl.DataFrame, src: Source, column: str) -> pl.Series:
    """Yuan amounts (text, decimal or integer) to exact fen; refuses negatives and more than two decimals."""
    series = frame[column]
    dtype = series.dtype
    if isinstance(dtype, pl.Decimal):
        scale = dtype.scale or 0
        exact = series.cast(pl.Decimal(16, 2), strict=False)  # 10**14 fen: far above any real bill
        if scale > 2:
            row = _first_bad(pl.DataFrame({"a": series, "b": exact}), pl.col("a") != pl.col("b"))
            if row is not None:
                raise src.fail(row, column, f"{series[row]} has more than two decimals")
        row = _first_bad(pl.DataFrame({"a": series, "b": exact}), pl.col("b").is_null() & pl.col("a").is_not_null())
        if row is not None:
            raise src.fail(row, column, f"{series[row]} is implausibly large")
        fen = exact.to_physical().cast(pl.Int64)
    elif dtype.is_integer():
        wide = series.cast(pl.Int64)
        row = _first_bad(pl.DataFrame({"v": wide}), pl.col("v") > MAX_AMOUNT_FEN // 100)
        if row is not None:
            raise src.fail(row, column, f"{series[row]} is implausibly large")
        fen = wide * 100
    elif dtype.is_float():
        # A float column from another tool: accepted only where it is exactly a two-decimal amount.
        text = series.map_elements(lambda v: None if v is None else repr(v), return_dtype=pl.String)
        return fen_column(pl.DataFrame({column: text}), src, column)
    else:
        text = _text(frame, src, column)
        ok = text.str.contains(r"^\d{1,13}(\.\d{1,2})?$")
        row = _first_bad(pl.DataFrame({"ok": ok}), ~pl.col("ok"))
        if row is not None:
            value = text[row]
            if value.startswith("-"):
                why = "is negative"
            elif pl.Series([value]).str.contains(r"^\d+\.\d{3,}$")[0]:
                why = "has more than two decimals"
            elif pl.Series([value]).str.contains(r"^\d{14,}(\.\d*)?$")[0]:
                why = "is implausibly large"
            else:
                why = "is not an amount in yuan"
            raise src.fail(row, column, f"{value!r} {why}")
        parts = text.str.split_exact(".", 1)
        whole = parts.struct.field("field_0").cast(pl.Int64)
        frac = parts.struct.field("field_1").fill_null("").str.pad_end(2, "0").cast(pl.Int64)
        fen = whole * 100 + frac
    row = _first_bad(pl.DataFrame({"f": fen}), pl.col("f").is_null() | (pl.col("f") < 0) | (pl.col("f") > MAX_AMOUNT_FEN))
    if row is not None:
        value = fen[row]
        why = "empty amount" if value is None else ("is negative" if value < 0 else "is implausibly large")
        raise src.fail(row, column, f"{frame[column][row]!r} {why}")
    return fen.cast(pl.Int64)


def _unique(values: pl.Series, src: Source, column: str) -> None:
    dup = values.is_duplicated() & ~values.is_first_distinct()
    row = _first_bad(pl.DataFrame({"d": dup}), pl.col("d"))
    if row is not None:
        first = int(pl.DataFrame({"v": values}).select((pl.col("v") == values[row]).arg_true().first()).item())
        raise src.fail(row, column, f"duplicate {column} {values[row]!r} (first at line {src.line(first)})",
                       code="input.duplicate")


def normalise_persons(frame: pl.DataFrame, src: Source) -> pl.DataFrame:
    _require_columns(frame, PERSON_COLUMNS, src)
    ids = _text(frame, src, "person_id")
    _unique(ids, src, "person_id")
    return pl.DataFrame(
        {
            "person_id": ids,
            "birth_date": _date(frame, src, "birth_date"),
            "sex": _choice(frame, src, "sex", [s.value for s in Sex]),
            "region": _text(frame, src, "region"),
            "scheme": _choice(frame, src, "scheme", [s.value for s in InsuranceScheme]),
            "assistance_category": _choice(frame, src, "assistance_category", [a.value for a in AssistanceCategory]),
            "huiminbao": _flag(frame, src, "huiminbao"),
            "pre_existing": _flag(frame, src, "pre_existing"),
            "annual_income": fen_column(frame, src, "annual_income"),
            **_cover(frame, src),
        }
    )


def _optional_date(frame: pl.DataFrame, src: Source, column: str) -> pl.Series:
    """A date column whose empty values mean 'none' (null)."""
    series = frame[column]
    if series.dtype == pl.Date:
        return series
    if isinstance(series.dtype, pl.Datetime):
        return series.dt.date()
    text = series.cast(pl.String).str.strip_chars()
    empty = text.is_null() | (text == "")
    given = pl.DataFrame({"t": text, "e": empty})
    parsed = text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    bad = ~empty & (parsed.is_null() | ~text.str.contains(r"^\d{4}-\d{2}-\d{2}$").fill_null(False))
    row = _first_bad(given.with_columns(b=bad), pl.col("b"))
    if row is not None:
        raise src.fail(row, column, f"{text[row]!r} is not a date YYYY-MM-DD (or empty: open)")
    return parsed.set(empty, None) if empty.any() else parsed


def _cover(frame: pl.DataFrame, src: Source) -> dict[str, pl.Series]:
    """The optional cover dates (absent columns stay absent: the output is then as without them)."""
    cover = {name: _optional_date(frame, src, name) for name in COVER_COLUMNS if name in frame.columns}
    if len(cover) == 2:
        start, end = cover["cover_start"], cover["cover_end"]
        row = _first_bad(pl.DataFrame({"s": start, "e": end}), (pl.col("e") < pl.col("s")).fill_null(False))
        if row is not None:
            raise src.fail(row, "cover_end", f"cover ends {end[row]} before it starts ({start[row]})")
    return cover


def normalise_claims(
    frame: pl.DataFrame, src: Source, persons: pl.DataFrame | None = None, scheme: Scheme | None = None
) -> pl.DataFrame:
    _require_columns(frame, CLAIM_COLUMNS, src)
    ids = _text(frame, src, "claim_id")
    _unique(ids, src, "claim_id")
    person_ids = _text(frame, src, "person_id")
    if persons is not None:
        known = ~person_ids.is_in(persons["person_id"].implode())
        row = _first_bad(pl.DataFrame({"k": known}), pl.col("k"))
        if row is not None:
            raise src.fail(row, "person_id", f"unknown person {person_ids[row]!r}", code="input.unknown_person")
    dates = _date(frame, src, "service_date")
    if scheme is not None:
        start = scheme.first_date
        row = _first_bad(pl.DataFrame({"d": dates}), pl.col("d") < start)
        if row is not None:
            raise src.fail(row, "service_date", f"{dates[row]} is before scheme {scheme.name!r} starts ({start})",
                           code="input.out_of_scheme")
    levels = _choice(frame, src, "facility_level", ["1", "2", "3"]).cast(pl.Int8)
    diagnosis = frame["diagnosis"].cast(pl.String).fill_null("").str.strip_chars()
    columns: dict[str, pl.Series] = {
        "claim_id": ids,
        "person_id": person_ids,
        "service_date": dates,
        "region": _text(frame, src, "region"),
        "facility_level": levels,
        "care_type": _choice(frame, src, "care_type", [c.value for c in CareType]),
    }
    for contract, name in CLAIM_AMOUNTS.items():
        columns[name] = fen_column(frame, src, contract).alias(name)
    columns["diagnosis"] = diagnosis
    return pl.DataFrame(columns)


def read_persons(path: str | Path) -> pl.DataFrame:
    frame, src = read_raw(path)
    return normalise_persons(frame, src)


def read_claims(path: str | Path, persons: pl.DataFrame | None = None, scheme: Scheme | None = None) -> pl.DataFrame:
    frame, src = read_raw(path)
    return normalise_claims(frame, src, persons, scheme)


# --- records for the scalar path ------------------------------------------------------------------


def persons_records(persons: pl.DataFrame, policies: pl.DataFrame | None = None) -> dict[str, Person]:
    """The persons as the rules core holds them, with their cover dates and their `policies` (person_id,
    product, start_date, end_date) when given."""
    held: dict[str, list[PolicyCover]] = {}
    if policies is not None:
        for pid, product, start, end in policies.select("person_id", "product", "start_date", "end_date").iter_rows():
            held.setdefault(pid, []).append(PolicyCover(product, start, end))
    return {
        row["person_id"]: Person(
            person_id=row["person_id"],
            birth_date=row["birth_date"],
            sex=Sex(row["sex"]),
            region=row["region"],
            scheme=InsuranceScheme(row["scheme"]),
            assistance_category=AssistanceCategory(row["assistance_category"]),
            huiminbao=bool(row["huiminbao"]),
            pre_existing=bool(row["pre_existing"]),
            annual_income=int(row["annual_income"]),
            cover_start=row.get("cover_start"),
            cover_end=row.get("cover_end"),
            policies=tuple(held.get(row["person_id"], ())),
        )
        for row in persons.iter_rows(named=True)
    }


def claims_records(claims: pl.DataFrame) -> list[Claim]:
    return [
        Claim(
            claim_id=row["claim_id"],
            person_id=row["person_id"],
            service_date=row["service_date"],
            region=row["region"],
            facility_level=int(row["facility_level"]),
            care_type=CareType(row["care_type"]),
            class_a=int(row["class_a"]),
            class_b=int(row["class_b"]),
            self_pay=int(row["self_pay"]),
            special_drugs=int(row["special_drugs"]),
            diagnosis=row["diagnosis"] or "",
        )
        for row in claims.iter_rows(named=True)
    ]


# --- settling tables --------------------------------------------------------------------------------


def paid_column(layer_id: str) -> str:
    return f"paid_{layer_id}"


# --- writing ---------------------------------------------------------------------------------------------


def fen_to_yuan_expr(column: str) -> pl.Expr:
    """Int64 fen -> Decimal(18, 2) yuan, exactly."""
    return (pl.col(column).cast(pl.Decimal(20, 0)) * pl.lit(Decimal("0.01"), dtype=pl.Decimal(3, 2))).cast(YUAN)


def settlement_output(scheme: Scheme, settled: pl.DataFrame) -> pl.DataFrame:
    """The contract's output table: claim_id, paid_<layer> for each layer, out_of_pocket, in yuan."""
    money = [paid_column(layer_id) for layer_id in scheme.layer_ids] + ["out_of_pocket"]
    return settled.select([pl.col("claim_id"), *[fen_to_yuan_expr(c).alias(c) for c in money]])


def write_table(frame: pl.DataFrame, out: str | Path) -> None:
    """CSV or Parquet by the suffix, written to a temporary file and moved in place: never a partial file."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in {".csv", ".parquet"}:
        raise InputError(f"{out}: the output must end in .csv or .parquet", code="input.bad_output")
    with temporary_beside(out) as tmp:  # removed if interrupted; stale ones of killed runs cleaned first
        if suffix == ".csv":
            frame.write_csv(tmp)
        else:
            frame.write_parquet(tmp)
        tmp.replace(out)


def to_contract_persons(persons: pl.DataFrame) -> pl.DataFrame:
    columns = [*PERSON_COLUMNS, *(c for c in COVER_COLUMNS if c in persons.columns)]
    return persons.with_columns(fen_to_yuan_expr("annual_income").alias("annual_income")).select(columns)


def to_contract_claims(claims: pl.DataFrame) -> pl.DataFrame:
    return claims.with_columns(
        [fen_to_yuan_expr(name).alias(contract) for contract, name in CLAIM_AMOUNTS.items()]
    ).select(CLAIM_COLUMNS)


def service_years(claims: pl.DataFrame) -> list[int]:
    years: list[int] = claims["service_date"].dt.year().unique().sort().to_list()
    return years


