"""Claims and persons tables for claim screening: the contract's columns plus optional screening columns.

The contract tables (architecture.md) are read by `yibao.tables`; screening also uses columns that the
contract does not have, each optional (absent column, or an empty value: not known):

* claims `facility_id`: the facility that sent the bill. Without it a facility is approximated by the
  claim's region and facility level (duplicates), and facilities are not profiled.
* claims `discharge_date` (inpatient): the day the stay ended (YYYY-MM-DD, not before `service_date`,
  which is the day of admission). Without it stays are not compared.
* persons `cover_from`, `cover_until` (enrolment window: first and last day covered) and `death_date`.

`yibao settle` reads only the contract columns, so files with these columns settle exactly as before.
A bad optional value stops the read with the file, line and column, like every other value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from yibao.tables import Source, normalise_claims, normalise_persons, read_raw

CLAIM_OPTIONAL = ("facility_id", "discharge_date")
PERSON_OPTIONAL = ("cover_from", "cover_until", "death_date")


@dataclass(frozen=True)
class ScreeningInput:
    """Normalised frames (amounts in fen) with the optional columns, null where unknown.

    `has_facility` and `has_discharge` say whether the claims file carried those columns at all."""

    persons: pl.DataFrame
    claims: pl.DataFrame
    has_facility: bool
    has_discharge: bool


def _optional_text(frame: pl.DataFrame, column: str) -> pl.Series:
    if column not in frame.columns:
        return pl.Series(column, [None] * frame.height, dtype=pl.String)
    text = frame[column].cast(pl.String).str.strip_chars()
    return text.replace("", None).alias(column)


def _optional_date(frame: pl.DataFrame, src: Source, column: str) -> pl.Series:
    """A date column where an empty value means "not known"; any other value must be YYYY-MM-DD."""
    if column not in frame.columns:
        return pl.Series(column, [None] * frame.height, dtype=pl.Date)
    series = frame[column]
    if series.dtype == pl.Date:
        return series.alias(column)
    if isinstance(series.dtype, pl.Datetime):
        return series.dt.date().alias(column)
    text = _optional_text(frame, column)
    parsed = text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    bad = text.is_not_null() & (parsed.is_null() | ~text.str.contains(r"^\d{4}-\d{2}-\d{2}$"))
    row = bad.arg_true()
    if row.len():
        raise src.fail(int(row[0]), column, f"{text[int(row[0])]!r} is not a date YYYY-MM-DD (or empty)")
    return parsed.alias(column)


def _not_before(frame: pl.DataFrame, src: Source, later: str, earlier: str, why: str) -> None:
    bad = (frame[later] < frame[earlier]).fill_null(False).arg_true()
    if bad.len():
        row = int(bad[0])
        raise src.fail(row, later, f"{frame[later][row]} is before {earlier} {frame[earlier][row]} ({why})")


def screening_persons(frame: pl.DataFrame, src: Source) -> pl.DataFrame:
    persons = normalise_persons(frame, src)
    persons = persons.with_columns([_optional_date(frame, src, c) for c in PERSON_OPTIONAL])
    _not_before(persons, src, "death_date", "birth_date", "a person dies after being born")
    _not_before(persons, src, "cover_until", "cover_from", "cover ends after it starts")
    return persons


def screening_claims(frame: pl.DataFrame, src: Source, persons: pl.DataFrame) -> pl.DataFrame:
    claims = normalise_claims(frame, src, persons)
    claims = claims.with_columns(
        _optional_text(frame, "facility_id"),
        _optional_date(frame, src, "discharge_date"),
    )
    _not_before(claims, src, "discharge_date", "service_date", "the day of admission")
    return claims


def read_screening_input(persons: str | Path, claims: str | Path) -> ScreeningInput:
    """Read and validate both tables; nothing is returned (and so nothing written) if any value is bad."""
    person_frame, person_src = read_raw(persons)
    people = screening_persons(person_frame, person_src)
    claim_frame, claim_src = read_raw(claims)
    bills = screening_claims(claim_frame, claim_src, people)
    return ScreeningInput(
        persons=people,
        claims=bills,
        has_facility="facility_id" in claim_frame.columns,
        has_discharge="discharge_date" in claim_frame.columns,
    )
