"""The rows a part of the batch path works on, and how their values are found: the scheduling next to the rule.

yibao.core.batch states the rule step by step, as yibao.core.scalar does; this module does
the work that makes it fast without being part of the rule:

* `ClaimColumns`: a chunk of claims in canonical order (person, service date, claim id);
* `Rows`: the claims a part works on (those meeting its condition), each column gathered
  at those rows on first use; `Rows.only` drops rows that can pay nothing when they are
  many (the sparsity shortcut), `Rows.per_band_set` splits rows by band set;
* grouped running totals and claim numbers over person-years (`Runs`), made from each
  group's first position and length, without a loop over claims;
* `ParameterTables`: each dated, keyed parameter converted once per settlement into arrays,
  looked up per claim with np.take (branch-free); a value the same for every claim is one
  number broadcast (no memory per claim).

    a chunk, sorted:     person  1 1 1 | 2 | 3 3 | 4 ...     (person-years contiguous)
    a part's Rows:       positions in the chunk meeting its condition, ascending (None = all)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from yibao.core.errors import InputError, SchemeError
from yibao.core.rules import ClaimBand, eligible, in_force
from yibao.core.scheme import DIMENSION_KEYS, Band, Bands, Condition, Dimension, Layer, Parameter

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
Bool = npt.NDArray[np.bool_]
NO_CAP = np.int64(2**62)  # stands for "no cap": larger than any running total
# day numbers (days since 1970-01-01) standing for an open end of cover: before / after any service date
OPEN_START, OPEN_END = np.int32(-(2**31)), np.int32(2**31 - 1)


@dataclass(frozen=True)
class PolicyIndex:
    """The policies of the persons being settled, for finding per claim whether one of a product is in force.

    Per product, its policies sorted by (person code, start day) as one int64 key each, and their end days. A
    claim's candidate is the last policy of its person starting on or before its day (binary search: no loop
    over claims); policies of the same product for a person never overlap (refused when made), so the claim is
    covered exactly when that candidate is in force on the day (`yibao.core.rules.in_force`)."""

    keys: Mapping[str, I64]
    ends: Mapping[str, I32]

    @staticmethod
    def _key(person: npt.NDArray[np.integer[Any]], day: npt.NDArray[np.integer[Any]]) -> I64:
        key: I64 = (person.astype(np.int64) << 32) | (day.astype(np.int64) - np.int64(OPEN_START))
        return key

    @classmethod
    def of(cls, person: npt.NDArray[np.integer[Any]], product: npt.NDArray[Any], start: I32, end: I32) -> PolicyIndex:
        """From one row per policy: the person's code (as the claims' `ClaimColumns.person`), the product id, the
        first and last day in force (day numbers). Refuses overlapping policies of a product for a person."""
        keys: dict[str, I64] = {}
        ends: dict[str, I32] = {}
        for name in np.unique(product).tolist():
            at = np.flatnonzero(product == name)
            key = cls._key(person[at], start[at])
            order = np.argsort(key, kind="stable")
            key, last = key[order], end[at][order].astype(np.int32)
            same_person = (key[1:] >> 32) == (key[:-1] >> 32)
            first_day = (key[1:] & np.int64(0xFFFFFFFF)) + np.int64(OPEN_START)
            if bool(np.any(same_person & (first_day <= last[:-1]))):
                raise InputError(f"two policies of product {name!r} for the same person overlap",
                                 code="input.overlapping_policies")
            keys[str(name)], ends[str(name)] = key, last
        return cls(keys, ends)

    def held(self, product: str | None, person: npt.NDArray[np.integer[Any]], day: npt.NDArray[np.integer[Any]]
             ) -> Bool | None:
        """Per claim (its person code and day number), whether a policy of `product` is in force; None when
        nobody holds the product."""
        keys = self.keys.get(product or "")
        if keys is None:
            return None
        wanted = self._key(person, day)
        at = np.searchsorted(keys, wanted, side="right") - 1
        found = at >= 0
        at = np.maximum(at, 0)
        candidate = np.take(keys, at)
        start = (candidate & np.int64(0xFFFFFFFF)) + np.int64(OPEN_START)
        mine = found & ((candidate >> 32) == (wanted >> 32))
        holds: Bool = mine & in_force(day, start, np.take(self.ends[product or ""], at))
        return holds


@dataclass(frozen=True)
class ClaimColumns:
    """Claims joined with their persons, as NumPy columns (amounts in fen), in canonical order (person, service
    date, claim id)."""

    person: npt.NDArray[np.integer[Any]]  # any integer code, equal for claims of the same person
    day: npt.NDArray[np.datetime64]  # service date, datetime64[D]
    age: npt.NDArray[np.integer[Any]]  # completed years on the service date (may be empty if no rule asks)
    keys: Mapping[Dimension, npt.NDArray[np.int8]]  # code = index into DIMENSION_KEYS[dim]
    class_a: npt.NDArray[np.integer[Any]]  # amounts in fen: int32 or int64
    class_b: npt.NDArray[np.integer[Any]]
    self_pay: npt.NDArray[np.integer[Any]]
    special_drugs: npt.NDArray[np.integer[Any]]
    # the person's public cover, first and last day (day numbers; OPEN_START / OPEN_END: open); None: every
    # claim covered (no cover dates given)
    cover_start: I32 | None = None
    cover_end: I32 | None = None
    policies: PolicyIndex | None = None  # the policies held (by `person` code); None: none

    def __len__(self) -> int:
        return len(self.person)

    def rows(self, a: int, b: int) -> ClaimColumns:
        """Rows a..b (views, no copy)."""
        return ClaimColumns(
            person=self.person[a:b], day=self.day[a:b], age=self.age[a:b],
            keys={dim: codes[a:b] for dim, codes in self.keys.items()},
            class_a=self.class_a[a:b], class_b=self.class_b[a:b],
            self_pay=self.self_pay[a:b], special_drugs=self.special_drugs[a:b],
            cover_start=None if self.cover_start is None else self.cover_start[a:b],
            cover_end=None if self.cover_end is None else self.cover_end[a:b],
            policies=self.policies,
        )

    def check_order(self) -> None:
        """Refuse rows out of canonical order by person and date (the claim-id tie-break is the caller's)."""
        person, day = self.person, self.day
        if len(person) < 2:
            return
        later = person[1:] > person[:-1]
        if not bool(np.all(later | ((person[1:] == person[:-1]) & (day[1:] >= day[:-1])))):
            raise SchemeError("claim columns must be sorted by person and service date", code="batch.not_sorted")


# --- calendar fields of many days --------------------------------------------------------------------------------

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


# --- person-years ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Runs:
    """Consecutive rows in groups (person-years): each group's first position and its number of rows."""

    starts: I64
    lengths: I64

    @classmethod
    def of(cls, start: Bool) -> Runs:
        """From a mask of the rows that start a group (the first row always does)."""
        starts = np.flatnonzero(start)
        return cls(starts, np.diff(starts, append=len(start)))

    @classmethod
    def of_ids(cls, gid: npt.NDArray[np.integer[Any]]) -> Runs:
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


def person_years(person: npt.NDArray[np.integer[Any]], day: npt.NDArray[np.datetime64]) -> Bool:
    """The rows (sorted by person and day) that start a person-year."""
    start = np.ones(len(person), dtype=np.bool_)
    if len(person) > 1:
        np.not_equal(person[1:], person[:-1], out=start[1:])
        if day.min().astype("datetime64[Y]") != day.max().astype("datetime64[Y]"):  # rows of several years
            year = year_of(day)
            start[1:] |= year[1:] != year[:-1]
    return start


# --- parameters as arrays ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Table:
    """A dated, keyed parameter as arrays: its dates, and its converted values by epoch and key code."""

    dates: npt.NDArray[np.datetime64]
    values: I64  # [epoch, key code]; one column when the parameter has no key
    bands: tuple[Bands, ...]  # for a parameter of band sets: the distinct sets that `values` index


class ParameterTables:
    """The parameters of one settlement converted into arrays once, for every chunk (made with the settlement and
    dropped with it; an entry keeps its parameter, so the parameter's id is not reused while the entry lives)."""

    def __init__(self) -> None:
        self._made: dict[tuple[int, str, int], tuple[Parameter[Any], _Table]] = {}

    def table(self, param: Parameter[Any], kind: str, none_means: int = 0) -> _Table:
        key = (id(param), kind, none_means)
        hit = self._made.get(key)
        if hit is None or hit[0] is not param:
            hit = (param, _convert(param, kind, none_means))
            self._made[key] = hit
        return hit[1]


def _convert(param: Parameter[Any], kind: str, none_means: int) -> _Table:
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
    return _Table(np.array(param.dates(), dtype="datetime64[D]"), np.array(rows, dtype=np.int64), tuple(distinct))


# --- the rows a part works on ------------------------------------------------------------------------------------

@dataclass
class Chunk:
    """The sorted claims being settled: their columns, person-years and the settlement's parameter tables."""

    day: npt.NDArray[np.datetime64]
    keys: Mapping[Dimension, npt.NDArray[np.int8]]
    age: npt.NDArray[Any]
    start: Bool  # rows starting a person-year
    tables: ParameterTables
    earliest: np.datetime64
    cols: ClaimColumns
    _group_ids: npt.NDArray[np.int32] | None = None

    def group_ids(self) -> npt.NDArray[np.int32]:
        """Each row's person-year number in the chunk (never decreasing)."""
        if self._group_ids is None:
            self._group_ids = np.cumsum(self.start, dtype=np.int32)  # fewer groups than rows: int32 holds any chunk's
        return self._group_ids

    @classmethod
    def of(cls, cols: ClaimColumns, tables: ParameterTables) -> Chunk:
        day = cols.day
        earliest = day.min() if len(day) else np.datetime64("1970-01-01")
        return cls(day, cols.keys, cols.age, person_years(cols.person, day), tables, earliest, cols)

    def __len__(self) -> int:
        return len(self.day)

    def every_row(self) -> Rows:
        return Rows(None, self)

    def in_force(self, layer: Layer) -> Bool | None:
        """Per row, whether `layer` is in force on the claim's day (the batch form of
        yibao.core.scalar.cover_gap): a public layer while the person's cover runs, a private one under a policy
        of its product in force (a scheme's own private layer also for a person flagged `huiminbao`). None: in
        force on every row. Computed once per layer from the persons' interval columns."""
        cols = self.cols
        if layer.public:
            if cols.cover_start is None or cols.cover_end is None:
                return None
            covered: Bool = in_force(self.day.view(np.int64), cols.cover_start, cols.cover_end)
            return covered
        held = None if cols.policies is None else cols.policies.held(layer.product_id, cols.person,
                                                                     self.day.view(np.int64))
        if layer.shorthand:
            flagged: Bool = np.equal(self.keys[Dimension.HUIMINBAO], 1)  # code of "true"
            return flagged if held is None else flagged | held
        return np.zeros(len(self), dtype=np.bool_) if held is None else held

    def meeting(self, condition: Condition, held: Bool | None = None) -> Rows | None:
        """The rows meeting `condition` (and `held`: the layer in force), or None when none does."""
        mask = condition_mask(condition, self.keys, self.age, len(self))
        if held is not None:
            mask &= held
        if not mask.any():
            return None
        return Rows(None if mask.all() else np.flatnonzero(mask), self)


# Rows that can still pay fewer than this share of the rows worked on: they are taken out and worked on alone.
_SPARSE = 0.5


class Rows:
    """Claims of a chunk a part works on: `at` (positions in the chunk, ascending; None = every row), and the
    chunk's columns at those rows, each gathered on first use. (Working on every row with the amounts of the
    rows a condition refuses set to nothing was measured slower than gathering, even for half the rows.)"""

    def __init__(self, at: I64 | None, chunk: Chunk) -> None:
        self.at, self.chunk = at, chunk
        self.keys = _Gathered(chunk.keys, at)
        self._day: npt.NDArray[np.datetime64] | None = None
        self._runs: Runs | None = None

    def __len__(self) -> int:
        return len(self.chunk) if self.at is None else len(self.at)

    def take(self, values: I64) -> I64:
        """A chunk's column at these rows."""
        return _rows(values, self.at)

    def put(self, target: I64, values: I64, *, sign: int = 1) -> None:
        """Adds (sign 1) or subtracts (-1) `values` at these rows of a chunk's column."""
        at = slice(None) if self.at is None else self.at
        if sign > 0:
            target[at] += values
        else:
            target[at] -= values

    @property
    def day(self) -> npt.NDArray[np.datetime64]:
        if self._day is None:
            self._day = _rows(self.chunk.day, self.at)
        return self._day

    def meets(self, condition: Condition) -> Bool:
        """Which of these rows meet `condition`."""
        return condition_mask(condition, self.keys, lambda: _rows(self.chunk.age, self.at), len(self))

    def runs(self) -> Runs:
        """The person-years of these rows."""
        if self._runs is None:
            start = self.chunk.start
            self._runs = Runs.of(start) if self.at is None else Runs.of_ids(np.take(self.chunk.group_ids(), self.at))
        return self._runs

    def claim_number(self) -> I64:
        """Each row's number among these rows of its person-year, from 1."""
        return self.runs().number()

    def running_total(self, values: I64) -> I64:
        """The person-year's running total of `values` over these rows, after each row."""
        return self.runs().cumsum(values)

    def only(self, keep: Bool, *columns: I64 | int) -> tuple[Rows, list[Any]]:
        """These rows and `columns` (one value a row) narrowed to `keep` when it keeps few of them (the others are
        then not worked on); else unchanged. Only for rows that the rule gives nothing whatever they hold."""
        if np.count_nonzero(keep) >= _SPARSE * len(self):
            return self, list(columns)
        at = np.flatnonzero(keep)
        narrowed = Rows(at if self.at is None else np.take(self.at, at), self.chunk)
        return narrowed, [_pick(column, at) for column in columns]

    # values of dated, keyed parameters at these rows
    def money(self, param: Parameter[Any] | None, *, none_means: np.int64) -> I64:
        """Money values per row; a missing parameter or a null value (no cap) gives `none_means`."""
        if param is None:
            return _same(none_means, len(self))
        return self._values(param, self.chunk.tables.table(param, "money", int(none_means)))

    def rate(self, param: Parameter[Any]) -> I64:
        return self._values(param, self.chunk.tables.table(param, "rate"))

    def per_band_set(
        self, param: Parameter[Bands], work: Callable[[list[ClaimBand], list[I64 | int]], I64], *columns: I64 | int
    ) -> I64:
        """work(bands, columns) over the rows of each band set in force: one call when every row has the same
        band limits (rates may differ per row: each band's rate then is per row), else one per distinct set."""
        table = self.chunk.tables.table(param, "bands")
        which = self._values(param, table)
        sets = table.bands
        limits = [band.above for band in sets[0]]
        if len(sets) == 1 or all([band.above for band in bands] == limits for bands in sets):
            rates = np.array([[band.rate for band in bands] for bands in sets], dtype=np.int64)
            per_row = [rates[0, i] if len(sets) == 1 else np.take(rates[:, i], which) for i in range(len(limits))]
            return work([ClaimBand(above, int(r) if np.ndim(r) == 0 else r) for above, r in zip(limits, per_row,
                                                                                             strict=True)], list(columns))
        out = np.zeros(len(self), dtype=np.int64)
        for index, bands in enumerate(sets):
            at = np.flatnonzero(which == index)
            if len(at):
                out[at] = work([ClaimBand(b.above, b.rate) for b in bands], [_pick(c, at) for c in columns])
        return out

    def _epochs(self, param: Parameter[Any], dates: npt.NDArray[np.datetime64]) -> I64 | None:
        """Per row, the index of the value in force on its day; None when one value covers every row."""
        if len(self) == 0 or (len(dates) == 1 and self.chunk.earliest >= dates[0]):
            return None
        days = self.day
        if len(dates) == 1 and days.min() >= dates[0]:
            return None
        idx = np.searchsorted(dates, days, side="right") - 1
        if idx.min() < 0:
            bad = days[int(np.argmin(idx))]
            raise SchemeError(f"no value in force on {bad} for {param.description!r}", code="scheme.no_value")
        return idx.astype(np.int64)

    def _values(self, param: Parameter[Any], table: _Table) -> I64:
        """Per row, its converted value (int64) of a dated parameter, keyed or not."""
        values = table.values
        epoch = self._epochs(param, table.dates)
        if param.by is None:
            if epoch is None:
                return _same(values[0, 0], len(self))
            per_row: I64 = np.take(values[:, 0], epoch)
            return per_row
        code = self.keys[param.by]  # np.take: half the time of indexing
        if epoch is None:
            per_row = np.take(values[0], code)
        else:
            per_row = np.take(values.reshape(-1), epoch * values.shape[1] + code)
        return per_row


class _Gathered(Mapping[Dimension, npt.NDArray[np.int8]]):
    """Key codes at some rows, each dimension gathered on first use."""

    def __init__(self, keys: Mapping[Dimension, npt.NDArray[np.int8]], at: I64 | None) -> None:
        self._keys, self._at = keys, at
        self._done: dict[Dimension, npt.NDArray[np.int8]] = {}

    def __getitem__(self, dim: Dimension) -> npt.NDArray[np.int8]:
        if dim not in self._done:
            self._done[dim] = _rows(self._keys[dim], self._at)
        return self._done[dim]

    def __iter__(self) -> Iterator[Dimension]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _rows(values: np.ndarray, at: I64 | None) -> np.ndarray:
    return values if at is None else np.take(values, at)


def _same(value: np.int64, n: int) -> I64:
    """`value` n times, as a read-only view of one number (what np.broadcast_to gives, without its overhead)."""
    one = np.array([value], dtype=np.int64)
    one.flags.writeable = False
    return np.ndarray((n,), dtype=np.int64, buffer=one, strides=(0,))


def _pick(values: I64 | int, at: I64) -> I64 | int:
    """`values` at positions `at`; a value the same for every row stays one (np.take would first copy it out)."""
    if isinstance(values, int):
        return values
    if values.ndim == 1 and len(values) > 0 and values.strides == (0,):
        return _same(np.int64(values[0]), len(at))
    return np.take(values, at)


def condition_mask(
    cond: Condition, keys: Mapping[Dimension, npt.NDArray[np.int8]], age: npt.NDArray[Any] | Callable[[], Any], n: int
) -> Bool:
    """Rows (of n) meeting the condition (yibao.core.rules.eligible on the rows' key codes); `age` may be a function
    giving the ages, called only if the condition has an age limit."""
    ages = None
    if cond.min_age is not None or cond.max_age is not None:
        ages = age() if callable(age) else age
    holds = eligible(cond, lambda dim, allowed: _codes_in(keys[dim], dim, allowed), ages)
    return np.full(n, holds, dtype=np.bool_) if isinstance(holds, bool) else np.asarray(holds, dtype=np.bool_)


def _codes_in(codes: npt.NDArray[np.int8], dim: Dimension, allowed: frozenset[str]) -> Bool | bool:
    """Which key codes stand for an allowed key: True or False when all or none do."""
    keys = DIMENSION_KEYS[dim]
    taken = [code for code, key in enumerate(keys) if key in allowed]
    refused = [code for code, key in enumerate(keys) if key not in allowed]
    if not refused or not taken:
        return not refused
    # comparisons of the int8 codes (a table lookup would first widen every code to an index)
    if len(taken) <= len(refused):
        inside: Bool = np.equal(codes, taken[0])
        for code in taken[1:]:
            inside |= codes == code
        return inside
    outside: Bool = np.not_equal(codes, refused[0])
    for code in refused[1:]:
        outside &= codes != code
    return outside

