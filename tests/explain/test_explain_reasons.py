"""Every layer that pays nothing says why, in zh and en; amounts carry 元 / yuan (figures by hand from reference-city)."""

from __future__ import annotations

import polars as pl
import pytest

import yibao
from yibao.core.explain import render_text

PERSONS = "person_id,birth_date,sex,region,scheme,assistance_category,huiminbao,pre_existing,annual_income"
CLAIMS = (
    "claim_id,person_id,service_date,region,facility_level,care_type,"
    "amount_class_a,amount_class_b,amount_self_pay,amount_special_drugs,diagnosis"
)


def frame(header: str, *rows: str) -> pl.DataFrame:
    return pl.DataFrame([dict(zip(header.split(","), row.split(","), strict=True)) for row in rows])


def explained(persons: pl.DataFrame, claims: pl.DataFrame, claim_id: str) -> tuple[dict, str, str]:
    """The English data and both texts; the reason codes are the same in either language."""
    en = yibao.explain_claim("reference-city", persons, claims, claim_id, lang="en")
    zh = yibao.explain_claim("reference-city", persons, claims, claim_id, lang="zh")
    en_data, zh_data = en.to_dict(), zh.to_dict()
    assert [codes(en_data, x["layer_id"]) for x in en_data["layers"]] == [
        codes(zh_data, x["layer_id"]) for x in zh_data["layers"]
    ]
    return en_data, en.text(), zh.text()


def layer(data: dict, layer_id: str) -> dict:
    return next(x for x in data["layers"] if x["layer_id"] == layer_id)


def codes(data: dict, layer_id: str) -> list[str]:
    return [r["code"] for r in layer(data, layer_id)["reasons"]]


PERSON = frame(PERSONS, "P1,1970-01-01,F,reference-city,urrbmi,dibao,false,false,7200.00")


def test_below_the_threshold_and_no_policy() -> None:
    # Inpatient at level 2: in-policy 26,400; basic pays 75% of (26,400 − 600) = 19,350; the serious-illness
    # base 7,050 stays below the 7,500 threshold of a dibao member; no Huiminbao policy.
    claims = frame(CLAIMS, "C1,P1,2024-03-08,reference-city,2,inpatient,21000.00,6000.00,1500.00,0.00,I63.9")
    en, en_text, zh_text = explained(PERSON, claims, "C1")
    assert layer(en, "basic")["paid"] == "19350.00" and layer(en, "basic")["reasons"] == []
    assert codes(en, "serious_illness") == ["below_deductible"] and codes(en, "huiminbao") == ["no_policy"]
    assert "■ Serious-illness insurance: layer pays 0.00 yuan (below the deductible (起付线))" in en_text
    assert "■ 大病保险: 本层支付 0.00元（未超过起付线）" in zh_text
    # Huiminbao is private: not in force for a person holding no policy of it (nor flagged `huiminbao`)
    assert "■ 惠民保: 本层支付 0.00元（未持有惠民保保单）" in zh_text and "layer pays 0.00 yuan (no Huiminbao policy held)" in en_text
    assert "年度起付线 7500.00元，起付线扣除 7050.00元" in zh_text
    assert zh_text.endswith("个人负担: 4215.00元") and en_text.endswith("Out of pocket: 4215.00 yuan")


def test_cap_reached() -> None:
    # Outpatient at level 1 pays 60% up to 400 a year: 1,000 → 400 (600 clipped), then 500 → nothing.
    person = frame(PERSONS, "P2,1980-01-01,M,reference-city,urrbmi,none,false,false,30000.00")
    claims = frame(
        CLAIMS,
        "C1,P2,2024-01-10,reference-city,1,outpatient,1000.00,0.00,0.00,0.00,J06.9",
        "C2,P2,2024-02-10,reference-city,1,outpatient,500.00,0.00,0.00,0.00,J06.9",
    )
    first, _, _ = explained(person, claims, "C1")
    assert layer(first, "basic")["paid"] == "400.00"
    en, en_text, zh_text = explained(person, claims, "C2")
    assert codes(en, "basic") == ["cap_reached"]
    assert "■ Basic medical insurance: layer pays 0.00 yuan (yearly cap (封顶线) reached)" in en_text
    assert "■ 基本医疗保险: 本层支付 0.00元（已达年度封顶线）" in zh_text
    assert "年度封顶线 400.00元，此前已用 600.00元" in zh_text  # the running total before clipping


def test_nothing_left_of_the_bill() -> None:
    # An extremely poor member: basic, serious illness and assistance (100% of the rest) pay the whole
    # 30,000 in-policy bill; Huiminbao (held) finds nothing left.
    person = frame(PERSONS, "P3,1960-01-01,F,reference-city,urrbmi,extreme_poor,true,false,3000.00")
    claims = frame(CLAIMS, "C1,P3,2024-05-01,reference-city,3,inpatient,30000.00,0.00,0.00,0.00,C34.1")
    en, en_text, zh_text = explained(person, claims, "C1")
    assert en["out_of_pocket"] == "0.00"
    assert codes(en, "huiminbao") == ["nothing_left"]
    assert "■ Huiminbao: layer pays 0.00 yuan (nothing left of the bill)" in en_text
    assert "■ 惠民保: 本层支付 0.00元（费用已由前面各层付清）" in zh_text


def test_nothing_in_the_base() -> None:
    # An outpatient bill wholly outside the catalogue: basic insurance's outpatient base (in-policy) is 0.
    person = frame(PERSONS, "P4,1990-01-01,M,reference-city,urrbmi,none,false,false,50000.00")
    claims = frame(CLAIMS, "C1,P4,2024-05-01,reference-city,1,outpatient,0.00,0.00,300.00,0.00,J06.9")
    en, en_text, zh_text = explained(person, claims, "C1")
    assert codes(en, "basic") == ["no_base"]
    assert "■ Basic medical insurance: layer pays 0.00 yuan (nothing in its base)" in en_text
    assert "■ 基本医疗保险: 本层支付 0.00元（计算基数为零）" in zh_text
    assert en_text.endswith("Out of pocket: 300.00 yuan")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_stored_dict_renders_as_the_text(lang: str) -> None:
    claims = frame(CLAIMS, "C1,P1,2024-03-08,reference-city,2,inpatient,21000.00,6000.00,1500.00,0.00,I63.9")
    explanation = yibao.explain_claim("reference-city", PERSON, claims, "C1", lang=lang)  # type: ignore[arg-type]
    assert render_text(explanation.to_dict()) == explanation.text()
    unit = "元" if lang == "zh" else " yuan"
    for line in explanation.text().splitlines():
        if line.startswith("■"):
            assert unit in line
