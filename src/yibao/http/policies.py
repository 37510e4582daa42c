"""Policy routes: selling a voluntary product's policy to a person, its premium parts (paid as contributions:
`POST /contributions/{id}/payments` or the signed notification), cancelling and lapsing it, and benefits claimed
afterwards (a settled bill's indemnity, a stay's daily allowance, an event's lump sum) and paid to the member by the insurer.

Who: a member for themself; an officer in their regions; admin. An insurer pays the benefits of its products.
Another's policy or benefit answers as a missing one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy.orm import Session

from yibao.core.money import format_yuan, parse_yuan
from yibao.http.contributions import contribution_view
from yibao.http.deps import Reader, check_person, instant, person_in_scope, require, store_of
from yibao.ops import insurer_books, policies, policy_benefits
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound
from yibao.ops.schemas import Diagnosis, Identifier, PaymentIn, Reason, RowId, Shape
from yibao.ops.store_products import BenefitClaim, PolicyRow

router = APIRouter(tags=["policies"])
Insurer = Annotated[Principal, Depends(require(Role.INSURER))]
Day = Annotated[dt.date | None, Field(description="the business day of the action (default today)")]
Condition = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9.]+$")]


class DeclarationIn(Shape):
    pre_existing: bool = False
    conditions: list[Condition] = Field(default_factory=list, max_length=20, description="ICD-10 prefixes declared")


class PolicyIn(Shape):
    product: Identifier
    start_date: dt.date
    day: Day = None
    declaration: DeclarationIn | None = None


class CancelIn(Shape):
    reason: Reason


class LapseIn(Shape):
    day: dt.date
    reason: Reason


class StayIn(Shape):
    admission: dt.date
    discharge: dt.date
    accident: bool = False


class BillIn(Shape):
    claim_id: Identifier


class EventIn(Shape):
    lump_sum: Identifier
    event: Identifier
    day: dt.date
    diagnosis: Diagnosis = ""
    grade: int | None = Field(None, ge=1, le=10)


def benefit_view(row: BenefitClaim) -> dict[str, Any]:
    return {"id": row.id, "policy_id": row.policy_id, "kind": row.kind, "lump_sum": row.lump_sum,
            "day": row.day.isoformat(), "until": row.until.isoformat() if row.until else None, "days": row.days,
            "amount": format_yuan(row.amount), "status": row.status, "channel": row.channel,
            "payment_reference": row.payment_reference, "paid_at": instant(row.paid_at)}


def policy_view(s: Session, row: PolicyRow) -> dict[str, Any]:
    return {"id": row.id, "person_id": row.person_id, "product": row.product, "region": row.region, "year": row.year,
            "requested_start": row.requested_start.isoformat(), "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat(), "ended_on": row.ended_on.isoformat() if row.ended_on else None,
            "premium": format_yuan(row.premium), "status": row.status,
            "premium_parts": [contribution_view(c) for c in policies.premium_parts(s, row.id)],
            "benefits": [benefit_view(b) for b in policy_benefits.of_policy(s, row.id)]}


def _policy_in_scope(s: Session, who: Principal, policy_id: int) -> PolicyRow:
    """The policy, if the caller may act on it: its holder, an officer of its region, admin (else as missing)."""
    missing = NotFound(f"no policy {policy_id}", code="policy.not_found")
    try:
        row = policies.policy(s, policy_id)
    except NotFound:
        raise missing from None
    if who.role not in (Role.MEMBER, Role.OFFICER, Role.ADMIN):
        raise missing
    try:
        check_person(who, row.person_id, row.region)
    except NotFound:
        raise missing from None
    return row


@router.post("/persons/{person_id}/policies", status_code=201)
def post_policy(request: Request, person_id: Identifier, body: PolicyIn, who: Reader) -> dict[str, Any]:
    """Sell a policy of a built-in product (`yibao products list`) starting on `start_date` for one year: its
    premium parts fall due; it is `pending` until the member's part is paid, then `active`."""
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        if who.role not in (Role.MEMBER, Role.OFFICER, Role.ADMIN):
            raise NotFound(f"no person {person_id!r}", code="person.not_found")
        declared = None if body.declaration is None else policies.Declaration(
            body.declaration.pre_existing, tuple(body.declaration.conditions))
        row = policies.sell(s, who.actor, person_id, body.product, body.start_date, body.day or dt.date.today(), declared)
        return policy_view(s, row)


@router.get("/persons/{person_id}/policies")
def get_policies(request: Request, person_id: Identifier, who: Reader) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        return [policy_view(s, row) for row in policies.of_person(s, person_id)]


@router.get("/policies/{policy_id}")
def get_policy(request: Request, policy_id: RowId, who: Reader) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return policy_view(s, _policy_in_scope(s, who, policy_id))


@router.post("/policies/{policy_id}/cancel")
def post_cancel(request: Request, policy_id: RowId, body: CancelIn, who: Reader) -> dict[str, Any]:
    """Cancel a pending policy: the parts still due are written off."""
    with store_of(request).transaction() as s:
        _policy_in_scope(s, who, policy_id)
        return policy_view(s, policies.cancel(s, who.actor, policy_id, body.reason))


@router.post("/policies/{policy_id}/lapse")
def post_lapse(request: Request, policy_id: RowId, body: LapseIn, who: Reader) -> dict[str, Any]:
    """End an active policy early: in force through the day before `day`; nothing refunded."""
    with store_of(request).transaction() as s:
        _policy_in_scope(s, who, policy_id)
        return policy_view(s, policies.lapse(s, who.actor, policy_id, body.day, body.reason))


@router.post("/policies/{policy_id}/stays", status_code=201)
def post_stay(request: Request, policy_id: RowId, body: StayIn, who: Reader) -> dict[str, Any]:
    """Claim the daily allowance of a hospital stay (days [admission, discharge) in force, past the waiting
    period unless an accident)."""
    with store_of(request).transaction() as s:
        _policy_in_scope(s, who, policy_id)
        return benefit_view(policy_benefits.submit_stay(s, who.actor, policy_id, body.admission, body.discharge,
                                                        body.accident))


@router.post("/policies/{policy_id}/claims", status_code=201)
def post_bill(request: Request, policy_id: RowId, body: BillIn, who: Reader) -> dict[str, Any]:
    """Submit a settled claim (bill) of the holder to a product not settled at the counter: its indemnity is
    owed to the member."""
    with store_of(request).transaction() as s:
        _policy_in_scope(s, who, policy_id)
        return benefit_view(policy_benefits.submit_indemnity(s, who.actor, policy_id, body.claim_id))


@router.post("/policies/{policy_id}/events", status_code=201)
def post_event(request: Request, policy_id: RowId, body: EventIn, who: Reader) -> dict[str, Any]:
    """Claim a lump sum for an event (`accidental_death`, `disability` with a grade, `critical_illness` with a
    diagnosis): once per policy."""
    with store_of(request).transaction() as s:
        _policy_in_scope(s, who, policy_id)
        return benefit_view(policy_benefits.submit_event(s, who.actor, policy_id, body.lump_sum, body.event,
                                                         body.day, body.diagnosis, body.grade))


@router.post("/benefits/{benefit_id}/payments")
def post_benefit_payment(request: Request, benefit_id: RowId, body: PaymentIn, who: Insurer) -> dict[str, Any]:
    """The insurer pays the member what a benefit claim owes (idempotent on `reference`)."""
    with store_of(request).transaction() as s:
        missing = NotFound(f"no benefit claim {benefit_id}", code="benefit.not_found")
        try:
            claim = policy_benefits.benefit(s, benefit_id)
        except NotFound:
            raise missing from None
        if who.role is Role.INSURER and policies.policy(s, claim.policy_id).product not in \
                insurer_books.products_of_insurer(who.layer):
            raise missing
        paid = policy_benefits.pay(s, who.actor, benefit_id, parse_yuan(body.amount), body.channel, body.reference)
        return benefit_view(paid)
