"""`yibao settle`: settle a claims file through every layer of a scheme (the contract of docs/design.md)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.options import output_file
from yibao.core.errors import InputError


class EngineChoice(StrEnum):
    batch = "batch"
    scalar = "scalar"
    dask = "dask"


class LangChoice(StrEnum):
    en = "en"
    zh = "zh"


def register(app: typer.Typer) -> None:
    app.command("settle")(settle)


def settle(
    scheme: Annotated[str, typer.Option(help="Built-in scheme name (see `yibao schemes`) or a scheme file/folder.")],
    persons: Annotated[Path, typer.Option(help="Persons table, CSV or Parquet (file or folder).")],
    claims: Annotated[Path, typer.Option(help="Claims table, CSV or Parquet (file or folder).")],
    out: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Output file, .csv or .parquet by its suffix (a folder: with --engine dask and a claims folder)."
    )] = None,
    reform: Annotated[list[str] | None, typer.Option(help="Reform overlay file or bundled name; repeatable.")] = None,
    explain: Annotated[str | None, typer.Option(help="Print the explanation of this claim.")] = None,
    lang: Annotated[LangChoice, typer.Option(help="Language of explanations.")] = LangChoice.en,
    engine: Annotated[EngineChoice, typer.Option(help="batch (default), scalar (reference path) or dask.")] = EngineChoice.batch,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (with --engine dask).")] = None,
    policies: Annotated[Path | None, typer.Option(
        help="Policies table (policy_id, person_id, product, start_date, end_date), CSV or Parquet: adds the "
             "named products' indemnity layers (paid_<layer>) and pays only policies in force on the day."
    )] = None,
) -> None:
    """Settle claims one-stop through every layer; one output row per claim, in input order."""
    from yibao.api import explain_from_frames
    from yibao.engine import settle_frame
    from yibao.schemes import load_scheme
    from yibao.tables import read_claims, read_persons, settlement_output, write_table

    if out is None and explain is None:
        raise InputError("give --out FILE (and/or --explain CLAIM_ID)", code="input.no_output")
    console = terminal(stderr=True)
    if engine is EngineChoice.dask and claims.is_dir() and out is not None and out.suffix == "":
        if explain is not None:
            raise InputError("--explain reads one claims table, not a partitioned dataset", code="input.bad_option")
        _settle_dataset(scheme, tuple(reform or ()), persons, claims, out, scheduler, console, policies)
        return
    if out is not None:
        output_file(out)
    if out is not None and out.suffix.lower() not in {".csv", ".parquet"}:
        raise InputError(
            f"{out}: the output must end in .csv or .parquet (or be a folder, with --engine dask and a claims folder)",
            code="input.bad_output",
        )
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("loading scheme", total=None)
        built = load_scheme(scheme, tuple(reform or ()))
        progress.update(task, description=f"reading {persons}")
        people = read_persons(persons)
        held = None
        if policies is not None:
            from yibao.products.settlement import settle_with_policies

            progress.update(task, description=f"reading {policies}")
            built, held = settle_with_policies(built, people, policies)
        progress.update(task, description=f"reading {claims}")
        bills = read_claims(claims, people, built)
        if out is not None:
            progress.update(task, description=f"settling {bills.height:,} claims ({engine.value})")
            settled = settle_frame(built, people, bills, engine.value, scheduler, policies=held)
            progress.update(task, description=f"writing {out}")
            write_table(settlement_output(built, settled), out)
    if out is not None:
        _summary(built.layer_ids, settled, out)
    if explain is not None:
        print(explain_from_frames(built, people, bills, explain, lang.value, held).text())


def _settle_dataset(
    scheme: str, reforms: tuple[str, ...], persons: Path, claims: Path, out: Path, scheduler: str | None,
    console: Console, policies: Path | None,
) -> None:
    """A dataset partitioned by person, settled part by part on the Dask workers into out/<part name>."""
    from yibao.core.money import format_yuan
    from yibao.engine.dask import settle_dask_dataset
    from yibao.schemes import load_scheme

    built = load_scheme(scheme, reforms)
    held = None
    if policies is not None:  # checked against every person of the dataset, then shared by the workers
        from yibao.products.settlement import settle_with_policies
        from yibao.tables import read_persons

        built, held = settle_with_policies(built, read_persons(persons), policies)
    with console.status(f"settling the parts of {claims} on Dask"):
        results = settle_dask_dataset(built, persons, claims, out, scheduler, policies=held)
    rows = sum(r.rows for r in results)
    table = Table(title=f"{rows:,} claims in {len(results)} parts settled → {out}/")
    table.add_column("")
    table.add_column("yuan", justify="right")
    for name in results[0].sums:
        table.add_row(name, format_yuan(sum(r.sums[name] for r in results)))
    terminal(stderr=True).print(table)


def _summary(layer_ids: tuple[str, ...], settled: object, out: Path) -> None:
    import polars as pl

    from yibao.core.money import format_yuan

    assert isinstance(settled, pl.DataFrame)
    table = Table(title=f"{settled.height:,} claims settled → {out}")
    table.add_column("")
    table.add_column("yuan", justify="right")
    sums = settled.select(["total", *[f"paid_{i}" for i in layer_ids], "out_of_pocket"]).sum()
    for name in sums.columns:
        table.add_row(name, format_yuan(int(sums[name][0] or 0)))
    terminal(stderr=True).print(table)
