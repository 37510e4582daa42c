"""Run the walk-throughs of a Markdown doc and compare what they print with what the doc shows.

The convention (docs/design.md, "Docs are tested"):

* a fenced block whose language is `console` is run: each `$ ` line is a command (a line
  ending in a backslash continues it), the lines under it are what it prints (stdout and
  stderr together). A line `...` stands for any number of lines, `...` inside a line for
  any text (times, paths, figures that depend on the machine); a run of spaces counts
  as one and trailing spaces are ignored;
* a `sh` block is run and must succeed; a `python` block is run by the project's Python;
* a block whose info string has `no-run` (`sh no-run`), and any other language, is not run.

Every block of a doc runs in order in one fresh folder, with `yibao` on PATH and `src/`
linked to the repository's (the bundled example files); variables set by a `NAME=value`
command stay set for the rest of the doc.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")


@dataclass(frozen=True)
class Step:
    kind: str  # console, sh or python
    command: str
    expected: tuple[str, ...]  # console only
    line: int  # in the doc, for messages


def steps(markdown: str) -> list[Step]:
    found: list[Step] = []
    for block in FENCE.finditer(markdown):
        words = block["info"].split()
        if not words or "no-run" in words or words[0] not in {"console", "sh", "python"}:
            continue
        first_line = markdown.count("\n", 0, block.start("body")) + 1
        if words[0] == "console":
            found.extend(_console_steps(block["body"], first_line))
        else:
            found.append(Step(words[0], block["body"], (), first_line))
    return found


def _console_steps(body: str, first_line: int) -> list[Step]:
    result: list[Step] = []
    command: list[str] = []
    expected: list[str] = []
    start = first_line
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            if command:
                result.append(Step("console", "\n".join(command), tuple(expected), start))
            command, expected, start = [line[2:]], [], first_line + i
            while command[-1].endswith("\\") and i + 1 < len(lines):
                i += 1
                command.append(lines[i])
        else:
            expected.append(line)
        i += 1
    if command:
        result.append(Step("console", "\n".join(command), tuple(expected), start))
    return result


def matches(expected: tuple[str, ...], printed: list[str]) -> bool:
    """doctest's ELLIPSIS, by lines: `...` alone is any run of lines, inside a line any text."""
    if not expected:
        return not printed
    head, rest = _spaces(expected[0]), expected[1:]
    if head == "...":
        return any(matches(rest, printed[k:]) for k in range(len(printed) + 1))
    if not printed:
        return False
    pattern = ".*".join(re.escape(piece) for piece in head.split("..."))
    return re.fullmatch(pattern, _spaces(printed[0])) is not None and matches(rest, printed[1:])


def _spaces(line: str) -> str:
    """Runs of spaces count as one (table columns are padded to the widest cell); trailing ones as none."""
    return re.sub(r" +", " ", line.rstrip())


def environment(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("COLUMNS", None)
    (folder / "src").symlink_to(ROOT / "src")
    return env


def run_doc(doc: Path, folder: Path, timeout: float = 600) -> list[str]:
    """Every step of `doc` in `folder`; the list of mismatches (empty when the doc and the program agree)."""
    env = environment(folder)
    assignments: list[str] = []
    problems: list[str] = []
    for step in steps(doc.read_text(encoding="utf-8")):
        where = f"{doc.name}:{step.line}"
        if step.kind == "python":
            argv = [sys.executable, "-c", step.command]
        else:
            argv = ["bash", "-c", "set -eo pipefail\n" + "\n".join([*assignments, step.command])]
        done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
        printed = (done.stdout + done.stderr).splitlines()
        if done.returncode != 0 and not (step.kind == "console" and any("error" in e for e in step.expected)):
            problems.append(f"{where}: `{step.command}` exited {done.returncode}:\n{done.stdout}{done.stderr}")
        elif step.kind == "console" and not matches(step.expected, printed):
            shown = "\n".join(step.expected)
            problems.append(f"{where}: `{step.command}` printed\n{chr(10).join(printed)}\nbut the doc shows\n{shown}")
        if step.kind != "python" and ASSIGNMENT.match(step.command):
            assignments.append(step.command)
    return problems
