"""Synthetic city, individual accounts: each UEBMI person's individual-account balance at the start of the year.

A balance is what the member brings into the year: the credits of earlier years not yet spent. The yearly credit
comes from the region's contribution rules for the year (`yibao.schemes.contributions`, reference-city's
contributions.yaml), computed as the lab computes money in (`yibao.lab.revenue.person_contributions`):

* an employee: the account shares of the employee's and the employer's parts of the contribution base (the wage,
  here the person's annual income, clamped to the base floor and ceiling); since the 2021 reform
  (国办发〔2021〕14号) the employee's own 2% goes to the account and the employer's part to the pooled fund;
* a retiree: the fixed yearly credit the pooled fund pays into each retiree's account (a city notice; reference-city
  720 yuan, *(local, check)*).

Carry-over: the balance at the start of the year is `CARRY_OVER_YEARS` times the yearly credit — the unspent credit
of earlier years *(modelling choice, check: the national accumulated individual-account balance is of the order of
one to two years of account income)*. It is deterministic (no random draw), so adding the column changed no other
column of the synthetic city. Residents have no account (balance 0). docs/lab.md describes it with its sources.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from yibao.core.errors import SchemeError
from yibao.core.money import apply_rate
from yibao.lab.revenue import ACCOUNT_BALANCE, ContributionTerms, person_contributions
from yibao.schemes.contributions import rules_for

RULES_SCHEME = "reference-city"  # the calibration city whose contribution rules the synthetic balances follow
CARRY_OVER_YEARS_PPM = 1_000_000  # balance at the start of the year = 1.0 x the yearly credit (modelling choice)


@cache
def _rules(region: str, year: int) -> ContributionTerms | None:
    try:
        return rules_for(RULES_SCHEME, region, year)
    except SchemeError as error:
        if error.code == "scheme.no_value":  # no contribution figures for the year: no balances
            return None
        raise


def account_balances(persons: pl.DataFrame, year: int, region: str) -> pl.Series:
    """The individual-account balance (fen) at the start of `year` of each person; 0 for residents and for a year
    without contribution figures."""
    rules = _rules(region, year)
    if rules is None or persons.height == 0:
        return pl.Series(ACCOUNT_BALANCE, np.zeros(persons.height, dtype=np.int64), dtype=pl.Int64)
    credit = person_contributions(persons, rules)["to_account"].to_numpy().astype(np.int64)
    return pl.Series(ACCOUNT_BALANCE, apply_rate(CARRY_OVER_YEARS_PPM, credit), dtype=pl.Int64)
