"""From normalised Polars frames to the batch path's NumPy columns and canonical order.

Only the person id is joined (to a row number in the persons table); every attribute of
the person stays one row per person and is gathered by that row number only for the
rows being settled, so no string column is copied per claim. Dates become day numbers;
ages are completed years from yyyymmdd integers. The canonical order (person, service
date, claim id) is computed once, as row numbers: the batch path gathers, settles and
scatters back one chunk of it at a time.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

from yibao.core.batch import ClaimTable, yyyymmdd
from yibao.core.errors import InputError
from yibao.core.scheme import DIMENSION_KEYS, Dimension

# day numbers (days since 1970-01-01) of any real service date differ by far less than this
_DAY_SPAN = 1_000_000
# slots of the person-id hash table per person (a third full: about 1.2 probes per lookup)
_SLOTS_PER_PERSON = 3


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
    """Each claim's row number in `persons` (int32); refuses unknown persons.

    The ids are matched through a hash table of their 64-bit hashes, and every match is then checked by
    comparing the id strings themselves, so the result is exact; should two different ids ever share a
    hash, the check fails and a hash join on the strings gives the answer instead."""
    ids, wanted = persons["person_id"], claims["person_id"]
    rows = _hashed_rows(ids, wanted)
    if rows is None:
        rows = _joined_rows(ids, wanted)
    missing = np.flatnonzero(rows < 0)
    if len(missing):
        row = int(missing[0])
        raise InputError(
            f"claim {claims['claim_id'][row]}: unknown person {wanted[row]}", code="input.unknown_person"
        )
    return rows.astype(np.int32)


def _hashed_rows(ids: pl.Series, wanted: pl.Series) -> np.ndarray | None:
    """Rows by an open-addressing hash table built and probed with NumPy (vectorised: one round per probe
    step); -1 where no person has the id; None if the check of the matched strings fails."""
    if len(ids) >= 2**31 - 1:
        return None
    if len(ids) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    ids = ids.rechunk()  # gathering from one chunk is several times faster than from many
    id_hash = _hash(ids).view(np.int64)
    bits = max(int(np.ceil(np.log2(len(ids) * _SLOTS_PER_PERSON))), 4)
    mask = (1 << bits) - 1
    # slot -> (hash, row + 1), side by side so that a probe reads one cache line; row + 1 = 0: empty
    table = np.zeros((1 << bits, 2), dtype=np.int64)
    pending = np.arange(len(ids), dtype=np.int64)
    slots = id_hash & mask
    while len(pending):  # insert: of the rows wanting the same empty slot one wins; the others probe on
        empty = table[slots, 1] == 0
        rows, at = pending[empty], slots[empty]
        table[at, 1] = rows + 1
        won = table[at, 1] == rows + 1
        table[at[won], 0] = id_hash[rows[won]]
        pending = np.concatenate([pending[~empty], rows[~won]])
        slots = (np.concatenate([slots[~empty], at[~won]]) + 1) & mask

    # probed and checked in parts on every core (NumPy and Polars free the GIL)
    bounds = np.linspace(0, len(wanted), _PARTS + 1).astype(np.int64)
    with ThreadPoolExecutor(_PARTS) as pool:
        parts = list(pool.map(lambda ab: _probe(table, ids, wanted.slice(ab[0], ab[1] - ab[0])),
                              itertools.pairwise(bounds.tolist())))
    found = [part for part in parts if part is not None]
    if len(found) < len(parts):
        return None
    return np.concatenate(found) if len(found) != 1 else found[0]


_PARTS = max(1, min(os.cpu_count() or 1, 4))


def _probe(table: np.ndarray, ids: pl.Series, wanted: pl.Series) -> np.ndarray | None:
    mask = len(table) - 1
    wanted_hash = _hash(wanted).view(np.int64)
    slots = wanted_hash & mask
    probe = np.take(table, slots, axis=0)
    hit = probe[:, 0] == wanted_hash
    result = np.where(hit, probe[:, 1], 0)
    probing = np.flatnonzero(~hit & (probe[:, 1] != 0))  # an occupied slot of another hash: probe the next one
    del probe
    slots = slots[probing]
    while len(probing):
        slots = (slots + 1) & mask
        probe = np.take(table, slots, axis=0)
        hit = probe[:, 0] == wanted_hash[probing]
        result[probing[hit]] = probe[hit, 1]
        keep = ~hit & (probe[:, 1] != 0)
        probing, slots = probing[keep], slots[keep]
    result -= 1
    same = (ids.gather(pl.Series(np.maximum(result, 0))) == wanted).to_numpy()
    if not bool(np.all(same | (result < 0))):
        return None
    return result


def _hash(ids: pl.Series) -> np.ndarray:
    """64-bit hashes of the id strings (any hash will do: matches are checked on the strings)."""
    return ids.hash().to_numpy()


def _joined_rows(ids: pl.Series, wanted: pl.Series) -> np.ndarray:
    """Rows by Polars' hash join on the id strings; -1 where no person has the id."""
    index = pl.DataFrame({"person_id": ids, "_person": pl.int_range(len(ids), dtype=pl.Int32, eager=True)})
    rows = (
        wanted.to_frame("person_id").lazy()
        .join(index.lazy(), on="person_id", how="left", maintain_order="left")
        .select(pl.col("_person").fill_null(-1)).collect()["_person"]
    )  # fmt: skip
    return rows.to_numpy()


def canonical_order(person: np.ndarray, day: np.ndarray, claim_id: pl.Series) -> np.ndarray | None:
    """The canonical order (person, service date, then claim id where the first two tie) as row numbers,
    or None when the rows are in it already."""
    if len(person) < 2:
        return None
    first = day.min()
    span = int(day.max()) - int(first) + 1
    key = person.astype(np.int64) * span + (day - first)
    if bool(np.all(key[1:] > key[:-1])):
        return None
    if int(person.max()) < (2**32 - 1) // span:
        key = key.astype(np.uint32)  # Polars sorts 32-bit keys faster
    order = pl.Series(key).arg_sort().to_numpy()  # stable, multithreaded
    ordered = np.take(key, order)
    tie = np.zeros(len(key), dtype=np.bool_)
    np.equal(ordered[1:], ordered[:-1], out=tie[1:])
    if tie.any():  # rows of the same person and day: by claim id
        tie[:-1] |= tie[1:]
        tied_positions = np.flatnonzero(tie)
        order = order.copy()
        rows = order[tied_positions]
        tied = pl.DataFrame({"k": ordered[tied_positions], "claim_id": claim_id.gather(rows), "row": rows})
        order[tied_positions] = tied.sort(["k", "claim_id"])["row"].to_numpy()
    if bool(np.all(order[1:] > order[:-1])):
        return None
    return order


def _yyyymmdd(dates: pl.Series) -> np.ndarray:
    return yyyymmdd(dates.cast(pl.Int32).to_numpy().astype("datetime64[D]"))


def claim_table(persons: pl.DataFrame, claims: pl.DataFrame) -> ClaimTable:
    """The claims (amounts in fen) with their persons as NumPy columns in input order, and the canonical order."""
    homes = persons["region"].unique(maintain_order=True)
    with ThreadPoolExecutor(1) as pool:
        # what needs no person row is made while the person ids are matched (Polars and NumPy free the GIL)
        at_home = pool.submit(_region_is, claims["region"], homes) if len(homes) <= _FEW_HOMES else None
        codes = pool.submit(lambda: (
            {
                Dimension.FACILITY_LEVEL: claims["facility_level"].cast(pl.Int8).to_numpy() - np.int8(1),
                Dimension.CARE_TYPE: _codes(claims["care_type"], Dimension.CARE_TYPE),
            },
            {
                Dimension.SCHEME: _codes(persons["scheme"], Dimension.SCHEME),
                Dimension.ASSISTANCE_CATEGORY: _codes(persons["assistance_category"], Dimension.ASSISTANCE_CATEGORY),
                Dimension.PRE_EXISTING: _flag_codes(persons["pre_existing"]),
                Dimension.HUIMINBAO: _flag_codes(persons["huiminbao"]),
            },
            _yyyymmdd(persons["birth_date"]),
        ))
        person = person_rows(persons, claims)
        day = claims["service_date"].cast(pl.Int32).to_numpy()
        order = canonical_order(person, day, claims["claim_id"])
        if at_home is None:
            out_of_area = (claims["region"] != persons["region"].gather(person)).cast(pl.Int8).to_numpy()
        else:
            out_of_area = _out_of_area(persons["region"], homes, person, at_home.result())
        claim_keys, person_keys, birth = codes.result()
    return ClaimTable(
        person=person,
        day=day,
        keys=claim_keys | {Dimension.OUT_OF_AREA: out_of_area},
        person_keys=person_keys,
        birth=birth,
        class_a=claims["class_a"].to_numpy(),
        class_b=claims["class_b"].to_numpy(),
        self_pay=claims["self_pay"].to_numpy(),
        special_drugs=claims["special_drugs"].to_numpy(),
        order=order,
    )


# A city's persons have few home regions: each claim's region is compared with each as a literal (no string
# copied per claim); with more, the person's home is gathered per claim and compared.
_FEW_HOMES = 64


def _region_is(region: pl.Series, homes: pl.Series) -> list[np.ndarray]:
    frame = region.to_frame("region")
    return [frame.select(pl.col("region") == name).to_series().to_numpy() for name in homes]


def _out_of_area(home: pl.Series, homes: pl.Series, person: np.ndarray, at: list[np.ndarray]) -> np.ndarray:
    """1 where the claim's region is not its person's home region (`at[i]`: the claim's region is homes[i])."""
    home_code = np.zeros(len(home), dtype=np.int8)
    for i, name in enumerate(homes):
        home_code[(home == name).to_numpy()] = i
    claim_home = np.take(home_code, person)
    at_home = np.zeros(len(person), dtype=np.bool_)
    for i, is_home in enumerate(at):
        at_home |= is_home & (claim_home == i)
    return (~at_home).view(np.int8)
