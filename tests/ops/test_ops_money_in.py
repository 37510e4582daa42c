"""Money in (issue 18): the enrolment window and the waiting period, continuity rewards, partial assistance-paid
contributions, a category changing mid-year, and every payment allocated to the funds in its own transaction.
Figures are the reference city's (`contributions.yaml`), computed by hand in each test."""

from __future__ import annotations

from datetime import date
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_bureau import OFFICER, REGION, Bureau, make_ric
from sqlalchemy import select

from yibao.core.model import AssistanceCategory, InsuranceScheme
from yibao.http.claims import claim_view
from yibao.ops import claims, contributions, enrolment, ledger, registry
from yibao.ops.schemas import AssistanceIn, ClaimIn, EnrolmentIn, PersonIn
from yibao.ops.store import Contribution, Enrolment, JournalEntry, Posting

SEQ = count(200)


def _person(bureau: Bureau, category: AssistanceCategory | None = None, since: date = date(2023, 1, 1),
            until: date | None = None) -> str:
    n = next(SEQ)
    pid = f"M{n}"
    with bureau.store.transaction() as s:
        registry.add_person(s, OFFICER, PersonIn(person_id=pid, ric=make_ric(date(1980, 5, 5), 2 * n + 1),
                                                 name=f"Member {n}", region=REGION))
        if category is not None:
            registry.add_assistance(s, OFFICER, pid, AssistanceIn(category=category, valid_from=since, valid_to=until))
    return pid


def _enrol_and_pay(bureau: Bureau, pid: str, year: int, paid_on: date, scheme: InsuranceScheme = InsuranceScheme.URRBMI,
                   on: date | None = None, **extra: object) -> Enrolment:
    with bureau.store.transaction() as s:
        row = enrolment.enrol(s, OFFICER, pid, EnrolmentIn(year=year, scheme=scheme, **extra), on=on or paid_on)  # type: ignore[arg-type]
        for due in s.execute(select(Contribution).where(Contribution.enrolment_id == row.id)).scalars().all():
            contributions.record_payment(s, OFFICER, due.id, due.amount, "counter", f"p-{pid}-{due.id}", paid_on)
        s.flush()
        s.refresh(row)
        s.expunge(row)
        return row


def test_paid_inside_the_window_cover_starts_on_1_january(bureau: Bureau) -> None:
    """2025's window runs from 2024-09-01 to 2024-12-31: paid on 2024-10-15, covered all 2025."""
    row = _enrol_and_pay(bureau, _person(bureau), 2025, date(2024, 10, 15))
    assert (row.status, row.cover_start, row.cover_end) == ("active", date(2025, 1, 1), date(2025, 12, 31))


def test_paid_outside_the_window_cover_starts_after_the_waiting_period(bureau: Bureau) -> None:
    """Paid on 2025-02-10, after the window: the fixed waiting period of 3 months (国办发〔2024〕38号) runs from the
    payment, cover starts 2025-05-10."""
    row = _enrol_and_pay(bureau, _person(bureau), 2025, date(2025, 2, 10))
    assert (row.cover_start, row.cover_end) == (date(2025, 5, 10), date(2025, 12, 31))


def test_before_2025_the_city_had_no_waiting_period(bureau: Bureau) -> None:
    row = _enrol_and_pay(bureau, _person(bureau), 2024, date(2024, 6, 30))
    assert row.cover_start == date(2024, 1, 1)


def test_after_a_break_the_wait_grows_by_a_month_per_year_without_cover(bureau: Bureau) -> None:
    """Insured in 2023, not in 2024; enrolled for 2025 inside the window (2024-11-01): 1 year without cover gives
    3 + 1 = 4 months, so cover starts 2025-03-01. The break also restarts the count of consecutive years."""
    pid = _person(bureau)
    _enrol_and_pay(bureau, pid, 2023, date(2022, 12, 1))
    row = _enrol_and_pay(bureau, pid, 2025, date(2024, 11, 1))
    assert (row.cover_start, row.consecutive_years, row.cap_raise) == (date(2025, 3, 1), 1, 0)


def _claim(bureau: Bureau, claim_id: str, pid: str, day: date, class_a: str) -> dict[str, object]:
    with bureau.store.transaction() as s:
        row = claims.submit(s, OFFICER, "H2", ClaimIn(
            claim_id=claim_id, person_id=pid, service_date=day, region=REGION, facility_level=2, care_type="inpatient",
            amount_class_a=class_a, amount_class_b="0", amount_self_pay="0", amount_special_drugs="0"), claim_id)
        return claim_view(row)


def test_continuity_raises_the_serious_illness_cap_and_a_year_of_fund_use_costs_its_reward(bureau: Bureau) -> None:
    """Insured 2023-2027 in a row, no claims. The raises are 0 in the rules of 2023 and 2024; from 2025 each
    earlier year of the run without fund use gives 1,000: 2025 (3rd year) 2 x 1,000, 2026 3 x 1,000; 2027 is the
    5th consecutive year, so 1 x 1,000 for continuity and 4 x 1,000 for the earlier years: 5,000 yuan. Another
    member who was paid by the pooled fund in 2025 has 3 earlier years without use in 2027: 1,000 + 3,000."""
    steady, patient = _person(bureau), _person(bureau)
    for year in range(2023, 2028):
        for pid in (steady, patient):
            row = _enrol_and_pay(bureau, pid, year, date(year - 1, 12, 1))
        if year == 2025:
            paid = _claim(bureau, "C-2025", patient, date(2025, 6, 1), "1000")
            assert paid["paid"]["basic"] == "300.00"  # type: ignore[index]  # (1,000 - 600) x 75%
    with bureau.store.transaction() as s:
        steady_rows = {y: registry.enrolment(s, steady, y) for y in range(2023, 2028)}
        patient_2027 = registry.enrolment(s, patient, 2027)
        assert [(r.consecutive_years, r.cap_raise) for r in steady_rows.values()] == [
            (1, 0), (2, 0), (3, 2000_00), (4, 3000_00), (5, 5000_00)]
        assert row.consecutive_years == 5 and patient_2027 is not None and patient_2027.cap_raise == 4000_00


def test_a_break_resets_the_continuity_reward(bureau: Bureau) -> None:
    pid = _person(bureau)
    for year in (2023, 2024, 2025, 2026):
        _enrol_and_pay(bureau, pid, year, date(year - 1, 12, 1))
    row = _enrol_and_pay(bureau, pid, 2028, date(2027, 12, 1))  # 2027 missed
    # paid in the window, but after a year without cover: 3 + 1 months from the payment on 2027-12-01
    assert (row.consecutive_years, row.cap_raise, row.cover_start) == (1, 0, date(2028, 4, 1))


def _allocations(s: object, contribution_id: int) -> list[tuple[str, int]]:
    rows = s.execute(  # type: ignore[attr-defined]
        select(Posting.account, Posting.amount).join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.reference == f"contribution:{contribution_id}", JournalEntry.kind == "allocation")
        .order_by(Posting.id)
    ).all()
    return [(a, int(v)) for a, v in rows]


def test_a_dibao_member_owes_the_part_assistance_does_not_pay(bureau: Bureau) -> None:
    """Dibao: assistance pays 70% of the 400 (280), the member 120; each is a residents' contribution, 5% to
    serious-illness financing: 14 and 6."""
    pid = _person(bureau, AssistanceCategory.DIBAO)
    row = _enrol_and_pay(bureau, pid, 2024, date(2023, 12, 1))
    with bureau.store.transaction() as s:
        owed = s.execute(select(Contribution).where(Contribution.enrolment_id == row.id).order_by(Contribution.id)).scalars().all()
        assert [(c.source, c.amount) for c in owed][:2] == [("assistance", 280_00), ("individual", 120_00)]
        assert _allocations(s, owed[0].id) == [
            (f"{REGION}:2024:contribution_income:assistance", 280_00),
            (f"{REGION}:2024:serious_illness:in:assistance", -14_00),
            (f"{REGION}:2024:basic_pooled_fund:in:assistance", -266_00)]
        assert _allocations(s, owed[1].id)[1] == (f"{REGION}:2024:serious_illness:in:individual", -6_00)


def test_the_category_on_the_due_date_decides_the_contribution(bureau: Bureau) -> None:
    """Dibao only from 2024-03-01: on the due date of a 2024 enrolment made in the window (1 January) the member
    was not, so they owe the full 400."""
    pid = _person(bureau, AssistanceCategory.DIBAO, since=date(2024, 3, 1))
    row = _enrol_and_pay(bureau, pid, 2024, date(2023, 12, 1))
    with bureau.store.transaction() as s:
        owed = s.execute(select(Contribution.source, Contribution.amount).where(Contribution.enrolment_id == row.id)).all()
    assert ("individual", 400_00) in owed and all(source != "assistance" for source, _ in owed)


def test_a_category_ending_mid_year_changes_settlement_from_its_date(bureau: Bureau) -> None:
    """Dibao until 2024-06-30. Two like admissions of 10,000 (class A) at level 2:
    * 2024-05-10: basic (10,000 - 600) x 75% = 7,050; serious illness: 2,950 is below the dibao threshold of 7,500;
      assistance (dibao 70%) 2,950 x 70% = 2,065; out of pocket 885;
    * 2024-08-10: second admission, deductible halved to 300: basic (10,000 - 300) x 75% = 7,275; serious illness:
      the year's 2,950 + 2,725 = 5,675 is below 15,000; no category any more, no assistance; out of pocket 2,725."""
    pid = _person(bureau, AssistanceCategory.DIBAO, since=date(2023, 1, 1), until=date(2024, 6, 30))
    _enrol_and_pay(bureau, pid, 2024, date(2023, 12, 1))
    may = _claim(bureau, "C-may", pid, date(2024, 5, 10), "10000")
    august = _claim(bureau, "C-aug", pid, date(2024, 8, 10), "10000")
    assert (may["paid"]["basic"], may["paid"]["serious_illness"], may["paid"]["assistance"], may["out_of_pocket"]) == (  # type: ignore[index]
        "7050.00", "0.00", "2065.00", "885.00")
    assert (august["paid"]["basic"], august["paid"]["assistance"], august["out_of_pocket"]) == (  # type: ignore[index]
        "7275.00", "0.00", "2725.00")


def test_a_retiree_account_receives_the_yearly_credit_from_the_pool(bureau: Bureau) -> None:
    pid = bureau.person(InsuranceScheme.UEBMI_RETIREE)
    with bureau.store.transaction() as s:
        own = ledger.Account(REGION, 2024, ledger.AccountKind.INDIVIDUAL_ACCOUNT, pid)
        out = ledger.Account(REGION, 2024, ledger.AccountKind.BASIC_POOLED_FUND, "out:retiree_accounts")
        assert (ledger.balance(s, own), ledger.balance(s, out)) == (-720_00, 720_00)


def test_lottery_income_and_budget_transfers_go_to_the_assistance_fund(bureau: Bureau) -> None:
    with bureau.store.transaction() as s:
        contributions.receive_transfer(s, OFFICER, REGION, 2024, 300_00, "bank", "lottery-1", contributions.ContributionSource.LOTTERY)
        contributions.receive_transfer(s, OFFICER, REGION, 2024, 700_00, "bank", "budget-1",
                                       contributions.ContributionSource.ASSISTANCE_BUDGET)
        fund = ledger.AccountKind.ASSISTANCE_FUND
        assert ledger.balance(s, ledger.Account(REGION, 2024, fund, "in:lottery")) == -300_00
        assert ledger.balance(s, ledger.Account(REGION, 2024, fund, "in:assistance_budget")) == -700_00


PEOPLE = st.lists(
    st.tuples(
        st.sampled_from(list(InsuranceScheme)), st.sampled_from(list(AssistanceCategory)), st.booleans(),
        st.integers(1, 1_000_000_00), st.sampled_from([2024, 2025]),
    ),
    min_size=1, max_size=4,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=PEOPLE)
def test_every_contribution_is_allocated_to_the_last_fen_and_the_ledger_balances(bureau: Bureau, people: list[
        tuple[InsuranceScheme, AssistanceCategory, bool, int, int]]) -> None:
    paid_ids: list[int] = []
    for scheme, category, huiminbao, wage_fen, year in people:
        pid = _person(bureau, None if category is AssistanceCategory.NONE else category)
        wage = f"{wage_fen // 100}.{wage_fen % 100:02d}" if scheme is InsuranceScheme.UEBMI_EMPLOYEE else None
        row = _enrol_and_pay(bureau, pid, year, date(year - 1, 12, 1), scheme, huiminbao=huiminbao, wage=wage)
        with bureau.store.transaction() as s:
            paid_ids += [c.id for c in s.execute(select(Contribution).where(Contribution.enrolment_id == row.id)).scalars()]
    with bureau.store.transaction() as s:
        for contribution_id in paid_ids:
            c = s.get(Contribution, contribution_id)
            assert c is not None and c.status == "paid"
            lines = _allocations(s, contribution_id)
            if c.source == "huiminbao_premium":
                assert lines == []
                continue
            debit, *credits = lines
            assert debit == (f"{c.region}:{c.year}:contribution_income:{c.source}", c.amount)
            assert sum(v for _, v in credits) == -c.amount and all(v <= 0 for _, v in credits)
        assert ledger.trial_balance(s).balanced and ledger.unbalanced_entries(s) == []
