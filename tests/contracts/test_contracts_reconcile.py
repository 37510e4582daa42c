"""Hand-computed year-end reconciliations of the three built-in contracts (figures in yuan, checkable by hand).

The city has 10,000 enrollees and 100 serious-illness claims unless said otherwise.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from yibao.contracts import (
    AdminCost,
    CooperationMode,
    Corridor,
    Reconciliation,
    YearExperience,
    ledger_entries,
    load_builtin_contracts,
    load_contract,
    net_balances,
    reconcile,
)
from yibao.contracts.loader import BUILTIN_DIR, ContractError, parse_contract
from yibao.core.money import RatePpm, parse_rate, parse_yuan

# The built-in contracts with round figures, so every expected amount below is checkable by hand.
JIANGYIN = replace(
    load_contract("jiangyin-fund-management"),
    fee_per_enrollee=parse_yuan("2"),
    fee_rate_of_claims=RatePpm(0),
    fund_admin=AdminCost(parse_yuan("1"), parse_yuan("20")),
    insurer_admin=AdminCost(parse_yuan("1.50"), parse_yuan("30")),
)
ZHANJIANG = replace(
    load_contract("zhanjiang-insurance-contract"),
    premium_per_enrollee=parse_yuan("30"),
    expense_allowance_rate=parse_rate("0.03"),
    corridor=Corridor(parse_rate("0.04"), RatePpm(0), parse_rate("0.05"), parse_rate("0.5")),
    fund_admin=AdminCost(parse_yuan("0.30"), 0),
    insurer_admin=AdminCost(parse_yuan("1.20"), parse_yuan("25")),
)
PINGGU = replace(
    load_contract("pinggu-co-insurance"),
    premium_per_enrollee=parse_yuan("30"),
    fee_per_enrollee=parse_yuan("1"),
    corridor=Corridor(RatePpm(0), parse_rate("0.5"), RatePpm(0), parse_rate("0.5")),
    fund_admin=AdminCost(parse_yuan("0.80"), parse_yuan("10")),
    insurer_admin=AdminCost(parse_yuan("1"), parse_yuan("20")),
)


def year(claims_paid: str, claims: int = 100, enrollees: int = 10_000) -> YearExperience:
    return YearExperience(enrollees=enrollees, claims_paid=parse_yuan(claims_paid), claims=claims)


def yuan(text: str) -> int:
    return parse_yuan(text.replace(",", "")) if not text.startswith("-") else -parse_yuan(text[1:].replace(",", ""))


def check(rec: Reconciliation, **expected: str) -> None:
    for name, value in expected.items():
        assert getattr(rec, name) == yuan(value), name


def test_builtin_contracts_state_the_modes_and_their_parameters() -> None:
    jiangyin, zhanjiang, pinggu = load_builtin_contracts()
    assert (jiangyin.mode, zhanjiang.mode, pinggu.mode) == (
        CooperationMode.FUND_MANAGEMENT,
        CooperationMode.INSURANCE_CONTRACT,
        CooperationMode.CO_INSURANCE,
    )
    assert zhanjiang.premium_per_enrollee == parse_yuan("53.90")
    assert zhanjiang.corridor == Corridor(parse_rate("0.04"), RatePpm(0), parse_rate("0.10"), parse_rate("0.5"))
    assert jiangyin.corridor is None and jiangyin.premium_per_enrollee == 0
    assert jiangyin.fee_per_enrollee == parse_yuan("1.68")
    assert pinggu.corridor == Corridor(RatePpm(0), parse_rate("0.5"), RatePpm(0), parse_rate("0.5"))
    assert pinggu.low_profit_cap == parse_rate("0.04")


def test_builtin_contract_as_written() -> None:
    # premium 53.90 x 10,000 = 539,000; allowance 6% = 32,340; balance 6,660 is under the 4% cap (21,560);
    # insurer admin 0.70 x 10,000 + 6.00 x 100 = 7,600
    rec = reconcile(load_contract("zhanjiang-insurance-contract"), year("500000"))
    check(rec, premium="539000", expense_allowance="32340", balance="6660", surplus_refund="0",
          insurer_admin_cost="7600", insurer_profit="31400", fund_outlay="539000", fund_admin_cost="1000")  # fmt: skip


# Zhanjiang: premium 30 x 10,000 = 300,000; allowance 3% = 9,000; cap 4% = 12,000; band 5% = 15,000;
# insurer admin 1.20 x 10,000 + 25 x 100 = 14,500; fund admin 0.30 x 10,000 = 3,000.


def test_contract_surplus_above_the_cap_returns_to_the_fund() -> None:
    rec = reconcile(ZHANJIANG, year("250000"))
    # balance 300,000 - 9,000 - 250,000 = 41,000; above the cap 12,000 by 29,000
    check(rec, premium="300000", expense_allowance="9000", balance="41000", surplus_refund="29000",
          loss_compensation="0", insurer_income="271000", insurer_admin_cost="14500", insurer_profit="6500",
          fund_outlay="271000", fund_admin_cost="3000", fund_total_cost="274000")  # fmt: skip


def test_contract_surplus_within_the_cap_stays_with_the_insurer() -> None:
    rec = reconcile(ZHANJIANG, year("285000"))
    check(rec, balance="6000", surplus_refund="0", loss_compensation="0", insurer_profit="500", fund_outlay="300000")


def test_contract_loss_inside_the_band_is_the_insurers() -> None:
    rec = reconcile(ZHANJIANG, year("300000"))
    check(rec, balance="-9000", surplus_refund="0", loss_compensation="0", insurer_profit="-14500")


def test_contract_loss_beyond_the_band_is_shared() -> None:
    rec = reconcile(ZHANJIANG, year("331000"))
    # loss 40,000; beyond the band 15,000 by 25,000; the fund compensates 50% = 12,500
    check(rec, balance="-40000", loss_compensation="12500", insurer_income="312500", insurer_profit="-33000",
          fund_outlay="312500")  # fmt: skip


def test_contract_shares_of_an_odd_fen_round_half_up_on_the_insurers_share() -> None:
    rec = reconcile(ZHANJIANG, year("331000.01"))
    # excess 25,000.01: the insurer's 50% is 12,500.005 -> 12,500.01; the fund compensates 12,500.00
    check(rec, loss_compensation="12500")


def test_contract_zero_claims_returns_all_above_the_cap() -> None:
    rec = reconcile(ZHANJIANG, year("0", claims=0))
    # balance 291,000; refund 279,000; the insurer keeps 12,000 + the 9,000 allowance, less admin 12,000
    check(rec, balance="291000", surplus_refund="279000", insurer_income="21000", insurer_admin_cost="12000",
          insurer_profit="9000", fund_outlay="21000")  # fmt: skip


def test_contract_without_corridor_keeps_every_surplus_and_loss() -> None:
    assert ZHANJIANG.corridor is not None
    open_contract = replace(ZHANJIANG, corridor=replace(ZHANJIANG.corridor, profit_cap=None, loss_band=None))
    check(reconcile(open_contract, year("250000")), surplus_refund="0", insurer_profit="35500")
    check(reconcile(open_contract, year("400000")), loss_compensation="0", insurer_profit="-114500")


# Jiangyin: fee 2.00 x 10,000 = 20,000; fund admin 1.00 x 10,000 + 20 x 100 = 12,000;
# insurer admin 1.50 x 10,000 + 30 x 100 = 18,000.


def test_fund_management_the_fund_pays_claims_and_fee() -> None:
    rec = reconcile(JIANGYIN, year("250000"))
    check(rec, premium="0", fee="20000", claims_borne_by_fund="250000", claims_borne_by_insurer="0",
          insurer_income="20000", insurer_admin_cost="18000", insurer_profit="2000", fund_outlay="270000",
          fund_admin_cost="12000")  # fmt: skip


def test_fund_management_fee_on_claims() -> None:
    with_rate = replace(JIANGYIN, fee_rate_of_claims=parse_rate("0.03"))
    check(reconcile(with_rate, year("250000")), fee="27500", insurer_profit="9500", fund_outlay="277500")


def test_fund_management_zero_claims() -> None:
    check(reconcile(JIANGYIN, year("0", claims=0)), fee="20000", insurer_profit="5000", fund_outlay="20000")


# Pinggu: premium 300,000; fee 1.00 x 10,000 = 10,000; shares 50/50;
# insurer admin 1.00 x 10,000 + 20 x 100 = 12,000; fund admin 0.80 x 10,000 + 10 x 100 = 9,000.


def test_co_insurance_surplus_is_split() -> None:
    rec = reconcile(PINGGU, year("250000"))
    check(rec, balance="50000", surplus_refund="25000", insurer_income="285000", insurer_profit="23000",
          fund_outlay="285000", fund_admin_cost="9000")  # fmt: skip


def test_co_insurance_deficit_is_split() -> None:
    rec = reconcile(PINGGU, year("340000"))
    check(rec, balance="-40000", loss_compensation="20000", insurer_income="330000", insurer_profit="-22000")


def test_co_insurance_zero_claims() -> None:
    check(
        reconcile(PINGGU, year("0", claims=0)), surplus_refund="150000", insurer_profit="150000", fund_outlay="160000"
    )


def test_ledger_entries_balance_and_give_each_party_its_result() -> None:
    rec = reconcile(ZHANJIANG, year("250000"))
    entries = ledger_entries(rec)
    assert [(e.debit.split(":")[2], e.credit.split(":")[2], e.amount) for e in entries] == [
        ("serious_illness_insurer", "serious_illness", yuan("300000")),
        ("facility_payable", "serious_illness_insurer", yuan("250000")),
        ("serious_illness", "serious_illness_insurer", yuan("29000")),
    ]
    net = net_balances(entries)
    assert sum(net.values()) == 0
    assert net["reference-city:2024:serious_illness"] == -rec.fund_outlay
    assert net["reference-city:2024:serious_illness_insurer:example-life-hypothetical"] == yuan("21000")


def test_fund_management_ledger_pays_facilities_from_the_fund() -> None:
    net = net_balances(ledger_entries(reconcile(JIANGYIN, year("250000"))))
    assert net["reference-city:2024:facility_payable"] == yuan("250000")
    assert net["reference-city:2024:serious_illness"] == -yuan("270000")


def _raw_contract(mode: str, parameters: dict[str, object]) -> dict[str, object]:
    return {
        "contract": "x", "title": "x", "mode": mode, "insurer": "x", "region": "r", "year": 2024,
        "reference": "test", "parameters": parameters,
    }  # fmt: skip


def test_a_contract_must_write_out_every_parameter_of_its_mode() -> None:
    with pytest.raises(ContractError, match=r"x.yaml: parameters: .*missing: \['fee_per_enrollee'"):
        parse_contract(_raw_contract("fund_management", {}), Path("x.yaml"))


def test_a_parameter_the_mode_does_not_use_is_refused() -> None:
    premium = {"description": "d", "unit": "yuan", "reference": "r", "value": 1}
    with pytest.raises(ContractError, match=r"not used: \['premium_per_enrollee'\]"):
        parse_contract(_raw_contract("fund_management", {"premium_per_enrollee": premium}), Path("x.yaml"))


def test_a_parameter_in_the_wrong_unit_is_refused(tmp_path: Path) -> None:
    text = (BUILTIN_DIR / "zhanjiang-insurance-contract.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("unit: rate\n    reference: Guangdong", "unit: yuan\n    reference: Guangdong", 1))
    with pytest.raises(ContractError, match=r"profit_cap\.unit: expected unit 'rate'"):
        load_contract(bad)


def test_unknown_contract_name_says_what_exists() -> None:
    with pytest.raises(ContractError, match="zhanjiang-insurance-contract") as info:
        load_contract("no-such-contract")
    assert info.value.code == "contracts.not_found"
