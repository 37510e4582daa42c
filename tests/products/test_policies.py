"""Reading a policies file: premiums at the start, and errors naming file, line and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from yibao.core.errors import InputError
from yibao.products import builtin_products
from yibao.products.policies import read_policies

BIRTHS = {"A1": date(1980, 7, 15), "A2": date(1960, 1, 1)}
PRODUCTS = {p.id: p for p in builtin_products()}
HEADER = "policy_id,person_id,product,start_date,end_date\n"


def _csv(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "policies.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_good_file_with_premiums_at_the_start(tmp_path: Path) -> None:
    path = _csv(tmp_path, "P1,A1,million-medical,2021-07-15,2022-07-14\n"
                          "P2,A1,million-medical,2022-07-15,2023-07-14\n"
                          "P3,A2,rural-small-value,2021-01-01,2021-12-31\n")
    policies = read_policies(path, BIRTHS, PRODUCTS)
    assert [(p.policy_id, p.premium_paid) for p in policies] == [("P1", 33_600), ("P2", 33_600), ("P3", 5_000)]
    parquet = tmp_path / "policies.parquet"
    pl.read_csv(path).with_columns(pl.col("start_date", "end_date").str.to_date()).write_parquet(parquet)
    assert read_policies(parquet, BIRTHS, PRODUCTS) == policies


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("P1,A1,million-medical,2021-01-01,2021-12-31\nP2,ZZ,million-medical,2021-01-01,2021-12-31\n",
         "line 3, column 'person_id': unknown person 'ZZ'"),
        ("P1,A1,no-such,2021-01-01,2021-12-31\n", "line 2, column 'product': unknown product 'no-such'"),
        ("P1,A1,million-medical,2021-01-01,2021-12-31\nP2,A2,million-medical,2021-01-01,2021-12-31\n"
         "P3,A1,million-medical,2021-12-31,2022-12-30\n",
         "line 4, column 'start_date': policy 'P3' of 'million-medical' for person 'A1' overlaps policy 'P1'"),
        ("P1,A1,million-medical,2021-13-01,2021-12-31\n", "line 2, column 'start_date': '2021-13-01' is not a date"),
        ("P1,A1,million-medical,2021-06-01,2021-05-31\n", "line 2, column 'end_date': end 2021-05-31 before start"),
        ("P1,A1,million-medical,2021-01-01,2021-12-31\nP1,A2,million-medical,2021-01-01,2021-12-31\n",
         "line 3, column 'policy_id': policy 'P1' appears twice"),
    ],
)
def test_bad_rows_name_file_line_and_column(tmp_path: Path, rows: str, expected: str) -> None:
    path = _csv(tmp_path, rows)
    with pytest.raises(InputError) as info:
        read_policies(path, BIRTHS, PRODUCTS)
    assert str(path) in info.value.message and expected in info.value.message


def test_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("policy_id,person_id,product,start_date\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 1: missing column\(s\) \['end_date'\]"):
        read_policies(path, BIRTHS, PRODUCTS)
