"""Contribution routes: what a person owes and paid, counter payments, write-offs, donations, the payment callback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.money import format_yuan, parse_yuan
from yibao.http.deps import Officer, Reader, check_region, instant, person_in_scope, secret, store_of
from yibao.ops import contributions
from yibao.ops.auth import Principal
from yibao.ops.errors import NotFound
from yibao.ops.schemas import DonationIn, Identifier, PaymentIn, Reason, RowId
from yibao.ops.store import Contribution, Enrolment

router = APIRouter(tags=["contributions"])


def contribution_view(row: Contribution) -> dict[str, Any]:
    return {
        "id": row.id, "enrolment_id": row.enrolment_id, "region": row.region, "year": row.year, "source": row.source,
        "amount": format_yuan(row.amount), "status": row.status, "channel": row.channel,
        "payment_reference": row.payment_reference, "paid_at": instant(row.paid_at),
    }


class CancelIn(BaseModel):
    reason: Reason


@router.get("/persons/{person_id}/contributions")
def get_contributions(request: Request, person_id: Identifier, who: Reader) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        rows = s.execute(
            select(Contribution).join(Enrolment, Contribution.enrolment_id == Enrolment.id)
            .where(Enrolment.person_id == person_id).order_by(Contribution.id)
        ).scalars()
        return [contribution_view(r) for r in rows]


def _contribution_in_scope(s: Session, who: Principal, contribution_id: int) -> None:
    """Refuse an unknown contribution, or one of a region the officer does not serve."""
    missing = NotFound(f"no contribution {contribution_id}", code="contribution.not_found")
    due = s.get(Contribution, contribution_id)
    if due is None:
        raise missing
    check_region(who, due.region, missing)


@router.post("/contributions/{contribution_id}/payments")
def post_payment(request: Request, contribution_id: RowId, body: PaymentIn, who: Officer) -> dict[str, Any]:
    """A payment received at the counter or by bank transfer (idempotent on `reference`)."""
    with store_of(request).transaction() as s:
        _contribution_in_scope(s, who, contribution_id)
        row = contributions.record_payment(s, who.actor, contribution_id, parse_yuan(body.amount), body.channel, body.reference,
                                           body.paid_on)
        return contribution_view(row)


@router.post("/contributions/{contribution_id}/cancel")
def post_cancel_contribution(request: Request, contribution_id: RowId, body: CancelIn, who: Officer) -> dict[str, Any]:
    """Write off a contribution still due (its receivable is reversed); it can no longer be paid."""
    with store_of(request).transaction() as s:
        _contribution_in_scope(s, who, contribution_id)
        return contribution_view(contributions.cancel(s, who.actor, contribution_id, body.reason))


@router.post("/donations", status_code=201)
def post_donation(request: Request, body: DonationIn, who: Officer) -> dict[str, Any]:
    """Money nobody owed (a donation, lottery income, a budget transfer to medical assistance), received and
    allocated to the assistance fund at once (idempotent on `reference`)."""
    check_region(who, body.region)
    with store_of(request).transaction() as s:
        row = contributions.receive_transfer(s, who.actor, body.region, body.year, parse_yuan(body.amount), body.channel,
                                             body.reference, contributions.ContributionSource(body.source))
        return contribution_view(row)


@router.post("/payments/notify")
async def post_payment_notification(
    request: Request, x_yibao_signature: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    """The mobile-payment callback: JSON {out_trade_no, transaction_id, total_fee, channel}, header
    `X-Yibao-Signature` = hex HMAC-SHA256 of the raw body. A repeated notification changes nothing."""
    body = await request.body()

    def run() -> dict[str, Any]:
        with store_of(request).transaction() as s:
            row = contributions.notification(s, secret(request, "payment_secret"), body, x_yibao_signature)
            return {"return_code": "SUCCESS", "contribution": contribution_view(row)}

    return await run_in_threadpool(run)
