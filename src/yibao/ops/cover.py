"""When an enrolment's cover runs: the enrolment window, the waiting period and the continuity rewards of the 2024
State Council opinion on continuous enrolment (国办发〔2024〕38号), with the figures of the region's contribution rules
(`contributions.yaml`: `residents.window`, `waiting_period.*`, `continuity.*`, `huiminbao.window`).

* A resident (URRBMI) who pays inside the window for the next year is covered from 1 January. Paid outside it, or
  after years without cover, cover starts after the waiting period, counted from the day of payment (never before
  1 January of the cover year). A waiting period of 0 months means none: the year is covered whenever paid (the
  reference city's rule before 2025).
* Years without cover: the years between the person's last active enrolment and this one (a first enrolment has
  none: the store knows no earlier history).
* Employees and retirees (UEBMI) are covered for the whole year.
* Continuity: the insured years in a row up to this one, and how many of the earlier ones used no fund money (no
  public layer paid on a settled claim), give the serious-illness yearly cap raise (`CapRaise.amount`).
* Huiminbao never covers retroactively: from the day after its premium is paid at the earliest, and only if it is
  paid in the product's window.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import extract, select
from sqlalchemy.orm import Session

from yibao.core.model import InsuranceScheme
from yibao.core.scheme import LayerKind
from yibao.ops.store import ClaimRow, Enrolment
from yibao.schemes.contributions import ContributionRules, add_months

PUBLIC_KINDS = frozenset({LayerKind.BASIC, LayerKind.SERIOUS_ILLNESS, LayerKind.ASSISTANCE})


def _active_years(session: Session, person_id: str, before: int) -> list[int]:
    """The person's years with an active enrolment before `before`, latest first."""
    rows = session.execute(
        select(Enrolment.year).where(Enrolment.person_id == person_id, Enrolment.year < before,
                                     Enrolment.status == "active").order_by(Enrolment.year.desc())
    ).scalars()
    return [int(y) for y in rows]


def years_without_cover(session: Session, person_id: str, year: int) -> int:
    """Whole years without cover just before `year` (0 after a covered year, and for a first enrolment)."""
    earlier = _active_years(session, person_id, year)
    return 0 if not earlier else year - earlier[0] - 1


def consecutive_run(session: Session, person_id: str, year: int) -> list[int]:
    """The earlier years of the run of insured years that ends with `year` (latest first; `year` not included)."""
    run: list[int] = []
    for earlier in _active_years(session, person_id, year):
        if earlier != (run[-1] if run else year) - 1:
            break
        run.append(earlier)
    return run


def used_fund_money(session: Session, person_id: str, year: int) -> bool:
    """Whether a public layer paid anything on the person's settled claims of the year."""
    from yibao.ops.claims import scheme_named  # the claims' own scheme cache

    rows = session.execute(
        select(ClaimRow.scheme_name, ClaimRow.split).where(
            ClaimRow.person_id == person_id, ClaimRow.status == "settled",
            extract("year", ClaimRow.service_date) == year,
        )
    ).all()
    for scheme_name, split in rows:
        kinds = {layer.id: layer.kind for layer in scheme_named(scheme_name).layers}
        if any(int(paid) > 0 and kinds.get(layer_id) in PUBLIC_KINDS for layer_id, paid in split.items()):
            return True
    return False


def public_cover(
    session: Session, enrolment: Enrolment, rules: ContributionRules, paid_on: date | None,
) -> tuple[date, date]:
    """The first and last day of the year's public cover of an enrolment that has just become active; `paid_on` is
    the day the member's part was paid (None: nothing was owed by the member)."""
    first, last = date(enrolment.year, 1, 1), date(enrolment.year, 12, 31)
    if enrolment.scheme != InsuranceScheme.URRBMI.value or paid_on is None:
        return first, last
    in_window = rules.resident_window.contains(enrolment.year, paid_on)
    months = rules.waiting.months(in_window, years_without_cover(session, enrolment.person_id, enrolment.year))
    if months == 0:
        return first, last
    return max(first, add_months(paid_on, months)), last


def cap_raise(session: Session, enrolment: Enrolment, rules: ContributionRules) -> tuple[int, int]:
    """(insured years in a row with this one, the serious-illness cap raise in fen) — residents only."""
    run = consecutive_run(session, enrolment.person_id, enrolment.year)
    if enrolment.scheme != InsuranceScheme.URRBMI.value:
        return len(run) + 1, 0
    without_use = sum(1 for year in run if not used_fund_money(session, enrolment.person_id, year))
    return len(run) + 1, rules.cap_raise.amount(len(run) + 1, without_use)


def huiminbao_start(year: int, paid_on: date, rules: ContributionRules) -> date | None:
    """The first day Huiminbao covers when its premium is paid on `paid_on` (None: outside its window)."""
    if not rules.huiminbao_window.contains(year, paid_on):
        return None
    return max(date(year, 1, 1), paid_on + timedelta(days=1))
