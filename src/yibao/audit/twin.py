"""The "Twin" check: labour-inspection observations against the insurance registry (docs/audit.md).

For each observed worker, linked to the registry (twin_linkage), with the employer's region and average
wage and the rules of `twin_rules.yaml` for year Y:

* `expected_base = min(max(monthly_wage, floor × average), ceiling × average)` (60% / 300%), each bound
  rounded half-up to the fen;
* *insured*: linked to a registry row at the inspected employer with `months_paid > 0`; flagged
  `under_declared_base` when `declared_base < expected_base × (1 − tolerance)` (at exactly the edge it is
  not), its monthly shortfall `expected_base − declared_base`, assessed for its `months_paid`;
* otherwise flagged `uninsured_worker` (reason `absent`, `insured_elsewhere` or `no_months_paid`), the
  shortfall the whole expected base, assessed from January to the month of the inspection (all twelve
  months when the inspection falls after year Y);
* each assessed month m owes `round(employer rate × shortfall) + round(employee rate × shortfall)`
  (the region's rates), due on `due_day` of month m + 1; unpaid on the assessment date, it bears 0.05% a
  day (Social Insurance Law art. 86): the worker's late fee is `round(owed a month × daily rate × the days
  late of all its assessed months)`, rounded once.

Employers' estimated arrears are the sums of their flagged workers' contributions and late fees. Amounts
are integer fen throughout; the files show yuan with two decimals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import polars as pl

from yibao.audit.twin_linkage import link
from yibao.audit.twin_rules import TwinRules
from yibao.audit.twin_tables import TwinInputs, read_twin_inputs
from yibao.core.money import RATE_SCALE
from yibao.tables import fen_to_yuan_expr, write_table


class FlagKind(StrEnum):
    UNINSURED_WORKER = "uninsured_worker"
    UNDER_DECLARED_BASE = "under_declared_base"


class Reason(StrEnum):
    ABSENT = "absent"
    INSURED_ELSEWHERE = "insured_elsewhere"
    NO_MONTHS_PAID = "no_months_paid"
    BASE_BELOW_BAND = "base_below_band"


FLAG_COLUMNS = (
    "inspection_id", "employer_uscc", "kind", "person_id", "match", "score", "observed_wage", "declared_base",
    "expected_base", "monthly_shortfall", "reason", "months", "contributions_due", "late_fee",
)  # fmt: skip
EMPLOYER_COLUMNS = (
    "employer_uscc", "name", "region", "observed", "matched", "uninsured", "under_declared", "monthly_shortfall",
    "arrears_contributions", "late_fee", "estimated_arrears",
)  # fmt: skip
FLAG_MONEY = ("observed_wage", "declared_base", "expected_base", "monthly_shortfall", "contributions_due", "late_fee")
EMPLOYER_MONEY = ("monthly_shortfall", "arrears_contributions", "late_fee", "estimated_arrears")


@dataclass(frozen=True)
class TwinResult:
    """`flags`: one row per flagged observation; `employers`: one row per inspected employer (amounts in fen)."""

    flags: pl.DataFrame
    employers: pl.DataFrame
    observed: int
    linked_exact: int
    linked_splink: int


def _rate(expr: pl.Expr, ppm: pl.Expr | int) -> pl.Expr:
    """round(rate × fen) half-up, as core.money.apply_rate, on columns (Int64; products stay below 2**63)."""
    return (expr * ppm * 2 + RATE_SCALE) // (2 * RATE_SCALE)


def _region_rules(rules: TwinRules, year: int, regions: list[str]) -> pl.DataFrame:
    day = dt.date(year, 1, 1)
    rows = [(r, rules.rates(year, r).employer, rules.rates(year, r).employee) for r in regions]
    return pl.DataFrame(
        rows, schema={"region": pl.String, "employer_rate": pl.Int64, "employee_rate": pl.Int64}, orient="row"
    ).with_columns(
        pl.lit(rules.base_floor.at(day), pl.Int64).alias("floor"),
        pl.lit(rules.base_ceiling.at(day), pl.Int64).alias("ceiling"),
    )


def _assess(observed: pl.DataFrame, rules: TwinRules, year: int) -> pl.DataFrame:
    """Insured / under-declared / uninsured, the expected base and the monthly shortfall of each observation."""
    day = dt.date(year, 1, 1)
    tolerance = rules.tolerance.at(day)
    expected = pl.min_horizontal(
        pl.max_horizontal(pl.col("monthly_wage"), _rate(pl.col("average_wage"), pl.col("floor"))),
        _rate(pl.col("average_wage"), pl.col("ceiling")),
    )
    here = pl.col("reg_employer") == pl.col("employer_uscc")
    insured = (here & (pl.col("months_paid") > 0)).fill_null(False)
    below = pl.col("declared_base") * RATE_SCALE < pl.col("expected_base") * (RATE_SCALE - tolerance)
    reason = (
        pl.when(pl.col("reg").is_null()).then(pl.lit(Reason.ABSENT.value))
        .when(~here).then(pl.lit(Reason.INSURED_ELSEWHERE.value))
        .when(~insured).then(pl.lit(Reason.NO_MONTHS_PAID.value))
        .when(below).then(pl.lit(Reason.BASE_BELOW_BAND.value))
    )  # fmt: skip
    inspected_month = (
        pl.when(pl.col("inspected_on").dt.year() > year).then(12).otherwise(pl.col("inspected_on").dt.month())
    )
    return (
        observed.with_columns(
            expected.alias("expected_base"), insured.alias("insured"), pl.col("monthly_wage").alias("observed_wage")
        )
        .with_columns(reason.alias("reason"))
        .with_columns(
            pl.when(pl.col("reason") == Reason.BASE_BELOW_BAND.value)
            .then(pl.lit(FlagKind.UNDER_DECLARED_BASE.value))
            .when(pl.col("reason").is_not_null())
            .then(pl.lit(FlagKind.UNINSURED_WORKER.value))
            .alias("kind"),
            pl.when(pl.col("insured")).then(pl.col("declared_base")).alias("declared_base"),
        )
        .with_columns(
            (pl.col("expected_base") - pl.col("declared_base").fill_null(0)).alias("monthly_shortfall"),
            pl.when(pl.col("insured"))
            .then(pl.col("months_paid").cast(pl.Int64))
            .otherwise(inspected_month.cast(pl.Int64))
            .alias("months"),
        )
    )


def late_days(year: int, due_day: int, as_of: dt.date) -> pl.DataFrame:
    """For each month of `year`: the due date of its contributions and the days late on `as_of` (0 if not due)."""
    rows = []
    for month in range(1, 13):
        due = dt.date(year + month // 12, month % 12 + 1, due_day)
        rows.append((month, due, max(0, (as_of - due).days)))
    return pl.DataFrame(rows, schema={"month": pl.Int64, "due": pl.Date, "days_late": pl.Int64}, orient="row")


def _arrears(flags: pl.DataFrame, rules: TwinRules, year: int, as_of: dt.date) -> pl.DataFrame:
    """Contributions due and late fee of each flagged observation.

    Every assessed month owes the same; the late fee is rounded once per worker, on the days late of all
    its assessed months together: round(owed a month × daily rate × Σ days late)."""
    day = dt.date(year, 1, 1)
    daily = rules.late_fee_daily.at(day)
    months = late_days(year, rules.due_day.at(day), as_of).select(
        pl.col("month").alias("months"), pl.col("days_late").cum_sum().alias("days_late_total")
    )
    owed = _rate(pl.col("monthly_shortfall"), pl.col("employer_rate")) + _rate(
        pl.col("monthly_shortfall"), pl.col("employee_rate")
    )
    return (
        flags.join(months, on="months", how="left", maintain_order="left")
        .with_columns(owed.alias("owed"), pl.col("days_late_total").fill_null(0))
        .with_columns(
            (pl.col("owed") * pl.col("months")).alias("contributions_due"),
            _rate(pl.col("owed") * pl.col("days_late_total"), daily).alias("late_fee"),
        )
    )


def run_twin(inputs: TwinInputs, rules: TwinRules, year: int, as_of: dt.date | None = None) -> TwinResult:
    """The check on validated inputs; `as_of` (default 31 December of `year`) is the day late fees run to."""
    links = link(inputs.inspections, inputs.workers, rules.match_threshold.at(dt.date(year, 1, 1)))
    return _flag(*_after_linkage(inputs), links, rules, year, as_of or dt.date(year, 12, 31))


def check_files(
    workers: str | Path, inspections: str | Path, employers: str | Path, rules: TwinRules, year: int,
    as_of: dt.date | None = None,
) -> TwinResult:  # fmt: skip
    """Read, validate and check the three files. The names and numbers the linkage needed are dropped before
    the rules run (at ten million observations they are gigabytes)."""
    inputs = read_twin_inputs(workers, inspections, employers, year)
    links = link(inputs.inspections, inputs.workers, rules.match_threshold.at(dt.date(year, 1, 1)))
    narrow = _after_linkage(inputs)
    del inputs
    return _flag(*narrow, links, rules, year, as_of or dt.date(year, 12, 31))


def _after_linkage(inputs: TwinInputs) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The columns the rules read: observations, registry rows (by row number), employers."""
    seen = inputs.inspections.select("inspection_id", "employer_uscc", "inspected_on", "monthly_wage")
    matched = inputs.workers.select(
        pl.col("person_id"), pl.col("employer_uscc").alias("reg_employer"), "declared_base", "months_paid"
    ).with_row_index("reg")
    return seen, matched, inputs.employers


def _flag(
    seen: pl.DataFrame, matched: pl.DataFrame, emp: pl.DataFrame, links: pl.DataFrame, rules: TwinRules, year: int,
    as_of: dt.date,
) -> TwinResult:  # fmt: skip
    observed = (
        pl.concat([seen, links], how="horizontal")
        .with_row_index("row")
        .join(matched.with_columns(pl.col("reg").cast(pl.Int64)), on="reg", how="left", maintain_order="left")
        .join(emp, on="employer_uscc", how="left", maintain_order="left")
        .join(_region_rules(rules, year, emp["region"].unique().to_list()), on="region", how="left")
        .sort("row")
    )
    assessed = _assess(observed, rules, year)
    flags = _arrears(assessed.filter(pl.col("kind").is_not_null()), rules, year, as_of)
    return TwinResult(
        flags=flags.select(*FLAG_COLUMNS),
        employers=_employers(assessed, flags, emp),
        observed=seen.height,
        linked_exact=int((links["match"] == "ric_exact").sum()),
        linked_splink=int((links["match"] == "splink").sum()),
    )


def _employers(assessed: pl.DataFrame, flags: pl.DataFrame, emp: pl.DataFrame) -> pl.DataFrame:
    counts = assessed.group_by("employer_uscc").agg(
        pl.len().alias("observed"),
        pl.col("insured").sum().alias("matched"),
        (pl.col("kind") == FlagKind.UNINSURED_WORKER.value).sum().alias("uninsured"),
        (pl.col("kind") == FlagKind.UNDER_DECLARED_BASE.value).sum().alias("under_declared"),
    )
    money = flags.group_by("employer_uscc").agg(
        pl.col("monthly_shortfall").sum(), pl.col("contributions_due").sum().alias("arrears_contributions"),
        pl.col("late_fee").sum(),
    )  # fmt: skip
    return (
        counts.join(money, on="employer_uscc", how="left")
        .join(emp.select("employer_uscc", pl.col("employer_name").alias("name"), "region"), on="employer_uscc")
        .with_columns(pl.col(c).fill_null(0) for c in ("monthly_shortfall", "arrears_contributions", "late_fee"))
        .with_columns((pl.col("arrears_contributions") + pl.col("late_fee")).alias("estimated_arrears"))
        .with_columns(pl.col(c).cast(pl.Int64) for c in ("observed", "matched", "uninsured", "under_declared"))
        .sort("employer_uscc")
        .select(*EMPLOYER_COLUMNS)
    )


def contract_flags(flags: pl.DataFrame) -> pl.DataFrame:
    """flags.csv: amounts in yuan, the score with six decimals."""
    return flags.with_columns(*[fen_to_yuan_expr(c).alias(c) for c in FLAG_MONEY], pl.col("score").round(6)).sort(
        "inspection_id"
    )


def contract_employers(employers: pl.DataFrame) -> pl.DataFrame:
    return employers.with_columns(fen_to_yuan_expr(c).alias(c) for c in EMPLOYER_MONEY)


def write_twin(result: TwinResult, out_dir: str | Path, suffix: str = ".csv") -> tuple[Path, Path]:
    """DIR/flags.<suffix> and DIR/employers.<suffix>, each written whole or not at all."""
    out = Path(out_dir)
    flags, employers = out / f"flags{suffix}", out / f"employers{suffix}"
    write_table(contract_flags(result.flags), flags)
    write_table(contract_employers(result.employers), employers)
    return flags, employers
