"""Benefit arithmetic of a product's policies: premium and its payers, days in force, allowances, lump sums.

Pure functions on integer fen with no I/O. Rounding points: a payer's share of the
premium is rounded half-up to the fen (`apply_rate`) and the member pays the rest,
so member + government + employer = premium exactly; a disability lump sum is the
sum times the grade's share, rounded half-up once.

Conventions (documented in docs/products.md):
* a policy is in force from `start_date` to `end_date`, both inclusive, while its status is active;
* the waiting period: illness benefits start `waiting_days` after the start date; accidents are covered at once;
* an inpatient stay from admission to discharge counts the days [admission, discharge), and a same-day stay
  one day; only days in force and past the waiting period are paid, up to `max_days` a policy;
* a lump sum is paid at most once per policy;
* a product that excludes pre-existing conditions pays nothing for a diagnosis matching a declared condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from yibao.core.money import Fen, apply_rate
from yibao.products.model import EventKind, PreExisting, Product


class PolicyStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Policy:
    policy_id: str
    person_id: str
    product: str
    start_date: date
    end_date: date  # inclusive
    premium_paid: Fen
    status: PolicyStatus = PolicyStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class PremiumSplit:
    """Who pays a premium, in fen: member + government + employer == total."""

    total: Fen
    government: Fen
    employer: Fen
    member: Fen


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on `day` (a birthday counts from that day; 29 February from 1 March in other years)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def premium_fen(product: Product, birth_date: date, start: date) -> Fen:
    """The full premium of a policy starting on `start`, by the age band at that day."""
    age = age_on(birth_date, start)
    fen = 0
    for band in product.premium.bands.at(start):
        if band.from_age <= age:
            fen = band.premium
    return fen


def premium_split(product: Product, birth_date: date, start: date) -> PremiumSplit:
    total = premium_fen(product, birth_date, start)
    government = apply_rate(product.premium.government_share.at(start), total)
    employer = min(apply_rate(product.premium.employer_share.at(start), total), total - government)
    return PremiumSplit(total=total, government=government, employer=employer, member=total - government - employer)


def eligible(product: Product, *, birth_date: date, region: str, scheme: str, assistance_category: str,
             pre_existing: bool, start: date) -> str | None:
    """None when the person may buy a policy starting on `start`, else the reason (a key for messages)."""
    rules = product.eligibility
    age = age_on(birth_date, start)
    if rules.min_age is not None and age < rules.min_age:
        return "age.below"
    if rules.max_age is not None and age > rules.max_age:
        return "age.above"
    if rules.regions and region not in rules.regions:
        return "region"
    if rules.schemes and scheme not in rules.schemes:
        return "scheme"
    if rules.assistance_categories and assistance_category not in rules.assistance_categories:
        return "assistance_category"
    if pre_existing and rules.pre_existing is PreExisting.DECLINED:
        return "pre_existing"
    return None


def in_force(policy: Policy, day: date) -> bool:
    return policy.status is PolicyStatus.ACTIVE and policy.start_date <= day <= policy.end_date


def waiting_ends(policy: Policy, product: Product) -> date:
    """First day illness benefits are paid."""
    return policy.start_date + timedelta(days=product.window.waiting_days.at(policy.start_date))


def covered(policy: Policy, product: Product, day: date, *, accident: bool = False) -> bool:
    """In force on `day` and, for an illness, past the waiting period."""
    return in_force(policy, day) and (accident or day >= waiting_ends(policy, product))


def excluded(product: Product, diagnosis: str, declared: Iterable[str]) -> bool:
    """A diagnosis matching a declared pre-existing condition (ICD-10 prefix) under a product that excludes them."""
    if product.eligibility.pre_existing is not PreExisting.EXCLUDED or not diagnosis:
        return False
    return any(prefix and diagnosis.upper().startswith(prefix.upper()) for prefix in declared)


@dataclass(frozen=True, slots=True)
class Allowance:
    days: int
    fen: Fen


def daily_allowance(policy: Policy, product: Product, admission: date, discharge: date, *,
                    days_paid_before: int = 0, accident: bool = False) -> Allowance:
    """Hospital cash for one stay: days in force (and past waiting), at most what is left of `max_days`."""
    allowance = product.daily_allowance
    if allowance is None:
        return Allowance(0, 0)
    if discharge < admission:
        raise ValueError(f"discharge {discharge} before admission {admission}")
    stay = max((discharge - admission).days, 1)
    days = sum(1 for i in range(stay) if covered(policy, product, admission + timedelta(days=i), accident=accident))
    left = max(allowance.max_days.at(policy.start_date) - days_paid_before, 0)
    days = min(days, left)
    return Allowance(days, days * allowance.amount.at(policy.start_date))


@dataclass(frozen=True, slots=True)
class Event:
    """Something a lump sum may pay for: an accidental death, a disability grade, a diagnosis."""

    person_id: str
    day: date
    kind: EventKind
    diagnosis: str = ""
    grade: int | None = None  # disability grade, 1 (most severe) to 10


def lump_sum(policy: Policy, product: Product, lump_id: str, event: Event, *,
             paid: frozenset[str] = frozenset(), declared: Iterable[str] = ()) -> Fen:
    """What the lump sum `lump_id` pays for `event` under `policy`; `paid` holds the lump ids already paid."""
    lump = product.lump_sum(lump_id)
    if lump_id in paid or event.kind is not lump.event or event.person_id != policy.person_id:
        return 0
    accident = event.kind is not EventKind.CRITICAL_ILLNESS
    if not covered(policy, product, event.day, accident=accident):
        return 0
    amount = lump.amount.at(policy.start_date)
    if event.kind is EventKind.CRITICAL_ILLNESS:
        if not any(event.diagnosis.upper().startswith(p.upper()) for p in lump.icd10_prefixes):
            return 0
        return 0 if excluded(product, event.diagnosis, declared) else amount
    if event.kind is EventKind.DISABILITY:
        assert lump.grade_shares is not None
        shares = lump.grade_shares.at(policy.start_date)
        if event.grade is None or not 1 <= event.grade <= len(shares):
            return 0
        return apply_rate(shares[event.grade - 1], amount)
    return amount


@dataclass(frozen=True, slots=True)
class LumpPayment:
    policy_id: str
    lump_id: str
    day: date
    fen: Fen


def pay_lump_sums(policies: Iterable[Policy], products: Mapping[str, Product], events: Iterable[Event], *,
                  declared: Mapping[str, tuple[str, ...]] | None = None) -> list[LumpPayment]:
    """Every lump sum the events earn, in event order, each (policy, lump) paid at most once."""
    by_person: dict[str, list[Policy]] = {}
    for policy in policies:
        by_person.setdefault(policy.person_id, []).append(policy)
    paid: dict[str, set[str]] = {}
    payments: list[LumpPayment] = []
    for event in sorted(events, key=lambda e: (e.day, e.person_id)):
        for policy in by_person.get(event.person_id, []):
            product = products[policy.product]
            done = paid.setdefault(policy.policy_id, set())
            for lump in product.lump_sums:
                fen = lump_sum(policy, product, lump.id, event, paid=frozenset(done),
                               declared=(declared or {}).get(event.person_id, ()))
                if fen > 0:
                    done.add(lump.id)
                    payments.append(LumpPayment(policy.policy_id, lump.id, event.day, fen))
    return payments
