"""The lab's revenue side: money in by source, each fund's result, out of pocket with and without accounts.

Figures are recomputed here by hand or by a plain per-person loop (Python integers, half-up rounding written out),
never by yibao.lab.revenue's own functions.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.lab.lab_population import LAYERS, fen, persons, settled
from yibao.lab.metrics import compute
from yibao.lab.report import Scenario, write_report
from yibao.lab.revenue import contribution_rules, money_in
from yibao.lab.synth import synthesize
from yibao.schemes import load_scheme
from yibao.schemes.contributions import rules_for


def _scenario(name: str, frame: pl.DataFrame, people: pl.DataFrame | None = None) -> Scenario:
    scheme = load_scheme("reference-city")
    people = persons() if people is None else people
    money = money_in(scheme, people, frame, contribution_rules("reference-city", "reference-city", 2024))
    return Scenario(name, name.title(), scheme, compute(people, frame, LAYERS), money=money)


def _reformed() -> pl.DataFrame:
    """Serious illness pays 1,000.01 yuan more on c4 (as in test_lab_report)."""
    more = pl.col("claim_id") == "c4"
    return settled().with_columns(
        pl.when(more).then(pl.col("paid_serious_illness") + 100_001).otherwise(pl.col("paid_serious_illness")),
        pl.when(more).then(pl.col("out_of_pocket") - 100_001).otherwise(pl.col("out_of_pocket")),
    )


def test_money_in_and_fund_results_of_the_five_person_city_by_hand() -> None:
    """reference-city 2024: residents 400 + subsidy 670 (central 60% = 402, local 268); dibao: assistance pays 70%
    of 400 = 280, the member 120; serious illness takes 5% of every resident contribution; employees 6% + 2% of the
    base (p3 earns 20,000 < floor 60,000: employer 3,600, employee 1,200, all of it to the account); retirees'
    account credit 720 from the employees' pool; Huiminbao premium 89 (p2).

    residents' money: individual 120 + 400 + 400 = 920, assistance 280, central 3 x 402 = 1,206, local 3 x 268 = 804;
    total 3,210, 5% = 160.50 to serious illness, 3,049.50 to the residents' pool.
    outlays (lab_population): basic pays 60 + 500 + 1,000 = 1,560 for residents, 5,000 + 30,000 for UEBMI;
    serious illness 10,000 (c4).
    results: residents' pool 3,049.50 - 1,560 = 1,489.50; employees' pool 3,600 - (35,000 + 720) = -32,120;
    serious illness 160.50 - 10,000 = -9,839.50; assistance 0 - 280 = -280; accounts 1,200 + 720 = 1,920;
    Huiminbao 89.
    """
    s = _scenario("baseline", settled())
    revenue = {(f.group, f.value) for f in s.figures if f.metric == "revenue.amount"}
    assert revenue == {
        ("urrbmi/individual", fen(920)),
        ("urrbmi/assistance", fen(280)),
        ("urrbmi/government_subsidy_central", fen(1_206)),
        ("urrbmi/government_subsidy_local", fen(804)),
        ("uebmi_employee/individual", fen(1_200)),
        ("uebmi_employee/employer", fen(3_600)),
        ("huiminbao/huiminbao_premium", fen(89)),
    }
    assert s.value("revenue.total", "all") == fen(8_099)
    results = {f.group: f.value for f in s.figures if f.metric == "fund.result"}
    assert results == {
        "urrbmi_pooled_fund": 148_950,
        "uebmi_pooled_fund": fen(-32_120),
        "serious_illness": -983_950,
        "assistance_fund": fen(-280),
        "individual_accounts": fen(1_920),
        "huiminbao": fen(89),
    }
    # no account layer settled here: out of pocket is not netted, cash and cash + account are the same
    assert s.value("personal.accounts_netted") == 0
    assert s.value("personal.amount", "cash") == s.value("personal.amount", "cash_and_account") == fen(16_541)


def test_fund_result_is_income_minus_outlay_and_reforms_change_only_outlays() -> None:
    base, reform = _scenario("baseline", settled()), _scenario("si-more", _reformed())
    for s in (base, reform):
        funds = {f.group for f in s.figures if f.metric == "fund.result"}
        assert funds
        for fund in funds:
            assert s.value("fund.result", fund) == s.value("fund.income", fund) - s.value("fund.outlay", fund)
    assert reform.value("fund.income", "serious_illness") == base.value("fund.income", "serious_illness")
    assert reform.value("fund.result", "serious_illness") == base.value("fund.result", "serious_illness") - 100_001


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def test_revenue_of_a_synthetic_city_equals_a_plain_recomputation() -> None:
    """Every person of a 4,000-person synthetic city, one by one, with the published figures of contributions.yaml."""
    city = synthesize(4_000, 2024, seed=21)
    r = rules_for("reference-city", "reference-city", 2024)
    floor = _half_up(r.base_floor * r.average_wage, 1_000_000)
    ceiling = _half_up(r.base_ceiling * r.average_wage, 1_000_000)
    central = _half_up(r.subsidy_central_share * r.resident_subsidy, 1_000_000)
    expected: Counter[str] = Counter()
    serious = 0
    for p in city.persons.iter_rows(named=True):
        if p["scheme"] == "urrbmi":
            share = r.assistance_share.get(p["assistance_category"], 0)
            assisted = _half_up(share * r.resident_individual, 1_000_000)
            parts = {
                "individual": r.resident_individual - assisted,
                "assistance": assisted,
                "government_subsidy_central": central,
                "government_subsidy_local": r.resident_subsidy - central,
            }
            for source, amount in parts.items():
                expected[f"urrbmi/{source}"] += amount
                serious += _half_up(r.serious_illness_share * amount, 1_000_000)
        elif p["scheme"] == "uebmi_employee":
            base = min(max(p["annual_income"], floor), ceiling)
            expected["uebmi_employee/employer"] += _half_up(r.employer_rate * base, 1_000_000)
            expected["uebmi_employee/individual"] += _half_up(r.employee_rate * base, 1_000_000)
        if p["huiminbao"]:
            expected["huiminbao/huiminbao_premium"] += r.huiminbao_premium
    scheme = load_scheme("reference-city")
    empty = pl.DataFrame(schema={"person_id": pl.String, "total": pl.Int64, "out_of_pocket": pl.Int64})
    money = money_in(scheme, city.persons, empty, r)
    assert money is not None
    got = {f"{scheme_}/{source}": amount for scheme_, source, _, amount in money.revenue.iter_rows()}
    assert got == {k: v for k, v in expected.items() if v}
    assert sum(money.income.by_fund["serious_illness"].values()) == serious
    # allocations sum to the money in: the pools, serious illness and the accounts share every public contribution
    public = sum(v for k, v in expected.items() if not k.startswith("huiminbao"))
    retiree_credit = r.retiree_account_credit * city.persons.filter(pl.col("scheme") == "uebmi_retiree").height
    allocated = sum(money.income.total(f) for f in ("urrbmi_pooled_fund", "uebmi_pooled_fund", "serious_illness"))
    assert allocated + money.income.total("individual_accounts") - retiree_credit == public


def test_a_scheme_without_contribution_rules_has_no_revenue_side(tmp_path: Path) -> None:
    assert money_in(load_scheme("reference-city"), persons(), settled(), None) is None
    s = Scenario("baseline", "Baseline", load_scheme("reference-city"), compute(persons(), settled(), LAYERS))
    page = write_report([s], tmp_path).html.read_text(encoding="utf-8")
    assert "has no contribution rules" in page


@pytest.mark.parametrize(
    ("lang", "title", "fund", "not_netted"),
    [
        ("en", "Money in and fund results", "Serious-illness insurance", "Individual accounts are NOT netted"),
        ("zh", "基金收入与收支结果", "大病保险", "未扣除个人账户"),
    ],
)
def test_report_shows_the_revenue_side_in_both_languages(
    tmp_path: Path, lang: str, title: str, fund: str, not_netted: str
) -> None:
    files = write_report([_scenario("baseline", settled()), _scenario("si-more", _reformed())], tmp_path, lang)
    page = files.html.read_text(encoding="utf-8")
    assert f"<h2>{title}</h2>" in page
    assert fund in page and not_netted in page
    assert "-9,839.50" in page and "-10,839.51" in page and "-1,000.01" in page  # SI result and its change
    assert "8,099.00" in page  # money in, total
    with files.figures_csv.open(encoding="utf-8") as f:
        rows = {(r["scenario"], r["metric"], r["group"]): r["value"] for r in csv.DictReader(f)}
    assert rows[("si-more", "fund.result", "serious_illness")] == "-10839.51"
    assert rows[("baseline", "revenue.amount", "urrbmi/assistance")] == "280.00"
    with files.deltas_csv.open(encoding="utf-8") as f:
        deltas = {(r["metric"], r["group"]): r["change"] for r in csv.DictReader(f)}
    assert deltas[("fund.result", "serious_illness")] == "-1000.01"


@pytest.mark.browser
def test_revenue_section_in_headless_chromium(page: object, tmp_path: Path) -> None:
    files = write_report([_scenario("baseline", settled()), _scenario("si-more", _reformed())], tmp_path, "en")
    page.goto(files.html.resolve().as_uri())  # type: ignore[attr-defined]
    page.wait_for_load_state("load")  # type: ignore[attr-defined]
    section = page.locator("section", has=page.locator("h2", has_text="Money in and fund results"))  # type: ignore[attr-defined]
    assert section.count() == 1
    tables = section.locator("table")
    assert tables.count() == 3
    for i in range(3):
        box = tables.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 60
    text = section.inner_text()
    assert "Employees' pooled fund (UEBMI)" in text and "-32,120.00" in text
    assert page.failed_requests == []  # type: ignore[attr-defined]


def test_accounts_netted_through_settlement_replace_cash_only(tmp_path: Path) -> None:
    """The same bills with and without balances (scalar engine): the account layer comes last, so with balances
    the cash plus the account payments equal the cash without them, claim for claim in total; the accounts pay
    something, never more than the balances, and the page says which case it is."""
    from tests.lab.test_lab_report import city_claims
    from yibao.lab.run import batch_settle, run_lab

    bills = city_claims(seed=7)
    # p3 (employee) 1,200.00 yuan, p4 (retiree) 720.00 yuan
    with_balances = persons().with_columns(
        pl.Series("individual_account_balance", [0, 0, 1_200_00, 720_00, 0], dtype=pl.Int64)
    )
    netted = run_lab(
        "reference-city", [], with_balances, bills, tmp_path / "a", settle=batch_settle("scalar"), lang="en"
    )
    plain = run_lab("reference-city", [], persons(), bills, tmp_path / "b", settle=batch_settle("scalar"), lang="en")
    a, b = netted.scenarios[0], plain.scenarios[0]
    assert a.value("personal.accounts_netted") == 1 and b.value("personal.accounts_netted") == 0
    assert 0 < a.value("personal.amount", "individual_account") <= 1_200_00 + 720_00
    assert a.value("personal.amount", "cash_and_account") == b.value("personal.amount", "cash")
    assert a.value("personal.amount", "cash") == a.value("payment.amount", "out_of_pocket")
    assert a.value("personal.amount", "cash") < b.value("personal.amount", "cash")
    # the accounts' fund: income this year's credits (1,200 + 720), outlay the account payments
    assert a.value("fund.outlay", "individual_accounts") == a.value("personal.amount", "individual_account")
    assert a.value("fund.opening_balance", "individual_accounts") == 1_920_00
    assert "Individual accounts are netted" in netted.report.read_text(encoding="utf-8")
    assert "the persons table carries no individual-account balances" in plain.report.read_text(encoding="utf-8")


@pytest.mark.browser
def test_demo_report_shows_the_revenue_side_with_accounts_netted(page: object, tmp_path: Path) -> None:
    """`yibao demo` on a small city: its report (in Chinese, the scheme's language) has the revenue section, the
    synthetic balances are spent by the account layer, and the headline says the accounts are netted."""
    from typer.testing import CliRunner

    from yibao.cli.main import app

    result = CliRunner().invoke(app, ["demo", "--people", "3000", "--pages-persons", "0", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = tmp_path / "report" / "report.html"
    page.goto(report.resolve().as_uri())  # type: ignore[attr-defined]
    page.wait_for_load_state("load")  # type: ignore[attr-defined]
    section = page.locator("section", has=page.locator("h2", has_text="基金收入与收支结果"))  # type: ignore[attr-defined]
    assert section.count() == 1 and section.locator("table").count() == 3
    text = section.inner_text()
    assert "城乡居民医保：中央财政补助" in text and "职工医保个人账户" in text and "已扣除个人账户" in text
    glance = page.locator("section").first.inner_text()  # type: ignore[attr-defined]
    assert "患者支付占总费用比例：现金自付（已扣除个人账户支付）" in glance
    with (tmp_path / "report" / "figures.csv").open(encoding="utf-8") as f:
        rows = {(r["scenario"], r["metric"], r["group"]): r["value"] for r in csv.DictReader(f)}
    assert rows[("baseline", "personal.accounts_netted", "all")] == "1"
    assert float(rows[("baseline", "personal.amount", "individual_account")]) > 0
    assert page.failed_requests == []  # type: ignore[attr-defined]


# --- properties ----------------------------------------------------------------------------------------------------

SCHEMES = ["urrbmi", "uebmi_employee", "uebmi_retiree"]
CATEGORIES = ["none", "extreme_poor", "dibao", "low_income"]
person_rows = st.lists(
    st.tuples(st.sampled_from(SCHEMES), st.sampled_from(CATEGORIES), st.integers(0, 10**8), st.booleans()),
    min_size=1,
    max_size=40,
)
ppm = st.integers(0, 1_000_000)


@settings(max_examples=60, deadline=None)
@given(
    rows=person_rows,
    individual=st.integers(0, 2_000_00),
    subsidy=st.integers(0, 2_000_00),
    central=ppm,
    serious=ppm,
    employee_share=ppm,
    employer_share=ppm,
    employer_rate=st.integers(0, 120_000),
    employee_rate=st.integers(0, 40_000),
    dibao=ppm,
)
def test_every_contribution_is_allocated_whole_and_results_are_income_minus_outlay(
    rows: list[tuple[str, str, int, bool]], individual: int, subsidy: int, central: int, serious: int,
    employee_share: int, employer_share: int, employer_rate: int, employee_rate: int, dibao: int,
) -> None:  # fmt: skip
    rules = replace(
        rules_for("reference-city", "reference-city", 2024),
        resident_individual=individual, resident_subsidy=subsidy, subsidy_central_share=central,
        serious_illness_share=serious, employee_account_share=employee_share, employer_account_share=employer_share,
        employer_rate=employer_rate, employee_rate=employee_rate,
        assistance_share={"none": 0, "extreme_poor": 1_000_000, "dibao": dibao, "low_income": dibao // 2},
    )  # fmt: skip
    n = len(rows)
    people = pl.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(n)],
            "birth_date": [date(1980, 1, 1)] * n,
            "scheme": [r[0] for r in rows],
            "assistance_category": [r[1] for r in rows],
            "huiminbao": [r[3] for r in rows],
            "annual_income": [r[2] for r in rows],
        }
    )
    empty = pl.DataFrame(schema={"person_id": pl.String, "total": pl.Int64, "out_of_pocket": pl.Int64})
    money = money_in(load_scheme("reference-city"), people, empty, rules)
    assert money is not None
    revenue = {(s, src): a for s, src, _, a in money.revenue.iter_rows()}
    public = sum(a for (s, _), a in revenue.items() if s != "huiminbao")
    credits = rules.retiree_account_credit * sum(1 for r in rows if r[0] == "uebmi_retiree")
    funds = ("urrbmi_pooled_fund", "uebmi_pooled_fund", "serious_illness", "individual_accounts")
    assert sum(money.income.total(f) for f in funds) == public + credits
    # residents' money: the pool and serious illness share each source exactly
    for source in ("individual", "assistance", "government_subsidy_central", "government_subsidy_local"):
        split = money.income.by_fund["urrbmi_pooled_fund"].get(source, 0)
        split += money.income.by_fund["serious_illness"].get(source, 0)
        assert split == revenue.get(("urrbmi", source), 0)
    # a resident's individual part: what assistance pays plus what the member pays is the whole contribution
    residents = sum(1 for r in rows if r[0] == "urrbmi")
    paid = revenue.get(("urrbmi", "individual"), 0) + revenue.get(("urrbmi", "assistance"), 0)
    assert paid == individual * residents
    assert all(v >= 0 for by in money.income.by_fund.values() for v in by.values())
    for fund, income, outlay, result in money.results.iter_rows():
        assert result == income - outlay, fund
