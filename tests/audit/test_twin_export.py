"""`yibao audit export-workers`: the operations store's insured workers as the Twin check's registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
from typer.testing import CliRunner

from tests.audit.twin_cases import make_ric, make_uscc, seen, write_csv
from tests.ops.ops_bureau import OFFICER
from yibao.cli.main import app
from yibao.core.model import InsuranceScheme
from yibao.ops import contributions, enrolment, registry
from yibao.ops.schemas import EmployerIn, EnrolmentIn, PersonIn, RegionIn
from yibao.ops.store import Contribution, Enrolment, Store
from yibao.ops.twin_export import export_employers, export_workers

FIRM = make_uscc("MA0000009")


def _bureau(store: Store) -> None:
    """Region average 120,000 a year (10,000 a month); an employer; W1 paid up, W2 employer share unpaid, W3 a
    resident (not an employee), W4 employed but not enrolled."""
    with store.transaction() as s:
        registry.add_region(s, OFFICER, RegionIn(code="city", name="City", average_wage="120000"))
        registry.add_employer(s, OFFICER, EmployerIn(uscc=FIRM, name="甲公司", region="city"))
        for i, (name, employed) in enumerate((("张三", True), ("李四", True), ("王五", False), ("赵六", True)), 1):
            registry.add_person(s, OFFICER, PersonIn(
                person_id=f"W{i}", ric=make_ric("19900101", 2 * i + 1), name=name, region="city",
                employer_uscc=FIRM if employed else None))  # fmt: skip
        enrolment.enrol(s, OFFICER, "W1", EnrolmentIn(year=2024, scheme=InsuranceScheme.UEBMI_EMPLOYEE, wage="96000"))
        enrolment.enrol(s, OFFICER, "W2", EnrolmentIn(year=2024, scheme=InsuranceScheme.UEBMI_EMPLOYEE, wage="60000"))
        enrolment.enrol(s, OFFICER, "W3", EnrolmentIn(year=2024, scheme=InsuranceScheme.URRBMI))
    with store.transaction() as s:
        from sqlalchemy import select

        due = s.execute(select(Contribution).join(Enrolment, Contribution.enrolment_id == Enrolment.id)
                        .where(Enrolment.person_id == "W1")).scalars().all()  # fmt: skip
        for c in due:
            contributions.record_payment(s, OFFICER, c.id, c.amount, "counter", f"ref-{c.id}")


def test_export_reads_insured_workers(store: Store) -> None:
    _bureau(store)
    with store.sessions() as s:
        workers = export_workers(s, 2024)
        employers = export_employers(s)
    rows = workers.to_dicts()
    assert [r["person_id"] for r in rows] == ["W1", "W2"]
    # W1: 96,000 a year = 8,000.00 a month, employer's share paid; W2: 60% floor 72,000 = 6,000.00, unpaid.
    assert (rows[0]["declared_base"], rows[0]["months_paid"], rows[0]["employer_uscc"]) == (800_000, 12, FIRM)
    assert (rows[1]["declared_base"], rows[1]["months_paid"]) == (600_000, 0)
    assert rows[0]["birth_date"] == dt.date(1990, 1, 1)
    assert employers.to_dicts() == [{"employer_uscc": FIRM, "employer_name": "甲公司", "region": "city",
                                     "average_wage": 1_000_000}]  # fmt: skip
    with store.sessions() as s:
        assert export_workers(s, 2023).height == 0


def test_export_then_twin_on_live_data(tmp_path: Path, store: Any) -> None:
    _bureau(store)
    url = store.engine.url.render_as_string(hide_password=False)
    if url.startswith("postgresql"):  # the test's own schema, as a command line gives it
        from sqlalchemy import text

        with store.sessions() as s:
            schema = s.execute(text("SELECT current_schema()")).scalar_one()
        url += f"?options=-csearch_path%3D{schema}"
    runner = CliRunner()
    w, e = tmp_path / "workers.csv", tmp_path / "employers.csv"
    done = runner.invoke(app, ["audit", "export-workers", "--year", "2024", "--out", str(w), "--employers-out", str(e),
                               "--database-url", url])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert pl.read_csv(w, infer_schema=False)["declared_base"].to_list() == ["8000.00", "6000.00"]
    i = write_csv([seen("I1", FIRM, make_ric("19900101", 3), "张三", "1990-01-01", "M", "8000.00"),
                   seen("I2", FIRM, make_ric("19900101", 5), "李四", "1990-01-01", "M", "8000.00"),
                   seen("I3", FIRM, make_ric("19900101", 9), "赵六", "1990-01-01", "M", "8000.00")],
                  tmp_path / "inspections.csv")  # fmt: skip
    checked = runner.invoke(app, ["audit", "twin", "--workers", str(w), "--inspections", str(i), "--employers", str(e),
                                  "--year", "2024", "--out", str(tmp_path / "twin")])  # fmt: skip
    assert checked.exit_code == 0, checked.output
    flags = pl.read_csv(tmp_path / "twin" / "flags.csv", infer_schema=False)
    # W2's employer never paid (no months paid), W4 works there without an enrolment: both uninsured.
    assert dict(zip(flags["inspection_id"], flags["reason"], strict=True)) == {
        "I2": "no_months_paid", "I3": "absent"}  # fmt: skip
