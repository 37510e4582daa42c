"""`yibao synth`: a synthetic city (persons and a year of bills) written as the contract's tables."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.options import output_folder


class FormatChoice(StrEnum):
    parquet = "parquet"
    csv = "csv"


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)


def synth(
    people: Annotated[int, typer.Option(min=1, help="Number of persons in the city.")],
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="Folder for persons.<fmt> and claims.<fmt> (or persons/ and claims/).")
    ],
    year: Annotated[int, typer.Option(help="Calendar year of the bills.")] = 2024,
    seed: Annotated[int, typer.Option(min=0, help="Random seed; the same seed gives identical files.")] = 0,
    format: Annotated[FormatChoice, typer.Option("--format", help="parquet (decimal amounts) or csv.")] = (
        FormatChoice.parquet
    ),
    region: Annotated[str, typer.Option(help="The city's region code (persons' place of insurance).")] = (
        "reference-city"
    ),
    parts: Annotated[
        int | None,
        typer.Option(min=1, help="Write a Parquet dataset partitioned by person in this many parts of whole 10,000-person blocks (persons/ and "
                     "claims/ folders) for `yibao settle --engine dask`."),
    ] = None,
    anomalies: Annotated[
        bool,
        typer.Option("--anomalies", help="Add facility_id, discharge dates and cover dates, inject known claim "
                     "anomalies and write truth_claims.csv and truth_facilities.csv (`yibao audit claims --truth`)."),
    ] = False,
    inspections: Annotated[
        int | None,
        typer.Option(min=1, help="Also write this many labour-inspection observations with planted evasion and noise, "
                     "with the matching workers, employers and twin_truth files, for `yibao audit twin` (docs/audit.md)."),
    ] = None,
) -> None:
    """Synthesise a city calibrated to published figures (docs/synth.md): persons and a year of claims."""
    from yibao.core.errors import InputError
    from yibao.lab.synth import BLOCK_PEOPLE, City, block_count, write_partitioned_city, write_synthetic_city

    out = output_folder(out)
    console = terminal(stderr=True)
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[claims]:,} claims"), TimeElapsedColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    started = time.perf_counter()
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("synthesising persons", total=people, claims=0)

        def advance(city: City) -> None:
            progress.update(
                task, advance=city.persons.height, claims=progress.tasks[0].fields["claims"] + city.claims.height
            )

        if anomalies:
            from yibao.lab.synth_anomalies import write_anomalous_city

            if parts is not None:
                raise InputError("--anomalies writes one table each; drop --parts", code="input.bad_option")
            files = write_anomalous_city(people, year, seed, out, format.value, region, on_block=advance)
        elif parts is not None:
            if format is not FormatChoice.parquet:
                raise InputError("--parts writes Parquet; drop --format csv", code="input.bad_option")
            files = write_partitioned_city(people, year, seed, out, parts, region, on_block=advance)
        else:
            files = write_synthetic_city(people, year, seed, out, format.value, region, on_block=advance)
    if inspections is not None:
        from yibao.lab.synth_inspections import write_inspections

        ext = "parquet" if format is FormatChoice.parquet else "csv"
        written = write_inspections(inspections, year, seed, out, ext)
        console.print("inspections: " + ", ".join(str(p) for p in written.values()))
    elapsed = time.perf_counter() - started
    table = Table(title=f"Synthetic city (seed {seed}, {block_count(people)} blocks of {BLOCK_PEOPLE:,})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("file")
    table.add_row("persons", f"{files.people:,}", str(files.persons))
    table.add_row("claims", f"{files.claim_count:,}", str(files.claims))
    terminal().print(table)
    console.print(
        f"{elapsed:.1f} s: {files.people / elapsed:,.0f} persons/s, {files.claim_count / elapsed:,.0f} claims/s"
    )
