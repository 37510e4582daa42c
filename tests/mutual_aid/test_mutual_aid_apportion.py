"""Apportionment: published arithmetic by hand, and properties (money conserved, caps, one charge each)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.mutual_aid.apportion import ApprovedCase, MemberColumns, apportion_period
from yibao.mutual_aid.calendar import day_number, period_of
from yibao.mutual_aid.disclosure import Disclosure, mask_name
from yibao.mutual_aid.errors import MutualAidError
from yibao.mutual_aid.files import read_summary, write_charges, write_summary
from yibao.mutual_aid.plan import Rounding, load_plan

XHB = load_plan("xianghubao-2020")
PERIOD = period_of(XHB, dt.date(2020, 3, 7))
LONG_AGO = day_number(dt.date(2019, 1, 1))


def members(n: int, start: int = LONG_AGO, charged: int = 0) -> MemberColumns:
    return MemberColumns(
        np.arange(n, dtype=np.int64), np.full(n, start, dtype=np.int32), np.full(n, charged, dtype=np.int64)
    )


def case(case_id: str, aid_fen: int, diagnosed: dt.date = dt.date(2020, 2, 20), age: int = 35) -> ApprovedCase:
    return ApprovedCase(case_id, "张三丰", age, "C", "Malignant neoplasm", diagnosed, aid_fen)


def test_waterdrop_april_2020_about_one_dollar_before_fee() -> None:
    # 14M members, 566 beneficiaries at ~$24,000 each (Protocol, seed 003): 566 × 24,000 / 14M = $0.97.
    plan = dataclasses.replace(XHB, fee_rate=0, case_cap=10**9)  # Waterdrop's own rules, before the fee
    cases = [case(f"w{i}", 24_000_00) for i in range(566)]  # amounts in US cents here
    result = apportion_period(plan, PERIOD, cases, members(14_000_000))
    assert result.summary.per_member_charge == 97  # $0.97 ≈ $1
    assert result.summary.collected == 97 * 14_000_000
    assert result.summary.surplus_out == 97 * 14_000_000 - 566 * 24_000_00  # rounding up by 0.0286 cents each


def test_per_case_cap_xianghubao() -> None:
    # 3 cases of 300,000 yuan, fee 8% -> 324,000 yuan each; 100,000 members would owe 3.24 yuan per case,
    # but a member pays at most 0.10 yuan per case: 0.30 yuan each, and 3 × 324,000 − 30,000 is carried.
    result = apportion_period(XHB, PERIOD, [case(f"c{i}", 300_000_00) for i in range(3)], members(100_000))
    s = result.summary
    assert (s.aid, s.fee) == (900_000_00, 72_000_00)
    assert s.per_member_charge == 30 and s.collected == 30_000_00
    assert s.case_cap_shortfall == 972_000_00 - 30_000_00
    assert s.surplus_out == -s.case_cap_shortfall and s.rounding_difference == 0


def test_below_one_fen_rounds_up() -> None:
    # aid 50 yuan + 4 yuan fee shared by 10,000 members = 0.54 fen each -> 1 fen; 46 yuan stays in the pool.
    result = apportion_period(XHB, PERIOD, [case("c1", 50_00)], members(10_000))
    assert result.summary.per_member_charge == 1
    assert result.summary.rounding_difference == 10_000 - 54_00
    assert result.summary.surplus_out == 46_00


def test_half_up_above_one_fen() -> None:
    plan = dataclasses.replace(XHB, case_cap=10**9)
    # 1,000 yuan + 80 fee over 3 members = 360 yuan each exactly; 1,001 yuan + 80.08 over 3 = 360.36 yuan.
    assert apportion_period(plan, PERIOD, [case("c1", 1_000_00)], members(3)).summary.per_member_charge == 360_00
    assert apportion_period(plan, PERIOD, [case("c1", 1_001_00)], members(3)).summary.per_member_charge == 360_36
    up = dataclasses.replace(plan, rounding=Rounding.UP)
    # 1,000.01 + 80.00 (8% of 1,000.01 = 80.0008 -> 80.00) = 108,001 fen / 3 = 36,000.33 -> up: 36,001.
    assert apportion_period(up, PERIOD, [case("c1", 1_000_01)], members(3)).summary.per_member_charge == 36_001


def test_waiting_period_member_pays_nothing_for_earlier_claims() -> None:
    plan = dataclasses.replace(XHB, case_cap=10**9)
    starts = np.array([LONG_AGO] * 10 + [day_number(dt.date(2020, 3, 5))] * 10 + [day_number(dt.date(2020, 4, 1))] * 10,
                      dtype=np.int32)
    cols = MemberColumns(np.arange(30, dtype=np.int64), starts, np.zeros(30, dtype=np.int64))
    cases = [case("early", 100_00, dt.date(2020, 3, 1)), case("late", 200_00, dt.date(2020, 3, 6))]
    result = apportion_period(plan, PERIOD, cases, cols)
    # "early" (108 yuan) is shared by the 10 protected on 1 March; "late" (216 yuan) by the 20 protected on 6 March;
    # the last 10 are still in their waiting period at the notice and pay nothing.
    assert result.charges.tolist() == [21_60] * 10 + [10_80] * 10 + [0] * 10
    assert result.summary.members_protected == 20 and result.summary.collected == 324_00
    assert [(c.members, c.charge) for c in result.summary.cohorts] == [(10, 21_60), (10, 10_80)]


def test_year_cap_and_surplus() -> None:
    plan = dataclasses.replace(XHB, case_cap=10**9)
    cols = MemberColumns(np.arange(4, dtype=np.int64), np.full(4, LONG_AGO, dtype=np.int32),
                         np.array([0, 187_95, 188_00, 100_00], dtype=np.int64))
    result = apportion_period(plan, PERIOD, [case("c1", 100_00)], cols, surplus_in=8_00)
    # (100 + 8 − 8) / 4 = 25 yuan each; member 1 has 0.05 yuan of room left, member 2 none.
    assert result.charges.tolist() == [25_00, 5, 0, 25_00]
    assert result.summary.year_cap_shortfall == 25_00 - 5 + 25_00
    assert result.summary.members_at_year_cap == 2


def test_no_protected_member_is_refused() -> None:
    with pytest.raises(MutualAidError) as err:
        apportion_period(XHB, PERIOD, [case("c1", 100_00)], members(5, start=day_number(dt.date(2020, 5, 1))))
    assert err.value.code == "mutual_aid.no_members_protected"


def test_dataset_summary_and_disclosure(tmp_path: Path) -> None:
    cases = [case("c1", 300_000_00), case("c2", 100_000_00, age=45)]
    result = apportion_period(XHB, PERIOD, cases, members(1_000_000))
    paths = write_charges(tmp_path / "charges", np.arange(1_000_000, dtype=np.int64), result.charges,
                          rows_per_file=400_000)
    assert len(paths) == 3
    table = pq.read_table(tmp_path / "charges")
    assert table.num_rows == 1_000_000 and len(set(table.column("member_id").to_pylist())) == 1_000_000
    assert str(table.column("charge")[0].as_py()) == "0.20"
    write_summary(tmp_path / "summary.json", result.summary)
    assert read_summary(tmp_path / "summary.json") == result.summary
    disclosure = Disclosure(result.summary, tuple(cases))
    written = disclosure.write(tmp_path / "public")
    assert [p.suffix for p in written] == [".json", ".csv", ".html"]
    text = "".join(p.read_text(encoding="utf-8") for p in written)
    assert "张*丰" in text and "张三丰" not in text
    assert '"per_member_charge": "0.20"' in text and "1000000" in text


def test_mask_name() -> None:
    assert (mask_name("张三丰"), mask_name("张三"), mask_name("Li Ming")) == ("张*丰", "张*", "L* M***")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple:
    rounding = draw(st.sampled_from(list(Rounding)))
    plan = dataclasses.replace(XHB, case_cap=draw(st.integers(1, 500)), year_cap=draw(st.integers(1, 2_000)),
                               fee_rate=draw(st.integers(0, 200_000)), rounding=rounding)
    cutoff = day_number(PERIOD.notice_date)
    n = draw(st.integers(1, 60))
    starts = np.array(draw(st.lists(st.integers(cutoff - 40, cutoff + 10), min_size=n, max_size=n)), dtype=np.int32)
    if not (starts <= cutoff).any():
        starts[0] = cutoff
    charged = np.array(draw(st.lists(st.integers(0, plan.year_cap + 50), min_size=n, max_size=n)), dtype=np.int64)
    cols = MemberColumns(np.arange(n, dtype=np.int64), starts, charged)
    cases = [
        case(f"c{i}", draw(st.integers(0, 5_000_00)), dt.date(2020, 3, 7) - dt.timedelta(days=draw(st.integers(0, 45))))
        for i in range(draw(st.integers(0, 6)))
    ]
    surplus = draw(st.integers(-5_000, 5_000))
    return plan, cols, cases, surplus


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_money_conserved_caps_respected(scenario: tuple) -> None:
    plan, cols, cases, surplus = scenario
    result = apportion_period(plan, PERIOD, cases, cols, surplus_in=surplus)
    s = result.summary
    fee = s.fee
    # sum of member charges + carried amounts = aid + fee (− the surplus brought in), exactly
    assert int(result.charges.sum()) + s.case_cap_shortfall + s.year_cap_shortfall - s.rounding_difference \
        == s.aid + fee - surplus
    assert int(result.charges.sum()) - s.surplus_out == s.aid + fee - surplus
    # one charge per member, never above the yearly cap, nothing for the unprotected
    assert len(result.charges) == len(cols) and (result.charges >= 0).all()
    charged_now = result.charges > 0
    assert (cols.charged_this_year[charged_now] + result.charges[charged_now] <= plan.year_cap).all()
    assert (result.charges[cols.protection_start > day_number(PERIOD.notice_date)] == 0).all()
    # never above the per-case cap for the cases a member was protected for (no shortfall brought in)
    if surplus >= 0:
        for i in range(len(cols)):
            paid_for = sum(1 for c in cases if day_number(c.diagnosis_date) >= cols.protection_start[i])
            assert result.charges[i] <= max(paid_for * plan.case_cap, 0)


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_ledger_entries_balance_and_pool_carries_the_surplus(scenario: tuple) -> None:
    from yibao.mutual_aid.postings import PoolAccount, period_entries, pool_movement

    plan, cols, cases, surplus = scenario
    s = apportion_period(plan, PERIOD, cases, cols, surplus_in=surplus).summary
    entries = period_entries(s, cases)
    assert all(e.balanced() for e in entries) and len(entries) == 3
    assert pool_movement(entries) == s.surplus_out - s.surplus_in
    payable = [line for e in entries for line in e.lines if line.account is PoolAccount.BENEFICIARY_PAYABLE]
    assert [line.sub for line in payable] == [c.case_id for c in cases]
