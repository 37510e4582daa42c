"""Simulator: invariants (people and caps), determinism, calibration bands, lever directions, report."""

from __future__ import annotations

import math

import pytest

from yibao.core.money import RatePpm
from yibao.mutual_aid.plan import load_plan
from yibao.mutual_aid.simulate import (
    PUBLISHED_COST_2019,
    PUBLISHED_COST_2021,
    PUBLISHED_MEMBERS_2021,
    Assumptions,
    Calibration,
    Levers,
    SimulationResult,
    calibrate,
    incidence_by_age,
    simulate,
)
from yibao.mutual_aid.simulate_report import simulation_report

PLAN = load_plan("xianghubao-2020")
MONTHS = 63  # October 2018 .. December 2023


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    return calibrate(PLAN)


@pytest.fixture(scope="module")
def baseline(calibration: Calibration) -> SimulationResult:
    return simulate(PLAN, calibration, months=MONTHS)


def test_incidence_rises_with_age_from_the_table() -> None:
    q = incidence_by_age(59)
    assert q[30] == pytest.approx(0.00090) and q[50] == pytest.approx(0.00487)
    assert all(q[a] < q[a + 1] for a in range(10, 59))


def test_in_sample_calibration(baseline: SimulationResult) -> None:
    assert baseline.members_after_7_days == pytest.approx(10e6, rel=0.01)
    assert baseline.members_on(2019, 11) == pytest.approx(100e6, rel=0.01)
    assert baseline.cost_per_member(2019) == pytest.approx(PUBLISHED_COST_2019, rel=0.01)


def test_out_of_sample_2021_within_a_quarter_of_published(baseline: SimulationResult) -> None:
    # Not fitted: the 2021 figures only check the model (~91 yuan per member, ~75M members).
    assert baseline.cost_per_member(2021) == pytest.approx(PUBLISHED_COST_2021, rel=0.25)
    assert baseline.members_at_end(2021) == pytest.approx(PUBLISHED_MEMBERS_2021, rel=0.25)
    assert baseline.cost_per_member(2020) > baseline.cost_per_member(2019)


def test_people_are_conserved_month_by_month(baseline: SimulationResult) -> None:
    previous = 0.0
    for month in baseline.months:
        expected = previous + month.joiners - month.leavers - month.aged_out - month.diagnosed
        assert month.members == pytest.approx(expected, rel=1e-9, abs=1e-3)
        assert min(month.members, month.joiners, month.leavers, month.aged_out, month.diagnosed) >= 0
        assert abs(sum(month.age_mix) - 1) < 1e-9 or month.members == 0
        previous = month.members


def test_death_spiral_and_adverse_selection(baseline: SimulationResult) -> None:
    peak = max(baseline.months, key=lambda m: m.members)
    assert baseline.spiral_onset is not None and baseline.spiral_onset >= peak.start.replace(day=1)
    assert baseline.months[-1].mean_risk > baseline.months[12].mean_risk  # the healthy leave first
    assert baseline.months[-1].annualised_yuan > baseline.months[24].annualised_yuan


def test_deterministic_for_a_seed(calibration: Calibration) -> None:
    a = simulate(PLAN, calibration, months=30, seed=7)
    b = simulate(PLAN, calibration, months=30, seed=7)
    c = simulate(PLAN, calibration, months=30, seed=8)
    assert a == b and a != c
    assert a.cost_per_member(2019) == pytest.approx(c.cost_per_member(2019), rel=0.05)


def test_yearly_cap_binds_and_marks_unsustainable(calibration: Calibration) -> None:
    capped = simulate(PLAN, calibration, levers=Levers(year_cap_yuan=40.0), months=MONTHS)
    for year in (2019, 2020, 2021, 2022, 2023):
        assert capped.cost_per_member(year) <= 40.0 + 1e-9
    assert capped.unsustainable_month is not None and capped.unsustainable_month.year == 2020
    assert any(m.shortfall_yuan > 0 for m in capped.months)


def test_per_case_cap_binds(calibration: Calibration) -> None:
    tiny = simulate(PLAN, calibration, levers=Levers(case_cap_yuan=0.001), months=30)
    for month in tiny.months:
        assert month.charge_yuan <= month.cases * 0.001 + 1e-9
    assert tiny.unsustainable_month is not None


def test_lever_directions(calibration: Calibration, baseline: SimulationResult) -> None:
    def run(levers: Levers) -> SimulationResult:
        return simulate(PLAN, calibration, levers=levers, months=MONTHS)

    young = run(Levers(young_inflow=1_500_000.0))
    assert young.cost_per_member(2021) < baseline.cost_per_member(2021)
    assert young.members_at_end(2021) > baseline.members_at_end(2021)
    banded = run(Levers(age_banded=True))
    assert banded.members_at_end(2023) > baseline.members_at_end(2023)
    assert run(Levers(fee_rate=RatePpm(120_000))).cost_per_member(2019) > baseline.cost_per_member(2019)
    assert run(Levers(waiting_days=180)).cost_per_member(2019) < baseline.cost_per_member(2019)
    younger = run(Levers(max_join_age=49))
    assert younger.cost_per_member(2021) < baseline.cost_per_member(2021)
    assert max(m.age_mix[4] for m in younger.months[:12]) < 0.02  # nobody joins at 50–59


def test_senior_variant_runs(calibration: Calibration) -> None:
    senior = simulate(load_plan("xianghubao-2020/senior"), calibration, months=30)
    assert senior.months[-1].members > 0 and sum(senior.months[-1].age_mix[:5]) == pytest.approx(0.0, abs=1e-12)
    assert not math.isnan(senior.cost_per_member(2019))


def test_report_is_self_contained(calibration: Calibration, baseline: SimulationResult) -> None:
    other = simulate(PLAN, calibration, levers=Levers(age_banded=True), months=MONTHS)
    html = simulation_report([baseline, other], Assumptions())
    assert html.count("<svg") == 4 and "29.17" in html and "age-banded pricing" in html
    assert "<script" not in html and "<link" not in html and 'src="http' not in html
