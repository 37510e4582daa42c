"""From normalised Polars frames to the batch path's NumPy columns, in canonical order.

Only the person id is joined (to a row number in the persons table); every attribute of
the person is coded once per person and gathered by that row number, so no string
column is copied per claim. Dates become day numbers; ages are completed years from
yyyymmdd integers. The columns come out sorted in canonical order (person, service
date, claim id) together with the permutation back to the input order.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from yibao.core.batch import ClaimColumns, yyyymmdd
from yibao.core.errors import InputError
from yibao.core.scheme import DIMENSION_KEYS, Dimension

# day numbers (days since 1970-01-01) of any real service date differ by far less than this
_DAY_SPAN = 1_000_000


def _codes(series: pl.Series, dim: Dimension) -> np.ndarray:
    """Key code = index into DIMENSION_KEYS[dim] (values were validated on reading)."""
    codes = np.zeros(len(series), dtype=np.int8)
    for i, key in enumerate(DIMENSION_KEYS[dim][1:], start=1):
        codes[(series == key).to_numpy()] = i
    return codes


def _flag_codes(series: pl.Series) -> np.ndarray:
    # DIMENSION_KEYS of a flag is ("false", "true"): code 1 means true
    return series.cast(pl.Int8).to_numpy()


def person_rows(persons: pl.DataFrame, claims: pl.DataFrame) -> np.ndarray:
    """Each claim's row number in `persons` (int32); refuses unknown persons."""
    index = persons.select(pl.col("person_id"), pl.int_range(pl.len(), dtype=pl.Int32).alias("_person"))
    # lazily, so that only the row numbers are materialised (not a copy of the id strings)
    rows = (
        claims.lazy().select("person_id")
        .join(index.lazy(), on="person_id", how="left", maintain_order="left")
        .select("_person").collect()["_person"]
    )  # fmt: skip
    if rows.null_count():
        row = int(rows.is_null().arg_true()[0])
        raise InputError(
            f"claim {claims['claim_id'][row]}: unknown person {claims['person_id'][row]}", code="input.unknown_person"
        )
    return rows.to_numpy()


def canonical_order(person: np.ndarray, day: np.ndarray, claim_id: pl.Series) -> np.ndarray | None:
    """The canonical order (person, service date, then claim id where the first two tie) as row numbers,
    or None when the rows are in it already."""
    key = person.astype(np.int64) * _DAY_SPAN + (day - (day.min() if len(day) else 0))
    if len(key) < 2 or bool(np.all(key[1:] > key[:-1])):
        return None
    order = pl.Series(key).arg_sort().to_numpy().astype(np.int64)  # stable, multithreaded
    ordered = np.take(key, order)
    ties = np.flatnonzero(ordered[1:] == ordered[:-1])
    if len(ties):
        tied_positions = np.unique(np.concatenate([ties, ties + 1]))
        rows = order[tied_positions]
        tied = pl.DataFrame({"k": ordered[tied_positions], "claim_id": claim_id.gather(rows), "row": rows})
        order[tied_positions] = tied.sort(["k", "claim_id"])["row"].to_numpy()
    if bool(np.all(order[1:] > order[:-1])):
        return None
    return order


def _yyyymmdd(dates: pl.Series) -> np.ndarray:
    return (dates.dt.year().cast(pl.Int32) * 10_000 + dates.dt.month().cast(pl.Int32) * 100
            + dates.dt.day().cast(pl.Int32)).to_numpy()


def claim_columns(persons: pl.DataFrame, claims: pl.DataFrame) -> tuple[ClaimColumns, np.ndarray | None]:
    """The claims joined with their persons as NumPy columns sorted in canonical order (amounts in fen), and the
    input row of each sorted row (None when the input was in canonical order already)."""
    person = person_rows(persons, claims)
    out_of_area = _out_of_area(persons["region"], person, claims["region"])
    day = claims["service_date"].cast(pl.Int32).to_numpy()
    order = canonical_order(person, day, claims["claim_id"])

    def sort(values: np.ndarray) -> np.ndarray:
        return values if order is None else np.take(values, order)

    person = sort(person)
    days = sort(day).astype("datetime64[D]")
    # completed years: (service yyyymmdd - birth yyyymmdd) // 10000, both as integers
    age = (yyyymmdd(days) - np.take(_yyyymmdd(persons["birth_date"]), person)) // 10_000
    keys = {
        Dimension.FACILITY_LEVEL: sort(claims["facility_level"].to_numpy()).astype(np.int8) - 1,
        Dimension.CARE_TYPE: sort(_codes(claims["care_type"], Dimension.CARE_TYPE)),
        Dimension.SCHEME: np.take(_codes(persons["scheme"], Dimension.SCHEME), person),
        Dimension.ASSISTANCE_CATEGORY: np.take(_codes(persons["assistance_category"], Dimension.ASSISTANCE_CATEGORY), person),
        Dimension.PRE_EXISTING: np.take(_flag_codes(persons["pre_existing"]), person),
        Dimension.HUIMINBAO: np.take(_flag_codes(persons["huiminbao"]), person),
        Dimension.OUT_OF_AREA: sort(out_of_area),
    }
    cols = ClaimColumns(
        person=person,
        day=days,
        age=age.astype(np.int16),
        keys=keys,
        class_a=sort(claims["class_a"].to_numpy()),
        class_b=sort(claims["class_b"].to_numpy()),
        self_pay=sort(claims["self_pay"].to_numpy()),
        special_drugs=sort(claims["special_drugs"].to_numpy()),
    )
    return cols, order


def _out_of_area(home: pl.Series, person: np.ndarray, region: pl.Series) -> np.ndarray:
    """1 where the claim's region is not its person's home region. A city's persons have few home regions:
    compare with each as a literal (no string copied per claim); many, compare the gathered strings."""
    homes = home.unique(maintain_order=True)
    if len(homes) > 64:
        return (region != home.gather(person)).cast(pl.Int8).to_numpy()
    home_code = np.zeros(len(home), dtype=np.int8)
    for i, name in enumerate(homes):
        home_code[(home == name).to_numpy()] = i
    claim_home = np.take(home_code, person)
    at_home = np.zeros(len(region), dtype=np.bool_)
    for i, name in enumerate(homes):
        at_home |= (region == name).to_numpy() & (claim_home == i)
    return (~at_home).view(np.int8)
