"""Scheme and reform files: loaded exactly, refused clearly."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
import yaml

import yibao.api
from tests.core.helpers import claim, person, settle_both, y
from yibao.core.errors import SchemeError
from yibao.core.scheme import Dimension, LayerKind, PersonAmount
from yibao.schemes import BUILTIN_DIR, builtin_schemes, load_scheme

EXAMPLES = BUILTIN_DIR / "reference-city" / "examples"


def test_reference_city_is_built_in_with_every_figure() -> None:
    assert [info.name for info in builtin_schemes()] == ["reference-city"]
    city = load_scheme("reference-city")
    assert city.layer_ids == (
        "basic", "large_amount_subsidy", "serious_illness", "assistance", "huiminbao", "individual_account"
    )
    si = city.layer("serious_illness").parts[0]
    day = date(2024, 1, 1)
    assert si.deductible is not None and si.cap is not None
    assert si.deductible.at(day, "none") == y("15000") and si.deductible.at(day, "dibao") == y("7500")
    assert si.cap.at(day, "none") == y("400000") and si.cap.at(day, "extreme_poor") is None
    assert [b.rate for b in si.rate.at(day)] == [600_000, 700_000, 800_000]
    assert si.rate.reference and si.deductible.unit.value == "yuan"
    basic = {p.id: p for p in city.layer("basic").parts}
    assert basic["urrbmi_inpatient"].deductible is not None
    assert basic["urrbmi_inpatient"].deductible.by is Dimension.FACILITY_LEVEL
    assert city.preselfpay_rate.at(day) == 100_000
    assert si.cap_raise is PersonAmount.SERIOUS_ILLNESS_CAP_RAISE  # 国办发〔2024〕38号
    subsidy = city.layer("large_amount_subsidy").parts[0]
    assert subsidy.base.plus == ("basic.beyond_cap",) and subsidy.cap is not None
    assert subsidy.rate.at(day)[0].rate == 900_000 and subsidy.cap.at(day) == y("400000")
    account = city.layer("individual_account")
    assert account.kind is LayerKind.INDIVIDUAL_ACCOUNT
    assert account.parts[0].cap_person is PersonAmount.INDIVIDUAL_ACCOUNT_BALANCE and account.parts[0].cap is None
    assert "huiminbao.in_catalogue" in account.parts[0].base.minus


def _copy_city(tmp_path: Path) -> Path:
    folder = tmp_path / "city"
    shutil.copytree(BUILTIN_DIR / "reference-city", folder)
    return folder


def _rewrite(path: Path, edit: object) -> None:
    data = yaml.safe_load(path.read_text())
    edit(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


@pytest.mark.parametrize(
    ("file", "edit", "expected"),
    [
        ("basic.yaml", lambda d: d["parts"][0]["rate"]["values"].update({"2024-01-01": {1: "x", 2: "0.7", 3: "0.6"}}),
         "parts.0.rate.values"),
        ("basic.yaml", lambda d: d["parts"][0]["deductible"]["values"].update({date(2024, 1, 1): {1: 200, 2: 600}}),
         "missing ['3']"),
        ("serious_illness.yaml", lambda d: d["parts"][0].update({"accumulation": "monthly"}),
         "parts.0.accumulation: expected one of"),
        ("serious_illness.yaml", lambda d: d["parts"][0]["base"].update({"minus": ["huiminbao"]}),
         "an earlier layer"),
        ("huiminbao.yaml", lambda d: d["parts"][0]["rate"].update({"unit": "yuan"}), "expected unit 'rate'"),
        ("assistance.yaml", lambda d: d["parts"][0].update({"colour": "red"}), "unknown key(s) ['colour']"),
        ("assistance.yaml", lambda d: d["parts"][0]["cap"]["values"].update({date(2024, 1, 1): 12.345}),
         "at most two decimals"),
    ],
)
def test_bad_scheme_files_name_file_key_path_and_expectation(tmp_path: Path, file: str, edit: object, expected: str) -> None:
    folder = _copy_city(tmp_path)
    _rewrite(folder / file, edit)
    with pytest.raises(SchemeError) as info:
        load_scheme(folder)
    assert file in str(info.value) and expected in str(info.value)


def test_dated_values_apply_from_their_date(tmp_path: Path) -> None:
    folder = _copy_city(tmp_path)
    _rewrite(
        folder / "basic.yaml",
        lambda d: d["parts"][0]["rate"]["values"].update({date(2024, 7, 1): {1: "0.90", 2: "0.80", 3: "0.70"}}),
    )
    city = load_scheme(folder)
    got = settle_both(
        city,
        [person("A"), person("B")],
        [claim("X", "A", "2024-06-30", 2, a="10000"), claim("Y", "B", "2024-07-01", 2, a="10000")],
    )
    assert got["X"].paid("basic") == y("7050")  # 75% until 30 June
    assert got["Y"].paid("basic") == y("7520")  # 80% from 1 July


def test_reform_overlay_changes_parameters_and_layers(tmp_path: Path) -> None:
    reformed = load_scheme("reference-city", ["si-threshold-halved"])
    assert reformed.reforms == ("si-threshold-halved",)
    got = settle_both(reformed, [person("P")], [claim("A", "P", "2024-03-01", 3, a="60000")])
    # basic 38025; SI base 21975 above the halved 7500 threshold at 60% + 10 points
    assert got["A"].paid("serious_illness") == y("10132.50")  # (21975 - 7500) x 70%
    reform = tmp_path / "no-hmb.yaml"
    reform.write_text(
        "reform: no-huiminbao\ntitle: {en: Without Huiminbao, zh: 无惠民保}\nchanges:\n  - remove_layer: huiminbao\n"
    )
    without = load_scheme("reference-city", [reform])
    assert without.layer_ids == ("basic", "large_amount_subsidy", "serious_illness", "assistance", "individual_account")
    # a removed layer pays nothing: the account's base no longer subtracts Huiminbao's in-catalogue part
    assert without.layer("individual_account").parts[0].base.minus == (
        "basic", "large_amount_subsidy", "serious_illness", "assistance"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("reform: x\ntitle: {en: x, zh: x}\nchanges:\n  - set: basic.nope.rate\n    values: {2024-01-01: 0.5}\n")
    with pytest.raises(SchemeError, match="a part of layer 'basic'"):
        load_scheme("reference-city", [broken])


def test_unknown_scheme_name_lists_the_built_in_ones() -> None:
    with pytest.raises(SchemeError, match="reference-city"):
        load_scheme("atlantis")


def test_python_api_accepts_polars_pandas_and_arrow() -> None:
    persons = pl.read_csv(EXAMPLES / "persons.csv", infer_schema=False)
    claims = pl.read_csv(EXAMPLES / "claims.csv", infer_schema=False)
    out = yibao.api.settle("reference-city", persons, claims)
    assert isinstance(out, pl.DataFrame) and out.height == claims.height
    as_pandas = yibao.api.settle("reference-city", persons.to_pandas(), claims.to_pandas())
    assert isinstance(as_pandas, pd.DataFrame)
    as_arrow = yibao.api.settle("reference-city", persons.to_arrow(), claims.to_arrow())
    assert pl.from_arrow(as_arrow).equals(out)  # type: ignore[union-attr]
    explanation = yibao.api.explain_claim("reference-city", persons, claims, "B0002", lang="zh")
    assert explanation.claim_id == "B0002" and "基本医疗保险" in explanation.text()
    assert explanation.to_dict()["out_of_pocket"] == out.filter(pl.col("claim_id") == "B0002")["out_of_pocket"].cast(str)[0]
