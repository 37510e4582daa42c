"""Synthesised individual-account balances, computed by hand from reference-city's contribution rules."""

from __future__ import annotations

import datetime as dt

import polars as pl

from yibao.lab.synth import synthesize
from yibao.lab.synth_accounts import account_balances


def _persons(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    n = len(rows)
    return pl.DataFrame(
        {
            "person_id": [f"P{i}" for i in range(n)],
            "birth_date": [dt.date(1970, 1, 1)] * n,
            "sex": ["F"] * n,
            "region": ["reference-city"] * n,
            "scheme": [r[0] for r in rows],
            "assistance_category": [r[1] for r in rows],
            "huiminbao": [False] * n,
            "pre_existing": [False] * n,
            "annual_income": [r[2] for r in rows],
        }
    )


def test_balances_follow_wage_and_employee_rate_by_hand() -> None:
    """reference-city 2024 (contributions.yaml): average wage 100,000 yuan, base 60%..300% = 60,000..300,000;
    employee rate 2%, all of it to the account; employer's part none to the account; retirees' credit 720 yuan;
    balance at the start of the year = 1 year of credit (carry-over).

    * employee earning  50,000.00 -> base 60,000 (floor)     -> 2% = 1,200.00
    * employee earning 123,456.78 -> base 123,456.78         -> 2% = 2,469.1356 -> 2,469.14 (half-up)
    * employee earning 400,000.00 -> base 300,000 (ceiling)  -> 2% = 6,000.00
    * retiree (any income)                                   -> 720.00
    * resident, dibao resident                               -> 0
    """
    persons = _persons(
        [
            ("uebmi_employee", "none", 50_000_00),
            ("uebmi_employee", "none", 123_456_78),
            ("uebmi_employee", "low_income", 400_000_00),
            ("uebmi_retiree", "none", 30_000_00),
            ("urrbmi", "none", 40_000_00),
            ("urrbmi", "dibao", 5_000_00),
        ]
    )
    balances = account_balances(persons, 2024, "reference-city")
    assert balances.to_list() == [1_200_00, 2_469_14, 6_000_00, 720_00, 0, 0]


def test_no_contribution_figures_for_the_year_means_no_balances() -> None:
    persons = _persons([("uebmi_employee", "none", 80_000_00), ("uebmi_retiree", "none", 1)])
    assert account_balances(persons, 2018, "reference-city").to_list() == [0, 0]


def test_synthetic_city_carries_balances_only_for_uebmi_and_adding_them_drew_nothing() -> None:
    city = synthesize(3_000, 2024, seed=5)
    persons = city.persons
    resident = persons.filter(pl.col("scheme") == "urrbmi")
    assert resident["individual_account_balance"].max() == 0
    retirees = persons.filter(pl.col("scheme") == "uebmi_retiree")
    assert retirees["individual_account_balance"].unique().to_list() == [720_00]
    employees = persons.filter(pl.col("scheme") == "uebmi_employee")
    # 2% of a base between 60,000 and 300,000 yuan
    assert employees["individual_account_balance"].min() >= 1_200_00
    assert employees["individual_account_balance"].max() <= 6_000_00
    # the balance is computed, never drawn: the same seed in a year without figures gives the same other columns
    other = synthesize(3_000, 2018, seed=5).persons
    assert other["individual_account_balance"].max() == 0
    same = ["sex", "scheme", "assistance_category", "huiminbao", "pre_existing", "annual_income"]
    assert other.select(same).equals(persons.select(same))
