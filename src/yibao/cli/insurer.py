"""`yibao insurer report`: the insurer's books of a product in a region-year, from the operations store (as
`GET /insurer/products/{product}/{region}/{year}` gives them): premiums written and earned, claims paid and
outstanding, expenses, loss and combined ratios, the loss a government-guided product's insurer absorbs."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.ops import DatabaseUrl
from yibao.cli.options import Lang, LangOption

insurer_app = typer.Typer(help="The insurer's books of voluntary products (policies sold in operations).",
                          no_args_is_help=True)

# the report's rows: (key of the JSON view, en, zh)
ROWS = (
    ("policies", "policies sold", "已售保单"),
    ("in_force", "policies in force", "有效保单"),
    ("premiums_written", "premiums written", "签单保费"),
    ("premiums_received", "premiums received", "已收保费"),
    ("premiums_earned", "premiums earned", "已赚保费"),
    ("premiums_unearned", "premiums unearned", "未到期保费"),
    ("claims", "claims", "赔案数"),
    ("claims_paid", "claims paid", "已付赔款"),
    ("claims_outstanding", "claims outstanding", "未决赔款"),
    ("claims_incurred", "claims incurred", "已发生赔款"),
    ("expense_ratio", "expense ratio", "费用率"),
    ("expenses", "expenses", "费用"),
    ("loss_ratio", "loss ratio", "赔付率"),
    ("combined_ratio", "combined ratio", "综合成本率"),
    ("underwriting_result", "underwriting result", "承保利润"),
    ("absorbed_by_insurer", "loss absorbed by the insurer", "保险公司承担的亏损"),
)


def register(app: typer.Typer) -> None:
    app.add_typer(insurer_app, name="insurer")


@insurer_app.command("report")
def report(
    product: Annotated[str, typer.Option(help="the product id (yibao products list)")],
    region: Annotated[str, typer.Option(help="the region code of the policyholders")],
    year: Annotated[int, typer.Option(help="the product year")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="premiums earned to this day (default today)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the books as JSON (as the API)")] = False,
    lang: LangOption = Lang.en,
    database_url: DatabaseUrl = None,
) -> None:
    """The insurer's books of a product in a region-year."""
    from yibao.ops import insurer_books
    from yibao.ops.store import Store

    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        raise typer.BadParameter("a date such as 2021-12-31", param_hint="--as-of") from None
    store = Store.existing(database_url)
    try:
        with store.transaction() as session:
            view = insurer_books.as_json(insurer_books.report(session, product, region, year, day))
    finally:
        store.engine.dispose()
    if as_json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
        return
    zh = lang is Lang.zh
    title = f"{product} · {region} · {year} ({'截至' if zh else 'as of'} {view['as_of']})"
    table = Table(title=title)
    table.add_column("项目" if zh else "figure")
    table.add_column("金额 / 比率" if zh else "yuan / ratio", justify="right")
    for key, en, zh_label in ROWS:
        value = view[key]
        table.add_row(zh_label if zh else en, "—" if value is None else str(value))
    terminal().print(table)
