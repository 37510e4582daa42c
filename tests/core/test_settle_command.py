"""`yibao settle` end to end: the file contract, explanations, and every kind of bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.core.errors import InputError

EXAMPLES = Path(__file__).resolve().parents[2] / "src/yibao/schemes/builtin/reference-city/examples"
runner = CliRunner()


@pytest.fixture()
def files(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLES / "persons.csv", tmp_path / "persons.csv")
    shutil.copy(EXAMPLES / "claims.csv", tmp_path / "claims.csv")
    return tmp_path


def settle(folder: Path, *extra: str, out: str = "out.csv") -> object:
    args = ["settle", "--scheme", "reference-city", "--persons", str(folder / "persons.csv"),
            "--claims", str(folder / "claims.csv"), "--out", str(folder / out), *extra]  # fmt: skip
    return runner.invoke(app, args)


def test_writes_one_row_per_claim_in_input_order_in_yuan(files: Path) -> None:
    result = settle(files)
    assert result.exit_code == 0, result.output
    out = pl.read_csv(files / "out.csv", infer_schema=False)
    claims = pl.read_csv(files / "claims.csv", infer_schema=False)
    assert out.columns == ["claim_id", "paid_basic", "paid_large_amount_subsidy", "paid_serious_illness",
                           "paid_assistance", "paid_huiminbao", "paid_individual_account", "out_of_pocket"]  # fmt: skip
    assert out["claim_id"].to_list() == claims["claim_id"].to_list()
    b3 = out.filter(pl.col("claim_id") == "B0003").row(0, named=True)
    assert b3["paid_basic"] == "37732.50" and b3["out_of_pocket"] == "27325.40"
    # payments + out of pocket = the bill, to the fen
    for row, bill in zip(out.iter_rows(named=True), claims.iter_rows(named=True), strict=True):
        paid = sum(Decimal(v) for k, v in row.items() if k != "claim_id")
        total = sum(Decimal(bill[k]) for k in bill if k.startswith("amount_"))
        assert paid == total


def test_parquet_out_and_scalar_engine_agree_with_batch(files: Path) -> None:
    assert settle(files, out="batch.parquet").exit_code == 0
    assert settle(files, "--engine", "scalar", out="scalar.parquet").exit_code == 0
    batch, scalar = pl.read_parquet(files / "batch.parquet"), pl.read_parquet(files / "scalar.parquet")
    assert batch.equals(scalar)
    assert batch.schema["paid_basic"] == pl.Decimal(18, 2)


def test_claims_order_does_not_change_payments(files: Path) -> None:
    settle(files, out="forward.csv")
    claims = pl.read_csv(files / "claims.csv", infer_schema=False)
    claims.reverse().write_csv(files / "claims.csv")
    settle(files, out="backward.csv")
    forward = pl.read_csv(files / "forward.csv", infer_schema=False).sort("claim_id")
    backward = pl.read_csv(files / "backward.csv", infer_schema=False)
    assert backward["claim_id"].to_list() == claims.reverse()["claim_id"].to_list()
    assert backward.sort("claim_id").equals(forward)


def test_reform_and_explain_in_both_languages(files: Path) -> None:
    base = settle(files, "--explain", "B0003")
    reformed = settle(files, "--reform", "si-threshold-halved", "--explain", "B0003", "--lang", "zh", out="r.csv")
    assert base.exit_code == 0 and reformed.exit_code == 0
    assert "Serious-illness insurance" in base.output and "deductible" in base.output
    assert "大病保险" in reformed.output and "起付线" in reformed.output and "惠民保" in reformed.output
    before = pl.read_csv(files / "out.csv", infer_schema=False)
    after = pl.read_csv(files / "r.csv", infer_schema=False)
    assert sum(Decimal(v) for v in after["paid_serious_illness"]) > sum(Decimal(v) for v in before["paid_serious_illness"])


def test_empty_claims_file_gives_an_empty_output_with_the_header(files: Path) -> None:
    (files / "claims.csv").write_text((files / "claims.csv").read_text().splitlines()[0] + "\n")
    result = settle(files)
    assert result.exit_code == 0, result.output
    assert (files / "out.csv").read_text().strip() == (
        "claim_id,paid_basic,paid_large_amount_subsidy,paid_serious_illness,paid_assistance,paid_huiminbao,"
        "paid_individual_account,out_of_pocket"
    )


def test_individual_account_balances_in_the_persons_file_lower_the_cash_paid(files: Path) -> None:
    """The example persons with balances: E001 3,000 yuan, E002 20,000 yuan (the others none given: 0).

    E0001: in the catalogue 15,000 - basic 12,155 = 2,845 is left: the account pays it; 600 self-pay is cash.
    E0002: 1,200 - basic 877.50 = 322.50 left, 155 left in the account: it pays 155; cash 167.50.
    E0003 (retiree, Huiminbao with a pre-existing condition): basic 162,016; Huiminbao's in-catalogue part
    40% x (200,000 - 162,016 - 20,000) = 7,193.60; in the catalogue 200,000 - 162,016 - 7,193.60 = 30,790.40 is
    left, the account holds 20,000: it pays 20,000; cash 66,790.40 - 20,000 = 46,790.40."""
    persons = pl.read_csv(files / "persons.csv", infer_schema=False)
    balances = {"E001": "3000.00", "E002": "20000"}
    persons.with_columns(
        pl.col("person_id").replace_strict(balances, default="0").alias("individual_account_balance")
    ).write_csv(files / "persons.csv")
    for engine in ("batch", "scalar"):
        assert settle(files, "--engine", engine, out=f"{engine}.csv").exit_code == 0
    out = pl.read_csv(files / "batch.csv", infer_schema=False)
    assert out.equals(pl.read_csv(files / "scalar.csv", infer_schema=False))
    rows = {row["claim_id"]: row for row in out.iter_rows(named=True)}
    assert (rows["E0001"]["paid_individual_account"], rows["E0001"]["out_of_pocket"]) == ("2845.00", "600.00")
    assert (rows["E0002"]["paid_individual_account"], rows["E0002"]["out_of_pocket"]) == ("155.00", "167.50")
    assert (rows["E0003"]["paid_individual_account"], rows["E0003"]["out_of_pocket"]) == ("20000.00", "46790.40")
    assert all(rows[c]["paid_individual_account"] == "0.00" for c in rows if c.startswith("B"))


def test_a_bad_balance_names_the_file_line_and_column(files: Path) -> None:
    persons = pl.read_csv(files / "persons.csv", infer_schema=False)
    persons.with_columns(pl.Series("individual_account_balance", ["0", "0", "-5", "0", "0", "0"])).write_csv(
        files / "persons.csv"
    )
    result = settle(files)
    assert result.exit_code != 0
    message = result.output + str(result.exception)
    assert "persons.csv, line 4, column 'individual_account_balance'" in message and "negative" in message


def _edit(path: Path, line: int, column: str, value: str) -> None:
    frame = pl.read_csv(path, infer_schema=False)
    row = line - 2
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )
    frame.write_csv(path)


BAD_CLAIMS = [
    ("person_id", "NOBODY", "unknown person"),
    ("amount_class_a", "-5.00", "negative"),
    ("amount_class_b", "abc", "not an amount"),
    ("amount_self_pay", "10.123", "more than two decimals"),
    ("service_date", "2024-02-30", "not a date"),
    ("service_date", "2023-12-31", "before scheme"),
    ("facility_level", "4", "not one of"),
    ("care_type", "dental", "not one of"),
    ("claim_id", "B0001", "duplicate claim_id"),
]


@pytest.mark.parametrize(("column", "value", "why"), BAD_CLAIMS)
def test_bad_claim_values_name_file_line_and_column_and_write_nothing(
    files: Path, column: str, value: str, why: str
) -> None:
    _edit(files / "claims.csv", 5, column, value)
    result = settle(files)
    assert isinstance(result.exception, InputError), result.output
    message = str(result.exception)
    assert f"{files / 'claims.csv'}, line 5, column {column!r}" in message
    assert why in message
    assert not (files / "out.csv").exists()
    assert not list(files.glob(".out.csv*"))  # no temporary left behind either


def test_bad_person_value_is_reported_against_the_persons_file(files: Path) -> None:
    _edit(files / "persons.csv", 3, "scheme", "nhs")
    result = settle(files)
    assert isinstance(result.exception, InputError)
    assert f"{files / 'persons.csv'}, line 3, column 'scheme'" in str(result.exception)
    assert not (files / "out.csv").exists()


def test_missing_column(files: Path) -> None:
    pl.read_csv(files / "claims.csv", infer_schema=False).drop("care_type").write_csv(files / "claims.csv")
    result = settle(files)
    assert isinstance(result.exception, InputError)
    assert "line 1" in str(result.exception) and "care_type" in str(result.exception)
    assert not (files / "out.csv").exists()


def test_unknown_claim_to_explain(files: Path) -> None:
    result = settle(files, "--explain", "NOPE")
    assert isinstance(result.exception, InputError) and "NOPE" in str(result.exception)


def test_parquet_inputs_with_decimal_amounts(files: Path) -> None:
    claims = pl.read_csv(files / "claims.csv", infer_schema=False)
    claims = claims.with_columns([pl.col(c).cast(pl.Decimal(14, 2)) for c in claims.columns if c.startswith("amount_")])
    claims.write_parquet(files / "claims.parquet")
    pl.read_csv(files / "persons.csv", infer_schema=False).write_parquet(files / "persons.parquet")
    args = ["settle", "--scheme", "reference-city", "--persons", str(files / "persons.parquet"),
            "--claims", str(files / "claims.parquet"), "--out", str(files / "p.csv")]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    assert settle(files).exit_code == 0
    assert (files / "p.csv").read_text() == (files / "out.csv").read_text()


def test_the_installed_command_reports_errors_without_a_traceback(files: Path) -> None:
    _edit(files / "claims.csv", 3, "amount_class_a", "1.999")
    proc = subprocess.run(
        [sys.executable, "-c", "from yibao.cli.main import main; main()", "settle", "--scheme", "reference-city",
         "--persons", str(files / "persons.csv"), "--claims", str(files / "claims.csv"), "--out", str(files / "o.csv")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "line 3" in proc.stderr and "amount_class_a" in proc.stderr and "Traceback" not in proc.stderr
    assert not (files / "o.csv").exists()
