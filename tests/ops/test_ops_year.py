"""A year through the operations store: a small region enrols, pays its contributions, settles claims every month
(individual accounts spent, shared with a registered relative; a reversal, a correction, a late claim), pays its
hospitals monthly with the quality deposit withheld, releases the deposit at year end and pays it. It ends with a
balanced trial balance, facility payables and deposits at zero after the last payment, no account below zero, and
a fund report equal to a fresh computation from the entries. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from ops_bureau import OFFICER, REGION, Bureau
from test_ops_funds import fresh

from yibao.core.model import InsuranceScheme
from yibao.ops import claims, family, funds, hospital_payments, ledger, payment_files
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict
from yibao.ops.ledger import AccountKind
from yibao.ops.schemas import ClaimIn, CorrectionIn
from yibao.ops.store import Facility, Store

YEAR = 2024


class Clock:
    def __init__(self) -> None:
        self.now = datetime(YEAR, 1, 2, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    c = Clock()
    monkeypatch.setattr(ledger, "utcnow", c)
    yield c


def bill(claim_id: str, person_id: str, day: date, class_a: str, level: int, care: str = "inpatient") -> ClaimIn:
    return ClaimIn(claim_id=claim_id, person_id=person_id, service_date=day, region=REGION, facility_level=level,
                   care_type=care, amount_class_a=class_a)  # type: ignore[arg-type]


def pay_month(store: Store, clock: Clock, month: str, today: date) -> int:
    """The month's payment batch, confirmed paid in full by the bank; the amount paid (0: nothing to pay)."""
    clock.now = datetime(today.year, today.month, today.day, 2, 0, tzinfo=UTC)
    with store.transaction() as s:
        try:
            made = hospital_payments.make_batch(s, OFFICER, REGION, month, today=today)
        except Conflict as exc:
            assert exc.code == "payments.nothing_to_pay"
            return 0
        text = payment_files.confirmation_file(made.batch, made.lines, {})
        return payment_files.confirm(s, OFFICER, text, f"bank-{month}.csv").amount_paid


def test_a_year_through_the_store(store: Store, clock: Clock) -> None:
    bureau = Bureau(store)
    with store.transaction() as s:
        for level in (1, 2, 3):
            s.get_one(Facility, f"H{level}").bank_account = f"62220202000012345{level}"
    employee = bureau.person(InsuranceScheme.UEBMI_EMPLOYEE, wage="120000")  # 2% = 2,400 yuan to the account
    retiree = bureau.person(InsuranceScheme.UEBMI_RETIREE)
    residents = [bureau.person(InsuranceScheme.URRBMI) for _ in range(3)]
    with store.transaction() as s:
        family.register_relative(s, OFFICER, employee, residents[0], "child")
    people = [employee, retiree, *residents]
    start = {p: b for p, b in zip(people, _balances(store, people), strict=True)}
    facility = Actor("hospital", "facility")
    paid_total = 0
    for month in range(1, 13):
        clock.now = datetime(YEAR, month, 10, 2, 0, tzinfo=UTC)
        with store.transaction() as s:
            for k, person in enumerate(people):
                if (month + k) % 3:
                    continue
                level = 1 + (month + k) % 3
                care = "outpatient" if level == 1 and k % 2 else "inpatient"
                data = bill(f"C{month:02d}{k}", person, date(YEAR, month, 5 + k), f"{800 + 1375 * ((month * 7 + k) % 9)}", level, care)
                claims.submit(s, facility, f"H{level}", data, data.claim_id)
        if month == 5:
            with store.transaction() as s:
                claims.reverse(s, OFFICER, "C042", "withdrawn by the hospital")
        if month == 8:
            with store.transaction() as s:
                row = claims.claim(s, "C060")
                claims.correct(s, OFFICER, "C060", CorrectionIn(
                    service_date=row.service_date, facility_level=row.facility_level, care_type=row.care_type,
                    amount_class_a="9000"))  # type: ignore[arg-type]
        if month == 9:  # a late bill: before claims of the same person already settled this year
            with store.transaction() as s:
                data = bill("LATE", residents[0], date(YEAR, 2, 1), "15000", 2)
                claims.submit(s, facility, "H2", data, "LATE")
        assert all(b >= 0 for b in _balances(store, people))
        after = date(YEAR + (month == 12), month % 12 + 1, 1)
        paid_total += pay_month(store, clock, f"{YEAR}-{month:02d}", after)
    clock.now = datetime(YEAR + 1, 1, 3, 2, 0, tzinfo=UTC)
    with store.transaction() as s:
        released = hospital_payments.year_end(s, OFFICER, REGION, YEAR, today=date(YEAR + 1, 1, 3))
        assert released and all(d.released > 0 for d in released)
    paid_total += pay_month(store, clock, f"{YEAR}-12", date(YEAR + 1, 1, 3))

    with store.transaction() as s:
        tb = ledger.trial_balance(s)
        assert tb.balanced and ledger.unbalanced_entries(s) == []
        for row in tb.rows:
            if row.kind in (AccountKind.FACILITY_PAYABLE.value, AccountKind.QUALITY_DEPOSIT.value):
                assert row.balance == 0, row.account
        spent_from_accounts = sum(int(r.split.get("individual_account", 0)) for r in _claims(s))
        report = funds.fund_report(s, REGION, YEAR)
    ends = _balances(store, people)
    assert all(b >= 0 for b in ends)
    assert sum(start.values()) - sum(ends) == spent_from_accounts > 0
    expected = fresh(store, REGION, YEAR)
    for f in report.funds:
        want = expected[f.fund]
        assert {k: v for k, v in f.income.items() if v} == {k: v for k, v in want["income"].items() if v}
        assert {(o.kind, o.care_type): o.amount for o in f.outlays if o.amount} == \
            {k: v for k, v in want["outlays"].items() if v}
        assert f.accumulated == want["accumulated"]
    # what the hospitals were paid is what the funds and the accounts paid for the year's claims
    claims_outlay = sum(o.amount for f in report.funds for o in f.outlays if o.kind == funds.CLAIMS)
    assert paid_total == claims_outlay > 0


def _balances(store: Store, people: list[str]) -> list[int]:
    with store.transaction() as s:
        return [family.balance(s, p) for p in people]


def _claims(s: object) -> list[object]:
    from sqlalchemy import select

    from yibao.ops.store import ClaimRow

    return list(s.execute(select(ClaimRow)).scalars())  # type: ignore[attr-defined]
