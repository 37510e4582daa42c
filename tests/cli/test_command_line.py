"""The command line reads the same everywhere: readable value names in --help, --out as the help says, --version."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from yibao.cli.helptypes import readable
from yibao.cli.main import app
from yibao.core.errors import YibaoError

runner = CliRunner()
RAW_TYPES = re.compile(r"<(bool|int|float|str|path|file|directory|datetime|Decimal)>|list\[|%[YmdHMS]|<class ")


def commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield path
        if hasattr(command, "commands"):  # a group (Typer's own click)
            yield from commands(command, path)


ALL = sorted(commands(typer.main.get_command(app)))


def test_every_command_is_listed() -> None:
    assert {("settle",), ("lab", "run"), ("contracts", "reconcile"), ("mutual-aid", "simulate")} <= set(ALL)


@pytest.mark.parametrize("path", [(), *ALL], ids=lambda p: " ".join(p) or "yibao")
def test_help_names_values_as_a_user_types_them(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    raw = RAW_TYPES.findall(result.output)
    assert not raw, f"yibao {' '.join(path)} --help shows Python types {raw}:\n{result.output}"


def test_readable_names() -> None:
    assert readable("<list[str]>") == "TEXT" and readable("<%Y-%m-%d>") == "YYYY-MM-DD"
    assert readable("<int>") == "INTEGER" and readable("<en|zh>") == "en|zh" and readable("<path>") == "PATH"


def out_metavar(path: tuple[str, ...]) -> str | None:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    option = next((p for p in command.params if "--out" in p.opts), None)
    return None if option is None else option.metavar


# Commands whose --out writes several files (a folder) or one file, each with the arguments it needs to start.
FOLDER_OUT = {
    ("synth",): ["--people", "10"],
    ("demo",): ["--people", "10"],
    ("lab", "run"): ["--scheme", "reference-city", "--persons", "p.csv", "--claims", "c.csv"],
    ("mutual-aid", "example"): [],
    ("mutual-aid", "simulate"): ["--months", "16", "--no-levers"],
    ("mutual-aid", "apportion"): ["--notice-date", "2020-04-21", "--members", "m.parquet", "--cases", "c.csv"],
    ("mutual-aid", "disclose"): ["--summary", "s.json", "--cases", "c.csv"],
    ("contracts", "evaluate"): ["--people", "10", "--years", "10"],
}
FILE_OUT = {
    ("settle",): ["--scheme", "reference-city", "--persons", "p.csv", "--claims", "c.csv"],
    ("contracts", "reconcile"): ["--claims-paid", "100", "--enrollees", "10"],
}


@pytest.mark.parametrize("path", list(FOLDER_OUT), ids=" ".join)
def test_an_out_folder_is_said_and_a_file_refused(path: tuple[str, ...], tmp_path: Path) -> None:
    assert out_metavar(path) == "DIR"
    help_text = runner.invoke(app, [*path, "--help"], terminal_width=200).output
    assert re.search(r"--out\s+DIR\s+Folder", help_text), help_text
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    result = runner.invoke(app, [*path, *FOLDER_OUT[path], "--out", str(a_file)])
    assert isinstance(result.exception, YibaoError), result.output
    assert result.exception.code == "input.not_a_folder" and a_file.read_text() == "not a folder"


@pytest.mark.parametrize("path", list(FILE_OUT), ids=" ".join)
def test_an_out_file_is_said_and_a_folder_refused(path: tuple[str, ...], tmp_path: Path) -> None:
    assert out_metavar(path) == "FILE"
    folder = tmp_path / "a-folder.csv"
    folder.mkdir()
    result = runner.invoke(app, [*path, *FILE_OUT[path], "--out", str(folder)])
    assert isinstance(result.exception, YibaoError), result.output
    assert result.exception.code == "input.not_a_file"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and re.fullmatch(r"yibao \d+\.\d+\S*\n", result.output)


@pytest.mark.slow
def test_the_mutual_aid_example_shows_a_typical_period(tmp_path: Path) -> None:
    """Its defaults give a charge of a few yuan with no case above the case cap (not a shortfall)."""
    import json

    assert runner.invoke(app, ["mutual-aid", "example", "--out", str(tmp_path / "ex")]).exit_code == 0
    result = runner.invoke(app, ["mutual-aid", "apportion", "--notice-date", "2020-04-21",
                                 "--members", str(tmp_path / "ex/members.parquet"),
                                 "--cases", str(tmp_path / "ex/cases.csv"), "--out", str(tmp_path / "ap")])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "ap/summary.json").read_text(encoding="utf-8"))
    assert summary["case_cap_shortfall"] in (0, "0.00") and summary["year_cap_shortfall"] in (0, "0.00")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["mutual-aid", "disclose", "--summary", "{folder}", "--cases", "{file}", "--out", "{new}"], "input.not_a_file"),
        (["mutual-aid", "apportion", "--notice-date", "2020-04-21", "--members", "{file}", "--cases", "{folder}",
          "--out", "{new}"], "input.not_a_file"),
        (["settle", "--scheme", "reference-city", "--persons", "{missing}", "--claims", "{file}", "--out", "{new}.csv"],
         "input.not_found"),
    ],
)  # fmt: skip
def test_a_path_of_the_wrong_kind_is_named_in_one_line(args: list[str], code: str, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.csv").write_text("x\n")
    paths = {"folder": tmp_path / "folder", "file": tmp_path / "file.csv", "new": tmp_path / "new",
             "missing": tmp_path / "missing.csv"}  # fmt: skip
    result = runner.invoke(app, [a.format(**{k: str(v) for k, v in paths.items()}) for a in args])
    assert isinstance(result.exception, YibaoError) and result.exception.code == code, result.output
    assert "\n" not in result.exception.message and not (tmp_path / "new").exists()
