"""Synthetic city, bills: use of care, facility levels, costs, composition, diagnoses, the claims frame.

Calibrated to published Chinese figures (docs/synth.md); each constant carries a short citation.
Amounts become integer fen at the point a drawn cost becomes a bill.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from yibao.core.model import CareType, InsuranceScheme
from yibao.lab.synth_persons import (
    AGE_WEIGHTS,
    AGES,
    CHILD_UNTIL,
    ELDERLY_FROM,
    MAX_AGE,
    SCHEMES,
    FloatArray,
    IntArray,
    People,
    Rng,
    pick,
    population_share,
    pre_existing_probability,
)
from yibao.tables import CLAIM_AMOUNTS

# Places of treatment outside the city, for out-of-area bills (cross-region direct settlement).
OTHER_REGIONS = ("provincial-capital", "neighbour-city", "beijing", "shanghai", "guangzhou")

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
    return BIRTH_RATE_WOMEN_20_39 * population_share(lambda age, male: ~male & (age >= 20) & (age < 40))


def _use_scale() -> tuple[float, float]:
    """Scale of the age profile that gives the published rates in expectation over the census pyramid."""
    inpatient, outpatient = _use_multipliers(AGES)
    pre = pre_existing_probability(AGES.astype(float))
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


def _counts(rng: Rng, people: People) -> tuple[IntArray, IntArray, IntArray]:
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
    return pick(rng, np.array([table[s] for s in SCHEMES])[scheme]) + 1


def _costs(rng: Rng, models: dict[int, CostModel], level: IntArray) -> FloatArray:
    cost = np.empty(len(level))
    for lv, model in models.items():
        where = np.flatnonzero(level == lv)
        cost[where] = model.draw(rng, len(where))
    return cost


def _bills(
    rng: Rng, care: CareType, owner: IntArray, people: People, level: IntArray, cost: FloatArray, diagnosis: np.ndarray
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


def claims_block(rng: Rng, people: People, person_ids: pl.Series, year: int, region: str) -> pl.DataFrame:
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
    level = pick(rng, np.tile(BIRTH_LEVELS, (len(owner), 1))) + 1
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
