"""Mutual-aid money over the store: apportioning a period, its disclosure, members' charges, deductions,
refunds, write-offs and payouts, all posted to the operations ledger.

A period is apportioned column-wise by the pure rule (`apportion.apportion_period`) over the plan's
members at the notice cut-off. The per-member charges go to a Parquet dataset (member_id, charge,
charged_this_year); the database keeps one summary row, three balanced ledger entries
(`postings.period_entries`) and an audit event — in one transaction, idempotent per period, and
the dataset is removed again if that transaction rolls back. Ledger accounts: region = plan id,
year = the period's year. The surplus carried into a period is the pool's ledger balance, so
refunds and written-off deductions flow into the next period's need (nothing lost, nothing invented).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Integer, cast, event, func, literal, or_, select
from sqlalchemy.orm import Session

from yibao.core.money import Fen, format_yuan
from yibao.mutual_aid import membership
from yibao.mutual_aid.apportion import ApportionmentSummary, ApprovedCase, Cohort, MemberColumns, apportion_period
from yibao.mutual_aid.calendar import Period, period_of
from yibao.mutual_aid.claims import ClaimStatus
from yibao.mutual_aid.disclosure import Disclosure
from yibao.mutual_aid.files import read_charged_this_year, read_member_charge, summary_record, write_charges
from yibao.mutual_aid.membership import MemberStatus
from yibao.mutual_aid.postings import PoolAccount, period_entries
from yibao.mutual_aid.service import (
    change_member,
    claim_record,
    member_record,
    member_row,
    plan_of,
    plan_row,
    rules,
)
from yibao.ops import audit, ledger
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.store import utcnow
from yibao.ops.store_mutual_aid import (
    MutualAidClaim,
    MutualAidClosure,
    MutualAidDeductionFailure,
    MutualAidDisclosure,
    MutualAidMember,
    MutualAidPeriod,
)

ACCOUNT_KIND: dict[PoolAccount, AccountKind] = {
    PoolAccount.MEMBER_CHARGES: AccountKind.MUTUAL_AID_MEMBER_CHARGES,
    PoolAccount.POOL: AccountKind.MUTUAL_AID_POOL,
    PoolAccount.PLATFORM_FEE: AccountKind.MUTUAL_AID_PLATFORM_FEE,
    PoolAccount.BENEFICIARY_PAYABLE: AccountKind.MUTUAL_AID_BENEFICIARY_PAYABLE,
}
SUMMARY_FIELDS = tuple(f.name for f in dataclasses.fields(ApportionmentSummary) if f.name not in ("plan", "cohorts"))

# --- the ledger side ---------------------------------------------------------------------------------------


def pool_balance(session: Session, plan_id: str) -> Fen:
    """Money held in the plan's pool over all years (credit-normal): the surplus carried into the next period."""
    tb = ledger.trial_balance(session, region=plan_id, kinds=[AccountKind.MUTUAL_AID_POOL.value])
    return -sum(row.balance for row in tb.rows)


def _pool_to_members(session: Session, actor: Actor, plan_id: str, year: int, kind: str, reference: str,
                     description: str, amount: Fen) -> None:
    """Money leaving the pool back to (or never received from) members: Dr pool, Cr member charges."""
    ledger.post(session, actor, kind, reference, description, [
        Line(Account(plan_id, year, AccountKind.MUTUAL_AID_POOL), amount),
        Line(Account(plan_id, year, AccountKind.MUTUAL_AID_MEMBER_CHARGES), -amount),
    ])


# --- apportionment -----------------------------------------------------------------------------------------


def data_root(data_dir: str | Path) -> Path:
    return Path(data_dir).resolve()


def period_row(session: Session, plan_id: str, notice_date: dt.date) -> MutualAidPeriod:
    row = session.execute(
        select(MutualAidPeriod).where(MutualAidPeriod.plan_id == plan_id, MutualAidPeriod.notice_date == notice_date)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no apportioned period {notice_date} of {plan_id}", code="mutual_aid.period_not_found")
    return row


def summary_of(row: MutualAidPeriod) -> ApportionmentSummary:
    cohorts = tuple(Cohort(c["pays_from"] and dt.date.fromisoformat(c["pays_from"]), c["members"], c["charge"])
                    for c in row.cohorts)
    return ApportionmentSummary(plan=row.plan_id, cohorts=cohorts, **{k: getattr(row, k) for k in SUMMARY_FIELDS})


def _day_number(session: Session, column: Any) -> Any:
    """A date column as days since 1970-01-01, computed by the database (no per-row Python date objects)."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(column) - 2440587.5, Integer)
    return column - literal(dt.date(1970, 1, 1))


def _members_at_cutoff(session: Session, plan_id: str, notice: dt.date) -> MemberColumns:
    """Every membership of the plan in force at 0:00 of the notice day (those still waiting share nothing),
    in member-id order; ended-in-waiting memberships are void (refunded) and never share."""
    rows = session.execute(
        select(MutualAidMember.id, _day_number(session, MutualAidMember.protection_start)).where(
            MutualAidMember.plan_id == plan_id, MutualAidMember.joined_on <= notice,
            or_(MutualAidMember.ended_on.is_(None), MutualAidMember.ended_on > notice),
            MutualAidMember.status != MemberStatus.ENDED_IN_WAITING.value,
        ).order_by(MutualAidMember.id)
    ).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    starts = np.fromiter((r[1] for r in rows), dtype=np.int32, count=len(rows))
    return MemberColumns(ids, starts, np.zeros(len(rows), dtype=np.int64))


def _charged_this_year(session: Session, plan_id: str, period: Period, ids: np.ndarray) -> np.ndarray:
    """Each member's charges so far in the period's year: carried in the last earlier period's dataset."""
    last = session.execute(
        select(MutualAidPeriod).where(MutualAidPeriod.plan_id == plan_id, MutualAidPeriod.notice_date < period.notice_date)
        .order_by(MutualAidPeriod.notice_date.desc()).limit(1)
    ).scalar_one_or_none()
    charged = np.zeros(len(ids), dtype=np.int64)
    if last is None or last.deduction_date.year != period.deduction_date.year:
        return charged
    before_ids, before = read_charged_this_year(Path(last.charges_path))
    at = np.clip(np.searchsorted(before_ids, ids), 0, max(len(before_ids) - 1, 0))
    found = (before_ids[at] == ids) if len(before_ids) else np.zeros(len(ids), dtype=np.bool_)
    charged[found] = before[at[found]]
    return charged


def _cases(session: Session, plan_id: str, notice: dt.date) -> list[tuple[MutualAidClaim, ApprovedCase]]:
    """Claims on notice by the notice day and not yet apportioned: the period's approved aid."""
    rows = session.execute(
        select(MutualAidClaim).where(
            MutualAidClaim.plan_id == plan_id, MutualAidClaim.status == ClaimStatus.NOTICED.value,
            MutualAidClaim.apportioned_in.is_(None), MutualAidClaim.noticed_on <= notice,
        ).order_by(MutualAidClaim.id)
    ).scalars()
    return [(row, claim_record(session, row).as_case()) for row in rows]


def _remove_on_rollback(session: Session, path: Path) -> None:
    def remove(_: Session) -> None:
        shutil.rmtree(path, ignore_errors=True)

    event.listen(session, "after_rollback", remove, once=True)


def apportion(session: Session, actor: Actor, plan_id: str, notice_date: dt.date, data_dir: str | Path) -> MutualAidPeriod:
    """Apportion one period of a plan (idempotent: a period already apportioned is returned unchanged)."""
    plan_row_ = plan_row(session, plan_id, lock=True)  # one apportionment of a plan at a time
    plan = plan_of(plan_row_)
    with rules():
        period = period_of(plan, notice_date)
    done = session.execute(
        select(MutualAidPeriod).where(MutualAidPeriod.plan_id == plan_id, MutualAidPeriod.notice_date == notice_date)
    ).scalar_one_or_none()
    if done is not None:
        return done
    latest = session.execute(
        select(MutualAidPeriod.notice_date).where(MutualAidPeriod.plan_id == plan_id)
        .order_by(MutualAidPeriod.notice_date.desc()).limit(1)
    ).scalar_one_or_none()
    closed = session.execute(select(MutualAidClosure.final_notice_date).where(
        MutualAidClosure.plan_id == plan_id, MutualAidClosure.final_notice_date.is_not(None))).scalar_one_or_none()
    if closed is not None and notice_date > closed:
        raise Conflict(f"plan {plan_id} closed with its final period {closed}", code="mutual_aid.plan_already_closed")
    if latest is not None and latest > notice_date:
        # the yearly cap is counted forward in time; a late period would escape it (membership.charge)
        raise Rejected(f"period {notice_date} is before the last apportioned period {latest}",
                       code="mutual_aid.period_out_of_order")
    columns = _members_at_cutoff(session, plan_id, notice_date)
    columns = dataclasses.replace(columns, charged_this_year=_charged_this_year(session, plan_id, period, columns.member_id))
    cases = _cases(session, plan_id, notice_date)
    with rules():
        result = apportion_period(plan, period, [c for _, c in cases], columns, surplus_in=pool_balance(session, plan_id))
    summary = result.summary
    out = data_root(data_dir) / "mutual-aid" / plan_id.replace("/", "--") / f"{notice_date.isoformat()}-{uuid.uuid4().hex[:8]}"
    _remove_on_rollback(session, out)
    write_charges(out, columns.member_id, result.charges, charged_this_year=columns.charged_this_year + result.charges)
    for entry in period_entries(summary, [c for _, c in cases]):
        lines = [Line(Account(plan_id, notice_date.year, ACCOUNT_KIND[line.account], line.sub), line.amount)
                 for line in entry.lines]
        ledger.post(session, actor, entry.kind, entry.reference, entry.description, lines)
    cohorts = [{"pays_from": c.pays_from and c.pays_from.isoformat(), "members": c.members, "charge": c.charge}
               for c in summary.cohorts]  # fen, as every money column
    row = MutualAidPeriod(plan_id=plan_id, cohorts=cohorts, charges_path=str(out), apportioned_at=utcnow(),
                          actor=actor.name, **{k: getattr(summary, k) for k in SUMMARY_FIELDS})
    session.add(row)
    session.flush()
    for claim, _ in cases:
        before = audit.snapshot(claim)
        claim.apportioned_in = notice_date
        audit.record(session, actor, "mutual_aid.claim.apportioned", "mutual_aid_claim", claim.id, before, audit.snapshot(claim))
    audit.record(session, actor, "mutual_aid.period.apportioned", "mutual_aid_period", f"{plan_id}:{notice_date}", None,
                 audit.snapshot(row))
    session.flush()
    return row


def periods_of(session: Session, plan_id: str) -> list[MutualAidPeriod]:
    return list(session.execute(
        select(MutualAidPeriod).where(MutualAidPeriod.plan_id == plan_id).order_by(MutualAidPeriod.notice_date)
    ).scalars())


def period_view(row: MutualAidPeriod) -> dict[str, Any]:
    record = summary_record(summary_of(row))
    at = row.apportioned_at if row.apportioned_at.tzinfo else row.apportioned_at.replace(tzinfo=dt.UTC)  # SQLite: naive
    return {**record, "apportioned_at": at.isoformat()}


# --- disclosure --------------------------------------------------------------------------------------------


def disclosure_of(session: Session, row: MutualAidPeriod) -> Disclosure:
    claims_ = session.execute(
        select(MutualAidClaim).where(MutualAidClaim.plan_id == row.plan_id, MutualAidClaim.apportioned_in == row.notice_date)
        .order_by(MutualAidClaim.id)
    ).scalars()
    return Disclosure(summary_of(row), tuple(claim_record(session, c).as_case() for c in claims_))


def publish_disclosure(session: Session, actor: Actor, plan_id: str, notice_date: dt.date) -> MutualAidDisclosure:
    """Publish a period's disclosure (公示) as it stands; publishing again returns the one published."""
    period = period_row(session, plan_id, notice_date)
    found = session.execute(select(MutualAidDisclosure).where(MutualAidDisclosure.period_id == period.id)).scalar_one_or_none()
    if found is not None:
        return found
    body = json.loads(disclosure_of(session, period).to_json())
    row = MutualAidDisclosure(period_id=period.id, published_at=utcnow(), actor=actor.name, body=body)
    session.add(row)
    session.flush()
    audit.record(session, actor, "mutual_aid.disclosure.published", "mutual_aid_disclosure", f"{plan_id}:{notice_date}",
                 None, audit.snapshot(row))
    return row


def published_disclosure(session: Session, plan_id: str, notice_date: dt.date) -> tuple[MutualAidDisclosure, Disclosure]:
    period = period_row(session, plan_id, notice_date)
    row = session.execute(select(MutualAidDisclosure).where(MutualAidDisclosure.period_id == period.id)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"the disclosure of {plan_id} {notice_date} is not published yet", code="mutual_aid.not_published")
    return row, disclosure_of(session, period)


# --- members' charges, deductions, refunds -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberCharge:
    notice_date: dt.date
    deduction_date: dt.date
    charge: Fen
    charged_this_year: Fen | None
    deduction: str  # deducted | failed | recovered | written_off


def member_charges(session: Session, member_id: int) -> list[MemberCharge]:
    """A member's charge in each apportioned period of their plan, read from the datasets with a filter."""
    member = member_row(session, member_id)
    failures = {f.notice_date: f for f in session.execute(
        select(MutualAidDeductionFailure).where(MutualAidDeductionFailure.member_id == member_id)).scalars()}
    found = []
    for period in periods_of(session, member.plan_id):
        if period.notice_date < member.joined_on:
            continue
        charge = read_member_charge(Path(period.charges_path), member_id)
        if charge is None:
            continue
        failure = failures.get(period.notice_date)
        state = "deducted" if failure is None else (failure.resolution or "failed")
        found.append(MemberCharge(period.notice_date, period.deduction_date, charge[0], charge[1], state))
    return found


def charges_view(charges: list[MemberCharge]) -> list[dict[str, Any]]:
    return [{"notice_date": c.notice_date.isoformat(), "deduction_date": c.deduction_date.isoformat(),
             "charge": format_yuan(c.charge),
             "charged_this_year": None if c.charged_this_year is None else format_yuan(c.charged_this_year),
             "deduction": c.deduction} for c in charges]


def paid_total(charges: list[MemberCharge]) -> Fen:
    """What the member actually paid: charges whose deduction was not written off nor still failing."""
    return sum(c.charge for c in charges if c.deduction in ("deducted", "recovered"))


def record_deduction(session: Session, actor: Actor, member_id: int, notice_date: dt.date, day: dt.date,
                     succeeded: bool) -> MutualAidMember:
    """The outcome of deducting a period's charge: a failure starts the retry days, a later success ends them."""
    row = member_row(session, member_id, lock=True)
    plan = plan_of(plan_row(session, row.plan_id))
    with rules():
        period = period_of(plan, notice_date)
    failures = list(session.execute(
        select(MutualAidDeductionFailure).where(MutualAidDeductionFailure.member_id == member_id,
                                                MutualAidDeductionFailure.resolution.is_(None))
        .order_by(MutualAidDeductionFailure.failed_on)).scalars())
    this = next((f for f in failures if f.notice_date == notice_date), None)
    if not succeeded:
        charge = read_member_charge(Path(period_row(session, row.plan_id, notice_date).charges_path), member_id)
        if charge is None or charge[0] == 0:
            raise Rejected(f"member {member_id} owes nothing for the period {notice_date}", code="mutual_aid.nothing_due")
        if this is not None:
            raise Rejected(f"the deduction of {notice_date} already failed for member {member_id}",
                           code="mutual_aid.already_failed")
        with rules():
            member, _ = membership.deduction_failed(member_record(row), period, day)
        failure = MutualAidDeductionFailure(member_id=member_id, notice_date=notice_date, failed_on=day, amount=charge[0])
        session.add(failure)
        change_member(session, actor, row, member, "mutual_aid.deduction.failed", period=notice_date.isoformat(),
                      amount=format_yuan(charge[0]))
        return row
    if this is None:
        raise Rejected(f"no failed deduction of {notice_date} for member {member_id}", code="mutual_aid.no_failed_deduction")
    others = [f.failed_on for f in failures if f is not this]
    with rules():
        member, _ = membership.deduction_recovered(member_record(row), period, day, min(others, default=None))
    this.resolution, this.resolved_on = "recovered", day
    change_member(session, actor, row, member, "mutual_aid.deduction.recovered", period=notice_date.isoformat())
    return row


def _write_off(session: Session, actor: Actor, row: MutualAidMember, day: dt.date) -> Fen:
    """A removed member's failed deductions will not come: the pool is reduced by them."""
    failures = session.execute(
        select(MutualAidDeductionFailure).where(MutualAidDeductionFailure.member_id == row.id,
                                                MutualAidDeductionFailure.resolution.is_(None))
    ).scalars().all()
    for failure in failures:
        failure.resolution, failure.resolved_on = "written_off", day
        _pool_to_members(session, actor, row.plan_id, failure.notice_date.year, "mutual_aid.write_off",
                         f"{row.plan_id}:write-off:{row.id}:{failure.notice_date}",
                         f"member {row.id} removed: deduction of {failure.notice_date} not collected", failure.amount)
    return sum(f.amount for f in failures)


@dataclass(frozen=True, slots=True)
class DailyRun:
    removed: tuple[int, ...]
    aged_out: tuple[int, ...]
    written_off: Fen


def daily_run(session: Session, actor: Actor, plan_id: str, day: dt.date) -> DailyRun:
    """End of day: members whose deduction has failed for the retry days are removed (the uncollected charges
    written off), and members past the plan's oldest age age out. Candidates are found by SQL; the pure rules
    decide each one."""
    plan = plan_of(plan_row(session, plan_id))
    failing_since = day - dt.timedelta(days=plan.retry_days)
    try:
        oldest_birth = day.replace(year=day.year - plan.max_age - 1) + dt.timedelta(days=1)
    except ValueError:  # 29 February
        oldest_birth = dt.date(day.year - plan.max_age - 1, 3, 2)
    candidates = session.execute(
        select(MutualAidMember).where(
            MutualAidMember.plan_id == plan_id, MutualAidMember.status == MemberStatus.ACTIVE.value,
            or_(MutualAidMember.deduction_failed_since <= failing_since, MutualAidMember.birth_date <= oldest_birth),
        ).order_by(MutualAidMember.id).with_for_update()
    ).scalars().all()
    removed, aged, written_off = [], [], 0
    for row in candidates:
        member, events = membership.settle_retries(plan, member_record(row), day)
        if events:
            amount = _write_off(session, actor, row, day)
            written_off += amount
            change_member(session, actor, row, member, "mutual_aid.member.removed", written_off=format_yuan(amount))
            removed.append(row.id)
            continue
        member, events = membership.age_out(plan, member, day)
        if events:
            change_member(session, actor, row, member, "mutual_aid.member.aged_out")
            aged.append(row.id)
    return DailyRun(tuple(removed), tuple(aged), written_off)


def end_in_waiting_period(session: Session, actor: Actor, member_id: int, diagnosis_date: dt.date,
                          day: dt.date) -> tuple[MutualAidMember, Fen]:
    """Diagnosed inside the waiting period: the membership ends and every charge the member paid is refunded."""
    row = member_row(session, member_id, lock=True)
    paid = paid_total(member_charges(session, member_id))
    with rules():
        member, events = membership.end_in_waiting_period(member_record(row, paid_total=paid), diagnosis_date, day)
    refund = sum(e.amount for e in events if e.kind is membership.EventKind.REFUNDED)
    _pool_to_members(session, actor, row.plan_id, day.year, "mutual_aid.refund", f"{row.plan_id}:refund:{row.id}",
                     f"member {row.id} diagnosed {diagnosis_date} inside the waiting period: charges refunded", refund)
    change_member(session, actor, row, member, "mutual_aid.member.ended_in_waiting", refund=format_yuan(refund))
    return row, refund
