"""`yibao lab takeup`: take-up of a voluntary product and of mutual aid year by year, with the insurer's repricing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from yibao.cli.console import terminal

if TYPE_CHECKING:
    from yibao.lab.takeup import Figure, Year

HEAD = {
    "en": ("year", "premium", "members", "take-up", "loss ratio", "mutual aid", "Q1..Q5", "by age band",
           "pre-existing no/yes", "figure", "published", "model", "error", "held out", "yes", "no", "range ok",
           "range failed", "Take-up by year", "Published vs model", "converted", "renewed",
           "Catastrophic spending (share of persons; OOP net of each arrangement > 10% / 25% of income)"),
    "zh": ("年度", "保费", "参保人数", "参保率", "赔付率", "互助成员", "收入五分位", "年龄段", "既往症 无/有",
           "指标", "公开数据", "模型", "误差", "留出检验", "是", "否", "范围符合", "范围不符", "逐年参保", "公开数据与模型",
           "转换参保", "续保", "灾难性医疗支出(人数占比；各安排下自付超过收入的 10% / 25%)"),
}


def register(app: typer.Typer) -> None:
    from yibao.cli.lab import lab_app

    lab_app.command("takeup")(takeup)


def _share(values: tuple[float, ...]) -> str:
    return "/".join(f"{100 * v:.0f}" for v in values) + "%"


def _print(years: list[Year], figures: list[Figure], lang: str) -> None:
    from rich.table import Table

    from yibao.core.money import format_yuan

    h = HEAD[lang]
    console = terminal()
    table = Table(title=h[18])
    for col in (*h[:9], h[20], h[21]):
        table.add_column(col)
    for y in years:
        table.add_row(str(y.year), format_yuan(y.premium_fen), f"{y.members:,}", f"{y.takeup:.1%}",
                      f"{y.loss_ratio:.1%}", f"{y.mutual_aid_share:.1%}", _share(y.by_quintile),
                      _share(y.by_age_band), _share(y.by_pre_existing), f"{y.converted:,}", f"{y.converted_renewed:,}")
    console.print(table)
    _print_protection(years, lang)
    published = Table(title=h[19])
    for col in h[9:14]:
        published.add_column(col)
    for f in figures:
        if f.check == "range":
            verdict = h[16] if f.passed else h[17]
        else:
            verdict = f"{f.error:+.1%}"
        published.add_row(f.title(lang), _fmt(f.published), _fmt(f.model), verdict, h[14] if f.held_out else h[15])
    console.print(published)


def _print_protection(years: list[Year], lang: str) -> None:
    from rich.table import Table

    from yibao.lab.metrics import CHE_THRESHOLDS_PCT
    from yibao.lab.protection import SCENARIO_TITLES, SCENARIOS

    table = Table(title=HEAD[lang][22])
    table.add_column(HEAD[lang][0])
    for s in SCENARIOS:
        table.add_column(SCENARIO_TITLES[lang][s])
    n = len(SCENARIOS)
    for y in years:
        table.add_row(str(y.year), *[" / ".join(f"{y.catastrophic[t * n + i]:.2%}" for t in range(len(CHE_THRESHOLDS_PCT)))
                                     for i in range(n)])
    terminal().print(table)


def _fmt(value: object) -> str:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return f"{value:.2f}"
    assert isinstance(value, float)
    return f"{value:.3f}" if value < 10 else f"{value:,.1f}"


def takeup(
    product: Annotated[str, typer.Option(help="Built-in product id or product.yaml (with an indemnity benefit).")] =
    "shanghai-huhuibao-2021",
    scheme: Annotated[str, typer.Option(help="Scheme whose public layers settle the bills.")] = "reference-city",
    persons: Annotated[Path | None, typer.Option(help="Persons table (CSV/Parquet) of `yibao synth`.")] = None,
    claims: Annotated[Path | None, typer.Option(help="Claims table (CSV/Parquet) of the same people.")] = None,
    people: Annotated[int, typer.Option(help="Synthetic city size when no --persons/--claims are given.")] = 50_000,
    city_year: Annotated[int, typer.Option(help="Year of the synthetic city.")] = 2024,
    city_seed: Annotated[int, typer.Option(help="Seed of the synthetic city.")] = 1,
    years: Annotated[int, typer.Option(help="Simulated years (the first is calibrated).")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the choices: same seed, same years.")] = 1,
    mutual_aid_closes: Annotated[int | None, typer.Option(
        help="Year from which the mutual-aid plan is closed (Xiang Hu Bao: 2022); its last members are offered a "
             "free first year of the product.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Folder for years.csv, figures.csv, calibration.csv and people.parquet (per person-year).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
) -> None:
    """Each person decides each year whether to buy the product and join mutual aid (logit, docs/products.md);
    the insurer reprices from the loss ratio; prints take-up by year and published figures vs the model."""
    import polars as pl

    from yibao.core.errors import InputError
    from yibao.lab.synth import contract_claims, contract_persons, synthesize
    from yibao.lab.takeup import (
        CALIBRATION_PRODUCT,
        Settings,
        build_pool,
        calibrate,
        figures,
        figures_frame,
        simulate_people,
        years_frame,
    )
    from yibao.products import load_product
    from yibao.schemes import load_scheme
    from yibao.tables import read_claims, read_persons

    if lang not in HEAD:
        raise typer.BadParameter("en or zh", param_hint="--lang")
    if (persons is None) != (claims is None):
        raise InputError("give both --persons and --claims, or neither (a synthetic city)", code="input.bad_option")
    if years < 1:
        raise typer.BadParameter("at least 1", param_hint="--years")
    item = load_product(product)
    built = load_scheme(scheme)
    if persons is not None and claims is not None:
        people_frame = read_persons(persons)
        bills = read_claims(claims, people_frame, built)
    else:
        city = synthesize(people, city_year, city_seed)
        people_frame, bills = city.persons, city.claims
    persons_c, claims_c = contract_persons(people_frame), contract_claims(bills)
    pool = build_pool(built, item, persons_c, claims_c)
    if item.id == CALIBRATION_PRODUCT:
        settings = calibrate(pool, item, Settings(years=years, seed=seed, closure_year=mutual_aid_closes))
    else:  # the people's coefficients and the city's cost level come from Huhuibao's first year on the same city
        anchor = load_product(CALIBRATION_PRODUCT)
        settings = calibrate(build_pool(built, anchor, persons_c, claims_c), anchor,
                             Settings(years=years, seed=seed, closure_year=mutual_aid_closes))
    result, per_person = simulate_people(pool, item, settings)
    published = figures(result, item.id)
    _print(result, published, lang)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        years_frame(result).write_csv(out / "years.csv")
        figures_frame(published).write_csv(out / "figures.csv")
        per_person.write_parquet(out / "people.parquet")
        pl.DataFrame({"parameter": ["intercept", "cost_level_ppm", "mutual_aid_intercept"],
                      "value": [settings.choice.intercept, float(settings.cost_level_ppm),
                                settings.mutual_aid.intercept]}).write_csv(out / "calibration.csv")
