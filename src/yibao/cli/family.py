"""`yibao family ...`: individual accounts and family sharing (家庭共济) in the operations store (yibao.ops.family)."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.ops import DatabaseUrl

if TYPE_CHECKING:
    from yibao.ops.audit import Actor

family_app = typer.Typer(help="Individual accounts and family sharing (家庭共济).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(family_app, name="family")


def _actor() -> Actor:
    from yibao.ops.audit import Actor

    return Actor(f"cli:{getpass.getuser()}", "officer")


@family_app.command("add-relative")
def add_relative(
    holder: Annotated[str, typer.Option(help="the UEBMI member whose individual account is shared (person id)")],
    relative: Annotated[str, typer.Option(help="the close relative who may use it (person id)")],
    relation: Annotated[str, typer.Option(help="spouse, parent or child (the relative is the holder's ...)")],
    database_url: DatabaseUrl = None,
) -> None:
    """Register a close relative who may use a member's individual account (their personal part at settlement,
    their residents' contribution)."""
    from yibao.ops import family
    from yibao.ops.store import Store

    store = Store.existing(database_url)
    with store.transaction() as session:
        row = family.register_relative(session, _actor(), holder, relative, relation)
    terminal().print(f"{row.relative_id} ({row.relation}) may use the individual account of {row.holder_id}")


@family_app.command("account")
def account(
    person: Annotated[str, typer.Argument(help="person id")],
    database_url: DatabaseUrl = None,
) -> None:
    """A member's individual account: balance, what they may spend (own + shared by relatives), movements."""
    from yibao.core.money import format_yuan
    from yibao.ops import family
    from yibao.ops.store import Store

    store = Store.existing(database_url)
    with store.transaction() as session:
        accounts = family.available(session, person, lock=False)
        moves = family.movements(session, person)
    console = terminal()
    console.print(f"balance {format_yuan(accounts[0][1])} yuan; may spend {format_yuan(sum(b for _, b in accounts))} "
                  f"yuan ({', '.join(f'{h} {format_yuan(b)}' for h, b in accounts)})")
    table = Table(title=f"Individual account of {person} (yuan; + in, − out)")
    for column in ("year", "entry", "reference", "amount"):
        table.add_column(column, justify="right" if column == "amount" else "left")
    for entry, posting in moves:
        table.add_row(str(posting.year), entry.kind, entry.reference, format_yuan(-posting.amount))
    console.print(table)


@family_app.command("pay-contribution")
def pay_contribution(
    holder: Annotated[str, typer.Option(help="the account holder (person id)")],
    contribution: Annotated[int, typer.Option(help="the relative's residents' contribution id (due)")],
    database_url: DatabaseUrl = None,
) -> None:
    """Pay a registered relative's residents' contribution from the holder's individual account."""
    from yibao.core.money import format_yuan
    from yibao.ops import family
    from yibao.ops.store import Store

    store = Store.existing(database_url)
    with store.transaction() as session:
        paid = family.pay_relative_contribution(session, _actor(), holder, contribution)
        left = family.balance(session, holder)
    terminal().print(f"contribution {paid.id} paid ({format_yuan(paid.amount)} yuan) from the account of {holder}; "
                     f"balance left {format_yuan(left)} yuan")
