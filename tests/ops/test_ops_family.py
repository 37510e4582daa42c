"""Individual accounts and family sharing (yibao.ops.family): registering relatives, paying a relative's residents'
contribution from an account, spending order, balances never negative. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_bureau import OFFICER, Bureau
from sqlalchemy import select

from yibao.core.model import InsuranceScheme
from yibao.ops import account_spending, contributions, family, ledger
from yibao.ops.errors import Conflict, Rejected
from yibao.ops.store import Contribution, Enrolment, Store


def _due_individual(store: Store, person_id: str) -> int:
    with store.transaction() as s:
        return int(s.execute(
            select(Contribution.id).join(Enrolment, Contribution.enrolment_id == Enrolment.id)
            .where(Enrolment.person_id == person_id, Contribution.source == "individual", Contribution.status == "due")
        ).scalar_one())


def test_a_member_pays_a_registered_relative_s_contribution_from_the_account(bureau: Bureau) -> None:
    """The employee's wage 80,000 yuan is inside 60–300% of the 100,000 average: 2% = 1,600 yuan to the account.
    The spouse's residents' contribution of 400 is paid from it: 1,200 left; the spouse's 670 subsidy is still due
    from the government, so the enrolment waits for it."""
    holder = bureau.person(InsuranceScheme.UEBMI_EMPLOYEE, wage="80000")
    spouse = bureau.person(InsuranceScheme.URRBMI, pay=False)
    store = bureau.store
    due = _due_individual(store, spouse)
    with store.transaction() as s:
        assert family.balance(s, holder) == 1600_00
        with pytest.raises(Rejected) as refused:
            family.pay_relative_contribution(s, OFFICER, holder, due)
        assert refused.value.code == "family.not_relative"
    with store.transaction() as s:
        family.register_relative(s, OFFICER, holder, spouse, "spouse")
    with store.transaction() as s:
        paid = family.pay_relative_contribution(s, OFFICER, holder, due)
        assert (paid.status, paid.channel) == ("paid", "account")
        assert family.balance(s, holder) == 1200_00
        entry = [e for e, _ in ledger.entries(s, reference=f"contribution:{due}") if e.kind == "contribution"]
        assert len(entry) == 1
        assert ledger.unbalanced_entries(s) == []
        assert [(h, b) for h, b in family.available(s, spouse)] == [(spouse, 0), (holder, 1200_00)]
        assert family.available(s, holder) == [(holder, 1200_00)]  # sharing goes one way
    with store.transaction() as s, pytest.raises(Conflict) as again:
        family.pay_relative_contribution(s, OFFICER, holder, due)
    assert again.value.code == "contribution.not_due"


def test_registration_refusals(bureau: Bureau) -> None:
    holder = bureau.person(InsuranceScheme.UEBMI_EMPLOYEE, wage="80000")
    resident = bureau.person(InsuranceScheme.URRBMI)
    cases = [((holder, holder, "spouse"), "family.self"), ((holder, resident, "cousin"), "family.relation"),
             ((resident, holder, "child"), "family.no_account")]
    for args, code in cases:
        with bureau.store.transaction() as s, pytest.raises(Rejected) as refused:
            family.register_relative(s, OFFICER, *args)
        assert refused.value.code == code
    with bureau.store.transaction() as s:
        family.register_relative(s, OFFICER, holder, resident, "parent")
    with bureau.store.transaction() as s, pytest.raises(Conflict) as twice:
        family.register_relative(s, OFFICER, holder, resident, "parent")
    assert twice.value.code == "family.already_registered"
    with bureau.store.transaction() as s:
        assert [(r.relative_id, r.relation) for r in family.relatives_of(s, holder)] == [(resident, "parent")]


def test_a_payment_the_account_cannot_cover_is_refused_and_nothing_changes(bureau: Bureau) -> None:
    """Wage 10,000 is below the floor of 60,000: 2% of 60,000 = 1,200 yuan. Three relatives' 400 each use it up
    exactly; a fourth is refused and leaves the store as it was."""
    holder = bureau.person(InsuranceScheme.UEBMI_EMPLOYEE, wage="10000")
    relatives = [bureau.person(InsuranceScheme.URRBMI, pay=False) for _ in range(4)]
    with bureau.store.transaction() as s:
        for r in relatives:
            family.register_relative(s, OFFICER, holder, r, "child")
    for r in relatives[:3]:
        due = _due_individual(bureau.store, r)
        with bureau.store.transaction() as s:
            family.pay_relative_contribution(s, OFFICER, holder, due)
    last = _due_individual(bureau.store, relatives[3])
    with bureau.store.transaction() as s, pytest.raises(Rejected) as refused:
        family.pay_relative_contribution(s, OFFICER, holder, last)
    assert refused.value.code == "family.insufficient_balance"
    with bureau.store.transaction() as s:
        assert family.balance(s, holder) == 0
        assert s.get(Contribution, last).status == "due"  # type: ignore[union-attr]


def test_a_channel_payment_cannot_claim_to_come_from_an_account(bureau: Bureau) -> None:
    resident = bureau.person(InsuranceScheme.URRBMI, pay=False)
    due = _due_individual(bureau.store, resident)
    with bureau.store.transaction() as s, pytest.raises(Rejected) as refused:
        contributions.record_payment(s, OFFICER, due, 400_00, "account", "x")
    assert refused.value.code == "payment.channel"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(balances=st.lists(st.integers(min_value=-5, max_value=10_000), min_size=1, max_size=4),
       amount=st.integers(min_value=0, max_value=40_000))
def test_draw_takes_in_order_never_more_than_a_balance(balances: list[int], amount: int) -> None:
    accounts = [(f"P{i}", b) for i, b in enumerate(balances)]
    held = sum(max(b, 0) for b in balances)
    if amount > held:
        with pytest.raises(Rejected):
            account_spending.draw(accounts, amount)
        return
    taken = account_spending.draw(accounts, amount)
    assert sum(t for _, t in taken) == amount
    by = dict(taken)
    for holder, b in accounts:
        assert 0 <= by.get(holder, 0) <= max(b, 0)
    # in order: an account is used only once every account before it is empty
    used = [i for i, (h, _) in enumerate(accounts) if by.get(h, 0)]
    for i in used[:-1]:
        assert by[accounts[i][0]] == max(accounts[i][1], 0)


