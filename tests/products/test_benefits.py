"""Benefit arithmetic, hand-computed: premium at a birthday inside the year, the payers' split, daily allowance
over a stay crossing the policy's end, the waiting period, lump sums once per policy, pre-existing exclusions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from yibao.products import load_product
from yibao.products.benefits import (
    Event,
    Policy,
    PolicyStatus,
    age_on,
    daily_allowance,
    eligible,
    excluded,
    lump_sum,
    pay_lump_sums,
    premium_fen,
    premium_split,
)
from yibao.products.loader import BUILTIN_DIR
from yibao.products.model import EventKind, PreExisting

SMALL = load_product("rural-small-value")
MILLION = load_product("million-medical")


def _policy(start: date = date(2021, 1, 1), end: date = date(2021, 12, 31), product: str = "rural-small-value",
            policy_id: str = "P1") -> Policy:
    return Policy(policy_id, "A1", product, start, end, 5_000)


def test_age_band_at_a_birthday_inside_the_year() -> None:
    # Born 1980-07-15: 40 on a policy starting 2021-07-14, 41 from 2021-07-15.
    born = date(1980, 7, 15)
    assert age_on(born, date(2021, 7, 14)) == 40 and age_on(born, date(2021, 7, 15)) == 41
    assert premium_fen(MILLION, born, date(2021, 1, 1)) == 19_600  # band 31-40: 196 yuan
    assert premium_fen(MILLION, born, date(2021, 7, 14)) == 19_600
    assert premium_fen(MILLION, born, date(2021, 7, 15)) == 33_600  # band 41-45: 336 yuan
    assert age_on(date(2000, 2, 29), date(2021, 2, 28)) == 20 and age_on(date(2000, 2, 29), date(2021, 3, 1)) == 21


def test_premium_split_member_and_government() -> None:
    # 50 yuan, 80% by the county: 40.00 government, 10.00 the member.
    split = premium_split(SMALL, date(1970, 1, 1), date(2021, 1, 1))
    assert (split.total, split.government, split.employer, split.member) == (5_000, 4_000, 0, 1_000)
    huhuibao = load_product("shanghai-huhuibao-2021")
    split = premium_split(huhuibao, date(1950, 3, 3), date(2021, 6, 1))
    assert (split.total, split.government, split.member) == (11_500, 0, 11_500)


def test_daily_allowance_over_a_stay_crossing_the_policy_end() -> None:
    # Policy to 2021-12-31; stay 2021-12-28 to 2022-01-04: days 28, 29, 30, 31 in force -> 4 x 50 = 200 yuan.
    paid = daily_allowance(_policy(), SMALL, date(2021, 12, 28), date(2022, 1, 4))
    assert (paid.days, paid.fen) == (4, 20_000)


def test_daily_allowance_waiting_period_and_yearly_maximum() -> None:
    # 30-day waiting period from 2021-01-01: illness benefits from 2021-01-31. Stay 2021-01-25 to 02-05:
    # days 31 Jan .. 4 Feb = 5 days paid (25-30 Jan are in the waiting period).
    paid = daily_allowance(_policy(), SMALL, date(2021, 1, 25), date(2021, 2, 5))
    assert (paid.days, paid.fen) == (5, 25_000)
    # An accident is covered at once: all 11 days.
    assert daily_allowance(_policy(), SMALL, date(2021, 1, 25), date(2021, 2, 5), accident=True).days == 11
    # 88 of the 90 days already paid: 2 left.
    assert daily_allowance(_policy(), SMALL, date(2021, 6, 1), date(2021, 6, 20), days_paid_before=88).fen == 10_000
    # A same-day stay counts one day; a cancelled policy pays nothing.
    assert daily_allowance(_policy(), SMALL, date(2021, 6, 1), date(2021, 6, 1)).days == 1
    cancelled = replace(_policy(), status=PolicyStatus.CANCELLED)
    assert daily_allowance(cancelled, SMALL, date(2021, 6, 1), date(2021, 6, 3)).fen == 0


def test_lump_sums_once_per_policy_and_disability_grade() -> None:
    death = Event("A1", date(2021, 1, 5), EventKind.ACCIDENTAL_DEATH)
    assert lump_sum(_policy(), SMALL, "accidental_death", death) == 2_000_000  # accident: no waiting period
    assert lump_sum(_policy(), SMALL, "accidental_death", death, paid=frozenset({"accidental_death"})) == 0
    grade7 = Event("A1", date(2021, 3, 1), EventKind.DISABILITY, grade=7)
    assert lump_sum(_policy(), SMALL, "accidental_disability", grade7) == 800_000  # 20,000 x 40%
    payments = pay_lump_sums([_policy()], {"rural-small-value": SMALL}, [grade7, replace(grade7, day=date(2021, 5, 1))])
    assert [(p.lump_id, p.fen) for p in payments] == [("accidental_disability", 800_000)]
    # Outside the policy's term: nothing.
    assert lump_sum(_policy(), SMALL, "accidental_death", replace(death, day=date(2022, 1, 1))) == 0


def _critical_product(tmp_path: Path, pre_existing: str = "excluded") -> Path:
    text = (BUILTIN_DIR / "rural-small-value" / "product.yaml").read_text(encoding="utf-8")
    text = text.replace("pre_existing: covered", f"pre_existing: {pre_existing}")
    text += """  - id: critical_illness
    name: {en: Critical illness, zh: 重大疾病}
    event: critical_illness
    icd10_prefixes: [C, I21, I63]
    amount:
      description: Sum paid on a first diagnosis of a listed critical illness
      unit: yuan
      reference: test product
      values:
        2021-01-01: 30000
"""
    path = tmp_path / "product.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_critical_illness_waiting_period_list_and_pre_existing_exclusion(tmp_path: Path) -> None:
    product = load_product(_critical_product(tmp_path))
    cancer = Event("A1", date(2021, 3, 1), EventKind.CRITICAL_ILLNESS, diagnosis="C34.1")
    assert lump_sum(_policy(), product, "critical_illness", cancer) == 3_000_000
    assert lump_sum(_policy(), product, "critical_illness", replace(cancer, day=date(2021, 1, 20))) == 0  # waiting
    assert lump_sum(_policy(), product, "critical_illness", replace(cancer, diagnosis="J18")) == 0  # not listed
    assert excluded(product, "C34.1", ["C34"])
    assert lump_sum(_policy(), product, "critical_illness", cancer, declared=["C34"]) == 0  # pre-existing, excluded
    assert lump_sum(_policy(), product, "critical_illness", cancer, declared=["I21"]) == 3_000_000
    covered = load_product(_critical_product(tmp_path, "covered"))
    assert lump_sum(_policy(), covered, "critical_illness", cancer, declared=["C34"]) == 3_000_000


def test_eligibility() -> None:
    kwargs = {"region": "reference-city", "scheme": "urrbmi", "assistance_category": "none", "pre_existing": False}
    assert eligible(SMALL, birth_date=date(1960, 1, 1), start=date(2021, 1, 1), **kwargs) is None  # type: ignore[arg-type]
    assert eligible(SMALL, birth_date=date(1950, 1, 1), start=date(2021, 1, 1), **kwargs) == "age.above"  # type: ignore[arg-type]
    assert eligible(SMALL, birth_date=date(1960, 1, 1), start=date(2021, 1, 1),
                    **{**kwargs, "scheme": "uebmi_employee"}) == "scheme"  # type: ignore[arg-type]
    declined = replace(MILLION, eligibility=replace(MILLION.eligibility, pre_existing=PreExisting.DECLINED))
    assert eligible(declined, birth_date=date(1990, 1, 1), start=date(2021, 1, 1),
                    **{**kwargs, "pre_existing": True}) == "pre_existing"  # type: ignore[arg-type]


def test_discharge_before_admission_is_refused() -> None:
    with pytest.raises(ValueError, match="before admission"):
        daily_allowance(_policy(), SMALL, date(2021, 2, 2), date(2021, 2, 1))
