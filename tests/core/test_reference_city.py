"""Hand-computed settlements of the reference city (domain.md), one rule at a time.

Every expected figure is worked out in the comment beside it from the published
rule; both the scalar and the batch path must give it to the fen.
"""

from __future__ import annotations

import pytest

from tests.core.helpers import claim, person, settle_both, y
from yibao.core.scheme import Scheme
from yibao.schemes import load_scheme


@pytest.fixture(scope="module")
def city() -> Scheme:
    return load_scheme("reference-city")


def test_urrbmi_inpatient_each_facility_level(city: Scheme) -> None:
    persons = [person("L1"), person("L2"), person("L3")]
    claims = [claim(f"C{n}", f"L{n}", "2024-03-01", n, a="10000") for n in (1, 2, 3)]
    got = settle_both(city, persons, claims)
    assert got["C1"].paid("basic") == y("8330")  # (10000 - 200) x 85%
    assert got["C2"].paid("basic") == y("7050")  # (10000 - 600) x 75%
    assert got["C3"].paid("basic") == y("5525")  # (10000 - 1500) x 65%
    for c in got.values():  # in-policy out-of-pocket stays below the 15,000 threshold
        assert c.paid("serious_illness") == 0
        assert c.out_of_pocket == y("10000") - c.paid("basic")


def test_second_admission_halves_the_deductible(city: Scheme) -> None:
    got = settle_both(
        city,
        [person("P")],
        [claim("A", "P", "2024-02-01", 2, a="10000"), claim("B", "P", "2024-05-01", 2, a="10000")],
    )
    assert got["A"].paid("basic") == y("7050")  # (10000 - 600) x 75%
    assert got["B"].paid("basic") == y("7275")  # (10000 - 300) x 75%
    assert got["B"].act_pay_dedc == y("300")


def test_inpatient_cap_crossed_inside_a_claim(city: Scheme) -> None:
    got = settle_both(
        city,
        [person("P")],
        [claim("A", "P", "2024-01-10", 1, a="170000"), claim("B", "P", "2024-02-10", 1, a="20000")],
    )
    assert got["A"].paid("basic") == y("144330")  # (170000 - 200) x 85%
    # (20000 - 100) x 85% = 16915 calculated, but only 150000 - 144330 = 5670 is left under the cap
    assert got["B"].paid("basic") == y("5670")


def test_urrbmi_outpatient_level_one_only_with_yearly_limit(city: Scheme) -> None:
    got = settle_both(
        city,
        [person("P")],
        [
            claim("O1", "P", "2024-01-05", 1, "outpatient", a="500"),
            claim("O2", "P", "2024-02-05", 1, "outpatient", a="500"),
            claim("O3", "P", "2024-03-05", 2, "outpatient", a="500"),
        ],
    )
    assert got["O1"].paid("basic") == y("300")  # 500 x 60%
    assert got["O2"].paid("basic") == y("100")  # 300 more would pass the 400 limit
    assert got["O3"].paid("basic") == 0  # levels 2 and 3 pay nothing for residents' outpatient care


def test_uebmi_retiree_uplift_and_limits(city: Scheme) -> None:
    persons = [person("EMP", "uebmi_employee"), person("RET", "uebmi_retiree")]
    claims = [
        claim("E1", "EMP", "2024-03-01", 3, a="10000"),
        claim("R1", "RET", "2024-03-01", 3, a="10000"),
        claim("E2", "EMP", "2024-04-01", 3, "outpatient", a="1000"),
        claim("R2", "RET", "2024-04-01", 3, "outpatient", a="1000"),
        claim("R3", "RET", "2024-05-01", 1, "outpatient", a="1000"),
        claim("R4", "RET", "2024-06-01", 1, "outpatient", a="1000"),
    ]
    got = settle_both(city, persons, claims)
    assert got["E1"].paid("basic") == y("7360")  # (10000 - 800) x 80%
    assert got["R1"].paid("basic") == y("7636")  # (10000 - 800) x 83%
    assert got["E2"].paid("basic") == y("700")  # 1000 x 70%
    assert got["R2"].paid("basic") == y("750")  # 1000 x 75%
    assert got["R3"].paid("basic") == y("800")  # 1000 x 80%
    assert got["R4"].paid("basic") == y("250")  # 800 calculated; 1800 limit leaves 1800 - 1550 = 250
    # UEBMI members have no serious-illness layer
    assert all(c.paid("serious_illness") == 0 for c in got.values())


def test_out_of_area_lowers_basic_rates_by_ten_points(city: Scheme) -> None:
    got = settle_both(city, [person("P")], [claim("X", "P", "2024-03-01", 2, a="10000", region="other-city")])
    assert got["X"].paid("basic") == y("6110")  # (10000 - 600) x 65%


def test_serious_illness_threshold_and_bands_crossed_mid_claim(city: Scheme) -> None:
    got = settle_both(
        city,
        [person("P")],
        [claim("A", "P", "2024-03-01", 3, a="200000"), claim("B", "P", "2024-08-01", 3, a="100000")],
    )
    assert got["A"].paid("basic") == y("129025")  # (200000 - 1500) x 65%
    # base 200000 - 129025 = 70975 crosses the 15000 threshold and the 50000 band in one claim:
    # 60% x (50000 - 15000) + 70% x (70975 - 50000) = 21000 + 14682.50
    assert got["A"].paid("serious_illness") == y("35682.50")
    # second admission: (100000 - 750) x 65% = 64512.50, but the 150000 cap leaves 20975
    assert got["B"].paid("basic") == y("20975")
    # cumulative base 70975 -> 150000: f(150000) = 21000 + 35000 + 40000 = 96000; 96000 - 35682.50
    assert got["B"].paid("serious_illness") == y("60317.50")


def test_serious_illness_tilt_for_the_poor_and_dibao_assistance(city: Scheme) -> None:
    got = settle_both(city, [person("D", category="dibao")], [claim("A", "D", "2024-03-01", 3, a="60000")])
    c = got["A"]
    assert c.paid("basic") == y("38025")  # (60000 - 1500) x 65%
    assert c.paid("serious_illness") == y("9408.75")  # (21975 - 7500) x 65% (threshold halved, +5 points)
    assert c.paid("assistance") == y("8796.38")  # (60000 - 38025 - 9408.75) x 70% = 8796.375, half-up
    assert c.out_of_pocket == y("3769.87")


def test_extreme_poor_assistance_and_its_yearly_limit(city: Scheme) -> None:
    got = settle_both(
        city,
        [person("X", category="extreme_poor")],
        [claim("A", "X", "2024-02-01", 3, a="300000"), claim("B", "X", "2024-09-01", 3, a="200000")],
    )
    a, b = got["A"], got["B"]
    assert a.paid("basic") == y("150000")  # (300000 - 1500) x 65% = 194025, capped at 150000
    # no cap for the poor; threshold 7500; 65% to 50000, 75% to 100000, 85% above
    assert a.paid("serious_illness") == y("107625")  # 27625 + 37500 + 42500
    assert a.paid("assistance") == y("42375")  # 100% of 300000 - 150000 - 107625
    assert a.out_of_pocket == 0
    assert b.paid("basic") == 0  # the inpatient cap is used up
    assert b.paid("serious_illness") == y("170000")  # 85% x 200000
    assert b.paid("assistance") == y("17625")  # base 30000, but only 60000 - 42375 is left of the limit
    assert b.out_of_pocket == y("12375")


def test_low_income_assistance_has_a_yearly_cumulative_deductible(city: Scheme) -> None:
    got = settle_both(
        city,
        [person("L", category="low_income")],
        [claim("A", "L", "2024-02-01", 1, a="2000"), claim("B", "L", "2024-06-01", 1, a="3000")],
    )
    assert got["A"].paid("basic") == y("1530")  # (2000 - 200) x 85%
    assert got["A"].paid("assistance") == 0  # cumulative base 470 is under the 1000 deductible
    assert got["B"].paid("basic") == y("2465")  # (3000 - 100) x 85%
    assert got["B"].paid("assistance") == y("3")  # cumulative 470 -> 1005: 60% x 5


def test_dibao_assistance_limit(city: Scheme) -> None:
    claims = [claim(f"A{i}", "D", f"2024-0{i}-01", 3, a="200000") for i in range(1, 4)]
    got = settle_both(city, [person("D", category="dibao")], claims)
    assert sum(c.paid("assistance") for c in got.values()) == y("40000")


@pytest.mark.parametrize(("pre_existing", "expected"), [(False, "16328"), (True, "8164")])
def test_huiminbao_three_parts(city: Scheme, pre_existing: bool, expected: str) -> None:
    who = person("H", huiminbao=True, pre_existing=pre_existing)
    got = settle_both(
        city,
        [who],
        [
            claim("A", "H", "2024-04-01", 3, a="100000", b="20000", self_pay="30000", special="5000"),
            claim("O", "H", "2024-05-01", 3, "outpatient", self_pay="25000"),
        ],
    )
    a = got["A"]
    assert a.preselfpay_amt == y("2000") and a.inscp_scp_amt == y("118000")
    assert a.paid("basic") == y("75725")  # (118000 - 1500) x 65%
    assert a.paid("serious_illness") == y("16365")  # (42275 - 15000) x 60%
    # in catalogue: 120000 - 75725 - 16365 = 27910 -> 80% (40%) of 7910 = 6328 (3164)
    # outside:      30000 -> 60% (30%) of 10000 = 6000 (3000); special drugs 80% (40%) of 5000 = 4000 (2000)
    assert a.paid("huiminbao") == y(expected)
    assert got["O"].paid("huiminbao") == 0  # outpatient self-pay is not covered by the outside-catalogue part


def test_claims_given_out_of_date_order(city: Scheme) -> None:
    p = [person("P")]
    first = claim("A", "P", "2024-02-01", 2, a="10000")
    second = claim("B", "P", "2024-05-01", 2, a="10000")
    forwards = settle_both(city, p, [first, second])
    backwards = settle_both(city, p, [second, first])
    assert backwards["B"].paid("basic") == forwards["B"].paid("basic") == y("7275")
    assert backwards["A"].paid("basic") == y("7050")


def test_same_day_claims_are_ordered_by_claim_id(city: Scheme) -> None:
    got = settle_both(
        city, [person("P")], [claim("Z", "P", "2024-02-01", 2, a="10000"), claim("M", "P", "2024-02-01", 2, a="10000")]
    )
    assert got["M"].paid("basic") == y("7050") and got["Z"].paid("basic") == y("7275")


def test_a_new_year_resets_the_accumulators(city: Scheme) -> None:
    got = settle_both(
        city,
        [person("P")],
        [
            claim("A", "P", "2024-11-01", 2, a="10000"),
            claim("O", "P", "2024-12-01", 1, "outpatient", a="1000"),
            claim("B", "P", "2025-01-15", 2, a="10000"),
            claim("Q", "P", "2025-02-01", 1, "outpatient", a="1000"),
        ],
    )
    assert got["B"].paid("basic") == y("7050")  # first admission of 2025: the full 600 deductible
    assert got["O"].paid("basic") == got["Q"].paid("basic") == y("400")  # the limit is yearly


def test_class_b_first_pay_rounds_half_up_to_the_fen(city: Scheme) -> None:
    got = settle_both(city, [person("P")], [claim("A", "P", "2024-02-01", 1, "outpatient", b="0.05")])
    assert got["A"].preselfpay_amt == 1  # 10% of 5 fen = 0.5 fen -> 1 fen
    assert got["A"].inscp_scp_amt == 4
    assert got["A"].paid("basic") == 2  # 60% of 4 fen = 2.4 fen -> 2 fen
