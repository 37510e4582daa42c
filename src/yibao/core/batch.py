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

from collections.abc import Mapping
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
    """A claims table joined with its persons, as NumPy columns (amounts in fen)."""

    person: npt.NDArray[np.int64]  # any integer code, equal for claims of the same person
    day: npt.NDArray[np.datetime64]  # service date, datetime64[D]
    age: npt.NDArray[np.int64]  # completed years on the service date
    keys: Mapping[Dimension, npt.NDArray[np.int8]]  # code = index into DIMENSION_KEYS[dim]
    class_a: I64
    class_b: I64
    self_pay: I64
    special_drugs: I64
    claim_rank: I64 | None = None  # rank of the claim id (tie-break of the canonical order)
    order: I64 | None = None  # the canonical order, when the caller has it already

    def __len__(self) -> int:
        return len(self.person)


def canonical_order(cols: ClaimColumns) -> I64:
    if cols.order is not None:
        return cols.order
    keys: list[Any] = [cols.day, cols.person]
    if cols.claim_rank is not None:
        keys.insert(0, cols.claim_rank)
    return np.lexsort(keys).astype(np.int64)


class _Groups:
    """Person-year groups of the sorted claims, for grouped cumulative sums."""

    def __init__(self, person: I64, year: I64) -> None:
        n = len(person)
        self.start = np.ones(n, dtype=np.bool_)
        if n > 1:
            self.start[1:] = (person[1:] != person[:-1]) | (year[1:] != year[:-1])
        self.gid = np.cumsum(self.start, dtype=np.int64)

    def subset(self, sel: I64) -> Bool:
        """Group starts within a subset of rows (kept in order)."""
        gid = self.gid[sel]
        start = np.ones(len(sel), dtype=np.bool_)
        if len(sel) > 1:
            start[1:] = gid[1:] != gid[:-1]
        return start


def grouped_cumsum(values: I64, start: Bool) -> I64:
    """Inclusive cumulative sum restarting at every group start."""
    total = np.cumsum(values, dtype=np.int64)
    if len(values) == 0:
        return total
    first = np.maximum.accumulate(np.where(start, np.arange(len(values)), 0))
    return total - (total[first] - values[first])


def round_rate_numerator(numerator: I64) -> I64:
    """round(numerator / RATE_SCALE) half-up, as money.round_half_up_div."""
    return (2 * numerator + RATE_SCALE) // (2 * RATE_SCALE)


def apply_rate_array(rate: I64, amount: I64) -> I64:
    return round_rate_numerator(rate * amount)


class _Lookup:
    """Dated, keyed parameter values resolved for a set of claims."""

    def __init__(self, days: npt.NDArray[np.datetime64], keys: Mapping[Dimension, npt.NDArray[np.int8]]) -> None:
        self.days, self.keys = days, keys

    def epochs(self, param: Parameter[Any]) -> I64:
        dates = np.array(param.dates(), dtype="datetime64[D]")
        if len(dates) == 1 and (len(self.days) == 0 or self.days.min() >= dates[0]):
            return np.zeros(len(self.days), dtype=np.int64)
        idx = np.searchsorted(dates, self.days, side="right") - 1
        if len(idx) and idx.min() < 0:
            bad = self.days[int(np.argmin(idx))]
            raise SchemeError(f"no value in force on {bad} for {param.description!r}", code="scheme.no_value")
        return idx.astype(np.int64)

    def table(self, param: Parameter[Any], convert: Any, missing: Any) -> tuple[np.ndarray, I64, I64]:
        """A table [epoch, key code] of converted values and the (epoch, code) of every claim."""
        keys = DIMENSION_KEYS[param.by] if param.by is not None else ("",)
        rows = []
        for _, table in param.values:
            row = []
            for key in keys:
                value = table.get(key, table.get("default", missing)) if param.by else table[""]
                row.append(convert(value))
            rows.append(row)
        codes = self.keys[param.by].astype(np.int64) if param.by is not None else np.zeros(len(self.days), np.int64)
        return np.array(rows, dtype=object), self.epochs(param), codes

    def money(self, param: Parameter[Any] | None, *, none_means: np.int64) -> I64:
        """Money values per claim; a missing parameter or a null value (no cap) gives `none_means`."""
        if param is None:
            return np.full(len(self.days), none_means, dtype=np.int64)
        table, epoch, code = self.table(param, lambda v: none_means if v is None else v, none_means)
        return table.astype(np.int64)[epoch, code]

    def rate(self, param: Parameter[Any]) -> I64:
        table, epoch, code = self.table(param, lambda v: v, 0)
        return table.astype(np.int64)[epoch, code]

    def bands(self, param: Parameter[Bands]) -> tuple[list[Bands], I64]:
        """The distinct band sets and, per claim, the index of its band set."""
        distinct: list[Bands] = []

        def index_of(bands: Bands | None) -> int:
            if bands is None:
                bands = (Band(0, 0),)  # type: ignore[arg-type]
            if bands not in distinct:
                distinct.append(bands)
            return distinct.index(bands)

        table, epoch, code = self.table(param, index_of, None)
        return distinct, table.astype(np.int64)[epoch, code]


def condition_mask(cond: Condition, keys: Mapping[Dimension, npt.NDArray[np.int8]], age: I64) -> Bool:
    mask = np.ones(len(age), dtype=np.bool_)
    for dim, allowed in cond.keys.items():
        table = np.array([key in allowed for key in DIMENSION_KEYS[dim]], dtype=np.bool_)
        mask &= table[keys[dim]]
    if cond.min_age is not None:
        mask &= age >= cond.min_age
    if cond.max_age is not None:
        mask &= age <= cond.max_age
    return mask


def schedule_array(amount: I64, deductible: I64, band_sets: list[Bands], which: I64, points: I64) -> I64:
    """f(amount) rounded, per claim, with its own deductible, band set and adjustment points."""
    numerator = np.zeros(len(amount), dtype=np.int64)
    for index, bands in enumerate(band_sets):
        rows = np.flatnonzero(which == index) if len(band_sets) > 1 else np.arange(len(amount))
        if len(rows) == 0:
            continue
        amt, ded, pts = amount[rows], deductible[rows], points[rows]
        acc = np.zeros(len(rows), dtype=np.int64)
        for i, band in enumerate(bands):
            low = np.maximum(band.above, ded)
            top = amt if i + 1 == len(bands) else np.minimum(amt, bands[i + 1].above)
            rate = np.clip(band.rate + pts, 0, RATE_SCALE)
            acc += rate * np.maximum(top - low, 0)
        numerator[rows] = acc
    return round_rate_numerator(numerator)


def settle_columns(scheme: Scheme, cols: ClaimColumns) -> dict[str, I64]:
    """Settle every claim; returns total, preselfpay, in_policy, paid_<layer>..., out_of_pocket in input order."""
    n = len(cols)
    order = canonical_order(cols)
    day = cols.day[order]
    year = day.astype("datetime64[Y]").astype(np.int64)
    groups = _Groups(cols.person[order], year)
    keys = {dim: codes[order] for dim, codes in cols.keys.items()}
    age = cols.age[order].astype(np.int64)
    amounts: dict[str, I64] = {
        Quantity.CLASS_A.value: cols.class_a[order].astype(np.int64),
        Quantity.CLASS_B.value: cols.class_b[order].astype(np.int64),
        Quantity.SELF_PAY.value: cols.self_pay[order].astype(np.int64),
        Quantity.SPECIAL_DRUGS.value: cols.special_drugs[order].astype(np.int64),
    }
    total = amounts["class_a"] + amounts["class_b"] + amounts["self_pay"] + amounts["special_drugs"]
    amounts[Quantity.TOTAL.value] = total
    lookup = _Lookup(day, keys)
    preselfpay = apply_rate_array(lookup.rate(scheme.preselfpay_rate), amounts["class_b"])
    amounts[Quantity.PRESELFPAY.value] = preselfpay
    amounts[Quantity.IN_POLICY.value] = amounts["class_a"] + amounts["class_b"] - preselfpay
    _check_magnitude(total, groups)

    bill_left = total.copy()
    out: dict[str, I64] = {"total": total, "preselfpay": preselfpay, "in_policy": amounts["in_policy"]}
    for layer in scheme.layers:
        layer_paid = np.zeros(n, dtype=np.int64)
        for part in layer.parts:
            sel = np.flatnonzero(condition_mask(part.when, keys, age))
            if len(sel) == 0:
                continue
            paid = _settle_part(part, sel, groups, day, keys, age, amounts, bill_left[sel])
            layer_paid[sel] += paid
            bill_left[sel] -= paid
        amounts[layer.id] = layer_paid
        out[f"paid_{layer.id}"] = layer_paid
    out["out_of_pocket"] = bill_left
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n, dtype=np.int64)
    return {name: values[inverse] for name, values in out.items()}


def _settle_part(
    part: Part,
    sel: I64,
    groups: _Groups,
    day: npt.NDArray[np.datetime64],
    keys: Mapping[Dimension, npt.NDArray[np.int8]],
    age: I64,
    amounts: Mapping[str, I64],
    bill_left: I64,
) -> I64:
    """One part over the claims that meet its condition (rows `sel`, in canonical order)."""
    sub_keys = {dim: keys[dim][sel] for dim in _dimensions_used(part)}
    lookup = _Lookup(day[sel], sub_keys)
    start = groups.subset(sel)
    base = np.zeros(len(sel), dtype=np.int64)
    for term in part.base.plus:
        base += amounts[str(term)][sel]
    for term in part.base.minus:
        base -= amounts[str(term)][sel]
    base = np.maximum(base, 0)

    deductible = lookup.money(part.deductible, none_means=np.int64(0))
    if part.repeat_claim is not None:
        claim_number = grouped_cumsum(np.ones(len(sel), dtype=np.int64), start)
        repeated = claim_number >= part.repeat_claim.from_claim
        factor = lookup.rate(part.repeat_claim.factor)
        deductible = np.where(repeated, apply_rate_array(factor, deductible), deductible)

    points = np.zeros(len(sel), dtype=np.int64)
    for adjustment in part.adjustments:
        applies = condition_mask(adjustment.when, sub_keys, age[sel])
        points += np.where(applies, lookup.rate(adjustment.points), 0)
    band_sets, which = lookup.bands(part.rate)

    if part.accumulation is Accumulation.YEAR:
        after = grouped_cumsum(base, start)
        raw = schedule_array(after, deductible, band_sets, which, points) - schedule_array(
            after - base, deductible, band_sets, which, points
        )
    else:
        raw = schedule_array(base, deductible, band_sets, which, points)
    if part.claim_cap is not None:
        raw = np.minimum(raw, lookup.money(part.claim_cap, none_means=NO_CAP))
    if part.cap is not None:
        cap = lookup.money(part.cap, none_means=NO_CAP)
        running = grouped_cumsum(raw, start)
        raw_paid = np.minimum(running, cap) - np.minimum(running - raw, cap)
    else:
        raw_paid = raw
    paid: I64 = np.minimum(raw_paid, bill_left)
    return paid


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
    yearly = np.bincount(groups.gid, weights=total.astype(np.float64))  # a size check only, not money
    if yearly.max() > MAX_BATCH_AMOUNT:
        raise InputError(
            "a person-year's bills exceed what the batch path holds exactly; use --engine scalar",
            code="input.too_large",
        )
