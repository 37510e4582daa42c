"""Bad input to `yibao audit twin`: an error naming file, line and column, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.audit.twin_cases import (
    EMPLOYER_A,
    employers,
    make_ric,
    mistype,
    seen,
    worker,
    write_csv,
)
from yibao.cli.main import app
from yibao.core.errors import InputError

GOOD = make_ric("19900115", 11)


def _files(tmp: Path, workers: list[dict[str, str]], observations: list[dict[str, str]],
           firms: list[dict[str, str]] | None = None) -> list[str]:  # fmt: skip
    w = write_csv(workers, tmp / "workers.csv")
    i = write_csv(observations, tmp / "inspections.csv")
    e = write_csv(firms if firms is not None else employers(), tmp / "employers.csv")
    return ["audit", "twin", "--workers", str(w), "--inspections", str(i), "--employers", str(e),
            "--year", "2024", "--out", str(tmp / "out")]  # fmt: skip


def _fails(tmp: Path, args: list[str]) -> InputError:
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, InputError), result.output
    assert not (tmp / "out").exists()
    return result.exception


def _ok_workers() -> list[dict[str, str]]:
    return [worker("P1", GOOD, "张三", "1990-01-15", "M", EMPLOYER_A, "8000.00")]


def _ok_seen() -> list[dict[str, str]]:
    return [seen("I1", EMPLOYER_A, GOOD, "张三", "1990-01-15", "M", "8000.00")]


def test_good_files_write_flags_and_employers(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, _files(tmp_path, _ok_workers(), _ok_seen()))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "flags.csv").read_text().startswith("inspection_id,employer_uscc,kind,person_id,match")
    assert "employer_uscc,name,region,observed,matched" in (tmp_path / "out" / "employers.csv").read_text()


def test_malformed_identity_number_in_workers(tmp_path: Path) -> None:
    rows = [*_ok_workers(), worker("P2", mistype(GOOD, 5), "李四", "1990-01-15", "M", EMPLOYER_A, "8000.00")]
    error = _fails(tmp_path, _files(tmp_path, rows, _ok_seen()))
    assert (error.file, error.line, error.column) == (str(tmp_path / "workers.csv"), 3, "ric")


def test_malformed_uscc_in_workers_and_in_employers(tmp_path: Path) -> None:
    bad = EMPLOYER_A[:-1] + ("0" if EMPLOYER_A[-1] != "0" else "1")
    rows = [worker("P1", GOOD, "张三", "1990-01-15", "M", bad, "8000.00")]
    error = _fails(tmp_path, _files(tmp_path, rows, _ok_seen()))
    assert (error.line, error.column) == (2, "employer_uscc") and error.file and error.file.endswith("workers.csv")
    firms = employers()
    firms[1]["employer_uscc"] = "123"
    error = _fails(tmp_path, _files(tmp_path, _ok_workers(), _ok_seen(), firms))
    assert (error.line, error.column) == (3, "employer_uscc") and error.file and error.file.endswith("employers.csv")


@pytest.mark.parametrize("table", ["workers", "inspections"])
def test_negative_amount(tmp_path: Path, table: str) -> None:
    workers, observed = _ok_workers(), _ok_seen()
    if table == "workers":
        workers[0]["declared_base"] = "-1.00"
    else:
        observed[0]["monthly_wage"] = "-8000.00"
    error = _fails(tmp_path, _files(tmp_path, workers, observed))
    assert error.line == 2 and error.column in {"declared_base", "monthly_wage"} and "negative" in error.message


def test_missing_column(tmp_path: Path) -> None:
    observed = [{k: v for k, v in row.items() if k != "birth_date"} for row in _ok_seen()]
    error = _fails(tmp_path, _files(tmp_path, _ok_workers(), observed))
    assert error.code == "input.missing_column" and "birth_date" in error.message and "inspections.csv" in error.message


def test_invalid_number_in_inspections_is_data_not_an_error(tmp_path: Path) -> None:
    observed = [seen("I1", EMPLOYER_A, mistype(GOOD, 3), "张三", "1990-01-15", "M", "8000.00"),
                seen("I2", EMPLOYER_A, "not a number", "李四", "1991-01-15", "F", "8000.00")]  # fmt: skip
    result = CliRunner().invoke(app, _files(tmp_path, _ok_workers(), observed))
    assert result.exit_code == 0, result.output
    flags = (tmp_path / "out" / "flags.csv").read_text()
    assert "I2" in flags and "I1" not in flags  # I1 is the insured 张三 with a mistyped number


def test_inspection_of_an_unknown_employer(tmp_path: Path) -> None:
    observed = [seen("I1", "91370202MA9999999X", GOOD, "张三", "1990-01-15", "M", "8000.00")]
    error = _fails(tmp_path, _files(tmp_path, _ok_workers(), observed))
    assert (error.line, error.column) == (2, "employer_uscc")


def test_a_person_twice_at_one_employer_is_an_error_at_two_employers_is_not(tmp_path: Path) -> None:
    from tests.audit.twin_cases import EMPLOYER_B

    two_jobs = [*_ok_workers(), worker("P1", GOOD, "张三", "1990-01-15", "M", EMPLOYER_B, "3000.00")]
    result = CliRunner().invoke(app, _files(tmp_path, two_jobs, _ok_seen()))
    assert result.exit_code == 0, result.output
    assert "I1" not in (tmp_path / "out" / "flags.csv").read_text()  # insured at A, where it was seen
    twice = [*_ok_workers(), *_ok_workers()]
    error = _fails(tmp_path / "again", _files(_mkdir(tmp_path / "again"), twice, _ok_seen()))
    assert (error.line, error.column) == (3, "person_id")


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_errors_name_the_line_in_the_whole_file_when_read_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yibao.audit.twin_tables as twin_tables

    monkeypatch.setattr(twin_tables, "PART_ROWS", 2)
    rows = [worker(f"P{i}", make_ric("19900115", 2 * i + 1), f"工{i}", "1990-01-15", "M", EMPLOYER_A, "8000.00")
            for i in range(7)]  # fmt: skip
    rows[5]["declared_base"] = "-1.00"
    error = _fails(tmp_path, _files(tmp_path, rows, _ok_seen()))
    assert (error.line, error.column) == (7, "declared_base")
    rows[5]["declared_base"] = "8000.00"
    rows[6]["person_id"] = "P1"  # P1 again at the same employer, in another part
    error = _fails(tmp_path, _files(tmp_path, rows, _ok_seen()))
    assert (error.line, error.column) == (8, "person_id")
    good = CliRunner().invoke(app, _files(tmp_path, rows[:6], _ok_seen() * 1))
    assert good.exit_code == 0, good.output


def test_duplicate_inspection_id(tmp_path: Path) -> None:
    observed = [*_ok_seen(), seen("I2", EMPLOYER_A, "", "李四", "1991-01-15", "F", "8000.00"), *_ok_seen()]
    error = _fails(tmp_path, _files(tmp_path, _ok_workers(), observed))
    assert (error.line, error.column, error.code) == (4, "inspection_id", "input.duplicate")
    assert "first at line 2" in error.message


def test_parquet_read_in_parts_names_the_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import polars as pl

    import yibao.audit.twin_tables as twin_tables

    monkeypatch.setattr(twin_tables, "PART_ROWS", 2)
    rows = [worker(f"P{i}", make_ric("19900115", 2 * i + 1), f"工{i}", "1990-01-15", "M", EMPLOYER_A, "8000.00")
            for i in range(7)]  # fmt: skip
    rows[4]["ric"] = mistype(rows[4]["ric"], 2)
    pl.DataFrame(rows).write_parquet(tmp_path / "workers.parquet")
    with pytest.raises(InputError, match=r"workers.parquet, row 5, column 'ric'"):
        twin_tables.read_workers(tmp_path / "workers.parquet")
