"""Facilities whose billing profile is an outlier among their peers (same facility level): IsolationForest.

Features of each facility, from its bills (docs/audit.md lists them with the reason for each):

* `bills_per_patient`: bills / distinct persons (phantom or split visits raise it);
* `inpatient_share`: share of bills that are inpatient stays (needless admissions);
* `amount_z_mean`: mean robust z-score of its bills' log totals within their peer groups (diagnosis, level,
  care type), 0 where a group has no usable peers (systematic upcoding moves it, one large bill does not);
* `self_pay_share`, `class_b_share`: shares of the billed amount outside the catalogue and in class B;
* `special_drugs_share`: share of bills with special drugs;
* `mean_stay_days`: mean length of its inpatient stays (0 when it has none or discharge dates are unknown);
* `rule_flag_share`: share of its bills flagged by the claim rules.

A facility's size is not a feature: a large hospital is not suspect for being large.

Peers are the facilities of the same region and level with at least `min_claims` bills; the model
(scikit-learn's IsolationForest, fixed seed) is fitted per peer group of at least `min_peers` facilities;
the score is -score_samples (higher: more isolated; about 0.5 is ordinary) and `outlier` is the model's own
cut (contamination "auto"). Facilities with fewer bills or too few peers get no score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

FEATURES = (
    "bills_per_patient", "inpatient_share", "amount_z_mean", "self_pay_share", "class_b_share",
    "special_drugs_share", "mean_stay_days", "rule_flag_share",
)  # fmt: skip


@dataclass(frozen=True)
class FacilityParameters:
    min_claims: int = 100
    min_peers: int = 5
    trees: int = 200
    seed: int = 0


def facility_features(claims: pl.DataFrame, z_scores: pl.DataFrame, flagged: pl.Series) -> pl.DataFrame:
    """One row per facility id: facility_level and region (of its first bill), claims and the FEATURES."""
    bills = claims.with_columns(  # z_scores are in the claims' order
        z_scores["z"], pl.col("claim_id").is_in(flagged.implode()).alias("flagged")
    ).filter(pl.col("facility_id").is_not_null())
    stay = (pl.col("discharge_date") - pl.col("service_date")).dt.total_days()
    inpatient = pl.col("care_type") == "inpatient"
    total = pl.col("total").sum().cast(pl.Float64).clip(1.0)
    features = bills.group_by("facility_id").agg(
        pl.col("facility_level").first(),
        pl.col("region").first(),
        pl.len().alias("claims"),
        (pl.len() / pl.col("person_id").n_unique()).alias("bills_per_patient"),
        inpatient.mean().alias("inpatient_share"),
        pl.col("z").fill_null(0.0).mean().alias("amount_z_mean"),
        (pl.col("self_pay").sum() / total).alias("self_pay_share"),
        (pl.col("class_b").sum() / total).alias("class_b_share"),
        (pl.col("special_drugs") > 0).mean().alias("special_drugs_share"),
        stay.filter(inpatient).mean().fill_null(0.0).alias("mean_stay_days"),
        pl.col("flagged").mean().alias("rule_flag_share"),
    )
    return features.with_columns(pl.col(list(FEATURES)).cast(pl.Float64)).sort("facility_id")


def score_facilities(features: pl.DataFrame, params: FacilityParameters) -> pl.DataFrame:
    """The features with `score` and `outlier` (null below `min_claims` bills), ranked by score."""
    from sklearn.ensemble import IsolationForest

    scores = np.full(features.height, np.nan)
    outlier = np.zeros(features.height, dtype=bool)
    groups = features.select(pl.concat_str([pl.col("region"), pl.col("facility_level").cast(pl.String)], separator="/"))
    peer = groups.to_series().to_numpy()
    enough = features["claims"].to_numpy() >= params.min_claims
    matrix = features.select(FEATURES).to_numpy()
    for group in np.unique(peer[enough]):
        rows = np.flatnonzero((peer == group) & enough)
        if len(rows) < params.min_peers:
            continue
        model = IsolationForest(n_estimators=params.trees, contamination="auto", random_state=params.seed)
        model.fit(matrix[rows])
        scores[rows] = -model.score_samples(matrix[rows])
        outlier[rows] = model.predict(matrix[rows]) == -1
    scored = features.with_columns(
        pl.Series("score", scores).fill_nan(None).round(4),
        pl.when(pl.Series(~np.isnan(scores))).then(pl.Series(outlier)).alias("outlier"),
    )
    ranked = scored.sort("score", "facility_id", descending=[True, False], nulls_last=True)
    return ranked.with_columns(pl.int_range(1, ranked.height + 1).alias("rank")).select(
        "rank", "facility_id", "facility_level", "region", "score", "outlier", "claims",
        *[pl.col(f).round(4) for f in FEATURES],
    )  # fmt: skip


FACILITY_COLUMNS = ("rank", "facility_id", "facility_level", "region", "score", "outlier", "claims", *FEATURES)
