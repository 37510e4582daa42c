"""Small hand-made Twin tables, in the contract's shape (yuan as text), for the tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from stdnum.cn import ric, uscc

from yibao.audit.twin import TwinResult, run_twin
from yibao.audit.twin_rules import load_rules
from yibao.audit.twin_tables import read_twin_inputs


def make_ric(birth: str, order: int, area: str = "110105") -> str:
    """A valid identity number: area, birth date YYYYMMDD, 3-digit order (odd for men), check digit."""
    first = f"{area}{birth}{order:03d}"
    return first + ric.calc_check_digit(first + "0")


def make_uscc(org: str) -> str:
    first = f"91370202{org}"
    return first + uscc.calc_check_digit(first + "0")


def mistype(number: str, position: int) -> str:
    """One digit changed: the check digit no longer fits."""
    digit = str((int(number[position]) + 1) % 10)
    return number[:position] + digit + number[position + 1 :]


def swap(number: str, position: int) -> str:
    return number[:position] + number[position + 1] + number[position] + number[position + 2 :]


EMPLOYER_A = make_uscc("MA0000001")
EMPLOYER_B = make_uscc("MA0000002")
AVERAGE = "10000.00"  # floor 6000.00, ceiling 30000.00


def employers() -> list[dict[str, str]]:
    return [
        {"employer_uscc": EMPLOYER_A, "name": "甲公司", "region": "city", "average_monthly_wage": AVERAGE},
        {"employer_uscc": EMPLOYER_B, "name": "乙公司", "region": "city", "average_monthly_wage": AVERAGE},
    ]


def worker(pid: str, number: str, name: str, birth: str, sex: str, employer: str, base: str, months: int = 12
           ) -> dict[str, str]:  # fmt: skip
    return {
        "person_id": pid, "ric": number, "name": name, "birth_date": birth, "sex": sex, "employer_uscc": employer,
        "region": "city", "declared_base": base, "months_paid": str(months),
    }  # fmt: skip


def seen(iid: str, employer: str, number: str, name: str, birth: str, sex: str, wage: str,
         on: str = "2024-06-20") -> dict[str, str]:  # fmt: skip
    return {
        "inspection_id": iid, "employer_uscc": employer, "inspected_on": on, "ric": number, "name": name,
        "birth_date": birth, "sex": sex, "monthly_wage": wage,
    }  # fmt: skip


def background(n: int = 30) -> list[dict[str, str]]:
    """Insured workers of employer B nobody observed: the registry is more than the cases."""
    return [
        worker(f"BG{i:03d}", make_ric(f"1980{1 + i % 12:02d}{1 + i % 28:02d}", 100 + 2 * i, "120101"),
               f"路人{i}", f"1980-{1 + i % 12:02d}-{1 + i % 28:02d}", "F", EMPLOYER_B, "9000.00")
        for i in range(n)
    ]  # fmt: skip


def write_csv(rows: list[dict[str, str]], path: Path) -> Path:
    pl.DataFrame(rows).write_csv(path)
    return path


def run_case(tmp: Path, workers: list[dict[str, str]], observations: list[dict[str, str]],
             as_of: dt.date | None = None) -> TwinResult:  # fmt: skip
    w = write_csv(workers + background(), tmp / "workers.csv")
    i = write_csv(observations, tmp / "inspections.csv")
    e = write_csv(employers(), tmp / "employers.csv")
    return run_twin(read_twin_inputs(w, i, e, 2024), load_rules(), 2024, as_of)


def flag_of(result: TwinResult, inspection_id: str) -> dict[str, object] | None:
    rows = result.flags.filter(pl.col("inspection_id") == inspection_id).to_dicts()
    return rows[0] if rows else None
