"""Selling policies in operations, their premium through the contributions' channels, benefits paid afterwards and
the insurer's books: hand-computed on the rural small-value product (50 yuan, 80% paid by the county, 30-day
waiting period for illness, 50 yuan a day of hospital stay up to 90 days, accidental death 20,000)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_bureau import OFFICER, Bureau
from sqlalchemy import func, select

from yibao.core.errors import YibaoError
from yibao.core.model import InsuranceScheme
from yibao.ops import contributions, insurer_books, ledger, policies, policy_benefits
from yibao.ops.ledger import Account, AccountKind
from yibao.ops.migrate import upgrade
from yibao.ops.store import Contribution, Posting, Store, make_engine
from yibao.ops.store_products import BenefitClaim, PolicyRow

SMALL = "rural-small-value"
REGION = "reference-city"


@pytest.fixture()
def sqlite_store_factory(tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Fresh migrated SQLite stores (one per Hypothesis example)."""
    made: list[Store] = []

    def make() -> Store:
        engine = make_engine(f"sqlite:///{tmp_path / f'books-{len(made)}.sqlite3'}")
        upgrade(engine)
        made.append(Store(engine))
        return made[-1]

    yield make
    for store in made:
        store.engine.dispose()


def paid_on(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    """Payments recorded from now on are made on `day` (noon UTC)."""
    monkeypatch.setattr(contributions, "utcnow", lambda: dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC))


def sell(store: Store, person: str, product: str = SMALL, start: dt.date = dt.date(2021, 1, 1),
         sale_day: dt.date = dt.date(2021, 1, 1), **kw: object) -> int:
    with store.transaction() as s:
        return policies.sell(s, OFFICER, person, product, start, sale_day, **kw).id  # type: ignore[arg-type]


def pay_member_part(store: Store, policy_id: int, ref: str = "m") -> None:
    with store.transaction() as s:
        part = next(p for p in policies.premium_parts(s, policy_id) if p.source == "premium_member")
        contributions.record_payment(s, OFFICER, part.id, part.amount, "mobile", f"{ref}-{policy_id}")


def counts(store: Store) -> tuple[int, int, int, int]:
    with store.transaction() as s:
        return tuple(int(s.execute(select(func.count()).select_from(t)).scalar_one())  # type: ignore[return-value]
                     for t in (PolicyRow, Contribution, Posting, BenefitClaim))


def balance(store: Store, kind: AccountKind, sub: str, year: int = 2021) -> int:
    with store.transaction() as s:
        return ledger.balance(s, Account(REGION, year, kind, sub))


def test_sale_splits_the_premium_and_the_member_s_payment_activates_it_from_the_next_day(
        bureau: Bureau, monkeypatch: pytest.MonkeyPatch) -> None:
    """50.00 premium: the county's 80% = 40.00, the member pays 10.00; paid on 10 January, cover from the 11th."""
    person = bureau.person(year=2021)
    policy_id = sell(bureau.store, person)
    with bureau.store.transaction() as s:
        parts = {p.source: p.amount for p in policies.premium_parts(s, policy_id)}
        assert parts == {"premium_member": 1000, "premium_government": 4000}
        assert policies.policy(s, policy_id).status == "pending"
    assert balance(bureau.store, AccountKind.MEMBER_RECEIVABLE, person) == 1000
    assert balance(bureau.store, AccountKind.CONTRIBUTION_RECEIVABLE, "premium_government") == 4000
    assert balance(bureau.store, AccountKind.INSURER_PREMIUM, SMALL) == -5000  # premium written
    paid_on(monkeypatch, dt.date(2021, 1, 10))
    pay_member_part(bureau.store, policy_id)
    with bureau.store.transaction() as s:
        row = policies.policy(s, policy_id)
        assert (row.status, row.start_date, row.end_date) == ("active", dt.date(2021, 1, 11), dt.date(2021, 12, 31))
    assert balance(bureau.store, AccountKind.MEMBER_RECEIVABLE, person) == 0
    assert balance(bureau.store, AccountKind.BANK, "mobile") == 1000


def test_paid_before_the_start_the_policy_starts_as_sold(bureau: Bureau, monkeypatch: pytest.MonkeyPatch) -> None:
    person = bureau.person(year=2021)
    policy_id = sell(bureau.store, person, sale_day=dt.date(2020, 12, 15))
    paid_on(monkeypatch, dt.date(2020, 12, 20))
    pay_member_part(bureau.store, policy_id)
    with bureau.store.transaction() as s:
        assert policies.policy(s, policy_id).start_date == dt.date(2021, 1, 1)


def _refused(store: Store, code: str, work: object) -> None:
    before = counts(store)
    with pytest.raises(YibaoError) as raised:
        work()  # type: ignore[operator]
    assert raised.value.code == code
    assert counts(store) == before  # nothing written


def test_refusals_name_their_code_and_write_nothing(bureau: Bureau, monkeypatch: pytest.MonkeyPatch) -> None:
    resident = bureau.person(year=2021)
    employee = bureau.person(scheme=InsuranceScheme.UEBMI_EMPLOYEE, year=2021, wage="120000")
    store = bureau.store
    _refused(store, "policy.outside_window", lambda: sell(store, resident, sale_day=dt.date(2021, 4, 1)))
    _refused(store, "policy.outside_window", lambda: sell(store, resident, sale_day=dt.date(2020, 11, 30)))
    _refused(store, "policy.wrong_scheme", lambda: sell(store, employee))  # URRBMI members only
    _refused(store, "policy.wrong_region", lambda: sell(
        store, resident, "shanghai-huhuibao-2021", dt.date(2021, 6, 1), dt.date(2021, 5, 1)))
    _refused(store, "policy.declaration_missing", lambda: sell(store, resident, "million-medical"))
    _refused(store, "person.not_found", lambda: sell(store, "NOBODY"))
    _refused(store, "policy.unknown_product", lambda: sell(store, resident, "no-such-product"))
    small = policies.product(SMALL)
    for name, rules, code in (
        ("too-old", dataclasses.replace(small.eligibility, max_age=50), "policy.too_old"),  # born 1970: 51 in 2021
        ("declined", dataclasses.replace(small.eligibility, pre_existing=policies.benefits.PreExisting.DECLINED),
         "policy.pre_existing_declined"),
        ("dibao-only", dataclasses.replace(small.eligibility, assistance_categories=frozenset({"dibao"})),
         "policy.wrong_category"),
    ):
        monkeypatch.setitem(policies.catalogue(), name, dataclasses.replace(small, id=name, eligibility=rules))
        declaration = policies.Declaration(pre_existing=True)
        _refused(store, code, lambda name=name, declaration=declaration: sell(  # type: ignore[misc]
            store, resident, name, declaration=declaration))
    first = sell(store, resident)
    _refused(store, "policy.overlap", lambda: sell(store, resident, start=dt.date(2021, 12, 31)))
    with store.transaction() as s:
        policies.cancel(s, OFFICER, first, "sold by mistake")
    sell(store, resident, start=dt.date(2021, 3, 1), sale_day=dt.date(2021, 3, 1))  # a cancelled one does not count


def _active(bureau: Bureau, monkeypatch: pytest.MonkeyPatch, paid: dt.date = dt.date(2021, 1, 10)) -> tuple[str, int]:
    person = bureau.person(year=2021)
    policy_id = sell(bureau.store, person)
    paid_on(monkeypatch, paid)
    pay_member_part(bureau.store, policy_id)
    return person, policy_id


def test_waiting_period_and_a_stay_crossing_the_policy_end(bureau: Bureau, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cover 2021-01-11 to 2021-12-31; illness benefits from 2021-02-10 (30 days). A stay 20-25 January (5 days) is
    inside the waiting period: nothing for an illness, 5 x 50 = 250.00 for an accident. A stay 25 December to 5
    January counts the days 25 Dec .. 4 Jan (11), of which 25-31 December (7) are in force: 7 x 50 = 350.00."""
    _, policy_id = _active(bureau, monkeypatch)
    store = bureau.store
    with store.transaction() as s:
        start = policies.policy(s, policy_id).start_date
    assert start == dt.date(2021, 1, 11)

    def stay(admission: dt.date, discharge: dt.date, accident: bool = False) -> BenefitClaim:
        with store.transaction() as s:
            return policy_benefits.submit_stay(s, OFFICER, policy_id, admission, discharge, accident)

    _refused(store, "benefit.nothing_due", lambda: stay(dt.date(2021, 1, 20), dt.date(2021, 1, 25)))
    accident = stay(dt.date(2021, 1, 20), dt.date(2021, 1, 25), accident=True)
    assert (accident.days, accident.amount) == (5, 250_00)
    crossing = stay(dt.date(2021, 12, 25), dt.date(2022, 1, 5))
    assert (crossing.days, crossing.amount) == (7, 350_00)
    _refused(store, "benefit.bad_dates", lambda: stay(dt.date(2021, 5, 5), dt.date(2021, 5, 1)))


def test_a_lump_sum_is_paid_once_per_policy_and_benefits_are_paid_to_the_member(
        bureau: Bureau, monkeypatch: pytest.MonkeyPatch) -> None:
    _, policy_id = _active(bureau, monkeypatch)
    store = bureau.store

    def event(lump: str, kind: str, day: dt.date, grade: int | None = None) -> BenefitClaim:
        with store.transaction() as s:
            return policy_benefits.submit_event(s, OFFICER, policy_id, lump, kind, day, grade=grade)

    disability = event("accidental_disability", "disability", dt.date(2021, 3, 1), grade=3)
    assert disability.amount == 16_000_00  # 20,000 x 80% (grade 3)
    _refused(store, "benefit.lump_sum_paid", lambda: event("accidental_disability", "disability", dt.date(2021, 4, 1), 1))
    _refused(store, "benefit.nothing_due", lambda: event("accidental_death", "disability", dt.date(2021, 4, 1)))
    _refused(store, "benefit.not_in_product", lambda: event("cancer", "critical_illness", dt.date(2021, 4, 1)))
    assert balance(store, AccountKind.BENEFIT_PAYABLE, SMALL) == -16_000_00  # owed to the member
    with store.transaction() as s:
        policy_benefits.pay(s, OFFICER, disability.id, 16_000_00, "bank", "pay-1")
        again = policy_benefits.pay(s, OFFICER, disability.id, 16_000_00, "bank", "pay-1")  # repeated: nothing new
        assert again.status == "paid"
    assert balance(store, AccountKind.BENEFIT_PAYABLE, SMALL) == 0
    assert balance(store, AccountKind.BANK, "bank") == -16_000_00
    with store.transaction() as s:
        with pytest.raises(YibaoError) as raised:
            policy_benefits.pay(s, OFFICER, disability.id, 16_000_00, "bank", "pay-2")
        assert raised.value.code == "payment.already_paid"


def test_the_books_of_a_small_book(bureau: Bureau, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two policies of 50.00: A paid 2020-12-20 (cover 2021-01-01..12-31, 365 days), B paid 2021-01-10 (cover
    01-11..12-31, 355 days); a third sold and cancelled. As of 2021-07-02: A earned 5000 x 183/365 = 2506.85 ->
    2507 fen, B 5000 x 173/355 = 2436.62 -> 2437 fen: 49.44 earned of 100.00 written. Claims: 350.00 paid (a 7-day
    stay of B, in December) + 250.00 outstanding (an accident of A) = 600.00 incurred. Expenses 15% x 100.00 =
    15.00. Loss ratio 600.00 / 49.44 = 12.135922 (1213.5922%), combined (600 + 15) / 49.44 = 12.439320. Result
    49.44 - 600.00 - 15.00 = -565.56: a small-value product, so the insurer absorbs 565.56."""
    store = bureau.store
    a_person, b_person = bureau.person(year=2021), bureau.person(year=2021)
    a = sell(store, a_person, sale_day=dt.date(2020, 12, 15))
    paid_on(monkeypatch, dt.date(2020, 12, 20))
    pay_member_part(store, a)
    b = sell(store, b_person)
    paid_on(monkeypatch, dt.date(2021, 1, 10))
    pay_member_part(store, b)
    c = sell(store, bureau.person(year=2021))
    with store.transaction() as s:
        policies.cancel(s, OFFICER, c, "changed their mind")
        stay = policy_benefits.submit_stay(s, OFFICER, b, dt.date(2021, 12, 25), dt.date(2022, 1, 5))
        policy_benefits.pay(s, OFFICER, stay.id, stay.amount, "bank", "stay-b")
        policy_benefits.submit_stay(s, OFFICER, a, dt.date(2021, 1, 2), dt.date(2021, 1, 7), accident=True)
        books = insurer_books.report(s, SMALL, REGION, 2021, dt.date(2021, 7, 2))
        figures = insurer_books.from_ledger(s, SMALL, REGION, 2021)
    assert (books.policies, books.in_force, books.written, books.received) == (2, 2, 100_00, 20_00)
    assert books.earned == 2507 + 2437
    assert (books.claims_paid, books.claims_outstanding, books.incurred) == (350_00, 250_00, 600_00)
    assert books.expenses == 15_00
    assert (books.loss_ratio, books.combined_ratio) == (12_135_922, 12_439_320)
    assert (books.result, books.absorbed) == (-565_56, 565_56)
    assert figures == insurer_books.LedgerFigures(written=100_00, incurred=600_00, paid=350_00, outstanding=250_00)
    with store.transaction() as s:
        policies.lapse(s, OFFICER, a, dt.date(2021, 8, 1), "stopped")
        later = insurer_books.report(s, SMALL, REGION, 2021, dt.date(2021, 8, 1))
    assert later.earned == 50_00 + round(5000 * 203 / 355)  # A lapsed (earned whole), B 203 days of 355


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["pay", "cancel", "stay", "event", "settle", "lapse"]),
                          st.integers(0, 3), st.integers(0, 300)), max_size=12))
def test_property_the_insurer_s_accounts_balance_with_the_ledger(
        sqlite_store_factory: Callable[[], Store], steps: list[tuple[str, int, int]]) -> None:
    """Whatever is sold, paid, cancelled, claimed and settled, the books recomputed from the journal equal the
    report's written premium, claims incurred, paid and outstanding; every entry balances."""
    store = sqlite_store_factory()
    bureau = Bureau(store)
    ids = [sell(store, bureau.person(year=2021), start=dt.date(2021, 1, 1) + dt.timedelta(days=60 * i),
                sale_day=dt.date(2021, 1, 1)) for i in range(4)]
    noon = dt.datetime(2020, 12, 20, 12, tzinfo=dt.UTC)  # every member's part paid before the start
    for action, which, offset in steps:
        day = dt.date(2021, 1, 1) + dt.timedelta(days=offset)
        policy_id = ids[which]
        try:
            with store.transaction() as s, mock.patch.object(contributions, "utcnow", lambda: noon):
                if action == "pay":
                    part = next(p for p in policies.premium_parts(s, policy_id) if p.source == "premium_member")
                    contributions.record_payment(s, OFFICER, part.id, part.amount, "counter", f"p{policy_id}")
                elif action == "cancel":
                    policies.cancel(s, OFFICER, policy_id, "x")
                elif action == "stay":
                    policy_benefits.submit_stay(s, OFFICER, policy_id, day, day + dt.timedelta(days=offset % 9),
                                                accident=offset % 2 == 0)
                elif action == "event":
                    policy_benefits.submit_event(s, OFFICER, policy_id, "accidental_death", "accidental_death", day)
                elif action == "settle":
                    owed = [c for c in policy_benefits.of_policy(s, policy_id) if c.status == "submitted"]
                    for claim in owed[:1]:
                        policy_benefits.pay(s, OFFICER, claim.id, claim.amount, "bank", f"b{claim.id}")
                else:
                    policies.lapse(s, OFFICER, policy_id, day, "x")
        except YibaoError:
            pass
    with store.transaction() as s:
        books = insurer_books.report(s, SMALL, REGION, 2021, dt.date(2021, 12, 31))
        figures = insurer_books.from_ledger(s, SMALL, REGION, 2021)
        assert ledger.unbalanced_entries(s) == []
        assert ledger.trial_balance(s).balanced
    assert figures == insurer_books.LedgerFigures(books.written, books.incurred, books.claims_paid,
                                                  books.claims_outstanding)
    assert 0 <= books.earned <= books.written


def test_the_report_command_prints_the_books_the_api_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`yibao insurer report --json` is the API's view; the table shows the same figures, in zh with --lang zh."""
    import json

    from typer.testing import CliRunner

    from yibao.cli.main import app

    url = f"sqlite:///{tmp_path / 'report.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    bureau = Bureau(Store(engine))
    _, policy_id = _active(bureau, monkeypatch)
    with bureau.store.transaction() as s:
        policy_benefits.submit_stay(s, OFFICER, policy_id, dt.date(2021, 3, 1), dt.date(2021, 3, 3))
    engine.dispose()
    runner = CliRunner()
    base = ["insurer", "report", "--product", SMALL, "--region", REGION, "--year", "2021", "--as-of", "2021-12-31",
            "--database-url", url]
    shown = runner.invoke(app, [*base, "--json"])
    assert shown.exit_code == 0, shown.output
    books = json.loads(shown.output)
    assert (books["premiums_written"], books["premiums_earned"], books["claims_outstanding"]) == ("50.00", "50.00", "100.00")
    assert (books["loss_ratio"], books["absorbed_by_insurer"]) == ("200%", "57.50")  # 50 - 100 - 7.50
    table = runner.invoke(app, [*base, "--lang", "zh"], env={"COLUMNS": "160"})
    assert table.exit_code == 0 and "赔付率" in table.output and "200%" in table.output and "57.50" in table.output
    missing = runner.invoke(app, ["insurer", "report", "--product", "nope", "--region", REGION, "--year", "2021",
                                  "--database-url", url])
    assert isinstance(missing.exception, YibaoError) and missing.exception.code == "policy.unknown_product"
