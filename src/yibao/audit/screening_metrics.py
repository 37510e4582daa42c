"""Precision and recall of the claim rules, and AUPRC of the facility model, against known (injected) anomalies.

Truth files, as `yibao synth --anomalies` writes them:

* `truth_claims.csv`: `claim_id, reason` — one row per injected anomalous claim, with the reason code a
  screener should give it;
* `truth_facilities.csv`: `facility_id, anomalous` (true/false), `kind` — every facility, and whether its
  billing profile was distorted.

Per reason: precision = flagged and true / flagged, recall = flagged and true / true (a claim counts once per
reason). The facility model's AUPRC is scikit-learn's average precision of its score over every facility of
the truth file; facilities the model did not score rank last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from yibao.audit.screening import Reason
from yibao.core.errors import InputError
from yibao.lab.synth_anomalies import TRUTH_CLAIMS, TRUTH_FACILITIES
from yibao.tables import read_raw


@dataclass(frozen=True)
class Truth:
    claims: pl.DataFrame  # claim_id, reason
    facilities: pl.DataFrame  # facility_id, anomalous (Boolean)


def read_truth(folder: str | Path) -> Truth:
    folder = Path(folder)
    claims, src = read_raw(folder / TRUTH_CLAIMS)
    for column in ("claim_id", "reason"):
        if column not in claims.columns:
            raise InputError(f"{src.name}, line 1: missing column {column!r}", code="input.missing_column")
    codes = [r.value for r in Reason]
    unknown = (~claims["reason"].is_in(codes)).arg_true()
    if unknown.len():
        raise src.fail(int(unknown[0]), "reason", f"{claims['reason'][int(unknown[0])]!r} is not one of {codes}")
    facilities, fsrc = read_raw(folder / TRUTH_FACILITIES)
    for column in ("facility_id", "anomalous"):
        if column not in facilities.columns:
            raise InputError(f"{fsrc.name}, line 1: missing column {column!r}", code="input.missing_column")
    anomalous = facilities["anomalous"].cast(pl.String).str.to_lowercase()
    bad = (~anomalous.is_in(["true", "false"])).arg_true()
    if bad.len():
        raise fsrc.fail(int(bad[0]), "anomalous", f"{facilities['anomalous'][int(bad[0])]!r} is not true or false")
    return Truth(
        claims=claims.select("claim_id", "reason").unique(),
        facilities=facilities.select("facility_id", (anomalous == "true").alias("anomalous")),
    )


def claim_metrics(flags: pl.DataFrame, truth: pl.DataFrame, reasons: tuple[Reason, ...]) -> pl.DataFrame:
    """One row per reason: truth, flagged, true_positives, precision, recall (null when undefined)."""
    flagged = flags.select("claim_id", "reason").unique()
    hits = flagged.join(truth, on=["claim_id", "reason"], how="inner")
    rows = []
    for reason in reasons:
        n_true = truth.filter(pl.col("reason") == reason.value).height
        n_flagged = flagged.filter(pl.col("reason") == reason.value).height
        n_hit = hits.filter(pl.col("reason") == reason.value).height
        rows.append(
            {
                "reason": reason.value,
                "truth": n_true,
                "flagged": n_flagged,
                "true_positives": n_hit,
                "precision": round(n_hit / n_flagged, 4) if n_flagged else None,
                "recall": round(n_hit / n_true, 4) if n_true else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "reason": pl.String,
            "truth": pl.Int64,
            "flagged": pl.Int64,
            "true_positives": pl.Int64,
            "precision": pl.Float64,
            "recall": pl.Float64,
        },
    )


def facility_auprc(facilities: pl.DataFrame, truth: pl.DataFrame) -> float | None:
    """Average precision of the facility score against the truth (None without both kinds of facility)."""
    from sklearn.metrics import average_precision_score

    joined = truth.join(facilities.select("facility_id", "score"), on="facility_id", how="left")
    labels = joined["anomalous"].to_numpy()
    if labels.all() or not labels.any():
        return None
    floor = (joined["score"].min() or 0.0) - 1.0
    scores = joined["score"].fill_null(floor).to_numpy()
    return float(average_precision_score(labels, scores))
