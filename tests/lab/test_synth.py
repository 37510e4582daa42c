"""The synthetic city: contract columns, exact amounts, determinism, and calibration to published figures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.core.helpers import assert_engines_agree
from yibao.cli.main import app
from yibao.lab.synth import (
    BLOCK_PEOPLE,
    CLAIMS_SCHEMA,
    PERSONS_SCHEMA,
    City,
    SynthError,
    iter_city,
    synthesize,
    write_city,
    write_synthetic_city,
)
from yibao.schemes import load_scheme
from yibao.tables import CLAIM_AMOUNTS, CLAIM_COLUMNS, PERSON_COLUMNS, read_claims, read_persons

YEAR = 2024
AMOUNTS = list(CLAIM_AMOUNTS.values())


@pytest.fixture(scope="module")
def city() -> City:
    """50,000 people: large enough for calibration bands a few points wide."""
    return synthesize(50_000, YEAR, seed=11)


@pytest.fixture(scope="module")
def small() -> City:
    return synthesize(2_500, YEAR, seed=3)


def _age(persons: pl.DataFrame) -> pl.Series:
    """Age in whole years on 1 January of YEAR."""
    birth = persons["birth_date"]
    new_year_baby = (birth.dt.month() == 1) & (birth.dt.day() == 1)
    return YEAR - birth.dt.year() - 1 + new_year_baby.cast(pl.Int32)


# --- shape and exactness ------------------------------------------------------------------------


def test_normalised_frames_have_the_engine_schema(small: City) -> None:
    assert small.persons.schema == PERSONS_SCHEMA
    assert small.claims.schema == CLAIMS_SCHEMA
    assert small.persons.height == 2_500
    assert small.persons["person_id"].is_unique().all()
    assert small.claims["claim_id"].is_unique().all()
    assert small.claims["person_id"].is_in(small.persons["person_id"].implode()).all()


def test_closed_sets_hold_only_contract_values(city: City) -> None:
    p, c = city.persons, city.claims
    assert set(p["sex"].unique()) == {"F", "M"}
    assert set(p["scheme"].unique()) == {"uebmi_employee", "uebmi_retiree", "urrbmi"}
    assert set(p["assistance_category"].unique()) == {"none", "extreme_poor", "dibao", "low_income"}
    assert set(c["facility_level"].unique()) == {1, 2, 3}
    assert set(c["care_type"].unique()) == {"inpatient", "outpatient"}
    assert c["diagnosis"].str.contains(r"^[A-Z]\d{2}(\.\d)?$").all()


def test_amounts_are_non_negative_fen_and_bills_are_not_empty(city: City) -> None:
    c = city.claims
    assert all((c[name] >= 0).all() for name in AMOUNTS)
    total = c.select(pl.sum_horizontal(AMOUNTS)).to_series()
    assert (total > 0).all()
    assert (city.persons["annual_income"] > 0).all()


def test_service_dates_fall_in_the_year_and_claim_ids_follow_date_order(city: City) -> None:
    c = city.claims
    assert c["service_date"].min() >= date(YEAR, 1, 1)
    assert c["service_date"].max() <= date(YEAR, 12, 31)
    by_id = c.sort("claim_id")
    step = pl.col("service_date").cast(pl.Int32).diff().over("person_id").fill_null(0)
    ordered = by_id.select((step >= 0).all()).item()
    assert ordered, "a person's claim ids count the bills in date order"


def test_ages_run_from_newborn_to_99_on_new_year() -> None:
    ages = _age(synthesize(20_000, YEAR, seed=5).persons)
    assert ages.min() == 0
    assert ages.max() <= 99


@settings(max_examples=8, deadline=None)
@given(
    people=st.integers(min_value=1, max_value=400),
    year=st.sampled_from([2023, 2024, 2100]),
    seed=st.integers(min_value=0, max_value=2**63),
)
def test_any_city_is_well_formed(people: int, year: int, seed: int) -> None:
    city = synthesize(people, year, seed)
    c = city.claims
    assert city.persons.height == people
    assert c["claim_id"].is_unique().all()
    assert c["person_id"].is_in(city.persons["person_id"].implode()).all()
    if c.height:
        assert c["service_date"].dt.year().unique().to_list() == [year]
        assert all((c[name] >= 0).all() for name in AMOUNTS)
    assert (city.persons["birth_date"] <= date(year, 1, 1)).all()


def test_every_day_of_a_leap_year_can_be_a_service_date(city: City) -> None:
    days = city.claims["service_date"]
    assert days.n_unique() == 366
    assert date(YEAR, 2, 29) in days.to_list()


def test_a_synthetic_city_settles_the_same_on_both_paths() -> None:
    """The synthetic bills through reference-city: batch path equal to the scalar reference, to the fen."""
    city = synthesize(600, YEAR, seed=21)
    scheme = load_scheme("reference-city")
    batch = assert_engines_agree(scheme, city.persons, city.claims, engines=("batch", "scalar"))
    assert (batch["out_of_pocket"] >= 0).all()
    assert batch["paid_basic"].sum() > 0


# --- determinism and chunking -------------------------------------------------------------------


def test_same_seed_same_city_other_seed_other_city(small: City) -> None:
    again = synthesize(2_500, YEAR, seed=3)
    assert again.persons.equals(small.persons)
    assert again.claims.equals(small.claims)
    other = synthesize(2_500, YEAR, seed=4)
    assert not other.claims.equals(small.claims)


def test_smaller_city_is_the_first_persons_of_a_larger_one(small: City) -> None:
    larger = synthesize(BLOCK_PEOPLE + 500, YEAR, seed=3)
    assert larger.persons.head(2_500).equals(small.persons)
    ids = small.persons["person_id"].implode()
    assert larger.claims.filter(pl.col("person_id").is_in(ids)).equals(small.claims)


def test_blocks_concatenate_to_the_whole_city() -> None:
    people = 2 * BLOCK_PEOPLE + 100
    blocks = list(iter_city(people, YEAR, seed=9))
    assert [b.persons.height for b in blocks] == [BLOCK_PEOPLE, BLOCK_PEOPLE, 100]
    whole = synthesize(people, YEAR, seed=9)
    assert pl.concat([b.claims for b in blocks]).equals(whole.claims)


def test_files_are_identical_whatever_the_write_chunking(tmp_path: Path) -> None:
    people = 2 * BLOCK_PEOPLE + 100
    one = write_synthetic_city(people, YEAR, 9, tmp_path / "one", blocks_per_write=1)
    many = write_synthetic_city(people, YEAR, 9, tmp_path / "many", blocks_per_write=3)
    for a, b in ((one.persons, many.persons), (one.claims, many.claims)):
        assert pl.read_parquet(a).equals(pl.read_parquet(b))
    csv_one = write_synthetic_city(people, YEAR, 9, tmp_path / "csv1", "csv", blocks_per_write=1)
    csv_many = write_synthetic_city(people, YEAR, 9, tmp_path / "csv3", "csv", blocks_per_write=2)
    assert csv_one.claims.read_bytes() == csv_many.claims.read_bytes()
    assert csv_one.persons.read_bytes() == csv_many.persons.read_bytes()


# --- files in the contract ----------------------------------------------------------------------

ACCOUNT_BALANCE = "individual_account_balance"


def assert_same_persons(read: pl.DataFrame, made: pl.DataFrame, raw: pl.DataFrame) -> None:
    """The reader gives the synthetic persons back to the fen, the individual-account balance included."""
    assert read.equals(made)
    balance = raw[ACCOUNT_BALANCE].cast(pl.String).str.replace(r"\.", "").cast(pl.Int64)
    assert balance.to_list() == made[ACCOUNT_BALANCE].to_list()


def test_parquet_files_hold_contract_columns_with_exact_decimals(small: City, tmp_path: Path) -> None:
    files = write_city(small, tmp_path, "parquet")
    persons, claims = pl.read_parquet(files.persons), pl.read_parquet(files.claims)
    assert persons.columns == [*PERSON_COLUMNS, ACCOUNT_BALANCE]
    assert persons.schema[ACCOUNT_BALANCE] == pl.Decimal(14, 2)
    assert claims.columns == list(CLAIM_COLUMNS)
    assert persons.schema["annual_income"] == pl.Decimal(14, 2)
    assert all(claims.schema[c] == pl.Decimal(14, 2) for c in CLAIM_AMOUNTS)
    assert claims.schema["facility_level"] == pl.Int8
    assert persons.schema["huiminbao"] == pl.Boolean
    # read back through the engine's reader: the same fen, to the last one
    assert_same_persons(read_persons(files.persons), small.persons, persons)
    assert read_claims(files.claims, small.persons).equals(small.claims)


def test_csv_files_hold_two_decimal_text_and_read_back_exactly(small: City, tmp_path: Path) -> None:
    files = write_city(small, tmp_path, "csv")
    raw = pl.read_csv(files.claims, infer_schema=False)
    assert raw.columns == list(CLAIM_COLUMNS)
    assert all(raw[c].str.contains(r"^\d+\.\d{2}$").all() for c in CLAIM_AMOUNTS)
    persons_raw = pl.read_csv(files.persons, infer_schema=False)
    assert persons_raw.columns == [*PERSON_COLUMNS, ACCOUNT_BALANCE]
    assert persons_raw[ACCOUNT_BALANCE].str.contains(r"^\d+\.\d{2}$").all()
    assert set(persons_raw["huiminbao"].unique()) <= {"true", "false"}
    assert_same_persons(read_persons(files.persons), small.persons, persons_raw)
    assert read_claims(files.claims, small.persons).equals(small.claims)


def test_cli_writes_both_formats(tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt in ("parquet", "csv"):
        out = tmp_path / fmt
        args = ["synth", "--people", "300", "--year", "2024", "--seed", "1", "--out", str(out), "--format", fmt]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        persons = read_persons(out / f"persons.{fmt}")
        assert persons.height == 300
        assert read_claims(out / f"claims.{fmt}", persons).height > 300


@pytest.mark.parametrize(
    ("people", "year", "seed", "region"),
    [(0, YEAR, 1, "reference-city"), (10, 1800, 1, "reference-city"), (10, YEAR, -1, "reference-city"),
     (10, YEAR, 1, " ")],
)  # fmt: skip
def test_bad_arguments_are_refused_with_a_stable_code(people: int, year: int, seed: int, region: str) -> None:
    with pytest.raises(SynthError) as caught:
        synthesize(people, year, seed, region)
    assert caught.value.code == "synth.invalid"


def test_out_of_area_bills_are_elsewhere_than_the_home_region() -> None:
    city = synthesize(3_000, YEAR, seed=2, region="beijing")
    assert (city.persons["region"] == "beijing").all()
    away = city.claims.filter(pl.col("region") != "beijing")
    assert away.height > 0
    assert set(away["region"].unique()) <= {"provincial-capital", "neighbour-city", "shanghai", "guangzhou"}


# --- calibration bands (docs/synth.md gives the sources) -------------------------------------------


def _share(series: pl.Series, value: object) -> float:
    return float((series == value).mean())  # type: ignore[arg-type]


def test_scheme_mix_matches_nhsa_2023(city: City) -> None:
    scheme = city.persons["scheme"]
    # 371.0M UEBMI of 1,334.0M insured, 27% of UEBMI retirees
    assert _share(scheme, "urrbmi") == pytest.approx(963.0 / 1334.0, abs=0.015)
    assert _share(scheme, "uebmi_employee") == pytest.approx(371.0 * 0.73 / 1334.0, abs=0.012)
    assert _share(scheme, "uebmi_retiree") == pytest.approx(371.0 * 0.27 / 1334.0, abs=0.008)
    children = city.persons.filter(_age(city.persons) < 18)
    assert (children["scheme"] == "urrbmi").all()


def test_assistance_categories_and_their_low_incomes(city: City) -> None:
    p = city.persons
    category = p["assistance_category"]
    assert 0.020 <= _share(category, "dibao") <= 0.036
    assert 0.001 <= _share(category, "extreme_poor") <= 0.006
    assert 0.018 <= _share(category, "low_income") <= 0.036
    poor = p.filter(pl.col("assistance_category").is_in(["dibao", "extreme_poor"]))
    assert (poor["scheme"] == "urrbmi").all()
    income = p.group_by("assistance_category").agg(pl.col("annual_income").median()).sort("annual_income")
    assert income["assistance_category"][-1] == "none"


def test_incomes_follow_the_urban_rural_gap(city: City) -> None:
    mean_yuan = city.persons.group_by("scheme").agg(pl.col("annual_income").mean() / 100)
    by_scheme = dict(zip(mean_yuan["scheme"], mean_yuan["annual_income"], strict=True))
    assert by_scheme["uebmi_employee"] > by_scheme["uebmi_retiree"] > by_scheme["urrbmi"]
    overall = city.persons["annual_income"].mean() / 100  # type: ignore[operator]
    assert 30_000 <= overall <= 45_000  # national per-capita disposable income 2023: 39,218


def test_huiminbao_take_up_and_pre_existing_conditions(city: City) -> None:
    p = city.persons
    assert 0.10 <= p["huiminbao"].mean() <= 0.20  # type: ignore[operator]
    assert 0.15 <= p["pre_existing"].mean() <= 0.25  # type: ignore[operator]
    age = _age(p)
    young = p.filter(age < 40)["pre_existing"].mean()
    old = p.filter(age >= 65)["pre_existing"].mean()
    assert old > 3 * young  # type: ignore[operator]


def test_age_structure_matches_the_7th_census(city: City) -> None:
    age = _age(city.persons)
    assert float((age < 15).mean()) == pytest.approx(0.1795, abs=0.01)  # 0-14: 17.95%
    assert float((age >= 60).mean()) == pytest.approx(0.187, abs=0.01)  # 60+: 18.70%
    assert float((city.persons["sex"] == "M").mean()) == pytest.approx(0.5124, abs=0.01)


def test_admission_rate_rises_with_age_and_visits_are_several_a_year(city: City) -> None:
    c, p = city.claims, city.persons
    admissions = c.filter(pl.col("care_type") == "inpatient")
    assert 0.17 <= admissions.height / p.height <= 0.21  # ~19-21 per 100 a year
    visits = c.height - admissions.height
    assert 5.5 <= visits / p.height <= 7.5
    ages = p.select("person_id", _age(p).alias("age"))
    per_person = ages.join(admissions.group_by("person_id").len(), on="person_id", how="left").fill_null(0)
    young = per_person.filter(pl.col("age").is_between(15, 44))["len"].mean()
    old = per_person.filter(pl.col("age") >= 70)["len"].mean()
    assert old > 3 * young  # type: ignore[operator]


def test_inpatient_costs_by_facility_level_have_heavy_tails(city: City) -> None:
    inpatient = city.claims.filter(pl.col("care_type") == "inpatient").with_columns(
        (pl.sum_horizontal(AMOUNTS) / 100).alias("yuan")
    )
    assert 8_500 <= inpatient["yuan"].mean() <= 12_500  # type: ignore[operator]
    mean = inpatient.group_by("facility_level").agg(pl.col("yuan").mean()).sort("facility_level")["yuan"]
    assert 1_800 <= mean[0] <= 3_500
    assert 5_000 <= mean[1] <= 9_500
    assert 13_000 <= mean[2] <= 20_000
    # heavy tail: the top 1% of admissions carry far more than 1% of the spending
    top = inpatient["yuan"].sort(descending=True).head(inpatient.height // 100).sum()
    assert top / inpatient["yuan"].sum() > 0.08


def test_levels_special_drugs_and_out_of_area(city: City) -> None:
    c = city.claims
    inpatient = c.filter(pl.col("care_type") == "inpatient")
    outpatient = c.filter(pl.col("care_type") == "outpatient")
    assert _share(outpatient["facility_level"], 1) > _share(outpatient["facility_level"], 3)
    assert _share(inpatient["facility_level"], 3) > _share(inpatient["facility_level"], 1)
    special = inpatient.filter(pl.col("special_drugs") > 0)
    assert 0.003 <= special.height / inpatient.height <= 0.03
    assert special["diagnosis"].str.starts_with("C").all()
    assert special["special_drugs"].mean() > 20_000 * 100  # type: ignore[operator]
    away = inpatient.filter(pl.col("region") != "reference-city").height / inpatient.height
    assert 0.03 <= away <= 0.09
    assert (city.persons["region"] == "reference-city").all()


def test_childbirth_only_for_women_of_childbearing_age(city: City) -> None:
    births = city.claims.filter(pl.col("diagnosis").str.starts_with("O8"))
    mothers = city.persons.filter(pl.col("person_id").is_in(births["person_id"].implode()))
    assert births.height > 0
    assert (mothers["sex"] == "F").all()
    assert _age(mothers).is_between(20, 40).all()
