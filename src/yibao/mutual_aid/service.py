"""Mutual-aid operations over the store: plans in force, membership, the claims workflow and member juries.

Every rule is the pure one (yibao.mutual_aid.membership / claims / jury): a row becomes the pure
record, the rule returns the next record, the row takes its fields, and the change is audited
with the row before and after — all in the caller's transaction, so a refusal writes nothing.
Apportionment, disclosure and charges are in `yibao.mutual_aid.periods`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.money import RatePpm, format_rate, format_yuan
from yibao.mutual_aid import claims, closure, jury, membership
from yibao.mutual_aid.calendar import day_number
from yibao.mutual_aid.claims import Claim, ClaimStatus, Findings, PublicNotice, Step
from yibao.mutual_aid.errors import MutualAidError
from yibao.mutual_aid.jury import Jury, Vote
from yibao.mutual_aid.membership import HealthDeclaration, Member, MemberStatus
from yibao.mutual_aid.plan import Plan, builtin_plan_names, load_plan, load_plan_text
from yibao.ops import audit, ledger, registry
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.store import utcnow
from yibao.ops.store_mutual_aid import (
    MutualAidClaim,
    MutualAidClosure,
    MutualAidJuror,
    MutualAidJury,
    MutualAidMember,
    MutualAidPlan,
    MutualAidVote,
)

# --- plans ---------------------------------------------------------------------------------------------------


@contextmanager
def rules() -> Iterator[None]:
    """A refusal by a pure rule becomes the service's 'rejected' error with the rule's code (HTTP 422)."""
    try:
        yield
    except MutualAidError as exc:
        raise Rejected(exc.message, code=exc.code) from None


@lru_cache(maxsize=32)
def _load(source: str, variant: str | None) -> Plan:
    return load_plan(source, variant)


@lru_cache(maxsize=32)
def _load_text(definition: str) -> Plan:
    return load_plan_text(definition)


def plan_of(row: MutualAidPlan) -> Plan:
    if row.definition is not None:
        return _load_text(row.definition)
    return _load(row.source, row.variant)


def plan_row(session: Session, plan_id: str, *, lock: bool = False) -> MutualAidPlan:
    query = select(MutualAidPlan).where(MutualAidPlan.id == plan_id)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no mutual-aid plan {plan_id!r} in force (see GET /mutual-aid/plans)", code="mutual_aid.plan_not_found")
    return row


def closing_since(session: Session, plan_id: str) -> dt.date | None:
    """The decision date of the plan's closure, if one was decided (yibao.mutual_aid.closing)."""
    return session.execute(select(MutualAidClosure.decided_on).where(MutualAidClosure.plan_id == plan_id)).scalar_one_or_none()


def refuse_if_closing(session: Session, plan_id: str, day: dt.date, what: str) -> None:
    with rules():
        closure.refuse_after_decision(plan_id, closing_since(session, plan_id), day, what)


def launch_plan(
    session: Session, actor: Actor, in_force_from: dt.date, *, name: str | None = None, definition: str | None = None
) -> MutualAidPlan:
    """Put a plan in force: a built-in plan by `name` ('xianghubao-2020', 'xianghubao-2020/senior'), or a plan's
    YAML `definition` (the text of a plan file, uploaded). Never a path: the service reads no file it is named."""
    if (name is None) == (definition is None):
        raise Rejected("give a built-in plan's name or a plan's YAML text, not both", code="mutual_aid.plan_invalid")
    if name is not None and name not in builtin_plan_names():
        raise NotFound(f"no built-in plan {name!r} (built-in: {builtin_plan_names()})", code="mutual_aid.plan_not_found")
    with rules():
        plan = load_plan(name) if name is not None else load_plan_text(definition or "")
    if len(plan.name) > 64:
        raise Rejected("a plan's name is at most 64 characters", code="mutual_aid.plan_invalid")
    if session.get(MutualAidPlan, plan.name) is not None:
        raise Conflict(f"plan {plan.name!r} is already in force", code="mutual_aid.plan_exists")
    row = MutualAidPlan(id=plan.name, source=name or "uploaded", variant=None, definition=definition,
                        title=plan.title.en[:200], in_force_from=in_force_from, created_at=utcnow())
    audit.added(session, actor, "mutual_aid.plan.launched", "mutual_aid_plan", row)
    return row


def plan_view(row: MutualAidPlan) -> dict[str, Any]:
    plan = plan_of(row)
    return {
        "plan_id": row.id, "title": row.title, "in_force_from": row.in_force_from.isoformat(),
        "joining_ages": f"{plan.min_age.value} {plan.min_age.unit.value} – {plan.max_age} years",
        "waiting_days": plan.waiting_days, "credit_threshold": plan.credit_threshold,
        "illnesses": [{"code": i.code, "name": i.name} for i in plan.illnesses],
        "payouts": [{"min_age": b.min_age, "max_age": b.max_age, "amount": format_yuan(b.amount)} for b in plan.payouts],
        "management_fee": format_rate(plan.fee_rate), "notice_days": list(plan.notice_days),
        "deduction_days": list(plan.deduction_days), "case_cap": format_yuan(plan.case_cap),
        "year_cap": format_yuan(plan.year_cap), "retry_days": plan.retry_days,
        "jury": {"juror_min_age": plan.juror_min_age, "juror_min_membership_days": plan.juror_min_membership_days,
                 "min_votes": plan.jury_min_votes, "majority": format_rate(plan.jury_majority)},
    }


# --- members -------------------------------------------------------------------------------------------------


def member_row(session: Session, member_id: int, *, lock: bool = False) -> MutualAidMember:
    query = select(MutualAidMember).where(MutualAidMember.id == member_id)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no mutual-aid member {member_id}", code="mutual_aid.member_not_found")
    return row


def member_record(row: MutualAidMember, paid_total: int = 0) -> Member:
    """The pure record of a membership (charges live in the periods' datasets; pass `paid_total` when a rule needs it)."""
    return Member(
        member_id=str(row.id), name=row.name, birth_date=row.birth_date, plan=row.plan_id, joined_on=row.joined_on,
        protection_start=row.protection_start, status=MemberStatus(row.status), ended_on=row.ended_on,
        paid_total=paid_total, deduction_failed_since=row.deduction_failed_since,
    )


def _take(row: MutualAidMember, member: Member) -> None:
    row.status = member.status.value
    row.ended_on = member.ended_on
    row.deduction_failed_since = member.deduction_failed_since


def change_member(session: Session, actor: Actor, row: MutualAidMember, member: Member, action: str,
                  **extra: Any) -> None:
    """Store the pure rule's new record in the row and audit it (before/after)."""
    before = audit.snapshot(row)
    _take(row, member)
    session.flush()
    audit.record(session, actor, action, "mutual_aid_member", row.id, before, {**(audit.snapshot(row) or {}), **extra})


def join(
    session: Session, actor: Actor, plan_id: str, person_id: str, day: dt.date, declaration: HealthDeclaration,
    credit_score: int, credit_threshold: int | None = None,
) -> MutualAidMember:
    """A registered person joins a plan in force (age, health declaration and credit gate by the plan's rules)."""
    plan_row_ = plan_row(session, plan_id)
    if day < plan_row_.in_force_from:
        raise Rejected(f"plan {plan_id} is in force from {plan_row_.in_force_from}", code="mutual_aid.plan_not_in_force")
    refuse_if_closing(session, plan_id, day, "new members")
    person = registry.person(session, person_id)
    plan = plan_of(plan_row_)
    with rules():
        member, _ = membership.join(
            plan, member_id="new", name=person.name, birth_date=person.birth_date, day=day, declaration=declaration,
            credit_score=credit_score, credit_threshold=credit_threshold,
        )
    active = select(MutualAidMember.id).where(
        MutualAidMember.plan_id == plan_id, MutualAidMember.person_id == person_id,
        MutualAidMember.status == MemberStatus.ACTIVE.value,
    )
    if session.execute(active).first() is not None:
        raise Conflict(f"person {person_id} is already a member of {plan_id}", code="mutual_aid.already_member")
    row = MutualAidMember(
        plan_id=plan_id, person_id=person_id, name=member.name, birth_date=member.birth_date, joined_on=member.joined_on,
        protection_start=member.protection_start, status=member.status.value, ended_on=None, credit_score=credit_score,
        credit_threshold=plan.credit_threshold if credit_threshold is None else credit_threshold,
        deduction_failed_since=None,
    )
    audit.added(session, actor, "mutual_aid.member.joined", "mutual_aid_member", row)
    return row


def leave(session: Session, actor: Actor, member_id: int, day: dt.date) -> MutualAidMember:
    row = member_row(session, member_id, lock=True)
    with rules():
        member, _ = membership.leave(member_record(row), day)
    change_member(session, actor, row, member, "mutual_aid.member.left")
    return row


Listed = TypeVar("Listed", MutualAidMember, MutualAidClaim)


def _listed(session: Session, model: type[Listed], limit: int, **equal: object) -> list[Listed]:
    """Rows in id order whose columns equal the filters given (a filter of None is no filter)."""
    query = select(model).order_by(model.id).limit(limit)
    for column, value in equal.items():
        if value is not None:
            query = query.where(getattr(model, column) == value)
    return list(session.execute(query).scalars())


def members_of(session: Session, *, plan_id: str | None = None, person_id: str | None = None,
               status: str | None = None, limit: int = 500) -> list[MutualAidMember]:
    return _listed(session, MutualAidMember, limit, plan_id=plan_id, person_id=person_id, status=status)


def member_view(row: MutualAidMember) -> dict[str, Any]:
    return {
        "member_id": row.id, "plan_id": row.plan_id, "person_id": row.person_id, "name": row.name,
        "joined_on": row.joined_on.isoformat(), "protection_start": row.protection_start.isoformat(),
        "status": row.status, "ended_on": row.ended_on and row.ended_on.isoformat(),
        "deduction_failed_since": row.deduction_failed_since and row.deduction_failed_since.isoformat(),
    }


# --- claims --------------------------------------------------------------------------------------------------


def claim_row(session: Session, claim_id: int, *, lock: bool = False) -> MutualAidClaim:
    query = select(MutualAidClaim).where(MutualAidClaim.id == claim_id)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no mutual-aid claim {claim_id}", code="mutual_aid.claim_not_found")
    return row


def _step_json(step: Step) -> dict[str, Any]:
    return {"day": step.day.isoformat(), "actor": step.actor, "status": step.status.value, "note": step.note}


def _notice_json(notice: PublicNotice) -> dict[str, Any]:
    return {**dataclasses.asdict(notice), "diagnosis_date": notice.diagnosis_date.isoformat()}


def claim_record(session: Session, row: MutualAidClaim) -> Claim:
    findings = Findings(**row.findings) if row.findings else None
    panel = _latest_jury(session, row.id)
    return Claim(
        claim_id=str(row.id), member_id=str(row.member_id), member_name=row.member_name,
        age_at_diagnosis=row.age_at_diagnosis, illness_code=row.illness_code, illness_name=row.illness_name,
        diagnosis_date=row.diagnosis_date, amount=row.amount, status=ClaimStatus(row.status),
        history=tuple(Step(dt.date.fromisoformat(s["day"]), s["actor"], ClaimStatus(s["status"]), s["note"])
                      for s in row.history),
        findings=findings, jury=None if panel is None else jury_record(session, panel),
    )


def _take_claim(session: Session, actor: Actor, row: MutualAidClaim, claim: Claim, action: str) -> MutualAidClaim:
    before = audit.snapshot(row)
    row.status = claim.status.value
    row.history = [_step_json(s) for s in claim.history]
    row.findings = None if claim.findings is None else dataclasses.asdict(claim.findings)
    if claim.status is ClaimStatus.NOTICED:
        row.noticed_on = claim.history[-1].day
        row.notice = _notice_json(claims.notice_of(claim))
    if claim.status is ClaimStatus.PAID:
        row.paid_on = claim.history[-1].day
    session.flush()
    audit.record(session, actor, action, "mutual_aid_claim", row.id, before, audit.snapshot(row))
    return row


def file_claim(session: Session, actor: Actor, member_id: int, illness_code: str, diagnosis_date: dt.date,
               day: dt.date) -> MutualAidClaim:
    """A protected member claims the lump sum for a covered illness (a diagnosis inside the waiting period is
    refused: `end_in_waiting_period` ends the membership with a refund instead)."""
    member = member_row(session, member_id)
    plan = plan_of(plan_row(session, member.plan_id))
    refuse_if_closing(session, member.plan_id, day, "new claims")
    open_claim = select(MutualAidClaim.id).where(MutualAidClaim.member_id == member_id,
                                                MutualAidClaim.status != ClaimStatus.DENIED.value)
    if session.execute(open_claim).first() is not None:
        # one lump sum per membership (membership.paid_out ends it): a second claim waits for the first's denial
        raise Conflict(f"member {member_id} already has a claim that is not denied", code="mutual_aid.claim_exists")
    with rules():
        claim = claims.file_claim(plan, member_record(member), claim_id="new", illness_code=illness_code.strip().upper(),
                                  diagnosis_date=diagnosis_date, day=day)
    row = MutualAidClaim(
        plan_id=member.plan_id, member_id=member.id, member_name=claim.member_name,
        age_at_diagnosis=claim.age_at_diagnosis, illness_code=claim.illness_code, illness_name=claim.illness_name,
        diagnosis_date=claim.diagnosis_date, amount=claim.amount, status=claim.status.value, filed_on=day,
        findings=None, history=[_step_json(s) for s in claim.history], notice=None,
    )
    audit.added(session, actor, "mutual_aid.claim.filed", "mutual_aid_claim", row)
    return row


def investigate(session: Session, actor: Actor, claim_id: int, investigator: str, summary: str, supports_claim: bool,
                day: dt.date) -> MutualAidClaim:
    row = claim_row(session, claim_id, lock=True)
    with rules():
        claim = claims.investigate(claim_record(session, row), Findings(investigator, summary, supports_claim), day)
    return _take_claim(session, actor, row, claim, "mutual_aid.claim.investigated")


def review(session: Session, actor: Actor, claim_id: int, approve: bool, reason: str, day: dt.date) -> MutualAidClaim:
    row = claim_row(session, claim_id, lock=True)
    with rules():
        claim = claims.review(claim_record(session, row), approve=approve, reviewer=actor.name, reason=reason, day=day)
    return _take_claim(session, actor, row, claim, "mutual_aid.claim.reviewed")


def publish_notice(session: Session, actor: Actor, claim_id: int, day: dt.date) -> MutualAidClaim:
    row = claim_row(session, claim_id, lock=True)
    with rules():
        claim, _ = claims.publish_notice(claim_record(session, row), day, actor.name)
    return _take_claim(session, actor, row, claim, "mutual_aid.claim.noticed")


def deny(session: Session, actor: Actor, claim_id: int, day: dt.date) -> MutualAidClaim:
    row = claim_row(session, claim_id, lock=True)
    with rules():
        claim = claims.deny(claim_record(session, row), day, actor.name)
    return _take_claim(session, actor, row, claim, "mutual_aid.claim.denied")


def post_payout(session: Session, actor: Actor, claim: MutualAidClaim) -> None:
    """The lump sum leaves the collected money: Dr beneficiary payable (the case), Cr member charges."""
    assert claim.apportioned_in is not None
    year = claim.apportioned_in.year
    ledger.post(session, actor, "mutual_aid.payout", f"{claim.plan_id}:payout:{claim.id}",
                f"lump sum of case {claim.id} paid", [
                    Line(Account(claim.plan_id, year, AccountKind.MUTUAL_AID_BENEFICIARY_PAYABLE, str(claim.id)), claim.amount),
                    Line(Account(claim.plan_id, year, AccountKind.MUTUAL_AID_MEMBER_CHARGES), -claim.amount),
                ])


def pay(session: Session, actor: Actor, claim_id: int, day: dt.date) -> MutualAidClaim:
    """Pay the lump sum of a claim on notice whose period has been apportioned (the money was collected);
    the beneficiary payable is settled in the ledger and the claimant's membership ends (paid out)."""
    row = claim_row(session, claim_id, lock=True)
    if row.status == ClaimStatus.NOTICED.value and row.apportioned_in is None:
        raise Rejected(f"claim {claim_id} is on notice but not yet apportioned: apportion its period first",
                       code="mutual_aid.not_apportioned")
    with rules():
        claim = claims.pay(claim_record(session, row), day, actor.name)
    _take_claim(session, actor, row, claim, "mutual_aid.claim.paid")
    post_payout(session, actor, row)
    member = member_row(session, row.member_id, lock=True)
    if member.status == MemberStatus.ACTIVE.value:
        with rules():
            ended, _ = membership.paid_out(member_record(member), day, row.amount)
        change_member(session, actor, member, ended, "mutual_aid.member.paid_out")
    return row


def claims_of(session: Session, *, plan_id: str | None = None, member_id: int | None = None,
              status: str | None = None, limit: int = 500) -> list[MutualAidClaim]:
    return _listed(session, MutualAidClaim, limit, plan_id=plan_id, member_id=member_id, status=status)


def notices(session: Session, plan_id: str) -> list[dict[str, Any]]:
    """The notice board: every claim published (identity masked), newest first."""
    rows = session.execute(
        select(MutualAidClaim).where(MutualAidClaim.plan_id == plan_id, MutualAidClaim.notice.is_not(None))
        .order_by(MutualAidClaim.noticed_on.desc(), MutualAidClaim.id.desc())
    ).scalars()
    return [{**(r.notice or {}), "status": r.status, "noticed_on": r.noticed_on and r.noticed_on.isoformat()} for r in rows]


def claim_view(session: Session, row: MutualAidClaim) -> dict[str, Any]:
    panel = _latest_jury(session, row.id)
    return {
        "claim_id": row.id, "plan_id": row.plan_id, "member_id": row.member_id, "member_name": row.member_name,
        "age_at_diagnosis": row.age_at_diagnosis, "illness_code": row.illness_code, "illness_name": row.illness_name,
        "diagnosis_date": row.diagnosis_date.isoformat(), "amount": format_yuan(row.amount), "status": row.status,
        "filed_on": row.filed_on.isoformat(), "findings": row.findings, "history": row.history, "notice": row.notice,
        "apportioned_in": row.apportioned_in and row.apportioned_in.isoformat(),
        "paid_on": row.paid_on and row.paid_on.isoformat(), "jury": None if panel is None else jury_view(session, panel),
    }


# --- juries --------------------------------------------------------------------------------------------------


def _latest_jury(session: Session, claim_id: int) -> MutualAidJury | None:
    query = select(MutualAidJury).where(MutualAidJury.claim_id == claim_id).order_by(MutualAidJury.id.desc()).limit(1)
    return session.execute(query).scalar_one_or_none()


def jury_record(session: Session, row: MutualAidJury) -> Jury:
    claimant = session.execute(select(MutualAidClaim.member_id).where(MutualAidClaim.id == row.claim_id)).scalar_one()
    votes = session.execute(
        select(MutualAidVote).where(MutualAidVote.jury_id == row.id).order_by(MutualAidVote.id)
    ).scalars()
    return Jury(
        claim_id=str(row.claim_id), claimant_id=str(claimant), opened_on=row.opened_on, min_votes=row.min_votes,
        majority=RatePpm(row.majority), juror_min_age=row.juror_min_age,
        juror_min_membership_days=row.juror_min_membership_days,
        votes=tuple(Vote(str(v.member_id), v.pays, v.day) for v in votes), closed_on=row.closed_on,
    )


def jury_view(session: Session, row: MutualAidJury) -> dict[str, Any]:
    verdict = jury_record(session, row).verdict()
    return {
        "jury_id": row.id, "opened_on": row.opened_on.isoformat(), "raised_by": row.raised_by, "reason": row.reason,
        "seats": row.seats, "seed": row.seed, "min_votes": row.min_votes, "majority": format_rate(RatePpm(row.majority)),
        "votes_to_pay": verdict.votes_to_pay, "votes_to_refuse": verdict.votes_to_refuse,
        "closed_on": row.closed_on and row.closed_on.isoformat(), "outcome": row.outcome,
    }


def _draw(session: Session, plan: Plan, plan_id: str, claimant: int, day: dt.date, seats: int, seed: int) -> list[int]:
    """Jurors drawn column-wise from the plan's eligible members (the claimant excluded), reproducible by seed."""
    rows = session.execute(
        select(MutualAidMember.id, MutualAidMember.birth_date, MutualAidMember.joined_on, MutualAidMember.status)
        .where(MutualAidMember.plan_id == plan_id).order_by(MutualAidMember.id)
    ).all()
    ids = np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))
    births = np.fromiter((day_number(r.birth_date) for r in rows), dtype=np.int32, count=len(rows))
    joined = np.fromiter((day_number(r.joined_on) for r in rows), dtype=np.int32, count=len(rows))
    active = np.fromiter((r.status == MemberStatus.ACTIVE.value for r in rows), dtype=np.bool_, count=len(rows))
    active &= ids != claimant
    eligible = jury.eligible_jurors(plan, births, joined, active, day_number(day))
    return [int(i) for i in ids[jury.draw_jurors(eligible, seats, seed)]]


def dispute(session: Session, actor: Actor, claim_id: int, raised_by: int, reason: str, day: dt.date,
            seats: int | None = None, seed: int | None = None) -> MutualAidJury:
    """The claimant disputes a rejection, or a member objects to a claim on notice: a member jury is drawn."""
    row = claim_row(session, claim_id, lock=True)
    if row.apportioned_in is not None:
        raise Rejected(f"claim {claim_id} was funded in the period {row.apportioned_in}: objections close with the "
                       "apportionment", code="mutual_aid.already_apportioned")
    plan = plan_of(plan_row(session, row.plan_id))
    objector = member_row(session, raised_by)
    if objector.plan_id != row.plan_id or objector.status != MemberStatus.ACTIVE.value:
        raise Rejected(f"member {raised_by} is not an active member of {row.plan_id}", code="mutual_aid.not_a_member")
    seats = plan.jury_min_votes if seats is None else seats
    if seats < plan.jury_min_votes:
        raise Rejected(f"{seats} seats can never reach the {plan.jury_min_votes} votes a verdict needs",
                       code="mutual_aid.too_few_seats")
    seed = secrets.randbelow(2**31) if seed is None else seed  # fits a JSON number exactly
    with rules():
        panel = jury.open_jury(plan, str(row.id), str(row.member_id), day)
        claim = claims.dispute(claim_record(session, row), panel, raised_by=str(raised_by), reason=reason, day=day)
        seated = _draw(session, plan, row.plan_id, row.member_id, day, seats, seed)
    jury_row = MutualAidJury(
        claim_id=row.id, opened_on=day, raised_by=raised_by, reason=reason, seats=seats, seed=seed,
        min_votes=panel.min_votes, majority=panel.majority, juror_min_age=panel.juror_min_age,
        juror_min_membership_days=panel.juror_min_membership_days,
    )
    session.add(jury_row)
    session.flush()
    session.add_all([MutualAidJuror(jury_id=jury_row.id, member_id=m) for m in seated])
    _take_claim(session, actor, row, claim, "mutual_aid.claim.disputed")
    audit.record(session, actor, "mutual_aid.jury.opened", "mutual_aid_jury", jury_row.id, None,
                 {**(audit.snapshot(jury_row) or {}), "jurors": seated})
    return jury_row


def open_jury_row(session: Session, claim_id: int) -> MutualAidJury:
    panel = _latest_jury(session, claim_id)
    if panel is None or panel.closed_on is not None:
        raise Rejected(f"claim {claim_id} has no open jury", code="mutual_aid.no_open_jury")
    return panel


def cast_vote(session: Session, actor: Actor, claim_id: int, juror_id: int, pays: bool, day: dt.date) -> MutualAidVote:
    """A seated juror votes once; eligibility (age, membership days, still a member, not the claimant) is checked
    again by the jury rule when the vote is cast. The store's unique (jury, member) refuses a concurrent repeat."""
    claim_row(session, claim_id)
    panel = open_jury_row(session, claim_id)
    seated = session.execute(
        select(MutualAidJuror.id).where(MutualAidJuror.jury_id == panel.id, MutualAidJuror.member_id == juror_id)
    ).first()
    if seated is None:
        raise Rejected(f"member {juror_id} is not seated on the jury for claim {claim_id}", code="mutual_aid.not_a_juror")
    juror = member_row(session, juror_id)
    with rules():
        voted = jury.cast_vote(jury_record(session, panel), member_record(juror), pays, day)
    vote = voted.votes[-1]
    row = MutualAidVote(jury_id=panel.id, member_id=juror_id, pays=vote.pays, day=vote.day, recorded_by=actor.name)
    audit.added(session, actor, "mutual_aid.vote.cast", "mutual_aid_vote", row)
    return row


def close_jury(session: Session, actor: Actor, claim_id: int, day: dt.date) -> MutualAidClaim:
    """Close voting and apply the verdict: valid with the minimum votes, pays above the majority share."""
    row = claim_row(session, claim_id, lock=True)
    panel = open_jury_row(session, claim_id)
    with rules():
        closed, verdict = jury.close(jury_record(session, panel), day)
        claim = claims.decide(claim_record(session, row), closed, verdict, day)
    before = audit.snapshot(panel)
    panel.closed_on, panel.outcome = closed.closed_on, verdict.outcome.value
    panel.votes_to_pay, panel.votes_to_refuse = verdict.votes_to_pay, verdict.votes_to_refuse
    session.flush()
    audit.record(session, actor, "mutual_aid.jury.closed", "mutual_aid_jury", panel.id, before, audit.snapshot(panel))
    return _take_claim(session, actor, row, claim, "mutual_aid.claim.decided")


def jury_seats(session: Session, member_id: int) -> list[dict[str, Any]]:
    """The juries a member sits on, with what a juror needs to judge (identity masked) and their vote if cast."""
    rows = session.execute(
        select(MutualAidJury, MutualAidClaim, MutualAidVote.pays)
        .join(MutualAidJuror, MutualAidJuror.jury_id == MutualAidJury.id)
        .join(MutualAidClaim, MutualAidClaim.id == MutualAidJury.claim_id)
        .outerjoin(MutualAidVote, (MutualAidVote.jury_id == MutualAidJury.id) & (MutualAidVote.member_id == member_id))
        .where(MutualAidJuror.member_id == member_id).order_by(MutualAidJury.id)
    ).all()
    return [
        {"claim_id": c.id, "jury_id": j.id, "opened_on": j.opened_on.isoformat(), "closed_on": j.closed_on and j.closed_on.isoformat(),
         "case": _notice_json(claims.notice_of(claim_record(session, c))), "reason": j.reason, "your_vote": pays}
        for j, c, pays in rows
    ]
