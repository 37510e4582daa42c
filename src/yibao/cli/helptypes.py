"""Readable value names in `--help`: TEXT, INTEGER, FILE, DIR, YYYY-MM-DD, not `<list[str]>` or `<%Y-%m-%d>`.

Typer shows each option's Python annotation (`<bool>` even on a flag); a user of the command
line reads the kind of value to type. `install()` runs once when the `yibao` app is built, so
every command, including ones added later, gets the same names; an explicit `metavar` wins.
"""

from __future__ import annotations

import re
from typing import Any

import click
from typer.core import TyperArgument, TyperOption

NAMES = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "NUMBER",
    "Decimal": "AMOUNT",
    "path": "PATH",
    "file": "FILE",
    "directory": "DIR",
    "datetime": "DATETIME",
    "date": "YYYY-MM-DD",
    "UUID": "UUID",
}
STRFTIME = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH", "%M": "MM", "%S": "SS"}


def readable(label: str) -> str:
    """`<list[str]>` → `TEXT`, `<%Y-%m-%d>` → `YYYY-MM-DD`, `<path>` → `PATH`; choices stay `a|b`."""
    label = label.removeprefix("<").removesuffix(">")
    inner = re.fullmatch(r"list\[(.*)\]", label)
    if inner:
        return readable(inner.group(1))
    if "%" in label:
        return re.sub(r"%[A-Za-z]", lambda m: STRFTIME.get(m.group(0), m.group(0)), label.split("|")[0])
    return NAMES.get(label, label)


def _option_type(self: TyperOption, ctx: click.Context) -> str | None:
    if self.metavar is not None:
        return self.metavar
    if self.is_flag:
        return None  # a flag takes no value
    return readable(self.display_type(ctx))


def _argument_type(self: TyperArgument, ctx: click.Context) -> str | None:
    if self.metavar is not None:
        return self.metavar
    return readable(self.display_type(ctx))


def install() -> None:
    patched: Any = TyperOption
    patched.display_type_rich = _option_type
    patched = TyperArgument
    patched.display_type_rich = _argument_type
