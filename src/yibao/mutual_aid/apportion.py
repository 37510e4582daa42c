"""Apportionment of one period, column-wise over every member (分摊).

Published rule (相互宝 2018–2021): per-member charge = (aid approved in the period + management
fee − surplus carried) / members protected at 0:00 of the notice day, capped per case and
per member per year, rounded to the fen (below 1 fen rounds up).

How the arithmetic is made exact, and why no per-member Python loop is needed:

* A member pays for a case only if protected on its diagnosis date (a member still in the
  waiting period then pays nothing for it). Members therefore differ only by *cohort*: the
  number of distinct diagnosis days before their protection started. Cohort k pays for the
  cases diagnosed on the k-th distinct day and later.
* Case c costs need_c = aid_c + fee_c (fee half-up per case). The N_g members who pay for
  the cases of diagnosis day g each owe at most the case cap per case, so the day's shared
  numerator is Σ min(need_c, cap × N_g) and each of them owes exactly that / N_g.
* Cohort k's exact share is Σ_{g ≥ k} num_g / N_g − surplus_in / N (a Fraction); it is
  rounded once, at the named point, then clipped by what is left of each member's yearly cap.
* Everything that is not collected is carried, signed, in whole fen:
  collected = need − case-cap shortfall + rounding difference − year-cap shortfall,
  surplus_out = collected − need (positive: money left in the pool; negative: owed next period).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from yibao.core.money import Fen, apply_rate
from yibao.mutual_aid.calendar import Period, day_number, from_day_number
from yibao.mutual_aid.errors import MutualAidError
from yibao.mutual_aid.plan import Plan, Rounding

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
CHUNK = 8_000_000  # members per column-wise step: bounds the temporaries (~150 MB) at any size


@dataclass(frozen=True, slots=True)
class ApprovedCase:
    """A claim approved for payment in the period, as the apportionment and the public notice see it."""

    case_id: str
    member_name: str
    age: int
    illness_code: str
    illness_name: str
    diagnosis_date: dt.date
    aid: Fen


@dataclass(frozen=True, slots=True)
class MemberColumns:
    """The members of the pool at the notice cut-off, one array entry per member.

    `protection_start` is a day number (calendar.day_number); `charged_this_year` is fen
    already charged in the calendar year (for the yearly cap).
    """

    member_id: I64
    protection_start: I32
    charged_this_year: I64

    def __post_init__(self) -> None:
        sizes = {len(self.member_id), len(self.protection_start), len(self.charged_this_year)}
        if len(sizes) != 1:
            raise MutualAidError("member columns of different lengths", code="mutual_aid.bad_members")

    def __len__(self) -> int:
        return len(self.member_id)


@dataclass(frozen=True, slots=True)
class Cohort:
    """Members whose protection started after `first_case_day - 1`: they pay for cases from that day on."""

    pays_from: dt.date | None  # None: protected after every case of the period (pays only the surplus share)
    members: int
    charge: Fen  # per member, before the yearly cap


@dataclass(frozen=True, slots=True)
class ApportionmentSummary:
    plan: str
    notice_date: dt.date
    deduction_date: dt.date
    cases: int
    aid: Fen
    fee: Fen
    surplus_in: Fen
    need: Fen
    members: int  # rows given
    members_protected: int
    per_member_charge: Fen  # the charge of a member protected before every case (the published figure)
    case_cap_shortfall: Fen
    year_cap_shortfall: Fen
    rounding_difference: Fen
    collected: Fen
    surplus_out: Fen
    members_at_year_cap: int
    cohorts: tuple[Cohort, ...] = field(default=())

    def check(self) -> None:
        """Nothing lost, nothing invented: the carried amounts close the books to the fen."""
        if self.need != self.aid + self.fee - self.surplus_in:
            raise AssertionError("need != aid + fee - surplus_in")
        if self.collected != self.need - self.case_cap_shortfall + self.rounding_difference - self.year_cap_shortfall:
            raise AssertionError("collected does not reconcile with need and carried amounts")
        if self.surplus_out != self.collected - self.need:
            raise AssertionError("surplus_out != collected - need")


@dataclass(frozen=True, slots=True)
class Apportionment:
    summary: ApportionmentSummary
    charges: I64  # fen per member, aligned with MemberColumns


def round_share(share: Fraction, rounding: Rounding) -> Fen:
    """A member's exact share of the period in fen, rounded once as the plan publishes."""
    if share <= 0:
        return 0
    if rounding is Rounding.UP:
        return math.ceil(share)
    if share < 1:
        return 1  # below 1 fen rounds up (不足0.01元按0.01元计)
    return math.floor(share + Fraction(1, 2))


def case_fee(plan: Plan, aid: Fen) -> Fen:
    return apply_rate(plan.fee_rate, aid)


def _cohort_of(starts: npt.NDArray[np.int32], diagnosis_days: I64) -> npt.NDArray[np.intp]:
    """Cohort k = number of distinct diagnosis days strictly before the member's protection start."""
    return np.searchsorted(diagnosis_days, starts, side="left")


def apportion_period(
    plan: Plan,
    period: Period,
    cases: Sequence[ApprovedCase],
    members: MemberColumns,
    surplus_in: Fen = 0,
) -> Apportionment:
    """Charge every member protected at the notice cut-off their share of the period (exact, capped, carried)."""
    cutoff = day_number(period.notice_date)
    days = np.array(sorted({day_number(c.diagnosis_date) for c in cases}), dtype=np.int64)
    counts = np.zeros(len(days) + 1, dtype=np.int64)
    protected_total = 0
    for lo in range(0, len(members), CHUNK):
        starts = members.protection_start[lo : lo + CHUNK]
        protected = starts[starts <= cutoff]
        protected_total += len(protected)
        counts += np.bincount(_cohort_of(protected, days), minlength=len(days) + 1)
    if protected_total == 0:
        raise MutualAidError(
            f"no member is protected at 0:00 of {period.notice_date}: nothing can be apportioned",
            code="mutual_aid.no_members_protected",
        )
    payers_by_day = np.cumsum(counts)[: len(days)]  # N_g: members protected on diagnosis day g
    needs_by_day: dict[int, list[Fen]] = {}
    for case in cases:
        needs_by_day.setdefault(day_number(case.diagnosis_date), []).append(case.aid + case_fee(plan, case.aid))
    numerators = [
        sum(min(need, plan.case_cap * int(payers)) for need in needs_by_day[int(day)])
        for day, payers in zip(days, payers_by_day, strict=True)
    ]
    aid = sum(c.aid for c in cases)
    fee = sum(case_fee(plan, c.aid) for c in cases)
    need = aid + fee - surplus_in
    case_cap_shortfall = aid + fee - sum(numerators)

    # Cohort shares: suffix sums over diagnosis days, minus an equal part of the surplus.
    shares: list[Fraction] = [Fraction(0)] * (len(days) + 1)
    running = Fraction(0)
    for g in range(len(days) - 1, -1, -1):
        if payers_by_day[g] > 0:
            running += Fraction(numerators[g], int(payers_by_day[g]))
        shares[g] = running
    surplus_share = Fraction(surplus_in, protected_total)
    cohort_charge = np.array([round_share(s - surplus_share, plan.rounding) for s in shares], dtype=np.int64)
    rounding_difference = int((cohort_charge * counts).sum()) - (sum(numerators) - surplus_in)

    charges = np.zeros(len(members), dtype=np.int64)
    year_cap_shortfall = 0
    at_cap = 0
    for lo in range(0, len(members), CHUNK):
        hi = min(lo + CHUNK, len(members))
        starts = members.protection_start[lo:hi]
        due = np.where(starts <= cutoff, cohort_charge[_cohort_of(starts, days)], 0)
        room = np.maximum(plan.year_cap - members.charged_this_year[lo:hi], 0)
        charged = np.minimum(due, room)
        charges[lo:hi] = charged
        year_cap_shortfall += int((due - charged).sum())
        at_cap += int(np.count_nonzero((due > 0) & (charged + members.charged_this_year[lo:hi] >= plan.year_cap)))
    collected = int(charges.sum())
    summary = ApportionmentSummary(
        plan=plan.name,
        notice_date=period.notice_date,
        deduction_date=period.deduction_date,
        cases=len(cases),
        aid=aid,
        fee=fee,
        surplus_in=surplus_in,
        need=need,
        members=len(members),
        members_protected=protected_total,
        per_member_charge=int(cohort_charge[0]),
        case_cap_shortfall=case_cap_shortfall,
        year_cap_shortfall=year_cap_shortfall,
        rounding_difference=rounding_difference,
        collected=collected,
        surplus_out=collected - need,
        members_at_year_cap=at_cap,
        cohorts=tuple(
            Cohort(
                pays_from=None if k == len(days) else from_day_number(int(days[k])),
                members=int(counts[k]),
                charge=int(cohort_charge[k]),
            )
            for k in range(len(days) + 1)
            if counts[k] > 0
        ),
    )
    summary.check()
    return Apportionment(summary, charges)
