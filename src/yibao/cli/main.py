"""`yibao --help` lists every command. Command modules keep heavy imports inside their functions."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from yibao.cli import helptypes
from yibao.cli.console import terminal
from yibao.core.errors import YibaoError
from yibao.outfile import Stopped

app = typer.Typer(
    name="yibao",
    help="yibao (医保): run and evaluate a multilayered medical security system over one exact rules core.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = terminal(stderr=True)

# Each module has `register(app)`; add a line here for a new command group.
COMMAND_MODULES = (
    "yibao.cli.schemes",
    "yibao.cli.settle",
    "yibao.cli.demo",
    "yibao.cli.synth",
    "yibao.cli.lab",
    "yibao.cli.ops",
    "yibao.cli.funds",
    "yibao.cli.family",
    "yibao.cli.users",
    "yibao.cli.mutual_aid",
    "yibao.cli.contracts",
    "yibao.cli.errors",
    "yibao.cli.audit",
    "yibao.cli.products",
    "yibao.cli.takeup",
    "yibao.cli.payments",
    "yibao.cli.insurer",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"yibao {version('yibao')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """yibao (医保): run and evaluate a multilayered medical security system over one exact rules core."""


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register()
helptypes.install()


def main() -> None:
    try:
        app()
    except YibaoError as exc:
        err.print(f"[bold red]error[/] [dim]({exc.code})[/]: {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except Stopped as exc:  # SIGTERM/SIGHUP while an output was written: its temporary file is already removed
        err.print(f"stopped by signal {exc.signum}; the output was not written", highlight=False)
        sys.exit(128 + exc.signum)
