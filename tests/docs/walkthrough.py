"""Run the walk-throughs of a Markdown doc and compare what they print with what the doc shows.

The convention (docs/design.md, "Docs are tested"):

* a fenced block whose language is `console` is run: each `$ ` line is a command (a line
  ending in a backslash continues it), the lines under it are what it prints (stdout and
  stderr together). A line `...` stands for any number of lines, `...` inside a line for
  any text (times, paths, figures that depend on the machine); a run of spaces counts
  as one and trailing spaces are ignored;
* a `sh` block is run and must succeed; when a plain block (no language) follows it directly,
  that block is what it prints, compared as for `console`; a `python` block is run by the
  project's Python;
* a block whose info string has `no-run` (`sh no-run`), and any other language, is not run.

Every block of a doc runs in order in one fresh folder, with `yibao` on PATH and `src/`
linked to the repository's (the bundled example files); shell variables set by a block stay
set for the rest of the doc.

A doc that talks to the service (`curl` against `yibao serve`) runs with one started for it
in that folder on a free loopback port, whose base URL is `$API` and whose first
administrator's password (printed once at the first start) is `$ADMIN_PASSWORD`;
`YIBAO_PAYMENT_SECRET` is `demo-shared-secret`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)
FIRST_ADMIN = re.compile(r"first run: admin user admin password (\S+)")
PAYMENT_SECRET = "demo-shared-secret"


@dataclass(frozen=True)
class Step:
    kind: str  # console, sh or python
    command: str
    expected: tuple[str, ...]  # console only
    line: int  # in the doc, for messages


def steps(markdown: str) -> list[Step]:
    found: list[Step] = []
    blocks = list(FENCE.finditer(markdown))
    for block, after in zip(blocks, [*blocks[1:], None], strict=True):
        words = block["info"].split()
        if not words or "no-run" in words or words[0] not in {"console", "sh", "python"}:
            continue
        first_line = markdown.count("\n", 0, block.start("body")) + 1
        if words[0] == "console":
            found.extend(_console_steps(block["body"], first_line))
        elif words[0] == "sh" and after is not None and _output_of(block, after, markdown):
            found.append(Step("console", block["body"], tuple(after["body"].splitlines()), first_line))
        else:
            found.append(Step(words[0], block["body"], (), first_line))
    return found


def _output_of(block: re.Match[str], after: re.Match[str], markdown: str) -> bool:
    """A plain block right under a `sh` block is what the `sh` block prints."""
    return not after["info"].strip() and not markdown[block.end():after.start()].strip()


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def service(folder: Path, env: dict[str, str], timeout: float = 60) -> Iterator[dict[str, str]]:
    """`yibao serve` in `folder` on a free loopback port; the variables a doc's blocks use to reach it."""
    port = _free_port()
    env = {**env, "YIBAO_PAYMENT_SECRET": PAYMENT_SECRET, "PYTHONUNBUFFERED": "1"}
    env.pop("YIBAO_DATABASE_URL", None)
    with tempfile.TemporaryDirectory() as logs:
        log = Path(logs) / "serve.log"
        with log.open("w") as out:
            server = subprocess.Popen([str(Path(sys.executable).parent / "yibao"), "serve", "--port", str(port)],
                                      cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while not (found := FIRST_ADMIN.search(log.read_text())):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"yibao serve did not start:\n{log.read_text()}")
                time.sleep(0.1)
            yield {"API": f"http://127.0.0.1:{port}", "ADMIN_PASSWORD": found[1],
                   "YIBAO_PAYMENT_SECRET": PAYMENT_SECRET}
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def run_doc(doc: Path, folder: Path, timeout: float = 600, serve: bool = False) -> list[str]:
    """Every step of `doc` in `folder` (with a service when `serve`); the mismatches (none when they agree)."""
    env = environment(folder)
    if not serve:
        return _run_steps(doc, folder, env, timeout)
    with service(folder, env) as variables:
        return _run_steps(doc, folder, {**env, **variables}, timeout)


def _run_steps(doc: Path, folder: Path, env: dict[str, str], timeout: float) -> list[str]:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as state_dir:
        state = Path(state_dir) / "variables.sh"  # what each shell block leaves set, for the next ones
        state.write_text("")
        for step in steps(doc.read_text(encoding="utf-8")):
            where = f"{doc.name}:{step.line}"
            if step.kind == "python":
                argv = [sys.executable, "-c", step.command]
            else:
                script = "set -a\n. \"$WALKTHROUGH_STATE\"\nset -eo pipefail\n"
                argv = ["bash", "-c", script + "trap 'export -p > \"$WALKTHROUGH_STATE\"' EXIT\n" + step.command]
            done = subprocess.run(argv, cwd=folder, env={**env, "WALKTHROUGH_STATE": str(state)}, capture_output=True, text=True, timeout=timeout)
            printed = (done.stdout + done.stderr).splitlines()
            if done.returncode != 0 and not (step.kind == "console" and any("error" in e for e in step.expected)):
                problems.append(f"{where}: `{step.command}` exited {done.returncode}:\n{done.stdout}{done.stderr}")
            elif step.kind == "console" and not matches(step.expected, printed):
                shown = "\n".join(step.expected)
                problems.append(f"{where}: `{step.command}` printed\n{chr(10).join(printed)}\nbut the doc shows\n{shown}")
    return problems
