"""Hand-computed settlements of the reference city's UEBMI large-amount subsidy, individual account and the
per-person raise of the serious-illness cap (issue 18, items 4 and 5): scalar and batch to the fen."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.core.helpers import claim, person, settle_both, y
from yibao.core.explain import explain
from yibao.core.model import Person
from yibao.core.scheme import Scheme
from yibao.schemes import load_scheme


@pytest.fixture(scope="module")
def city() -> Scheme:
    return load_scheme("reference-city")


def with_balance(who: Person, yuan: str) -> Person:
    return replace(who, individual_account_balance=y(yuan))


def test_large_amount_subsidy_pays_beyond_the_basic_cap_crossed_mid_claim(city: Scheme) -> None:
    """An employee's three admissions at level 1 (deductible 200, halved from the second; 90%; cap 250,000).

    A: (200,000 - 200) x 90% = 179,820 basic; the cap is not reached, the subsidy pays nothing.
    B: (100,000 - 100) x 90% = 89,910 calculated, but the cap leaves 250,000 - 179,820 = 70,180.
       The cap is reached at the in-policy amount x where round(90% x (x - 100)) first reaches 70,180:
       90% x (x - 100) >= 70,179.995 gives x - 100 >= 77,977.7722..., in whole fen x = 78,077.78
       (90% x 77,977.78 = 70,180.002 -> 70,180.00; one fen less gives 70,179.99).
       Beyond the cap: 100,000 - 78,077.78 = 21,922.22; the subsidy pays 90% = 19,729.998 -> 19,730.00.
       Cash: 100,000 - 70,180 - 19,730 = 10,090.
    C: the cap was reached before: all 50,000 lies beyond it; basic 0, the subsidy 90% = 45,000.
    """
    got = settle_both(
        city,
        [person("E", "uebmi_employee")],
        [
            claim("A", "E", "2024-02-01", 1, a="200000"),
            claim("B", "E", "2024-05-01", 1, a="100000"),
            claim("C", "E", "2024-09-01", 1, a="50000"),
        ],
    )
    a, b, c = got["A"], got["B"], got["C"]
    assert (a.paid("basic"), a.paid("large_amount_subsidy")) == (y("179820"), 0)
    assert b.paid("basic") == y("70180")
    assert b.layers[0].parts[2].beyond_cap == y("21922.22")  # the UEBMI inpatient part
    assert b.paid("large_amount_subsidy") == y("19730")
    assert b.out_of_pocket == y("10090")
    assert (c.paid("basic"), c.paid("large_amount_subsidy")) == (0, y("45000"))
    assert c.out_of_pocket == y("5000")


def test_large_amount_subsidy_is_for_employees_only(city: Scheme) -> None:
    got = settle_both(
        city, [person("R")], [claim("A", "R", "2024-02-01", 1, a="200000"), claim("B", "R", "2024-03-01", 1, a="50000")]
    )
    assert got["A"].paid("basic") == y("150000")  # (200,000 - 200) x 85% = 169,830, capped at 150,000
    assert got["B"].paid("basic") == 0
    assert all(s.paid("large_amount_subsidy") == 0 for s in got.values())


def test_individual_account_pays_the_in_catalogue_personal_part_up_to_its_balance(city: Scheme) -> None:
    """An employee with 3,000 yuan in the account.

    E1 (level 2 inpatient, A 12,000, B 3,000, self-pay 600): first-pay 300, in-policy 14,700;
       basic (14,700 - 400) x 85% = 12,155; in the catalogue 15,000 - 12,155 = 2,845 is left: the account pays
       it (3,000 - 2,845 = 155 left); the 600 outside the catalogue stays cash.
    E2 (level 1 outpatient, A 900, B 300): first-pay 30, in-policy 1,170, basic 75% = 877.50;
       1,200 - 877.50 = 322.50 left, but the account holds 155: it pays 155, cash 167.50.
    E3 (outpatient, A 100): basic 75, the account is empty: 25 cash.
    """
    who = with_balance(person("E", "uebmi_employee"), "3000")
    got = settle_both(
        city,
        [who],
        [
            claim("E1", "E", "2024-03-22", 2, a="12000", b="3000", self_pay="600"),
            claim("E2", "E", "2024-09-05", 1, "outpatient", a="900", b="300"),
            claim("E3", "E", "2024-10-05", 1, "outpatient", a="100"),
        ],
    )
    assert got["E1"].paid("individual_account") == y("2845")
    assert got["E1"].out_of_pocket == y("600")
    assert got["E2"].paid("individual_account") == y("155")
    assert got["E2"].out_of_pocket == y("167.50")
    assert got["E3"].paid("individual_account") == 0
    assert got["E3"].out_of_pocket == y("25")
    part = got["E2"].layers[-1].parts[0]
    assert (part.cap, part.cap_left) == (y("3000"), 0)


def test_individual_account_comes_after_huiminbao_and_never_pays_outside_the_catalogue(city: Scheme) -> None:
    """A retiree with Huiminbao and 20,000 in the account; level 3 inpatient A 160,000, B 40,000, self-pay
    30,000, special drugs 15,000 (the example E0003): basic (196,000 - 800) x 83% = 162,016; Huiminbao's
    in-catalogue part 80% x (200,000 - 162,016 - 20,000) = 14,387.20; its outside-catalogue part 60% x
    (30,000 - 20,000) = 6,000 and its special-drugs part 80% x 15,000 = 12,000 are not in the catalogue, so the
    account's base subtracts only the in-catalogue part (`huiminbao.in_catalogue`). In the catalogue 200,000 - 162,016 - 14,387.20 = 23,596.80 is left: the account
    pays its 20,000 balance. Cash: 245,000 - 162,016 - (14,387.20 + 6,000 + 12,000) - 20,000 = 30,596.80."""
    who = with_balance(person("E", "uebmi_retiree", huiminbao=True), "20000")
    got = settle_both(city, [who], [claim("A", "E", "2024-08-12", 3, a="160000", b="40000", self_pay="30000",
                                          special="15000")])
    a = got["A"]
    assert a.paid("basic") == y("162016")
    assert a.paid("huiminbao") == y("32387.20")
    assert a.paid("individual_account") == y("20000")
    assert a.out_of_pocket == y("30596.80")


def test_no_balance_no_account_payment_and_a_resident_spends_what_a_relative_shares(city: Scheme) -> None:
    # a resident's balance is what an employee relative shares under family sharing (家庭共济): it pays their
    # personal part, 1000 - (1000 - 200) x 85% = 320
    resident = with_balance(person("R"), "5000")
    got = settle_both(city, [person("E", "uebmi_employee"), resident],
                      [claim("A", "E", "2024-03-01", 1, a="1000"), claim("B", "R", "2024-03-01", 1, a="1000")])
    assert got["A"].paid("individual_account") == 0 and got["A"].out_of_pocket == y("280")  # 1000 - 800 x 90%
    assert got["B"].paid("individual_account") == y("320") and got["B"].out_of_pocket == 0


def test_serious_illness_cap_raised_per_person(city: Scheme) -> None:
    """A resident, level 3, A 700,000: basic min((700,000 - 1,500) x 65%, 150,000) = 150,000; serious-illness base
    550,000: 60% x 35,000 + 70% x 50,000 + 80% x 450,000 = 416,000, capped at 400,000 — or, with a raise of
    2,000 for continuous enrolment, at 402,000."""
    plain, raised = person("P"), replace(person("Q"), serious_illness_cap_raise=y("2000"))
    got = settle_both(city, [plain, raised],
                      [claim("A", "P", "2024-03-01", 3, a="700000"), claim("B", "Q", "2024-03-01", 3, a="700000")])
    assert got["A"].paid("serious_illness") == y("400000")
    assert got["B"].paid("serious_illness") == y("402000")
    assert got["B"].out_of_pocket == y("148000")


def test_explanation_shows_the_account_payment_and_the_balance_left(city: Scheme) -> None:
    who = with_balance(person("E", "uebmi_employee"), "3000")
    got = settle_both(city, [who], [claim("E1", "E", "2024-03-22", 2, a="12000", b="3000", self_pay="600")])
    en = explain(got["E1"], city, "en").text()
    zh = explain(got["E1"], city, "zh").text()
    assert "■ Individual account: layer pays 2845.00 yuan" in en
    assert "yearly cap: individual account balance 3000.00 yuan, used before 0.00 yuan" in en
    assert "individual account balance after this claim 155.00 yuan" in en
    assert "■ 职工医保个人账户: 本层支付 2845.00元" in zh
    assert "结算后个人账户余额 155.00元" in zh
    assert "Out of pocket: 600.00 yuan" in en


def test_explanation_shows_what_lies_beyond_the_basic_cap_and_a_spent_balance(city: Scheme) -> None:
    who = with_balance(person("E", "uebmi_employee"), "3000")
    got = settle_both(city, [who], [claim("A", "E", "2024-02-01", 1, a="200000"),
                                    claim("B", "E", "2024-05-01", 1, a="100000")])
    en, zh = explain(got["B"], city, "en").text(), explain(got["B"], city, "zh").text()
    assert "beyond the yearly cap (封顶线以上): 21922.22 yuan" in en
    assert "base = Basic medical insurance beyond its yearly cap 21922.22 yuan = 21922.22 yuan" in en
    assert "封顶线以上部分 21922.22元" in zh and "■ 职工大额医疗补助: 本层支付 19730.00元" in zh
    # claim A spent the whole 3,000 balance (its personal part was 20,180)
    assert "yearly cap: individual account balance 3000.00 yuan, used before 3000.00 yuan" in en
    assert "■ Individual account: layer pays 0.00 yuan (no individual account balance left)" in en
    assert "个人账户余额不足" in zh
