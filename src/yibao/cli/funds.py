"""`yibao funds report`: a region-year's fund report from the operations store (yibao.ops.funds)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.ops import DatabaseUrl
from yibao.cli.options import Lang, LangOption

funds_app = typer.Typer(help="The funds' income, outlays and balances, from the ledger.", no_args_is_help=True)

# The report's words, zh and en (a fund, an income source or an outlay kind not named here is shown as stored)
WORDS: dict[str, tuple[str, str]] = {
    "basic_pooled_fund": ("基本医疗保险统筹基金", "Basic pooled fund"),
    "serious_illness": ("大病保险资金", "Serious-illness financing"),
    "assistance_fund": ("医疗救助基金", "Assistance fund"),
    "individual_account": ("个人账户（合计）", "Individual accounts (total)"),
    "individual": ("个人缴费", "individual contributions"),
    "employer": ("单位缴费", "employer contributions"),
    "government_subsidy_central": ("中央财政补助", "central government subsidy"),
    "government_subsidy_local": ("地方财政补助", "local government subsidy"),
    "assistance": ("医疗救助资助参保", "assistance-paid contributions"),
    "donation": ("社会捐赠", "donations"),
    "lottery": ("彩票公益金", "lottery income"),
    "claims": ("待遇支出", "claims"),
    "retiree_accounts": ("退休人员个人账户划入", "retirees' account credit"),
    "retiree_account_credit": ("统筹基金划入（退休人员）", "credit from the pool (retirees)"),
    "assistance_budget": ("财政医疗救助资金", "assistance budget transfers"),
    "government_subsidy": ("财政补助", "government subsidy"),
    "contribution": ("家庭共济代缴参保费", "relatives' contributions paid"),
    "inpatient": ("住院", "inpatient"),
    "outpatient": ("门诊", "outpatient"),
    "income": ("收入", "Income"),
    "outlay": ("支出", "Outlays"),
    "total_income": ("收入合计", "Total income"),
    "total_outlay": ("支出合计", "Total outlays"),
    "balance": ("当期结存", "Balance of the year"),
    "accumulated": ("累计结存", "Accumulated balance"),
    "months": ("累计结存可支付月数", "Months of outlays covered"),
    "none": ("—", "—"),
    "title": ("{region} {year} 年基金收支（元）", "Funds of {region} {year} (yuan)"),
}


def word(key: str, lang: Lang) -> str:
    zh, en = WORDS.get(key, (key, key))
    return zh if lang is Lang.zh else en


def register(app: typer.Typer) -> None:
    app.add_typer(funds_app, name="funds")


@funds_app.command("report")
def report(
    region: Annotated[str, typer.Option(help="the region's code")],
    year: Annotated[int, typer.Option(help="the year")],
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON (amounts in yuan)")] = False,
    lang: LangOption = Lang.zh,
) -> None:
    """Per fund: income by source, outlays by kind and care type, the year's balance, the accumulated balance
    (累计结存) and the months of outlays it covers (累计结存可支付月数 = accumulated ÷ (year's outlays ÷ 12))."""
    from yibao.core.money import format_yuan
    from yibao.ops import funds, registry
    from yibao.ops.store import Store

    store = Store.existing(database_url)
    with store.transaction() as session:
        registry.region(session, region)
        found = funds.fund_report(session, region, year)
    console = terminal()
    if as_json:
        console.print_json(json.dumps(funds.plain(found), ensure_ascii=False))
        return
    table = Table(title=word("title", lang).format(region=region, year=year))
    table.add_column("", overflow="fold")
    for fund in found.funds:
        table.add_column(word(fund.fund.value, lang), justify="right")
    sources = sorted({s for f in found.funds for s in f.income})
    outlays = sorted({(o.kind, o.care_type) for f in found.funds for o in f.outlays})

    def row(label: str, values: list[str]) -> None:
        table.add_row(label, *values)

    for source in sources:
        row(f"{word('income', lang)}: {word(source, lang)}", [format_yuan(f.income.get(source, 0)) for f in found.funds])
    row(word("total_income", lang), [format_yuan(f.total_income) for f in found.funds])
    table.add_section()
    for kind, care in outlays:
        label = f"{word('outlay', lang)}: {word(kind, lang)}" + (f" ({word(care, lang)})" if care else "")
        amounts = [sum(o.amount for o in f.outlays if (o.kind, o.care_type) == (kind, care)) for f in found.funds]
        row(label, [format_yuan(a) for a in amounts])
    row(word("total_outlay", lang), [format_yuan(f.total_outlay) for f in found.funds])
    table.add_section()
    row(word("balance", lang), [format_yuan(f.balance) for f in found.funds])
    row(word("accumulated", lang), [format_yuan(f.accumulated) for f in found.funds])
    row(word("months", lang), [str(f.months_covered) if f.months_covered is not None else word("none", lang)
                               for f in found.funds])
    console.print(table)
