"""Synthetic city: persons and a year of their bills, calibrated to published Chinese figures.

Every distribution, its parameters and its published source are described in
docs/synth.md; the constants below carry a short citation each. Generation is
vectorised (NumPy, then Polars) and done in blocks of `BLOCK_PEOPLE` persons.
Each block draws from its own random generator, derived from `(seed, block
index)` with NumPy's SeedSequence, and the block size is fixed: a seed gives the
same city however the blocks are later grouped into files or row groups.

Amounts are created as integer fen at the point a drawn cost becomes a bill
(statistics are floats, money is not); the files show yuan with two decimals
(Parquet decimal(14, 2), CSV two-decimal text).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import polars as pl

from yibao.core.errors import YibaoError
from yibao.core.model import AssistanceCategory, CareType, InsuranceScheme, Sex
from yibao.tables import CLAIM_AMOUNTS, to_contract_claims, to_contract_persons

BLOCK_PEOPLE = 10_000  # persons per generation block: fixed, part of what a seed means
MAX_AGE = 99
CONTRACT_YUAN = pl.Decimal(14, 2)
DEFAULT_REGION = "reference-city"
# Places of treatment outside the city, for out-of-area bills (cross-region direct settlement).
OTHER_REGIONS = ("provincial-capital", "neighbour-city", "beijing", "shanghai", "guangzhou")

Rng = np.random.Generator
FloatArray = np.ndarray
IntArray = np.ndarray


class OutputFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


@dataclass(frozen=True)
class City:
    """Normalised tables (amounts in Int64 fen), as `yibao.tables` reads them."""

    persons: pl.DataFrame
    claims: pl.DataFrame


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


def _population_share(in_group: Callable[[IntArray, np.ndarray], np.ndarray]) -> float:
    """Share of the census population (age x sex) for which `in_group(age, male)` holds."""
    male = _male_share(AGES)
    share = AGE_WEIGHTS * (male * in_group(AGES, np.ones_like(AGES, bool)))
    share += AGE_WEIGHTS * ((1 - male) * in_group(AGES, np.zeros_like(AGES, bool)))
    return float(share.sum())


# Conditional shares chosen so that the national shares are reproduced.
EMPLOYEE_GIVEN_WORKING_AGE = SCHEME_SHARES[InsuranceScheme.UEBMI_EMPLOYEE] / _population_share(
    lambda age, male: (age >= WORKING_FROM) & (age < _retirement_age(male))
)
RETIREE_GIVEN_RETIREMENT_AGE = SCHEME_SHARES[InsuranceScheme.UEBMI_RETIREE] / _population_share(
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


def _pre_existing_probability(age: FloatArray) -> FloatArray:
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

# --- use of care: NHC statistical bulletin 2023 ----------------------------------------------------
# 301.9M admissions (21.4 per 100 people), 9.55bn outpatient visits (6.8 per person).
ADMISSIONS_PER_PERSON = 0.19
OUTPATIENT_VISITS_PER_PERSON = 6.5
# Relative rates by age (below age, inpatient, outpatient); rescaled to the totals above.
USE_BY_AGE = (
    (5, 0.15, 8.0),
    (15, 0.05, 4.0),
    (45, 0.09, 4.0),
    (60, 0.17, 7.0),
    (70, 0.30, 10.0),
    (80, 0.45, 13.0),
    (MAX_AGE + 1, 0.60, 14.0),
)
PRE_EXISTING_USE = (2.0, 1.8)  # multiplier on (inpatient, outpatient) for a chronic condition
FRAILTY_SHAPE = (1.5, 1.2)  # gamma frailty (negative binomial counts) for (inpatient, outpatient)
MAX_VISITS = 300  # outpatient bills a year, at most
# Childbirth: 9.02M births 2023; ~4.7% of women aged 20-39; caesarean ~40%.
BIRTH_RATE_WOMEN_20_39 = 0.047
CAESAREAN_SHARE = 0.40


def _use_multipliers(age: IntArray) -> tuple[FloatArray, FloatArray]:
    bounds = np.array([b for b, _, _ in USE_BY_AGE])
    idx = np.searchsorted(bounds, age, side="right")
    return np.array([i for _, i, _ in USE_BY_AGE])[idx], np.array([o for _, _, o in USE_BY_AGE])[idx]


def _births_per_person() -> float:
    return BIRTH_RATE_WOMEN_20_39 * _population_share(lambda age, male: ~male & (age >= 20) & (age < 40))


def _use_scale() -> tuple[float, float]:
    """Scale of the age profile that gives the published rates in expectation over the census pyramid."""
    inpatient, outpatient = _use_multipliers(AGES)
    pre = _pre_existing_probability(AGES.astype(float))
    exp_in = float((AGE_WEIGHTS * inpatient * (1 + (PRE_EXISTING_USE[0] - 1) * pre)).sum())
    exp_out = float((AGE_WEIGHTS * outpatient * (1 + (PRE_EXISTING_USE[1] - 1) * pre)).sum())
    return (ADMISSIONS_PER_PERSON - _births_per_person()) / exp_in, OUTPATIENT_VISITS_PER_PERSON / exp_out


INPATIENT_SCALE, OUTPATIENT_SCALE = _use_scale()

# --- facility level mix (1 primary, 2 secondary, 3 tertiary), NHC bulletin 2023, by scheme --------
INPATIENT_LEVELS = {
    InsuranceScheme.UEBMI_EMPLOYEE: (0.10, 0.32, 0.58),
    InsuranceScheme.UEBMI_RETIREE: (0.12, 0.33, 0.55),
    InsuranceScheme.URRBMI: (0.26, 0.37, 0.37),
}
OUTPATIENT_LEVELS = {
    InsuranceScheme.UEBMI_EMPLOYEE: (0.38, 0.24, 0.38),
    InsuranceScheme.UEBMI_RETIREE: (0.45, 0.22, 0.33),
    InsuranceScheme.URRBMI: (0.56, 0.22, 0.22),
}
BIRTH_LEVELS = (0.10, 0.50, 0.40)


@dataclass(frozen=True)
class CostModel:
    """Log-normal body with a Pareto tail truncated at `cap`; `mean` (yuan) is the mixture's mean before the cap."""

    mean: float
    sigma: float
    tail_share: float
    tail_start: float  # Pareto scale, as a multiple of `mean`
    tail_alpha: float
    cap: float  # yuan; keeps the extreme tail plausible

    def draw(self, rng: Rng, n: int) -> FloatArray:
        tail_mean = self.tail_start * self.mean * self.tail_alpha / (self.tail_alpha - 1)
        body_mean = (self.mean - self.tail_share * tail_mean) / (1 - self.tail_share)
        body = rng.lognormal(np.log(body_mean) - self.sigma**2 / 2, self.sigma, n)
        tail = self._pareto_below_cap(rng, n)
        in_tail = rng.random(n) < self.tail_share
        return np.minimum(np.where(in_tail, tail, body), self.cap)

    def _pareto_below_cap(self, rng: Rng, n: int) -> FloatArray:
        """Inverse CDF of the Pareto law conditioned on staying below the cap: no lump of bills at the cap."""
        scale = self.tail_start * self.mean
        below_cap = 1 - (scale / self.cap) ** self.tail_alpha
        tail: FloatArray = scale * (1 - rng.random(n) * below_cap) ** (-1 / self.tail_alpha)
        return tail


# Cost per admission / visit by facility level, yuan. NHC bulletin 2023: hospital inpatient 10,316
# per admission (tertiary ~13,700, secondary ~6,300), township health centre ~2,100-2,500;
# hospital outpatient 362 per visit (tertiary ~420, secondary ~260), primary care ~100-180.
INPATIENT_COST = {
    1: CostModel(2_500.0, 0.75, 0.01, 3.0, 2.5, 300_000.0),
    2: CostModel(7_000.0, 0.80, 0.02, 3.0, 2.2, 1_500_000.0),
    3: CostModel(16_000.0, 0.85, 0.03, 3.0, 2.1, 3_000_000.0),
}
OUTPATIENT_COST = {
    1: CostModel(120.0, 0.90, 0.01, 4.0, 2.5, 20_000.0),
    2: CostModel(260.0, 0.95, 0.01, 4.0, 2.5, 50_000.0),
    3: CostModel(420.0, 1.00, 0.01, 4.0, 2.5, 100_000.0),
}
BIRTH_COST = {
    False: CostModel(4_500.0, 0.35, 0.0, 3.0, 3.0, 60_000.0),
    True: CostModel(8_500.0, 0.35, 0.0, 3.0, 3.0, 100_000.0),
}

# Split of a bill (special drugs aside) into class A / class B / self-pay: Dirichlet around these
# shares. Policy-scope self-pay of inpatient bills is ~10-20% (NHSA), more at higher levels.
COMPOSITION = {
    (CareType.INPATIENT, 1): (0.75, 0.17, 0.08),
    (CareType.INPATIENT, 2): (0.68, 0.20, 0.12),
    (CareType.INPATIENT, 3): (0.62, 0.22, 0.16),
    (CareType.OUTPATIENT, 1): (0.72, 0.20, 0.08),
    (CareType.OUTPATIENT, 2): (0.68, 0.20, 0.12),
    (CareType.OUTPATIENT, 3): (0.64, 0.21, 0.15),
}
COMPOSITION_CONCENTRATION = 25.0
# High-cost special drugs (targeted / immuno-oncology on the "dual channel" list): rare and large.
SPECIAL_DRUG_SHARE = {
    (CareType.INPATIENT, 1): 0.001,
    (CareType.INPATIENT, 2): 0.008,
    (CareType.INPATIENT, 3): 0.03,
    (CareType.OUTPATIENT, 1): 0.0,
    (CareType.OUTPATIENT, 2): 0.001,
    (CareType.OUTPATIENT, 3): 0.004,
}
SPECIAL_DRUG_COST = {
    CareType.INPATIENT: CostModel(35_000.0, 0.8, 0.0, 3.0, 3.0, 500_000.0),
    CareType.OUTPATIENT: CostModel(12_000.0, 0.7, 0.0, 3.0, 3.0, 200_000.0),
}
# Out-of-area share: cross-province direct settlement ~13M admissions 2023 (~4%), plus in-province.
OUT_OF_AREA_SHARE = {CareType.INPATIENT: 0.06, CareType.OUTPATIENT: 0.01}

# --- diagnoses (ICD-10): weights by care type and age band (child <15, adult 15-59, elderly 60+) -----
INPATIENT_DIAGNOSES = (
    ("J18.9", (30, 8, 10)),
    ("A09", (15, 2, 1)),
    ("J20.9", (15, 3, 3)),
    ("K35.8", (6, 6, 1)),
    ("S72.0", (0, 1, 5)),
    ("S82.2", (2, 4, 2)),
    ("K80.2", (0, 6, 5)),
    ("I63.9", (0, 6, 14)),
    ("I25.1", (0, 5, 10)),
    ("I50.9", (0, 1, 6)),
    ("I10", (0, 5, 6)),
    ("E11.9", (0, 5, 6)),
    ("J44.1", (0, 1, 8)),
    ("N18.5", (0, 2, 3)),
    ("C34.9", (0, 2, 4)),
    ("C50.9", (0, 2, 1)),
    ("C16.9", (0, 1, 2)),
    ("C18.9", (0, 1, 2)),
    ("C22.0", (0, 1, 2)),
    ("M17.9", (0, 2, 4)),
    ("N40", (0, 0, 3)),
    ("H25.9", (0, 1, 5)),
    ("G40.9", (4, 1, 1)),
    ("F20.9", (0, 3, 1)),
)
OUTPATIENT_DIAGNOSES = (
    ("J06.9", (40, 15, 8)),
    ("J02.9", (10, 8, 4)),
    ("A09", (10, 3, 2)),
    ("K29.7", (1, 8, 6)),
    ("I10", (0, 10, 25)),
    ("E11.9", (0, 6, 14)),
    ("M54.5", (0, 8, 7)),
    ("L30.9", (6, 5, 3)),
    ("H10.9", (5, 3, 2)),
    ("K02.9", (8, 5, 3)),
    ("Z00.0", (8, 6, 4)),
    ("J45.9", (4, 2, 2)),
    ("I25.1", (0, 2, 6)),
    ("N39.0", (1, 4, 3)),
    ("F41.9", (0, 3, 1)),
    ("M17.9", (0, 2, 5)),
)
ONCOLOGY_DIAGNOSES = ("C34.9", "C50.9", "C16.9", "C18.9", "C22.0", "C91.0")
CHILD_UNTIL, ELDERLY_FROM = 15, 60


def _age_band(age: IntArray) -> IntArray:
    return np.where(age < CHILD_UNTIL, 0, np.where(age < ELDERLY_FROM, 1, 2))


def _diagnoses(rng: Rng, table: tuple[tuple[str, tuple[int, int, int]], ...], band: IntArray) -> np.ndarray:
    codes = np.array([code for code, _ in table], dtype=object)
    out = np.empty(len(band), dtype=object)
    for b in range(3):
        where = np.flatnonzero(band == b)
        weights = np.array([w[b] for _, w in table], dtype=float)
        out[where] = codes[rng.choice(len(codes), size=len(where), p=weights / weights.sum())]
    return out


# --- one block --------------------------------------------------------------------------------------


def _block_rng(seed: int, block: int) -> Rng:
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(block,)))


def _pick(rng: Rng, probabilities: FloatArray) -> IntArray:
    """One category per row from a rows x categories matrix of probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities)) * cumulative[:, -1]
    chosen: IntArray = (u[:, None] >= cumulative).sum(axis=1)
    return chosen


@dataclass(frozen=True)
class _People:
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
    return _pick(rng, probabilities)


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


def _persons(rng: Rng, first: int, n: int, year: int, region: str) -> tuple[pl.DataFrame, _People]:
    age = rng.choice(len(AGE_WEIGHTS), size=n, p=AGE_WEIGHTS)
    male = rng.random(n) < _male_share(age)
    birth = _birth_dates(rng, age, year)
    scheme = _schemes(rng, age, male)
    category = _categories(rng, age, scheme)
    huiminbao = rng.random(n) < np.array([HUIMINBAO_TAKE_UP[s] for s in SCHEMES])[scheme]
    pre_existing = rng.random(n) < _pre_existing_probability(age.astype(float))
    income = _incomes(rng, scheme, category)
    frame = pl.DataFrame(
        {
            "person_id": _person_ids(np.arange(first, first + n)),
            "birth_date": pl.Series(birth, dtype=pl.Int64).cast(pl.Int32).cast(pl.Date),
            "sex": pl.Series(np.where(male, Sex.MALE.value, Sex.FEMALE.value), dtype=pl.String),
            "region": pl.repeat(region, n, dtype=pl.String, eager=True),
            "scheme": pl.Series(np.array([s.value for s in SCHEMES])[scheme], dtype=pl.String),
            "assistance_category": pl.Series(np.array([c.value for c in CATEGORIES])[category], dtype=pl.String),
            "huiminbao": pl.Series(huiminbao, dtype=pl.Boolean),
            "pre_existing": pl.Series(pre_existing, dtype=pl.Boolean),
            "annual_income": pl.Series(income, dtype=pl.Int64),
        },
        schema=PERSONS_SCHEMA,
    )
    return frame, _People(age, male, scheme, category, pre_existing)


def _person_ids(index: IntArray) -> pl.Series:
    digits = pl.Series(index + 1, dtype=pl.Int64).cast(pl.String).str.zfill(9)
    return pl.select(pl.concat_str(pl.lit("P"), pl.lit(digits))).to_series()


def _counts(rng: Rng, people: _People) -> tuple[IntArray, IntArray, IntArray]:
    """Admissions, births and outpatient visits per person over the year."""
    n = len(people.age)
    inpatient, outpatient = _use_multipliers(people.age)
    rate_in = INPATIENT_SCALE * inpatient * np.where(people.pre_existing, PRE_EXISTING_USE[0], 1.0)
    rate_out = OUTPATIENT_SCALE * outpatient * np.where(people.pre_existing, PRE_EXISTING_USE[1], 1.0)
    frailty_in = rng.gamma(FRAILTY_SHAPE[0], 1 / FRAILTY_SHAPE[0], n)
    frailty_out = rng.gamma(FRAILTY_SHAPE[1], 1 / FRAILTY_SHAPE[1], n)
    admissions = rng.poisson(rate_in * frailty_in)
    mothers = ~people.male & (people.age >= 20) & (people.age < 40)
    births = (mothers & (rng.random(n) < BIRTH_RATE_WOMEN_20_39)).astype(np.int64)
    visits = np.minimum(rng.poisson(rate_out * frailty_out), MAX_VISITS)
    return admissions, births, visits


def _amounts(rng: Rng, care: CareType, level: IntArray, cost_yuan: FloatArray) -> dict[str, IntArray]:
    """Split each bill into class A, class B, self-pay and special drugs, in fen (exact: parts sum to the total)."""
    n = len(level)
    total = np.rint(cost_yuan * 100).astype(np.int64)
    alpha = np.array([COMPOSITION[(care, lv)] for lv in (1, 2, 3)])[level - 1] * COMPOSITION_CONCENTRATION
    shares = rng.standard_gamma(alpha)
    shares /= shares.sum(axis=1, keepdims=True)
    class_a = np.floor(total * shares[:, 0]).astype(np.int64)
    class_b = np.floor(total * shares[:, 1]).astype(np.int64)
    special_share = np.array([SPECIAL_DRUG_SHARE[(care, lv)] for lv in (1, 2, 3)])[level - 1]
    has_special = rng.random(n) < special_share
    special = np.where(has_special, np.rint(SPECIAL_DRUG_COST[care].draw(rng, n) * 100).astype(np.int64), 0)
    return {"class_a": class_a, "class_b": class_b, "self_pay": total - class_a - class_b, "special_drugs": special}


def _levels(rng: Rng, table: dict[InsuranceScheme, tuple[float, float, float]], scheme: IntArray) -> IntArray:
    return _pick(rng, np.array([table[s] for s in SCHEMES])[scheme]) + 1


def _costs(rng: Rng, models: dict[int, CostModel], level: IntArray) -> FloatArray:
    cost = np.empty(len(level))
    for lv, model in models.items():
        where = np.flatnonzero(level == lv)
        cost[where] = model.draw(rng, len(where))
    return cost


def _bills(
    rng: Rng, care: CareType, owner: IntArray, people: _People, level: IntArray, cost: FloatArray, diagnosis: np.ndarray
) -> dict[str, np.ndarray]:
    amounts = _amounts(rng, care, level, cost)
    oncology = amounts["special_drugs"] > 0
    diagnosis[oncology] = rng.choice(np.array(ONCOLOGY_DIAGNOSES, dtype=object), size=int(oncology.sum()))
    return {
        "owner": owner,
        "care": np.full(len(owner), CARE_TYPES.index(care), dtype=np.int8),
        "level": level.astype(np.int8),
        "out_of_area": rng.random(len(owner)) < OUT_OF_AREA_SHARE[care],
        "diagnosis": diagnosis,
        **amounts,
    }


CARE_TYPES = (CareType.INPATIENT, CareType.OUTPATIENT)


def _claims(rng: Rng, people: _People, person_ids: pl.Series, year: int, region: str) -> pl.DataFrame:
    admissions, births, visits = _counts(rng, people)
    band = _age_band(people.age)
    parts = []
    # illness admissions
    owner = np.repeat(np.arange(len(people.age)), admissions)
    level = _levels(rng, INPATIENT_LEVELS, people.scheme[owner])
    diagnosis = _diagnoses(rng, INPATIENT_DIAGNOSES, band[owner])
    parts.append(_bills(rng, CareType.INPATIENT, owner, people, level, _costs(rng, INPATIENT_COST, level), diagnosis))
    # childbirth
    owner = np.repeat(np.arange(len(people.age)), births)
    level = _pick(rng, np.tile(BIRTH_LEVELS, (len(owner), 1))) + 1
    caesarean = rng.random(len(owner)) < CAESAREAN_SHARE
    cost = np.where(caesarean, BIRTH_COST[True].draw(rng, len(owner)), BIRTH_COST[False].draw(rng, len(owner)))
    diagnosis = np.where(caesarean, "O82.9", "O80.9").astype(object)
    parts.append(_bills(rng, CareType.INPATIENT, owner, people, level, cost, diagnosis))
    # outpatient visits
    owner = np.repeat(np.arange(len(people.age)), visits)
    level = _levels(rng, OUTPATIENT_LEVELS, people.scheme[owner])
    diagnosis = _diagnoses(rng, OUTPATIENT_DIAGNOSES, band[owner])
    parts.append(_bills(rng, CareType.OUTPATIENT, owner, people, level, _costs(rng, OUTPATIENT_COST, level), diagnosis))
    bills = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    return _claims_frame(rng, bills, person_ids, year, region)


def _claims_frame(
    rng: Rng, bills: dict[str, np.ndarray], person_ids: pl.Series, year: int, region: str
) -> pl.DataFrame:
    n = len(bills["owner"])
    start = np.datetime64(f"{year}-01-01", "D")
    days_in_year = int((np.datetime64(f"{year + 1}-01-01", "D") - start).astype(np.int64))
    day = start.astype(np.int64) + rng.integers(0, days_in_year, n)
    elsewhere = [other for other in OTHER_REGIONS if other != region]
    away = rng.choice(len(elsewhere), size=n)
    # claim ids count each person's bills in date order, so id order agrees with the settlement order
    order = np.lexsort((bills["care"], day, bills["owner"]))
    owner = bills["owner"][order]
    sequence = np.arange(n) - np.searchsorted(owner, owner, side="left") + 1
    owner_ids = person_ids.gather(owner)
    regions = np.array([region, *elsewhere], dtype=object)
    return pl.DataFrame(
        {
            "claim_id": owner_ids + "-" + pl.Series(sequence, dtype=pl.Int64).cast(pl.String).str.zfill(3),
            "person_id": owner_ids,
            "service_date": pl.Series(day[order], dtype=pl.Int64).cast(pl.Int32).cast(pl.Date),
            "region": pl.Series(regions[np.where(bills["out_of_area"], away + 1, 0)[order]], dtype=pl.String),
            "facility_level": pl.Series(bills["level"][order], dtype=pl.Int8),
            "care_type": pl.Series(np.array([c.value for c in CARE_TYPES])[bills["care"][order]], dtype=pl.String),
            **{name: pl.Series(bills[name][order], dtype=pl.Int64) for name in CLAIM_AMOUNTS.values()},
            "diagnosis": pl.Series(bills["diagnosis"][order], dtype=pl.String),
        },
        schema=CLAIMS_SCHEMA,
    )


PERSONS_SCHEMA = pl.Schema(
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
CLAIMS_SCHEMA = pl.Schema(
    {
        "claim_id": pl.String,
        "person_id": pl.String,
        "service_date": pl.Date,
        "region": pl.String,
        "facility_level": pl.Int8,
        "care_type": pl.String,
        **{name: pl.Int64 for name in CLAIM_AMOUNTS.values()},
        "diagnosis": pl.String,
    }
)


def synthesize_block(block: int, people: int, year: int, seed: int, region: str = DEFAULT_REGION) -> City:
    """Block `block` of a city of `people` persons: persons block*BLOCK_PEOPLE onwards, and their bills.

    A block is always drawn whole and then cut, so a smaller city is the first persons of a larger one.
    """
    first = block * BLOCK_PEOPLE
    n = min(BLOCK_PEOPLE, people - first)
    if n <= 0:
        raise SynthError(f"block {block} is beyond a city of {people} people")
    rng = _block_rng(seed, block)
    persons, attributes = _persons(rng, first, BLOCK_PEOPLE, year, region)
    claims = _claims(rng, attributes, persons["person_id"], year, region)
    if n < BLOCK_PEOPLE:
        persons = persons.head(n)
        claims = claims.filter(pl.col("person_id") <= persons["person_id"][-1])
    return City(persons, claims)


class SynthError(YibaoError):
    def __init__(self, message: str, code: str = "synth.invalid") -> None:
        super().__init__(message, code=code)


def _check_arguments(people: int, year: int, seed: int, region: str) -> None:
    if not region.strip() or region != region.strip():
        raise SynthError(f"the region code must be a non-empty text without surrounding spaces, not {region!r}")
    if people < 1:
        raise SynthError(f"a city needs at least one person, not {people}")
    if not 1900 <= year <= 2200:
        raise SynthError(f"year {year} is outside 1900..2200")
    if seed < 0:
        raise SynthError(f"the seed must be a non-negative integer, not {seed}")


def block_count(people: int) -> int:
    return -(-people // BLOCK_PEOPLE)


def iter_city(people: int, year: int, seed: int, region: str = DEFAULT_REGION) -> Iterator[City]:
    """The city block by block (bounded memory), in person order."""
    _check_arguments(people, year, seed, region)
    for block in range(block_count(people)):
        yield synthesize_block(block, people, year, seed, region)


def synthesize(people: int, year: int, seed: int, region: str = DEFAULT_REGION) -> City:
    """A whole city in memory (normalised frames, fen). For large cities stream with `write_synthetic_city`."""
    blocks = list(iter_city(people, year, seed, region))
    return City(pl.concat([b.persons for b in blocks]), pl.concat([b.claims for b in blocks]))


# --- files ---------------------------------------------------------------------------------------------


def contract_persons(persons: pl.DataFrame) -> pl.DataFrame:
    """The contract's persons columns, income in yuan as decimal(14, 2)."""
    return to_contract_persons(persons).with_columns(pl.col("annual_income").cast(CONTRACT_YUAN))


def contract_claims(claims: pl.DataFrame) -> pl.DataFrame:
    """The contract's claims columns, amounts in yuan as decimal(14, 2)."""
    return to_contract_claims(claims).with_columns([pl.col(c).cast(CONTRACT_YUAN) for c in CLAIM_AMOUNTS])


class _TableWriter:
    """Appends frames to one Parquet file (a row group each) or one CSV file, under a temporary name."""

    def __init__(self, final: Path, fmt: OutputFormat) -> None:
        self.final, self.fmt = final, fmt
        self.tmp = final.with_name(f".{final.name}.{os.getpid()}.partial")
        self.tmp.unlink(missing_ok=True)
        self._parquet: Any = None  # pyarrow.parquet.ParquetWriter (pyarrow ships no type hints)
        self._started = False

    def write(self, frame: pl.DataFrame) -> None:
        if self.fmt is OutputFormat.CSV:
            with self.tmp.open("a", encoding="utf-8", newline="") as handle:
                frame.write_csv(handle, include_header=not self._started)
        else:
            import pyarrow.parquet as pq  # type: ignore[import-untyped]

            table = frame.to_arrow()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
            self._parquet.write_table(table)
        self._started = True

    def commit(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self.tmp.replace(self.final)

    def abort(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self.tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class CityFiles:
    persons: Path
    claims: Path
    people: int
    claim_count: int


class CityWriter:
    """persons.<fmt> and claims.<fmt> under a directory, written chunk by chunk; complete files or none."""

    def __init__(self, out_dir: str | Path, fmt: OutputFormat | str = OutputFormat.PARQUET) -> None:
        self.fmt = OutputFormat(fmt)
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        suffix = self.fmt.value
        self._persons = _TableWriter(self.out_dir / f"persons.{suffix}", self.fmt)
        self._claims = _TableWriter(self.out_dir / f"claims.{suffix}", self.fmt)
        self.people = 0
        self.claim_count = 0

    def write(self, city: City) -> None:
        self._persons.write(contract_persons(city.persons))
        self._claims.write(contract_claims(city.claims))
        self.people += city.persons.height
        self.claim_count += city.claims.height

    def __enter__(self) -> CityWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self._persons.commit()
            self._claims.commit()
        else:
            self._persons.abort()
            self._claims.abort()

    def files(self) -> CityFiles:
        return CityFiles(self._persons.final, self._claims.final, self.people, self.claim_count)


def _grouped(blocks: Iterable[City], size: int) -> Iterator[City]:
    batch: list[City] = []
    for city in blocks:
        batch.append(city)
        if len(batch) == size:
            yield City(pl.concat([b.persons for b in batch]), pl.concat([b.claims for b in batch]))
            batch = []
    if batch:
        yield City(pl.concat([b.persons for b in batch]), pl.concat([b.claims for b in batch]))


def write_city(city: City, out_dir: str | Path, fmt: OutputFormat | str = OutputFormat.PARQUET) -> CityFiles:
    """Write an in-memory city as the contract's persons and claims files."""
    with CityWriter(out_dir, fmt) as writer:
        writer.write(city)
    return writer.files()


def write_synthetic_city(
    people: int,
    year: int,
    seed: int,
    out_dir: str | Path,
    fmt: OutputFormat | str = OutputFormat.PARQUET,
    region: str = DEFAULT_REGION,
    blocks_per_write: int = 10,
    on_block: Callable[[City], None] | None = None,
) -> CityFiles:
    """Generate and stream a city to files; memory stays bounded by `blocks_per_write` blocks."""
    if blocks_per_write < 1:
        raise SynthError(f"blocks_per_write must be at least 1, not {blocks_per_write}")

    def blocks() -> Iterator[City]:
        for city in iter_city(people, year, seed, region):
            if on_block is not None:
                on_block(city)
            yield city

    with CityWriter(out_dir, fmt) as writer:
        for chunk in _grouped(blocks(), blocks_per_write):
            writer.write(chunk)
    return writer.files()


def write_partitioned_city(
    people: int,
    year: int,
    seed: int,
    out_dir: str | Path,
    parts: int,
    region: str = DEFAULT_REGION,
    on_block: Callable[[City], None] | None = None,
) -> CityFiles:
    """The same city as a Parquet dataset partitioned by person, for the Dask engine: persons/part-N.parquet and
    claims/part-N.parquet hold the same persons (whole generation blocks). Complete folders or none."""
    import shutil

    from yibao.engine.dask import PART
    from yibao.tables import write_table

    if parts < 1:
        raise SynthError(f"parts must be at least 1, not {parts}")
    out = Path(out_dir)
    tmp = out / f".dataset.{os.getpid()}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    per_part = -(-block_count(people) // parts)
    people_written = claims_written = 0
    try:
        for i, part in enumerate(_grouped(iter_city(people, year, seed, region), per_part)):
            if on_block is not None:
                on_block(part)
            write_table(contract_persons(part.persons), tmp / "persons" / PART.format(i))
            write_table(contract_claims(part.claims), tmp / "claims" / PART.format(i))
            people_written += part.persons.height
            claims_written += part.claims.height
        for table in ("persons", "claims"):
            shutil.rmtree(out / table, ignore_errors=True)
            (tmp / table).replace(out / table)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return CityFiles(out / "persons", out / "claims", people_written, claims_written)
