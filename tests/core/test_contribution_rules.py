"""Contribution rules as dated data (yibao.schemes.contributions): the reference city's years, a 2018 year written
in a scheme of one's own, the pure computations the operations and the lab share, and errors naming file, line, key."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.core.errors import SchemeError
from yibao.core.model import AssistanceCategory
from yibao.schemes import BUILTIN_DIR
from yibao.schemes.contributions import (
    CapRaise,
    WaitingPeriod,
    add_months,
    load_contributions,
    read_contributions,
    resolve,
    rules_for,
)

REFERENCE = BUILTIN_DIR / "reference-city"


@pytest.mark.parametrize(("year", "individual", "subsidy"), [(2023, 380_00, 640_00), (2024, 400_00, 670_00), (2025, 400_00, 700_00)])
def test_the_reference_city_residents_figures_by_year(year: int, individual: int, subsidy: int) -> None:
    rules = rules_for("reference-city", "reference-city", year)
    assert (rules.resident_individual, rules.resident_subsidy) == (individual, subsidy)


def test_the_subsidy_splits_into_central_and_local_shares_with_the_residue_on_the_local_one() -> None:
    rules = rules_for("reference-city", "reference-city", 2024)
    assert rules.subsidy_split() == (402_00, 268_00, 0)  # 60% of 670 = 402, 40% = 268
    # a share that leaves half a fen on each side: 0.5 fen + 0.5 fen are both rounded up, one fen too many
    odd = resolve_with(rules_for("reference-city", "reference-city", 2024), resident_subsidy=1, subsidy_central_share=500_000)
    assert odd.subsidy_split() == (1, 0, -1)  # central round(0.5) = 1, local round(0.5) = 1, residue -1 -> local 0


def resolve_with(rules, **changes):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(rules, **changes)


@given(st.integers(0, 10_000_000_00), st.integers(0, 1_000_000))
def test_the_subsidy_shares_always_sum_to_the_subsidy(subsidy: int, central_share: int) -> None:
    rules = resolve_with(rules_for("reference-city", "reference-city", 2024), resident_subsidy=subsidy,
                         subsidy_central_share=central_share)
    central, local, residue = rules.subsidy_split()
    assert central + local == subsidy and abs(residue) <= 1 and central >= 0 and local >= 0


def test_assistance_pays_all_or_part_of_the_individual_contribution_by_category() -> None:
    rules = rules_for("reference-city", "reference-city", 2024)
    paid = {c: rules.assistance_paid(c) for c in AssistanceCategory}
    assert paid == {AssistanceCategory.NONE: 0, AssistanceCategory.EXTREME_POOR: 400_00,
                    AssistanceCategory.DIBAO: 280_00, AssistanceCategory.LOW_INCOME: 200_00}


def test_the_employee_base_is_clamped_to_60_300_percent_of_the_average_wage() -> None:
    rules = rules_for("reference-city", "reference-city", 2024)
    assert rules.average_wage == 100_000_00
    assert rules.employee_dues(50_000_00) == (60_000_00, 3_600_00, 1_200_00)
    assert rules.employee_dues(80_000_00) == (80_000_00, 4_800_00, 1_600_00)
    assert rules.employee_dues(900_000_00)[0] == 300_000_00


def test_windows_and_waiting_periods_by_year() -> None:
    before, after = (rules_for("reference-city", "reference-city", y) for y in (2024, 2025))
    assert before.resident_window.dates(2025) == (date(2024, 9, 1), date(2024, 12, 31))
    assert after.huiminbao_window.dates(2025) == (date(2024, 11, 1), date(2025, 3, 31))
    assert before.waiting.months(in_window=False, years_without_cover=2) == 0  # no waiting period before 2025
    assert after.waiting.months(in_window=True, years_without_cover=0) == 0
    assert after.waiting.months(in_window=False, years_without_cover=0) == 3
    assert after.waiting.months(in_window=True, years_without_cover=2) == 5  # 3 + 2 x 1


def test_the_waiting_period_has_a_floor_after_a_long_break() -> None:
    rule = WaitingPeriod(fixed_months=3, months_per_year_without_cover=0, long_break_years=4, long_break_min_months=6)
    assert [rule.months(True, years) for years in range(6)] == [0, 3, 3, 3, 6, 6]


def test_the_cap_raise_rewards_continuity_and_years_without_fund_use_up_to_a_limit() -> None:
    rule = CapRaise(insured_years_before_raise=4, raise_per_insured_year=1000_00,
                    raise_after_year_without_fund_use=1000_00, limit=3500_00)
    assert [rule.amount(years, 0) for years in range(1, 8)] == [0, 0, 0, 0, 1000_00, 2000_00, 3000_00]
    assert rule.amount(2, 1) == 1000_00  # a year without fund use counts from the first
    assert rule.amount(7, 2) == 3500_00  # 3,000 + 2,000, limited to 3,500


def test_add_months_keeps_the_day_or_takes_the_month_end() -> None:
    assert add_months(date(2025, 3, 15), 3) == date(2025, 6, 15)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2024, 10, 31), 4) == date(2025, 2, 28)


def _scheme_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "city"
    shutil.copytree(REFERENCE, folder)
    return folder


def test_a_scheme_of_ones_own_can_write_2018s_220_plus_490(tmp_path: Path) -> None:
    folder = _scheme_copy(tmp_path)
    path = folder / "contributions.yaml"
    text = path.read_text(encoding="utf-8")
    # the residents' 2018 figures before the file's first year, every other figure in force from 2018 too
    text = text.replace("      2021-01-01: 320\n", "      2018-01-01: 220\n      2021-01-01: 320\n")
    text = text.replace("      2021-01-01: 580\n", "      2018-01-01: 490\n      2021-01-01: 580\n")
    text = text.replace("2021-01-01:", "2018-01-01:").replace("2018-01-01: 320", "2021-01-01: 320")
    text = text.replace("2018-01-01: 580", "2021-01-01: 580")
    path.write_text(text, encoding="utf-8")
    rules = rules_for(folder, "reference-city", 2018)
    assert (rules.resident_individual, rules.resident_subsidy) == (220_00, 490_00)
    assert rules_for(folder, "reference-city", 2023).resident_subsidy == 640_00
    assert rules_for(folder / "scheme.yaml", "reference-city", 2018).resident_individual == 220_00


def test_a_year_before_the_data_is_refused_naming_the_file() -> None:
    with pytest.raises(SchemeError) as err:
        rules_for("reference-city", "reference-city", 2018)
    assert "contributions.yaml" in err.value.message and "2018-01-01" in err.value.message


def test_a_region_the_file_names_gets_its_own_figure(tmp_path: Path) -> None:
    folder = _scheme_copy(tmp_path)
    path = folder / "contributions.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "2021-01-01: {default: 100000}", "2021-01-01: {default: 100000, west-county: 80000}"), encoding="utf-8")
    assert rules_for(folder, "west-county", 2024).average_wage == 80_000_00
    assert rules_for(folder, "east-county", 2024).average_wage == 100_000_00


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    unit: yuan\n    reference: 医保发〔2021〕32号 (2021, 580)",
         "    reference: 医保发〔2021〕32号 (2021, 580)", "line 20: residents.government_subsidy: missing key 'unit'"),
        ("  employee_rate:\n    description: Employee's contribution rate on the wage base (个人缴费)\n    unit: rate\n"
         "    reference: 国发〔1998〕44号 (2%)\n",
         "  employee_rate:\n    description: Employee's contribution rate on the wage base (个人缴费)\n    unit: rate\n",
         "employees.employee_rate: missing key 'reference'"),
        ("      2021-01-01: 0.02\n", "      2021-01-01: 2%\n", "employees.employee_rate.values.2021-01-01: expected a decimal share"),
        ("  retiree_account_credit:\n    description: Yearly amount the pooled fund credits to each retiree's individual account (定额划入)\n    unit: yuan",
         "  retiree_account_credit:\n    description: Yearly amount the pooled fund credits to each retiree's individual account (定额划入)\n    unit: rate",
         "employees.retiree_account_credit.unit: expected unit 'yuan'"),
        ("{year: previous, date: \"09-01\"}", "{year: previous, date: \"09-31\"}", "residents.window.values.2021-01-01.opens.date"),
        ("dibao: 0.70, ", "", "residents.assistance_share.values.2021-01-01: expected a value for each of"),
    ],
)
def test_errors_name_the_file_the_line_and_the_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    folder = _scheme_copy(tmp_path)
    path = folder / "contributions.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SchemeError) as err:
        read_contributions(path)
    assert str(path) in err.value.message and expected in err.value.message
    assert "line " in err.value.message


def test_a_scheme_without_a_contributions_file_says_so(tmp_path: Path) -> None:
    folder = _scheme_copy(tmp_path)
    (folder / "contributions.yaml").unlink()
    with pytest.raises(SchemeError) as err:
        load_contributions(folder)
    assert "contributions.yaml: no such file" in err.value.message


def test_the_schedule_is_read_once_and_resolved_per_year() -> None:
    schedule = load_contributions("reference-city")
    assert load_contributions("reference-city") is schedule
    assert resolve(schedule, "reference-city", 2025).cap_raise.raise_per_insured_year == 1000_00
    assert resolve(schedule, "reference-city", 2024).cap_raise.raise_per_insured_year == 0
