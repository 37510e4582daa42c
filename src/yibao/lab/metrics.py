"""Metrics of a settled population-year: who pays, how much is left to families, and who benefits.

Every function is pure: normalised persons and settled frames in (yibao.tables), Polars frames out.
They do not care which engine settled the claims. Amounts stay integer fen; rates and shares are
floats (statistics, not money).

Conventions, decided once here and explained in the report:

* **Person-years.** Out-of-pocket (OOP), catastrophic spending and benefit incidence are counted per
  person and calendar year of `service_date`. The population is *every* person of the persons table in
  every year that has claims: a person without claims in a year counts with OOP 0 (and is never
  catastrophic, unless OOP > 0). With no claims at all the population is one person-year per person.
* **Income quintiles** are quintiles of `annual_income` over all persons (not only those with claims).
  Persons are ranked by income; equal incomes get the lowest rank of their group ("min" rank), and the
  quintile is `floor(5 × (rank − 1) / n) + 1`. So equal incomes always share a quintile (the quintile
  depends on income only, never on the order of the file), and when many persons share an income at a
  boundary the quintiles are unequal in size; the report shows each quintile's size.
* **Catastrophic health expenditure** (SDG 3.8.2 style, with annual income standing in for household
  consumption): a person-year is catastrophic at threshold t when OOP > t × annual income, strictly, in
  exact integers (100 × OOP > t% × income). A person with zero income is catastrophic as soon as they pay
  anything out of pocket (OOP > 0 = t × 0) and never when they pay nothing; the count of zero-income
  person-years is reported beside the incidence.
* **Effective reimbursement rate**: payments of the layers ÷ total spending ("total" rate) and
  ÷ in-policy spending ("in-policy" rate). The in-policy rate counts every layer, so it can exceed 100%
  where Huiminbao pays for items outside the catalogue; the per-layer figures give basic-only rates.
* **Percentiles** of OOP are nearest-rank order statistics (the smallest value with at least p% of
  person-years at or below it), so they are amounts somebody actually paid, exact to the fen.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from yibao import tables
from yibao.core.money import round_half_up_div
from yibao.core.rules import eligible
from yibao.core.scheme import PERSON_DIMENSIONS, Condition, Dimension, Scheme
from yibao.tables import paid_column

QUINTILES = 5
CHE_THRESHOLDS_PCT = (10, 25)
OOP_PERCENTILES_PERMILLE = (500, 750, 900, 950, 990, 999)
# OOP histogram bins in yuan: (lower, upper], the first bin is exactly 0, the last is open.
OOP_BIN_EDGES_YUAN = (0, 500, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
ALL = "all"
OUT_OF_POCKET = "out_of_pocket"
MONEY = ("total", "class_a", "class_b", "self_pay", "special_drugs", "preselfpay", "in_policy")


def _paid_sum(layer_ids: Sequence[str]) -> pl.Expr:
    if not layer_ids:
        return pl.lit(0, dtype=pl.Int64)
    return pl.sum_horizontal([pl.col(paid_column(layer)) for layer in layer_ids]).cast(pl.Int64)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


# --- population ------------------------------------------------------------------------------------------


def income_quintiles(persons: pl.DataFrame) -> pl.DataFrame:
    """person_id, annual_income and quintile (1 = poorest) over all persons; ties share a quintile."""
    n = persons.height
    rank = pl.col("annual_income").rank(method="min").cast(pl.Int64)
    return persons.select(
        "person_id",
        "annual_income",
        (((rank - 1) * QUINTILES) // max(n, 1) + 1).cast(pl.Int8).alias("quintile"),
    )


def service_years(settled: pl.DataFrame) -> list[int | None]:
    """The calendar years of the claims; one unnamed year when there are none (so everyone still counts)."""
    years: list[int | None] = list(tables.service_years(settled))
    return years or [None]


def person_years(persons: pl.DataFrame, settled: pl.DataFrame, layer_ids: Sequence[str]) -> pl.DataFrame:
    """One row per person and year: scheme, income, quintile, total, paid (all layers), per layer, OOP."""
    money = ["total", *[paid_column(layer) for layer in layer_ids], OUT_OF_POCKET]
    yearly = (
        settled.with_columns(pl.col("service_date").dt.year().alias("year"), _paid_sum(layer_ids).alias("paid"))
        .group_by("person_id", "year")
        .agg(*[pl.col(c).sum().cast(pl.Int64) for c in [*money, "paid"]], pl.len().cast(pl.Int64).alias("claims"))
    )
    years = pl.DataFrame({"year": service_years(settled)}, schema={"year": pl.Int32})
    base = (
        persons.select("person_id", "scheme", "assistance_category")
        .join(income_quintiles(persons), on="person_id")
        .join(years, how="cross")
    )
    filled = [pl.col(c).fill_null(0) for c in [*money, "paid", "claims"]]
    return base.join(yearly, on=["person_id", "year"], how="left", nulls_equal=True).with_columns(filled)


# --- spending and payments ------------------------------------------------------------------------------


def spending(settled: pl.DataFrame) -> dict[str, int]:
    """Totals of the classified bills in fen: total, class A/B, self-pay, special drugs, first-pay, in-policy."""
    row = settled.select([pl.col(c).sum().cast(pl.Int64) for c in MONEY]).row(0, named=True)
    return {c: int(row[c] or 0) for c in MONEY}


def payments_by_layer(settled: pl.DataFrame, layer_ids: Sequence[str]) -> pl.DataFrame:
    """payer (each layer in payment order, then out_of_pocket), amount (fen), share of total spending."""
    payers = [*layer_ids, OUT_OF_POCKET]
    columns = [paid_column(layer) for layer in layer_ids] + [OUT_OF_POCKET]
    sums = settled.select([pl.col(c).sum().cast(pl.Int64) for c in columns]).row(0)
    total = spending(settled)["total"]
    amounts = [int(s or 0) for s in sums]
    return pl.DataFrame(
        {"payer": payers, "amount": amounts, "share": [_share(a, total) for a in amounts]},
        schema={"payer": pl.String, "amount": pl.Int64, "share": pl.Float64},
    )


# --- reimbursement --------------------------------------------------------------------------------------

REIMBURSEMENT_DIMENSIONS = ("scheme", "facility_level", "care_type")


def reimbursement(persons: pl.DataFrame, settled: pl.DataFrame, layer_ids: Sequence[str]) -> pl.DataFrame:
    """Effective reimbursement rates overall and by scheme, facility level and care type.

    Columns: dimension (all|scheme|facility_level|care_type), group, claims, total, in_policy, paid,
    paid_<layer> per layer (fen), rate_total, rate_in_policy (paid ÷ total, paid ÷ in-policy).
    """
    layer_cols = [paid_column(layer) for layer in layer_ids]
    frame = settled.join(persons.select("person_id", "scheme"), on="person_id", how="left").with_columns(
        _paid_sum(layer_ids).alias("paid"),
        pl.col("facility_level").cast(pl.String),
        pl.lit(ALL).alias(ALL),
    )
    sums = [pl.len().cast(pl.Int64).alias("claims")] + [
        pl.col(c).sum().cast(pl.Int64) for c in ["total", "in_policy", "paid", *layer_cols]
    ]
    columns = ["dimension", "group", "claims", "total", "in_policy", "paid", *layer_cols]
    parts = [
        frame.group_by(dimension)
        .agg(sums)
        .sort(dimension)
        .rename({dimension: "group"})
        .with_columns(pl.lit(dimension).alias("dimension"))
        .select(columns)
        for dimension in (ALL, *REIMBURSEMENT_DIMENSIONS)
    ]
    out = pl.concat(parts)
    if out.height == 0:  # no claims: one "all" row of zeros, so that every scenario has the row
        out = pl.DataFrame([(ALL, ALL, *([0] * (len(columns) - 2)))], schema=out.schema, orient="row")
    return out.with_columns(
        pl.when(pl.col("total") > 0).then(pl.col("paid") / pl.col("total")).alias("rate_total"),
        pl.when(pl.col("in_policy") > 0).then(pl.col("paid") / pl.col("in_policy")).alias("rate_in_policy"),
    )


# --- out-of-pocket ---------------------------------------------------------------------------------------


def nearest_rank(sorted_values: Sequence[int], permille: int) -> int:
    """The nearest-rank percentile: the k-th smallest value with k = ceil(p × n), p in thousandths."""
    n = len(sorted_values)
    if n == 0:
        return 0
    k = max(1, (permille * n + 999) // 1000)
    return int(sorted_values[k - 1])


def percentile_label(permille: int) -> str:
    return f"P{permille // 10}" if permille % 10 == 0 else f"P{permille / 10:g}"


def oop_percentiles(years: pl.DataFrame) -> pl.DataFrame:
    """percentile label, permille and OOP amount (fen) per person-year, plus mean and max."""
    values = years[OUT_OF_POCKET].sort().to_list()
    labels = [percentile_label(p) for p in OOP_PERCENTILES_PERMILLE]
    amounts = [nearest_rank(values, p) for p in OOP_PERCENTILES_PERMILLE]
    total = int(sum(values))
    labels += ["mean", "max"]
    amounts += [round_half_up_div(total, len(values)) if values else 0, int(values[-1]) if values else 0]
    return pl.DataFrame({"statistic": labels, "amount": amounts}, schema={"statistic": pl.String, "amount": pl.Int64})


def _bin_label(lower: int, upper: int | None) -> str:
    def short(yuan: int) -> str:
        return f"{yuan // 1000}k" if yuan >= 1000 and yuan % 1000 == 0 else str(yuan)

    if upper is None:
        return f">{short(lower)}"
    if upper == 0:
        return "0"
    return f"{short(lower)}–{short(upper)}"


def oop_histogram(years: pl.DataFrame) -> pl.DataFrame:
    """Person-years by yearly OOP band (yuan, lower exclusive, upper inclusive); the first band is exactly 0."""
    edges_fen = [e * 100 for e in OOP_BIN_EDGES_YUAN]
    bounds: list[tuple[int, int | None]] = [(0, 0)]  # (lower, upper] in fen; (0, 0] means "exactly 0"
    bounds += [(lo, hi) for lo, hi in itertools.pairwise(edges_fen)]
    bounds.append((edges_fen[-1], None))
    oop = years[OUT_OF_POCKET]
    n = years.height
    rows = []
    for lo, hi in bounds:
        if hi == 0:
            count = int((oop == 0).sum())
        elif hi is None:
            count = int((oop > lo).sum())
        else:
            count = int(((oop > lo) & (oop <= hi)).sum())
        rows.append((_bin_label(lo // 100, None if hi is None else hi // 100), lo, hi, count, _share(count, n)))
    return pl.DataFrame(
        rows,
        orient="row",
        schema={"band": pl.String, "above": pl.Int64, "up_to": pl.Int64, "person_years": pl.Int64, "share": pl.Float64},
    )


# --- catastrophic spending and benefit incidence -------------------------------------------------------


def catastrophic(years: pl.DataFrame) -> pl.DataFrame:
    """CHE incidence overall and by income quintile at 10% and 25% of annual income (see module doc).

    Columns: group (all|Q1..Q5), person_years, zero_income, lowest/highest income (fen),
    che<t> (count) and che<t>_share for each threshold t.
    """
    flags = [(pl.col(OUT_OF_POCKET) * 100 > pl.col("annual_income") * t).alias(f"che{t}") for t in CHE_THRESHOLDS_PCT]
    frame = years.with_columns(*flags, ("Q" + pl.col("quintile").cast(pl.String)).alias("group"))
    aggs = [
        pl.len().cast(pl.Int64).alias("person_years"),
        (pl.col("annual_income") == 0).sum().cast(pl.Int64).alias("zero_income"),
        pl.col("annual_income").min().alias("lowest_income"),
        pl.col("annual_income").max().alias("highest_income"),
        *[pl.col(f"che{t}").sum().cast(pl.Int64) for t in CHE_THRESHOLDS_PCT],
    ]
    by_quintile = frame.group_by("group").agg(aggs).sort("group")
    overall = frame.select(pl.lit(ALL).alias("group"), *aggs)
    out = pl.concat([overall, by_quintile], how="vertical_relaxed")
    return out.with_columns(
        [
            pl.when(pl.col("person_years") > 0).then(pl.col(f"che{t}") / pl.col("person_years")).alias(f"che{t}_share")
            for t in CHE_THRESHOLDS_PCT
        ]
    )


def benefit_incidence(years: pl.DataFrame, layer_ids: Sequence[str]) -> pl.DataFrame:
    """Share of all payments (and of each layer's) received by each income quintile, with population share."""
    layer_cols = [paid_column(layer) for layer in layer_ids]
    frame = years.with_columns(("Q" + pl.col("quintile").cast(pl.String)).alias("group"))
    grouped = (
        frame.group_by("group")
        .agg(
            pl.len().cast(pl.Int64).alias("person_years"),
            *[pl.col(c).sum().cast(pl.Int64) for c in ["paid", *layer_cols]],
        )
        .sort("group")
    )
    n = max(frame.height, 1)
    shares = [pl.col("person_years") / n]
    shares += [
        (pl.col(c) / pl.col(c).sum()) if grouped[c].sum() else pl.lit(None, dtype=pl.Float64)
        for c in ["paid", *layer_cols]
    ]
    names = ["population_share", "paid_share", *[f"{c}_share" for c in layer_cols]]
    return grouped.with_columns([expr.alias(name) for expr, name in zip(shares, names, strict=True)])


# --- fund outlays -----------------------------------------------------------------------------------------

def _eligible(condition: Condition, year: int) -> pl.Expr:
    """Persons who may meet the condition in the year (yibao.core.rules.eligible on the persons' columns):
    claim-level keys (facility, care type, area) are ignored; an age limit counts if the person is within it on
    some day of the year."""

    def key_in(dimension: Dimension, keys: frozenset[str]) -> pl.Expr | bool:
        if dimension not in PERSON_DIMENSIONS:
            return True  # a claim's key: some claim may have it
        return pl.col(dimension.value).cast(pl.String).str.to_lowercase().is_in(sorted(keys))

    born = pl.col("birth_date").dt.year()
    oldest = year - born  # on 31 December
    youngest = year - born - (pl.col("birth_date").dt.ordinal_day() > 1).cast(pl.Int32)  # on 1 January
    holds = eligible(condition, key_in, oldest, youngest)
    return pl.lit(holds) if isinstance(holds, bool) else holds


def layer_enrollees(scheme: Scheme, persons: pl.DataFrame) -> dict[str, int]:
    """For each layer, how many persons it covers: those who satisfy some part's person-level eligibility."""
    out: dict[str, int] = {}
    for layer in scheme.layers:
        covered = pl.lit(False)
        for part in layer.parts:
            covered = covered | _eligible(part.when, scheme.year)
        out[layer.id] = int(persons.select(covered.sum()).item()) if persons.height else 0
    return out


def outlays_per_enrollee(
    persons: pl.DataFrame, settled: pl.DataFrame, layer_ids: Sequence[str], enrollees: Mapping[str, int] | None = None
) -> pl.DataFrame:
    """Each layer's payments per enrollee-year (its covered persons) and per capita (all persons), fen.

    Without `enrollees` every person counts as enrolled in every layer.
    """
    years = len(service_years(settled))
    amounts = payments_by_layer(settled, layer_ids)
    rows = []
    for layer, paid in zip(amounts["payer"][: len(layer_ids)], amounts["amount"][: len(layer_ids)], strict=True):
        covered = persons.height if enrollees is None else enrollees.get(layer, 0)
        per_enrollee = round_half_up_div(paid, covered * years) if covered else None
        per_capita = round_half_up_div(paid, persons.height * years) if persons.height else None
        rows.append((layer, paid, covered, per_enrollee, per_capita))
    return pl.DataFrame(
        rows,
        orient="row",
        schema={
            "layer": pl.String,
            "paid": pl.Int64,
            "enrollees": pl.Int64,
            "per_enrollee": pl.Int64,
            "per_capita": pl.Int64,
        },
    )


# --- everything at once ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabMetrics:
    """All metrics of one scenario (a scheme, possibly reformed, settled over one population)."""

    layer_ids: tuple[str, ...]
    persons: int
    person_years: int
    claims: int
    spending: Mapping[str, int]
    payments: pl.DataFrame
    reimbursement: pl.DataFrame
    oop_percentiles: pl.DataFrame
    oop_histogram: pl.DataFrame
    catastrophic: pl.DataFrame
    benefit_incidence: pl.DataFrame
    outlays: pl.DataFrame


def compute(
    persons: pl.DataFrame,
    settled: pl.DataFrame,
    layer_ids: Sequence[str],
    enrollees: Mapping[str, int] | None = None,
) -> LabMetrics:
    layer_ids = tuple(layer_ids)
    years = person_years(persons, settled, layer_ids)
    return LabMetrics(
        layer_ids=layer_ids,
        persons=persons.height,
        person_years=years.height,
        claims=settled.height,
        spending=spending(settled),
        payments=payments_by_layer(settled, layer_ids),
        reimbursement=reimbursement(persons, settled, layer_ids),
        oop_percentiles=oop_percentiles(years),
        oop_histogram=oop_histogram(years),
        catastrophic=catastrophic(years),
        benefit_incidence=benefit_incidence(years, layer_ids),
        outlays=outlays_per_enrollee(persons, settled, layer_ids, enrollees),
    )
