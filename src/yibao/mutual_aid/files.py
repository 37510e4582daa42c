"""Files of the mutual-aid area: approved cases in, members in, per-member charges and summary out.

Amounts are yuan with two decimals in files. In Parquet they are decimal128(12, 2),
whose stored integer *is* the amount in fen, so conversion is exact and column-wise.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from yibao.core.errors import InputError
from yibao.core.money import MoneyFormatError, format_yuan, parse_yuan
from yibao.mutual_aid.apportion import I64, ApportionmentSummary, ApprovedCase, Cohort, MemberColumns
from yibao.mutual_aid.plan import Plan

YUAN = pa.decimal128(12, 2)
CASE_COLUMNS = ("case_id", "member_name", "age", "illness_code", "diagnosis_date", "aid")
ROWS_PER_FILE = 10_000_000


# --- decimal yuan <-> fen, column-wise -------------------------------------------------------------


def yuan_array(fen: I64) -> pa.Array:
    """int64 fen -> decimal128(12, 2) yuan without any arithmetic: the low word is the fen, the high the sign."""
    words = np.empty((len(fen), 2), dtype=np.int64)
    words[:, 0] = fen
    words[:, 1] = fen >> 63
    return pa.Array.from_buffers(YUAN, len(fen), [None, pa.py_buffer(words)])


def fen_array(values: pa.Array | pa.ChunkedArray, *, file: str, column: str) -> I64:
    """decimal(…, 2) yuan or integer yuan -> int64 fen; floats and nulls are refused."""
    if isinstance(values, pa.ChunkedArray):
        parts = [fen_array(chunk, file=file, column=column) for chunk in values.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if values.null_count:
        raise InputError("empty amount", file=file, column=column, code="mutual_aid.bad_amount")
    kind = values.type
    if pa.types.is_integer(kind):
        whole: I64 = values.to_numpy().astype(np.int64) * 100
        return whole
    if not pa.types.is_decimal(kind) or kind.scale > 2:
        raise InputError(f"amounts must be yuan as decimal(…, 2) or integers, not {kind}", file=file, column=column)
    as_cents = values.cast(YUAN) if (kind.scale != 2 or kind.bit_width != 128) else values
    words = np.frombuffer(as_cents.buffers()[1], dtype=np.int64).reshape(-1, 2)
    return words[as_cents.offset : as_cents.offset + len(as_cents), 0].copy()


# --- reading ------------------------------------------------------------------------------------------


def _cell(row: dict[str, Any], column: str, path: Path, line: int) -> str:
    value = row.get(column)
    if value is None or str(value).strip() == "":
        raise InputError("empty value", file=str(path), line=line, column=column, code="mutual_aid.bad_case")
    return str(value).strip()


def read_cases(path: Path, plan: Plan) -> list[ApprovedCase]:
    """Approved cases from CSV or Parquet; any bad row refuses the whole file (all-or-nothing)."""
    import polars as pl

    if not path.exists():
        raise InputError("no such file", file=str(path), code="mutual_aid.no_file")
    frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, infer_schema=False)
    missing = [c for c in CASE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"missing columns {missing}", file=str(path), code="mutual_aid.bad_case")
    cases = []
    for line, row in enumerate(frame.iter_rows(named=True), start=2):
        cell = {c: _cell(row, c, path, line) for c in CASE_COLUMNS}
        illness = plan.covered_illness(cell["illness_code"])
        if illness is None:
            raise InputError(f"{cell['illness_code']} is not an illness covered by {plan.name}", file=str(path),
                             line=line, column="illness_code", code="mutual_aid.not_covered")
        try:
            aid = parse_yuan(cell["aid"])
            diagnosed = dt.date.fromisoformat(cell["diagnosis_date"])
            age = int(cell["age"])
        except (MoneyFormatError, ValueError) as exc:
            raise InputError(str(exc), file=str(path), line=line, code="mutual_aid.bad_case") from None
        cases.append(ApprovedCase(cell["case_id"], cell["member_name"], age, cell["illness_code"].upper(), illness.name,
                                  diagnosed, aid))
    ids = [c.case_id for c in cases]
    if len(set(ids)) != len(ids):
        raise InputError("a case_id appears twice", file=str(path), column="case_id", code="mutual_aid.duplicate_case")
    return cases


def read_members(path: Path) -> MemberColumns:
    """Members Parquet: member_id (int), protection_start (date), charged_this_year (yuan, optional)."""
    if not path.exists():
        raise InputError("no such file", file=str(path), code="mutual_aid.no_file")
    table = pq.read_table(path)
    for column in ("member_id", "protection_start"):
        if column not in table.column_names:
            raise InputError(f"missing column {column!r}", file=str(path), code="mutual_aid.bad_members")
    starts = table.column("protection_start")
    if not pa.types.is_date32(starts.type) or starts.null_count:
        raise InputError("expected non-empty dates", file=str(path), column="protection_start")
    ids = table.column("member_id")
    if not pa.types.is_integer(ids.type) or ids.null_count:
        raise InputError("expected whole-number member ids", file=str(path), column="member_id")
    member_id = ids.to_numpy().astype(np.int64)
    if len(np.unique(member_id)) != len(member_id):
        raise InputError("a member_id appears twice", file=str(path), column="member_id",
                         code="mutual_aid.duplicate_member")
    charged = (
        fen_array(table.column("charged_this_year"), file=str(path), column="charged_this_year")
        if "charged_this_year" in table.column_names
        else np.zeros(len(member_id), dtype=np.int64)
    )
    return MemberColumns(member_id, starts.cast(pa.int32()).to_numpy().astype(np.int32), charged)


def write_members(path: Path, members: MemberColumns) -> None:
    starts = pa.array(members.protection_start.astype(np.int32), pa.int32()).cast(pa.date32())
    pq.write_table(
        pa.table({"member_id": members.member_id, "protection_start": starts,
                  "charged_this_year": yuan_array(members.charged_this_year)}),
        path,
    )


# --- writing -----------------------------------------------------------------------------------------


def write_charges(
    out_dir: Path, member_ids: I64, charges: I64, *, charged_this_year: I64 | None = None,
    rows_per_file: int = ROWS_PER_FILE,
) -> list[Path]:
    """Per-member charges as a Parquet dataset: member_id, charge (yuan decimal) and, when given, the member's
    charges in the calendar year after this one (the next period's yearly-cap start); one file per slice."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("part-*.parquet"):
        old.unlink()
    paths = []
    for part, lo in enumerate(range(0, max(len(charges), 1), rows_per_file)):
        columns = {"member_id": member_ids[lo : lo + rows_per_file], "charge": yuan_array(charges[lo : lo + rows_per_file])}
        if charged_this_year is not None:
            columns["charged_this_year"] = yuan_array(charged_this_year[lo : lo + rows_per_file])
        table = pa.table(columns)
        path = out_dir / f"part-{part:05d}.parquet"
        pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)
        paths.append(path)
    return paths


def _charges_dataset(path: Path) -> Any:
    import pyarrow.dataset as ds  # type: ignore[import-untyped]

    if not path.is_dir():
        raise InputError("no per-member charges dataset here", file=str(path), code="mutual_aid.no_charges")
    return ds.dataset(path, format="parquet")


def read_charged_this_year(path: Path) -> tuple[I64, I64]:
    """member_id and charged_this_year (fen) of a charges dataset written with `charged_this_year`."""
    table = _charges_dataset(path).to_table(columns=["member_id", "charged_this_year"])
    ids = table.column("member_id").to_numpy().astype(np.int64)
    return ids, fen_array(table.column("charged_this_year"), file=str(path), column="charged_this_year")


def read_member_charge(path: Path, member_id: int) -> tuple[int, int | None] | None:
    """One member's (charge, charged_this_year or None) in a charges dataset, read with a filter; None if absent."""
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    dataset = _charges_dataset(path)
    columns = [c for c in ("charge", "charged_this_year") if c in dataset.schema.names]
    table = dataset.to_table(columns=columns, filter=pc.field("member_id") == member_id)
    if table.num_rows == 0:
        return None
    charge = int(fen_array(table.column("charge"), file=str(path), column="charge")[0])
    if "charged_this_year" not in columns:
        return charge, None
    return charge, int(fen_array(table.column("charged_this_year"), file=str(path), column="charged_this_year")[0])


def summary_record(summary: ApportionmentSummary) -> dict[str, Any]:
    """The summary as a plain record (amounts in yuan text): for the store, the disclosure and files."""
    record: dict[str, Any] = {}
    for key, value in asdict(summary).items():
        if key == "cohorts":
            record[key] = [
                {"pays_from": c["pays_from"].isoformat() if c["pays_from"] else None, "members": c["members"],
                 "charge": format_yuan(c["charge"])}
                for c in value
            ]
        elif isinstance(value, dt.date):
            record[key] = value.isoformat()
        elif key in FEN_FIELDS:
            record[key] = format_yuan(value)
        else:
            record[key] = value
    return record


FEN_FIELDS = frozenset({
    "aid", "fee", "surplus_in", "need", "per_member_charge", "case_cap_shortfall", "year_cap_shortfall",
    "rounding_difference", "collected", "surplus_out",
})  # fmt: skip


def parse_signed_yuan(text: str) -> int:
    """Yuan text with an optional minus sign -> fen: carried surpluses may be negative ('-12.30' -> -1230)."""
    return -parse_yuan(text[1:]) if text.startswith("-") else parse_yuan(text)


def summary_from_record(record: dict[str, Any]) -> ApportionmentSummary:
    values = dict(record)
    for key in FEN_FIELDS:
        values[key] = parse_signed_yuan(str(values[key]))
    for key in ("notice_date", "deduction_date"):
        values[key] = dt.date.fromisoformat(values[key])
    values["cohorts"] = tuple(
        Cohort(dt.date.fromisoformat(c["pays_from"]) if c["pays_from"] else None, int(c["members"]),
               parse_signed_yuan(c["charge"]))
        for c in values.get("cohorts", [])
    )
    summary = ApportionmentSummary(**values)
    summary.check()
    return summary


def write_summary(path: Path, summary: ApportionmentSummary) -> None:
    path.write_text(json.dumps(summary_record(summary), ensure_ascii=False, indent=2), encoding="utf-8")


def read_summary(path: Path) -> ApportionmentSummary:
    try:
        return summary_from_record(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise InputError(f"not an apportionment summary: {exc}", file=str(path), code="mutual_aid.bad_summary") from None


__all__ = ["read_cases", "read_members", "write_charges", "write_summary"]
