"""The Twin check's rules on hand-made cases a labour inspector could check by hand.

Average wage 10,000 yuan: base floor 6,000, ceiling 30,000; employer 6% + employee 2% = 8% a month;
late fee 0.05% a day from the 15th of the next month.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.audit.twin_cases import (
    EMPLOYER_A,
    EMPLOYER_B,
    flag_of,
    make_ric,
    mistype,
    run_case,
    seen,
    swap,
    worker,
)
from yibao.audit.twin import late_days

ZHANG = make_ric("19900115", 11)
LI = make_ric("19851203", 22)


def test_correctly_insured_worker_is_not_flagged(tmp_path: Path) -> None:
    result = run_case(tmp_path, [worker("P1", ZHANG, "张三", "1990-01-15", "M", EMPLOYER_A, "8000.00")],
                      [seen("I1", EMPLOYER_A, ZHANG, "张三", "1990-01-15", "M", "8000.00")])  # fmt: skip
    assert result.flags.height == 0
    row = result.employers.filter(result.employers["employer_uscc"] == EMPLOYER_A).to_dicts()[0]
    assert (row["observed"], row["matched"], row["uninsured"], row["under_declared"]) == (1, 1, 0, 0)
    assert row["estimated_arrears"] == 0


def test_under_declared_base_shortfall_and_arrears(tmp_path: Path) -> None:
    # Declared 5,000 on a wage of 8,000, 6 months paid: shortfall 3,000 a month, 8% = 240.00 a month.
    result = run_case(tmp_path, [worker("P2", LI, "李四", "1985-12-03", "F", EMPLOYER_A, "5000.00", 6)],
                      [seen("I2", EMPLOYER_A, LI, "李四", "1985-12-03", "F", "8000.00")],
                      as_of=dt.date(2024, 12, 31))  # fmt: skip
    flag = flag_of(result, "I2")
    assert flag is not None
    assert flag["kind"] == "under_declared_base" and flag["match"] == "ric_exact" and flag["person_id"] == "P2"
    assert (flag["expected_base"], flag["declared_base"], flag["monthly_shortfall"]) == (800_000, 500_000, 300_000)
    assert flag["months"] == 6 and flag["contributions_due"] == 6 * 24_000
    # Month m is due on 15 (m+1); days late on 31 Dec 2024: Jan 320 (leap year), Feb 291, ..., Jun 199.
    days = [(dt.date(2024, 12, 31) - dt.date(2024, m + 1, 15)).days for m in range(1, 7)]
    assert days[0] == 320
    assert flag["late_fee"] == (24_000 * 5 * sum(days) + 5_000) // 10_000  # 0.05% a day, rounded once half-up


def test_base_exactly_at_the_tolerance_edge_is_not_flagged_one_fen_below_is(tmp_path: Path) -> None:
    # Expected 8,000; 5% below is 7,600.00: accepted; 7,599.99 is under-declared.
    wang = make_ric("19700301", 33)
    zhao = make_ric("19700302", 44)
    result = run_case(
        tmp_path,
        [worker("P3", wang, "王五", "1970-03-01", "M", EMPLOYER_A, "7600.00"),
         worker("P4", zhao, "赵六", "1970-03-02", "F", EMPLOYER_A, "7599.99")],
        [seen("I3", EMPLOYER_A, wang, "王五", "1970-03-01", "M", "8000.00"),
         seen("I4", EMPLOYER_A, zhao, "赵六", "1970-03-02", "F", "8000.00")],
    )  # fmt: skip
    assert flag_of(result, "I3") is None
    flag = flag_of(result, "I4")
    assert flag is not None and flag["kind"] == "under_declared_base" and flag["monthly_shortfall"] == 40_001


def test_wage_below_the_floor_and_above_the_ceiling(tmp_path: Path) -> None:
    low_ok, low_bad = make_ric("19950505", 55), make_ric("19950506", 66)
    high_ok, high_bad = make_ric("19660606", 77), make_ric("19660607", 88)
    result = run_case(
        tmp_path,
        [worker("L1", low_ok, "钱一", "1995-05-05", "M", EMPLOYER_A, "6000.00"),
         worker("L2", low_bad, "孙二", "1995-05-06", "F", EMPLOYER_A, "5000.00"),
         worker("H1", high_ok, "周三", "1966-06-06", "M", EMPLOYER_A, "30000.00"),
         worker("H2", high_bad, "吴四", "1966-06-07", "F", EMPLOYER_A, "20000.00")],
        [seen("IL1", EMPLOYER_A, low_ok, "钱一", "1995-05-05", "M", "3000.00"),
         seen("IL2", EMPLOYER_A, low_bad, "孙二", "1995-05-06", "F", "3000.00"),
         seen("IH1", EMPLOYER_A, high_ok, "周三", "1966-06-06", "M", "50000.00"),
         seen("IH2", EMPLOYER_A, high_bad, "吴四", "1966-06-07", "F", "50000.00")],
    )  # fmt: skip
    assert flag_of(result, "IL1") is None and flag_of(result, "IH1") is None
    low, high = flag_of(result, "IL2"), flag_of(result, "IH2")
    assert low is not None and (low["expected_base"], low["monthly_shortfall"]) == (600_000, 100_000)
    assert high is not None and (high["expected_base"], high["monthly_shortfall"]) == (3_000_000, 1_000_000)


def test_mistyped_numbers_are_found_by_name_and_birth_date(tmp_path: Path) -> None:
    changed, swapped = make_ric("19881111", 91), make_ric("19920229", 92)
    assert mistype(changed, 9) != changed and swap(swapped, 3) != swapped
    result = run_case(
        tmp_path,
        [worker("M1", changed, "郑七", "1988-11-11", "M", EMPLOYER_A, "4000.00"),
         worker("M2", swapped, "冯八", "1992-02-29", "F", EMPLOYER_A, "4000.00")],
        [seen("IM1", EMPLOYER_A, mistype(changed, 9), "郑七", "1988-11-11", "M", "8000.00"),
         seen("IM2", EMPLOYER_A, swap(swapped, 3), "冯捌", "1992-02-29", "F", "8000.00")],
    )  # fmt: skip
    for iid, pid in (("IM1", "M1"), ("IM2", "M2")):
        flag = flag_of(result, iid)
        assert flag is not None
        assert (flag["kind"], flag["person_id"], flag["match"]) == ("under_declared_base", pid, "splink")
        assert 0.9 <= float(flag["score"]) <= 1.0  # type: ignore[arg-type]


def test_same_name_same_birthday_colleagues_are_not_merged(tmp_path: Path) -> None:
    insured = make_ric("19930303", 13)
    other = make_ric("19930303", 15, "310101")  # another man with the same name and birthday, not insured
    result = run_case(
        tmp_path,
        [worker("S1", insured, "陈伟", "1993-03-03", "M", EMPLOYER_A, "8000.00")],
        [seen("IS1", EMPLOYER_A, insured, "陈伟", "1993-03-03", "M", "8000.00"),
         seen("IS2", EMPLOYER_A, other, "陈伟", "1993-03-03", "M", "8000.00"),
         seen("IS3", EMPLOYER_A, "", "陈伟", "1993-03-03", "M", "8000.00")],
    )  # fmt: skip
    assert flag_of(result, "IS1") is None
    for iid in ("IS2", "IS3"):
        flag = flag_of(result, iid)
        assert flag is not None
        assert (flag["kind"], flag["reason"], flag["person_id"], flag["match"]) == (
            "uninsured_worker", "absent", None, "none")  # fmt: skip


def test_a_valid_number_not_in_the_registry_is_not_linked_to_a_namesake(tmp_path: Path) -> None:
    insured = make_ric("19930303", 13)
    other = make_ric("19930303", 15, "310101")
    result = run_case(tmp_path, [worker("S1", insured, "陈伟", "1993-03-03", "M", EMPLOYER_A, "8000.00")],
                      [seen("IS2", EMPLOYER_A, other, "陈伟", "1993-03-03", "M", "8000.00")])  # fmt: skip
    flag = flag_of(result, "IS2")
    assert flag is not None and flag["person_id"] is None and flag["reason"] == "absent"


def test_worker_insured_elsewhere_is_uninsured_here(tmp_path: Path) -> None:
    elsewhere, no_number = make_ric("19800808", 17), make_ric("19810909", 18)
    result = run_case(
        tmp_path,
        [worker("E1", elsewhere, "褚九", "1980-08-08", "M", EMPLOYER_B, "8000.00"),
         worker("E2", no_number, "卫十", "1981-09-09", "F", EMPLOYER_B, "8000.00")],
        [seen("IE1", EMPLOYER_A, elsewhere, "褚九", "1980-08-08", "M", "8000.00", on="2024-03-10"),
         seen("IE2", EMPLOYER_A, "", "卫十", "1981-09-09", "F", "8000.00", on="2024-03-10")],
    )  # fmt: skip
    first, second = flag_of(result, "IE1"), flag_of(result, "IE2")
    assert first is not None and (first["kind"], first["reason"], first["person_id"], first["match"]) == (
        "uninsured_worker", "insured_elsewhere", "E1", "ric_exact")  # fmt: skip
    assert second is not None and (second["reason"], second["person_id"], second["match"]) == (
        "insured_elsewhere", "E2", "splink")  # fmt: skip
    # Uninsured: the whole expected base, assessed January to March (the month of the inspection).
    assert (first["monthly_shortfall"], first["months"], first["contributions_due"]) == (800_000, 3, 3 * 64_000)


def test_registered_without_months_paid_is_uninsured(tmp_path: Path) -> None:
    number = make_ric("19790101", 19)
    result = run_case(tmp_path, [worker("N1", number, "蒋十一", "1979-01-01", "M", EMPLOYER_A, "8000.00", 0)],
                      [seen("IN1", EMPLOYER_A, number, "蒋十一", "1979-01-01", "M", "8000.00")])  # fmt: skip
    flag = flag_of(result, "IN1")
    assert flag is not None and (flag["kind"], flag["reason"], flag["declared_base"]) == (
        "uninsured_worker", "no_months_paid", None)  # fmt: skip


def test_late_fee_days_over_a_leap_year() -> None:
    days = late_days(2024, 15, dt.date(2024, 3, 15))
    # January's contributions are due 15 February 2024; 29 February exists: 29 days late on 15 March.
    assert days.row(0) == (1, dt.date(2024, 2, 15), 29)
    assert days.row(1) == (2, dt.date(2024, 3, 15), 0)
    assert late_days(2023, 15, dt.date(2023, 3, 15)).row(0)[2] == 28
    december = late_days(2024, 15, dt.date(2025, 1, 20)).row(11)
    assert december == (12, dt.date(2025, 1, 15), 5)


def test_late_fee_in_the_arrears_over_february_29(tmp_path: Path) -> None:
    number = make_ric("19750505", 21)
    result = run_case(tmp_path, [], [seen("IF1", EMPLOYER_A, number, "沈十二", "1975-05-05", "M", "10000.00",
                                          on="2024-01-20")], as_of=dt.date(2024, 3, 15))  # fmt: skip
    flag = flag_of(result, "IF1")
    assert flag is not None and flag["months"] == 1
    # 8% of 10,000 = 800.00 due 15 Feb 2024, 29 days late: 800.00 x 0.05% x 29 = 11.60.
    assert (flag["contributions_due"], flag["late_fee"]) == (80_000, 1_160)
