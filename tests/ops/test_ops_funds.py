"""The fund report (yibao.ops.funds): a hand-computed region-year, and a property: over random balanced postings
on the funds' accounts the report equals a fresh computation from the entries. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_bureau import OFFICER, Bureau

from yibao.core.money import Fen
from yibao.ops import funds, ledger
from yibao.ops.funds import Fund
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.store import ClaimRow, Contribution, Region, Store, utcnow

SOURCES = ["individual", "employer", "government_subsidy_central", "government_subsidy_local", "assistance",
           "donation", "lottery"]
ENTRY_KINDS = ["allocation", "claim", "adjustment", "reversal", "contract", "retiree_account_credit", "family_contribution"]
FUND_OF = {f: AccountKind(f.value) for f in Fund}
_regions = itertools.count()


def new_region(store: Store) -> str:
    code = f"R{next(_regions)}"
    with store.transaction() as s:
        s.add(Region(code=code, name=code, scheme_name="reference-city", average_wage=100_000_00))
    return code


def add_claim(store: Store, claim_id: str, person_id: str, care_type: str) -> None:
    with store.transaction() as s:
        s.add(ClaimRow(
            claim_id=claim_id, facility_id="H1", idempotency_key=claim_id, person_id=person_id,
            service_date=date(2024, 3, 1), region="reference-city", facility_level=1, care_type=care_type,
            class_a=0, class_b=0, self_pay=0, special_drugs=0, diagnosis="", status="settled",
            scheme_name="reference-city", split={}, out_of_pocket=0, explanation={}, submitted_at=utcnow(),
        ))


def add_contribution(store: Store, region: str, year: int, source: str) -> int:
    with store.transaction() as s:
        row = Contribution(region=region, year=year, source=source, amount=1, status="paid")
        s.add(row)
        s.flush()
        return row.id


def post(store: Store, kind: str, reference: str, lines: list[Line]) -> None:
    with store.transaction() as s:
        ledger.post(s, OFFICER, kind, reference, "test", lines)


def test_a_hand_computed_year(store: Store) -> None:
    """Basic pooled fund of 2024: employer income 600 + central subsidy 300 + local 100 = 1,000 yuan; claims:
    inpatient 240 then a reversal of 40 (net 200), outpatient 50; retirees' accounts 70 → outlays 320; balance
    680. 2023 left 280 in the fund, so the accumulated balance is 960; average monthly outlay 320 / 12 = 26.67, so
    960 / 26.67 = 36.0 months. The individual account of P credited 70 (from the pool) and 90 (own contribution),
    spent 30 on an outpatient claim: balance 130, months 130 × 12 / 30 = 52.0."""
    bureau = Bureau(store)
    person = bureau.person(pay=False)
    region, y = new_region(store), 2024
    add_claim(store, f"{region}-in", person, "inpatient")
    add_claim(store, f"{region}-out", person, "outpatient")
    fund = Account(region, y, AccountKind.BASIC_POOLED_FUND)
    income = Account(region, y, AccountKind.CONTRIBUTION_INCOME, "employer")
    payable = Account(region, y, AccountKind.FACILITY_PAYABLE, "H1")
    account = Account(region, y, AccountKind.INDIVIDUAL_ACCOUNT, person)

    def pooled(sub: str) -> Account:
        return Account(region, y, AccountKind.BASIC_POOLED_FUND, sub)

    post(store, "allocation", "contribution:x", [
        Line(income, 1000_00), Line(pooled("in:employer"), -600_00),
        Line(pooled("in:government_subsidy_central"), -300_00), Line(pooled("in:government_subsidy_local"), -100_00)])
    post(store, "claim", f"claim:{region}-in", [Line(fund, 240_00), Line(payable, -240_00)])
    post(store, "reversal", f"claim:{region}-in", [Line(fund, -40_00), Line(payable, 40_00)])
    post(store, "claim", f"claim:{region}-out", [Line(fund, 50_00), Line(account, 30_00), Line(payable, -80_00)])
    post(store, "retiree_account_credit", f"retiree:{person}", [Line(pooled("out:retiree_accounts"), 70_00), Line(account, -70_00)])
    contribution = add_contribution(store, region, y, "individual")
    post(store, "allocation", f"contribution:{contribution}", [Line(income, 90_00), Line(account, -90_00)])
    post(store, "allocation", "contribution:old", [
        Line(Account(region, y - 1, AccountKind.CONTRIBUTION_INCOME, "employer"), 280_00),
        Line(Account(region, y - 1, AccountKind.BASIC_POOLED_FUND, "in:employer"), -280_00)])
    with store.transaction() as s:
        report = funds.fund_report(s, region, y)
    basic = report.fund(Fund.BASIC_POOLED_FUND)
    assert basic.income == {"employer": 600_00, "government_subsidy_central": 300_00, "government_subsidy_local": 100_00}
    assert set(basic.outlays) == {funds.Outlay("claims", "inpatient", 200_00), funds.Outlay("claims", "outpatient", 50_00),
                                  funds.Outlay("retiree_accounts", "", 70_00)}
    assert (basic.total_outlay, basic.balance, basic.accumulated) == (320_00, 680_00, 960_00)
    assert basic.months_covered == Decimal("36.0")
    accounts = report.fund(Fund.INDIVIDUAL_ACCOUNTS)
    assert accounts.income == {"individual": 90_00, "retiree_account_credit": 70_00}
    assert accounts.outlays == (funds.Outlay("claims", "outpatient", 30_00),)
    assert (accounts.balance, accounts.accumulated, accounts.months_covered) == (130_00, 130_00, Decimal("52.0"))
    assert report.fund(Fund.SERIOUS_ILLNESS).months_covered is None
    assert funds.plain(report)["funds"][0]["months_covered"] == "36.0"  # type: ignore[index]


# --- the property: the report equals a fresh computation from the entries ---------------------------------------

movement = st.fixed_dictionaries({
    "fund": st.sampled_from(list(Fund)),
    "sub": st.sampled_from(["", *(f"in:{s}" for s in SOURCES), "out:retiree_accounts", "out:transfer", "P"]),
    "amount": st.integers(min_value=-10**12, max_value=10**12).filter(lambda a: a != 0),
    "kind": st.sampled_from(ENTRY_KINDS),
    "reference": st.sampled_from(["claim:in", "claim:out", "claim:gone", "contribution", "other"]),
    "year": st.sampled_from([2023, 2024, 2025]),
    "source": st.sampled_from(SOURCES),
})


def fresh(store: Store, region: str, year: int) -> dict[str, Any]:
    """Each fund's income by source, outlays by (kind, care type), balance and accumulated balance, from every
    entry of the journal read back one by one."""
    with store.transaction() as s:
        care = {f"claim:{c.claim_id}": c.care_type for c in s.query(ClaimRow)}
        sources = {f"contribution:{c.id}": c.source for c in s.query(Contribution)}
        entries = ledger.entries(s, limit=10**6)
    out: dict[str, Any] = {f: {"income": defaultdict(int), "outlays": defaultdict(int), "accumulated": 0} for f in Fund}
    for entry, postings in entries:
        for p in postings:
            if p.region != region or p.kind not in funds.FUND_KINDS or p.year > year:
                continue
            fund = Fund(p.kind)
            out[fund]["accumulated"] -= p.amount
            if p.year != year:
                continue
            sub = p.account.split(":", 3)[3] if p.account.count(":") >= 3 else ""
            pooled = fund is not Fund.INDIVIDUAL_ACCOUNTS
            if pooled and sub.startswith("in:"):
                out[fund]["income"][sub[3:]] += -p.amount
            elif pooled and sub.startswith("out:"):
                out[fund]["outlays"][(sub[4:], "")] += p.amount
            elif entry.reference.startswith("claim:"):
                out[fund]["outlays"][("claims", care.get(entry.reference, ""))] += p.amount
            elif p.amount < 0:
                out[fund]["income"][sources.get(entry.reference, entry.kind)] += -p.amount
            else:
                out[fund]["outlays"][(entry.kind, "")] += p.amount
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.lists(movement, min_size=1, max_size=3), min_size=1, max_size=12))
def test_the_report_equals_a_fresh_computation_from_the_entries(store: Store, batch: list[list[dict[str, Any]]]) -> None:
    region = new_region(store)
    with store.transaction() as s:
        person = s.query(ClaimRow.person_id).first()
    if person is None:
        bureau = Bureau(store)
        pid = bureau.person(pay=False)
        add_claim(store, "claim-in", pid, "inpatient")
        add_claim(store, "claim-out", pid, "outpatient")
    for i, lines in enumerate(batch):
        reference = {"claim:in": "claim:claim-in", "claim:out": "claim:claim-out", "claim:gone": "claim:nowhere",
                     "other": f"other:{i}"}.get(lines[0]["reference"])
        if reference is None:
            reference = f"contribution:{add_contribution(store, region, 2024, lines[0]['source'])}"
        entry: list[Line] = []
        for m in lines:
            sub = f"{region}P" if m["fund"] is Fund.INDIVIDUAL_ACCOUNTS else ("" if m["sub"] == "P" else m["sub"])
            entry.append(Line(Account(region, m["year"], FUND_OF[m["fund"]], sub), m["amount"]))
        counter: Fen = -sum(line.amount for line in entry)
        entry.append(Line(Account(region, lines[0]["year"], AccountKind.FACILITY_PAYABLE, "H1"), counter))
        post(store, lines[0]["kind"], reference, entry)
    expected = fresh(store, region, 2024)
    with store.transaction() as s:
        report = funds.fund_report(s, region, 2024)
    for f in report.funds:
        want = expected[f.fund]
        assert {k: v for k, v in want["income"].items() if v} == {k: v for k, v in f.income.items() if v}
        got_outlays = {(o.kind, o.care_type): o.amount for o in f.outlays if o.amount}
        assert got_outlays == {k: v for k, v in want["outlays"].items() if v}
        assert f.accumulated == want["accumulated"]
        assert f.balance == sum(want["income"].values()) - sum(want["outlays"].values())


# --- the surfaces: the API (officer in scope, auditor) and the command ------------------------------------------


def test_the_api_and_the_command_show_the_report(tmp_path: Any) -> None:
    """A local subsidy of 1,200 yuan allocated to the pooled fund, a claim of 300 paid from it: balance 900,
    accumulated 900, months 900 / (300 / 12) = 36.0."""
    from test_ops_api import REGION, Api
    from typer.testing import CliRunner

    from yibao.cli.main import app
    from yibao.ops.migrate import upgrade
    from yibao.ops.store import make_engine

    url = f"sqlite:///{tmp_path / 'funds.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    api = Api(Store(engine))
    other = "other-city"  # no members: only the entries posted here
    with api.store.transaction() as s:
        fund = Account(other, 2024, AccountKind.BASIC_POOLED_FUND)
        ledger.post(s, OFFICER, "allocation", "contribution:1", "test", [
            Line(Account(other, 2024, AccountKind.CONTRIBUTION_INCOME, "government_subsidy_local"), 1200_00),
            Line(Account(other, 2024, AccountKind.BASIC_POOLED_FUND, "in:government_subsidy_local"), -1200_00)])
        ledger.post(s, OFFICER, "claim", "claim:none", "test", [
            Line(fund, 300_00), Line(Account(other, 2024, AccountKind.FACILITY_PAYABLE, "H2"), -300_00)])
    for role in ("auditor", "admin"):
        report = api.call(role, "GET", f"/funds/{other}/2024")
        basic = report["funds"][0]
        assert basic == {"fund": "basic_pooled_fund", "income": {"government_subsidy_local": "1200.00"},
                         "total_income": "1200.00", "outlays": [{"kind": "claims", "care_type": None, "amount": "300.00"}],
                         "total_outlay": "300.00", "balance": "900.00", "accumulated_balance": "900.00",
                         "months_covered": "36.0"}  # 900 / (300 / 12) = 36
    # the officer's own region: its two residents' 400 yuan each, less the 5% that finances serious illness
    mine = api.call("officer", "GET", f"/funds/{REGION}/2024")["funds"]
    assert mine[0]["income"]["individual"] == "760.00" and mine[1]["income"]["individual"] == "40.00"
    for role in ("member", "facility", "insurer"):
        assert api.request(role, "GET", f"/funds/{REGION}/2024").status_code == 403
    assert api.call("officer", "GET", f"/funds/{other}/2024", ok=404)["code"] == "region.not_found"
    assert api.call("auditor", "GET", "/funds/nowhere/2024", ok=404)["code"] == "region.not_found"
    engine.dispose()
    runner = CliRunner()
    result = runner.invoke(app, ["funds", "report", "--database-url", url, "--region", "other-city", "--year", "2024",
                                 "--lang", "en"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Months of outlays covered" in result.output and "36.0" in result.output and "900.00" in result.output
    result = runner.invoke(app, ["funds", "report", "--database-url", url, "--region", "other-city", "--year", "2024"],
                           env={"COLUMNS": "200"})
    assert "累计结存可支付月数" in result.output and "地方财政补助" in result.output
    result = runner.invoke(app, ["funds", "report", "--database-url", url, "--region", "other-city", "--year", "2024", "--json"])
    assert json.loads(result.output)["funds"][0]["months_covered"] == "36.0"
    result = runner.invoke(app, ["funds", "report", "--database-url", url, "--region", "nowhere", "--year", "2024"])
    assert getattr(result.exception, "code", None) == "region.not_found"  # `yibao` prints it and exits 2
