"""Claim screening: rules that flag claims for review, each with a stable reason code, a score and evidence.

The rules (docs/audit.md, "Claim screening", gives them with examples):

* `duplicate_bill`: bills of one person at one facility on one day for the same care type and diagnosis whose
  totals are within `near_share_bp` basis points of the larger total (or within `near_min_fen`) form a cluster; every bill
  of a cluster but the one with the smallest claim id is flagged, citing that one. Score 1.0 when all four
  amounts are equal (an exact duplicate), else 1 - difference / (2 x tolerance), in [0.5, 1).
* `overlapping_stay`: an inpatient admission (by admission day, then claim id) on a day before the latest
  discharge of the person's earlier stays; discharge on the day of the next admission is a transfer, not an
  overlap. Bills already flagged as duplicates are left out (the duplicate explains the overlap). Score: the
  share of the stay inside the earlier one.
* `outside_cover`: a bill dated before the person's birth or `cover_from`, after `cover_until` or after
  `death_date` (bills dated on the day of death are covered). Score 1.0.
* `implausible_amount`: robust z-score of the bill's log total within its peer group (diagnosis, facility
  level, care type): z = 0.6745 (x - median) / MAD (Iglewicz and Hoaglin, 1993), flagged when z >= threshold
  (3.5) in groups of at least `min_peer_claims` bills with MAD > 0. Only high amounts are flagged. Score: z.

Everything is vectorised with Polars; the facility model lives in `screening_facilities`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from yibao.tables import fen_to_yuan_expr


class Reason(StrEnum):
    DUPLICATE_BILL = "duplicate_bill"
    OVERLAPPING_STAY = "overlapping_stay"
    OUTSIDE_COVER = "outside_cover"
    IMPLAUSIBLE_AMOUNT = "implausible_amount"


# (en, zh-CN) for people reading a summary; the codes are what files and programs use.
REASON_LABELS: dict[Reason, tuple[str, str]] = {
    Reason.DUPLICATE_BILL: ("duplicate or near-duplicate bill", "重复或近似重复结算"),
    Reason.OVERLAPPING_STAY: ("overlapping inpatient stay", "住院时间重叠"),
    Reason.OUTSIDE_COVER: (
        "outside cover (birth, enrolment, removal, death)",
        "参保期外就医（出生前、参保前、退保后、死亡后）",
    ),
    Reason.IMPLAUSIBLE_AMOUNT: ("amount implausible for diagnosis and facility level", "费用与诊断及医院级别明显不符"),
}
REASON_ORDER = {reason: i for i, reason in enumerate(Reason)}
MAD_CONSISTENCY = 0.6745  # Iglewicz & Hoaglin: 0.6745 MAD estimates one standard deviation of a normal law


@dataclass(frozen=True)
class ScreeningParameters:
    """The rules' parameters (docs/audit.md); integers for money, basis points for shares."""

    near_share_bp: int = 200  # 2% of the larger total
    near_min_fen: int = 100  # 1 yuan: small bills differ by rounding
    z_threshold: float = 3.5
    min_peer_claims: int = 30


FLAG_SCHEMA = pl.Schema({"claim_id": pl.String, "reason": pl.String, "score": pl.Float64, "evidence": pl.String})


def with_totals(claims: pl.DataFrame, has_facility: bool) -> pl.DataFrame:
    """The claims with `total` (fen) and `facility` (the facility id, or region/level when there is none)."""
    facility = (
        pl.col("facility_id").fill_null(pl.col("region") + "/" + pl.col("facility_level").cast(pl.String))
        if has_facility
        else pl.col("region") + "/" + pl.col("facility_level").cast(pl.String)
    )
    total = pl.col("class_a") + pl.col("class_b") + pl.col("self_pay") + pl.col("special_drugs")
    return claims.with_columns(total.alias("total"), facility.alias("facility"))


def _yuan(column: str) -> pl.Expr:
    return fen_to_yuan_expr(column).cast(pl.String)


def _flags(frame: pl.DataFrame, reason: Reason, score: pl.Expr, evidence: dict[str, pl.Expr]) -> pl.DataFrame:
    return frame.select(
        pl.col("claim_id"),
        pl.lit(reason.value).alias("reason"),
        score.cast(pl.Float64).alias("score"),
        pl.struct(**evidence).struct.json_encode().alias("evidence"),
    )


def duplicate_bills(claims: pl.DataFrame, params: ScreeningParameters) -> pl.DataFrame:
    key = ["person_id", "facility", "service_date", "care_type", "diagnosis"]
    # Only bills sharing person and day can be duplicates: a cheap first cut before sorting by the full key.
    candidates = claims.select(*key, "claim_id", "total", "class_a", "class_b", "self_pay", "special_drugs").filter(
        pl.len().over("person_id", "service_date") > 1
    )
    ordered = candidates.sort([*key, "total", "claim_id"])
    new_key = pl.any_horizontal([pl.col(c) != pl.col(c).shift(1) for c in key]).fill_null(True)
    gap = pl.col("total") - pl.col("total").shift(1)
    near = (gap <= params.near_min_fen) | (gap * 10_000 <= pl.col("total") * params.near_share_bp)
    ordered = ordered.with_columns((new_key | ~near.fill_null(False)).alias("starts"))
    ordered = ordered.with_columns(pl.col("starts").cum_sum().alias("cluster"))
    in_cluster = ordered.filter(pl.len().over("cluster") > 1)
    first = (
        in_cluster.sort("claim_id")
        .group_by("cluster", maintain_order=True)
        .first()
        .select(
            "cluster",
            pl.col("claim_id").alias("duplicate_of"),
            *[pl.col(c).alias(f"first_{c}") for c in ("total", "class_a", "class_b", "self_pay", "special_drugs")],
        )
    )
    pairs = in_cluster.join(first, on="cluster").filter(pl.col("claim_id") != pl.col("duplicate_of"))
    exact = pl.all_horizontal(
        [pl.col(c) == pl.col(f"first_{c}") for c in ("class_a", "class_b", "self_pay", "special_drugs")]
    )
    diff = (pl.col("total") - pl.col("first_total")).abs()
    tolerance = pl.max_horizontal(
        pl.lit(params.near_min_fen), pl.max_horizontal("total", "first_total") * params.near_share_bp / 10_000
    )
    score = pl.when(exact).then(1.0).otherwise(1.0 - diff / (2 * tolerance)).clip(0.5, 1.0).round(4)
    return _flags(
        pairs.with_columns(_yuan("total").alias("amount"), _yuan("first_total").alias("other_amount")),
        Reason.DUPLICATE_BILL,
        score,
        {
            "duplicate_of": pl.col("duplicate_of"),
            "exact": exact,
            "facility": pl.col("facility"),
            "service_date": pl.col("service_date").cast(pl.String),
            "amount": pl.col("amount"),
            "other_amount": pl.col("other_amount"),
        },
    )


def overlapping_stays(claims: pl.DataFrame, exclude: pl.Series) -> pl.DataFrame:
    stays = (
        claims.filter(
            (pl.col("care_type") == "inpatient")
            & pl.col("discharge_date").is_not_null()
            & ~pl.col("claim_id").is_in(exclude.implode())
        )
        .select("person_id", "claim_id", "facility", "service_date", "discharge_date")
        .sort("person_id", "service_date", "claim_id")
    )
    by_person = "person_id"
    stays = stays.with_columns(pl.col("discharge_date").cum_max().over(by_person).alias("latest"))
    holder = pl.when(pl.col("discharge_date") == pl.col("latest")).then(pl.col("claim_id"))
    stays = stays.with_columns(holder.forward_fill().over(by_person).alias("holder"))
    stays = stays.with_columns(
        pl.col("latest").shift(1).over(by_person).alias("earlier_discharge"),
        pl.col("holder").shift(1).over(by_person).alias("overlaps"),
    )
    hits = stays.filter(pl.col("service_date") < pl.col("earlier_discharge"))
    hits = hits.join(
        stays.select(
            pl.col("claim_id").alias("overlaps"),
            pl.col("facility").alias("other_facility"),
            pl.col("service_date").alias("other_admission"),
        ),
        on="overlaps",
        how="left",
    )
    days = (pl.min_horizontal("discharge_date", "earlier_discharge") - pl.col("service_date")).dt.total_days()
    length = (pl.col("discharge_date") - pl.col("service_date")).dt.total_days()
    score = (pl.max_horizontal(days, pl.lit(1)) / pl.max_horizontal(length, pl.lit(1))).clip(0.0, 1.0).round(4)
    return _flags(
        hits,
        Reason.OVERLAPPING_STAY,
        score,
        {
            "overlaps": pl.col("overlaps"),
            "facility": pl.col("facility"),
            "admission": pl.col("service_date").cast(pl.String),
            "discharge": pl.col("discharge_date").cast(pl.String),
            "other_facility": pl.col("other_facility"),
            "other_admission": pl.col("other_admission").cast(pl.String),
            "other_discharge": pl.col("earlier_discharge").cast(pl.String),
        },
    )


def outside_cover(claims: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    joined = claims.select("claim_id", "person_id", "service_date").join(
        persons.select("person_id", "birth_date", "cover_from", "cover_until", "death_date"), on="person_id"
    )
    date = pl.col("service_date")
    rules = (  # first that applies names the evidence
        ("before_birth", date < pl.col("birth_date"), "birth_date"),
        ("before_cover", date < pl.col("cover_from"), "cover_from"),
        ("after_death", date > pl.col("death_date"), "death_date"),
        ("after_cover", date > pl.col("cover_until"), "cover_until"),
    )
    rule: pl.Expr = pl.lit(None, dtype=pl.String)
    bound: pl.Expr = pl.lit(None, dtype=pl.Date)
    for name, test, column in reversed(rules):
        rule = pl.when(test.fill_null(False)).then(pl.lit(name)).otherwise(rule)
        bound = pl.when(test.fill_null(False)).then(pl.col(column)).otherwise(bound)
    hits = joined.with_columns(rule.alias("rule"), bound.alias("bound")).filter(pl.col("rule").is_not_null())
    return _flags(
        hits,
        Reason.OUTSIDE_COVER,
        pl.lit(1.0),
        {"rule": pl.col("rule"), "service_date": date.cast(pl.String), "limit": pl.col("bound").cast(pl.String)},
    )


def peer_z_scores(claims: pl.DataFrame, params: ScreeningParameters) -> pl.DataFrame:
    """Per claim, in the claims' order: peer key, peer size, median and MAD of log totals, and the robust z-score
    (null: no usable peers)."""
    peer = ["diagnosis", "facility_level", "care_type"]
    logs = claims.select("claim_id", *peer, "total", pl.col("total").clip(1).log().alias("log_total"))
    logs = logs.with_columns(
        pl.len().over(peer).alias("peers"), pl.col("log_total").median().over(peer).alias("median")
    )
    logs = logs.with_columns((pl.col("log_total") - pl.col("median")).abs().median().over(peer).alias("mad"))
    usable = (pl.col("peers") >= params.min_peer_claims) & (pl.col("mad") > 0)
    z = pl.when(usable).then(MAD_CONSISTENCY * (pl.col("log_total") - pl.col("median")) / pl.col("mad"))
    return logs.with_columns(z.alias("z"))


def implausible_amounts(scored: pl.DataFrame, params: ScreeningParameters) -> pl.DataFrame:
    hits = scored.filter(pl.col("z") >= params.z_threshold).with_columns(
        pl.col("median").exp().round().cast(pl.Int64).alias("median_fen")
    )
    return _flags(
        hits,
        Reason.IMPLAUSIBLE_AMOUNT,
        pl.col("z").round(3),
        {
            "peer_group": pl.concat_str(["diagnosis", "facility_level", "care_type"], separator="/"),
            "peer_claims": pl.col("peers"),
            "amount": _yuan("total"),
            "peer_median": _yuan("median_fen"),
            "z": pl.col("z").round(3),
        },
    )


def z_threshold_amount_fen(median_fen: int, mad: float, params: ScreeningParameters) -> float:
    """The smallest total (fen, real-valued) whose robust z reaches the threshold, for a peer median and MAD."""
    return math.exp(math.log(median_fen) + params.z_threshold * mad / MAD_CONSISTENCY)


@dataclass(frozen=True)
class ClaimScreening:
    flags: pl.DataFrame  # claim_id, reason, score, evidence: ranked (reason order, then score, then claim id)
    z_scores: pl.DataFrame  # every claim's peer statistics in the claims' order, for the facility profile
    rules_run: tuple[Reason, ...]


def screen_claims(
    claims: pl.DataFrame, persons: pl.DataFrame, has_discharge: bool, params: ScreeningParameters
) -> ClaimScreening:
    """Run every rule the columns allow; `claims` carries `total` and `facility` (see `with_totals`)."""
    duplicates = duplicate_bills(claims, params)
    parts = [duplicates]
    rules = [Reason.DUPLICATE_BILL]
    if has_discharge:
        parts.append(overlapping_stays(claims, duplicates["claim_id"]))
        rules.append(Reason.OVERLAPPING_STAY)
    parts.append(outside_cover(claims, persons))
    rules.append(Reason.OUTSIDE_COVER)
    scored = peer_z_scores(claims, params)
    parts.append(implausible_amounts(scored, params))
    rules.append(Reason.IMPLAUSIBLE_AMOUNT)
    flags = pl.concat([p.cast(FLAG_SCHEMA) for p in parts])  # type: ignore[arg-type]
    order = pl.col("reason").replace_strict({r.value: i for r, i in REASON_ORDER.items()}, return_dtype=pl.Int8)
    flags = flags.sort(order, pl.col("score"), pl.col("claim_id"), descending=[False, True, False])
    return ClaimScreening(flags=flags, z_scores=scored, rules_run=tuple(rules))
