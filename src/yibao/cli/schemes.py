"""`yibao schemes`: the built-in schemes and reforms."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from yibao.cli.console import terminal


def register(app: typer.Typer) -> None:
    app.command("schemes")(schemes)


def schemes() -> None:
    """List the built-in schemes (addressable by name) and the bundled reforms."""
    from yibao.schemes import builtin_reforms, builtin_schemes, load_scheme

    console = terminal()
    table = Table(title="Built-in schemes")
    for col in ("name", "title", "layers", "from"):
        table.add_column(col)
    for info in builtin_schemes():
        scheme = load_scheme(info.name)
        table.add_row(info.name, info.title, " → ".join(scheme.layer_ids), str(scheme.first_date))
    console.print(table)
    reforms = Table(title="Bundled reforms (--reform NAME)")
    for col in ("name", "title"):
        reforms.add_column(col)
    for reform in builtin_reforms():
        reforms.add_row(reform.name, reform.title.en)
    console.print(reforms)
    for info in builtin_schemes():
        examples = info.path / "examples"
        if examples.is_dir():
            files = ", ".join(sorted(f.name for f in examples.glob("*.csv")))
            console.print(f"Example bills of {info.name}: {_shown(examples)}/ ({files})", soft_wrap=True)


def _shown(path: Path) -> str:
    """The path from the current folder when it lies below it (a clone), else in full (an installed package)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
