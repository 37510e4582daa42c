"""The take-up lab with mutual aid's closure and each person's protection across all layers (issue 20.4/20.5):
the free-year rule by hand, converted members and their renewal, the same seed giving the same years, shares in
[0, 1], and the catastrophic-spending shares recomputed independently from the model's per-person output."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.lab.protection import SCENARIOS, che_keys
from yibao.lab.synth import contract_claims, contract_persons, synthesize
from yibao.lab.takeup import Choice, MutualAidChoice, Pool, Settings, build_pool, calibrate, simulate, simulate_people
from yibao.mutual_aid.plan import load_plan
from yibao.products import load_product
from yibao.schemes import load_scheme

PRODUCT = load_product("shanghai-huhuibao-2021")  # year 2021, 115 yuan flat
CLOSES = 2022


@pytest.fixture(scope="module")
def city() -> tuple[Pool, pl.DataFrame]:
    town = synthesize(6_000, 2024, 3)
    claims = contract_claims(town.claims)
    return build_pool(load_scheme("reference-city"), PRODUCT, contract_persons(town.persons), claims), claims


@pytest.fixture(scope="module")
def calibrated(city: tuple[Pool, pl.DataFrame]) -> Settings:
    return calibrate(city[0], PRODUCT, Settings(years=4, seed=5, closure_year=CLOSES))


def test_free_first_year_take_up_by_hand() -> None:
    """20,000 identical people, all mutual-aid members in 2021 (intercept 50); the plan closes before 2022. The offer
    is taken with p = 1 / (1 + e^-V), V = b0 + 0.6 ln(E / 1 yuan) (no burden at a zero premium): b0 = -3, E = 100
    yuan -> V = -3 + 0.6 ln 100 = -0.2369, p = 0.4411; every other term is set to zero."""
    n = 20_000
    pool = Pool(person_id=np.array([f"P{i}" for i in range(n)]), age=np.full(n, 30), income_yuan=np.full(n, 50_000.0),
                pre_existing=np.zeros(n, dtype=bool), rural=np.zeros(n, dtype=bool), eligible=np.ones(n, dtype=bool),
                oop_fen=np.zeros(n, dtype=np.int64), benefit_fen=np.full(n, 10_000, dtype=np.int64),
                claims=np.ones(n, dtype=np.int64), base_premium_fen=np.full(n, 11_500, dtype=np.int64),
                income_fen=np.full(n, 5_000_000, dtype=np.int64), lump_fen=np.zeros(n, dtype=np.int64))
    choice = Choice(intercept=-3.0, pre_existing=0.0, age_decade=0.0, own_oop=0.0, renew=0.0, experience=0.0)
    settings = Settings(years=2, seed=3, choice=choice, mutual_aid=MutualAidChoice(intercept=50.0, age_decade=0.0,
                                                                                  log_income=0.0), closure_year=CLOSES)
    first, second = simulate(pool, PRODUCT, settings)
    assert first.mutual_aid_members == n and first.converted == 0
    p = 1 / (1 + math.exp(-(-3 + 0.6 * math.log(100))))
    assert round(p, 4) == 0.4411
    assert second.mutual_aid_members == 0 and abs(second.converted / n - p) < 0.015  # 4 standard errors
    # 2021's loss ratio 100 / 115 = 86.96% over the 80% target: 115 x 1.0870 = 125 yuan in 2022, which the platform pays
    assert second.premium_fen == 12_500 and second.platform_paid_fen == second.converted * 12_500


def test_converted_members_and_their_renewal(city: tuple[Pool, pl.DataFrame], calibrated: Settings) -> None:
    years, people = simulate_people(city[0], PRODUCT, calibrated)
    assert [y.year for y in years] == [2021, 2022, 2023, 2024]
    by_year = {y.year: y for y in years}
    assert by_year[2021].mutual_aid_members > 0 and all(by_year[t].mutual_aid_members == 0 for t in (2022, 2023, 2024))
    assert 0 < by_year[2022].converted <= by_year[2021].mutual_aid_members
    assert [by_year[t].converted for t in (2021, 2023, 2024)] == [0, 0, 0]
    assert 0 < by_year[2023].converted_renewed <= by_year[2022].converted and by_year[2024].converted_renewed == 0
    # recomputed from the per-person output: converted are last year's members, and renewal is holding again
    rows = {t: people.filter(pl.col("year") == t) for t in (2021, 2022, 2023)}
    converted = rows[2022]["converted"].to_numpy()
    assert int(converted.sum()) == by_year[2022].converted
    assert not (converted & ~rows[2021]["mutual_aid_member"].to_numpy()).any()
    assert int((converted & rows[2023]["holds_product"].to_numpy()).sum()) == by_year[2023].converted_renewed
    assert by_year[2022].platform_paid_fen == by_year[2022].converted * by_year[2022].premium_fen  # a flat premium
    assert simulate(city[0], PRODUCT, calibrated) == years  # same seed, same years
    assert simulate(city[0], PRODUCT, dataclasses.replace(calibrated, seed=6)) != years
    # no closure: nobody is converted, mutual aid goes on
    assert all(y.converted == 0 and y.mutual_aid_members > 0
               for y in simulate(city[0], PRODUCT, dataclasses.replace(calibrated, closure_year=None)))


def test_protection_recomputed_from_the_per_person_output(city: tuple[Pool, pl.DataFrame], calibrated: Settings) -> None:
    pool, claims = city
    years, people = simulate_people(pool, PRODUCT, dataclasses.replace(calibrated, closure_year=None))
    plan = load_plan("xianghubao-2020")
    amounts = {b.amount for b in plan.payouts}
    covered = set(claims.filter(pl.col("diagnosis").map_elements(lambda d: plan.covered_illness(str(d)) is not None,
                                                                 return_dtype=pl.Boolean))["person_id"].to_list())
    for y in years:
        rows = people.filter(pl.col("year") == y.year)
        fen = {c: (rows[c].cast(pl.Float64) * 100).round().cast(pl.Int64).to_numpy()
               for c in ("annual_income", "oop_public", "product_paid", "mutual_aid_paid")}
        holders, members = rows["holds_product"].to_numpy(), rows["mutual_aid_member"].to_numpy()
        assert not ((fen["product_paid"] > 0) & ~holders).any() and not ((fen["mutual_aid_paid"] > 0) & ~members).any()
        paid_ids = set(rows.filter(pl.col("mutual_aid_paid") > 0)["person_id"].to_list())
        assert paid_ids <= covered and set(fen["mutual_aid_paid"][fen["mutual_aid_paid"] > 0].tolist()) <= amounts
        assert int(holders.sum()) == y.members and int(members.sum()) == y.mutual_aid_members
        expected = []
        for t in (10, 25):
            for s in SCENARIOS:
                net = fen["oop_public"].copy()
                if s in ("product", "both"):
                    net = net - fen["product_paid"]
                if s in ("mutual_aid", "both"):
                    net = net - fen["mutual_aid_paid"]
                net = np.clip(net, 0, None)
                income = fen["annual_income"]
                # docs/lab.md: OOP above t% of income, strictly; a person without income is catastrophic if paying
                flag = [n * 100 > i * t if i else n > 0 for n, i in zip(net.tolist(), income.tolist(), strict=True)]
                expected.append(sum(flag) / rows.height)
        assert y.catastrophic == pytest.approx(expected, abs=1e-12)
        shares = dict(zip(che_keys(), y.catastrophic, strict=True))
        assert all(0.0 <= v <= 1.0 for v in shares.values())
        for t in (10, 25):  # every payment can only lower it
            assert shares[f"che{t}_both"] <= shares[f"che{t}_product"] <= shares[f"che{t}_public"]
            assert shares[f"che{t}_both"] <= shares[f"che{t}_mutual_aid"] <= shares[f"che{t}_public"]
        assert shares["che10_product"] < shares["che10_public"]  # Huiminbao lowers it on this city


def test_cli_writes_the_closure_and_the_protection(tmp_path: Path) -> None:
    out = tmp_path / "takeup"
    result = CliRunner().invoke(app, ["lab", "takeup", "--people", "2000", "--years", "3", "--mutual-aid-closes", "2022",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "converted" in result.output and "+ mutual aid" in result.output
    years = pl.read_csv(out / "years.csv")
    assert {"converted", "converted_renewed", "platform_paid", *che_keys()} <= set(years.columns)
    people = pl.read_parquet(out / "people.parquet")
    assert people.height == 3 * 2000 and years["converted"].to_list()[1] == int(people.filter(pl.col("year") == 2022)["converted"].sum())
    zh = CliRunner().invoke(app, ["lab", "takeup", "--people", "2000", "--years", "1", "--lang", "zh"])
    assert zh.exit_code == 0 and "灾难性医疗支出" in zh.output
