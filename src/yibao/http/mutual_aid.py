"""Mutual-aid endpoints: plans in force, membership, the claims workflow, jury votes, apportionment, disclosure.

Roles: the platform operator (`platform`) runs the workflow; a member sees only their own memberships,
charges, claims and jury seats (another member's answer is the same 404 as nobody's), and, like every
authenticated caller, the plans, the public notice board and the published disclosures; the auditor
reads everything; admin does everything. Each mutation is one transaction with its audit events.
Per-member charges are read from the period's Parquet dataset (YIBAO_DATA_DIR, default ./yibao-data).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.http.deps import caller, require, store_of
from yibao.mutual_aid import periods, service
from yibao.mutual_aid.membership import HealthDeclaration, MemberStatus
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound, Rejected
from yibao.ops.schemas import INT32_MAX, Diagnosis, Identifier, Name, PlanId, Reason, RowId, Shape, Summary
from yibao.ops.store_mutual_aid import MutualAidClaim, MutualAidMember

router = APIRouter(prefix="/mutual-aid", tags=["mutual aid"])

Reader = Annotated[Principal, Depends(caller)]
Platform = Annotated[Principal, Depends(require(Role.PLATFORM_OPERATOR))]
PlatformOrAuditor = Annotated[Principal, Depends(require(Role.PLATFORM_OPERATOR, Role.AUDITOR))]
MemberOrPlatform = Annotated[Principal, Depends(require(Role.MEMBER, Role.PLATFORM_OPERATOR))]
MemberPlatformOrAuditor = Annotated[Principal, Depends(require(Role.MEMBER, Role.PLATFORM_OPERATOR, Role.AUDITOR))]


def _own_membership(*roles: Role) -> Any:
    """The role gate, then, for a member, the membership in the path must be their own — checked before the body
    is read, so another member's membership is answered 404 whatever they send."""
    gate = require(*roles)

    # a default, not Annotated: the annotation is a string (PEP 563) that FastAPI resolves in module scope
    def check(request: Request, member_id: RowId, who: Principal = Depends(gate)) -> Principal:  # noqa: B008
        if who.role is Role.MEMBER:
            with store_of(request).transaction() as s:
                _member(s, who, member_id)
        return who

    return check


OwnMemberOrPlatform = Annotated[Principal, Depends(_own_membership(Role.MEMBER, Role.PLATFORM_OPERATOR))]
OwnMemberPlatformOrAuditor = Annotated[
    Principal, Depends(_own_membership(Role.MEMBER, Role.PLATFORM_OPERATOR, Role.AUDITOR))
]
Day = Annotated[dt.date | None, Field(description="the business day of the action (default today)")]


def _day(day: dt.date | None) -> dt.date:
    return day or dt.date.today()


def data_dir(request: Request) -> Path:
    """Where per-member charges datasets are written: app.state.mutual_aid_data, else YIBAO_DATA_DIR, else ./yibao-data."""
    configured = getattr(request.app.state, "mutual_aid_data", None)
    return Path(configured or os.environ.get("YIBAO_DATA_DIR") or "yibao-data")


# --- request shapes ---


class PlanIn(Shape):
    """One of `plan` (a built-in plan by name) and `definition` (a plan file's YAML text, uploaded)."""

    plan: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9./_-]*$",
                             description="a built-in plan by name: xianghubao-2020, xianghubao-2020/senior")
    definition: str | None = Field(None, min_length=1, max_length=200_000,
                                   description="the YAML text of a plan file (the format of the built-in plans)")
    in_force_from: dt.date


class JoinIn(Shape):
    person_id: Identifier
    credit_score: int = Field(ge=0, le=INT32_MAX, description="the score from the credit provider, checked against the plan's gate")
    credit_threshold: int | None = Field(None, ge=0, le=INT32_MAX, description="the gate, if the platform sets its own")
    no_listed_illness: bool = Field(description="health declaration: no listed illness")
    no_current_treatment: bool = Field(description="health declaration: no current treatment for one")
    day: Day = None


class DayIn(Shape):
    day: Day = None


class DeductionIn(Shape):
    notice_date: dt.date = Field(description="the period (its notice day)")
    succeeded: bool = Field(description="false: the deduction failed (retries start); true: a retry succeeded")
    day: Day = None


class DiagnosisIn(Shape):
    diagnosis_date: dt.date
    day: Day = None


class ClaimIn(Shape):
    illness_code: Diagnosis = Field(min_length=1, description="ICD-10 code of the diagnosis")
    diagnosis_date: dt.date
    day: Day = None


class FindingsIn(Shape):
    investigator: Name
    summary: Summary
    supports_claim: bool
    day: Day = None


class ReviewIn(Shape):
    approve: bool
    reason: Reason
    day: Day = None


class DisputeIn(Shape):
    reason: Reason
    raised_by: RowId | None = Field(None, description="the member disputing (platform only; a member disputes as themself)")
    seats: int | None = Field(None, ge=1, le=10_000, description="jurors to draw (default: the plan's minimum of votes)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="seed of the draw (default random; kept for audit)")
    day: Day = None


class VoteIn(Shape):
    pays: bool
    juror_id: RowId | None = Field(None, description="the juror (platform only; a member votes as themself)")
    day: Day = None


class PeriodIn(Shape):
    notice_date: dt.date


# --- scoping ---


def _member(s: Session, who: Principal, member_id: int) -> MutualAidMember:
    """A member sees only their own memberships: another's is answered as if it did not exist."""
    row = service.member_row(s, member_id)
    if who.role is Role.MEMBER and row.person_id != who.person_id:
        raise NotFound(f"no mutual-aid member {member_id}", code="mutual_aid.member_not_found")
    return row


def _claim(s: Session, who: Principal, claim_id: int) -> MutualAidClaim:
    row = service.claim_row(s, claim_id)
    if who.role is Role.MEMBER:
        claimant = s.get(MutualAidMember, row.member_id)
        if claimant is None or claimant.person_id != who.person_id:
            raise NotFound(f"no mutual-aid claim {claim_id}", code="mutual_aid.claim_not_found")
    return row


def _acting_member(s: Session, who: Principal, plan_id: PlanId, given: int | None, what: str) -> int:
    """The member on whose behalf a dispute or vote is made: a member acts as their own active membership of the
    plan; the platform names one."""
    if who.role is not Role.MEMBER:
        if given is None:
            raise Rejected(f"name the member ({what})", code="mutual_aid.member_missing")
        return given
    own = s.execute(
        select(MutualAidMember.id).where(
            MutualAidMember.plan_id == plan_id, MutualAidMember.person_id == who.person_id,
            MutualAidMember.status == MemberStatus.ACTIVE.value,
        )
    ).scalar_one_or_none()
    if own is None or (given is not None and given != own):
        raise Rejected(f"you are not an active member of {plan_id}", code="mutual_aid.not_a_member")
    return own


# --- plans ---


@router.get("/plans")
def get_plans(request: Request, who: Reader) -> list[dict[str, Any]]:
    """The plans in force on this platform, with their published figures."""
    from yibao.ops.store_mutual_aid import MutualAidPlan

    with store_of(request).transaction() as s:
        return [service.plan_view(r) for r in s.execute(select(MutualAidPlan).order_by(MutualAidPlan.id)).scalars()]


@router.post("/plans", status_code=201)
def post_plan(request: Request, body: PlanIn, who: Platform) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        row = service.launch_plan(s, who.actor, body.in_force_from, name=body.plan, definition=body.definition)
        return service.plan_view(row)


@router.get("/plans/{plan_id:path}/notices")
def get_notices(request: Request, plan_id: PlanId, who: Reader) -> list[dict[str, Any]]:
    """The public notice board: claims published for the plan, identity masked."""
    with store_of(request).transaction() as s:
        service.plan_row(s, plan_id)
        return service.notices(s, plan_id)


@router.get("/plans/{plan_id:path}/ledger")
def get_plan_ledger(request: Request, plan_id: PlanId, who: PlatformOrAuditor) -> dict[str, Any]:
    """The plan's accounts (region = plan id) from the ledger, and the surplus the pool carries into the next period."""
    from yibao.core.money import format_yuan
    from yibao.ops import ledger

    with store_of(request).transaction() as s:
        service.plan_row(s, plan_id)
        tb = ledger.trial_balance(s, region=plan_id)
        surplus = periods.pool_balance(s, plan_id)
    return {
        "accounts": [{"account": r.account, "debit": format_yuan(r.debit), "credit": format_yuan(r.credit),
                      "balance": format_yuan(r.balance)} for r in tb.rows],
        "balanced": tb.balanced, "surplus_carried": format_yuan(surplus),
    }


@router.post("/plans/{plan_id:path}/members", status_code=201)
def post_member(request: Request, plan_id: PlanId, body: JoinIn, who: Platform) -> dict[str, Any]:
    """Join a registered person (the platform has the credit score from its provider)."""
    declaration = HealthDeclaration(body.no_listed_illness, body.no_current_treatment)
    with store_of(request).transaction() as s:
        row = service.join(s, who.actor, plan_id, body.person_id, _day(body.day), declaration, body.credit_score,
                           body.credit_threshold)
        return service.member_view(row)


@router.post("/plans/{plan_id:path}/daily-run")
def post_daily_run(request: Request, plan_id: PlanId, body: DayIn, who: Platform) -> dict[str, Any]:
    """End of day: remove members whose deduction failed for the retry days, age out members past the oldest age."""
    from yibao.core.money import format_yuan

    with store_of(request).transaction() as s:
        run = periods.daily_run(s, who.actor, plan_id, _day(body.day))
        return {"removed": list(run.removed), "aged_out": list(run.aged_out), "written_off": format_yuan(run.written_off)}


@router.get("/plans/{plan_id:path}/claims")
def get_plan_claims(request: Request, plan_id: PlanId, who: PlatformOrAuditor, status: Identifier | None = None,
                    limit: int = Query(500, ge=1, le=5000)) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        service.plan_row(s, plan_id)
        return [service.claim_view(s, r) for r in service.claims_of(s, plan_id=plan_id, status=status, limit=limit)]


@router.post("/plans/{plan_id:path}/periods", status_code=201)
def post_period(request: Request, plan_id: PlanId, body: PeriodIn, who: Platform) -> dict[str, Any]:
    """Apportion a period (idempotent: the same period again returns its summary and posts nothing)."""
    with store_of(request).transaction() as s:
        return periods.period_view(periods.apportion(s, who.actor, plan_id, body.notice_date, data_dir(request)))


@router.get("/plans/{plan_id:path}/periods")
def get_periods(request: Request, plan_id: PlanId, who: Reader) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        service.plan_row(s, plan_id)
        return [periods.period_view(r) for r in periods.periods_of(s, plan_id)]


@router.post("/plans/{plan_id:path}/periods/{notice_date}/disclosure", status_code=201)
def post_disclosure(request: Request, plan_id: PlanId, notice_date: dt.date, who: Platform) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return periods.publish_disclosure(s, who.actor, plan_id, notice_date).body


@router.get("/plans/{plan_id:path}/periods/{notice_date}/disclosure", response_model=None)
def get_disclosure(
    request: Request, plan_id: PlanId, notice_date: dt.date, who: Reader, format: Literal["json", "csv", "html"] = "json",
) -> dict[str, Any] | PlainTextResponse | HTMLResponse:
    """A published disclosure (公示): the period's figures and its cases with masked identity."""
    with store_of(request).transaction() as s:
        row, disclosure = periods.published_disclosure(s, plan_id, notice_date)
        if format == "csv":
            return PlainTextResponse(disclosure.to_csv(), media_type="text/csv")
        if format == "html":
            return HTMLResponse(disclosure.to_html())
        return {**row.body, "published_at": row.published_at.isoformat()}


@router.get("/plans/{plan_id:path}/periods/{notice_date}")
def get_period(request: Request, plan_id: PlanId, notice_date: dt.date, who: Reader) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return periods.period_view(periods.period_row(s, plan_id, notice_date))


@router.get("/plans/{plan_id:path}")
def get_plan(request: Request, plan_id: PlanId, who: Reader) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return service.plan_view(service.plan_row(s, plan_id))


# --- members ---


@router.get("/members")
def get_members(
    request: Request, who: MemberPlatformOrAuditor, plan_id: PlanId | None = None, person_id: Identifier | None = None,
    status: Identifier | None = None, limit: int = Query(500, ge=1, le=5000),
) -> list[dict[str, Any]]:
    """Memberships; a member gets only their own, whatever they ask for."""
    if who.role is Role.MEMBER:
        person_id = who.person_id or ""
    with store_of(request).transaction() as s:
        rows = service.members_of(s, plan_id=plan_id, person_id=person_id, status=status, limit=limit)
        return [service.member_view(r) for r in rows]


@router.get("/members/{member_id}")
def get_member(request: Request, member_id: RowId, who: OwnMemberPlatformOrAuditor) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return service.member_view(service.member_row(s, member_id))


@router.post("/members/{member_id}/leave")
def post_leave(request: Request, member_id: RowId, body: DayIn, who: OwnMemberOrPlatform) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return service.member_view(service.leave(s, who.actor, member_id, _day(body.day)))


@router.get("/members/{member_id}/charges")
def get_charges(request: Request, member_id: RowId, who: OwnMemberPlatformOrAuditor) -> list[dict[str, Any]]:
    """The member's charge in each period, read from the period's per-member dataset."""
    with store_of(request).transaction() as s:
        return periods.charges_view(periods.member_charges(s, member_id))


@router.post("/members/{member_id}/deductions")
def post_deduction(request: Request, member_id: RowId, body: DeductionIn, who: Platform) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        row = periods.record_deduction(s, who.actor, member_id, body.notice_date, _day(body.day), body.succeeded)
        return service.member_view(row)


@router.post("/members/{member_id}/waiting-period-end")
def post_waiting_period_end(request: Request, member_id: RowId, body: DiagnosisIn, who: Platform) -> dict[str, Any]:
    """Diagnosed inside the waiting period: the membership ends and the charges paid are refunded."""
    from yibao.core.money import format_yuan

    with store_of(request).transaction() as s:
        row, refund = periods.end_in_waiting_period(s, who.actor, member_id, body.diagnosis_date, _day(body.day))
        return {**service.member_view(row), "refund": format_yuan(refund)}


@router.get("/members/{member_id}/jury-seats")
def get_jury_seats(request: Request, member_id: RowId, who: OwnMemberPlatformOrAuditor) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        return service.jury_seats(s, member_id)


@router.post("/members/{member_id}/claims", status_code=201)
def post_claim(request: Request, member_id: RowId, body: ClaimIn, who: OwnMemberOrPlatform) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        row = service.file_claim(s, who.actor, member_id, body.illness_code, body.diagnosis_date, _day(body.day))
        return service.claim_view(s, row)


# --- claims workflow ---


@router.get("/claims/{claim_id}")
def get_claim(request: Request, claim_id: RowId, who: MemberPlatformOrAuditor) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return service.claim_view(s, _claim(s, who, claim_id))


@router.post("/claims/{claim_id}/investigation")
def post_investigation(request: Request, claim_id: RowId, body: FindingsIn, who: Platform) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        row = service.investigate(s, who.actor, claim_id, body.investigator, body.summary, body.supports_claim,
                                  _day(body.day))
        return service.claim_view(s, row)


@router.post("/claims/{claim_id}/review")
def post_review(request: Request, claim_id: RowId, body: ReviewIn, who: Platform) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return service.claim_view(s, service.review(s, who.actor, claim_id, body.approve, body.reason, _day(body.day)))


@router.post("/claims/{claim_id}/notice")
def post_notice(request: Request, claim_id: RowId, body: DayIn, who: Platform) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return service.claim_view(s, service.publish_notice(s, who.actor, claim_id, _day(body.day)))


@router.post("/claims/{claim_id}/dispute", status_code=201)
def post_dispute(request: Request, claim_id: RowId, body: DisputeIn, who: MemberOrPlatform) -> dict[str, Any]:
    """The claimant disputes a rejection, or a member objects to a claim on notice: a member jury is drawn."""
    with store_of(request).transaction() as s:
        row = service.claim_row(s, claim_id)
        raised_by = _acting_member(s, who, row.plan_id, body.raised_by, "raised_by")
        jury = service.dispute(s, who.actor, claim_id, raised_by, body.reason, _day(body.day), body.seats, body.seed)
        return service.jury_view(s, jury)


@router.post("/claims/{claim_id}/votes", status_code=201)
def post_vote(request: Request, claim_id: RowId, body: VoteIn, who: MemberOrPlatform) -> dict[str, Any]:
    """A seated juror's vote (one each)."""
    with store_of(request).transaction() as s:
        row = service.claim_row(s, claim_id)
        juror = _acting_member(s, who, row.plan_id, body.juror_id, "juror_id")
        vote = service.cast_vote(s, who.actor, claim_id, juror, body.pays, _day(body.day))
        return {"claim_id": claim_id, "juror_id": vote.member_id, "pays": vote.pays, "day": vote.day.isoformat()}


@router.post("/claims/{claim_id}/verdict")
def post_verdict(request: Request, claim_id: RowId, body: DayIn, who: Platform) -> dict[str, Any]:
    """Close the jury: valid with the plan's minimum of votes; pays when more than the majority share votes to pay."""
    with store_of(request).transaction() as s:
        return service.claim_view(s, service.close_jury(s, who.actor, claim_id, _day(body.day)))


@router.post("/claims/{claim_id}/deny")
def post_deny(request: Request, claim_id: RowId, body: DayIn, who: Platform) -> dict[str, Any]:
    """A rejection not disputed in time becomes final."""
    with store_of(request).transaction() as s:
        return service.claim_view(s, service.deny(s, who.actor, claim_id, _day(body.day)))


@router.post("/claims/{claim_id}/pay")
def post_pay(request: Request, claim_id: RowId, body: DayIn, who: Platform) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return service.claim_view(s, service.pay(s, who.actor, claim_id, _day(body.day)))
