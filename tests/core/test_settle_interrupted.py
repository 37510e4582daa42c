"""`yibao settle` leaves no temporary file behind: removed when interrupted (Ctrl-C, SIGTERM), and a stale one of
a killed run (SIGKILL) is removed by the next run, while one a live run is writing is kept."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.outfile import TEMP_MARK, remove_stale, temporary_beside

EXAMPLES = Path(__file__).resolve().parents[2] / "src/yibao/schemes/builtin/reference-city/examples"


def _settle(folder: Path) -> object:
    return CliRunner().invoke(app, [
        "settle", "--scheme", "reference-city", "--persons", str(EXAMPLES / "persons.csv"),
        "--claims", str(EXAMPLES / "claims.csv"), "--out", str(folder / "out.csv")])


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_MARK in p.name)


def test_an_interrupted_write_removes_its_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: pl.DataFrame, path: Path, **_: object) -> None:
        Path(path).write_text("claim_id\nB0001\n")  # half-written
        raise KeyboardInterrupt

    monkeypatch.setattr(pl.DataFrame, "write_csv", interrupted)
    result = _settle(tmp_path)
    assert result.exit_code == 130  # Ctrl-C (Click: Aborted)
    assert list(tmp_path.iterdir()) == []


def _child(code: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(folder)], capture_output=True, text=True,
                          timeout=120)


def test_sigterm_while_writing_removes_the_temporary_file(tmp_path: Path) -> None:
    done = _child("""
        import os, signal, sys, time
        from pathlib import Path
        from yibao.outfile import temporary_beside
        with temporary_beside(Path(sys.argv[1]) / "out.csv") as tmp:
            tmp.write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
            tmp.replace(Path(sys.argv[1]) / "out.csv")
    """, tmp_path)
    assert done.returncode != 0 and "Stopped" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_next_run_removes_the_stale_file_of_a_killed_run_but_not_a_live_ones(tmp_path: Path) -> None:
    killed = _child("""
        import os, signal, sys
        from pathlib import Path
        from yibao.outfile import temporary_beside
        with temporary_beside(Path(sys.argv[1]) / "out.csv") as tmp:
            tmp.write_text("half")
            os.kill(os.getpid(), signal.SIGKILL)
    """, tmp_path)
    assert killed.returncode == -9
    stale = _temps(tmp_path)
    assert len(stale) == 1 and stale[0].startswith(".out.csv" + TEMP_MARK)
    live = tmp_path / f".out.csv{TEMP_MARK}live"
    live.write_text("another run writing")
    other = tmp_path / ".other.csv.keep"  # not ours
    shutil.copy(live, other)
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a live run holds it
        result = _settle(tmp_path)
        assert result.exit_code == 0, result.output
    finally:
        os.close(fd)
    assert _temps(tmp_path) == [live.name] and other.exists()
    assert pl.read_csv(tmp_path / "out.csv").height > 0
    assert remove_stale(tmp_path / "out.csv") == [live]  # once its writer is gone


def test_a_finished_write_leaves_only_the_output(tmp_path: Path) -> None:
    with temporary_beside(tmp_path / "x.csv") as tmp:
        tmp.write_text("a\n1\n")
        tmp.replace(tmp_path / "x.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]
