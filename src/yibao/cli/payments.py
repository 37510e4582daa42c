"""`yibao payments ...`: paying hospitals from the operations store (monthly statements, payment batches as bank
files, the bank's confirmation, the quality deposit at year end). Every change is audited as `cli:<user>`; a
refusal prints its code and writes nothing."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.ops import DatabaseUrl
from yibao.cli.options import Lang, LangOption, input_file, output_file, store_session

if TYPE_CHECKING:

    from yibao.ops.audit import Actor

payments_app = typer.Typer(help="Paying hospitals: monthly statements, bank files, confirmations, quality deposit.",
                           no_args_is_help=True)

Region = Annotated[str, typer.Option("--region", help="The funds' region.")]
Month = Annotated[str, typer.Option("--month", help="The month, YYYY-MM (it must have ended).")]
Day = Annotated[dt.datetime | None, typer.Option("--on", formats=["%Y-%m-%d"],
                                                 help="Today's date in China (default: the clock's).")]

TEXTS: dict[str, tuple[str, str]] = {
    "statements": ("Monthly statements, {region} {month} (yuan)", "月度结算单 {region} {month}（元）"),
    "facility": ("facility", "定点医疗机构"), "claims": ("claims", "结算笔数"), "owed": ("owed", "应付金额"),
    "withheld": ("quality deposit withheld", "预留质量保证金"), "payable": ("payable", "应拨付"),
    "funds": ("by fund", "按基金"), "none": ("no claim entries in the month", "本月无结算记录"),
    "batch": ("Batch {batch} written to {out}: {lines} lines, {total} yuan", "拨付批次 {batch} 已写入 {out}：{lines} 笔，合计 {total} 元"),
    "skipped": ("not batched: {facility} {year} {amount} yuan ({reason})", "未纳入批次：{facility} {year} 年 {amount} 元（{reason}）"),
    "no_bank_account": ("no bank account registered", "未登记银行账户"),
    "not_positive": ("nothing positive to pay", "无应付正数金额"),
    "confirmed": ("{file}: {paid} lines paid ({amount} yuan), {failed} failed, {unchanged} already confirmed",
                  "{file}：已支付 {paid} 笔（{amount} 元），失败 {failed} 笔，{unchanged} 笔此前已确认"),
    "decisions": ("Quality deposit {region} {year} (yuan)", "质量保证金年终处理 {region} {year}（元）"),
    "released": ("released", "返还"), "kept": ("kept", "扣留"), "reason": ("reason", "理由"),
    "nothing_held": ("no quality deposit held", "无质量保证金"),
}


def register(app: typer.Typer) -> None:
    app.add_typer(payments_app, name="payments")


def _text(lang: Lang, key: str, **values: object) -> str:
    return TEXTS[key][1 if lang is Lang.zh else 0].format(**values)


def _actor() -> Actor:
    from yibao.ops.audit import Actor

    return Actor(f"cli:{getpass.getuser()}", "officer")


def _today(on: dt.datetime | None) -> dt.date | None:
    return on.date() if on is not None else None



@payments_app.command("statements")
def statements(region: Region, month: Month, database_url: DatabaseUrl = None, on: Day = None,
               lang: LangOption = Lang.zh) -> None:
    """Make (once) and show the month's statement of every facility: what each fund owes, the deposit withheld."""
    from yibao.core.money import format_yuan
    from yibao.ops import hospital_payments

    with store_session(database_url) as s:
        made = hospital_payments.settle_month(s, _actor(), region, month, today=_today(on))
    console = terminal()
    if not made:
        console.print(_text(lang, "none"))
        return
    table = Table(title=_text(lang, "statements", region=region, month=month))
    for key in ("facility", "claims", "funds", "owed", "withheld", "payable"):
        table.add_column(_text(lang, key), justify="left" if key in ("facility", "funds") else "right", overflow="fold")
    for row in made:
        funds = "; ".join(f"{line['year']} {line['fund']} {format_yuan(line['amount'])}" for line in row.lines["lines"])
        table.add_row(row.facility_id, str(row.claims), funds, format_yuan(row.owed), format_yuan(row.withheld),
                      format_yuan(row.payable))
    console.print(table)


@payments_app.command("batch")
def batch(region: Region, month: Month, out: Annotated[Path, typer.Option("--out", help="The bank file to write (CSV).")],
          database_url: DatabaseUrl = None, on: Day = None, lang: LangOption = Lang.zh) -> None:
    """Make the month's statements if missing, then a payment batch of everything open up to the month, written
    as the bank file (layout: docs/operations.md, "Payment batches")."""
    from yibao.core.money import format_yuan
    from yibao.ops import hospital_payments, payment_files
    from yibao.outfile import temporary_beside

    out = output_file(out)
    with store_session(database_url) as s, temporary_beside(out) as tmp:
        made = hospital_payments.make_batch(s, _actor(), region, month, today=_today(on))
        tmp.write_text(payment_files.bank_file(made.batch, made.lines), encoding="utf-8")
        tmp.replace(out)  # written before the batch commits: a batch is never recorded without its file
    console = terminal()
    console.print(_text(lang, "batch", batch=made.batch.batch_id, out=out, lines=len(made.lines),
                        total=format_yuan(made.batch.total)))
    for skip in made.skipped:
        console.print(_text(lang, "skipped", facility=skip.facility_id, year=skip.year, amount=format_yuan(skip.amount),
                            reason=_text(lang, skip.reason)))


@payments_app.command("confirm")
def confirm(file: Annotated[Path, typer.Argument(help="The bank's confirmation file (the batch layout + status, reason).")],
            database_url: DatabaseUrl = None, lang: LangOption = Lang.zh) -> None:
    """Post the bank's confirmation: paid lines settle the payables, failed ones are open again for a next batch.
    A bad file is refused whole, naming its line and column; a line already confirmed is left as it is."""
    from yibao.core.money import format_yuan
    from yibao.ops import payment_files

    text = input_file(file, "FILE").read_text(encoding="utf-8")
    with store_session(database_url) as s:
        done = payment_files.confirm(s, _actor(), text, str(file))
    terminal().print(_text(lang, "confirmed", file=file, paid=done.paid, amount=format_yuan(done.amount_paid),
                           failed=done.failed, unchanged=done.unchanged))


@payments_app.command("year-end")
def year_end(
    region: Region,
    year: Annotated[int, typer.Option("--year", help="The year whose quality deposits are decided.")],
    keep: Annotated[list[str] | None, typer.Option(
        "--keep", help="FACILITY=YUAN:REASON — part of a facility's deposit kept (back to the fund); repeatable.")] = None,
    database_url: DatabaseUrl = None, on: Day = None, lang: LangOption = Lang.zh,
) -> None:
    """Release the year's quality deposits (paid by the next batch), keeping what --keep names with its reason."""
    from yibao.core.errors import InputError
    from yibao.core.money import MoneyFormatError, format_yuan, parse_yuan
    from yibao.ops import hospital_payments

    kept: dict[str, tuple[int, str]] = {}
    for given in keep or []:
        facility, _, rest = given.partition("=")
        amount, _, reason = rest.partition(":")
        try:
            kept[facility.strip()] = (parse_yuan(amount), reason.strip())
        except MoneyFormatError:
            raise InputError(f"--keep {given!r}: write FACILITY=YUAN:REASON, e.g. H2=200.00:考核扣减",
                             code="input.bad_option") from None
    with store_session(database_url) as s:
        made = hospital_payments.year_end(s, _actor(), region, year, kept, today=_today(on))
    console = terminal()
    if not made:
        console.print(_text(lang, "nothing_held"))
        return
    table = Table(title=_text(lang, "decisions", region=region, year=year))
    for key in ("facility", "released", "kept", "reason"):
        table.add_column(_text(lang, key), justify="right" if key in ("released", "kept") else "left", overflow="fold")
    for row in made:
        table.add_row(row.facility_id, format_yuan(row.released), format_yuan(row.kept), row.reason)
    console.print(table)


@payments_app.command("bank-account")
def bank_account(
    facility: Annotated[str, typer.Argument(help="The facility's code.")],
    account: Annotated[str, typer.Argument(help="Its bank account (digits, letters, hyphens; 6–34 characters).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Register or change the account the funds pay a facility to."""
    from pydantic import TypeAdapter, ValidationError

    from yibao.core.errors import InputError
    from yibao.ops import hospital_payments
    from yibao.ops.schemas import BankAccount

    try:
        TypeAdapter(BankAccount).validate_python(account)
    except ValidationError:
        raise InputError(f"{account!r}: a bank account is 6–34 digits, letters or hyphens", code="input.bad_option") from None
    with store_session(database_url) as s:
        row = hospital_payments.set_bank_account(s, _actor(), facility, account)
        terminal().print(f"{row.id} {row.name}: {row.bank_account}")
