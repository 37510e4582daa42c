"""Properties: premiums never negative, the member's part plus the subsidies is the premium, a lump sum is never
paid twice under one policy, an allowance never pays a day out of force."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.core.scheme import Parameter, Unit
from yibao.products import builtin_products, load_product
from yibao.products.benefits import Event, Policy, daily_allowance, pay_lump_sums, premium_split
from yibao.products.model import EventKind, Premium

PRODUCTS = builtin_products()
SMALL = load_product("rural-small-value")
days = st.dates(min_value=date(2021, 1, 1), max_value=date(2022, 12, 31))
births = st.dates(min_value=date(1930, 1, 1), max_value=date(2021, 1, 1))
shares = st.integers(min_value=0, max_value=1_000_000)


def _rate(value: int) -> Parameter:  # type: ignore[type-arg]
    return Parameter("share", Unit.RATE, "test", ((date(2021, 1, 1), {"": value}),))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(PRODUCTS), births, st.dates(min_value=date(2021, 6, 1), max_value=date(2022, 12, 31)),
       shares, shares)
def test_premium_split_adds_up_and_is_never_negative(product, born, start, government, employer) -> None:  # type: ignore[no-untyped-def]
    premium = Premium(product.premium.bands, _rate(government), _rate(employer))
    split = premium_split(replace(product, premium=premium), born, start)
    assert min(split.total, split.government, split.employer, split.member) >= 0
    assert split.member + split.government + split.employer == split.total


events = st.lists(
    st.builds(Event, st.just("A1"), days, st.sampled_from([EventKind.ACCIDENTAL_DEATH, EventKind.DISABILITY]),
              st.just(""), st.integers(min_value=1, max_value=10)),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(events, days)
def test_a_lump_sum_is_never_paid_twice(evts: list[Event], start: date) -> None:
    policies = [Policy("P1", "A1", SMALL.id, start, start + timedelta(days=364), 5_000),
                Policy("P2", "A1", SMALL.id, start + timedelta(days=365), start + timedelta(days=729), 5_000)]
    payments = pay_lump_sums(policies, {SMALL.id: SMALL}, evts)
    keys = [(p.policy_id, p.lump_id) for p in payments]
    assert len(keys) == len(set(keys))
    assert all(p.fen > 0 for p in payments)


@settings(max_examples=200, deadline=None)
@given(days, days, st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=100))
def test_allowance_within_term_and_maximum(start: date, admission: date, length: int, before: int) -> None:
    policy = Policy("P1", "A1", SMALL.id, start, start + timedelta(days=180), 5_000)
    paid = daily_allowance(policy, SMALL, admission, admission + timedelta(days=length), days_paid_before=before)
    in_term = sum(1 for i in range(max(length, 1)) if start <= admission + timedelta(days=i) <= policy.end_date)
    assert 0 <= paid.days <= min(in_term, max(90 - before, 0))
    assert paid.fen == paid.days * 5_000
