"""`yibao demo`: the main job on the embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


EXAMPLES = Path(__file__).resolve().parent.parent / "schemes" / "builtin" / "reference-city" / "examples"


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's outputs.")] = Path("demo-out"),
) -> None:
    """Settle the reference city's example bills and print what each layer paid."""
    from yibao.api import explain_from_frames
    from yibao.core.money import format_yuan
    from yibao.schemes import load_scheme
    from yibao.tables import read_claims, read_persons, settle_frame, settlement_output, write_table

    console = Console()
    scheme = load_scheme("reference-city")
    persons = read_persons(EXAMPLES / "persons.csv")
    claims = read_claims(EXAMPLES / "claims.csv", persons, scheme)
    settled = settle_frame(scheme, persons, claims).join(
        persons.select("person_id", "scheme", "assistance_category"), on="person_id", how="left", maintain_order="left"
    )
    table = Table(title=f"{scheme.title.en} ({scheme.title.zh}) — one-stop settlement of the example bills (yuan)")
    for col in ("claim", "person", "scheme / category", "level", "care", "total"):
        table.add_column(col, justify="right" if col == "total" else "left")
    for layer in scheme.layers:
        table.add_column(f"{layer.name.en}\n{layer.name.zh}", justify="right")
    table.add_column("out of pocket\n个人负担", justify="right")
    for row in settled.iter_rows(named=True):
        table.add_row(
            row["claim_id"], row["person_id"], f"{row['scheme']} / {row['assistance_category']}",
            str(row["facility_level"]), row["care_type"], format_yuan(row["total"]),
            *[format_yuan(row[f"paid_{layer_id}"]) for layer_id in scheme.layer_ids],
            format_yuan(row["out_of_pocket"]),
        )  # fmt: skip
    console.print(table)
    out.mkdir(parents=True, exist_ok=True)
    write_table(settlement_output(scheme, settled), out / "example-settlement.csv")
    console.print(explain_from_frames(scheme, persons, claims, "B0003", "en").text())
    console.print(f"\nWritten: {out / 'example-settlement.csv'}   (explain any claim: yibao settle --explain ID ...)")
