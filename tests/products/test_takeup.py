"""Take-up model on a small synthetic city: calibration reached, the printed figures recomputed from the years,
shares within [0, 1], premiums never negative, the same seed gives the same years."""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.lab.synth import contract_claims, contract_persons, synthesize
from yibao.lab.takeup import (
    SHANGHAI_ELIGIBLE,
    Pool,
    Settings,
    build_pool,
    calibrate,
    figures,
    product_scheme,
    simulate,
    years_frame,
)
from yibao.products import ProductError, load_product
from yibao.schemes import load_scheme

PRODUCT = load_product("shanghai-huhuibao-2021")


@pytest.fixture(scope="module")
def pool() -> Pool:
    city = synthesize(6_000, 2024, 3)
    return build_pool(load_scheme("reference-city"), PRODUCT, contract_persons(city.persons), contract_claims(city.claims))


@pytest.fixture(scope="module")
def calibrated(pool: Pool) -> Settings:
    return calibrate(pool, PRODUCT, Settings(years=4, seed=5))


def test_pool_benefits_come_from_the_settlement(pool: Pool) -> None:
    # The product layer follows the public layers only; nobody's benefit is negative, some people claim.
    scheme = product_scheme(load_scheme("reference-city"), PRODUCT)
    assert scheme.layer_ids == ("basic", "large_amount_subsidy", "serious_illness", "assistance", "huhuibao")
    assert (pool.benefit_fen >= 0).all() and (pool.benefit_fen > 0).any()
    assert ((pool.claims > 0) == (pool.benefit_fen > 0)).all()


def test_calibrated_first_year_and_figures_recomputed(pool: Pool, calibrated: Settings) -> None:
    years = simulate(pool, PRODUCT, calibrated)
    first, second, fourth = years[0], years[1], years[3]
    assert first.takeup == pytest.approx(0.385, abs=0.005)
    assert first.loss_ratio == pytest.approx(0.88, abs=0.01)
    assert first.premium_fen == 11_500
    table = {f.name: f for f in figures(years)}
    # Recompute each printed model figure from the model's output.
    assert table["Huhuibao 2021 take-up"].model == first.members / first.eligible
    assert table["Huhuibao 2021 loss ratio"].model == first.claims_paid_fen / (first.premium_fen * first.members)
    assert table["Huhuibao 2022 premium"].model == Decimal(second.premium_fen) / 100
    assert table["Huhuibao 2022 insured (M)"].model == pytest.approx(second.members / second.eligible * SHANGHAI_ELIGIBLE / 1e6)
    assert table["Huhuibao mid-2024 insured (M)"].model == pytest.approx(fourth.members / fourth.eligible * SHANGHAI_ELIGIBLE / 1e6)
    assert table["Huhuibao 2022 insured (M)"].held_out and not table["Huhuibao 2021 take-up"].held_out
    frame = years_frame(years)
    assert frame["members"].to_list() == [y.members for y in years]
    # Premium and claims recomputed from the members and the pool's (scaled) benefits.
    assert frame["premium_income"].to_list()[0] == Decimal(first.premium_fen * first.members) / 100
    # Next year's premiums: a price index = this year's x loss ratio / 80% (rounded to the ppm, within ±30%),
    # times year one's premium, rounded to the yuan.
    ratio = Decimal(first.claims_paid_fen) / first.premium_income_fen / Decimal("0.8")
    index = min(max((ratio * 1_000_000).quantize(Decimal(1), ROUND_HALF_UP), Decimal(700_000)), Decimal(1_300_000))
    assert second.premium_fen == int((Decimal(115) * index / 1_000_000).quantize(Decimal(1), ROUND_HALF_UP)) * 100


def test_shares_premiums_and_same_seed(pool: Pool, calibrated: Settings) -> None:
    years = simulate(pool, PRODUCT, calibrated)
    for y in years:
        for share in (y.takeup, y.mutual_aid_share, *y.by_quintile, *y.by_age_band, *y.by_pre_existing):
            assert 0.0 <= share <= 1.0
        assert y.premium_fen >= 0 and y.claims_paid_fen >= 0 and y.members <= y.eligible
    assert simulate(pool, PRODUCT, calibrated) == years
    other = simulate(pool, PRODUCT, dataclasses.replace(calibrated, seed=6))
    assert other != years


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_premium_never_negative_under_extreme_coefficients(pool: Pool, seed: int) -> None:
    choice = dataclasses.replace(Settings().choice, intercept=float(seed * 4 - 8), renew=-3.0)
    years = simulate(pool, PRODUCT, Settings(years=6, seed=seed, choice=choice, cost_level_ppm=seed * 2_000_000))
    assert all(y.premium_fen >= 0 and 0 <= y.takeup <= 1 for y in years)
    assert all(np.isfinite(y.loss_ratio) for y in years)


def test_cli_prints_and_writes(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["lab", "takeup", "--people", "4000", "--years", "2", "--out", str(tmp_path)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Huhuibao 2022 premium" in result.output and "held out" in result.output
    written = pl.read_csv(tmp_path / "figures.csv")
    assert written.filter(pl.col("figure") == "Huhuibao 2021 take-up")["held_out"].to_list() == [False]
    assert pl.read_csv(tmp_path / "years.csv").height == 2
    zh = CliRunner().invoke(app, ["lab", "takeup", "--people", "4000", "--years", "1", "--lang", "zh"],
                            env={"COLUMNS": "200"})
    assert zh.exit_code == 0 and "沪惠保 2021 参保率" in zh.output


def test_cli_on_files_of_yibao_synth(tmp_path: Path) -> None:
    runner = CliRunner()
    city = tmp_path / "city"
    result = runner.invoke(app, ["synth", "--people", "3000", "--year", "2024", "--seed", "2", "--out", str(city),
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = runner.invoke(app, ["lab", "takeup", "--persons", str(city / "persons.csv"), "--claims",
                                 str(city / "claims.csv"), "--years", "2", "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    years = pl.read_csv(out / "years.csv")
    assert years["eligible"].to_list()[0] > 2_500 and 0.37 < years["takeup"].to_list()[0] < 0.40


def test_product_without_indemnity_is_refused_clearly() -> None:
    with pytest.raises(ProductError, match="no indemnity benefit"):
        product_scheme(load_scheme("reference-city"), load_product("rural-small-value"))


def test_age_rated_product_and_anchor_calibration(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["lab", "takeup", "--product", "million-medical", "--people", "4000", "--years",
                                      "2", "--out", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    names = pl.read_csv(tmp_path / "figures.csv")["figure"].to_list()
    assert names and not any(name.startswith("Huhuibao") for name in names)
    years = pl.read_csv(tmp_path / "years.csv")
    # Ages 0-65 only; premiums by band, so the premium per member lies within the band table.
    assert years["eligible"][0] < 4000 and 66 <= float(years["premium"][0]) <= 1396


def test_excluded_pre_existing_pays_nothing_to_those_with_a_condition(pool: Pool) -> None:
    million = load_product("million-medical")
    city = synthesize(6_000, 2024, 3)
    excluded = build_pool(load_scheme("reference-city"), million, contract_persons(city.persons),
                          contract_claims(city.claims))
    assert (excluded.benefit_fen[excluded.pre_existing] == 0).all()
    assert (excluded.benefit_fen > 0).any() and (~excluded.eligible).any()
    ages = excluded.age
    assert excluded.base_premium_fen[ages == 35].tolist() == [19_600] * int((ages == 35).sum())
