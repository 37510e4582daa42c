"""Cover in force on the service date: public cover dates and private policies, hand-computed on the reference city.

Figures (reference city 2024, residents, level-1 hospital, inpatient): basic insurance pays 85% above a 200-yuan
deductible, halved (100) from the second admission of the year; 10,000 yuan of class A items then pay
(10,000 - 200) x 85% = 8,330, or (10,000 - 100) x 85% = 8,415 on a second admission. Special drugs alone are
outside the basic layers' base; the scheme's Huiminbao pays 80% of them without deductible (1,000 -> 800),
Shanghai Huhuibao 70% (1,000 -> 700).
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from tests.core.helpers import claim, person, settle_both, y
from yibao.core.explain import explain
from yibao.core.model import PolicyCover
from yibao.core.scalar import settle_claims
from yibao.core.scheme import Scheme
from yibao.products import load_product, with_products
from yibao.schemes import load_scheme

CITY = load_scheme("reference-city")
HUHUIBAO = load_product("shanghai-huhuibao-2021")
WITH_HUHUIBAO = with_products(CITY, [HUHUIBAO])


def settle(scheme: Scheme, who: object, *bills: object) -> dict[str, object]:
    """Settled by the scalar path, every engine checked to give the same fen (settle_both)."""
    return settle_both(scheme, [who], list(bills))  # type: ignore[list-item,return-value]


def test_a_claim_the_day_before_cover_starts_pays_no_public_layer_and_says_why() -> None:
    waiting = dataclasses.replace(person("P1"), cover_start=date(2024, 4, 1))
    before = claim("C1", "P1", "2024-03-31", 1, a="10000")
    first_day = claim("C2", "P1", "2024-04-01", 1, a="10000")
    settled = settle(CITY, waiting, before, first_day)
    s1, s2 = settled["C1"], settled["C2"]
    assert [layer.paid for layer in s1.layers] == [0, 0, 0, 0]  # type: ignore[attr-defined]
    assert s1.out_of_pocket == y("10000")  # type: ignore[attr-defined]
    # the claim before cover was not seen by the basic layer: the first day's claim is the year's first
    # admission (deductible 200, not the second admission's 100)
    assert s2.paid("basic") == y("8330")  # type: ignore[attr-defined]
    en = explain(s1, CITY, "en").to_dict()  # type: ignore[arg-type]
    zh = explain(s1, CITY, "zh").to_dict()  # type: ignore[arg-type]
    for data, text in ((en, "not covered on this day: cover starts 2024-04-01"), (zh, "未在参保期内：待遇自 2024-04-01 起")):
        basic = data["layers"][0]  # type: ignore[index]
        assert basic["reasons"] == [{"code": "cover_not_started", "text": text}]
        assert text in explain(s1, CITY, data["lang"]).text()  # type: ignore[arg-type]
    # Huiminbao is private: the person holds none, and says so
    assert en["layers"][3]["reasons"][0]["code"] == "no_policy"  # type: ignore[index]


def test_a_claim_after_cover_ended_pays_no_public_layer() -> None:
    left = dataclasses.replace(person("P1"), cover_end=date(2024, 6, 30))
    settled = settle(CITY, left, claim("C1", "P1", "2024-06-30", 1, a="10000"), claim("C2", "P1", "2024-07-01", 1, a="10000"))
    assert settled["C1"].paid("basic") == y("8330")  # type: ignore[attr-defined]
    assert settled["C2"].paid("basic") == 0  # type: ignore[attr-defined]
    text = explain(settled["C2"], CITY, "en").text()  # type: ignore[arg-type]
    assert "not covered on this day: cover ended 2024-06-30" in text


def test_without_cover_dates_a_person_is_covered_every_day_as_before() -> None:
    settled = settle(CITY, person("P1"), claim("C1", "P1", "2024-01-01", 1, a="10000"), claim("C2", "P1", "2024-12-31", 1, a="10000"))
    assert settled["C1"].paid("basic") == y("8330") and settled["C2"].paid("basic") == y("8415")  # type: ignore[attr-defined]


def holder(*policies: PolicyCover, huiminbao: bool = False) -> object:
    return dataclasses.replace(person("P1", huiminbao=huiminbao), policies=policies)


DRUGS = ("2024-06-15", 1)


@pytest.mark.parametrize(
    ("start", "end", "paid", "code"),
    [
        (date(2024, 1, 1), date(2024, 12, 31), "700", None),  # in force
        (date(2024, 6, 15), date(2024, 6, 15), "700", None),  # in force on its first and last day
        (date(2023, 6, 1), date(2024, 5, 31), "0", "policy_ended"),  # expired
        (date(2024, 7, 1), date(2025, 6, 30), "0", "policy_not_started"),  # not yet started
    ],
)
def test_a_product_pays_only_under_a_policy_in_force(start: date, end: date, paid: str, code: str | None) -> None:
    who = holder(PolicyCover("shanghai-huhuibao-2021", start, end))
    s = settle(WITH_HUHUIBAO, who, claim("C1", "P1", *DRUGS, special="1000"))["C1"]
    assert s.paid("huhuibao") == y(paid)  # type: ignore[attr-defined]
    assert s.paid("huiminbao") == 0  # type: ignore[attr-defined]  # the scheme's own product is not held
    assert s.out_of_pocket == y("1000") - y(paid)  # type: ignore[attr-defined]
    reasons = explain(s, WITH_HUHUIBAO, "en").to_dict()["layers"][4]["reasons"]  # type: ignore[arg-type,index]
    assert [r["code"] for r in reasons] == ([] if code is None else [code])
    if code == "policy_ended":
        assert reasons[0]["text"] == "Huhuibao policy no longer in force: it ended 2024-05-31"
    if code == "policy_not_started":
        zh = explain(s, WITH_HUHUIBAO, "zh").to_dict()["layers"][4]["reasons"]  # type: ignore[arg-type,index]
        assert zh[0]["text"] == "沪惠保保单尚未生效：自 2024-07-01 起保障"


def test_the_huiminbao_flag_is_a_whole_year_policy_of_the_schemes_own_product() -> None:
    bills = [claim("C1", "P1", "2024-01-01", 1, special="1000"), claim("C2", "P1", "2024-12-31", 2, a="50000", special="300")]
    flagged = settle(CITY, holder(huiminbao=True), *bills)
    explicit = settle(CITY, holder(PolicyCover("huiminbao", date(2024, 1, 1), date(2024, 12, 31))), *bills)
    for cid in ("C1", "C2"):
        assert [layer.paid for layer in flagged[cid].layers] == [layer.paid for layer in explicit[cid].layers]  # type: ignore[attr-defined]
    assert flagged["C1"].paid("huiminbao") == y("800")  # type: ignore[attr-defined]
    # a policy of the scheme's own product for half the year pays only in that half
    half = settle(CITY, holder(PolicyCover("huiminbao", date(2024, 7, 1), date(2024, 12, 31))), *bills)
    assert half["C1"].paid("huiminbao") == 0 and half["C2"].paid("huiminbao") == explicit["C2"].paid("huiminbao")  # type: ignore[attr-defined]


def test_two_products_held_at_once_both_pay_and_the_bill_bounds_them() -> None:
    both = holder(PolicyCover("shanghai-huhuibao-2021", date(2024, 1, 1), date(2024, 12, 31)), huiminbao=True)
    s = settle(WITH_HUHUIBAO, both, claim("C1", "P1", *DRUGS, special="1000"))["C1"]
    # the scheme's Huiminbao pays 800 first; Huhuibao's 70% (700) is limited to the 200 left of the bill
    assert (s.paid("huiminbao"), s.paid("huhuibao"), s.out_of_pocket) == (y("800"), y("200"), 0)  # type: ignore[attr-defined]


def test_a_public_layer_may_not_belong_to_a_product() -> None:
    from yibao.core.errors import SchemeError

    basic = dataclasses.replace(CITY.layers[0], product="x")
    with pytest.raises(SchemeError, match="public"):
        dataclasses.replace(CITY, layers=(basic, *CITY.layers[1:])).check()


def test_a_products_layer_id_already_in_the_scheme_is_refused() -> None:
    from yibao.core.errors import SchemeError

    with pytest.raises(SchemeError, match="already a layer"):
        with_products(WITH_HUHUIBAO, [HUHUIBAO])


def test_settle_claims_reads_cover_from_the_person() -> None:
    # the scalar reference alone (no frames): the same figure as above
    who = dataclasses.replace(person("P1"), cover_start=date(2024, 4, 1))
    s = settle_claims(CITY, {"P1": who}, [claim("C1", "P1", "2024-03-31", 1, a="10000")])[0]
    assert s.layers[0].gap is not None and s.layers[0].gap.code == "cover_not_started"
