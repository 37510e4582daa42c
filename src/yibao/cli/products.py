"""`yibao products list|show`: the built-in voluntary insurance products (small-value, Huiminbao, private)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.cli.console import terminal

if TYPE_CHECKING:
    from yibao.products.model import Product

products_app = typer.Typer(
    help="Voluntary insurance products as data: eligibility, premium and subsidies, benefits (daily allowance, lump sums).",
    no_args_is_help=True,
)
LangOption = Annotated[str, typer.Option("--lang", help="Language of the labels: en or zh.")]

LABELS = {
    "en": {
        "title": "Built-in products", "id": "id", "name": "title", "kind": "kind", "premium": "premium (yuan)",
        "benefits": "benefits", "insurer": "insurer", "region": "region", "eligibility": "eligibility",
        "window": "enrolment", "waiting": "waiting period (days)", "subsidy": "government / employer share",
        "allowance": "daily allowance", "lump": "lump sum", "indemnity": "indemnity parts", "drugs": "special drugs",
        "reference": "reference", "days": "days a year at most", "age": "age", "any": "any",
        "pre_existing": "pre-existing conditions", "declaration": "health declaration", "schemes": "schemes",
        "regions": "regions",
    },
    "zh": {
        "title": "内置保险产品", "id": "编号", "name": "名称", "kind": "类型", "premium": "保费(元)",
        "benefits": "保障", "insurer": "承保公司", "region": "地区", "eligibility": "投保条件",
        "window": "投保期", "waiting": "等待期(天)", "subsidy": "政府 / 单位分担比例",
        "allowance": "住院津贴", "lump": "定额给付", "indemnity": "报销责任", "drugs": "特药清单",
        "reference": "依据", "days": "每年最多天数", "age": "年龄", "any": "不限",
        "pre_existing": "既往症", "declaration": "健康告知", "schemes": "险种", "regions": "地区",
    },
}


def register(app: typer.Typer) -> None:
    app.add_typer(products_app, name="products")


def _labels(lang: str) -> dict[str, str]:
    if lang not in LABELS:
        raise typer.BadParameter("en or zh", param_hint="--lang")
    return LABELS[lang]


def _premium_text(product: Product) -> str:
    from yibao.core.money import format_yuan

    bands = product.premium.bands.at(product.premium.bands.values[-1][0])
    if len(bands) == 1:
        return format_yuan(bands[0].premium)
    return f"{format_yuan(min(b.premium for b in bands))}-{format_yuan(max(b.premium for b in bands))}"


@products_app.command("list")
def list_products(lang: LangOption = "en") -> None:
    """List the built-in products."""
    from yibao.products import builtin_products

    words = _labels(lang)
    table = Table(title=words["title"])
    for key in ("id", "name", "kind", "premium", "benefits"):
        table.add_column(words[key])
    for product in builtin_products():
        table.add_row(product.id, product.title.get(lang), product.kind.value, _premium_text(product),
                      ", ".join(product.benefit_kinds))
    terminal().print(table)


@products_app.command("show")
def show(product: Annotated[str, typer.Argument(help="Built-in product id or a product.yaml path.")],
         lang: LangOption = "en") -> None:
    """Show one product: eligibility, premium by age band with subsidies, benefits, each with its reference."""
    from yibao.core.money import format_rate, format_yuan
    from yibao.products import load_product

    words = _labels(lang)
    item = load_product(product)
    console = terminal()
    console.print(f"[bold]{item.title.get(lang)}[/] ({item.id}, {item.kind.value})")
    console.print(f"{words['insurer']}: {item.insurer}\n{words['region']}: {item.region}")
    elig = item.eligibility
    ages = f"{elig.min_age if elig.min_age is not None else 0}-{elig.max_age if elig.max_age is not None else ''}"
    console.print(
        f"{words['eligibility']}: {words['age']} {ages}; {words['schemes']} {sorted(elig.schemes) or words['any']}; "
        f"{words['regions']} {sorted(elig.regions) or words['any']}; {words['declaration']} {elig.health_declaration}; "
        f"{words['pre_existing']} {elig.pre_existing.value}"
    )
    since = item.premium.bands.values[-1][0]
    bands = Table(title=f"{words['premium']} ({since})")
    bands.add_column(words["age"])
    bands.add_column(words["premium"], justify="right")
    for band in item.premium.bands.at(since):
        bands.add_row(f"{band.from_age}+", format_yuan(band.premium))
    console.print(bands)
    console.print(f"{words['subsidy']}: {format_rate(item.premium.government_share.at(since))} / "
                  f"{format_rate(item.premium.employer_share.at(since))}")
    console.print(f"{words['window']}: {item.window.opens} – {item.window.closes}; "
                  f"{words['waiting']}: {item.window.waiting_days.at(since)}")
    if item.indemnity is not None:
        console.print(f"{words['indemnity']}: " + "; ".join(p.name.get(lang) for p in item.indemnity.parts))
    if item.daily_allowance is not None:
        allowance = item.daily_allowance
        console.print(f"{words['allowance']}: {format_yuan(allowance.amount.at(since))} × "
                      f"{allowance.max_days.at(since)} ({words['days']})")
    for lump in item.lump_sums:
        extra = f" ICD-10 {', '.join(lump.icd10_prefixes)}" if lump.icd10_prefixes else ""
        console.print(f"{words['lump']}: {lump.name.get(lang)} {format_yuan(lump.amount.at(since))}{extra}")
    if item.special_drugs:
        console.print(f"{words['drugs']}: " + "; ".join(item.special_drugs))
    console.print(f"{words['reference']}: {item.reference}", soft_wrap=True)
