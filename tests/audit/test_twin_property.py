"""Property: arrears are never negative and equal the flagged workers' shortfalls times the rates."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.audit.twin_cases import EMPLOYER_A, EMPLOYER_B, make_ric
from yibao.audit.identity import ric_valid
from yibao.audit.twin import run_twin
from yibao.audit.twin_rules import load_rules
from yibao.audit.twin_tables import TwinInputs
from yibao.core.money import apply_rate

RULES = load_rules()
RATES = RULES.rates(2024, "city")

worker_case = st.fixed_dictionaries(
    {
        "registered": st.sampled_from(["here", "elsewhere", "no"]),
        "declared": st.integers(0, 5_000_000),
        "months": st.integers(0, 12),
        "wage": st.integers(0, 8_000_000),
        "month_seen": st.integers(1, 12),
    }
)


def _inputs(cases: list[dict[str, int | str]], average: int) -> TwinInputs:
    workers, seen = [], []
    for i, case in enumerate(cases):
        number = make_ric(f"1980{1 + i % 12:02d}{1 + i % 28:02d}", i)
        name, born = f"工人{i}", dt.date(1980, 1 + i % 12, 1 + i % 28)
        if case["registered"] != "no":
            employer = EMPLOYER_A if case["registered"] == "here" else EMPLOYER_B
            workers.append((f"P{i}", number, name, born, "M", employer, "city", case["declared"], case["months"]))
        seen.append((f"I{i}", EMPLOYER_A, dt.date(2024, int(case["month_seen"]), 10), number, name, born, "M",
                     case["wage"]))  # fmt: skip
    w = pl.DataFrame(workers, orient="row", schema={
        "person_id": pl.String, "ric": pl.String, "name": pl.String, "birth_date": pl.Date, "sex": pl.String,
        "employer_uscc": pl.String, "region": pl.String, "declared_base": pl.Int64, "months_paid": pl.Int8})  # fmt: skip
    i = pl.DataFrame(seen, orient="row", schema={
        "inspection_id": pl.String, "employer_uscc": pl.String, "inspected_on": pl.Date, "ric": pl.String,
        "name": pl.String, "birth_date": pl.Date, "sex": pl.String, "monthly_wage": pl.Int64})  # fmt: skip
    i = i.with_columns(ric_valid(i["ric"]).alias("ric_valid")).select(
        "inspection_id", "employer_uscc", "inspected_on", "ric", "ric_valid", "name", "birth_date", "sex",
        "monthly_wage")  # fmt: skip
    e = pl.DataFrame({"employer_uscc": [EMPLOYER_A, EMPLOYER_B], "employer_name": ["甲", "乙"],
                      "region": ["city", "city"], "average_wage": [average, average]})  # fmt: skip
    return TwinInputs(workers=w, inspections=i, employers=e)


@settings(max_examples=25, deadline=None)
@given(st.lists(worker_case, min_size=1, max_size=12), st.integers(100_000, 2_000_000),
       st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)))  # fmt: skip
def test_arrears_are_the_shortfalls_times_the_rates(cases: list[dict[str, int | str]], average: int,
                                                    as_of: dt.date) -> None:  # fmt: skip
    result = run_twin(_inputs(cases, average), RULES, 2024, as_of)
    flags = result.flags
    assert (flags["monthly_shortfall"] > 0).all()
    for row in flags.iter_rows(named=True):
        owed = apply_rate(RATES.employer, row["monthly_shortfall"]) + apply_rate(
            RATES.employee, row["monthly_shortfall"]
        )
        assert row["contributions_due"] == owed * row["months"]
        assert row["late_fee"] >= 0
    firm = result.employers.filter(pl.col("employer_uscc") == EMPLOYER_A).to_dicts()[0]
    assert firm["arrears_contributions"] == int(flags["contributions_due"].sum()) >= 0
    assert firm["estimated_arrears"] == firm["arrears_contributions"] + int(flags["late_fee"].sum())
    assert firm["observed"] == len(cases) == firm["matched"] + firm["uninsured"]
    assert result.employers["estimated_arrears"].min() >= 0  # type: ignore[operator]
