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
    (person, service date, claim id): `ClaimTable.sorted_rows` gathers them."""

    person: npt.NDArray[np.integer[Any]]  # any integer code, equal for claims of the same person
    day: npt.NDArray[np.datetime64]  # service date, datetime64[D]
    age: npt.NDArray[np.integer[Any]]  # completed years on the service date
    keys: Mapping[Dimension, npt.NDArray[np.int8]]  # code = index into DIMENSION_KEYS[dim]
    class_a: I64
    class_b: I64
    self_pay: I64
    special_drugs: I64

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


@dataclass(frozen=True)
class PersonInOrder:
    """person[order[i]] for one i at a time: no gathered copy of the whole column."""

    person: npt.NDArray[np.int32]
    order: npt.NDArray[np.integer[Any]]

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i: int) -> int:
        return int(self.person[self.order[i]])


@dataclass(frozen=True)
class ClaimTable:
    """A claims table in its input order with its persons, as NumPy columns (amounts in fen), and the canonical
    order (person, service date, claim id) as row numbers: `yibao.columns.claim_table` makes it from frames.

    Person attributes stay one row per person (`person_keys`, `birth`) and are gathered only for the rows
    being settled; `sorted_rows` gathers a run of the canonical order into `ClaimColumns`."""

    person: npt.NDArray[np.int32]  # row in the persons' columns
    day: npt.NDArray[np.int32]  # service date as days since 1970-01-01
    keys: Mapping[Dimension, npt.NDArray[np.int8]]  # the claim's own dimensions, code per claim
    person_keys: Mapping[Dimension, npt.NDArray[np.int8]]  # the person's dimensions, code per person
    birth: npt.NDArray[np.int32]  # birth date per person, yyyymmdd
    class_a: I64
    class_b: I64
    self_pay: I64
    special_drugs: I64
    order: npt.NDArray[np.integer[Any]] | None  # input row of each row in canonical order; None: it is the input

    def __len__(self) -> int:
        return len(self.person)

    def input_rows(self, a: int, b: int) -> npt.NDArray[np.intp] | slice:
        """The input rows of rows a..b of the canonical order."""
        return slice(a, b) if self.order is None else self.order[a:b].astype(np.intp)

    def sorted_person(self) -> npt.NDArray[np.int32] | PersonInOrder:
        """The person of each row of the canonical order, read one at a time (for cutting between persons)."""
        return self.person if self.order is None else PersonInOrder(self.person, self.order)

    def sorted_rows(self, a: int, b: int) -> ClaimColumns:
        """Rows a..b of the canonical order, gathered."""
        return self.gather(self.input_rows(a, b))

    def gather(self, rows: npt.NDArray[np.intp] | slice) -> ClaimColumns:
        """The claims at input rows `rows` (a run of the canonical order), with their persons' attributes."""
        person = self.person[rows]
        day = self.day[rows].astype("datetime64[D]")
        keys = {dim: codes[rows] for dim, codes in self.keys.items()}
        keys |= {dim: np.take(codes, person) for dim, codes in self.person_keys.items()}
        return ClaimColumns(
            person=person,
            day=day,
            # completed years: (service yyyymmdd - birth yyyymmdd) // 10000
            age=((yyyymmdd(day) - np.take(self.birth, person)) // 10_000).astype(np.int16),
            keys=keys,
            class_a=self.class_a[rows],
            class_b=self.class_b[rows],
            self_pay=self.self_pay[rows],
            special_drugs=self.special_drugs[rows],
        )


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
        self.gid = np.cumsum(self.start, dtype=np.int64)
        self._first: I64 | None = None

    def first(self) -> I64:
        """For each row, the position of its group's first row."""
        if self._first is None:
            self._first = _first_positions(self.start)
        return self._first


def _first_positions(start: Bool) -> I64:
    return np.maximum.accumulate(np.where(start, np.arange(len(start)), 0))


def first_of_groups(gid: I64) -> I64:
    """For rows whose group ids never decrease, the position of each row's group's first row."""
    start = np.ones(len(gid), dtype=np.bool_)
    if len(gid) > 1:
        np.not_equal(gid[1:], gid[:-1], out=start[1:])
    return _first_positions(start)


def grouped_cumsum(values: I64, first: I64) -> I64:
    """Inclusive cumulative sum restarting at every group (`first` = position of each row's group start)."""
    total = np.cumsum(values, dtype=np.int64)
    if len(values) == 0:
        return total
    return total - (total[first] - values[first])


def round_rate_numerator(numerator: I64) -> I64:
    """round(numerator / RATE_SCALE) half-up, as money.round_half_up_div."""
    return (2 * numerator + RATE_SCALE) // (2 * RATE_SCALE)


def apply_rate_array(rate: I64, amount: I64) -> I64:
    return round_rate_numerator(rate * amount)


class _Lookup:
    """Dated, keyed parameter values resolved for a set of claims.

    A value that is the same for every claim comes back as a broadcast view (no memory per claim)."""

    def __init__(self, view: _View) -> None:
        self.view, self.keys = view, view.keys

    def epochs(self, param: Parameter[Any]) -> I64 | None:
        """Per claim, the index of the value in force on its day; None when one value covers every claim."""
        dates = np.array(param.dates(), dtype="datetime64[D]")
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

    def values(self, param: Parameter[Any], convert: Any, missing: Any) -> I64:
        """Per claim, its converted value (int64) of a dated parameter, keyed or not."""
        keys = DIMENSION_KEYS[param.by] if param.by is not None else ("",)
        rows = []
        for _, table in param.values:
            row = []
            for key in keys:
                value = table.get(key, table.get("default", missing)) if param.by else table[""]
                row.append(convert(value))
            rows.append(row)
        values: I64 = np.array(rows, dtype=object).astype(np.int64)
        epoch = self.epochs(param)
        if param.by is None:
            if epoch is None:
                return np.broadcast_to(values[0, 0], (len(self.view),))
            per_claim: I64 = values[epoch, 0]
            return per_claim
        code = self.keys[param.by]
        per_claim = values[0][code] if epoch is None else values[epoch, code]
        return per_claim

    def money(self, param: Parameter[Any] | None, *, none_means: np.int64) -> I64:
        """Money values per claim; a missing parameter or a null value (no cap) gives `none_means`."""
        if param is None:
            return np.broadcast_to(none_means, (len(self.view),))
        return self.values(param, lambda v: none_means if v is None else v, none_means)

    def rate(self, param: Parameter[Any]) -> I64:
        return self.values(param, lambda v: v, 0)

    def bands(self, param: Parameter[Bands]) -> tuple[list[Bands], I64]:
        """The distinct band sets and, per claim, the index of its band set."""
        distinct: list[Bands] = []

        def index_of(bands: Bands | None) -> int:
            if bands is None:
                bands = (Band(0, 0),)  # type: ignore[arg-type]
            if bands not in distinct:
                distinct.append(bands)
            return distinct.index(bands)

        which = self.values(param, index_of, None)
        return distinct, which


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
        rates: list[I64 | int] = [table[:, i][which] for i in range(len(aboves))]
        return round_rate_numerator(_numerator(amount, deductible, aboves, rates, points))
    numerator = np.zeros(len(amount), dtype=np.int64)
    for index, bands in enumerate(band_sets):
        rows = np.flatnonzero(which == index)
        if len(rows):
            numerator[rows] = _numerator(
                amount[rows], deductible[rows], [b.above for b in bands], [b.rate for b in bands], points[rows]
            )
    return round_rate_numerator(numerator)


def _rows(values: np.ndarray, sel: I64 | None) -> np.ndarray:
    return values if sel is None else np.take(values, sel)


# Rows settled together: person-aligned chunks small enough for their temporaries to stay in the CPU caches,
# and settled on every core (NumPy releases the GIL in its loops).
CHUNK_ROWS = 1 << 17


def person_cuts(person: npt.NDArray[np.integer[Any]] | PersonInOrder, partitions: int) -> list[tuple[int, int]]:
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


def output_names(scheme: Scheme) -> list[str]:
    return ["total", "preselfpay", "in_policy", *[f"paid_{i}" for i in scheme.layer_ids], "out_of_pocket"]


def settle_columns(
    scheme: Scheme,
    cols: ClaimColumns | ClaimTable,
    *,
    threads: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, I64]:
    """Settle every claim; returns total, preselfpay, in_policy, paid_<layer>..., out_of_pocket.

    `ClaimColumns` (rows in canonical order) give results in that order; a `ClaimTable` gives them in its input
    order: each chunk of the canonical order is gathered, settled and scattered back on its own, so no sorted
    copy of the whole table is made. Person-aligned chunks are settled on `threads` threads (default: one per
    core)."""
    n = len(cols)
    person: npt.NDArray[np.integer[Any]] | PersonInOrder
    if isinstance(cols, ClaimColumns):
        cols.check_order()
        person = cols.person
    else:
        person = cols.sorted_person()
    # a table's sums of amounts (and pre-self-pay at one rate for all) are made in its input order afterwards,
    # not scattered from the chunks (random writes are slow)
    same_rate = None if isinstance(cols, ClaimColumns) else _one_rate(scheme.preselfpay_rate, cols.day)
    derived = set() if isinstance(cols, ClaimColumns) else {"total", "in_policy", "out_of_pocket"}
    if same_rate is not None:
        derived.add("preselfpay")
    out = {name: np.empty(n, dtype=np.int64) for name in output_names(scheme) if name not in derived}
    chunks = person_cuts(person, max(1, -(-n // chunk_rows)))
    del person

    def settle_chunk(bounds: tuple[int, int]) -> None:
        a, b = bounds
        if isinstance(cols, ClaimColumns):
            rows: npt.NDArray[np.intp] | slice = slice(a, b)
            chunk = cols.rows(a, b)
        else:
            rows = cols.input_rows(a, b)
            chunk = cols.gather(rows)
            chunk.check_order()
        for name, values in _settle_sorted(scheme, chunk).items():
            if name not in derived:
                out[name][rows] = values

    workers = min(threads or os.cpu_count() or 1, len(chunks))
    if workers <= 1:
        for bounds in chunks:
            settle_chunk(bounds)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(settle_chunk, chunks))  # list() re-raises a chunk's error here
    if derived:  # as _settle_sorted makes them
        assert isinstance(cols, ClaimTable)
        if same_rate is not None:
            out["preselfpay"] = round_rate_numerator(same_rate * cols.class_b)
        total = cols.class_a + cols.class_b
        out["in_policy"] = total - out["preselfpay"]
        total += cols.self_pay
        total += cols.special_drugs
        left = total.copy()
        for layer_id in scheme.layer_ids:
            left -= out[f"paid_{layer_id}"]
        out |= {"total": total, "out_of_pocket": left}
        out = {name: out[name] for name in output_names(scheme)}
    return out


def _one_rate(param: Parameter[Any], day: npt.NDArray[np.int32]) -> np.int64 | None:
    """The rate of an unkeyed parameter with one value in force on every day of `day`, else None."""
    if param.by is not None or len(param.values) != 1:
        return None
    since = np.datetime64(param.values[0][0], "D").astype(np.int64)
    if len(day) and int(day.min()) < since:
        return None
    return np.int64(param.values[0][1][""])


def _settle_sorted(scheme: Scheme, cols: ClaimColumns) -> dict[str, I64]:
    """Settle columns in canonical order."""
    n = len(cols)
    day = cols.day
    groups = _Groups(cols.person, day)
    keys, age = cols.keys, cols.age
    chunk = _Chunk(day, keys, age, groups, day.min() if n else np.datetime64("1970-01-01"))
    amounts: dict[str, I64] = {
        Quantity.CLASS_A.value: cols.class_a.astype(np.int64, copy=False),
        Quantity.CLASS_B.value: cols.class_b.astype(np.int64, copy=False),
        Quantity.SELF_PAY.value: cols.self_pay.astype(np.int64, copy=False),
        Quantity.SPECIAL_DRUGS.value: cols.special_drugs.astype(np.int64, copy=False),
    }
    total = amounts["class_a"] + amounts["class_b"] + amounts["self_pay"] + amounts["special_drugs"]
    amounts[Quantity.TOTAL.value] = total
    preselfpay = apply_rate_array(_View(None, chunk).lookup.rate(scheme.preselfpay_rate), amounts["class_b"])
    amounts[Quantity.PRESELFPAY.value] = preselfpay
    amounts[Quantity.IN_POLICY.value] = amounts["class_a"] + amounts["class_b"] - preselfpay
    _check_magnitude(total, groups)

    bill_left = total.copy()
    out: dict[str, I64] = {"total": total, "preselfpay": preselfpay, "in_policy": amounts["in_policy"]}
    for layer in scheme.layers:
        layer_paid = np.zeros(n, dtype=np.int64)
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
                layer_paid[rows] += paid
                bill_left[rows] -= paid
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

    def gid(self) -> I64:
        return _rows(self.chunk.groups.gid, self.rows)

    def first(self) -> I64:
        """Position in this view of each row's person-year's first row in this view."""
        return self.chunk.groups.first() if self.rows is None else first_of_groups(self.gid())


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
    first: I64 | None = None
    if part.repeat_claim is not None:
        first = view.first()
        repeated = grouped_cumsum(np.ones(m, dtype=np.int64), first) >= part.repeat_claim.from_claim
        factor = view.lookup.rate(part.repeat_claim.factor)
        deductible = np.where(repeated, apply_rate_array(factor, deductible), deductible)

    if part.accumulation is Accumulation.YEAR:
        amount = grouped_cumsum(base, first if first is not None else view.first())  # cumulative, after the claim
    else:
        amount = base
    # rows at or below their deductible pay nothing
    above = amount > deductible
    if np.count_nonzero(above) < _SPARSE * m:
        keep = np.flatnonzero(above)
        view, amount, base, deductible = view.narrow(keep), amount[keep], base[keep], deductible[keep]
    del above

    # what is needed only where the schedule may pay
    points: I64 = np.broadcast_to(np.int64(0), (len(view),))
    for adjustment in part.adjustments:
        applies = condition_mask(adjustment.when, view.keys, view.age, len(view))
        points = points + np.where(applies, view.lookup.rate(adjustment.points), 0)
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
            view, raw, cap = view.narrow(paying), raw[paying], cap[paying]
        running = grouped_cumsum(raw, view.first())
        raw = np.minimum(running, cap) - np.minimum(running - raw, cap)
    paid: I64 = np.minimum(raw, view.take(bill_left))
    return view.rows, paid


def _dimensions_used(part: Part) -> set[Dimension]:
    """The dimensions a part's adjustments and keyed parameters look at (only those are gathered)."""
    used = {dim for adj in part.adjustments for dim in adj.when.keys}
    params: list[Parameter[Any] | None] = [part.rate, part.deductible, part.cap, part.claim_cap]
    params += [adj.points for adj in part.adjustments]
    if part.repeat_claim is not None:
        params.append(part.repeat_claim.factor)
    used |= {p.by for p in params if p is not None and p.by is not None}
    return used


def _check_magnitude(total: I64, groups: _Groups) -> None:
    if len(total) == 0:
        return
    # a claim within bounds, then its person-year's sum in int64 (exact while a group has < 2.3M claims)
    if total.max() > MAX_BATCH_AMOUNT or np.add.reduceat(total, np.flatnonzero(groups.start)).max() > MAX_BATCH_AMOUNT:
        raise InputError(
            "a person-year's bills exceed what the batch path holds exactly; use --engine scalar",
            code="input.too_large",
        )
