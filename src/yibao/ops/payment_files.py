"""The bank file of a payment batch and the bank's confirmation file: one CSV layout (docs/operations.md,
"Payment batches").

UTF-8 without BOM, comma-separated, a header row, `\\n` line ends, fields quoted only when they must be. Columns:
`batch_id, line_no, payee_id, payee_name, bank_account, amount, currency, reference, purpose`; the
confirmation repeats them and adds `status` (`paid` or `failed`) and `reason` (required when failed).
A confirmation is checked whole before anything is posted: an unknown batch or line, a changed payee, account or
amount, a bad status, or a line confirmed otherwise before is refused naming the file, line and column, and
nothing is written. A line already confirmed the same way is left as it is (never paid twice).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.errors import InputError
from yibao.core.money import Fen, format_yuan
from yibao.ops import hospital_payments
from yibao.ops.audit import Actor
from yibao.ops.store_payments import PaymentBatch, PaymentLine

COLUMNS = ("batch_id", "line_no", "payee_id", "payee_name", "bank_account", "amount", "currency", "reference", "purpose")
CONFIRMATION_COLUMNS = (*COLUMNS, "status", "reason")
CURRENCY = "CNY"
STATUSES = ("paid", "failed")
MAX_LINES = 100_000


def line_fields(batch: PaymentBatch, line: PaymentLine) -> dict[str, str]:
    return {
        "batch_id": batch.batch_id, "line_no": str(line.line_no), "payee_id": line.facility_id,
        "payee_name": line.payee_name, "bank_account": line.bank_account, "amount": format_yuan(line.amount),
        "currency": CURRENCY, "reference": line.reference, "purpose": line.purpose,
    }


def bank_file(batch: PaymentBatch, lines: list[PaymentLine]) -> str:
    """The batch as the bank receives it (the same text each time it is written)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line in lines:
        writer.writerow(line_fields(batch, line))
    return out.getvalue()


def confirmation_file(batch: PaymentBatch, lines: list[PaymentLine], statuses: dict[int, tuple[str, str]]) -> str:
    """A confirmation as the bank would send it (tests, demos): `statuses[line_no] = (status, reason)`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CONFIRMATION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line in lines:
        status, reason = statuses.get(line.line_no, ("paid", ""))
        writer.writerow({**line_fields(batch, line), "status": status, "reason": reason})
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Confirmed:
    paid: int  # lines newly paid
    failed: int  # lines newly failed
    unchanged: int  # lines already confirmed the same way
    amount_paid: Fen


def confirm(session: Session, actor: Actor, text: str, file: str, regions: Collection[str] | None = None) -> Confirmed:
    """Post a confirmation file (see the module's text); all of it or nothing. With `regions`, a batch of another
    region is answered as an unknown one (an officer confirms their regions' batches only)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), strict=True)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise InputError(f"not readable as CSV: {exc}", file=file, line=1, code="payments.confirmation_invalid") from None
    for column in CONFIRMATION_COLUMNS:
        if column not in header:
            raise InputError(f"the header lacks the column {column!r} (columns: {', '.join(CONFIRMATION_COLUMNS)})",
                             file=file, line=1, column=column, code="payments.confirmation_invalid")
    found: list[tuple[int, PaymentBatch, PaymentLine, str, str]] = []
    seen: dict[tuple[str, int], int] = {}
    batches: dict[str, tuple[PaymentBatch, dict[int, PaymentLine]]] = {}
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"not readable as CSV: {exc}", file=file, line=reader.line_num,
                         code="payments.confirmation_invalid") from None
    if len(rows) > MAX_LINES:
        raise InputError(f"more than {MAX_LINES} lines", file=file, code="payments.confirmation_invalid")
    for number, row in enumerate(rows, start=2):
        def fail(column: str, message: str, code: str = "payments.confirmation_mismatch", n: int = number) -> InputError:
            return InputError(message, file=file, line=n, column=column, code=code)

        if None in row or any(row.get(c) is None for c in CONFIRMATION_COLUMNS):
            raise fail("reason", "the line has a different number of fields from the header", "payments.confirmation_invalid")
        batch_id = row["batch_id"].strip()
        if batch_id not in batches:
            batch_row = session.execute(select(PaymentBatch).where(PaymentBatch.batch_id == batch_id)).scalar_one_or_none()
            if batch_row is None or (regions is not None and batch_row.region not in regions):
                raise fail("batch_id", f"no payment batch {batch_id!r}", "payments.unknown_batch")
            lines = session.execute(select(PaymentLine).where(PaymentLine.batch_id == batch_row.id).with_for_update())
            batches[batch_id] = (batch_row, {line.line_no: line for line in lines.scalars()})
        batch_row, by_no = batches[batch_id]
        text_no = row["line_no"].strip()
        line = by_no.get(int(text_no)) if text_no.isdigit() and len(text_no) < 10 else None
        if line is None:
            raise fail("line_no", f"batch {batch_id} has no line {text_no!r}", "payments.unknown_line")
        for column, expected in line_fields(batch_row, line).items():
            if column != "line_no" and row[column].strip() != expected:
                raise fail(column, f"{row[column]!r} differs from line {line.line_no} of {batch_id} as sent ({expected!r})")
        status, reason = row["status"].strip(), row["reason"].strip()
        if status not in STATUSES:
            raise fail("status", f"the status is one of {', '.join(STATUSES)}, not {status!r}", "payments.bad_status")
        if status == "failed" and not reason:
            raise fail("reason", "a failed line names the bank's reason", "payments.bad_status")
        if line.status not in ("sent", status):
            raise fail("status", f"line {line.line_no} of {batch_id} was confirmed {line.status} before",
                       "payments.already_confirmed")
        key = (batch_id, line.line_no)
        if key in seen:
            raise fail("line_no", f"line {line.line_no} of {batch_id} appears again (first on line {seen[key]})",
                       "payments.confirmation_invalid")
        seen[key] = number
        found.append((number, batch_row, line, status, reason))
    paid = failed = unchanged = 0
    amount = 0
    for _number, batch_row, line, status, reason in found:
        if not hospital_payments.pay_line(session, actor, batch_row, line, status, reason):
            unchanged += 1
        elif status == "paid":
            paid += 1
            amount += line.amount
        else:
            failed += 1
    return Confirmed(paid, failed, unchanged, amount)
