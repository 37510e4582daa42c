"""Year-end posting of a contract into the operations ledger, on SQLite and PostgreSQL.

A year of claims goes through the operations service; the reconciliation reads
the year from the ledger and posts only the contract's movements. Every expected
balance is computed by hand below (yuan).

The year (reference city 2024, residents' scheme):
* P0001, level-3 inpatient, class A 100,000: basic 65% × (100,000 − 1,500) = 64,025;
  serious-illness base 35,975, deductible 15,000 → 60% × 20,975 = 12,585.00.
* P0002, level-2 inpatient, class A 10,000: basic 75% × 9,400 = 7,050; base 2,950 (below the deductible);
  then level-3 inpatient 40,000, second admission (deductible 750): basic 65% × 39,250 = 25,512.50,
  base 14,487.50 → cumulative 17,437.50 → 60% × 2,437.50 = 1,462.50.
* P0003 enrolled, no claims. P0004 enrolled but unpaid (pending), P0005 an employee (UEBMI): not covered.
So C = 14,047.50 in 2 claims, 3 enrollees.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.ops.ops_bureau import OFFICER, REGION, Bureau, pg_store
from yibao.contracts import (
    AdminCost,
    Contract,
    Corridor,
    YearExperience,
    ledger_entries,
    load_contract,
    net_balances,
    posting,
)
from yibao.core.errors import YibaoError
from yibao.core.model import InsuranceScheme
from yibao.core.money import RatePpm, parse_rate, parse_yuan
from yibao.ops import claims, ledger
from yibao.ops.audit import Actor
from yibao.ops.ledger import AccountKind
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import ClaimIn
from yibao.ops.store import AuditEvent, JournalEntry, Store, make_engine

FACILITY = Actor("hospital", "facility")

# The built-in contracts with round figures (premiums sized for a city of 3 enrollees).
JIANGYIN = replace(
    load_contract("jiangyin-fund-management"),
    fee_per_enrollee=parse_yuan("2"),
    fee_rate_of_claims=parse_rate("0.01"),
    fund_admin=AdminCost(parse_yuan("1"), parse_yuan("20")),
    insurer_admin=AdminCost(parse_yuan("1.50"), parse_yuan("30")),
)
ZHANJIANG = replace(
    load_contract("zhanjiang-insurance-contract"),
    expense_allowance_rate=parse_rate("0.03"),
    corridor=Corridor(parse_rate("0.04"), RatePpm(0), parse_rate("0.05"), parse_rate("0.5")),
)
PINGGU = replace(
    load_contract("pinggu-co-insurance"),
    fee_per_enrollee=parse_yuan("1"),
    corridor=Corridor(RatePpm(0), parse_rate("0.5"), RatePpm(0), parse_rate("0.5")),
)


def premium(contract: Contract, per_enrollee: str) -> Contract:
    return replace(contract, premium_per_enrollee=parse_yuan(per_enrollee))


def yuan(text: str) -> int:
    negative = text.startswith("-")
    fen = parse_yuan(text.lstrip("-").replace(",", ""))
    return -fen if negative else fen


def submit(
    store: Store, claim_id: str, person_id: str, day: date, class_a: str, level: int, care: str = "inpatient"
) -> None:
    bill = ClaimIn(
        claim_id=claim_id, person_id=person_id, service_date=day, region=REGION,
        facility_level=level, care_type=care, amount_class_a=class_a,  # type: ignore[arg-type]
    )  # fmt: skip
    with store.transaction() as s:
        claims.submit(s, FACILITY, f"H{level}", bill, claim_id)


def enrol_city(bureau: Bureau) -> list[str]:
    """Three covered enrollees, one unpaid resident and one employee (not covered)."""
    covered = [bureau.person() for _ in range(3)]
    bureau.person(pay=False)
    bureau.person(scheme=InsuranceScheme.UEBMI_EMPLOYEE, wage="100000")
    return covered


def year_of_claims(store: Store) -> Bureau:
    """The year of the module docstring: C = 14,047.50 in 2 serious-illness claims, 3 enrollees."""
    bureau = Bureau(store)
    p1, p2, _ = enrol_city(bureau)
    submit(store, "A1", p1, date(2024, 3, 1), "100000", level=3)
    submit(store, "B1", p2, date(2024, 3, 1), "10000", level=2)
    submit(store, "B2", p2, date(2024, 6, 1), "40000", level=3)
    return bureau


def year_without_serious_illness(store: Store) -> Bureau:
    """The same city with one outpatient visit (basic pays 60% of 100): C = 0."""
    bureau = Bureau(store)
    p1, _, _ = enrol_city(bureau)
    submit(store, "O1", p1, date(2024, 3, 1), "100", level=1, care="outpatient")
    return bureau


YEARS = {"claims": year_of_claims, "zero": year_without_serious_illness}


@dataclass(frozen=True)
class Scenario:
    contract: Contract
    year: str
    fund: str  # bal S after posting = fund outlay
    insurer: str  # bal I after posting = claims borne by the insurer − its income
    movements: dict[str, str]  # memo ending -> amount


SCENARIOS = {
    # fee = 3 × 2 + 1% × 14,047.50 (= 140.475, half-up 140.48) = 146.48; the fund keeps the claims.
    "fund management": Scenario(
        JIANGYIN, "claims", fund="14,193.98", insurer="-146.48", movements={"management fee": "146.48"}
    ),
    # P = 18,000, allowance 540, balance 3,412.50 > cap 720: 2,692.50 returns. Income 15,307.50.
    "contract, surplus above the cap": Scenario(
        premium(ZHANJIANG, "6000"),
        "claims",
        fund="15,307.50",
        insurer="-1,260.00",
        movements={
            "premium for 3 enrollees": "18,000",
            "serious-illness claims borne by the insurer": "14,047.50",
            "surplus above the profit cap returned": "2,692.50",
        },
    ),
    # P = 14,100, allowance 423, balance −370.50 inside the band 705: nothing moves back.
    "contract, loss inside the band": Scenario(
        premium(ZHANJIANG, "4700"),
        "claims",
        fund="14,100.00",
        insurer="-52.50",
        movements={"premium for 3 enrollees": "14,100", "serious-illness claims borne by the insurer": "14,047.50"},
    ),
    # P = 12,000, allowance 360, balance −2,407.50, band 600: excess 1,807.50, the fund pays half, 903.75.
    "contract, loss beyond the band": Scenario(
        premium(ZHANJIANG, "4000"),
        "claims",
        fund="12,903.75",
        insurer="1,143.75",
        movements={
            "premium for 3 enrollees": "12,000",
            "serious-illness claims borne by the insurer": "14,047.50",
            "fund's share of the loss beyond the band": "903.75",
        },
    ),
    # P = 15,000, fee 3, balance 952.50 split half and half: 476.25 back to the fund.
    "co-insurance, surplus": Scenario(
        premium(PINGGU, "5000"),
        "claims",
        fund="14,526.75",
        insurer="-479.25",
        movements={
            "premium for 3 enrollees": "15,000",
            "management fee": "3",
            "serious-illness claims borne by the insurer": "14,047.50",
            "fund's share of the surplus": "476.25",
        },
    ),
    # P = 12,000, fee 3, deficit 2,047.50 split half and half: the fund pays 1,023.75.
    "co-insurance, deficit": Scenario(
        premium(PINGGU, "4000"),
        "claims",
        fund="13,026.75",
        insurer="1,020.75",
        movements={
            "premium for 3 enrollees": "12,000",
            "management fee": "3",
            "serious-illness claims borne by the insurer": "14,047.50",
            "fund's share of the deficit": "1,023.75",
        },
    ),
    # No claims: P = 18,000, balance 17,460, cap 720: 16,740 returns; the insurer keeps cap + allowance.
    "contract, zero claims": Scenario(
        premium(ZHANJIANG, "6000"),
        "zero",
        fund="1,260.00",
        insurer="-1,260.00",
        movements={"premium for 3 enrollees": "18,000", "surplus above the profit cap returned": "16,740"},
    ),
    "fund management, zero claims": Scenario(
        JIANGYIN, "zero", fund="6.00", insurer="-6.00", movements={"management fee": "6"}
    ),
    "co-insurance, zero claims": Scenario(
        premium(PINGGU, "5000"),
        "zero",
        fund="7,503.00",
        insurer="-7,503.00",
        movements={"premium for 3 enrollees": "15,000", "management fee": "3", "fund's share of the surplus": "7,500"},
    ),
}


def facility_total(s: object, year: int = 2024) -> int:
    tb = ledger.trial_balance(s, region=REGION, year=year, kinds=[AccountKind.FACILITY_PAYABLE.value])  # type: ignore[arg-type]
    return sum(row.balance for row in tb.rows)


def contract_entries(store: Store) -> int:
    with store.transaction() as s:
        return int(s.execute(select(func.count()).where(JournalEntry.kind == posting.CONTRACT_KIND)).scalar_one())


def audit_count(store: Store) -> int:
    with store.transaction() as s:
        return int(s.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_posting_gives_each_party_its_hand_computed_result(store: Store, name: str) -> None:
    case = SCENARIOS[name]
    YEARS[case.year](store)
    claims_paid, count = ("14,047.50", 2) if case.year == "claims" else ("0", 0)
    fund, insurer = posting.fund_account(case.contract), posting.insurer_account(case.contract)
    with store.transaction() as s:
        others_before = {r.account: r.balance for r in ledger.trial_balance(s).rows}
        assert ledger.balance(s, fund) == yuan(claims_paid)
        payables = facility_total(s)
    with store.transaction() as s:
        done = posting.post_year_end(s, OFFICER, case.contract, REGION, 2024)
    rec = done.reconciliation
    assert rec.experience == YearExperience(enrollees=3, claims_paid=yuan(claims_paid), claims=count)
    assert {m.memo.split(": ", 1)[1]: m.amount for m in done.movements} == {
        k: yuan(v) for k, v in case.movements.items()
    }
    with store.transaction() as s:
        assert ledger.balance(s, fund) == yuan(case.fund) == rec.fund_outlay
        assert ledger.balance(s, insurer) == yuan(case.insurer) == rec.claims_borne_by_insurer - rec.insurer_income
        assert facility_total(s) == payables  # the hospitals are owed what the claims posted, no more
        tb = ledger.trial_balance(s)
        assert tb.balanced and ledger.unbalanced_entries(s) == []
        after = {r.account: r.balance for r in tb.rows}
        assert {k: v for k, v in after.items() if k not in (fund.code, insurer.code)} == {
            k: v for k, v in others_before.items() if k != fund.code
        }
        found = ledger.entries(s, reference=done.reference)
        assert [e.id for e, _ in found] == list(done.entry_ids)
        assert {e.kind for e, _ in found} == {posting.CONTRACT_KIND}
        event = s.execute(select(AuditEvent).where(AuditEvent.action == posting.POSTED_ACTION)).scalar_one()
        assert (event.actor, event.entity_id, event.after["entries"]) == (
            OFFICER.name,
            done.reference,
            list(done.entry_ids),
        )


@pytest.mark.parametrize("name", ["fund management", "contract, loss beyond the band", "co-insurance, surplus"])
def test_ledger_balances_are_the_cash_flow_view_with_signs_turned(store: Store, name: str) -> None:
    """The posted balances of fund, insurer and hospitals equal `ledger_entries` (money received − given), negated."""
    case = SCENARIOS[name]
    YEARS[case.year](store)
    with store.transaction() as s:
        rec = posting.post_year_end(s, OFFICER, case.contract, REGION, 2024).reconciliation
    fund, insurer = posting.fund_account(case.contract), posting.insurer_account(case.contract)
    with store.transaction() as s:
        ops = {fund.code: ledger.balance(s, fund), insurer.code: ledger.balance(s, insurer)}
    cash = net_balances(ledger_entries(rec))
    assert ops == {fund.code: -cash[fund.code], insurer.code: -cash[insurer.code]}
    # what the cash view pays the hospitals is what the claims credited to them during the year
    assert cash[f"{REGION}:2024:facility_payable"] == rec.experience.claims_paid == yuan("14,047.50")


def test_reposting_is_refused_and_writes_nothing(store: Store) -> None:
    year_of_claims(store)
    contract = premium(ZHANJIANG, "6000")
    with store.transaction() as s:
        posting.post_year_end(s, OFFICER, contract, REGION, 2024)
    entries, events = contract_entries(store), audit_count(store)
    for again, code in ((contract, "contracts.already_posted"), (JIANGYIN, "contracts.year_already_posted")):
        with pytest.raises(YibaoError) as err, store.transaction() as s:
            posting.post_year_end(s, OFFICER, again, REGION, 2024)
        assert err.value.code == code
    assert (contract_entries(store), audit_count(store)) == (entries, events)


def test_a_failure_half_way_writes_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    year_of_claims(store)
    real_post, calls = ledger.post, []

    def failing(*args: object, **kwargs: object) -> int | None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real_post(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "post", failing)
    events = audit_count(store)
    with pytest.raises(RuntimeError), store.transaction() as s:
        posting.post_year_end(s, OFFICER, premium(ZHANJIANG, "6000"), REGION, 2024)
    assert len(calls) == 3 and contract_entries(store) == 0 and audit_count(store) == events
    monkeypatch.undo()
    with store.transaction() as s:  # and the posting can then be made whole
        assert len(posting.post_year_end(s, OFFICER, premium(ZHANJIANG, "6000"), REGION, 2024).entry_ids) == 3


def test_enrollees_given_and_the_ledger_after_corrections(store: Store) -> None:
    year_of_claims(store)
    with store.transaction() as s:
        claims.reverse(s, OFFICER, "B2")  # withdraws 1,462.50
        assert posting.ledger_experience(s, REGION, 2024) == YearExperience(3, yuan("12,585.00"), 1)
        rec = posting.post_year_end(s, OFFICER, premium(ZHANJIANG, "6000"), REGION, 2024, enrollees=10).reconciliation
    # P = 60,000, allowance 1,800, balance 45,615, cap 2,400: 43,215 returns.
    assert (rec.premium, rec.surplus_refund, rec.fund_outlay) == (yuan("60,000"), yuan("43,215"), yuan("16,785"))


def test_bad_requests_are_refused_with_a_code(store: Store) -> None:
    year_of_claims(store)
    cases = [
        (lambda s: posting.post_year_end(s, OFFICER, ZHANJIANG, REGION, 2025), "contracts.region_year_mismatch"),
        (lambda s: posting.post_year_end(s, OFFICER, ZHANJIANG, "other-city", 2024), "contracts.region_year_mismatch"),
        (
            lambda s: posting.post_year_end(s, OFFICER, replace(ZHANJIANG, region="nowhere"), "nowhere", 2024),
            "region.not_found",
        ),
        (
            lambda s: posting.post_year_end(s, OFFICER, replace(ZHANJIANG, name="x" * 120), REGION, 2024),
            "contracts.name_too_long",
        ),
        (
            lambda s: posting.post_year_end(s, OFFICER, replace(JIANGYIN, year=2023), REGION, 2023),
            "contracts.nothing_to_post",
        ),
    ]
    for call, code in cases:
        with pytest.raises(YibaoError) as err, store.transaction() as s:
            call(s)
        assert err.value.code == code
    assert contract_entries(store) == 0


def test_posted_reads_back_what_was_posted(store: Store) -> None:
    year_of_claims(store)
    contract = premium(ZHANJIANG, "4000")
    with store.transaction() as s:
        assert posting.posted(s, contract, REGION, 2024) is None
        done = posting.post_year_end(s, OFFICER, contract, REGION, 2024)
    submit(store, "A2", "P0001", date(2024, 12, 1), "20000", level=3)  # a claim after the year end
    with store.transaction() as s:
        again = posting.posted(s, contract, REGION, 2024)
        assert again == done
        assert (
            posting.preview(s, contract, REGION, 2024).experience.claims_paid
            > done.reconciliation.experience.claims_paid
        )
        with pytest.raises(YibaoError) as err:
            posting.posted(s, premium(ZHANJIANG, "4001"), REGION, 2024)
        assert err.value.code == "contracts.changed_since_posting"


def test_concurrent_postings_on_postgresql_post_once(pg_url: str) -> None:
    store = next(stores := pg_store(pg_url))
    try:
        year_of_claims(store)
        barrier, outcomes = threading.Barrier(4), []

        def post() -> None:
            barrier.wait()
            try:
                with store.transaction() as s:
                    posting.post_year_end(s, OFFICER, premium(ZHANJIANG, "6000"), REGION, 2024)
                outcomes.append("posted")
            except YibaoError as exc:
                outcomes.append(exc.code)

        threads = [threading.Thread(target=post) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["contracts.already_posted"] * 3 + ["posted"]
        assert contract_entries(store) == 3
    finally:
        stores.close()


def test_post_command_dry_run_then_post_then_refuse(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from yibao.cli.main import app

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    year_of_claims(Store(engine))
    contract = tmp_path / "zhanjiang-small-city.yaml"
    text = (Path(posting.__file__).parent / "builtin/zhanjiang-insurance-contract.yaml").read_text(encoding="utf-8")
    contract.write_text(text.replace("value: 53.90", "value: 4000"), encoding="utf-8")  # P = 12,000
    runner, env = CliRunner(), {"COLUMNS": "250"}
    args = [
        "contracts",
        "post",
        "--contract",
        str(contract),
        "--region",
        REGION,
        "--year",
        "2024",
        "--database-url",
        url,
    ]
    dry = runner.invoke(app, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing written" in dry.output and contract_entries(Store(engine)) == 0
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 0, done.output
    assert "posted 3 entries, reference contract:reference-city:2024:zhanjiang-insurance-contract" in done.output
    # allowance 6% = 720, balance −2,767.50, band 10% = 1,200: the fund pays half of 1,567.50
    for text in ("12000.00", "14047.50", "783.75", "serious_illness_insurer:example-life-hypothetical"):
        assert text in done.output and text in dry.output
    assert "12783.75" in done.output  # the fund's balance after posting: its outlay
    assert contract_entries(Store(engine)) == 3
    again = runner.invoke(app, args, env=env)
    assert isinstance(again.exception, YibaoError) and again.exception.code == "contracts.already_posted"
    engine.dispose()
