"""`yibao settle --policies` and cover dates in the persons table, end to end.

Hand-computed (reference city 2024): 1,000 yuan of special drugs alone are outside the public layers' base;
Shanghai Huhuibao pays 70% of them (700) under a policy in force, the city's own Huiminbao 80% (800). A resident's
10,000 yuan of class A items at a level-1 hospital: basic insurance pays (10,000 - 200) x 85% = 8,330.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import yibao
from yibao.cli.main import app
from yibao.core.errors import InputError

runner = CliRunner()
PERSONS = """person_id,birth_date,sex,region,scheme,assistance_category,huiminbao,pre_existing,annual_income,cover_start,cover_end
P1,1970-06-01,F,reference-city,urrbmi,none,false,false,30000.00,,
P2,1980-01-01,M,reference-city,urrbmi,none,true,false,30000.00,2024-04-01,
P3,1990-01-01,F,reference-city,urrbmi,none,false,false,30000.00,,2024-06-30
"""
CLAIMS = """claim_id,person_id,service_date,region,facility_level,care_type,amount_class_a,amount_class_b,amount_self_pay,amount_special_drugs,diagnosis
C1,P1,2024-03-01,reference-city,1,outpatient,0,0,0,1000.00,C50.9
C2,P1,2024-09-01,reference-city,1,outpatient,0,0,0,1000.00,C50.9
C3,P2,2024-03-31,reference-city,1,inpatient,10000.00,0,0,1000.00,I63.9
C4,P2,2024-04-01,reference-city,1,inpatient,10000.00,0,0,0,I63.9
C5,P3,2024-07-01,reference-city,1,inpatient,10000.00,0,0,1000.00,I63.9
"""
POLICIES = """policy_id,person_id,product,start_date,end_date
H1,P1,shanghai-huhuibao-2021,2024-01-01,2024-06-30
H2,P3,shanghai-huhuibao-2021,2024-01-01,2024-12-31
H3,P3,huiminbao,2024-07-01,2024-12-31
"""


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    for name, text in (("persons.csv", PERSONS), ("claims.csv", CLAIMS), ("policies.csv", POLICIES)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def settle(folder: Path, *extra: str, out: str = "out.csv") -> object:
    args = ["settle", "--scheme", "reference-city", "--persons", str(folder / "persons.csv"),
            "--claims", str(folder / "claims.csv"), "--out", str(folder / out), *extra]  # fmt: skip
    return runner.invoke(app, args)


def test_policies_add_the_products_layer_and_pay_only_in_force(folder: Path) -> None:
    result = settle(folder, "--policies", str(folder / "policies.csv"))
    assert result.exit_code == 0, result.output
    out = pl.read_csv(folder / "out.csv", infer_schema=False)
    assert out.columns == ["claim_id", "paid_basic", "paid_large_amount_subsidy", "paid_serious_illness",
                           "paid_assistance", "paid_huiminbao", "paid_huhuibao", "paid_individual_account",
                           "out_of_pocket"]  # fmt: skip
    rows = {row["claim_id"]: row for row in out.iter_rows(named=True)}
    assert (rows["C1"]["paid_huhuibao"], rows["C1"]["out_of_pocket"]) == ("700.00", "300.00")  # in force
    assert (rows["C2"]["paid_huhuibao"], rows["C2"]["out_of_pocket"]) == ("0.00", "1000.00")  # expired
    # P2: flagged huiminbao (all year), public cover from 1 April: nothing public the day before, 8,330 on the day
    assert (rows["C3"]["paid_basic"], rows["C3"]["paid_huiminbao"]) == ("0.00", "800.00")
    assert rows["C4"]["paid_basic"] == "8330.00"
    # P3: public cover ended 30 June; the city's Huiminbao under a policy from 1 July pays 800 of the drugs, and
    # Huhuibao 700 of them (each product's base names the public layers only; the two are bounded by the bill,
    # 11,000, not by each other), its in-catalogue part below its 20,000 deductible: 11,000 - 1,500 = 9,500
    c5 = rows["C5"]
    assert (c5["paid_basic"], c5["paid_huiminbao"], c5["paid_huhuibao"], c5["out_of_pocket"]) == (
        "0.00", "800.00", "700.00", "9500.00")
    # the scalar reference path and the batch path agree
    assert settle(folder, "--policies", str(folder / "policies.csv"), "--engine", "scalar", out="s.csv").exit_code == 0
    assert pl.read_csv(folder / "s.csv", infer_schema=False).equals(out)


def test_the_explanation_says_why_a_layer_did_not_pay(folder: Path) -> None:
    args = ["settle", "--scheme", "reference-city", "--persons", str(folder / "persons.csv"), "--claims",
            str(folder / "claims.csv"), "--policies", str(folder / "policies.csv"), "--explain", "C2", "--lang", "zh"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "■ 沪惠保: 本层支付 0.00元（沪惠保保单已到期：保障于 2024-06-30 终止）" in result.output
    args[-4:] = ["--explain", "C3", "--lang", "en"]
    result = runner.invoke(app, args)
    assert "■ Basic medical insurance: layer pays 0.00 yuan (not covered on this day: cover starts 2024-04-01)" \
        in result.output, result.output


def test_without_policies_the_product_layers_are_not_added(folder: Path) -> None:
    assert settle(folder).exit_code == 0
    out = pl.read_csv(folder / "out.csv", infer_schema=False)
    assert "paid_huhuibao" not in out.columns
    assert out.filter(pl.col("claim_id") == "C1")["paid_huiminbao"].to_list() == ["0.00"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("H9,P1,no-such-product,2024-01-01,2024-12-31", "policies.csv, line 5, column 'product'"),
        ("H9,P9,shanghai-huhuibao-2021,2024-01-01,2024-12-31", "policies.csv, line 5, column 'person_id'"),
        ("H9,P1,shanghai-huhuibao-2021,2024-06-01,2024-12-31", "policies.csv, line 5, column 'start_date'"),
    ],
)
def test_bad_policies_are_refused_naming_file_line_and_column(folder: Path, row: str, message: str) -> None:
    (folder / "policies.csv").write_text(POLICIES + row + "\n", encoding="utf-8")
    result = settle(folder, "--policies", str(folder / "policies.csv"))
    assert result.exit_code != 0
    assert message in result.output.replace("\n", " ") or message in str(result.exception)
    assert not (folder / "out.csv").exists()


def test_a_cover_end_before_its_start_is_refused(folder: Path) -> None:
    (folder / "persons.csv").write_text(PERSONS.replace("2024-04-01,", "2024-04-01,2024-03-01"), encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3.*cover_end"):
        yibao.tables.read_persons(folder / "persons.csv")


def test_the_api_takes_policies_too(folder: Path) -> None:
    persons, claims = pl.read_csv(folder / "persons.csv"), pl.read_csv(folder / "claims.csv")
    policies = pl.read_csv(folder / "policies.csv")
    out = yibao.settle("reference-city", persons, claims, policies=policies)
    assert str(out.filter(pl.col("claim_id") == "C1")["paid_huhuibao"][0]) == "700.00"
    text = yibao.explain_claim("reference-city", persons, claims, "C2", policies=policies).text()
    assert "Huhuibao policy no longer in force: it ended 2024-06-30" in text
