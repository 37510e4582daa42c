"""`yibao errors`: the error catalogue (every code a person can see, its HTTP status and messages)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("errors")(errors)


def errors(
    write: Annotated[
        str | None, typer.Option(help="rewrite the catalogue's table in this Markdown file (between its markers)")
    ] = None,
) -> None:
    """Print the error catalogue as a Markdown table, or rewrite it in a document (docs/operations.md)."""
    from pathlib import Path

    from yibao.core.errors import catalogue_markdown

    table = catalogue_markdown()
    if write is None:
        typer.echo(table, nl=False)
        return
    path = Path(write)
    typer.echo(f"{path}: {'unchanged' if write_catalogue(path, table) is False else 'catalogue rewritten'}")


START, END = "<!-- error-catalogue:start (yibao errors --write) -->", "<!-- error-catalogue:end -->"


def write_catalogue(path: object, table: str) -> bool:
    """Put `table` between the markers of the Markdown file at `path`; False if it was already there."""
    from pathlib import Path

    from yibao.core.errors import InputError

    file = Path(str(path))
    text = file.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise InputError(f"no catalogue markers ({START} ... {END})", file=str(file), code="input.missing")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{table}{END}{tail}"
    if new == text:
        return False
    file.write_text(new, encoding="utf-8")
    return True
