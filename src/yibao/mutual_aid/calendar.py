"""The period calendar: public notice and deduction days of each month (公示日 / 扣款日)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.mutual_aid.errors import MutualAidError
from yibao.mutual_aid.plan import Plan

EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01: the integer form of a date in member columns."""
    return (day - EPOCH).days


def from_day_number(number: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(number))


@dataclass(frozen=True, slots=True)
class Period:
    """One apportionment period: cases are shared by members protected at 0:00 of `notice_date`.

    A member's protection starts at 0:00 of its start day, so a start on the notice day counts.
    """

    notice_date: dt.date
    deduction_date: dt.date

    @property
    def key(self) -> str:
        return self.notice_date.isoformat()

    def protects(self, protection_start: dt.date) -> bool:
        return protection_start <= self.notice_date


def period_of(plan: Plan, notice_date: dt.date) -> Period:
    """The period whose public notice falls on `notice_date` (refused on any other day)."""
    if notice_date.day not in plan.notice_days:
        raise MutualAidError(
            f"{notice_date} is not a notice day of {plan.name} (days {list(plan.notice_days)} of each month)",
            code="mutual_aid.not_a_notice_day",
        )
    deduction_day = plan.deduction_days[plan.notice_days.index(notice_date.day)]
    return Period(notice_date, notice_date.replace(day=deduction_day))


def periods_between(plan: Plan, start: dt.date, end: dt.date) -> list[Period]:
    """Every period whose notice day falls in [start, end]."""
    periods = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        for day in plan.notice_days:
            notice = dt.date(year, month, day)
            if start <= notice <= end:
                periods.append(period_of(plan, notice))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return periods
