"""`yibao audit ...`: checks of the insurance's data (docs/audit.md). One command per check."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from yibao.cli.console import terminal

audit_app = typer.Typer(help="Audits: the Twin contribution-evasion check (and its export), claim anomaly screening.", no_args_is_help=True)


class OutFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def register(app: typer.Typer) -> None:
    from yibao.cli import audit_claims

    audit_claims.register(audit_app)
    app.add_typer(audit_app, name="audit")


@audit_app.command("twin")
def twin(
    workers: Annotated[Path, typer.Option(help="Registry of insured workers (W), CSV or Parquet.")],
    inspections: Annotated[Path, typer.Option(help="Labour-inspection observations (I), CSV or Parquet.")],
    employers: Annotated[Path, typer.Option(help="Employers with the region's average wage (E), CSV or Parquet.")],
    year: Annotated[int, typer.Option(help="The contribution year checked.")],
    out: Annotated[Path, typer.Option(help="Output directory: flags and employers tables are written there.")],
    rules: Annotated[Path | None, typer.Option(help="Rules file (default: the bundled twin_rules.yaml).")] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Day late fees run to (default: 31 December of --year)."),
    ] = None,
    format: Annotated[OutFormat, typer.Option("--format", help="csv (default) or parquet.")] = OutFormat.csv,
) -> None:
    """Compare inspections with the registry: uninsured workers, under-declared bases, employers' arrears."""
    from yibao.audit.twin import check_files, write_twin
    from yibao.audit.twin_rules import load_rules
    from yibao.core.money import format_yuan

    console = terminal(stderr=True)
    with console.status("reading and checking the tables, linking, flagging"):
        loaded = load_rules(rules)
        result = check_files(workers, inspections, employers, loaded, year, as_of.date() if as_of else None)
    flags_file, employers_file = write_twin(result, out, f".{format.value}")
    table = Table(title=f"Twin check {year}: {result.observed:,} observations → {out}/")
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("linked by identity number", f"{result.linked_exact:,}")
    table.add_row("linked by Splink (name, birth date, sex, employer)", f"{result.linked_splink:,}")
    for kind in ("uninsured_worker", "under_declared_base"):
        table.add_row(f"flag {kind}", f"{int((result.flags['kind'] == kind).sum()):,}")
    table.add_row("employers inspected", f"{result.employers.height:,}")
    table.add_row("estimated arrears (yuan)", format_yuan(int(result.employers["estimated_arrears"].sum())))
    terminal().print(table)
    console.print(f"wrote {flags_file} and {employers_file}")


@audit_app.command("export-workers")
def export_workers(
    year: Annotated[int, typer.Option(help="The contribution year.")],
    out: Annotated[Path, typer.Option(help="Workers file (W) for `yibao audit twin`, .csv or .parquet.")],
    employers_out: Annotated[
        Path | None, typer.Option(help="Also write the employers file (E), .csv or .parquet.")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar="YIBAO_DATABASE_URL", help="SQLAlchemy URL of the operations store."),
    ] = None,
) -> None:
    """Write the operations store's insured workers of a year (read-only), for the Twin check on live data."""
    from yibao.audit.twin_tables import contract_employers, contract_workers
    from yibao.ops.store import Store
    from yibao.ops.twin_export import export_employers
    from yibao.ops.twin_export import export_workers as workers_of
    from yibao.tables import write_table

    store = Store.open(database_url)
    try:
        with store.sessions() as session:
            workers = workers_of(session, year)
            employers = export_employers(session) if employers_out is not None else None
    finally:
        store.engine.dispose()
    write_table(contract_workers(workers), out)
    if employers is not None and employers_out is not None:
        write_table(contract_employers(employers), employers_out)
    terminal(stderr=True).print(f"{workers.height:,} insured workers of {year} → {out}")
