"""The claims table's builder: from normalised Polars frames to the batch path's `ClaimTable`, with the person-id join.

Only the person id is joined (to a row number in the persons table); every attribute of
the person stays one row per person and is gathered by that row number only for the
rows being settled, so no string column is copied per claim. Dates become day numbers;
ages are completed years from yyyymmdd integers. The table stays in input order: the
batch path groups its rows into chunks of whole persons and puts each chunk in canonical
order (person, service date, claim id) on its own; claims of the same person and day are
ordered by claim id through `_by_claim_id`.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import polars as pl

from yibao.core.errors import InputError
from yibao.core.rows import OPEN_END, OPEN_START, PolicyIndex, yyyymmdd
from yibao.core.scheme import CLAIM_DIMENSIONS, DIMENSION_KEYS, PERSON_DIMENSIONS, Dimension, Scheme
from yibao.engine.run import CHUNK_ROWS, chunk_count, settle_columns
from yibao.engine.table import AMOUNTS, Chunked, ClaimTable, new_column

# slots of the person-id hash table per person, at least (at most half full: about 1.5 probes per lookup; the table is
# rounded up to a power of two)
_SLOTS_PER_PERSON = 2


def _codes(series: pl.Series, dim: Dimension) -> np.ndarray:
    """Key code = index into DIMENSION_KEYS[dim] (values were validated on reading)."""
    codes = np.zeros(len(series), dtype=np.int8)
    for i, key in enumerate(DIMENSION_KEYS[dim][1:], start=1):  # keys are distinct: one mask at most is true
        codes += (series == key).to_numpy().view(np.int8) * np.int8(i)  # a product: no branch a row
    return codes


def _flag_codes(series: pl.Series) -> np.ndarray:
    # DIMENSION_KEYS of a flag is ("false", "true"): code 1 means true
    return series.cast(pl.Int8).to_numpy()


def person_rows(persons: pl.DataFrame, claims: pl.DataFrame) -> np.ndarray:
    """Each claim's row number in `persons` (int32); refuses unknown persons.

    The ids are matched through a hash table of their 64-bit hashes, and every match is then checked by
    comparing the id strings themselves, so the result is exact; should two different ids ever share a
    hash, the check fails and a hash join on the strings gives the answer instead."""
    rows = _hashed_rows(persons["person_id"], claims["person_id"])
    if rows is None:
        rows = _joined_rows(persons["person_id"], claims["person_id"])
    _refuse_unknown(rows, claims)
    return rows.astype(np.int32)


def _refuse_unknown(rows: np.ndarray, claims: pl.DataFrame) -> None:
    missing = np.flatnonzero(rows < 0)
    if len(missing):
        row = int(missing[0])
        raise InputError(
            f"claim {claims['claim_id'][row]}: unknown person {claims['person_id'][row]}", code="input.unknown_person"
        )


def _hashed_rows(ids: pl.Series, wanted: pl.Series) -> np.ndarray | None:
    """Rows by `_IdIndex`, probed in pieces on every core; -1 where no person has the id; None if the check of
    the matched strings fails."""
    index = _IdIndex.of(ids)
    if index is None:
        return None
    rows = np.empty(len(wanted), dtype=np.int32)
    with ThreadPoolExecutor(_THREADS) as pool:
        checked = list(pool.map(lambda ab: index.rows(wanted.slice(ab[0], ab[1] - ab[0]), rows[ab[0]:ab[1]]),
                                _pieces(len(wanted))))
    return rows if all(checked) else None


class _IdIndex:
    """Row numbers of the person ids: an open-addressing hash table of their 64-bit hashes built with NumPy
    (vectorised: one round per probe step); every match is checked on the id strings.

    A slot is one int64: the hash with its low `row_bits` bits replaced by row + 1 (0: empty). A lookup compares
    the rest of the hash (at least 33 bits), so a table of 8 bytes a slot stays in the CPU's last-level cache
    for a city's persons; a false match of the compared bits is caught by the string check like any other."""

    def __init__(self, ids: pl.Series, table: np.ndarray, row_bits: int) -> None:
        self.ids, self.table = ids, table
        self.row_mask = np.int64((1 << row_bits) - 1)

    @classmethod
    def of(cls, ids: pl.Series) -> _IdIndex | None:
        if len(ids) >= 2**31 - 1:
            return None
        ids = ids.rechunk()  # gathering from one chunk is several times faster than from many
        row_bits = max(len(ids).bit_length(), 1)  # holds len(ids) = the largest row + 1
        row_mask = (1 << row_bits) - 1
        bits = max(int(np.ceil(np.log2(max(len(ids), 1) * _SLOTS_PER_PERSON))), 4)
        mask = (1 << bits) - 1
        id_hash = _hash(ids).view(np.int64)
        entry = (id_hash & ~row_mask) | np.arange(1, len(ids) + 1, dtype=np.int64)
        table = np.zeros(1 << bits, dtype=np.int64)
        pending = np.arange(len(ids), dtype=np.int64)
        slots = id_hash & mask
        del id_hash
        # insert: of the rows wanting the same empty slot one wins; the others probe on (np.compress selects
        # without a branch a row, several times faster than indexing by a mask)
        while len(pending):
            empty = np.take(table, slots) == 0
            rows, at = np.compress(empty, pending), np.compress(empty, slots)
            entries = np.take(entry, rows)
            table[at] = entries
            lost = np.take(table, at) != entries
            full = ~empty
            pending = np.concatenate([np.compress(full, pending), np.compress(lost, rows)])
            slots = (np.concatenate([np.compress(full, slots), np.compress(lost, at)]) + 1) & mask
        return cls(ids, table, row_bits)

    def rows(self, wanted: pl.Series, out: np.ndarray) -> bool:
        """Writes the row of each wanted id into `out` (-1: no such person); False if a check fails."""
        if len(self.ids) == 0:
            out[:] = -1
            return True
        table, row_mask = self.table, self.row_mask
        mask = len(table) - 1
        wanted_hash = _hash(wanted).view(np.int64)
        slots = wanted_hash & mask
        tag = wanted_hash & ~row_mask
        del wanted_hash
        probe = np.take(table, slots)
        hit = _tagged(probe, tag, row_mask)
        result = (probe & row_mask) * hit  # a product, not np.where: no branch a row
        hit |= probe == 0
        probing = np.flatnonzero(~hit)  # an occupied slot of another hash: probe the next one
        del probe, hit
        slots = np.take(slots, probing)
        while len(probing):
            slots = (slots + 1) & mask
            probe = np.take(table, slots)
            hit = _tagged(probe, np.take(tag, probing), row_mask)
            result[np.compress(hit, probing)] = np.compress(hit, probe) & row_mask
            keep = ~hit & (probe != 0)
            probing, slots = np.compress(keep, probing), np.compress(keep, slots)
        result -= 1
        same = (self.ids.gather(pl.Series(np.maximum(result, 0))) == wanted).to_numpy()
        out[:] = result
        return bool(np.all(same | (result < 0)))


def _tagged(slot: np.ndarray, tag: np.ndarray, row_mask: np.int64) -> np.ndarray:
    """Slots holding `tag` above their row bits: slot ^ tag, unsigned, within the row bits."""
    differ: np.ndarray = slot ^ tag
    tagged: np.ndarray = differ.view(np.uint64) <= np.uint64(row_mask)
    return tagged


_THREADS = max(1, min(os.cpu_count() or 1, 4))
# rows of the claims table worked on at a time when building its columns: temporaries stay small, and the
# pieces are shared by the threads
_PIECE = 1 << 20


def _pieces(n: int) -> list[tuple[int, int]]:
    return list(itertools.pairwise([*range(0, n, _PIECE), n])) if n else []


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


def _by_claim_id(claim_id: pl.Series) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Orders claims of the same person and day by claim id (ClaimTable.by_claim_id). The ids are gathered from
    the column as the frame holds it: from many chunks a gather is several times slower than from one, but only
    the tied claims are gathered (a few in a hundred), and a copy of the column in one chunk would cost 16 bytes a
    claim of new memory (more time than the gathers it saves)."""

    def order(rows: np.ndarray, group: np.ndarray) -> np.ndarray:
        at = np.arange(len(rows))
        if len(rows) < 2:
            return at
        # often in order already (claims of a day numbered as they come): checked, and only the groups out of
        # order sorted
        ids = claim_id.gather(rows)
        broken = ~(ids.slice(1) > ids.slice(0, len(ids) - 1)).to_numpy() & (group[1:] == group[:-1])
        if not broken.any():
            return at
        redo = np.flatnonzero(np.isin(group, group[1:][broken]))  # whole groups, each contiguous
        tied = pl.DataFrame({"group": group[redo], "claim_id": ids.gather(redo), "at": redo})
        at[redo] = tied.sort(["group", "claim_id"])["at"].to_numpy()
        return at

    return order


def claim_table(persons: pl.DataFrame, claims: pl.DataFrame, policies: pl.DataFrame | None = None) -> ClaimTable:
    """The claims (amounts in fen) with their persons as NumPy columns in input order; with the persons' cover
    dates (optional columns `cover_start`, `cover_end`: null = open) and their `policies` (person_id, product,
    start_date, end_date) when given.

    The claims' columns are made in pieces of rows, shared by one thread per core (Polars and NumPy free the
    GIL): dates, codes and amounts converted while the person-id index is built, then each piece's person
    ids matched and its out-of-area flags set; the persons' columns are made meanwhile."""
    pool = ThreadPoolExecutor(_THREADS)
    try:
        building = pool.submit(_IdIndex.of, persons["person_id"])
        persons_side = pool.submit(_person_columns, persons)
        table = _claim_table(persons, claims, pool, building)
        person_codes, birth = persons_side.result()
    finally:
        pool.shutdown()
    return dataclasses.replace(table, person_codes=person_codes, birth=birth, cover=cover_columns(persons),
                               policies=policy_index(persons, policies))


def cover_columns(persons: pl.DataFrame) -> np.ndarray | None:
    """[person, 0 / 1]: the first and last day of each person's public cover (ClaimTable.cover); None when the
    persons carry no cover dates."""
    if "cover_start" not in persons.columns and "cover_end" not in persons.columns:
        return None
    cover = np.empty((persons.height, 2), dtype=np.int32)
    for i, (name, open_end) in enumerate((("cover_start", OPEN_START), ("cover_end", OPEN_END))):
        if name in persons.columns:
            cover[:, i] = persons[name].cast(pl.Int32).fill_null(int(open_end)).to_numpy()
        else:
            cover[:, i] = open_end
    return cover


def policy_index(persons: pl.DataFrame, policies: pl.DataFrame | None) -> PolicyIndex | None:
    """The policies (person_id, product, start_date, end_date) by person row, for ClaimTable.policies; a policy
    of a person not in the persons table is refused."""
    if policies is None or policies.height == 0:
        return None
    rows = _joined_rows(persons["person_id"], policies["person_id"])
    missing = np.flatnonzero(rows < 0)
    if len(missing):
        raise InputError(f"a policy of unknown person {policies['person_id'][int(missing[0])]!r}",
                         code="input.unknown_person")
    return PolicyIndex.of(rows, policies["product"].to_numpy(), policies["start_date"].cast(pl.Int32).to_numpy(),
                          policies["end_date"].cast(pl.Int32).to_numpy())


def _person_columns(persons: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """ClaimTable.person_codes and .birth."""
    person_codes = np.zeros((persons.height, 4), dtype=np.int8)  # PERSON_DIMENSIONS side by side
    for i, dim in enumerate(PERSON_DIMENSIONS):
        values = persons[str(dim.value)]
        person_codes[:, i] = _flag_codes(values) if values.dtype == pl.Boolean else _codes(values, dim)
    return person_codes, _yyyymmdd(persons["birth_date"])


def _claim_table(
    persons: pl.DataFrame, claims: pl.DataFrame, pool: ThreadPoolExecutor, building: Future[_IdIndex | None]
) -> ClaimTable:
    """The claims' side of `claim_table` (the persons' columns left empty), the index being built."""
    n = claims.height
    homes = persons["region"].unique(maintain_order=True)
    few_homes = len(homes) <= _FEW_HOMES
    rows = ClaimTable.new_rows(n, wide=_amount_type(claims) is np.int64)
    table = ClaimTable(rows, np.zeros((0, 4), np.int8), np.zeros(0, np.int32), _inputs(claims))
    person, day, codes, amounts = table.person, table.day, table.codes, table.amounts
    home = new_column(n, np.int8) if few_homes else None  # which home region a claim's region is (-1: none)
    facility, care, out_of_area = (codes[:, CLAIM_DIMENSIONS.index(dim)] for dim in CLAIM_DIMENSIONS)

    def convert(ab: tuple[int, int]) -> None:
        a, b = ab
        piece = claims.slice(a, b - a)
        day[a:b] = piece["service_date"].cast(pl.Int32).to_numpy()
        facility[a:b] = piece["facility_level"].cast(pl.Int8).to_numpy() - np.int8(1)
        care[a:b] = _codes(piece["care_type"], Dimension.CARE_TYPE)
        codes[a:b, 3] = 0
        if home is not None:
            home[a:b] = _which(piece["region"], homes)
        for i, column in enumerate(table.inputs):
            column.copy_to(a, b, amounts[a:b, i])

    def flag_out_of_area(ab: tuple[int, int]) -> None:
        a, b = ab
        if home is not None and person_home is not None:
            out_of_area[a:b] = home[a:b] != np.take(person_home, person[a:b])
        else:
            theirs = persons["region"].gather(person[a:b])
            out_of_area[a:b] = (claims["region"].slice(a, b - a) != theirs).cast(pl.Int8).to_numpy()

    # the rows grouped into the batch path's chunks piece by piece as their persons are found (while the
    # piece's person rows are at hand), by runs of equal numbers of persons
    count = chunk_count(n, CHUNK_ROWS)
    perm = new_column(n, np.int32)

    def match(ab: tuple[int, int]) -> tuple[bool, bool, np.ndarray | None]:
        """(the matches were checked, every id was found, the piece's group bounds)"""
        a, b = ab
        found = np.empty(b - a, dtype=np.int32)
        checked = index is not None and index.rows(claims["person_id"].slice(a, b - a), found)
        person[a:b] = found
        known = checked and not bool(np.any(found < 0))
        bounds = None
        if known:
            flag_out_of_area(ab)
            bounds = ClaimTable.group_piece(found, persons.height, count, perm[a:b])
        return checked, known, bounds

    person_home = _which(persons["region"], homes) if few_homes else None
    list(pool.map(convert, _pieces(n)))
    index = building.result()
    matched = list(pool.map(match, _pieces(n)))
    grouped = None
    if not all(checked for checked, _, _ in matched):  # a hash matched different strings: join on the strings
        person[:] = _joined_rows(persons["person_id"], claims["person_id"])
        _refuse_unknown(person, claims)
        list(pool.map(flag_out_of_area, _pieces(n)))
    elif not all(known for _, known, _ in matched):
        _refuse_unknown(person, claims)
    else:
        bounds = [piece_bounds for _, _, piece_bounds in matched if piece_bounds is not None]
        grouped = ClaimTable.grouped_in_pieces(_pieces(n), bounds, perm, count)
    return dataclasses.replace(table, by_claim_id=_by_claim_id(claims["claim_id"]), grouped=grouped)


def _inputs(claims: pl.DataFrame) -> tuple[Chunked, ...]:
    """The amounts as the frame holds them (its chunks as NumPy arrays; no copy where their type allows)."""
    return tuple(Chunked(tuple(chunk.to_numpy() for chunk in claims[name].get_chunks())) for name in AMOUNTS)


def _amount_type(claims: pl.DataFrame) -> type[np.signedinteger]:
    """int32 when every amount fits in it, else int64."""
    if claims.height == 0:
        return np.int64
    info = np.iinfo(np.int32)
    bounds = claims.select(
        pl.min_horizontal([pl.col(name).min() for name in AMOUNTS]).alias("low"),
        pl.max_horizontal([pl.col(name).max() for name in AMOUNTS]).alias("high"),
    ).row(0)
    return np.int32 if info.min <= bounds[0] and bounds[1] <= info.max else np.int64


def _yyyymmdd(dates: pl.Series) -> np.ndarray:
    return yyyymmdd(dates.cast(pl.Int32).to_numpy().astype("datetime64[D]"))


# A city's persons have few home regions: each claim's region is compared with each as a literal (no string
# copied per claim); with more, the person's home is gathered per claim and compared.
_FEW_HOMES = 64


def _which(region: pl.Series, homes: pl.Series) -> np.ndarray:
    """Per value of `region`, its index in `homes` (int8), -1 where none."""
    code = np.full(len(region), -1, dtype=np.int8)
    frame = region.to_frame("region")
    for i, name in enumerate(homes):  # homes are distinct: one mask at most is true
        code += frame.select(pl.col("region") == name).to_series().to_numpy().view(np.int8) * np.int8(i + 1)
    return code


def settle_batch(scheme: Scheme, persons: pl.DataFrame, claims: pl.DataFrame, threads: int | None = None,
                 policies: pl.DataFrame | None = None) -> pl.DataFrame:
    """The claims settled by the batch path (as yibao.engine.settle_frame): the claims table made for this
    settlement (its memory then holds results) and settled on `threads` threads (default: one per core)."""
    table = claim_table(persons, claims, policies)
    result = settle_columns(scheme, table, threads=threads, reuse=True)
    del table
    return claims.with_columns([pl.Series(name, values, dtype=pl.Int64) for name, values in result.items()])
