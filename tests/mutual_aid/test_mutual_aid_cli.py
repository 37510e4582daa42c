"""`yibao mutual-aid ...` end to end on small files."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.core.errors import YibaoError

runner = CliRunner(env={"COLUMNS": "200"})


def invoke(*args: str) -> object:
    return runner.invoke(app, ["mutual-aid", *args], catch_exceptions=True)


def test_example_apportion_disclose(tmp_path: Path) -> None:
    result = invoke("example", "--out", str(tmp_path), "--members", "20000", "--cases", "12", "--seed", "3")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = invoke("apportion", "--members", str(tmp_path / "members.parquet"), "--cases", str(tmp_path / "cases.csv"),
                    "--notice-date", "2020-04-21", "--out", str(out), "--surplus-in", "-10.00")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    charges = pq.read_table(out / "charges")
    assert charges.num_rows == 20_000
    total = sum(int(c.as_py() * 100) for c in charges.column("charge"))
    assert f"{total // 100}.{total % 100:02d}" == summary["collected"]
    assert summary["surplus_in"] == "-10.00" and summary["cases"] == 12
    result = invoke("disclose", "--summary", str(out / "summary.json"), "--cases", str(tmp_path / "cases.csv"),
                    "--out", str(tmp_path / "public"))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "public" / "disclosure-2020-04-21.html").read_text(encoding="utf-8")
    assert summary["per_member_charge"] in html


def test_bad_case_row_refuses_the_file(tmp_path: Path) -> None:
    invoke("example", "--out", str(tmp_path), "--members", "100", "--cases", "3")
    cases = tmp_path / "cases.csv"
    lines = cases.read_text(encoding="utf-8").splitlines()
    fields = lines[2].split(",")
    fields[3] = "J18.9"  # pneumonia: not covered
    lines[2] = ",".join(fields)
    cases.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke("apportion", "--members", str(tmp_path / "members.parquet"), "--cases", str(cases),
                    "--notice-date", "2020-04-21", "--out", str(tmp_path / "out"))
    assert isinstance(result.exception, YibaoError)
    assert result.exception.code == "mutual_aid.not_covered" and "line 3" in str(result.exception)
    assert not (tmp_path / "out" / "summary.json").exists()


def test_wrong_notice_day(tmp_path: Path) -> None:
    invoke("example", "--out", str(tmp_path), "--members", "100", "--cases", "3")
    result = invoke("apportion", "--members", str(tmp_path / "members.parquet"), "--cases", str(tmp_path / "cases.csv"),
                    "--notice-date", "2020-04-22", "--out", str(tmp_path / "out"))
    assert isinstance(result.exception, YibaoError) and result.exception.code == "mutual_aid.not_a_notice_day"


def test_plans_and_simulate(tmp_path: Path) -> None:
    result = invoke("plans")
    assert result.exit_code == 0 and "xianghubao-2020/senior" in result.output
    result = invoke("simulate", "--out", str(tmp_path / "sim"), "--months", "40", "--no-levers", "--age-banded",
                    "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "29.17" in result.output and "age-banded pricing" in result.output
    report = (tmp_path / "sim" / "report.html").read_text(encoding="utf-8")
    assert report.count("<svg") == 4 and '<html lang="en">' in report
    assert len((tmp_path / "sim" / "months.csv").read_text(encoding="utf-8").splitlines()) == 41
    # --out is a folder: an existing one is written into, a file is refused in one line
    again = invoke("simulate", "--out", str(tmp_path / "sim"), "--months", "16", "--no-levers")  # zh by default
    assert again.exit_code == 0, again.output
    assert "死亡螺旋" in (tmp_path / "sim" / "report.html").read_text(encoding="utf-8")
    (tmp_path / "file").write_text("x")
    refused = invoke("simulate", "--out", str(tmp_path / "file"), "--months", "16", "--no-levers")
    assert isinstance(refused.exception, YibaoError) and refused.exception.code == "input.not_a_folder"
