"""Paying hospitals: a month computed by hand (claims, a reversal and a correction in March, a correction in
April) through statements, the 5% quality deposit, the bank file's exact text, a failed and a paid confirmation,
the year-end release, to payables and deposits of zero; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from ops_bureau import OFFICER, REGION, Bureau
from ops_payments import BANK_ACCOUNT, Clock, at, balance, correction, march, with_bank_account

from yibao.core.errors import YibaoError
from yibao.ops import claims, hospital_payments, ledger, payment_files
from yibao.ops.ledger import AccountKind


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(ledger, "utcnow", c)
    return c


def test_a_month_by_hand_to_payables_of_zero(bureau: Bureau, clock: Clock) -> None:
    with_bank_account(bureau)
    march(bureau, clock)
    # March: 7,050 + 2,550 + 1,050 − 1,050 + 750 = 10,350 owed by the basic pooled fund, 3 claims
    with bureau.store.transaction() as s:
        with pytest.raises(YibaoError) as refused:
            hospital_payments.settle_month(s, OFFICER, REGION, "2024-03", today=date(2024, 3, 31))
        assert refused.value.code == "payments.month_open"
    at(clock, "2024-04-01T01:00")
    with bureau.store.transaction() as s:
        made = hospital_payments.make_batch(s, OFFICER, REGION, "2024-03", today=date(2024, 4, 1))
        (statement,) = hospital_payments.statements(s, region=REGION, month="2024-03")
        assert (statement.facility_id, statement.claims, statement.owed) == ("H2", 3, 1_035_000)
        assert statement.lines["lines"] == [{"year": 2024, "fund": "basic_pooled_fund", "amount": 1_035_000}]
        # 5% withheld: 517.50; payable 9,832.50
        assert (statement.withheld, statement.payable) == (51_750, 983_250)
        text = payment_files.bank_file(made.batch, made.lines)
    assert text == (
        "batch_id,line_no,payee_id,payee_name,bank_account,amount,currency,reference,purpose\n"
        f"PB-reference-city-2024-03-1,1,H2,Hospital 2,{BANK_ACCOUNT},9832.50,CNY,PB-reference-city-2024-03-1/1,"
        "医保基金拨付 2024-03月度结算\n"
    )
    assert balance(bureau, AccountKind.FACILITY_PAYABLE) == -983_250
    assert balance(bureau, AccountKind.QUALITY_DEPOSIT) == -51_750
    # H1 and H3 have no claims: no statement; a repeat makes no second statement
    with bureau.store.transaction() as s:
        assert len(hospital_payments.settle_month(s, OFFICER, REGION, "2024-03", today=date(2024, 4, 2))) == 1

    # the bank says the transfer failed: payables as they were, the line can be batched again
    with bureau.store.transaction() as s:
        batch, lines = hospital_payments.batch(s, "PB-reference-city-2024-03-1")
        failed = payment_files.confirmation_file(batch, lines, {1: ("failed", "账户冻结 account frozen")})
        assert payment_files.confirm(s, OFFICER, failed, "bank-0401.csv") == payment_files.Confirmed(0, 1, 0, 0)
        assert payment_files.confirm(s, OFFICER, failed, "bank-0401.csv") == payment_files.Confirmed(0, 0, 1, 0)
    assert balance(bureau, AccountKind.FACILITY_PAYABLE) == -983_250

    # April: C1 corrected 10,000 → 12,000 (0.75 × 11,400 = 8,550: +1,500) lands in April, though C1 is March's
    at(clock, "2024-04-10T02:00")
    with bureau.store.transaction() as s:
        claims.correct(s, OFFICER, "C1", correction(date(2024, 3, 5), "12000"))
    at(clock, "2024-05-02T01:00")
    with bureau.store.transaction() as s:
        made = hospital_payments.make_batch(s, OFFICER, REGION, "2024-04", today=date(2024, 5, 2))
        (april,) = hospital_payments.statements(s, month="2024-04")
        assert (april.owed, april.withheld, april.payable, april.claims) == (150_000, 7_500, 142_500, 1)
        # one line: March's failed 9,832.50 and April's 1,425.00
        assert [(line.line_no, line.amount) for line in made.lines] == [(1, 1_125_750)]
        paid = payment_files.confirmation_file(made.batch, made.lines, {})
        assert payment_files.confirm(s, OFFICER, paid, "bank-0502.csv") == payment_files.Confirmed(1, 0, 0, 1_125_750)
        assert payment_files.confirm(s, OFFICER, paid, "bank-0502.csv") == payment_files.Confirmed(0, 0, 1, 0)
        months = hospital_payments.facility_months(s, "H2")
        assert [(m.month, m.owed, m.withheld, m.paid, m.outstanding) for m in months] == [
            ("2024-04", 150_000, 7_500, 142_500, 0), ("2024-03", 1_035_000, 51_750, 983_250, 0)]
    assert balance(bureau, AccountKind.FACILITY_PAYABLE) == 0
    assert balance(bureau, AccountKind.BANK, hospital_payments.PAYOUT) == -1_125_750
    assert balance(bureau, AccountKind.QUALITY_DEPOSIT) == -59_250  # 517.50 + 75.00

    # year end: released whole, paid by the next batch; then payables and deposit are zero
    with bureau.store.transaction() as s:
        with pytest.raises(YibaoError) as refused:
            hospital_payments.year_end(s, OFFICER, REGION, 2024, today=date(2024, 12, 31))
        assert refused.value.code == "payments.year_open"
        (decision,) = hospital_payments.year_end(s, OFFICER, REGION, 2024, today=date(2025, 1, 3))
        assert (decision.facility_id, decision.released, decision.kept) == ("H2", 59_250, 0)
    assert balance(bureau, AccountKind.FACILITY_PAYABLE) == -59_250
    at(clock, "2025-01-03T02:00")
    with bureau.store.transaction() as s:
        made = hospital_payments.make_batch(s, OFFICER, REGION, "2024-12", today=date(2025, 1, 3))
        assert [(line.amount, line.purpose) for line in made.lines] == [
            (59_250, "医保基金拨付 2024-12月度结算 含2024年度质量保证金返还")]
        payment_files.confirm(s, OFFICER, payment_files.confirmation_file(made.batch, made.lines, {}), "bank-0103.csv")
        with pytest.raises(YibaoError) as refused:
            hospital_payments.make_batch(s, OFFICER, REGION, "2024-12", today=date(2025, 1, 3))
        assert refused.value.code == "payments.nothing_to_pay"
        assert ledger.trial_balance(s).balanced and not ledger.unbalanced_entries(s)
    assert balance(bureau, AccountKind.FACILITY_PAYABLE) == 0
    assert balance(bureau, AccountKind.QUALITY_DEPOSIT) == 0


def test_kept_deposit_goes_back_to_the_fund_with_a_reason(bureau: Bureau, clock: Clock) -> None:
    march(bureau, clock)
    with bureau.store.transaction() as s:
        made = hospital_payments.settle_month(s, OFFICER, REGION, "2024-03", today=date(2024, 4, 1))
        assert [m.withheld for m in made] == [51_750]
        with pytest.raises(YibaoError) as refused:
            hospital_payments.year_end(s, OFFICER, REGION, 2024, {"H2": (20_000, " ")}, today=date(2025, 1, 2))
        assert refused.value.code == "payments.reason_required"
        with pytest.raises(YibaoError) as refused:
            hospital_payments.year_end(s, OFFICER, REGION, 2024, {"H2": (51_751, "x")}, today=date(2025, 1, 2))
        assert refused.value.code == "payments.keep_exceeds"
    fund_before = balance(bureau, AccountKind.BASIC_POOLED_FUND, "")
    with bureau.store.transaction() as s:
        (decision,) = hospital_payments.year_end(s, OFFICER, REGION, 2024, {"H2": (20_000, "考核扣减 audit finding")},
                                                 today=date(2025, 1, 2))
        assert (decision.released, decision.kept, decision.reason) == (31_750, 20_000, "考核扣减 audit finding")
        assert hospital_payments.year_end(s, OFFICER, REGION, 2024, today=date(2025, 1, 2)) == []  # nothing left
    assert balance(bureau, AccountKind.BASIC_POOLED_FUND, "") == fund_before - 20_000
    assert balance(bureau, AccountKind.QUALITY_DEPOSIT) == 0
    # payable: 10,350 − 517.50 withheld + 317.50 released (no bank account: nothing batched)
    assert balance(bureau, AccountKind.FACILITY_PAYABLE) == -(1_035_000 - 51_750 + 31_750)
    with bureau.store.transaction() as s:
        with pytest.raises(YibaoError) as refused:
            hospital_payments.make_batch(s, OFFICER, REGION, "2024-12", today=date(2025, 1, 2))
        assert refused.value.code == "payments.nothing_to_pay"


def test_bad_months_and_regions_are_refused(bureau: Bureau) -> None:
    with bureau.store.transaction() as s:
        for month in ("2024-3", "2024-13", "24-03", "March"):
            with pytest.raises(YibaoError) as refused:
                hospital_payments.settle_month(s, OFFICER, REGION, month, today=date(2030, 1, 1))
            assert refused.value.code == "payments.bad_month"
        with pytest.raises(YibaoError) as refused:
            hospital_payments.settle_month(s, OFFICER, "nowhere", "2024-03", today=date(2030, 1, 1))
        assert refused.value.code == "region.not_found"
        assert hospital_payments.deposit_rate(s, REGION, date(2024, 3, 1)) == 50_000
        # nothing happened in the month: no statement, nothing to pay
        assert hospital_payments.settle_month(s, OFFICER, REGION, "2024-02", today=date(2030, 1, 1)) == []
