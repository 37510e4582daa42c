"""`yibao contracts ...` end to end: reconciliation from settled files, the evaluation report in Chromium, the search."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from yibao.cli.main import app

EXAMPLES = Path(__file__).parents[2] / "src/yibao/schemes/builtin/reference-city/examples"
runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_reconcile_from_settled_bills_agrees_with_the_settle_output(tmp_path: Path) -> None:
    persons, claims = EXAMPLES / "persons.csv", EXAMPLES / "claims.csv"
    settled = tmp_path / "settled.csv"
    run(
        "settle",
        "--scheme",
        "reference-city",
        "--persons",
        str(persons),
        "--claims",
        str(claims),
        "--out",
        str(settled),
    )
    paid = sum(int(r["paid_serious_illness"].replace(".", "")) for r in rows(settled))
    enrollees = sum(r["scheme"] == "urrbmi" for r in rows(persons))
    by_file, by_bills = tmp_path / "a.csv", tmp_path / "b.csv"
    run("contracts", "reconcile", "--payments", str(settled), "--enrollees", str(enrollees), "--out", str(by_file))
    run("contracts", "reconcile", "--persons", str(persons), "--claims", str(claims), "--out", str(by_bills))
    assert rows(by_file) == rows(by_bills)
    table = {r["item"]: r for r in rows(by_file)}
    assert int(table["claims paid"]["zhanjiang-insurance-contract"].replace(".", "")) == paid
    assert table["enrollees"]["pinggu-co-insurance"] == str(enrollees)


def test_reconcile_writes_balanced_entries(tmp_path: Path) -> None:
    entries = tmp_path / "entries.csv"
    out = run("contracts", "reconcile", "--claims-paid", "250000", "--enrollees", "10000", "--n-claims", "100",
              "--contract", "zhanjiang-insurance-contract", "--entries", str(entries))  # fmt: skip
    assert "insurance_contract" in out
    net: dict[str, int] = {}
    for entry in rows(entries):
        fen = int(entry["amount"].replace(".", ""))
        net[entry["debit"]] = net.get(entry["debit"], 0) + fen
        net[entry["credit"]] = net.get(entry["credit"], 0) - fen
    assert sum(net.values()) == 0
    # premium 539,000 in, claims 250,000 out; balance 539,000 - 32,340 - 250,000 = 256,660, above the
    # 4% cap (21,560) by 235,100, which returns to the fund. As in the ledger, the payer is debited: the
    # fund's debit balance is its net outlay.
    assert net["reference-city:2024:serious_illness"] == 53_900_000 - 23_510_000


def test_reconcile_needs_one_source() -> None:
    result = runner.invoke(app, ["contracts", "reconcile"])
    assert result.exit_code != 0


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaluation")
    run("contracts", "evaluate", "--people", "20000", "--years", "200", "--no-sensitivity", "--out", str(out),
        "--lang", "en")
    return out


def test_evaluate_is_deterministic_for_its_seeds(evaluation: Path, tmp_path: Path) -> None:
    run("contracts", "evaluate", "--people", "20000", "--years", "200", "--no-sensitivity", "--out", str(tmp_path))
    for name in ("evaluation.csv", "years.csv"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (evaluation / name).read_text(encoding="utf-8")


def test_evaluate_writes_the_report_and_tables(evaluation: Path) -> None:
    table = rows(evaluation / "evaluation.csv")
    assert [r["mode"] for r in table] == ["fund_management", "insurance_contract", "co_insurance"]
    assert float(table[0]["incentive"]) == 0.0
    years = rows(evaluation / "years.csv")
    assert len(years) == 200
    # fund management: the fund pays the claims and the same per-capita fee every year, to the fen
    fee = {
        int(y["fund_outlay_fund_management"].replace(".", "")) - int(y["claims_paid"].replace(".", "")) for y in years
    }
    assert len(fee) == 1 and fee.pop() == int(table[0]["fee_per_enrollee"].replace(".", "")) * fund_enrollees(
        evaluation
    )
    html = (evaluation / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 2 and "What drives the ranking" in html
    assert 'src="http' not in html and 'href="http' not in html


def fund_enrollees(evaluation: Path) -> int:
    html = (evaluation / "report.html").read_text(encoding="utf-8")
    return int(html.split(" enrollees, ")[0].rsplit(": ", 1)[1].replace(",", ""))


@pytest.mark.browser
def test_the_report_opens_offline_with_its_charts(evaluation: Path, page: Any) -> None:
    page.goto((evaluation / "report.html").as_uri())
    assert page.locator("figure svg").count() == 2
    assert page.locator("h2").first.inner_text() == "Set-up"
    assert page.failed_requests == []


def test_search_prints_the_premium() -> None:
    out = run("contracts", "search", "--people", "20000", "--years", "200", "--target-margin", "0.02")
    assert "premium per enrollee" in out and "P(insurer loss)" in out
