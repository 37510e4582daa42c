"""The lab report: files beside it, exact money in them, and the page in headless Chromium with its charts."""

from __future__ import annotations

import csv
import json
import random
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tests.lab.lab_population import LAYERS, fen, persons, settled
from yibao.lab.metrics import compute
from yibao.lab.report import Scenario, write_report
from yibao.lab.run import run_lab, summary_table
from yibao.lab.synth import CLAIMS_SCHEMA  # the normalised claims frame's columns and types
from yibao.schemes import load_scheme

CHART_COUNT = 6  # payment stack, reimbursement, OOP, CHE, benefit incidence, one reform's deltas


def two_scenarios() -> list[Scenario]:
    """The hand-computed city, and a 'reform' in which serious illness pays 1,000.01 yuan more on c4."""
    scheme = load_scheme("reference-city")
    more = pl.col("claim_id") == "c4"
    reformed = settled().with_columns(
        pl.when(more).then(pl.col("paid_serious_illness") + 100_001).otherwise(pl.col("paid_serious_illness")),
        pl.when(more).then(pl.col("out_of_pocket") - 100_001).otherwise(pl.col("out_of_pocket")),
    )
    return [
        Scenario("baseline", "Baseline", scheme, compute(persons(), settled(), LAYERS)),
        Scenario(
            "si-more", "Serious illness pays more", scheme, compute(persons(), reformed, LAYERS), "A test reform."
        ),
    ]


def test_report_writes_exact_figures_beside_the_page(tmp_path: Path) -> None:
    files = write_report(two_scenarios(), tmp_path / "lab")
    assert [p.name for p in files.all()] == ["report.html", "figures.csv", "figures.json", "deltas.csv"]
    with files.figures_csv.open(encoding="utf-8") as f:
        rows = {(r["scenario"], r["metric"], r["group"]): r for r in csv.DictReader(f)}
    assert rows[("baseline", "payment.amount", "basic")]["value"] == "36560.00"
    assert rows[("si-more", "payment.amount", "out_of_pocket")]["value"] == "15540.99"
    assert rows[("baseline", "che.25", "all")]["value"] == "0.400000"
    assert rows[("baseline", "oop.person_year", "mean")]["value"] == "3308.20"
    with files.deltas_csv.open(encoding="utf-8") as f:
        deltas = {(r["metric"], r["group"]): r for r in csv.DictReader(f)}
    assert deltas[("payment.amount", "serious_illness")]["change"] == "1000.01"
    assert deltas[("che.25", "all")]["change"] == "-0.200000"
    document = json.loads(files.figures_json.read_text(encoding="utf-8"))
    assert [s["name"] for s in document["scenarios"]] == ["baseline", "si-more"]
    si = next(d for d in document["deltas"] if (d["metric"], d["group"]) == ("payment.amount", "serious_illness"))
    assert (si["baseline"], si["reform_value"], si["change"]) == ("10000.00", "11000.01", "1000.01")
    page = files.html.read_text(encoding="utf-8")
    assert page.count("<svg") == CHART_COUNT
    assert "<script" not in page and "<link" not in page  # nothing to fetch: charts are inline SVG
    assert "+1,000.01" in page and "-20.00 pp" in page


def test_summary_table_lists_layers_and_changes() -> None:
    from rich.console import Console

    console = Console(width=160, record=True)
    console.print(summary_table(two_scenarios()))
    text = console.export_text()
    assert "Serious-illness insurance" in text and "+1,000.01" in text and "-20.00 pp" in text


@pytest.mark.browser
def test_report_opens_offline_and_shows_its_charts(page: object, tmp_path: Path) -> None:
    files = write_report(two_scenarios(), tmp_path / "lab")
    page.goto(files.html.resolve().as_uri())  # type: ignore[attr-defined]
    page.wait_for_load_state("load")  # type: ignore[attr-defined]
    charts = page.locator("figure.chart svg")  # type: ignore[attr-defined]
    assert charts.count() == CHART_COUNT
    for i in range(CHART_COUNT):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
    titles = page.locator("section h2").all_inner_texts()  # type: ignore[attr-defined]
    for wanted in (
        "Who pays: payments by layer",
        "Catastrophic health expenditure by income quintile",
        "Benefit incidence by income quintile",
        "Reform: Serious illness pays more",
    ):
        assert wanted in titles
    shot = tmp_path / "lab-report.png"
    page.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    assert page.failed_requests == []  # type: ignore[attr-defined]


# --- run_lab: the same population through baseline and reform ---------------------------------------------


def city_claims(n: int = 80, seed: int = 3) -> pl.DataFrame:
    """Bills of the five persons, from a few yuan to several hundred thousand, deterministic."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        amount = fen(rnd.choice([80, 600, 9_000, 60_000, 250_000]))
        rows.append(
            (
                f"c{i:03d}",
                f"p{rnd.randint(1, 5)}",
                date(2024, rnd.randint(1, 12), rnd.randint(1, 28)),
                "reference-city",
                rnd.randint(1, 3),
                rnd.choice(["inpatient", "outpatient"]),
                amount,
                amount // 4,
                amount // 10,
                amount // 20 if i % 7 == 0 else 0,
                "C34",
            )
        )
    return pl.DataFrame(rows, schema=CLAIMS_SCHEMA, orient="row")


def test_run_lab_settles_the_same_population_under_each_scheme(tmp_path: Path) -> None:
    seen: list[tuple[tuple[str, ...], int, int]] = []
    people, bills = persons(), city_claims()

    def fake_settle(scheme: object, p: pl.DataFrame, c: pl.DataFrame) -> pl.DataFrame:
        from yibao.engine import settle_frame

        seen.append((scheme.layer_ids, id(p), id(c)))  # type: ignore[attr-defined]
        return settle_frame(scheme, p, c, engine="scalar")  # type: ignore[arg-type]

    run = run_lab("reference-city", ["si-threshold-halved"], people, bills, tmp_path / "out", settle=fake_settle)
    assert [s.name for s in run.scenarios] == ["baseline", "si-threshold-halved"]
    assert len(seen) == 2 and {(i, j) for _, i, j in seen} == {(id(people), id(bills))}
    assert run.report.exists() and run.files.deltas_csv.exists()
    base, reform = run.scenarios
    assert base.value("spending.total") == reform.value("spending.total")
    # a lower threshold and higher rates never pay less serious-illness insurance in total, nor raise OOP
    assert reform.value("payment.amount", "serious_illness") >= base.value("payment.amount", "serious_illness")
    assert reform.value("payment.amount", "out_of_pocket") <= base.value("payment.amount", "out_of_pocket")
    # the layers and OOP account for every fen of spending
    paid = sum(reform.value("payment.amount", layer) for layer in (*reform.metrics.layer_ids, "out_of_pocket"))
    assert paid == reform.value("spending.total")


def test_batch_and_scalar_engines_give_the_same_figures(tmp_path: Path) -> None:
    from yibao.lab.run import batch_settle

    people, bills = persons(), city_claims(seed=5)
    batch = run_lab("reference-city", [], people, bills, tmp_path / "b", settle=batch_settle("batch"))
    scalar = run_lab("reference-city", [], people, bills, tmp_path / "s", settle=batch_settle("scalar"))
    assert batch.scenarios[0].figures == scalar.scenarios[0].figures


def test_cli_lab_run_prints_where_the_report_is(tmp_path: Path) -> None:
    from yibao.cli.main import app
    from yibao.tables import to_contract_claims, to_contract_persons, write_table

    write_table(to_contract_persons(persons()), tmp_path / "persons.csv")
    write_table(to_contract_claims(city_claims()), tmp_path / "claims.csv")
    out = tmp_path / "lab"
    result = CliRunner().invoke(
        app,
        [
            "lab",
            "run",
            "--scheme",
            "reference-city",
            "--reform",
            "si-threshold-halved",
            "--persons",
            str(tmp_path / "persons.csv"),
            "--claims",
            str(tmp_path / "claims.csv"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output.replace("\n", "")
    assert (out / "report.html").exists() and (out / "figures.json").exists()


def test_several_reforms_and_a_removed_layer(tmp_path: Path) -> None:
    no_huiminbao = tmp_path / "no-huiminbao.yaml"
    no_huiminbao.write_text(
        "reform: no-huiminbao\ntitle: {en: Without Huiminbao, zh: 无惠民保}\nchanges:\n  - remove_layer: huiminbao\n",
        encoding="utf-8",
    )
    reforms = ["si-threshold-halved", str(no_huiminbao), "si-threshold-halved"]
    run = run_lab("reference-city", reforms, persons(), city_claims(), tmp_path / "out")
    assert [s.name for s in run.scenarios] == [
        "baseline",
        "si-threshold-halved",
        "no-huiminbao",
        "si-threshold-halved-2",
    ]
    without = run.scenarios[2]
    assert without.metrics.layer_ids == (
        "basic", "large_amount_subsidy", "serious_illness", "assistance", "individual_account"
    )
    assert without.value("payment.amount", "huiminbao") == 0  # a removed layer pays nothing
    assert without.value("payment.amount", "out_of_pocket") >= run.scenarios[0].value("payment.amount", "out_of_pocket")
    page = run.report.read_text(encoding="utf-8")
    assert page.count("<svg") == 5 + 3  # one deltas chart per reform
    with run.files.deltas_csv.open(encoding="utf-8") as f:
        gone = [r for r in csv.DictReader(f) if r["reform"] == "no-huiminbao" and r["group"] == "huiminbao"]
    paid = next(r for r in gone if r["metric"] == "payment.amount")
    assert paid["reform_value"] == "0.00" and paid["change"] == "-" + paid["baseline"]
    per_enrollee = next(r for r in gone if r["metric"] == "outlay.per_enrollee")
    assert per_enrollee["reform_value"] == "" and per_enrollee["change"] == ""


def test_a_year_without_claims_still_gets_a_report(tmp_path: Path) -> None:
    scheme = load_scheme("reference-city")
    empty = compute(persons(), settled().head(0), LAYERS)
    files = write_report([Scenario("baseline", "Baseline", scheme, empty), Scenario("r", "R", scheme, empty)], tmp_path)
    assert files.html.read_text(encoding="utf-8").count("<svg") == CHART_COUNT


def test_the_output_must_be_a_folder(tmp_path: Path) -> None:
    from yibao.core.errors import InputError

    (tmp_path / "report.html").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="folder"):
        write_report(two_scenarios(), tmp_path / "report.html")
