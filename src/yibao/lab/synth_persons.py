"""Synthetic city, persons: age, sex, scheme, assistance category, Huiminbao, chronic condition, income.

Calibrated to published Chinese figures (docs/synth.md); each constant carries a short citation.
yibao.lab.synth draws a block's persons with `persons_block`, then their bills (yibao.lab.synth_claims).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from yibao.core.model import AssistanceCategory, InsuranceScheme, Sex

MAX_AGE = 99

Rng = np.random.Generator
FloatArray = np.ndarray
IntArray = np.ndarray

# --- age and sex: 7th national census (2020), share of the population in % by 5-year group --------

AGE_GROUP_SHARES = (
    5.5,
    6.4,
    6.0,
    5.2,
    5.3,
    6.3,
    8.8,
    7.0,
    6.6,  # 0-4 ... 40-44
    8.2,
    8.6,
    7.2,
    5.2,
    5.0,
    3.4,
    2.2,
    1.5,
    1.1,  # 45-49 ... 80-84, 85+
)
OLDEST_DECAY = 0.8  # 85+ spread over 85..99, each year 0.8 x the one before
# Share of men: 51.24% overall (census sex ratio 105.07); women outlive men.
MALE_SHARE_BY_AGE = ((60, 0.515), (80, 0.49), (MAX_AGE + 1, 0.42))  # (below age, share)


def _age_weights() -> FloatArray:
    weights = np.zeros(MAX_AGE + 1)
    for group, share in enumerate(AGE_GROUP_SHARES[:-1]):
        weights[group * 5 : group * 5 + 5] = share / 5
    oldest = OLDEST_DECAY ** np.arange(MAX_AGE + 1 - 85)
    weights[85:] = AGE_GROUP_SHARES[-1] * oldest / oldest.sum()
    normalised: FloatArray = weights / weights.sum()
    return normalised


AGE_WEIGHTS = _age_weights()
AGES = np.arange(MAX_AGE + 1)


def _male_share(age: IntArray) -> FloatArray:
    bounds = np.array([b for b, _ in MALE_SHARE_BY_AGE])
    shares = np.array([s for _, s in MALE_SHARE_BY_AGE])
    return shares[np.searchsorted(bounds, age, side="right")]


# --- scheme: NHSA statistical bulletin 2023 -----------------------------------------------------
# 1,334.0M insured; UEBMI 371.0M (of which retirees ~100M, 27%), URRBMI 963.0M.
SCHEME_SHARES = {
    InsuranceScheme.UEBMI_EMPLOYEE: 371.0 * 0.73 / 1334.0,
    InsuranceScheme.UEBMI_RETIREE: 371.0 * 0.27 / 1334.0,
}
WORKING_FROM = 18
RETIREMENT_AGE = {Sex.MALE: 60, Sex.FEMALE: 55}  # statutory ages before the 2025 reform (women 50/55)


def _retirement_age(male: np.ndarray) -> IntArray:
    return np.where(male, RETIREMENT_AGE[Sex.MALE], RETIREMENT_AGE[Sex.FEMALE])


def population_share(in_group: Callable[[IntArray, np.ndarray], np.ndarray]) -> float:
    """Share of the census population (age x sex) for which `in_group(age, male)` holds."""
    male = _male_share(AGES)
    share = AGE_WEIGHTS * (male * in_group(AGES, np.ones_like(AGES, bool)))
    share += AGE_WEIGHTS * ((1 - male) * in_group(AGES, np.zeros_like(AGES, bool)))
    return float(share.sum())


# Conditional shares chosen so that the national shares are reproduced.
EMPLOYEE_GIVEN_WORKING_AGE = SCHEME_SHARES[InsuranceScheme.UEBMI_EMPLOYEE] / population_share(
    lambda age, male: (age >= WORKING_FROM) & (age < _retirement_age(male))
)
RETIREE_GIVEN_RETIREMENT_AGE = SCHEME_SHARES[InsuranceScheme.UEBMI_RETIREE] / population_share(
    lambda age, male: age >= _retirement_age(male)
)

# --- assistance categories: Ministry of Civil Affairs 2023 -----------------------------------------
# dibao ~40M (2.8% of the population), extreme poor (tekun) ~4.7M (0.33%), mostly elderly,
# low-income population under monitoring ~3% of residents; nearly all are URRBMI residents.
ASSISTANCE_GIVEN_URRBMI = {  # category -> (probability below 60, probability from 60)
    AssistanceCategory.EXTREME_POOR: (0.0025, 0.012),
    AssistanceCategory.DIBAO: (0.038, 0.045),
    AssistanceCategory.LOW_INCOME: (0.035, 0.040),
}
LOW_INCOME_GIVEN_UEBMI = 0.005

# --- Huiminbao take-up: ~140M insured 2023 (10% of the population), higher among employees -----
HUIMINBAO_TAKE_UP = {
    InsuranceScheme.UEBMI_EMPLOYEE: 0.20,
    InsuranceScheme.UEBMI_RETIREE: 0.22,
    InsuranceScheme.URRBMI: 0.12,
}

# --- pre-existing (chronic) condition: logistic in age; NHSS 2018 chronic prevalence 34% of 15+ --
PRE_EXISTING_FLOOR, PRE_EXISTING_RISE, PRE_EXISTING_MIDPOINT, PRE_EXISTING_SPREAD = 0.06, 0.55, 62.0, 9.0


def pre_existing_probability(age: FloatArray) -> FloatArray:
    return PRE_EXISTING_FLOOR + PRE_EXISTING_RISE / (1 + np.exp(-(age - PRE_EXISTING_MIDPOINT) / PRE_EXISTING_SPREAD))


# --- income: per-capita disposable income of the household, yuan, log-normal (mean, sigma) --------
# NBS 2023: urban 51,821, rural 21,691, national 39,218; dibao lines 2023: urban ~9,100, rural ~6,900.
INCOME_BY_SCHEME = {
    InsuranceScheme.UEBMI_EMPLOYEE: (66_000.0, 0.55),
    InsuranceScheme.UEBMI_RETIREE: (46_000.0, 0.45),
    InsuranceScheme.URRBMI: (30_000.0, 0.65),
}
INCOME_BY_CATEGORY = {
    AssistanceCategory.EXTREME_POOR: (7_500.0, 0.25),
    AssistanceCategory.DIBAO: (6_500.0, 0.30),
    AssistanceCategory.LOW_INCOME: (11_500.0, 0.30),
}
CHILD_UNTIL, ELDERLY_FROM = 15, 60  # age bands: child below 15, elderly from 60


# --- one block --------------------------------------------------------------------------------------


def block_rng(seed: int, block: int) -> Rng:
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(block,)))


def pick(rng: Rng, probabilities: FloatArray) -> IntArray:
    """One category per row from a rows x categories matrix of probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities)) * cumulative[:, -1]
    chosen: IntArray = (u[:, None] >= cumulative).sum(axis=1)
    return chosen


@dataclass(frozen=True)
class People:
    age: IntArray
    male: np.ndarray
    scheme: IntArray  # index into SCHEMES
    category: IntArray  # index into CATEGORIES
    pre_existing: np.ndarray


SCHEMES = (InsuranceScheme.UEBMI_EMPLOYEE, InsuranceScheme.UEBMI_RETIREE, InsuranceScheme.URRBMI)
CATEGORIES = tuple(AssistanceCategory)


def _schemes(rng: Rng, age: IntArray, male: np.ndarray) -> IntArray:
    working = (age >= WORKING_FROM) & (age < _retirement_age(male))
    retired = age >= _retirement_age(male)
    u = rng.random(len(age))
    scheme = np.full(len(age), SCHEMES.index(InsuranceScheme.URRBMI))
    scheme[working & (u < EMPLOYEE_GIVEN_WORKING_AGE)] = SCHEMES.index(InsuranceScheme.UEBMI_EMPLOYEE)
    scheme[retired & (u < RETIREE_GIVEN_RETIREMENT_AGE)] = SCHEMES.index(InsuranceScheme.UEBMI_RETIREE)
    return scheme


def _categories(rng: Rng, age: IntArray, scheme: IntArray) -> IntArray:
    resident = scheme == SCHEMES.index(InsuranceScheme.URRBMI)
    elderly = age >= ELDERLY_FROM
    probabilities = np.zeros((len(age), len(CATEGORIES)))
    for category, (young, old) in ASSISTANCE_GIVEN_URRBMI.items():
        probabilities[:, CATEGORIES.index(category)] = np.where(resident, np.where(elderly, old, young), 0.0)
    probabilities[~resident, CATEGORIES.index(AssistanceCategory.LOW_INCOME)] = LOW_INCOME_GIVEN_UEBMI
    probabilities[:, CATEGORIES.index(AssistanceCategory.NONE)] = 1 - probabilities.sum(axis=1)
    return pick(rng, probabilities)


def _incomes(rng: Rng, scheme: IntArray, category: IntArray) -> IntArray:
    """Annual income in fen, whole yuan."""
    mean = np.array([INCOME_BY_SCHEME[s][0] for s in SCHEMES])[scheme]
    sigma = np.array([INCOME_BY_SCHEME[s][1] for s in SCHEMES])[scheme]
    for category_value, (m, s) in INCOME_BY_CATEGORY.items():
        poor = category == CATEGORIES.index(category_value)
        mean, sigma = np.where(poor, m, mean), np.where(poor, s, sigma)
    yuan = rng.lognormal(np.log(mean) - sigma**2 / 2, sigma)
    fen: IntArray = np.rint(yuan).astype(np.int64) * 100
    return fen


def _birth_dates(rng: Rng, age: IntArray, year: int) -> IntArray:
    """Days since 1970: uniform from 2 Jan of (year - age - 1) to 1 Jan of (year - age), so aged `age` on 1 Jan."""
    first = (year - age - 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64) + 1
    last = (year - age - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    return first + np.floor(rng.random(len(age)) * (last - first + 1)).astype(np.int64)


def persons_block(rng: Rng, first: int, n: int, year: int, region: str) -> tuple[pl.DataFrame, People]:
    age = rng.choice(len(AGE_WEIGHTS), size=n, p=AGE_WEIGHTS)
    male = rng.random(n) < _male_share(age)
    birth = _birth_dates(rng, age, year)
    scheme = _schemes(rng, age, male)
    category = _categories(rng, age, scheme)
    huiminbao = rng.random(n) < np.array([HUIMINBAO_TAKE_UP[s] for s in SCHEMES])[scheme]
    pre_existing = rng.random(n) < pre_existing_probability(age.astype(float))
    income = _incomes(rng, scheme, category)
    frame = pl.DataFrame(
        {
            "person_id": person_ids_of(np.arange(first, first + n)),
            "birth_date": pl.Series(birth, dtype=pl.Int64).cast(pl.Int32).cast(pl.Date),
            "sex": pl.Series(np.where(male, Sex.MALE.value, Sex.FEMALE.value), dtype=pl.String),
            "region": pl.repeat(region, n, dtype=pl.String, eager=True),
            "scheme": pl.Series(np.array([s.value for s in SCHEMES])[scheme], dtype=pl.String),
            "assistance_category": pl.Series(np.array([c.value for c in CATEGORIES])[category], dtype=pl.String),
            "huiminbao": pl.Series(huiminbao, dtype=pl.Boolean),
            "pre_existing": pl.Series(pre_existing, dtype=pl.Boolean),
            "annual_income": pl.Series(income, dtype=pl.Int64),
        },
        schema=DRAWN_PERSONS_SCHEMA,
    )
    return frame, People(age, male, scheme, category, pre_existing)


def person_ids_of(index: IntArray) -> pl.Series:
    digits = pl.Series(index + 1, dtype=pl.Int64).cast(pl.String).str.zfill(9)
    return pl.select(pl.concat_str(pl.lit("P"), pl.lit(digits))).to_series()


DRAWN_PERSONS_SCHEMA = pl.Schema(  # the drawn columns; yibao.lab.synth adds the account balance

    {
        "person_id": pl.String,
        "birth_date": pl.Date,
        "sex": pl.String,
        "region": pl.String,
        "scheme": pl.String,
        "assistance_category": pl.String,
        "huiminbao": pl.Boolean,
        "pre_existing": pl.Boolean,
        "annual_income": pl.Int64,
    }
)
