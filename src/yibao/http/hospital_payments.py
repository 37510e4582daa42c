"""Hospital-payment routes: monthly statements, payment batches and their bank files, the bank's confirmation,
the quality deposit at year end. Bureau officers act in their regions, admin everywhere; the auditor reads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import Field, StringConstraints

from yibao.core.money import RatePpm, format_rate, format_yuan, parse_yuan
from yibao.http.deps import check_region, instant, require, store_of
from yibao.ops import hospital_payments, payment_files, registry
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound
from yibao.ops.schemas import BankAccount, Identifier, Reason, Shape, Year, Yuan
from yibao.ops.store_payments import PaymentBatch, PaymentLine, PaymentStatement

router = APIRouter(tags=["hospital payments"])
Officer = Annotated[Principal, Depends(require(Role.OFFICER))]
Reader = Annotated[Principal, Depends(require(Role.OFFICER, Role.AUDITOR))]
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}$"), Field(examples=["2025-03"], description="YYYY-MM")]
MAX_CONFIRMATION_CHARS = 20_000_000


class MonthIn(Shape):
    region: Identifier
    month: Month


class KeptIn(Shape):
    facility_id: Identifier
    amount: Yuan
    reason: Reason


class YearEndIn(Shape):
    region: Identifier
    year: Year
    kept: list[KeptIn] = Field(default_factory=list, max_length=10_000)


class BankAccountIn(Shape):
    bank_account: BankAccount


class ConfirmationIn(Shape):
    file_name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
    text: Annotated[str, StringConstraints(max_length=MAX_CONFIRMATION_CHARS)]


def statement_view(row: PaymentStatement) -> dict[str, Any]:
    return {
        "id": row.id, "region": row.region, "facility_id": row.facility_id, "month": row.month, "claims": row.claims,
        "owed": format_yuan(row.owed), "withheld": format_yuan(row.withheld), "payable": format_yuan(row.payable),
        "deposit_rate": format_rate(RatePpm(row.deposit_rate_ppm)), "made_at": instant(row.made_at), "made_by": row.made_by,
        "lines": [{"year": line["year"], "fund": line["fund"], "amount": format_yuan(line["amount"])}
                  for line in row.lines["lines"]],
    }


def line_view(line: PaymentLine) -> dict[str, Any]:
    return {
        "line_no": line.line_no, "facility_id": line.facility_id, "payee_name": line.payee_name,
        "bank_account": line.bank_account, "year": line.year, "amount": format_yuan(line.amount),
        "reference": line.reference, "purpose": line.purpose, "status": line.status, "reason": line.reason,
        "confirmed_at": instant(line.confirmed_at),
    }


def batch_view(row: PaymentBatch, lines: list[PaymentLine]) -> dict[str, Any]:
    return {"batch_id": row.batch_id, "region": row.region, "month": row.month, "total": format_yuan(row.total),
            "made_at": instant(row.made_at), "made_by": row.made_by, "lines": [line_view(line) for line in lines]}


@router.get("/payments/statements")
def get_statements(request: Request, who: Reader, region: Identifier, month: Month | None = None) -> list[dict[str, Any]]:
    """The region's monthly statements per facility (made by POST; a month's is made once)."""
    check_region(who, region)
    with store_of(request).transaction() as s:
        return [statement_view(row) for row in hospital_payments.statements(s, region=region, month=month)]


@router.post("/payments/statements")
def post_statements(request: Request, who: Officer, data: MonthIn) -> list[dict[str, Any]]:
    """Make (once) the month's statement of every facility with claim entries posted in it; the quality deposit
    is withheld. Refused until the month has ended (China Standard Time)."""
    check_region(who, data.region)
    with store_of(request).transaction() as s:
        return [statement_view(r) for r in hospital_payments.settle_month(s, who.actor, data.region, data.month)]


@router.get("/payments/batches")
def get_batches(request: Request, who: Reader, region: Identifier) -> list[dict[str, Any]]:
    check_region(who, region)
    with store_of(request).transaction() as s:
        return [batch_view(*hospital_payments.batch(s, b.batch_id)) for b in hospital_payments.batches(s, region=region)]


@router.post("/payments/batches", status_code=201)
def post_batch(request: Request, who: Officer, data: MonthIn) -> dict[str, Any]:
    """A payment batch of everything open up to the month (its statements made first if missing); its bank file
    is GET /payments/batches/{batch_id}/file."""
    check_region(who, data.region)
    with store_of(request).transaction() as s:
        made = hospital_payments.make_batch(s, who.actor, data.region, data.month)
        return {**batch_view(made.batch, made.lines), "skipped": [
            {"facility_id": k.facility_id, "year": k.year, "amount": format_yuan(k.amount), "reason": k.reason}
            for k in made.skipped]}


def _batch_in_scope(request: Request, who: Principal, batch_id: str) -> tuple[PaymentBatch, list[PaymentLine]]:
    with store_of(request).transaction() as s:
        row, lines = hospital_payments.batch(s, batch_id)
    check_region(who, row.region, NotFound(f"no payment batch {batch_id!r}", code="payments.batch_not_found"))
    return row, lines


@router.get("/payments/batches/{batch_id}")
def get_batch(request: Request, who: Reader, batch_id: Identifier) -> dict[str, Any]:
    return batch_view(*_batch_in_scope(request, who, batch_id))


@router.get("/payments/batches/{batch_id}/file", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the bank file (docs/operations.md)"}})
def get_batch_file(request: Request, who: Reader, batch_id: Identifier) -> Response:
    """The batch's bank file: the same text each time."""
    row, lines = _batch_in_scope(request, who, batch_id)
    return Response(payment_files.bank_file(row, lines), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{row.batch_id}.csv"'})


@router.post("/payments/confirmations")
def post_confirmation(request: Request, who: Officer, data: ConfirmationIn) -> dict[str, Any]:
    """The bank's confirmation file (the batch layout + status, reason), posted whole or refused naming its line
    and column; lines already confirmed the same way are left as they are."""
    regions = None if who.role is Role.ADMIN else tuple(who.regions)
    with store_of(request).transaction() as s:
        done = payment_files.confirm(s, who.actor, data.text, data.file_name, regions)
    return {"paid": done.paid, "failed": done.failed, "unchanged": done.unchanged,
            "amount_paid": format_yuan(done.amount_paid)}


@router.post("/payments/year-end")
def post_year_end(request: Request, who: Officer, data: YearEndIn) -> list[dict[str, Any]]:
    """Release each facility's quality deposit of the year (paid by the next batch), keeping what `kept` names
    (back to the basic pooled fund, with its reason). Refused until the year has ended."""
    check_region(who, data.region)
    kept = {k.facility_id: (parse_yuan(k.amount), k.reason) for k in data.kept}
    with store_of(request).transaction() as s:
        made = hospital_payments.year_end(s, who.actor, data.region, data.year, kept)
        return [{"facility_id": d.facility_id, "released": format_yuan(d.released), "kept": format_yuan(d.kept),
                 "reason": d.reason} for d in made]


@router.put("/payments/facilities/{facility_id}/bank-account")
def put_bank_account(request: Request, who: Officer, facility_id: Identifier, data: BankAccountIn) -> dict[str, Any]:
    """Register or change the account the funds pay the facility to (an officer of the facility's region)."""
    with store_of(request).transaction() as s:
        row = registry.facility(s, facility_id)
        check_region(who, row.region, NotFound(f"no facility {facility_id!r}", code="facility.not_found"))
        row = hospital_payments.set_bank_account(s, who.actor, facility_id, data.bank_account)
        return {"id": row.id, "name": row.name, "region": row.region, "bank_account": row.bank_account}
