"""`yibao lab run`: settle a population under a baseline scheme and reforms, and write the policy lab report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yibao.cli.console import terminal
from yibao.cli.options import Lang, output_folder
from yibao.cli.settle import EngineChoice

lab_app = typer.Typer(
    help="Policy lab: compare a baseline scheme with reforms on one population.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")


@lab_app.command("run")
def run(
    scheme: Annotated[
        str, typer.Option(help="Baseline: built-in scheme name (see `yibao schemes`) or a scheme file/folder.")
    ],
    persons: Annotated[Path, typer.Option(help="Persons table, CSV or Parquet (file or folder).")],
    claims: Annotated[Path, typer.Option(help="Claims table, CSV or Parquet (file or folder).")],
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="Folder for report.html, figures.csv, figures.json and deltas.csv.")
    ],
    reform: Annotated[
        list[str] | None, typer.Option(help="Reform overlay file or bundled name; repeatable, one scenario each.")
    ] = None,
    engine: Annotated[
        EngineChoice, typer.Option(help="batch (default), scalar (reference path) or dask.")
    ] = EngineChoice.batch,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (with --engine dask).")] = None,
    lang: Annotated[
        Lang | None, typer.Option(help="Language of the report: zh (中文) or en; default: the scheme's locale.")
    ] = None,
) -> None:
    """Settle the same people and bills under the baseline and each reform; write and summarise the report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from yibao.lab.run import batch_settle, print_summary, run_lab
    from yibao.schemes import load_scheme
    from yibao.tables import read_claims, read_persons

    out = output_folder(out)  # a file given as --out is refused before any work
    reforms = list(reform or ())
    console = terminal(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"reading {persons}", total=3 + len(reforms))
        people = read_persons(persons)
        progress.update(task, advance=1, description=f"reading {claims}")
        bills = read_claims(claims, people, load_scheme(scheme))
        progress.update(task, advance=1, description=f"settling {bills.height:,} claims: baseline ({engine.value})")
        titles = iter(reforms)

        def settled(_title: str) -> None:
            following = next(titles, None)
            step = f"settling: {following} ({engine.value})" if following else "measuring and writing the report"
            progress.update(task, advance=1, description=step)

        result = run_lab(
            scheme, reforms, people, bills, out, settle=batch_settle(engine.value, scheduler),
            on_settled=settled, lang=None if lang is None else lang.value,
        )
    print_summary(result, terminal())
