"""One-stop settlement at the counter of a product's indemnity for its policyholders in force (穗岁康, one_stop:
true), posted to the insurer's claims account of the product and counted in the insurer's books."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from ops_bureau import OFFICER, Bureau
from test_ops_claims import bill, submit

from yibao.core.errors import YibaoError
from yibao.ops import contributions, insurer_books, ledger, policies, policy_benefits
from yibao.ops.ledger import Account, AccountKind

GZ = "guangzhou-suisuikang-2021"
REGION = "reference-city"


@pytest.fixture()
def sold_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """穗岁康 sold in the bureau's region (its data sells it in Guangzhou only), for 2024 (the reference city's
    rules are dated from 2024): the same product with its window moved on three years."""
    product = policies.product(GZ)
    monkeypatch.setitem(policies.catalogue(), GZ, dataclasses.replace(
        product, year=2024, window=dataclasses.replace(product.window, opens=dt.date(2023, 11, 20),
                                                       closes=dt.date(2024, 12, 31)),
        eligibility=dataclasses.replace(product.eligibility, regions=frozenset())))


def test_a_policyholder_s_claim_is_settled_with_the_product_at_the_counter(
        bureau: Bureau, sold_here: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Level 2 inpatient, 10,000 class A on 2024-03-01: basic pays 75% of (10,000 - 600) = 7,050; the personal
    in-catalogue share 2,950 is paid by 穗岁康 at 80% (no deductible) = 2,360 for its policyholder (policy in force
    from 2024-01-01, no waiting period); the same bill of a person without a policy: nothing from the product."""
    holder, other = bureau.person(year=2024), bureau.person(year=2024)
    with bureau.store.transaction() as s:
        policy = policies.sell(s, OFFICER, holder, GZ, dt.date(2024, 1, 1), dt.date(2023, 12, 1))
        part = policies.premium_parts(s, policy.id)[0]
        assert (part.source, part.amount) == ("premium_member", 180_00)
        with monkeypatch.context() as m:
            m.setattr(contributions, "utcnow", lambda: dt.datetime(2023, 12, 2, tzinfo=dt.UTC))
            contributions.record_payment(s, OFFICER, part.id, part.amount, "mobile", "gz-1")
        assert policies.policy(s, policy.id).start_date == dt.date(2024, 1, 1)
    got = submit(bureau.store, bill("G1", holder, dt.date(2024, 3, 1), "10000"))
    assert got["paid"]["basic"] == "7050.00" and got["paid"]["suisuikang"] == "2360.00"  # type: ignore[index]
    assert got["out_of_pocket"] == "590.00"
    plain = submit(bureau.store, bill("G2", other, dt.date(2024, 3, 1), "10000"))
    assert "suisuikang" not in plain["paid"] and plain["out_of_pocket"] == "2950.00"  # type: ignore[operator]
    with bureau.store.transaction() as s:
        assert ledger.balance(s, Account(REGION, 2024, AccountKind.INSURER_CLAIMS, GZ)) == 2360_00
        books = insurer_books.report(s, GZ, REGION, 2024, dt.date(2024, 12, 31))
        assert (books.written, books.earned, books.claims_paid, books.claims_outstanding) == (180_00, 180_00, 2360_00, 0)
        assert insurer_books.from_ledger(s, GZ, REGION, 2024) == insurer_books.LedgerFigures(180_00, 2360_00, 2360_00, 0)
        with pytest.raises(YibaoError) as refused:  # settled at the counter: not claimed again afterwards
            policy_benefits.submit_indemnity(s, OFFICER, policy.id, "G1")
        assert refused.value.code == "benefit.one_stop"


MM = "million-medical"


def test_a_private_policy_s_indemnity_is_claimed_afterwards_with_the_settled_bill(
        bureau: Bureau, monkeypatch: pytest.MonkeyPatch) -> None:
    """The million-yuan policy (not one-stop; 10,000 yearly deductible, 100%, 30-day waiting period, declared
    conditions excluded), moved to 2024. Level 2 inpatient bill of 10,000 class A + 20,000 self-pay on 2024-03-01:
    basic pays 7,050, the holder pays 22,950 at the counter; submitted afterwards, the policy pays 22,950 - 10,000
    = 12,950. A bill inside the waiting period (an outpatient 16,000 on 15 January) neither earns anything nor
    counts towards the deductible; a bill for a declared condition (K80 gallstones) earns nothing."""
    product = policies.product(MM)
    monkeypatch.setitem(policies.catalogue(), MM, dataclasses.replace(
        product, year=2024, window=dataclasses.replace(product.window, opens=dt.date(2023, 11, 1),
                                                       closes=dt.date(2024, 12, 31))))
    holder = bureau.person(year=2024)
    declared = policies.Declaration(pre_existing=False, conditions=("K80",))
    with bureau.store.transaction() as s:
        policy = policies.sell(s, OFFICER, holder, MM, dt.date(2024, 1, 1), dt.date(2023, 12, 1), declared)
        part = policies.premium_parts(s, policy.id)[0]
        with monkeypatch.context() as m:
            m.setattr(contributions, "utcnow", lambda: dt.datetime(2023, 12, 2, tzinfo=dt.UTC))
            contributions.record_payment(s, OFFICER, part.id, part.amount, "mobile", "mm-1")
    early = submit(bureau.store, bill("M0", holder, dt.date(2024, 1, 15), "1000", level=1, care="outpatient",
                                      amount_self_pay="15000"))  # above the deductible, yet in the waiting period
    got = submit(bureau.store, bill("M1", holder, dt.date(2024, 3, 1), "10000", amount_self_pay="20000"))
    assert got["out_of_pocket"] == "22950.00"
    gall = submit(bureau.store, bill("M2", holder, dt.date(2024, 4, 1), "5000", diagnosis="K80.2"))
    assert early["out_of_pocket"] and gall["out_of_pocket"]
    with bureau.store.transaction() as s:
        owed = policy_benefits.submit_indemnity(s, OFFICER, policy.id, "M1")
        assert (owed.kind, owed.amount, owed.status) == ("indemnity", 12_950_00, "submitted")
    for claim_id, code in (("M1", "benefit.already_claimed"), ("M0", "benefit.nothing_due"),
                           ("M2", "benefit.nothing_due"), ("NOCLAIM", "benefit.claim_not_yours")):
        with bureau.store.transaction() as s, pytest.raises(YibaoError) as refused:
            policy_benefits.submit_indemnity(s, OFFICER, policy.id, claim_id)
        assert refused.value.code == code, claim_id
    with bureau.store.transaction() as s:
        books = insurer_books.report(s, MM, REGION, 2024, dt.date(2024, 12, 31))
        assert (books.claims_paid, books.claims_outstanding) == (0, 12_950_00)
        assert books.absorbed is None  # a private product: no absorbed loss
