"""The batch path: a whole claims table settled column-wise with NumPy, to the fen equal to the scalar path.

The scalar path's sequential state becomes cumulative sums over claims sorted in
canonical order (person, service date, claim id) within each person-year:

* a yearly rule's cumulative base is a grouped cumulative sum of the part's bases;
* the deductible halving counts the part's earlier claims with a grouped cumulative count;
* banded rates are the difference of a piecewise-linear schedule evaluated at the
  cumulative base after and before the claim (each rounded, as in the scalar path);
* a yearly cap clips the grouped cumulative sum of the part's payments.

Each part works only on the claims that meet its condition (they stay in canonical
order, so groups stay contiguous). Parameters are looked up per claim from their
dated, keyed tables. Nothing here loops over claims in Python.
"""

from __future__ import annotations

import itertools
import mmap
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from yibao.core.errors import InputError, SchemeError
from yibao.core.money import RATE_SCALE
from yibao.core.scheme import (
    DIMENSION_KEYS,
    Accumulation,
    Band,
    Bands,
    Condition,
    Dimension,
    Parameter,
    Part,
    Quantity,
    Scheme,
)

I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
NO_CAP = np.int64(2**62)  # stands for "no cap": larger than any running total
# rate (<= 1e6 ppm) x amount must stay inside int64 with room for the half-up doubling
MAX_BATCH_AMOUNT = 4 * 10**12


@dataclass(frozen=True)
class ClaimColumns:
    """A claims table joined with its persons, as NumPy columns (amounts in fen), its rows in canonical order
    (person, service date, claim id): `ClaimTable.sorted` gathers them."""

    person: npt.NDArray[np.integer[Any]]  # any integer code, equal for claims of the same person
    day: npt.NDArray[np.datetime64]  # service date, datetime64[D]
    age: npt.NDArray[np.integer[Any]]  # completed years on the service date
    keys: Mapping[Dimension, npt.NDArray[np.int8]]  # code = index into DIMENSION_KEYS[dim]
    # amounts in fen: int64, or int32 (the batch path's sums are made in int64 whatever the amounts' type)
    class_a: npt.NDArray[np.int32] | I64
    class_b: npt.NDArray[np.int32] | I64
    self_pay: npt.NDArray[np.int32] | I64
    special_drugs: npt.NDArray[np.int32] | I64

    def __len__(self) -> int:
        return len(self.person)

    def rows(self, a: int, b: int) -> ClaimColumns:
        """Rows a..b (views, no copy)."""
        return ClaimColumns(
            person=self.person[a:b],
            day=self.day[a:b],
            age=self.age[a:b],
            keys={dim: codes[a:b] for dim, codes in self.keys.items()},
            class_a=self.class_a[a:b],
            class_b=self.class_b[a:b],
            self_pay=self.self_pay[a:b],
            special_drugs=self.special_drugs[a:b],
        )

    def check_order(self) -> None:
        """Refuse rows out of canonical order by person and date (the claim-id tie-break is the caller's)."""
        person, day = self.person, self.day
        if len(person) < 2:
            return
        later = person[1:] > person[:-1]
        if not bool(np.all(later | ((person[1:] == person[:-1]) & (day[1:] >= day[:-1])))):
            raise SchemeError("claim columns must be sorted by person and service date", code="batch.not_sorted")


# the claim's own dimensions and the person's, in the order of ClaimTable.codes and ClaimTable.person_codes
CLAIM_DIMENSIONS = (Dimension.FACILITY_LEVEL, Dimension.CARE_TYPE, Dimension.OUT_OF_AREA)
PERSON_DIMENSIONS = (Dimension.SCHEME, Dimension.ASSISTANCE_CATEGORY, Dimension.PRE_EXISTING, Dimension.HUIMINBAO)
AMOUNTS = ("class_a", "class_b", "self_pay", "special_drugs")  # the columns of ClaimTable.amounts


# words (int32) of a claim's row in ClaimTable.rows: person, day, codes (int8 x 4), unused, then the amounts (int32 x 4
# when every amount of the table fits, else int64 x 4); a row of int32 amounts is 32 bytes, as four int64 payments
ROW_WORDS, WIDE_ROW_WORDS = 8, 12
_PERSON, _DAY, _CODES, _AMOUNTS = 0, 1, 2, 4


@dataclass(frozen=True)
class Chunked:
    """A column held in pieces, one after another (as a frame holds a column it has read): NumPy arrays."""

    parts: tuple[npt.NDArray[np.integer[Any]], ...]

    def views(self, a: int, b: int) -> Iterator[tuple[int, npt.NDArray[np.integer[Any]]]]:
        """Rows a..b as (offset from a, view of one piece), in order."""
        at = 0
        for part in self.parts:
            lo, hi = max(a - at, 0), min(b - at, len(part))
            if lo < hi:
                yield at + lo - a, part[lo:hi]
            at += len(part)
            if at >= b:
                break

    def slice(self, a: int, b: int) -> npt.NDArray[np.integer[Any]]:
        """Rows a..b: a view when they lie in one piece."""
        views = [view for _, view in self.views(a, b)]
        if len(views) == 1:
            return views[0]
        return np.concatenate(views) if views else np.zeros(0, dtype=np.int64)

    def copy_to(self, a: int, b: int, out: npt.NDArray[Any]) -> None:
        """Rows a..b written into `out` piece by piece (no joined copy in between)."""
        for offset, view in self.views(a, b):
            out[offset:offset + len(view)] = view


@dataclass
class ClaimTable:
    """A claims table in its input order with its persons, as NumPy columns (amounts in fen):
    `yibao.columns.claim_table` makes it from frames.

    A claim's person, day, codes and amounts sit side by side in one row of `rows` (ROW_WORDS int32 = 32 bytes),
    so that gathering a claim reads one place; person attributes stay one row per person (`person_codes`,
    `birth`) and are gathered only for the rows being settled. No sorted copy is made: the input rows are grouped
    into runs of whole persons (`grouped`, made with the table for the batch path's chunks; `chunks` for any other
    count), and `sorted` puts one group in canonical order (person, service date, claim id) and gathers it. `inputs` are the amounts as the frame holds them, in input order (for the sums of
    amounts made in input order after settling). Settling a table may reuse the memory of `rows` for its results
    (`settle_columns(..., reuse=True)`): the table is then spent."""

    rows: npt.NDArray[np.int32]  # [claim, word]: see ROW_WORDS
    person_codes: npt.NDArray[np.int8]  # [person, i]: code of PERSON_DIMENSIONS[i]
    birth: npt.NDArray[np.int32]  # birth date per person, yyyymmdd
    inputs: tuple[Chunked, ...]  # AMOUNTS in fen, in input order
    # (input rows, their group numbers) -> positions sorting them by (group, claim id); None: by input row
    by_claim_id: Callable[[npt.NDArray[np.intp], I64], npt.NDArray[np.intp]] | None = None
    # the rows already grouped into chunks (made while the table was made; see `grouped_in_pieces`), else None
    grouped: _Partition | None = None
    spent: bool = False  # its rows' memory now holds results

    @staticmethod
    def group_piece(person: npt.NDArray[np.int32], persons: int, count: int, perm: npt.NDArray[np.int32]) -> I64:
        """One piece of rows (their person rows among `persons`) grouped into `count` chunks by runs of equal
        numbers of persons: their positions by chunk written into `perm` (the piece's part of it), and where
        each chunk starts in it (for `grouped_in_pieces`)."""
        return _Partition.group(_Partition.by_range(person, persons, count), count, perm)

    @staticmethod
    def grouped_in_pieces(
        pieces: list[tuple[int, int]], bounds: list[I64], perm: npt.NDArray[np.int32], count: int
    ) -> _Partition:
        """`grouped` from consecutive pieces of rows, each grouped by `group_piece`."""
        return _Partition([a for a, _ in pieces], [perm[a:b] for a, b in pieces], bounds, count)

    @staticmethod
    def new_rows(n: int, wide: bool) -> npt.NDArray[np.int32]:
        """Uninitialised rows for n claims (`wide`: int64 amounts)."""
        words = WIDE_ROW_WORDS if wide else ROW_WORDS
        return new_column(n * words, np.int32).reshape(n, words)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def person(self) -> npt.NDArray[np.int32]:
        """Row in the persons' columns."""
        return self.rows[:, _PERSON]

    @property
    def day(self) -> npt.NDArray[np.int32]:
        """Service date as days since 1970-01-01."""
        return self.rows[:, _DAY]

    @property
    def codes(self) -> npt.NDArray[np.int8]:
        """[claim, i]: code of CLAIM_DIMENSIONS[i] (= index into DIMENSION_KEYS); i = 3 unused."""
        return self.rows[:, _CODES:_CODES + 1].view(np.int8)

    @property
    def amounts(self) -> npt.NDArray[np.int32] | I64:
        """[claim, i]: AMOUNTS[i] in fen (int32, or int64 in wide rows)."""
        if self.rows.shape[1] == ROW_WORDS:
            return self.rows[:, _AMOUNTS:_AMOUNTS + 4]
        return self.rows[:, _AMOUNTS:_AMOUNTS + 8].view(np.int64)

    def _check(self) -> None:
        if self.spent:
            raise SchemeError("this claims table was settled with reuse: its memory holds the results",
                              code="batch.table_spent")

    def chunks(self, count: int) -> list[npt.NDArray[np.intp]]:
        """The input rows cut into about `count` groups of whole persons, about equal in claims, each ascending
        (empty groups left out)."""
        self._check()
        partition = _Partition.of(self.person, len(self.birth), count, None, 1)
        return [partition.rows(j) for j in range(partition.count) if partition.size(j)]

    def sorted(self, rows: npt.NDArray[np.intp]) -> tuple[ClaimColumns, npt.NDArray[np.intp]]:
        """The claims at input rows `rows` (ascending, whole persons) in canonical order, and their input rows in
        that order. The claims' rows are read at the ascending rows (in address order) and then put in order."""
        self._check()
        return self._gather(rows)

    def _gather(self, rows: npt.NDArray[np.intp], ages: bool = True) -> tuple[ClaimColumns, npt.NDArray[np.intp]]:
        """`ages`: False when nothing will look at them (ClaimColumns.age is then empty)."""
        block = np.take(self.rows, rows, axis=0)
        order = self._order(block[:, _PERSON].copy(), block[:, _DAY].copy())
        if order is not None:  # whole rows moved at once (a row is 32 bytes): cheaper than column by column
            block, rows = np.take(block, order, axis=0), np.take(rows, order)
        person, day = block[:, _PERSON].copy(), block[:, _DAY].copy()
        tied = _tied(person, day)
        if tied is not None:  # claims of the same person and day: by claim id
            by = self._tie_order(np.take(rows, tied), np.take(person, tied), np.take(day, tied))
            if by is not None:  # moved within each tie: person and day stay as they are
                moved = np.take(tied, by)
                np.put(_items(block), tied, np.take(_items(block), moved))
                rows[tied] = np.take(rows, moved)
        code_words = block[:, _CODES].copy()
        amounts: npt.NDArray[np.int32] | I64
        if block.shape[1] == ROW_WORDS:  # kept in int32: half the bytes to gather for each part
            amounts = block[:, _AMOUNTS:_AMOUNTS + 4].T.copy()
        else:
            amounts = block[:, _AMOUNTS:_AMOUNTS + 8].copy().view(np.int64).T.copy()
        del block
        codes = code_words.view(np.int8).reshape(-1, 4).T.copy()
        theirs = np.take(self.person_codes.view(np.int32)[:, 0], person).view(np.int8).reshape(-1, 4).T.copy()
        dates = day.astype("datetime64[D]")
        columns = ClaimColumns(
            person=person,
            day=dates,
            # completed years: (service yyyymmdd - birth yyyymmdd) // 10000
            age=((yyyymmdd(dates) - np.take(self.birth, person)) // 10_000).astype(np.int16) if ages
            else np.zeros(0, np.int16),
            # each column on its own (contiguous) for the many comparisons and sums that follow
            keys={dim: codes[i] for i, dim in enumerate(CLAIM_DIMENSIONS)}
            | {dim: theirs[i] for i, dim in enumerate(PERSON_DIMENSIONS)},
            class_a=amounts[0],
            class_b=amounts[1],
            self_pay=amounts[2],
            special_drugs=amounts[3],
        )
        return columns, rows

    @staticmethod
    def _order(person: npt.NDArray[np.int32], day: npt.NDArray[np.int32]) -> npt.NDArray[np.intp] | None:
        """The stable order of the claims by person and day (claims of the same person and day keep their
        order); None when they are in it."""
        if len(person) < 2:
            return None
        first_person, first_day = int(person.min()), int(day.min())
        persons, days = int(person.max()) - first_person + 1, int(day.max()) - first_day + 1
        by_day = bool(np.all(day[1:] >= day[:-1]))  # the rows come by day, as a bureau's do
        if by_day and bool(np.all(person[1:] >= person[:-1])):
            return None  # by person too
        if persons <= 1 << 16 and days <= 1 << 16:
            # stable radix sorts of 16-bit numbers: by day (unless the rows come by day), then by person
            by_person = (person - first_person).astype(np.uint16)
            if by_day:
                return np.argsort(by_person, kind="stable")
            order = np.argsort((day - first_day).astype(np.uint16), kind="stable")
            return np.take(order, np.argsort(np.take(by_person, order), kind="stable"))
        return np.lexsort((day, person))

    def _tie_order(
        self, rows: npt.NDArray[np.intp], person: npt.NDArray[np.int32], day: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.intp] | None:
        """The order by (person, day, claim id) of tied claims given in order by person and day (their input
        rows); None when they are in it. Without `by_claim_id` ties stay in input order (as the stable sorts
        left them)."""
        if self.by_claim_id is None:
            return None
        group = person.astype(np.int64) << 32 | day.astype(np.int64) - np.iinfo(np.int32).min
        by = self.by_claim_id(rows, group)
        return None if bool(np.all(by[1:] > by[:-1])) else by


def _tied(person: npt.NDArray[np.int32], day: npt.NDArray[np.int32]) -> npt.NDArray[np.intp] | None:
    """Positions of the claims (in order by person and day) sharing their person and day with another; None if
    none does."""
    same = np.zeros(len(person), dtype=np.bool_)
    if len(person) > 1:
        np.equal(person[1:], person[:-1], out=same[1:])
        same[1:] &= day[1:] == day[:-1]
    if not same.any():
        return None
    same[:-1] |= same[1:]
    return np.flatnonzero(same)


@dataclass(frozen=True)
class _Partition:
    """Input rows grouped by runs of whole persons, without sorting them: the rows are cut into pieces and each
    piece is grouped on its own (a stable sort of small group numbers), so group j is the concatenation over
    pieces of `offsets[p] + perms[p][bounds[p][j]:bounds[p][j + 1]]`: ascending input rows."""

    offsets: list[int]
    perms: list[npt.NDArray[np.int32]]
    bounds: list[I64]
    count: int

    @classmethod
    def of(
        cls, person: npt.NDArray[np.int32], persons: int, count: int, pool: ThreadPoolExecutor | None, workers: int
    ) -> _Partition:
        """`count` groups of the rows of `person` (row numbers among `persons` persons), on `workers` threads."""
        n = len(person)
        count = max(1, min(count, n))
        parts = list(itertools.pairwise(np.linspace(0, n, max(1, min(workers, n)) + 1).astype(np.int64).tolist()))
        claims = np.zeros(persons, dtype=np.int64)
        for counted in _map(pool, lambda ab: np.bincount(person[ab[0]:ab[1]], minlength=persons), parts):
            claims += counted
        # a person's group: where the person's first claim falls among `count` equal runs of the claims
        before = np.cumsum(claims) - claims
        group_of = (before * count // max(n, 1)).astype(np.uint16 if count <= 1 << 16 else np.int32)
        del claims, before
        # grouped in pieces small enough for their temporaries to be reused from piece to piece
        spans = list(itertools.pairwise([*range(0, n, _GROUPED_ROWS), n])) if n else [(0, 0)]
        perm = new_column(n, np.int32)

        done = _map(pool, lambda ab: cls.group(np.take(group_of, person[ab[0]:ab[1]]), count, perm[ab[0]:ab[1]]), spans)
        return cls([a for a, _ in spans], [perm[a:b] for a, b in spans], done, count)

    @staticmethod
    def group(group: npt.NDArray[np.integer[Any]], count: int, perm: npt.NDArray[np.int32]) -> I64:
        """One piece's rows grouped: their positions by group into `perm` (stable), and the bounds of each
        group in it."""
        perm[:] = np.argsort(group, kind="stable")  # a radix sort for 16-bit groups
        bounds = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(np.bincount(group, minlength=count), out=bounds[1:])
        return bounds

    @staticmethod
    def by_range(person: npt.NDArray[np.int32], persons: int, count: int) -> npt.NDArray[np.integer[Any]]:
        """The group of each row when the persons are cut into `count` runs of equal numbers of persons (what
        a piece of rows can be grouped by on its own, before the claims of every person are counted)."""
        group = person.astype(np.int64) * count // max(persons, 1)
        return group.astype(np.uint16 if count <= 1 << 16 else np.int32)

    def size(self, j: int) -> int:
        return sum(int(b[j + 1] - b[j]) for b in self.bounds)

    def rows(self, j: int) -> npt.NDArray[np.intp]:
        parts = [perm[b[j]:b[j + 1]].astype(np.intp) + offset
                 for offset, perm, b in zip(self.offsets, self.perms, self.bounds, strict=True)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


_GROUPED_ROWS = 1 << 20


def _by_day(day: npt.NDArray[np.datetime64], field: str) -> npt.NDArray[np.int32]:
    """A calendar field of each day (int32), converted once per distinct day of the span (a year has 366)."""
    if len(day) == 0:
        return np.zeros(0, np.int32)
    numbers = day.view(np.int64)  # days since 1970-01-01
    first = int(numbers.min())
    span = np.arange(first, int(numbers.max()) + 1, dtype=np.int64).astype("datetime64[D]")
    years = span.astype("datetime64[Y]")
    year = years.astype(np.int64) + 1970
    if field == "year":
        table = year
    else:
        months = span.astype("datetime64[M]")
        month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
        table = year * 10_000 + month * 100 + (span - months.astype("datetime64[D]")).astype(np.int64) + 1
    return np.take(table.astype(np.int32), numbers - first)


def year_of(day: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int32]:
    return _by_day(day, "year")


def yyyymmdd(day: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int32]:
    """Dates as integers yyyymmdd: completed years between two dates are (later - earlier) // 10000."""
    return _by_day(day, "yyyymmdd")


class _Groups:
    """Person-year groups of the sorted claims, for grouped cumulative sums."""

    def __init__(self, person: npt.NDArray[np.integer[Any]], day: npt.NDArray[np.datetime64]) -> None:
        n = len(person)
        self.start = np.ones(n, dtype=np.bool_)
        if n > 1:
            np.not_equal(person[1:], person[:-1], out=self.start[1:])
            if day.min().astype("datetime64[Y]") != day.max().astype("datetime64[Y]"):  # rows of several years
                year = year_of(day)
                self.start[1:] |= year[1:] != year[:-1]
        self.gid = np.cumsum(self.start, dtype=np.int32)  # fewer groups than rows: int32 holds any chunk's
        self._runs: _Runs | None = None

    def runs(self) -> _Runs:
        if self._runs is None:
            self._runs = _Runs.of(self.start)
        return self._runs


@dataclass(frozen=True)
class _Runs:
    """Consecutive rows in groups (person-years): each group's first position and its number of rows."""

    starts: I64
    lengths: I64

    @classmethod
    def of(cls, start: Bool) -> _Runs:
        """From a mask of the rows that start a group (the first row always does)."""
        starts = np.flatnonzero(start)
        return cls(starts, np.diff(starts, append=len(start)))

    @classmethod
    def of_ids(cls, gid: npt.NDArray[np.integer[Any]]) -> _Runs:
        """From group ids that never decrease."""
        start = np.ones(len(gid), dtype=np.bool_)
        if len(gid) > 1:
            np.not_equal(gid[1:], gid[:-1], out=start[1:])
        return cls.of(start)

    def number(self) -> I64:
        """Each row's number in its group, from 1."""
        n = int(self.lengths.sum())
        return np.arange(1, n + 1) - np.repeat(self.starts, self.lengths)

    def cumsum(self, values: I64) -> I64:
        """Inclusive cumulative sum of `values` restarting at every group: the running total less, repeated over
        each group, the running total before its first row (no per-row lookup of the group's first position)."""
        total = np.cumsum(values, dtype=np.int64)
        if len(values):
            before = np.take(total, self.starts) - np.take(values, self.starts)
            total -= np.repeat(before, self.lengths)
        return total


def round_rate_numerator(numerator: I64) -> I64:
    """round(numerator / RATE_SCALE) half-up, as money.round_half_up_div."""
    return (2 * numerator + RATE_SCALE) // (2 * RATE_SCALE)


def apply_rate_array(rate: I64, amount: I64) -> I64:
    return round_rate_numerator(rate * amount)


@dataclass(frozen=True)
class _Table:
    """A dated, keyed parameter as arrays: its dates, and its converted values by epoch and key code."""

    dates: npt.NDArray[np.datetime64]
    values: I64  # [epoch, key code]; one column when the parameter has no key
    bands: tuple[Bands, ...]  # for a parameter of band sets: the distinct sets that `values` index


# converted tables by (id of the parameter, conversion): every chunk of every settlement looks them up; the entry
# holds the parameter itself, so the id is not reused while the entry lives
_TABLES: dict[tuple[int, str, int], tuple[Parameter[Any], _Table]] = {}


def _table(param: Parameter[Any], kind: str, none_means: int = 0) -> _Table:
    key = (id(param), kind, none_means)
    hit = _TABLES.get(key)
    if hit is not None and hit[0] is param:
        return hit[1]
    distinct: list[Bands] = []

    def convert(value: Any) -> int:
        if kind == "money":
            return none_means if value is None else int(value)
        if kind == "rate":
            return int(value)
        bands = (Band(0, 0),) if value is None else value  # type: ignore[arg-type]
        if bands not in distinct:
            distinct.append(bands)
        return distinct.index(bands)

    missing = none_means if kind == "money" else (0 if kind == "rate" else None)
    codes = DIMENSION_KEYS[param.by] if param.by is not None else ("",)
    rows = [
        [convert(table.get(code, table.get("default", missing)) if param.by else table[""]) for code in codes]
        for _, table in param.values
    ]
    made = _Table(np.array(param.dates(), dtype="datetime64[D]"), np.array(rows, dtype=np.int64), tuple(distinct))
    if len(_TABLES) > 4096:
        _TABLES.clear()
    _TABLES[key] = (param, made)
    return made


class _Lookup:
    """Dated, keyed parameter values resolved for a set of claims.

    A value that is the same for every claim comes back as a broadcast view (no memory per claim)."""

    def __init__(self, view: _View) -> None:
        self.view, self.keys = view, view.keys

    def epochs(self, param: Parameter[Any], dates: npt.NDArray[np.datetime64]) -> I64 | None:
        """Per claim, the index of the value in force on its day; None when one value covers every claim."""
        if len(self.view) == 0 or (len(dates) == 1 and self.view.earliest >= dates[0]):
            return None
        days = self.view.day
        if len(dates) == 1 and days.min() >= dates[0]:
            return None
        idx = np.searchsorted(dates, days, side="right") - 1
        if idx.min() < 0:
            bad = days[int(np.argmin(idx))]
            raise SchemeError(f"no value in force on {bad} for {param.description!r}", code="scheme.no_value")
        return idx.astype(np.int64)

    def values(self, param: Parameter[Any], table: _Table) -> I64:
        """Per claim, its converted value (int64) of a dated parameter, keyed or not."""
        values = table.values
        epoch = self.epochs(param, table.dates)
        if param.by is None:
            if epoch is None:
                return _same(values[0, 0], len(self.view))
            per_claim: I64 = np.take(values[:, 0], epoch)
            return per_claim
        code = self.keys[param.by]  # np.take: half the time of indexing
        if epoch is None:
            per_claim = np.take(values[0], code)
        else:
            per_claim = np.take(values.reshape(-1), epoch * values.shape[1] + code)
        return per_claim

    def money(self, param: Parameter[Any] | None, *, none_means: np.int64) -> I64:
        """Money values per claim; a missing parameter or a null value (no cap) gives `none_means`."""
        if param is None:
            return _same(none_means, len(self.view))
        return self.values(param, _table(param, "money", int(none_means)))

    def rate(self, param: Parameter[Any]) -> I64:
        return self.values(param, _table(param, "rate"))

    def bands(self, param: Parameter[Bands]) -> tuple[list[Bands], I64]:
        """The distinct band sets and, per claim, the index of its band set."""
        table = _table(param, "bands")
        return list(table.bands), self.values(param, table)


def _same(value: np.int64, n: int) -> I64:
    """`value` n times, as a read-only view of one number (what np.broadcast_to gives, without its overhead)."""
    one = np.array([value], dtype=np.int64)
    one.flags.writeable = False
    return np.ndarray((n,), dtype=np.int64, buffer=one, strides=(0,))


def _pick(values: I64, at: I64) -> I64:
    """`values` at positions `at`; a value the same for every row stays one (np.take would first copy it out)."""
    same = _constant(values)
    return _same(same, len(at)) if same is not None else np.take(values, at)


def _constant(values: I64) -> np.int64 | None:
    """The value of a broadcast (same for every claim) array, else None."""
    if values.ndim == 1 and len(values) > 0 and values.strides == (0,):
        return np.int64(values[0])
    return None


def condition_mask(
    cond: Condition, keys: Mapping[Dimension, npt.NDArray[np.int8]], age: npt.NDArray[Any] | Callable[[], Any], n: int
) -> Bool:
    """Rows (of n) meeting the condition; `age` may be a function giving the ages, called only if needed."""
    mask = np.ones(n, dtype=np.bool_)
    for dim, allowed in cond.keys.items():
        codes = [code for code, key in enumerate(DIMENSION_KEYS[dim]) if key in allowed]
        refused = [code for code, key in enumerate(DIMENSION_KEYS[dim]) if key not in allowed]
        if not refused:
            continue
        if not codes:
            mask[:] = False
            continue
        # comparisons of the int8 codes (a table lookup would first widen every code to an index)
        if len(codes) <= len(refused):
            for_dim = keys[dim] == codes[0]
            for code in codes[1:]:
                for_dim |= keys[dim] == code
            mask &= for_dim
        else:
            for code in refused:
                mask &= keys[dim] != code
    if cond.min_age is not None or cond.max_age is not None:
        ages = age() if callable(age) else age
        if cond.min_age is not None:
            mask &= ages >= cond.min_age
        if cond.max_age is not None:
            mask &= ages <= cond.max_age
    return mask


def _numerator(amount: I64, deductible: I64, aboves: list[int], rates: list[I64 | int], points: I64) -> I64:
    """The unrounded schedule: sum over bands of rate x the part of the amount inside the band (band i from
    aboves[i], at rates[i]: one rate, or one per claim)."""
    acc = np.zeros(len(amount), dtype=np.int64)
    same_points = _constant(points)
    for i, (above, rate) in enumerate(zip(aboves, rates, strict=True)):
        low = np.maximum(above, deductible)
        top = amount if i + 1 == len(aboves) else np.minimum(amount, aboves[i + 1])
        width = top - low
        np.maximum(width, 0, out=width)
        if isinstance(rate, int) and same_points is not None:
            width *= min(max(rate + int(same_points), 0), RATE_SCALE)
        else:
            width *= np.clip(rate + points, 0, RATE_SCALE)
        acc += width
    return acc


def schedule_array(amount: I64, deductible: I64, band_sets: list[Bands], which: I64, points: I64) -> I64:
    """f(amount) rounded, per claim, with its own deductible, band set and adjustment points."""
    aboves = [band.above for band in band_sets[0]]
    if len(band_sets) == 1:
        return round_rate_numerator(_numerator(amount, deductible, aboves, [b.rate for b in band_sets[0]], points))
    if all([band.above for band in bands] == aboves for bands in band_sets):
        # the same bands at rates by key (as rates by facility level): each claim's rate per band, one pass
        table = np.array([[band.rate for band in bands] for bands in band_sets], dtype=np.int64)
        rates: list[I64 | int] = [np.take(table[:, i], which) for i in range(len(aboves))]
        return round_rate_numerator(_numerator(amount, deductible, aboves, rates, points))
    numerator = np.zeros(len(amount), dtype=np.int64)
    for index, bands in enumerate(band_sets):
        rows = np.flatnonzero(which == index)
        if len(rows):
            numerator[rows] = _numerator(
                np.take(amount, rows), _pick(deductible, rows), [b.above for b in bands], [b.rate for b in bands],
                _pick(points, rows),
            )
    return round_rate_numerator(numerator)


def _rows(values: np.ndarray, sel: I64 | None) -> np.ndarray:
    return values if sel is None else np.take(values, sel)


# Rows settled together: person-aligned chunks small enough for their temporaries to stay in the CPU caches,
# and settled on every core (NumPy releases the GIL in its loops).
CHUNK_ROWS = 1 << 18


def chunk_count(n: int, chunk_rows: int = CHUNK_ROWS) -> int:
    """How many chunks `n` claims are settled in."""
    return -(-n // chunk_rows)


def person_cuts(person: npt.NDArray[np.integer[Any]], partitions: int) -> list[tuple[int, int]]:
    """Consecutive runs [a, b) of rows sorted by person, about equal in size, cut only between persons."""
    n = len(person)
    cuts = [0]
    for i in range(1, partitions):
        cut = max(n * i // partitions, cuts[-1])
        while 0 < cut < n and person[cut] == person[cut - 1]:
            cut += 1
        cuts.append(min(cut, n))
    cuts.append(n)
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def new_column(n: int, dtype: type[Any] = np.int64, *, populate: bool = False) -> npt.NDArray[Any]:
    """A column to be written once and handed on (uninitialised).

    A large one is mapped with the kernel's ordinary pages: NumPy asks for 2 MiB pages for large arrays, and
    on a virtual machine that hands freed memory back to its host, every such page is zeroed afresh when
    first written (measured here 2-5 times the cost of ordinary pages, and erratic; bench/settle.py).
    `populate`: the kernel maps every page now, in one call (cheaper than a fault per page later)."""
    size = n * np.dtype(dtype).itemsize
    if size < _LARGE:
        return np.empty(n, dtype=dtype)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | (_POPULATE if populate else 0)
    return np.frombuffer(mmap.mmap(-1, size, flags=flags), dtype=dtype)


_POPULATE = getattr(mmap, "MAP_POPULATE", 0)  # Linux


_LARGE = 1 << 22  # bytes from which NumPy asks for huge pages


def output_names(scheme: Scheme) -> list[str]:
    return ["total", "preselfpay", "in_policy", *[f"paid_{i}" for i in scheme.layer_ids], "out_of_pocket"]


def settle_columns(
    scheme: Scheme,
    cols: ClaimColumns | ClaimTable,
    *,
    threads: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    reuse: bool = False,
) -> dict[str, I64]:
    """Settle every claim; returns total, preselfpay, in_policy, paid_<layer>..., out_of_pocket.

    `ClaimColumns` (rows in canonical order) give results in that order; a `ClaimTable` gives them in its input
    order: its rows are grouped into chunks of whole persons, and each chunk is put in canonical order, gathered,
    settled and written back on its own, so no sorted copy of the whole table is made. Chunks are settled on
    `threads` threads (default: one per core). `reuse`: the table's memory may hold results (it is then spent;
    the caller made it for this settlement)."""
    workers = max(1, threads or os.cpu_count() or 1)
    if isinstance(cols, ClaimTable):
        return _settle_table(scheme, cols, workers, chunk_rows, reuse)
    cols.check_order()
    n = len(cols)
    out = {name: new_column(n) for name in output_names(scheme)}
    chunks = person_cuts(cols.person, max(1, chunk_count(n, chunk_rows)))

    def settle_chunk(bounds: tuple[int, int]) -> None:
        a, b = bounds
        for name, values in _settle_sorted(scheme, cols.rows(a, b)).items():
            out[name][a:b] = values

    _run(settle_chunk, chunks, workers)
    return out


def _map(pool: ThreadPoolExecutor | None, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """work(item) for each item, on the pool's threads when there is a pool."""
    return list(pool.map(work, items) if pool is not None else map(work, items))


def _run(work: Callable[[Any], None], items: list[Any], workers: int, pool: ThreadPoolExecutor | None = None) -> None:
    if pool is None and min(workers, len(items)) > 1:
        with ThreadPoolExecutor(min(workers, len(items))) as own:
            _run(work, items, workers, own)
    elif pool is None or len(items) <= 1:
        for item in items:
            work(item)
    else:
        list(pool.map(work, items))  # list() re-raises a chunk's error here


# rows of the input order worked on at a time where the work is row by row
_PIECE_ROWS = 1 << 16


def _settle_table(scheme: Scheme, table: ClaimTable, workers: int, chunk_rows: int, reuse: bool) -> dict[str, I64]:
    """Each chunk writes its payments to its claims' own rows, side by side (a claim's row has been read by then;
    writing four columns at scattered rows costs about four times as much); afterwards, in input order, the
    payments are copied out to their columns, and total, pre-self-pay at one rate for all, in-policy and what is
    left are made from the amounts as the frame holds them. With `reuse`, those four sums are written over the
    table's rows (read by then) instead of new memory."""
    table._check()
    n = len(table)
    same_rate = _one_rate(scheme.preselfpay_rate, table.day)
    names = output_names(scheme)
    layer_ids = list(scheme.layer_ids)
    side = layer_ids[:4]  # the payments written side by side into the claims' rows (4 x int64 = a row's 32 bytes)
    sums = ["total", "preselfpay", "in_policy", "out_of_pocket"]
    out: dict[str, I64] = {}
    reused = reuse and n > 0 and table.rows.flags.c_contiguous
    if reused:
        flat = table.rows.reshape(-1).view(np.int64)
        out |= {name: flat[k * n:(k + 1) * n] for k, name in enumerate(sums)}
        payments = flat.reshape(n, -1)  # a claim's payments in its own row (the row's other words unused)
    else:
        payments = new_column(n * len(side)).reshape(n, len(side))
    ages = _uses_age(scheme)
    scattered = [f"paid_{i}" for i in layer_ids[4:]] + ([] if same_rate is not None else ["preselfpay"])

    def settle_chunk(j: int) -> None:
        if partition.size(j) == 0:
            return
        chunk, rows = table._gather(partition.rows(j), ages)  # in canonical order by construction
        settled = _settle_sorted(scheme, chunk)
        if side:
            block = np.empty((len(rows), payments.shape[1]), dtype=np.int64)  # whole rows (unused words: never read)
            for k, layer_id in enumerate(side):
                block[:, k] = settled[f"paid_{layer_id}"]
            # a row as one item: np.put copies each whole (2-dimensional fancy indexing goes through NumPy's
            # general mapping: measured 4 times slower)
            np.put(_items(payments), rows, _items(block))
        for name in scattered:
            out[name][rows] = settled[name]

    def copy_out(bounds: tuple[int, int]) -> None:
        a, b = bounds
        block = payments[a:b, :len(side)]
        for k, layer_id in enumerate(side):
            out[f"paid_{layer_id}"][a:b] = block[:, k]

    def derive(bounds: tuple[int, int]) -> None:  # as _settle_sorted makes them, in input order
        a, b = bounds
        total, pre, in_policy, left = (out[name][a:b] for name in sums)
        class_a, class_b, self_pay, special_drugs = (column.slice(a, b) for column in table.inputs)
        if same_rate is not None:  # round_rate_numerator(rate x class B), in place
            np.multiply(class_b, 2 * same_rate, out=pre, dtype=np.int64)
            pre += RATE_SCALE
            pre //= 2 * RATE_SCALE
        np.add(class_a, class_b, out=total, dtype=np.int64)  # in int64 whatever the amounts' type
        np.subtract(total, pre, out=in_policy)
        total += self_pay
        total += special_drugs
        left[:] = total
        for layer_id in layer_ids:
            left -= out[f"paid_{layer_id}"][a:b]

    pieces = list(itertools.pairwise([*range(0, n, _PIECE_ROWS), n]))
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    try:
        # columns written at scattered rows are mapped first, on every core (a page fault per page while settling
        # costs more); the others are written in order
        out |= zip(scattered, _map(pool, lambda _: new_column(n, populate=True), scattered), strict=True)
        out |= {name: new_column(n) for name in names if name not in out}
        count = chunk_count(n, chunk_rows)
        grouped = table.grouped
        partition = grouped if grouped is not None and grouped.count == count else _Partition.of(
            table.person, len(table.birth), count, pool, workers
        )
        if reuse:
            table.spent = True  # given up for its memory: from here on its rows may be written over
        _run(settle_chunk, list(range(partition.count)), workers, pool)
        _run(copy_out, pieces, workers, pool)
        _run(derive, pieces, workers, pool)
    finally:
        if pool is not None:
            pool.shutdown()
    return {name: out[name] for name in names}


def _items(rows: npt.NDArray[Any]) -> npt.NDArray[np.void]:
    """A contiguous [row, column] array as one item a row."""
    return rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).reshape(len(rows))


def _one_rate(param: Parameter[Any], day: npt.NDArray[np.int32]) -> np.int64 | None:
    """The rate of an unkeyed parameter with one value in force on every day of `day`, else None."""
    if param.by is not None or len(param.values) != 1:
        return None
    since = np.datetime64(param.values[0][0], "D").astype(np.int64)
    if len(day) and int(day.min()) < since:
        return None
    return np.int64(param.values[0][1][""])


def _amount(values: npt.NDArray[np.integer[Any]]) -> I64:
    """Amounts as given when int32 or int64 (typed I64: every sum made of them is asked for in int64)."""
    same: I64 = values if values.dtype in (np.int32, np.int64) else values.astype(np.int64)  # type: ignore[assignment]
    return same


def _settle_sorted(scheme: Scheme, cols: ClaimColumns) -> dict[str, I64]:
    """Settle columns in canonical order."""
    n = len(cols)
    day = cols.day
    groups = _Groups(cols.person, day)
    keys, age = cols.keys, cols.age
    chunk = _Chunk(day, keys, age, groups, day.min() if n else np.datetime64("1970-01-01"))
    amounts: dict[str, I64] = {  # given amounts in int32 or int64 (any other type made int64); sums in int64
        Quantity.CLASS_A.value: _amount(cols.class_a),
        Quantity.CLASS_B.value: _amount(cols.class_b),
        Quantity.SELF_PAY.value: _amount(cols.self_pay),
        Quantity.SPECIAL_DRUGS.value: _amount(cols.special_drugs),
    }
    catalogue = np.add(amounts["class_a"], amounts["class_b"], dtype=np.int64)
    total = np.add(catalogue, amounts["self_pay"], dtype=np.int64)
    total += amounts["special_drugs"]
    amounts[Quantity.TOTAL.value] = total
    preselfpay = apply_rate_array(_View(None, chunk).lookup.rate(scheme.preselfpay_rate), amounts["class_b"])
    amounts[Quantity.PRESELFPAY.value] = preselfpay
    catalogue -= preselfpay
    amounts[Quantity.IN_POLICY.value] = catalogue
    _check_magnitude(amounts, groups)

    bill_left = total.copy()
    out: dict[str, I64] = {"total": total, "preselfpay": preselfpay, "in_policy": amounts["in_policy"]}
    for layer in scheme.layers:
        layer_paid = np.zeros(n, dtype=np.int64)
        first_part = True
        for part in layer.parts:
            mask = condition_mask(part.when, keys, age, n)
            if not mask.any():
                continue
            rows, paid = _settle_part(part, _View.of(mask, chunk), amounts, bill_left)
            del mask
            if rows is None:
                layer_paid += paid
                bill_left -= paid
            else:
                if first_part:  # nothing paid yet: a write, not a read and a write
                    layer_paid[rows] = paid
                else:
                    layer_paid[rows] += paid
                bill_left[rows] -= paid
            first_part = False
        amounts[layer.id] = layer_paid
        out[f"paid_{layer.id}"] = layer_paid
    out["out_of_pocket"] = bill_left
    return out


# Rows that can still pay fewer than this share of the rows worked on: they are taken out and worked on alone.
_SPARSE = 0.5


class _View:
    """The rows a part works on: `rows` (positions in the chunk, ascending; None = every row) and the chunk's
    columns at those rows, each gathered on first use. (Working on every row with the amounts of the rows a
    condition refuses set to nothing was measured slower than gathering, even for half the rows.)"""

    def __init__(self, rows: I64 | None, chunk: _Chunk) -> None:
        self.rows, self.chunk = rows, chunk
        self.keys = _Gathered(chunk.keys, rows)
        self.lookup = _Lookup(self)
        self._day: npt.NDArray[np.datetime64] | None = None
        self._runs: _Runs | None = None

    @classmethod
    def of(cls, mask: Bool, chunk: _Chunk) -> _View:
        return cls(None if mask.all() else np.flatnonzero(mask), chunk)

    def __len__(self) -> int:
        return len(self.chunk.day) if self.rows is None else len(self.rows)

    @property
    def earliest(self) -> np.datetime64:
        """A day on or before every row's service date."""
        return self.chunk.earliest

    @property
    def day(self) -> npt.NDArray[np.datetime64]:
        if self._day is None:
            self._day = _rows(self.chunk.day, self.rows)
        return self._day

    def narrow(self, keep: I64) -> _View:
        """The rows `keep` (positions in this view) only."""
        return _View(_narrow(self.rows, keep), self.chunk)

    def take(self, values: I64) -> I64:
        return _rows(values, self.rows)

    def age(self) -> npt.NDArray[Any]:
        return _rows(self.chunk.age, self.rows)

    def runs(self) -> _Runs:
        """The person-years of this view's rows."""
        if self._runs is None:
            self._runs = (
                self.chunk.groups.runs() if self.rows is None else _Runs.of_ids(_rows(self.chunk.groups.gid, self.rows))
            )
        return self._runs


@dataclass
class _Chunk:
    """The sorted rows being settled: their columns and person-year groups."""

    day: npt.NDArray[np.datetime64]
    keys: Mapping[Dimension, npt.NDArray[np.int8]]
    age: npt.NDArray[Any]
    groups: _Groups
    earliest: np.datetime64


class _Gathered(Mapping[Dimension, npt.NDArray[np.int8]]):
    """Key codes at some rows, each dimension gathered on first use."""

    def __init__(self, keys: Mapping[Dimension, npt.NDArray[np.int8]], rows: I64 | None) -> None:
        self._keys, self._rows = keys, rows
        self._done: dict[Dimension, npt.NDArray[np.int8]] = {}

    def __getitem__(self, dim: Dimension) -> npt.NDArray[np.int8]:
        if dim not in self._done:
            self._done[dim] = _rows(self._keys[dim], self._rows)
        return self._done[dim]

    def __iter__(self) -> Iterator[Dimension]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _narrow(rows: I64 | None, keep: I64) -> I64:
    return keep if rows is None else np.take(rows, keep)


def _settle_part(part: Part, view: _View, amounts: Mapping[str, I64], bill_left: I64) -> tuple[I64 | None, I64]:
    """One part over the rows of `view` (claims meeting its condition, in canonical order).

    Returns the rows it pays on (positions in the chunk; None = every row) and what it pays on each. A schedule
    pays nothing at or below its deductible and a cap clips only rows that pay, so the rows above their
    deductible are scheduled alone when they are few, and only paying rows are capped (the same fen)."""
    m = len(view)
    base = np.zeros(m, dtype=np.int64)
    for term in part.base.plus:
        base += view.take(amounts[str(term)])
    for term in part.base.minus:
        base -= view.take(amounts[str(term)])
    np.maximum(base, 0, out=base)

    deductible = view.lookup.money(part.deductible, none_means=np.int64(0))
    if part.repeat_claim is not None:
        repeated = view.runs().number() >= part.repeat_claim.from_claim
        factor = view.lookup.rate(part.repeat_claim.factor)
        deductible = deductible + (apply_rate_array(factor, deductible) - deductible) * repeated  # branch-free

    if part.accumulation is Accumulation.YEAR:
        amount = view.runs().cumsum(base)  # cumulative, after the claim
    else:
        amount = base
    # rows at or below their deductible pay nothing
    above = amount > deductible
    if np.count_nonzero(above) < _SPARSE * m:
        keep = np.flatnonzero(above)
        view, amount, base = view.narrow(keep), np.take(amount, keep), np.take(base, keep)
        deductible = _pick(deductible, keep)
    del above

    # what is needed only where the schedule may pay
    points: I64 = _same(np.int64(0), len(view))
    for adjustment in part.adjustments:
        applies = condition_mask(adjustment.when, view.keys, view.age, len(view))
        points = points + view.lookup.rate(adjustment.points) * applies  # branch-free
    band_sets, which = view.lookup.bands(part.rate)
    raw = schedule_array(amount, deductible, band_sets, which, points)
    if part.accumulation is Accumulation.YEAR:
        amount -= base  # the cumulative base before the claim
        raw -= schedule_array(amount, deductible, band_sets, which, points)
    del amount, base
    if part.claim_cap is not None:
        np.minimum(raw, view.lookup.money(part.claim_cap, none_means=NO_CAP), out=raw)
    if part.cap is not None:
        cap = view.lookup.money(part.cap, none_means=NO_CAP)
        if np.count_nonzero(raw) < _SPARSE * len(raw):
            paying = np.flatnonzero(raw)
            view, raw, cap = view.narrow(paying), np.take(raw, paying), _pick(cap, paying)
        running = view.runs().cumsum(raw)
        raw = np.minimum(running, cap) - np.minimum(running - raw, cap)
    paid: I64 = np.minimum(raw, view.take(bill_left))
    return view.rows, paid


def _uses_age(scheme: Scheme) -> bool:
    """Whether a condition of the scheme looks at the claimant's age."""
    conditions = [c for layer in scheme.layers for part in layer.parts
                  for c in (part.when, *(adjustment.when for adjustment in part.adjustments))]
    return any(c.min_age is not None or c.max_age is not None for c in conditions)


def _check_magnitude(amounts: Mapping[str, I64], groups: _Groups) -> None:
    """Refuses a negative amount (the rounding of rates assumes none) and a person-year beyond what int64 holds
    exactly."""
    total = amounts[Quantity.TOTAL.value]
    if len(total) == 0:
        return
    if min(int(amounts[str(q)].min()) for q in (Quantity.CLASS_A, Quantity.CLASS_B, Quantity.SELF_PAY,
                                                 Quantity.SPECIAL_DRUGS)) < 0:
        raise InputError("a claim has a negative amount", code="input.negative_amount")
    # a claim within bounds, then its person-year's sum in int64 (exact while a group has < 2.3M claims); when
    # the whole chunk's sum is within bounds (it cannot overflow: < 2^21 claims of < 2^42 fen), so is each group's
    if total.max() > MAX_BATCH_AMOUNT:
        too_large = True
    elif len(total) < 1 << 21 and total.sum() <= MAX_BATCH_AMOUNT:
        too_large = False
    else:
        too_large = np.add.reduceat(total, np.flatnonzero(groups.start)).max() > MAX_BATCH_AMOUNT
    if too_large:
        raise InputError(
            "a person-year's bills exceed what the batch path holds exactly; use --engine scalar",
            code="input.too_large",
        )
