"""`yibao demo`: the main job on the embedded defaults.

A synthetic city of 200,000 people and a year of its bills, settled one-stop under
`reference-city` and under the bundled reform (serious-illness threshold halved,
rates +10 points); a summary table in the terminal and the policy lab report on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.options import output_folder

SCHEME = "reference-city"
REFORM = "si-threshold-halved"
EXAMPLES = Path(__file__).resolve().parent.parent / "schemes" / "builtin" / SCHEME / "examples"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="Folder for the demo's city, settlement and report.")
    ] = Path("demo-out"),
    people: Annotated[int, typer.Option(help="People in the synthetic city.")] = 200_000,
    year: Annotated[int, typer.Option(help="Year of the bills.")] = 2024,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic city.")] = 2024,
    pages_persons: Annotated[int, typer.Option(help="Persons in the people's pages' demo store (0: none).")] = 200,
) -> None:
    """Synthesise a city, settle a year under reference-city and a reform, print a summary, write the report."""
    import polars as pl

    from yibao.core.scheme import Scheme
    from yibao.engine import settle_frame
    from yibao.lab.run import print_summary, run_lab
    from yibao.lab.synth import block_count, write_synthetic_city
    from yibao.schemes import load_scheme
    from yibao.tables import read_claims, read_persons, settlement_output, write_table

    out = output_folder(out)
    console = terminal()
    _examples(console)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"synthesising {people:,} people", total=block_count(people))
        files = write_synthetic_city(
            people, year, seed, out / "city", on_block=lambda _: progress.advance(task)
        )
        step = progress.add_task("settling baseline and reform", total=4)
        scheme = load_scheme(SCHEME)
        persons = read_persons(files.persons)
        claims = read_claims(files.claims, persons, scheme)
        progress.advance(step)
        settled: dict[str, pl.DataFrame] = {}

        def settle_and_keep(built: Scheme, people: pl.DataFrame, bills: pl.DataFrame) -> pl.DataFrame:
            result = settle_frame(built, people, bills)
            if not built.reforms:  # keep the baseline's settlement for settlement.parquet
                settled[built.name] = result
            return result

        run = run_lab(
            SCHEME, [REFORM], persons, claims, out / "report",
            settle=settle_and_keep, on_settled=lambda _: progress.advance(step),
        )  # fmt: skip
        write_table(settlement_output(scheme, settled[scheme.name]), out / "settlement.parquet")
        progress.advance(step)
    console.print(
        f"\nA synthetic city of {files.people:,} people with {files.claim_count:,} bills in {year} "
        f"(seed {seed}), settled through {' → '.join(scheme.layer_ids)}."
    )
    print_summary(run, console)
    baseline = settled[scheme.name]
    example = baseline.sort(["paid_serious_illness", "claim_id"], descending=[True, False])["claim_id"][0]
    console.print(
        f"Settled claims: {(out / 'settlement.parquet').resolve()}\n"
        f"Try (the claim the serious-illness layer paid most): {_program()} settle --scheme {SCHEME} "
        f"--persons {files.persons} --claims {files.claims} --explain {example} --lang zh"
    )
    if pages_persons:
        from yibao.cli.pages_demo import prepare_pages_demo

        prepare_pages_demo(out / "pages", pages_persons, console)


def _program() -> str:
    """How to call yibao again: `yibao` when it is on PATH, else the path that was run (`.venv/bin/yibao`)."""
    import os
    import shutil
    import sys

    ran = Path(sys.argv[0])
    if ran.name != "yibao" or not ran.exists():
        return "yibao"
    found = shutil.which("yibao")
    if found and Path(found).resolve() == ran.resolve():
        return "yibao"
    return min(os.path.relpath(ran), str(ran.resolve()), key=len)


def _examples(console: Console) -> None:
    """The bundled example bills of the reference city, settled one by one through every layer."""
    from yibao.core.money import format_yuan
    from yibao.engine import settle_frame
    from yibao.schemes import load_scheme
    from yibao.tables import read_claims, read_persons

    scheme = load_scheme(SCHEME)
    persons = read_persons(EXAMPLES / "persons.csv")
    settled = settle_frame(scheme, persons, read_claims(EXAMPLES / "claims.csv", persons, scheme))
    table = Table(title=f"{scheme.title.en} ({scheme.title.zh}): example bills settled one-stop (yuan)", title_justify="left")
    table.add_column("claim")
    table.add_column("total", justify="right")
    short = {"basic": "basic", "serious_illness": "serious ill.", "assistance": "assistance", "huiminbao": "Huiminbao"}
    for layer_id in scheme.layer_ids:
        table.add_column(short.get(layer_id, layer_id), justify="right")
    table.add_column("out of pocket", justify="right")
    for row in settled.iter_rows(named=True):
        table.add_row(
            row["claim_id"], format_yuan(row["total"]),
            *[format_yuan(row[f"paid_{layer_id}"]) for layer_id in scheme.layer_ids],
            format_yuan(row["out_of_pocket"]),
        )  # fmt: skip
    console.print(table)
