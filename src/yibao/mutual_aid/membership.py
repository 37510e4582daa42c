"""Membership as pure records: joining, waiting period, charges, failed deductions, leaving, ageing out.

Every operation takes a `Member` and returns a new `Member` with the `Event`s it produced
(nothing is edited in place), so an operations store can persist both as they are.
Refusals raise `MutualAidError` with a stable code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from yibao.core.money import Fen, format_yuan
from yibao.mutual_aid.calendar import Period
from yibao.mutual_aid.errors import MutualAidError
from yibao.mutual_aid.plan import Plan, age_in_years


class MemberStatus(StrEnum):
    ACTIVE = "active"  # protected from `protection_start` on; before that, in the waiting period
    LEFT = "left"
    REMOVED = "removed"  # deduction failed for the plan's retry days
    AGED_OUT = "aged_out"
    ENDED_IN_WAITING = "ended_in_waiting"  # diagnosed inside the waiting period: membership ends, charges refunded
    PAID_OUT = "paid_out"  # received the lump sum: membership ends
    CLOSED = "closed"  # the plan closed (a regulatory decision): every membership still active ends


class EventKind(StrEnum):
    JOINED = "joined"
    CHARGED = "charged"
    DEDUCTION_FAILED = "deduction_failed"
    DEDUCTION_RECOVERED = "deduction_recovered"
    LEFT = "left"
    REMOVED = "removed"
    AGED_OUT = "aged_out"
    ENDED_IN_WAITING = "ended_in_waiting"
    REFUNDED = "refunded"
    PAID_OUT = "paid_out"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    member_id: str
    day: dt.date
    amount: Fen = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class HealthDeclaration:
    """The member's promise at joining (健康告知); a false one voids a later claim."""

    no_listed_illness: bool
    no_current_treatment: bool

    def passes(self) -> bool:
        return self.no_listed_illness and self.no_current_treatment


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    name: str
    birth_date: dt.date
    plan: str
    joined_on: dt.date
    protection_start: dt.date
    status: MemberStatus = MemberStatus.ACTIVE
    ended_on: dt.date | None = None
    charge_year: int = 0
    charged_this_year: Fen = 0
    paid_total: Fen = 0
    charged_periods: tuple[str, ...] = ()
    deduction_failed_since: dt.date | None = None

    def age_on(self, day: dt.date) -> int:
        return age_in_years(self.birth_date, day)

    def is_protected(self, day: dt.date) -> bool:
        return self.status is MemberStatus.ACTIVE and self.protection_start <= day

    def in_waiting_period(self, day: dt.date) -> bool:
        return self.status is MemberStatus.ACTIVE and self.joined_on <= day < self.protection_start


Transition = tuple[Member, tuple[Event, ...]]


def _refuse(message: str, *, code: str) -> MutualAidError:
    return MutualAidError(message, code=code)


def _require_active(member: Member) -> None:
    if member.status is not MemberStatus.ACTIVE:
        raise _refuse(f"member {member.member_id} is {member.status.value}", code="mutual_aid.not_active")


def join(
    plan: Plan,
    *,
    member_id: str,
    name: str,
    birth_date: dt.date,
    day: dt.date,
    declaration: HealthDeclaration,
    credit_score: int,
    credit_threshold: int | None = None,
) -> Transition:
    """Join free: age within the plan's limits, a clean health declaration, a credit score at the gate."""
    if not plan.may_join(birth_date, day):
        raise _refuse(f"age on {day} is outside {plan.name}'s joining ages", code="mutual_aid.age_not_eligible")
    if not declaration.passes():
        raise _refuse("the health declaration names a listed illness or current treatment", code="mutual_aid.health_declaration")
    threshold = plan.credit_threshold if credit_threshold is None else credit_threshold
    if credit_score < threshold:
        raise _refuse(f"credit score {credit_score} is below the gate {threshold}", code="mutual_aid.credit_gate")
    member = Member(
        member_id=member_id,
        name=name,
        birth_date=birth_date,
        plan=plan.name,
        joined_on=day,
        protection_start=day + dt.timedelta(days=plan.waiting_days),
        charge_year=day.year,
    )
    return member, (Event(EventKind.JOINED, member_id, day, detail=f"protected from {member.protection_start}"),)


def _end(member: Member, status: MemberStatus, kind: EventKind, day: dt.date, detail: str = "") -> Transition:
    ended = dataclasses.replace(member, status=status, ended_on=day)
    return ended, (Event(kind, member.member_id, day, detail=detail),)


def leave(member: Member, day: dt.date) -> Transition:
    """A member may leave at any time; charges already deducted are not refunded."""
    _require_active(member)
    return _end(member, MemberStatus.LEFT, EventKind.LEFT, day)


def charge(plan: Plan, member: Member, period: Period, amount: Fen) -> Transition:
    """Deduct the member's charge for a period: once per period, in period order, never past the yearly cap."""
    _require_active(member)
    if period.key in member.charged_periods:
        raise _refuse(f"member {member.member_id} was already charged for the period {period.key}", code="mutual_aid.already_charged")
    if member.charged_periods and period.key < member.charged_periods[-1]:
        # the yearly cap is counted forward in time; a late period would escape it
        raise _refuse(
            f"period {period.key} is before {member.member_id}'s last charged period {member.charged_periods[-1]}",
            code="mutual_aid.period_out_of_order",
        )
    year = period.deduction_date.year
    so_far = member.charged_this_year if member.charge_year == year else 0
    if amount < 0 or so_far + amount > plan.year_cap:
        raise _refuse(
            f"charge {format_yuan(amount)} would take {member.member_id} past the yearly cap "
            f"{format_yuan(plan.year_cap)} (already {format_yuan(so_far)})",
            code="mutual_aid.over_year_cap",
        )
    charged = dataclasses.replace(
        member,
        charge_year=year,
        charged_this_year=so_far + amount,
        paid_total=member.paid_total + amount,
        charged_periods=(*member.charged_periods, period.key),
        deduction_failed_since=None,
    )
    return charged, (Event(EventKind.CHARGED, member.member_id, period.deduction_date, amount, period.key),)


def deduction_failed(member: Member, period: Period, day: dt.date) -> Transition:
    """Record a failed deduction; retries run from the first failure (see `settle_retries`)."""
    _require_active(member)
    since = member.deduction_failed_since or day
    failed = dataclasses.replace(member, deduction_failed_since=since)
    return failed, (Event(EventKind.DEDUCTION_FAILED, member.member_id, day, detail=period.key),)


def deduction_recovered(member: Member, period: Period, day: dt.date, still_failing_since: dt.date | None = None) -> Transition:
    """A retried deduction for `period` succeeded: the failure is cleared (other periods may still be failing,
    since `still_failing_since`), so the retry days no longer run from it."""
    _require_active(member)
    if member.deduction_failed_since is None:
        raise _refuse(f"no failed deduction of {member.member_id} to recover", code="mutual_aid.no_failed_deduction")
    recovered = dataclasses.replace(member, deduction_failed_since=still_failing_since)
    return recovered, (Event(EventKind.DEDUCTION_RECOVERED, member.member_id, day, detail=period.key),)


def settle_retries(plan: Plan, member: Member, day: dt.date) -> Transition:
    """A deduction still failing `retry_days` after the first failure removes the member."""
    since = member.deduction_failed_since
    if member.status is not MemberStatus.ACTIVE or since is None or (day - since).days < plan.retry_days:
        return member, ()
    return _end(member, MemberStatus.REMOVED, EventKind.REMOVED, day, f"deduction failing since {since}")


def age_out(plan: Plan, member: Member, day: dt.date) -> Transition:
    """A member past the plan's oldest age leaves the plan (a senior variant may take them)."""
    if member.status is not MemberStatus.ACTIVE or member.age_on(day) <= plan.max_age:
        return member, ()
    return _end(member, MemberStatus.AGED_OUT, EventKind.AGED_OUT, day, f"age {member.age_on(day)}")


def end_in_waiting_period(member: Member, diagnosis_date: dt.date, day: dt.date) -> Transition:
    """Diagnosed inside the waiting period: membership ends and every charge paid is refunded."""
    _require_active(member)
    if not member.joined_on <= diagnosis_date < member.protection_start:
        raise _refuse(f"{diagnosis_date} is not inside {member.member_id}'s waiting period", code="mutual_aid.not_in_waiting_period")
    ended = dataclasses.replace(member, status=MemberStatus.ENDED_IN_WAITING, ended_on=day)
    return ended, (
        Event(EventKind.ENDED_IN_WAITING, member.member_id, day, detail=f"diagnosed {diagnosis_date}"),
        Event(EventKind.REFUNDED, member.member_id, day, member.paid_total),
    )


def paid_out(member: Member, day: dt.date, amount: Fen) -> Transition:
    """After the lump sum is paid the membership ends (one payout per member)."""
    _require_active(member)
    ended = dataclasses.replace(member, status=MemberStatus.PAID_OUT, ended_on=day)
    return ended, (Event(EventKind.PAID_OUT, member.member_id, day, amount),)


def close(member: Member, day: dt.date) -> Transition:
    """The plan closes: an active membership ends on the closing day (yibao.mutual_aid.closure)."""
    _require_active(member)
    ended = dataclasses.replace(member, status=MemberStatus.CLOSED, ended_on=day)
    return ended, (Event(EventKind.CLOSED, member.member_id, day),)
