"""`yibao audit claims`: hand-made cases for every reason code, and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from yibao.audit.screening import MAD_CONSISTENCY, ScreeningParameters
from yibao.cli.main import app
from yibao.core.errors import InputError

runner = CliRunner()

PERSON = {
    "birth_date": "1960-05-01", "sex": "F", "region": "reference-city", "scheme": "urrbmi",
    "assistance_category": "none", "huiminbao": "false", "pre_existing": "false", "annual_income": "30000.00",
}  # fmt: skip
BILL = {
    "region": "reference-city", "facility_level": "2", "care_type": "outpatient", "amount_class_a": "100.00",
    "amount_class_b": "20.00", "amount_self_pay": "5.00", "amount_special_drugs": "0.00", "diagnosis": "J06.9",
}  # fmt: skip


def person(person_id: str, **extra: str) -> dict[str, str]:
    return {"person_id": person_id, **PERSON, **extra}


def bill(claim_id: str, person_id: str, day: str, **extra: str) -> dict[str, str]:
    return {"claim_id": claim_id, "person_id": person_id, "service_date": day, **BILL, **extra}


def write(folder: Path, persons: list[dict[str, str]], claims: list[dict[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(persons).write_csv(folder / "persons.csv")
    pl.DataFrame(claims).write_csv(folder / "claims.csv")
    return folder


def screen(folder: Path, *extra: str) -> pl.DataFrame:
    result = runner.invoke(app, ["audit", "claims", "--persons", str(folder / "persons.csv"),
                                 "--claims", str(folder / "claims.csv"), "--out", str(folder / "out"), *extra])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    return pl.read_csv(folder / "out" / "claims.csv", infer_schema=False)


def flagged(out: pl.DataFrame, reason: str) -> dict[str, dict[str, object]]:
    return {row["claim_id"]: json.loads(row["evidence"]) for row in out.filter(reason=reason).iter_rows(named=True)}


def test_exact_duplicate_found_and_same_day_bill_at_another_facility_not(tmp_path: Path) -> None:
    folder = write(
        tmp_path,
        [person("P1")],
        [
            bill("C1", "P1", "2024-03-01", facility_id="H-A"),
            bill("C2", "P1", "2024-03-01", facility_id="H-A"),  # the same bill sent twice
            bill("C3", "P1", "2024-03-01", facility_id="H-B"),  # same amounts, another hospital: a real visit
            bill("C4", "P1", "2024-03-02", facility_id="H-A"),  # next day: a real follow-up visit
        ],
    )
    dups = flagged(screen(folder), "duplicate_bill")
    assert set(dups) == {"C2"}
    assert dups["C2"]["duplicate_of"] == "C1" and dups["C2"]["exact"] is True
    assert dups["C2"]["amount"] == dups["C2"]["other_amount"] == "125.00"


def test_near_duplicate_within_two_percent_but_not_beyond(tmp_path: Path) -> None:
    # Outpatient: 125.00 and 127.50 differ by 2.50, within 2% of the larger (2.55): a near duplicate.
    # Inpatient: 125.00 and 127.76 differ by 2.76, beyond 2% of the larger (2.5552): two bills.
    folder = write(
        tmp_path,
        [person("P1")],
        [
            bill("C1", "P1", "2024-03-01", facility_id="H-A"),
            bill("C2", "P1", "2024-03-01", facility_id="H-A", amount_self_pay="7.50"),
            bill("C4", "P1", "2024-03-01", facility_id="H-A", amount_self_pay="7.76", care_type="inpatient"),
            bill("C5", "P1", "2024-03-01", facility_id="H-A", care_type="inpatient"),
        ],
    )
    out = screen(folder)
    dups = flagged(out, "duplicate_bill")
    assert set(dups) == {"C2"}
    assert dups["C2"]["exact"] is False and dups["C2"]["duplicate_of"] == "C1"
    assert float(out.filter(claim_id="C2")["score"][0]) == round(1 - 250 / (2 * 255), 4)


def test_without_facility_ids_a_facility_is_region_and_level(tmp_path: Path) -> None:
    folder = write(tmp_path, [person("P1")], [bill("C1", "P1", "2024-03-01"), bill("C2", "P1", "2024-03-01"),
                                              bill("C3", "P1", "2024-03-01", facility_level="3")])  # fmt: skip
    out = screen(folder)
    assert set(flagged(out, "duplicate_bill")) == {"C2"}
    assert pl.read_csv(folder / "out" / "facilities.csv").height == 0


def test_overlapping_stay_flagged_and_transfer_on_discharge_day_not(tmp_path: Path) -> None:
    stay = {"care_type": "inpatient", "amount_class_a": "6000.00"}
    folder = write(
        tmp_path,
        [person("P1"), person("P2")],
        [
            bill("A1", "P1", "2024-05-01", facility_id="H-A", discharge_date="2024-05-11", **stay),
            bill("A2", "P1", "2024-05-06", facility_id="H-B", discharge_date="2024-05-09", **stay),  # inside A1
            bill("A3", "P1", "2024-05-11", facility_id="H-C", discharge_date="2024-05-20", **stay),  # transfer
            bill("B1", "P2", "2024-05-01", facility_id="H-A", discharge_date="2024-05-03", **stay),
            bill("B2", "P2", "2024-05-02", facility_id="H-B", discharge_date="2024-05-10", **stay),  # 1 day of 8
            bill("B3", "P2", "2024-05-04", facility_id="H-A"),  # outpatient bills are not stays
        ],
    )
    out = screen(folder)
    stays = flagged(out, "overlapping_stay")
    assert set(stays) == {"A2", "B2"}
    assert stays["A2"]["overlaps"] == "A1" and stays["A2"]["other_discharge"] == "2024-05-11"
    scores = dict(out.filter(reason="overlapping_stay").select("claim_id", "score").iter_rows())
    assert float(scores["A2"]) == 1.0 and float(scores["B2"]) == 0.125


def test_bills_after_death_before_enrolment_and_after_removal(tmp_path: Path) -> None:
    folder = write(
        tmp_path,
        [
            person("P1", death_date="2024-06-30", cover_from="", cover_until=""),
            person("P2", death_date="", cover_from="2024-04-01", cover_until="2024-09-30"),
        ],
        [
            bill("D1", "P1", "2024-06-30"),  # on the day of death: covered
            bill("D2", "P1", "2024-07-01"),  # the day after: not
            bill("E1", "P2", "2024-03-31"),
            bill("E2", "P2", "2024-04-01"),
            bill("E3", "P2", "2024-09-30"),
            bill("E4", "P2", "2024-10-01"),
        ],
    )
    cover = flagged(screen(folder), "outside_cover")
    assert {k: v["rule"] for k, v in cover.items()} == {"D2": "after_death", "E1": "before_cover",
                                                       "E4": "after_cover"}  # fmt: skip
    assert cover["D2"]["limit"] == "2024-06-30"


def _peer_group(total_fen: int) -> tuple[list[dict[str, str]], float, float]:
    """40 bills whose log totals spread evenly; returns them with the median and MAD of their logs."""
    amounts = [10_000 + 100 * i for i in range(40)]  # 100.00 .. 139.00 yuan
    logs = sorted(math.log(a) for a in [*amounts, total_fen])
    median = logs[len(logs) // 2]
    mad = sorted(abs(v - median) for v in logs)[len(logs) // 2]
    bills = [bill(f"N{i:02d}", "P1", f"2024-01-{1 + i % 28:02d}", facility_id=f"H{i}",
                  amount_class_a=f"{a // 100}.{a % 100:02d}", amount_class_b="0.00", amount_self_pay="0.00")
             for i, a in enumerate(amounts)]  # fmt: skip
    return bills, median, mad


def test_robust_z_at_the_threshold_is_flagged_and_one_fen_below_is_not(tmp_path: Path) -> None:
    threshold = ScreeningParameters().z_threshold
    # With the tested bill in the group (odd count: 41), the median and MAD do not depend on its exact value
    # as long as it is the largest, so the boundary can be computed first.
    _, median, mad = _peer_group(10**9)
    boundary = math.exp(median + threshold * mad / MAD_CONSISTENCY)
    for name, fen, expected in (("at", math.ceil(boundary), True), ("below", math.ceil(boundary) - 1, False)):
        bills, _, _ = _peer_group(fen)
        tested = bill(
            "X",
            "P1",
            "2024-02-01",
            facility_id="HX",
            amount_class_a=f"{fen // 100}.{fen % 100:02d}",
            amount_class_b="0.00",
            amount_self_pay="0.00",
        )
        out = screen(write(tmp_path / name, [person("P1")], [*bills, tested]))
        hits = flagged(out, "implausible_amount")
        assert ("X" in hits) is expected, (name, fen, boundary)
        assert set(hits) <= {"X"}
        if expected:
            assert float(hits["X"]["z"]) >= threshold and hits["X"]["peer_group"] == "J06.9/2/outpatient"


def test_small_peer_groups_are_not_scored(tmp_path: Path) -> None:
    bills, _, _ = _peer_group(10**9)
    huge = bill("X", "P1", "2024-02-01", amount_class_a="99999.00")
    out = screen(write(tmp_path, [person("P1")], [*bills[:20], huge]))
    assert flagged(out, "implausible_amount") == {}


def test_missing_column_names_file_line_and_column_and_writes_nothing(tmp_path: Path) -> None:
    folder = write(tmp_path, [person("P1")], [bill("C1", "P1", "2024-03-01")])
    pl.read_csv(folder / "claims.csv").drop("care_type").write_csv(folder / "claims.csv")
    result = runner.invoke(app, ["audit", "claims", "--persons", str(folder / "persons.csv"),
                                 "--claims", str(folder / "claims.csv"), "--out", str(folder / "out")])  # fmt: skip
    assert isinstance(result.exception, InputError)
    message = str(result.exception)
    assert f"{folder / 'claims.csv'}, line 1" in message and "'care_type'" in message
    assert not (folder / "out").exists()


@pytest.mark.parametrize(
    ("table", "column", "value", "line"),
    [
        ("claims", "discharge_date", "2024-02-30", 3),
        ("claims", "discharge_date", "2024-02-28", 3),  # before the admission
        ("persons", "death_date", "1950-01-01", 2),  # before birth
    ],
)
def test_bad_optional_value_names_file_line_and_column(
    tmp_path: Path, table: str, column: str, value: str, line: int
) -> None:
    persons = [person("P1", death_date="")]
    claims = [bill("C1", "P1", "2024-03-01", discharge_date=""), bill("C2", "P1", "2024-03-01", discharge_date="")]
    if table == "claims":
        claims[1][column] = value
    else:
        persons[0][column] = value
    folder = write(tmp_path, persons, claims)
    result = runner.invoke(app, ["audit", "claims", "--persons", str(folder / "persons.csv"),
                                 "--claims", str(folder / "claims.csv"), "--out", str(folder / "out")])  # fmt: skip
    assert isinstance(result.exception, InputError), result.output
    assert f"{folder / f'{table}.csv'}, line {line}, column {column!r}" in str(result.exception)
    assert not (folder / "out").exists()
