"""Every walk-through of README.md and docs/*.md runs as written and prints what the doc shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.walkthrough import ROOT, matches, run_doc, steps

# Docs whose walk-through is commands only.
DOCS = ["README.md", "docs/synth.md", "docs/lab.md", "docs/audit.md", "docs/products.md"]
# Docs whose walk-through runs against `yibao serve`: the test starts one for each (walkthrough.service).
SERVICE_DOCS = ["docs/operations.md", "docs/mutual-aid.md", "docs/contracts.md"]


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS)
def test_walkthrough(doc: str, tmp_path: Path) -> None:
    assert steps((ROOT / doc).read_text(encoding="utf-8")), f"{doc} has no walk-through to run"
    problems = run_doc(ROOT / doc, tmp_path)
    assert not problems, "\n\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("doc", SERVICE_DOCS)
def test_api_walkthrough(doc: str, tmp_path: Path) -> None:
    """The doc's curl blocks against a `yibao serve` started for it (`$API`, `$ADMIN_PASSWORD`)."""
    assert steps((ROOT / doc).read_text(encoding="utf-8")), f"{doc} has no walk-through to run"
    problems = run_doc(ROOT / doc, tmp_path, serve=True)
    assert not problems, "\n\n".join(problems)


def test_every_doc_with_a_walkthrough_is_run() -> None:
    """A doc with a block the test would run is in one of the lists, so a new walk-through cannot be left out."""
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    with_steps = {str(d.relative_to(ROOT)) for d in docs if steps(d.read_text(encoding="utf-8"))}
    assert with_steps == set(DOCS) | set(SERVICE_DOCS)


def test_variables_set_by_a_block_stay_set(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```sh\nJ='a b'\nN=$(echo 3)\n```\n```console\n$ echo \"$J $N\"\na b 3\n```\n", encoding="utf-8")
    (tmp_path / "run").mkdir()
    assert run_doc(doc, tmp_path / "run") == []


def test_console_blocks_are_read_as_commands_and_output() -> None:
    doc = "```console\n$ echo a \\\n  b\na b\n$ true\n```\n```sh no-run\nexit 1\n```\n```python\nprint(1)\n```\n"
    found = steps(doc)
    assert [(s.kind, s.command, s.expected) for s in found] == [
        ("console", "echo a \\\n  b", ("a b",)), ("console", "true", ()), ("python", "print(1)\n", ()),
    ]


def test_a_plain_block_right_under_a_sh_block_is_its_output() -> None:
    doc = "```sh\necho a\necho b\n```\n```\na\n...\n```\n\n```sh\ntrue\n```\ntext\n```\nnot output\n```\n"
    assert [(s.kind, s.command, s.expected) for s in steps(doc)] == [
        ("console", "echo a\necho b\n", ("a", "...")), ("sh", "true\n", ()),
    ]


def test_ellipsis_matches_lines_and_text() -> None:
    assert matches(("a", "...", "z"), ["a", "b", "c", "z"])
    assert matches(("took ... s",), ["took 1.2 s"])
    assert not matches(("a", "z"), ["a", "b", "z"])
    assert not matches(("took ... s",), ["took 1.2 ms!"])


def test_a_doc_that_disagrees_with_the_program_is_reported(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```console\n$ yibao --version\nyibao 0.0.0-not-this\n```\n", encoding="utf-8")
    (tmp_path / "run").mkdir()
    problems = run_doc(doc, tmp_path / "run")
    assert len(problems) == 1 and "yibao 0.0.0-not-this" in problems[0]
