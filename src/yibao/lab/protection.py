"""Each person's financial protection across all layers in the take-up model (issue 20.4): out-of-pocket net of
every public, commercial and mutual-aid payment, and catastrophic spending under four arrangements.

* Public: the out-of-pocket left by the scheme's public layers (basic, serious illness, assistance), settled by
  `yibao.settle` on the city's bills (`takeup.build_pool`).
* Commercial: what the product (Huiminbao, million-yuan medical, …) pays its holders of the year on the same
  bills, as settled (not the insurer's calibrated cost level, which scales the insurer's claims to the city the
  product is calibrated on).
* Mutual aid: the plan's lump sum (Xiang Hu Bao's figures, `yibao.mutual_aid` plan xianghubao-2020) to a member
  of the year with a bill whose diagnosis is a covered critical illness, at their age's payout (the waiting
  period is not modelled: a person-year is a member's year).
* Net out-of-pocket = max(public OOP − product payment − lump sum, 0): a lump sum above the bills is income,
  not negative spending.
* Catastrophic spending as in docs/lab.md (`lab.metrics`): a person-year is catastrophic at threshold t when
  net OOP > t × annual income, strictly, in exact integers (100 × OOP > t × income; zero income: any OOP), for
  t = 10% and 25% (`metrics.CHE_THRESHOLDS_PCT`).
* Four arrangements: public only; + the product for its holders; + mutual aid for its members; + both.

Money in integer fen; shares are floats in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from yibao.core.money import format_yuan
from yibao.lab.metrics import CHE_THRESHOLDS_PCT
from yibao.mutual_aid.plan import Plan

SCENARIOS = ("public", "product", "mutual_aid", "both")
SCENARIO_TITLES = {
    "en": {"public": "public only", "product": "+ product", "mutual_aid": "+ mutual aid", "both": "+ both"},
    "zh": {"public": "仅基本保障", "product": "+ 商业产品", "mutual_aid": "+ 网络互助", "both": "+ 两者"},
}


def che_keys() -> tuple[str, ...]:
    """The names of the catastrophic shares a year carries: che10_public, che10_product, …, che25_both."""
    return tuple(f"che{t}_{s}" for t in CHE_THRESHOLDS_PCT for s in SCENARIOS)


def lump_sums(plan: Plan, person_ids: np.ndarray, ages: np.ndarray, claims: pl.DataFrame) -> np.ndarray:
    """Per person (in `person_ids` order): the plan's lump sum if any of their bills' diagnoses is a covered critical
    illness and their age has a payout, else 0 (fen)."""
    diagnoses = claims.select("person_id", pl.col("diagnosis").cast(pl.String).fill_null("")).unique()
    covered = {pid for pid, code in diagnoses.iter_rows() if plan.covered_illness(code.strip().upper())}
    out = np.zeros(person_ids.shape[0], dtype=np.int64)
    for i, (pid, age) in enumerate(zip(person_ids.tolist(), ages.tolist(), strict=True)):
        if pid in covered:
            out[i] = plan.payout_at_age(int(age)) or 0
    return out


def net_oop(oop: np.ndarray, product_paid: np.ndarray, lump: np.ndarray) -> np.ndarray:
    return np.asarray(np.maximum(oop - product_paid - lump, 0), dtype=np.int64)


def catastrophic(oop: np.ndarray, income_fen: np.ndarray, threshold_pct: int) -> np.ndarray:
    """docs/lab.md's rule: 100 × OOP > t × income (zero income: any OOP)."""
    return np.asarray(oop * 100 > income_fen * threshold_pct, dtype=bool)


@dataclass(frozen=True)
class YearProtection:
    """One year's per-person payments (fen) under the year's choices."""

    product_paid: np.ndarray  # the product's payment to its holders (0 for others)
    mutual_aid_paid: np.ndarray  # the lump sum to members with a covered illness (0 for others)

    def shares(self, oop: np.ndarray, income_fen: np.ndarray) -> tuple[float, ...]:
        """Catastrophic shares in `che_keys()` order."""
        zero = np.zeros_like(oop)
        nets = {"public": net_oop(oop, zero, zero), "product": net_oop(oop, self.product_paid, zero),
                "mutual_aid": net_oop(oop, zero, self.mutual_aid_paid),
                "both": net_oop(oop, self.product_paid, self.mutual_aid_paid)}
        n = max(oop.shape[0], 1)
        return tuple(float(catastrophic(nets[s], income_fen, t).sum() / n) for t in CHE_THRESHOLDS_PCT for s in SCENARIOS)


def year_protection(benefit: np.ndarray, lump: np.ndarray, holders: np.ndarray, members: np.ndarray) -> YearProtection:
    return YearProtection(np.where(holders, benefit, 0).astype(np.int64), np.where(members, lump, 0).astype(np.int64))


def people_frame(person_id: np.ndarray, income_fen: np.ndarray, oop: np.ndarray, years: Sequence[int],
                 holders: Sequence[np.ndarray], converted: Sequence[np.ndarray], members: Sequence[np.ndarray],
                 protection: Sequence[YearProtection]) -> pl.DataFrame:
    """Per person-year: income, the choices and each layer's payment (yuan), for a reader to recompute the shares."""
    frames = []
    yuan = pl.Decimal(18, 2)
    for year, held, conv, member, paid in zip(years, holders, converted, members, protection, strict=True):
        frames.append(pl.DataFrame({
            "year": np.full(person_id.shape[0], year, dtype=np.int64), "person_id": person_id,
            "annual_income": [format_yuan(int(v)) for v in income_fen],
            "holds_product": held, "converted": conv, "mutual_aid_member": member,
            "oop_public": [format_yuan(int(v)) for v in oop],
            "product_paid": [format_yuan(int(v)) for v in paid.product_paid],
            "mutual_aid_paid": [format_yuan(int(v)) for v in paid.mutual_aid_paid],
        }).with_columns(pl.col("annual_income", "oop_public", "product_paid", "mutual_aid_paid").cast(yuan)))
    return pl.concat(frames) if frames else pl.DataFrame()
