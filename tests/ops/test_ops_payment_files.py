"""The bank's confirmation file: every bad file is refused naming file, line and column, and leaves the store as
it was; a line is never paid twice. Property: payables + paid + deposits = everything ever owed, and the ledger
balances, through random months of claims, reversals, batches and confirmations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_bureau import OFFICER, REGION, Bureau
from ops_payments import BANK_ACCOUNT, Clock, at, balance, bill, march, with_bank_account
from sqlalchemy import func, select

from yibao.core.errors import InputError, YibaoError
from yibao.ops import claims, hospital_payments, ledger, payment_files
from yibao.ops.ledger import Account, AccountKind
from yibao.ops.schemas import CorrectionIn
from yibao.ops.store import Facility, JournalEntry, Posting, Store
from yibao.ops.store_payments import DepositDecision, PaymentItem

FILE = "confirm.csv"


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(ledger, "utcnow", c)
    return c


def _batch(bureau: Bureau, clock: Clock) -> str:
    with_bank_account(bureau)
    march(bureau, clock)
    with bureau.store.transaction() as s:
        made = hospital_payments.make_batch(s, OFFICER, REGION, "2024-03", today=date(2024, 4, 1))
        return payment_files.confirmation_file(made.batch, made.lines, {})


def _count(bureau: Bureau) -> int:
    with bureau.store.transaction() as s:
        return int(s.execute(select(func.count()).select_from(Posting)).scalar_one())


HEADER = "batch_id,line_no,payee_id,payee_name,bank_account,amount,currency,reference,purpose,status,reason"


@pytest.mark.parametrize(("change", "line", "column", "code"), [
    (lambda t: t.replace("PB-reference-city-2024-03-1,1", "PB-nowhere,1"), 2, "batch_id", "payments.unknown_batch"),
    (lambda t: t.replace("-1,1,H2", "-1,2,H2"), 2, "line_no", "payments.unknown_line"),
    (lambda t: t.replace("-1,1,H2", "-1,x,H2"), 2, "line_no", "payments.unknown_line"),
    (lambda t: t.replace("9832.50", "9832.51"), 2, "amount", "payments.confirmation_mismatch"),
    (lambda t: t.replace(BANK_ACCOUNT, "6222000000000000000"), 2, "bank_account", "payments.confirmation_mismatch"),
    (lambda t: t.replace(",H2,", ",H3,"), 2, "payee_id", "payments.confirmation_mismatch"),
    (lambda t: t.replace(",CNY,", ",USD,"), 2, "currency", "payments.confirmation_mismatch"),
    (lambda t: t.replace(",paid,", ",done,"), 2, "status", "payments.bad_status"),
    (lambda t: t.replace(",paid,", ",failed,"), 2, "reason", "payments.bad_status"),
    (lambda t: t.replace(",status,reason", ",state,reason"), 1, "status", "payments.confirmation_invalid"),
    (lambda t: t + t.splitlines()[1] + "\n", 3, "line_no", "payments.confirmation_invalid"),
    (lambda t: t.rstrip("\n") + ",extra\n", 2, "reason", "payments.confirmation_invalid"),
])
def test_a_bad_confirmation_is_refused_whole_naming_file_line_and_column(
    bureau: Bureau, clock: Clock, change: object, line: int, column: str, code: str,
) -> None:
    good = _batch(bureau, clock)
    assert good.splitlines()[0] == HEADER
    before = _count(bureau)
    with bureau.store.transaction() as s, pytest.raises(InputError) as refused:
        payment_files.confirm(s, OFFICER, change(good), FILE)  # type: ignore[operator]
    assert (refused.value.code, refused.value.file, refused.value.line, refused.value.column) == (code, FILE, line, column)
    assert str(refused.value).startswith(f"{FILE}, line {line}, column {column!r}: ")
    assert _count(bureau) == before
    assert balance(bureau, AccountKind.FACILITY_PAYABLE) == -983_250


def test_a_line_is_never_paid_twice_nor_failed_after_paid(bureau: Bureau, clock: Clock) -> None:
    good = _batch(bureau, clock)
    with bureau.store.transaction() as s:
        assert payment_files.confirm(s, OFFICER, good, FILE).paid == 1
    before = _count(bureau)
    with bureau.store.transaction() as s:
        assert payment_files.confirm(s, OFFICER, good, FILE) == payment_files.Confirmed(0, 0, 1, 0)
        with pytest.raises(InputError) as refused:
            payment_files.confirm(s, OFFICER, good.replace(",paid,", ",failed,bounced"), FILE)
        assert (refused.value.code, refused.value.column) == ("payments.already_confirmed", "status")
        assert refused.value.line == 2
    assert _count(bureau) == before
    assert balance(bureau, AccountKind.FACILITY_PAYABLE) == 0
    with bureau.store.transaction() as s:  # paid: nothing is open to batch again
        with pytest.raises(YibaoError) as nothing:
            hospital_payments.make_batch(s, OFFICER, REGION, "2024-03", today=date(2024, 4, 2))
        assert nothing.value.code == "payments.nothing_to_pay"
        # (the same file, with a BOM and CRLF line ends as spreadsheets write them, is still the same file)
        assert payment_files.confirm(s, OFFICER, "\ufeff" + good.replace("\n", "\r\n"), FILE).unchanged == 1


def test_a_facility_without_a_bank_account_is_skipped_not_paid(bureau: Bureau, clock: Clock) -> None:
    march(bureau, clock)
    with bureau.store.transaction() as s:
        with pytest.raises(YibaoError) as refused:
            hospital_payments.make_batch(s, OFFICER, REGION, "2024-03", today=date(2024, 4, 1))
        assert refused.value.code == "payments.nothing_to_pay"
    with_bank_account(bureau)
    with bureau.store.transaction() as s:
        made = hospital_payments.make_batch(s, OFFICER, REGION, "2024-03", today=date(2024, 4, 1))
        assert [line.amount for line in made.lines] == [983_250] and made.skipped == []


bills = st.lists(st.tuples(st.sampled_from(["H1", "H2", "H3"]), st.integers(0, 40_000), st.integers(0, 2),
                           st.sampled_from(["keep", "reverse", "correct"])), min_size=1, max_size=6)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(months=st.lists(bills, min_size=1, max_size=3), fails=st.lists(st.booleans(), max_size=20),
       keep=st.integers(0, 100))
def test_payables_paid_and_deposits_add_up_to_everything_owed(
    store: Store, months: list[list[tuple[str, int, int, str]]], fails: list[bool], keep: int,
) -> None:
    """Each example runs in a year of its own (2024, 2025, ...) of one store, so examples never meet."""
    bureau: Bureau | None = getattr(store, "bureau", None)
    if bureau is None:
        bureau = Bureau(store)
        store.bureau = bureau  # type: ignore[attr-defined]
        store.years = 2023  # type: ignore[attr-defined]
        with store.transaction() as s:
            for facility in s.execute(select(Facility)).scalars():
                facility.bank_account = BANK_ACCOUNT
    store.years += 1  # type: ignore[attr-defined]
    clock = Clock()
    patch = pytest.MonkeyPatch()
    patch.setattr(ledger, "utcnow", clock)
    try:
        _run_year(bureau, clock, store.years, months, iter(fails), keep)  # type: ignore[attr-defined]
    finally:
        patch.undo()


def _run_year(bureau: Bureau, clock: Clock, year: int, months: list[list[tuple[str, int, int, str]]],
              fails: Iterator[bool], keep: int) -> None:
    store, n = bureau.store, 0
    for m, month_bills in enumerate(months, start=1):
        for facility, yuan, day, fate in month_bills:
            n += 1
            person = bureau.person(year=year)
            at(clock, f"{year}-{m:02d}-{5 + day:02d}T02:00")
            claim_id = f"Y{year}-{n}"
            data = bill(claim_id, person, date(year, m, 5 + day), str(yuan)).model_copy(
                update={"facility_level": int(facility[1])})
            with store.transaction() as s:
                claims.submit(s, OFFICER, facility, data, claim_id)
            at(clock, f"{year}-{m:02d}-20T02:00")
            with store.transaction() as s:
                if fate == "reverse":
                    claims.reverse(s, OFFICER, claim_id)
                elif fate == "correct":
                    claims.correct(s, OFFICER, claim_id, CorrectionIn(
                        service_date=data.service_date, facility_level=data.facility_level, care_type="inpatient",
                        amount_class_a=str(yuan // 2)))  # type: ignore[arg-type]
        _pay(bureau, f"{year}-{m:02d}", date(year, m + 1, 1), fails)
        _check(bureau, year)
    with store.transaction() as s:
        held = hospital_payments.deposits(s, REGION, year)
        kept = {f: (min(keep * 100, amount), "考核扣减") for f, amount in held.items()}
        hospital_payments.year_end(s, OFFICER, REGION, year, kept, today=date(year + 1, 1, 1))
    _pay(bureau, f"{year}-12", date(year + 1, 1, 1), iter([]))
    _check(bureau, year)
    with store.transaction() as s:
        for facility in ("H1", "H2", "H3"):
            assert ledger.balance(s, Account(REGION, year, AccountKind.QUALITY_DEPOSIT, facility)) == 0
            # all paid at last: what is left is nothing, or what a facility was overpaid (a debit)
            assert ledger.balance(s, Account(REGION, year, AccountKind.FACILITY_PAYABLE, facility)) >= 0


def _pay(bureau: Bureau, month: str, today: date, fails: Iterator[bool]) -> None:
    with bureau.store.transaction() as s:
        try:
            made = hospital_payments.make_batch(s, OFFICER, REGION, month, today=today)
        except YibaoError as exc:
            assert exc.code == "payments.nothing_to_pay"
            return
        statuses = {line.line_no: ("failed", "退票 returned") if next(fails, False) else ("paid", "") for line in made.lines}
        payment_files.confirm(s, OFFICER, payment_files.confirmation_file(made.batch, made.lines, statuses), "c.csv")


def _check(bureau: Bureau, year: int) -> None:
    """payable + paid + deposit held + deposit kept = owed by the claim entries, per facility; ledger balanced."""
    with bureau.store.transaction() as s:
        assert ledger.trial_balance(s).balanced and not ledger.unbalanced_entries(s)
        for facility in ("H1", "H2", "H3"):
            account = f"{REGION}:{year}:facility_payable:{facility}"

            def total(prefix: str, account: str = account) -> int:
                q = (select(ledger.fen_sum(s, Posting.amount)).join(JournalEntry, JournalEntry.id == Posting.entry_id)
                     .where(Posting.account == account, JournalEntry.reference.like(f"{prefix}%")))
                return int(s.execute(q).scalar_one())

            owed, paid = -total("claim:"), total("payment:")
            deposit = -ledger.balance(s, Account(REGION, year, AccountKind.QUALITY_DEPOSIT, facility))
            kept = sum(d.kept for d in s.execute(select(DepositDecision).where(
                DepositDecision.year == year, DepositDecision.facility_id == facility)).scalars())
            payable = -ledger.balance(s, Account(REGION, year, AccountKind.FACILITY_PAYABLE, facility))
            assert payable + paid + deposit + kept == owed
            items_paid = s.execute(select(ledger.fen_sum(s, PaymentItem.amount)).where(
                PaymentItem.facility_id == facility, PaymentItem.year == year, PaymentItem.status == "paid")).scalar_one()
            assert int(items_paid) == paid
