"""A small synthetic city with injected anomalies: the reported precision, recall and AUPRC recomputed from the
output files, and the injected files still settle."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.lab.synth_anomalies import AnomalyRates, synthesize_anomalous

runner = CliRunner()
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("injected")
    city = folder / "city"
    result = runner.invoke(app, ["synth", "--people", "20000", "--seed", "7", "--format", "csv", "--anomalies",
                                 "--out", str(city)])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    result = runner.invoke(app, ["audit", "claims", "--persons", str(city / "persons.csv"), "--claims",
                                 str(city / "claims.csv"), "--out", str(folder / "out"), "--truth", str(city)])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    return folder


def _average_precision(labels: list[bool], scores: list[float]) -> float:
    """Area under the precision-recall steps, one step per distinct score (highest first)."""
    positives = sum(labels)
    area, hits, seen, recall_before = 0.0, 0, 0, 0.0
    for threshold in sorted(set(scores), reverse=True):
        group = [label for label, score in zip(labels, scores, strict=True) if score == threshold]
        hits += sum(group)
        seen += len(group)
        recall = hits / positives
        area += (recall - recall_before) * hits / seen
        recall_before = recall
    return area


def test_precision_and_recall_recomputed_from_the_output(screened: Path) -> None:
    flags = pl.read_csv(screened / "out" / "claims.csv", infer_schema=False).select("claim_id", "reason").unique()
    truth = pl.read_csv(screened / "city" / "truth_claims.csv", infer_schema=False)
    metrics = pl.read_csv(screened / "out" / "metrics.csv").filter(pl.col("reason") != "facility_model")
    assert set(metrics["reason"]) == {"duplicate_bill", "overlapping_stay", "outside_cover", "implausible_amount"}
    for row in metrics.iter_rows(named=True):
        mine = set(flags.filter(reason=row["reason"])["claim_id"])
        true = set(truth.filter(reason=row["reason"])["claim_id"])
        assert true, f"no {row['reason']} injected"
        hits = len(mine & true)
        assert (row["flagged"], row["truth"], row["true_positives"]) == (len(mine), len(true), hits)
        assert row["precision"] == pytest.approx(hits / len(mine), abs=5e-5)
        assert row["recall"] == pytest.approx(hits / len(true), abs=5e-5)
    # The rules find every injected bill of their kind (the statistical rule may miss a few).
    recall = dict(metrics.select("reason", "recall").iter_rows())
    assert recall["duplicate_bill"] == recall["overlapping_stay"] == recall["outside_cover"] == 1.0
    assert recall["implausible_amount"] >= 0.8


def test_facility_auprc_recomputed_from_the_output(screened: Path) -> None:
    facilities = pl.read_csv(screened / "out" / "facilities.csv")
    truth = pl.read_csv(screened / "city" / "truth_facilities.csv")
    joined = truth.join(facilities.select("facility_id", "score"), on="facility_id", how="left")
    floor = float(facilities["score"].min()) - 1.0
    scores = joined["score"].fill_null(floor).to_list()
    expected = _average_precision(joined["anomalous"].to_list(), scores)
    reported = pl.read_csv(screened / "out" / "metrics.csv").filter(reason="facility_model")["auprc"][0]
    assert reported == pytest.approx(expected, abs=1e-9)
    assert truth["anomalous"].any() and expected > truth["anomalous"].mean()  # better than ranking at random


def test_injected_city_is_reproducible_and_settles(screened: Path, tmp_path: Path) -> None:
    small = AnomalyRates(duplicate=0.01, overlap=0.1, outside_cover=0.002, implausible=0.005)
    first, truth_a, _ = synthesize_anomalous(3000, 2024, 5, rates=small)
    second, truth_b, _ = synthesize_anomalous(3000, 2024, 5, rates=small)
    assert first.claims.equals(second.claims) and truth_a.equals(truth_b)
    assert first.claims["claim_id"].is_unique().all()
    city = screened / "city"
    out = tmp_path / "settled.csv"
    result = runner.invoke(app, ["settle", "--scheme", "reference-city", "--persons", str(city / "persons.csv"),
                                 "--claims", str(city / "claims.csv"), "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert pl.read_csv(out).height == pl.read_csv(city / "claims.csv").height
