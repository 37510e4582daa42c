"""The shipped Xiang Hu Bao plan reads as published; a bad plan file names file, key path and expectation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.mutual_aid.calendar import period_of, periods_between
from yibao.mutual_aid.errors import MutualAidError, PlanError
from yibao.mutual_aid.plan import PLANS_DIR, AgeUnit, Rounding, builtin_plans, load_plan


def test_xianghubao_2020_published_figures() -> None:
    plan = load_plan("xianghubao-2020")
    assert plan.min_age.value == 30 and plan.min_age.unit is AgeUnit.DAYS
    assert plan.max_age == 59 and plan.waiting_days == 90
    assert plan.illness_count == 100
    assert plan.payout_at_age(39) == 300_000_00 and plan.payout_at_age(40) == 100_000_00
    assert plan.payout_at_age(60) is None
    assert plan.fee_rate == 80_000  # 8% in millionths
    assert plan.notice_days == (7, 21) and plan.deduction_days == (14, 28)
    assert plan.case_cap == 10 and plan.year_cap == 188_00
    assert plan.rounding is Rounding.HALF_UP_MIN_FEN and plan.retry_days == 5
    assert (plan.juror_min_age, plan.juror_min_membership_days, plan.jury_min_votes) == (18, 30, 1000)
    assert plan.covered_illness("C34.1") is not None and plan.covered_illness("I21.0") is not None
    assert plan.covered_illness("J18.9") is None  # pneumonia is not a critical illness
    assert all(fig.reference for fig in plan.figures.values())
    assert "xianghubao-2020" in builtin_plans()


def test_age_limits_30_days_to_59() -> None:
    plan = load_plan("xianghubao-2020")
    day = dt.date(2020, 6, 1)
    assert not plan.may_join(day - dt.timedelta(days=29), day)
    assert plan.may_join(day - dt.timedelta(days=30), day)
    assert plan.may_join(dt.date(1960, 6, 2), day)  # 59, turns 60 tomorrow
    assert not plan.may_join(dt.date(1960, 6, 1), day)  # 60 today


def test_senior_variant() -> None:
    senior = load_plan("xianghubao-2020/senior")
    assert senior.name == "xianghubao-2020/senior"
    assert senior.may_join(dt.date(1955, 1, 1), dt.date(2020, 6, 1))
    assert not senior.may_join(dt.date(1970, 1, 1), dt.date(2020, 6, 1))
    assert senior.payout_at_age(65) == 100_000_00
    assert senior.covered_illness("C50.9") and senior.covered_illness("I21.0") is None
    assert senior.fee_rate == 80_000  # sections a variant does not name are the base plan's


def test_calendar() -> None:
    plan = load_plan("xianghubao-2020")
    period = period_of(plan, dt.date(2020, 4, 21))
    assert period.deduction_date == dt.date(2020, 4, 28)
    assert period.protects(dt.date(2020, 4, 21)) and not period.protects(dt.date(2020, 4, 22))
    with pytest.raises(MutualAidError) as err:
        period_of(plan, dt.date(2020, 4, 8))
    assert err.value.code == "mutual_aid.not_a_notice_day"
    assert len(periods_between(plan, dt.date(2020, 1, 1), dt.date(2020, 12, 31))) == 24


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = (PLANS_DIR / "xianghubao-2020.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "where", "expected"),
    [
        ("value: 0.08", "value: 8%", "apportionment.management_fee.value", "a decimal rate"),
        ("value: 188\n    unit: yuan", "value: 188\n    unit: fen", "apportionment.year_cap.unit", "unit 'yuan'"),
        ("value: [14, 28]", "value: [14]", "apportionment.deduction_days", "one deduction day after each notice"),
        ("value: half_up_min_fen", "value: bankers", "apportionment.rounding.value", "one of"),
        ("{min_age: 40, max_age: 59", "{min_age: 39, max_age: 59", "cover_payouts.bands.1", "not overlapping"),
    ],
)
def test_bad_plan_names_file_key_and_expectation(tmp_path: Path, old: str, new: str, where: str, expected: str) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(PlanError) as err:
        load_plan(path)
    message = str(err.value)
    assert str(path) in message and where in message and expected in message
    assert err.value.code == "mutual_aid.plan_invalid"


def test_unknown_plan_and_variant() -> None:
    with pytest.raises(PlanError) as err:
        load_plan("no-such-plan")
    assert err.value.code == "mutual_aid.plan_not_found"
    with pytest.raises(PlanError, match="no variant 'junior'"):
        load_plan("xianghubao-2020", variant="junior")
