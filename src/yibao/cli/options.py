"""Options that mean the same thing in every command: report language, output files and folders.

An `--out` that writes several files is a folder (`output_folder`), one that writes one file is a
file (`output_file`); a path of the wrong kind is refused with one line naming it, before any work.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from yibao.core.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Lang(StrEnum):
    en = "en"
    zh = "zh"


LangOption = Annotated[Lang, typer.Option(help="Language of the report: zh (中文) or en.")]


def output_folder(path: Path, option: str = "--out", *, create: bool = True) -> Path:
    """`path` as a folder to write into, created if missing (unless `create=False`: only checked)."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} is a file; {option} wants a folder (the command writes several files)",
                         code="input.not_a_folder")
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def output_file(path: Path, option: str = "--out") -> Path:
    """`path` as one file to write, its folder created if missing; an existing folder is refused."""
    if path.is_dir():
        raise InputError(f"{path} is a folder; {option} wants a file name", code="input.not_a_file")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def input_file(path: Path, option: str) -> Path:
    """`path` as one existing file to read; a folder or a missing path is refused."""
    if path.is_dir():
        raise InputError(f"{path} is a folder; {option} wants a file", code="input.not_a_file")
    if not path.exists():
        raise InputError(f"{path}: no such file ({option})", code="input.missing_file")
    return path


@contextmanager
def store_session(database_url: str | None) -> Iterator[Session]:
    """One transaction on the operations store at `database_url` (refused with `store.missing` when there is none;
    nothing is created), the engine disposed of afterwards."""
    from yibao.ops.store import Store

    store = Store.existing(database_url)
    try:
        with store.transaction() as session:
            yield session
    finally:
        store.engine.dispose()
