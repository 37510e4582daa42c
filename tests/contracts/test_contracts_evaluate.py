"""The yearly book, the Monte Carlo and the search: exact payments, determinism, incentives, the seed's ranking."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.contracts import Contract, CooperationMode, Corridor, load_builtin_contracts, load_contract
from yibao.contracts.book import RuleGroup, SeriousIllnessBook, book_from_tables
from yibao.contracts.evaluation import SEED_RANKING, Settings, study
from yibao.contracts.montecarlo import Shocks, evaluate_contract, search_price, simulate
from yibao.core.money import RatePpm, parse_rate, parse_yuan
from yibao.core.rules import schedule
from yibao.core.scheme import Band
from yibao.schemes import load_scheme
from yibao.tables import read_claims, read_persons

EXAMPLES = Path(__file__).parents[2] / "src/yibao/schemes/builtin/reference-city/examples"
BANDS = (
    Band(0, parse_rate("0.6")),
    Band(parse_yuan("50000"), parse_rate("0.7")),
    Band(parse_yuan("100000"), parse_rate("0.8")),
)
POOR_BANDS = tuple(Band(b.above, RatePpm(b.rate + 50_000)) for b in BANDS)
NONE = RuleGroup(parse_yuan("15000"), BANDS, parse_yuan("400000"))
POOR = RuleGroup(parse_yuan("7500"), POOR_BANDS, None)


def book(bases_yuan: list[str], groups: list[int], enrollees: int = 100) -> SeriousIllnessBook:
    n = len(bases_yuan)
    return SeriousIllnessBook(
        enrollees=enrollees,
        base=np.array([parse_yuan(b) for b in bases_yuan], dtype=np.int64),
        group=np.array(groups, dtype=np.int64),
        claims=np.ones(n, dtype=np.int64),
        paid=np.zeros(n, dtype=np.int64),
        groups=(NONE, POOR),
    )


def test_the_reference_city_book_recomputes_the_settled_payments() -> None:
    scheme = load_scheme("reference-city")
    persons = read_persons(EXAMPLES / "persons.csv")
    claims = read_claims(EXAMPLES / "claims.csv", persons, scheme)
    city = book_from_tables(scheme, persons, claims)
    assert city.groups[0] == NONE and city.groups[1] == POOR
    assert city.enrollees == int((persons["scheme"] == "urrbmi").sum())
    # R001: base 49,506.10 -> 60% of (49,506.10 - 15,000) = 20,703.66
    assert parse_yuan("49506.10") in city.base.tolist()
    assert parse_yuan("20703.66") in city.paid.tolist()
    assert city.payments(1.0).tolist() == city.paid.tolist()


def test_payments_under_a_cost_factor_follow_the_yearly_rule_by_hand() -> None:
    b = book(["30000", "10000", "800000", "5000"], [0, 1, 0, 1])
    # 60,000: 60% x 35,000 + 70% x 10,000 = 28,000; dibao 20,000: 65% x 12,500 = 8,125;
    # 1,600,000 -> capped at 400,000; 10,000: 65% x 2,500 = 1,625
    assert b.payments(2.0).tolist() == [parse_yuan(v) for v in ("28000", "8125", "400000", "1625")]
    assert b.payments(1.0, np.array([1, 1])).tolist() == [parse_yuan("1625")] * 2
    assert b.claims_handled(b.payments(1.0)) == 3


def lognormal_book(persons: int = 4000, enrollees: int = 400_000, seed: int = 5) -> SeriousIllnessBook:
    rng = np.random.default_rng(seed)
    base = np.floor(np.exp(rng.normal(np.log(25_000), 0.6, persons)) * 100).astype(np.int64)
    group = (rng.random(persons) < 0.1).astype(np.int64)
    claims = rng.integers(1, 5, persons).astype(np.int64)
    return SeriousIllnessBook(enrollees, base, group, claims, np.zeros(persons, np.int64), (NONE, POOR))


SMALL = Shocks(years=300, seed=11)


def test_simulation_is_deterministic_for_a_seed() -> None:
    b = lognormal_book()
    first, second = simulate(b, SMALL), simulate(b, SMALL)
    assert first.claims_paid.tolist() == second.claims_paid.tolist()
    assert first.claims_paid_cut.tolist() == second.claims_paid_cut.tolist()
    assert first.claims.tolist() == second.claims.tolist()
    other = simulate(b, replace(SMALL, seed=12))
    assert other.claims_paid.tolist() != first.claims_paid.tolist()
    assert (first.claims_paid_cut < first.claims_paid).all()


def test_incentive_is_zero_full_or_in_between() -> None:
    sims = simulate(lognormal_book(), SMALL)
    jiangyin, zhanjiang, pinggu = load_builtin_contracts()
    assert zhanjiang.corridor is not None
    open_contract = replace(zhanjiang, corridor=replace(zhanjiang.corridor, profit_cap=None, loss_band=None))
    assert evaluate_contract(jiangyin, sims).incentive == 0.0
    assert evaluate_contract(open_contract, sims).incentive == 1.0
    priced = [search_price(c, sims, 0.02).contract for c in (zhanjiang, pinggu)]
    for contract in priced:
        assert 0.0 < evaluate_contract(contract, sims).incentive < 1.0
    per_claim_fee = replace(jiangyin, fee_rate_of_claims=parse_rate("0.03"))
    assert evaluate_contract(per_claim_fee, sims).incentive == pytest.approx(-0.03, abs=1e-4)


@pytest.mark.parametrize("name", ["jiangyin-fund-management", "zhanjiang-insurance-contract", "pinggu-co-insurance"])
def test_search_finds_the_smallest_price_reaching_the_target(name: str) -> None:
    sims = simulate(lognormal_book(), SMALL)
    found = search_price(load_contract(name), sims, 0.02)
    assert found.expected_margin >= 0.02
    one_fen_less: Contract = (
        replace(found.contract, fee_per_enrollee=found.per_enrollee - 1)
        if found.parameter == "fee_per_enrollee"
        else replace(found.contract, premium_per_enrollee=found.per_enrollee - 1)
    )
    assert evaluate_contract(one_fen_less, sims).expected_margin < 0.02
    assert 0.0 <= found.insurer_p_loss <= 1.0


def test_an_unreachable_margin_is_refused() -> None:
    sims = simulate(lognormal_book(), SMALL)
    with pytest.raises(Exception, match=r"no premium_per_enrollee reaches an expected margin of 20\.00%") as info:
        search_price(load_contract("zhanjiang-insurance-contract"), sims, 0.20)  # cap 4% + allowance 6% < 20%
    assert getattr(info.value, "code", "") == "contracts.target_unreachable"


def test_the_seeds_ranking_on_a_stable_book() -> None:
    result = study(
        load_builtin_contracts(), lognormal_book(), Settings(shocks=Shocks(years=600, seed=3), sensitivity=False)
    )
    assert result.best == SEED_RANKING
    assert result.reproduces_seed


def test_the_ranking_turns_when_the_co_insurance_share_moves() -> None:
    jiangyin, zhanjiang, pinggu = load_builtin_contracts()
    share = parse_rate("0.95")
    lopsided = replace(pinggu, corridor=Corridor(RatePpm(0), share, RatePpm(0), share))
    result = study(
        [jiangyin, zhanjiang, lopsided], lognormal_book(), Settings(shocks=Shocks(years=600, seed=3), sensitivity=False)
    )
    assert (
        result.best["incentive effect"] is CooperationMode.CO_INSURANCE
    )  # 95% kept beats the capped contract (about 90% here)
    assert result.best["risk sharing"] is not CooperationMode.CO_INSURANCE


@pytest.mark.slow
def test_the_default_evaluation_reproduces_the_seed() -> None:
    """`yibao contracts evaluate` defaults: synthetic city of 300,000, 2,000 years, priced at a 2% margin."""
    from yibao.lab.synth import synthesize

    city = synthesize(300_000, 2024, 2024)
    city_book = book_from_tables(load_scheme("reference-city"), city.persons, city.claims)
    result = study(load_builtin_contracts(), city_book, Settings(sensitivity=False))
    assert result.reproduces_seed
    assert (city_book.payments(1.0) == city_book.paid).all()


def test_a_book_nobody_reaches_gives_zero_claims_every_year() -> None:
    quiet = book(["100", "200"], [0, 1])
    sims = simulate(quiet, SMALL)
    assert sims.claims_paid.tolist() == [0] * SMALL.years
    evaluation = evaluate_contract(load_contract("jiangyin-fund-management"), sims)
    assert evaluation.incentive == 0.0 and np.isnan(evaluation.admin_cost_ratio)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 10**9), min_size=1, max_size=20),
    st.lists(st.integers(0, 1), min_size=20, max_size=20),
    st.floats(0.5, 2.0),
)
def test_book_payments_equal_the_core_schedule_person_by_person(bases: list[int], groups: list[int], k: float) -> None:
    b = SeriousIllnessBook(
        enrollees=len(bases),
        base=np.array(bases, dtype=np.int64),
        group=np.array(groups[: len(bases)], dtype=np.int64),
        claims=np.ones(len(bases), dtype=np.int64),
        paid=np.zeros(len(bases), dtype=np.int64),
        groups=(NONE, POOR),
    )
    for base, group, paid in zip(bases, groups, b.payments(k).tolist(), strict=False):
        rule = b.groups[group]
        shocked = int(np.floor(base * k + 0.5))
        expected = schedule(shocked, rule.deductible, rule.bands)
        assert paid == (expected if rule.cap is None else min(expected, rule.cap))
