"""Synthetic inspections: planted evasion and noise, and the Twin check recovers the truth on a small city."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from yibao.audit.identity import ric_valid
from yibao.cli.main import app
from yibao.lab.synth_inspections import score_flags, synthesize_inspections


def test_planted_noise_and_evasion_are_there() -> None:
    made = synthesize_inspections(20_000, 2024, 7)
    seen, truth = made.inspections, made.truth
    assert ric_valid(made.workers["ric"]).all() and made.workers["ric"].is_unique().all()
    missing = (seen["ric"] == "").mean()
    invalid = (~ric_valid(seen["ric"]) & (seen["ric"] != "")).mean()
    assert 0.03 < missing < 0.07 and 0.03 < invalid < 0.07  # type: ignore[operator]
    reasons = truth["reason"].value_counts().to_dict(as_series=False)
    counts = dict(zip(reasons["reason"], reasons["count"], strict=True))
    assert counts["base_below_band"] > 1_000 and counts["absent"] > 600 and counts["insured_elsewhere"] > 200
    assert counts["no_months_paid"] > 50 and truth["shares_name_and_birthday"].sum() > 50
    # Names written differently from the registry's, for some insured workers.
    joined = seen.join(truth, on="inspection_id").join(made.workers, on="person_id", suffix="_registry")
    assert 0.01 < (joined["name"] != joined["name_registry"]).mean() < 0.06  # type: ignore[operator]


def test_same_seed_same_tables() -> None:
    first, second = synthesize_inspections(500, 2024, 3), synthesize_inspections(500, 2024, 3)
    assert first.inspections.equals(second.inspections) and first.workers.equals(second.workers)
    assert not synthesize_inspections(500, 2024, 4).inspections.equals(first.inspections)


def test_synth_then_audit_twin_recovers_the_truth(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["synth", "--people", "100", "--out", str(tmp_path), "--inspections", "8000",
                               "--seed", "11"])  # fmt: skip
    assert made.exit_code == 0, made.output
    checked = runner.invoke(app, ["audit", "twin", "--workers", str(tmp_path / "workers.parquet"),
                                  "--inspections", str(tmp_path / "inspections.parquet"),
                                  "--employers", str(tmp_path / "employers.parquet"), "--year", "2024",
                                  "--out", str(tmp_path / "twin")])  # fmt: skip
    assert checked.exit_code == 0, checked.output
    scores = score_flags(pl.read_csv(tmp_path / "twin" / "flags.csv"), pl.read_parquet(tmp_path / "twin_truth.parquet"))
    for row in scores.iter_rows(named=True):
        assert row["planted"] > 200
        assert row["precision"] >= 0.95 and row["recall"] >= 0.95, row
