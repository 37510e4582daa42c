"""`yibao --help` lists every command. Command modules keep heavy imports inside their functions."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from yibao.core.errors import YibaoError

app = typer.Typer(
    name="yibao",
    help="yibao (医保): run and evaluate a multilayered medical security system over one exact rules core.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)

# Each module has `register(app)`; add a line here for a new command group.
COMMAND_MODULES = (
    "yibao.cli.schemes",
    "yibao.cli.settle",
    "yibao.cli.demo",
    "yibao.cli.synth",
    "yibao.cli.lab",
    "yibao.cli.ops",
    "yibao.cli.mutual_aid",
    "yibao.cli.contracts",
    "yibao.cli.products",
    "yibao.cli.takeup",
)


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register()


def main() -> None:
    try:
        app()
    except YibaoError as exc:
        err.print(f"[bold red]error[/] [dim]({exc.code})[/]: {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(2)
