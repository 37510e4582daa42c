"""`yibao serve`, `yibao db ...`, `yibao ledger ...`: the operations service from the command line."""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import Annotated

import typer
from rich.table import Table

from yibao.cli.console import terminal

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="YIBAO_DATABASE_URL", help="SQLAlchemy URL; default a SQLite file yibao.sqlite3 here"),
]

db_app = typer.Typer(help="The operations store: migrations.", no_args_is_help=True)
ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(ledger_app, name="ledger")


def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes (PostgreSQL; SQLite serialises writers anyway)")] = 1,
) -> None:
    """Run the operations HTTP API (creates and migrates the database).

    The port is bound first: if it is busy the command says so and creates nothing. Then, on the first run only,
    the admin's password and the payment secret (unless YIBAO_PAYMENT_SECRET is set) are printed once, while the
    server is listening: a busy port loses nothing."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from yibao.ops.auth import ensure_secrets, first_admin
    from yibao.ops.migrate import upgrade
    from yibao.ops.store import Setting, Store, make_engine

    sock = _listen(host, port)
    console = terminal()
    engine = make_engine(database_url)
    upgrade(engine)
    store = Store(engine)
    with store.transaction() as session:
        new_payment_secret = session.get(Setting, "payment_secret") is None
        secrets = ensure_secrets(session)
        credentials = first_admin(session)
    console.print(f"database  {engine.url.render_as_string(hide_password=True)}")
    console.print(f"serving   http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    if credentials is not None:
        console.print(f"first run: admin user [bold]{credentials[0]}[/] password [bold]{credentials[1]}[/] (shown once)")
    if new_payment_secret and not os.environ.get("YIBAO_PAYMENT_SECRET"):
        console.print(f"first run: payment secret [bold]{secrets['payment_secret']}[/] (shown once: give it to the "
                      "payment provider, which signs its notifications with it)")
    console.file.flush()  # shown once: on its way to a log file too, before serving blocks
    sys.stdout.flush()
    os.environ["YIBAO_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    config = uvicorn.Config("yibao.http.app:app_from_environment", factory=True, workers=workers, log_level="warning")
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (as uvicorn makes it), or a one-line error naming why not."""
    from yibao.core.errors import YibaoError

    sock = socket.socket(family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        busy = exc.errno == errno.EADDRINUSE
        raise YibaoError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}" + ("; another process uses the port" if busy else ""),
            code="serve.port_busy" if busy else "serve.cannot_listen",
        ) from None
    sock.set_inheritable(True)
    return sock


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = None,
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Create or migrate the database to the latest schema."""
    from yibao.ops.migrate import current, upgrade
    from yibao.ops.store import make_engine

    engine = make_engine(database_url)
    upgrade(engine, revision)
    terminal().print(f"{engine.url.render_as_string(hide_password=True)} at revision {current(engine)}")


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Show the database's schema revision."""
    from yibao.ops.migrate import current
    from yibao.ops.store import Store

    store = Store.existing(database_url)
    terminal().print(current(store.engine))


@ledger_app.command("trial-balance")
def trial_balance(
    database_url: DatabaseUrl = None,
    region: Annotated[str | None, typer.Option(help="only this region")] = None,
    year: Annotated[int | None, typer.Option(help="only this year")] = None,
) -> None:
    """Debit and credit per account, derived from the postings; exits 1 if anything does not balance."""
    from yibao.core.money import format_yuan
    from yibao.ops import ledger
    from yibao.ops.store import Store

    store = Store.existing(database_url)
    with store.transaction() as session:
        tb = ledger.trial_balance(session, region=region, year=year)
        broken = ledger.unbalanced_entries(session)
    table = Table(title="Trial balance (yuan)")
    for column in ("account", "debit", "credit", "balance"):
        table.add_column(column, justify="left" if column == "account" else "right", overflow="fold")
    for row in tb.rows:
        table.add_row(row.account, format_yuan(row.debit), format_yuan(row.credit), format_yuan(row.balance))
    table.add_section()
    table.add_row("total", format_yuan(tb.total_debit), format_yuan(tb.total_credit), format_yuan(tb.total_debit - tb.total_credit))
    console = terminal()
    console.print(table)
    if broken or not tb.balanced:
        console.print(f"[bold red]NOT BALANCED[/]: entries {broken}")
        raise typer.Exit(1)
    console.print("balanced")
