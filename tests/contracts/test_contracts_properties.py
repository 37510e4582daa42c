"""Properties of reconciliation in every mode: money is conserved, and who keeps a claim-cost saving."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.contracts import (
    AdminCost,
    Contract,
    CooperationMode,
    Corridor,
    YearExperience,
    ledger_entries,
    net_balances,
    reconcile,
)
from yibao.core.money import RATE_SCALE, RatePpm

rates = st.integers(0, RATE_SCALE).map(RatePpm)
small_money = st.integers(0, 5_000)  # fen per enrollee or per claim
optional_rates = st.none() | rates


@st.composite
def contracts(draw: st.DrawFn, mode: CooperationMode | None = None) -> Contract:
    mode = mode or draw(st.sampled_from(list(CooperationMode)))
    corridor = None
    if mode is CooperationMode.INSURANCE_CONTRACT:
        corridor = Corridor(draw(optional_rates), draw(rates), draw(optional_rates), draw(rates))
    elif mode is CooperationMode.CO_INSURANCE:
        share = draw(rates)
        corridor = Corridor(RatePpm(0), share, RatePpm(0), share)
    priced = mode is not CooperationMode.FUND_MANAGEMENT
    return Contract(
        name="c", title="c", mode=mode, insurer="Insurer", region="r", year=2024, reference="test",
        premium_per_enrollee=draw(st.integers(0, 20_000)) if priced else 0,
        fee_per_enrollee=draw(small_money) if mode is not CooperationMode.INSURANCE_CONTRACT else 0,
        fee_rate_of_claims=draw(rates) if mode is not CooperationMode.INSURANCE_CONTRACT else RatePpm(0),
        expense_allowance_rate=draw(rates) if mode is CooperationMode.INSURANCE_CONTRACT else RatePpm(0),
        corridor=corridor,
        fund_admin=AdminCost(draw(small_money), draw(small_money)),
        insurer_admin=AdminCost(draw(small_money), draw(small_money)),
        settlement_days=Decimal(10), staff_per_10k_claims=Decimal(10), low_profit_cap=RatePpm(40_000),
    )  # fmt: skip


experiences = st.builds(
    YearExperience,
    enrollees=st.integers(0, 2_000_000),
    claims_paid=st.integers(0, 10**11),
    claims=st.integers(0, 100_000),
)


@settings(max_examples=300, deadline=None)
@given(contracts(), experiences)
def test_money_is_conserved_in_every_mode(contract: Contract, year: YearExperience) -> None:
    rec = reconcile(contract, year)
    # what leaves the fund = what the insurer receives net + claims the fund pays itself ...
    assert rec.fund_outlay == rec.insurer_income + rec.claims_borne_by_fund
    # ... = claims paid + the insurer's admin cost + its profit: nothing appears or vanishes
    assert rec.fund_outlay == year.claims_paid + rec.insurer_admin_cost + rec.insurer_profit
    assert rec.claims_borne_by_fund + rec.claims_borne_by_insurer == year.claims_paid
    # the corridor only ever moves part of the balance, never more
    assert 0 <= rec.surplus_refund <= max(rec.balance, 0)
    assert 0 <= rec.loss_compensation <= max(-rec.balance, 0)
    net = net_balances(ledger_entries(rec))
    assert sum(net.values()) == 0
    assert all(entry.amount > 0 for entry in ledger_entries(rec))
    assert net.get("r:2024:serious_illness", 0) == -rec.fund_outlay
    assert net.get("r:2024:facility_payable", 0) == year.claims_paid
    assert net.get("r:2024:serious_illness_insurer:insurer", 0) == rec.insurer_profit + rec.insurer_admin_cost


def kept(contract: Contract, year: YearExperience, saving: int) -> tuple[int, int]:
    """(insurer profit gained, claims saved) when the year's claims cost `saving` fen less (same claims)."""
    cheaper = replace(year, claims_paid=year.claims_paid - saving)
    return reconcile(contract, cheaper).insurer_profit - reconcile(contract, year).insurer_profit, saving


savings = st.integers(1, 10**8)


@settings(max_examples=200, deadline=None)
@given(contracts(CooperationMode.FUND_MANAGEMENT), experiences, savings)
def test_fund_management_with_a_per_capita_fee_keeps_nothing_of_a_saving(
    contract: Contract, year: YearExperience, saving: int
) -> None:
    contract = replace(contract, fee_rate_of_claims=RatePpm(0))
    saving = min(saving, year.claims_paid)
    assert kept(contract, year, saving)[0] == 0


@settings(max_examples=200, deadline=None)
@given(contracts(CooperationMode.INSURANCE_CONTRACT), experiences, savings)
def test_contract_without_corridor_keeps_all_of_a_saving(contract: Contract, year: YearExperience, saving: int) -> None:
    assert contract.corridor is not None
    contract = replace(contract, corridor=replace(contract.corridor, profit_cap=None, loss_band=None))
    saving = min(saving, year.claims_paid)
    gained, saved = kept(contract, year, saving)
    assert gained == saved


@settings(max_examples=300, deadline=None)
@given(contracts(), experiences, savings)
def test_otherwise_the_insurer_keeps_between_none_and_all(
    contract: Contract, year: YearExperience, saving: int
) -> None:
    contract = replace(contract, fee_rate_of_claims=RatePpm(0))
    saving = min(saving, year.claims_paid)
    gained, saved = kept(contract, year, saving)
    assert 0 <= gained <= saved


@settings(max_examples=100, deadline=None)
@given(contracts(), experiences, savings)
def test_a_fee_on_claims_takes_the_fee_on_a_saving_from_the_insurer(
    contract: Contract, year: YearExperience, saving: int
) -> None:
    saving = min(saving, year.claims_paid)
    gained, _ = kept(contract, year, saving)
    no_fee_gained, _ = kept(replace(contract, fee_rate_of_claims=RatePpm(0)), year, saving)
    lost = no_fee_gained - gained  # what the fee on claims took from the insurer's gain
    # the fee is a rate of the claims paid, so on a saving it shrinks by that rate of the saving (a fen of rounding)
    assert abs(lost * RATE_SCALE - contract.fee_rate_of_claims * saving) <= RATE_SCALE


@settings(max_examples=200, deadline=None)
@given(contracts(CooperationMode.CO_INSURANCE), experiences, savings)
def test_co_insurance_keeps_its_share_of_a_saving(contract: Contract, year: YearExperience, saving: int) -> None:
    assert contract.corridor is not None
    contract = replace(contract, fee_rate_of_claims=RatePpm(0))
    saving = min(saving, year.claims_paid)
    gained, saved = kept(contract, year, saving)
    share = contract.corridor.insurer_share_above_cap
    assert abs(gained * RATE_SCALE - share * saved) <= 2 * RATE_SCALE  # the share, to a fen of rounding each side
