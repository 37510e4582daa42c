"""The pieces every layer part is built from, as small pure functions on integer fen.

These are the named rounding points of domain.md: a schedule is rounded once
when evaluated; a yearly rule pays the difference of two rounded values; a cap
clips a running total. Each piece takes one claim's figures (Python ints) or
many claims' at once (int64 NumPy arrays, one value per claim; `Amount`): the
scalar path (yibao.core.scalar) and the batch path (yibao.core.batch) both call
these same functions, so a rule is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from yibao.core.errors import SchemeError
from yibao.core.money import RATE_SCALE, Amount, Fen, apply_rate, round_half_up_div
from yibao.core.scheme import Base, Condition, Dimension

Flag = bool | npt.NDArray[np.bool_]


class BandLike(Protocol):
    """A band of a schedule: from cumulative amount `above` (fen), `rate` (ppm; one, or one per claim)."""

    @property
    def above(self) -> Fen: ...

    @property
    def rate(self) -> Any: ...


class ClaimBand(NamedTuple):
    """A band whose rate may differ from claim to claim (rates keyed or adjusted per claim)."""

    above: Fen
    rate: int | npt.NDArray[np.int64]


class Classified(NamedTuple, Generic[Amount]):
    """The catalogue split of a bill (one claim's, or per claim)."""

    total: Amount
    preselfpay: Amount
    in_policy: Amount


def _min(a: Any, b: Any) -> Any:
    return min(a, b) if isinstance(a, int) and isinstance(b, int) else np.minimum(a, b)


def _max(a: Any, b: Any) -> Any:
    return max(a, b) if isinstance(a, int) and isinstance(b, int) else np.maximum(a, b)


def eligible(
    condition: Condition, key_in: Callable[[Dimension, frozenset[str]], Any], oldest: Any = None, youngest: Any = None
) -> Any:
    """Whether `condition` holds: every dimension it names takes one of its keys (`key_in(dimension, allowed)`)
    and the age is within its limits (inclusive). For one claim (bools and an int age), many claims (NumPy masks
    and ages) or many persons (Polars expressions): only &, >= and <= are used. Over a period a person's age runs
    from `youngest` to `oldest` (one age: give `oldest` only); the condition can then hold if oldest >= min_age
    and youngest <= max_age. An age limit with no age given is refused."""
    holds: Any = True
    for dim, allowed in condition.keys.items():
        holds = _both(holds, key_in(dim, allowed))
    if condition.min_age is not None or condition.max_age is not None:
        if oldest is None:
            raise SchemeError("a condition with an age limit needs the claimant's age", code="scheme.no_age")
        youngest = oldest if youngest is None else youngest
        if condition.min_age is not None:
            holds = _both(holds, oldest >= condition.min_age)
        if condition.max_age is not None:
            holds = _both(holds, youngest <= condition.max_age)
    return holds


def in_force(day: Any, start: Any = None, end: Any = None) -> Any:
    """Whether cover from `start` to `end` (both days inclusive; None: open at that end) is in force on `day`:
    the one interval rule of public cover dates and of policies. For one day (dates or day numbers) or many
    (NumPy arrays of day numbers, one per claim)."""
    holds: Any = True
    if start is not None:
        holds = _both(holds, start <= day)
    if end is not None:
        holds = _both(holds, day <= end)
    return holds


def _both(a: Any, b: Any) -> Any:
    """a and b (a True on either side is left out: no new mask made for it)."""
    if a is True:
        return b
    return a if b is True else a & b


def classify_bill(class_a: Amount, class_b: Amount, self_pay: Amount, special_drugs: Amount, preselfpay_rate: int | Amount
             ) -> Classified[Amount]:
    """The catalogue split: preselfpay = round(rate x class B); in_policy = A + B - preselfpay; total = every part."""
    preselfpay = apply_rate(preselfpay_rate, class_b)
    return Classified(
        total=class_a + class_b + self_pay + special_drugs,
        preselfpay=preselfpay,
        in_policy=class_a + class_b - preselfpay,
    )


def layer_base(base: Base, amount: Callable[[str], Amount]) -> Amount:
    """base = max(sum(plus) - sum(minus), 0), `amount(term)` giving each term (a quantity or an earlier layer)."""
    total: Amount = sum((amount(str(term)) for term in base.plus[1:]), amount(str(base.plus[0])))
    for term in base.minus:
        total = total - amount(str(term))
    clipped: Amount = _max(total, 0)
    return clipped


def repeat_claim_deductible(deductible: Amount, factor: int | Amount, repeated: Flag) -> Amount:
    """The deductible times `factor` (rounded) where the claim is a repeat one (from the n-th in the year)."""
    if isinstance(repeated, bool):
        return apply_rate(factor, deductible) if repeated else deductible
    change: Any = (apply_rate(factor, deductible) - deductible) * repeated  # a product: no branch a claim
    changed: Amount = deductible + change
    return changed


def adjusted_rate(rate: int | Amount, points: int | Amount) -> Amount:
    """A band's rate plus adjustment points, kept within 0..100%."""
    clipped: Amount = _max(_min(rate + points, RATE_SCALE), 0)
    return clipped


def schedule_numerator(amount: Amount, deductible: int | Amount, bands: Sequence[BandLike]) -> Amount:
    """sum over bands of rate x (the part of `amount` inside the band and above the deductible), in ppm-fen.

    Band i covers [max(above_i, deductible), above_{i+1}); the result divided by
    RATE_SCALE is the piecewise-linear schedule f(amount).
    """
    total: Amount = 0 * amount
    for i, band in enumerate(bands):
        low = _max(deductible, band.above)
        top = amount if i + 1 == len(bands) else _min(amount, bands[i + 1].above)
        total = total + band.rate * _max(top - low, 0)
    return total


def schedule(amount: Amount, deductible: int | Amount, bands: Sequence[BandLike]) -> Amount:
    """f(amount) rounded half-up to the fen."""
    return round_half_up_div(schedule_numerator(amount, deductible, bands), RATE_SCALE)


def yearly_payment(before: Amount, after: Amount, deductible: int | Amount, bands: Sequence[BandLike]) -> Amount:
    """A yearly rule pays round(f(C after)) - round(f(C before)) on the cumulative base C."""
    return schedule(after, deductible, bands) - schedule(before, deductible, bands)


def deductible_used(before: Amount, after: Amount, deductible: int | Amount) -> Amount:
    """How much of the step from `before` to `after` the deductible absorbs."""
    used: Amount = _min(after, deductible) - _min(before, deductible)
    return used


def claim_capped(raw: Amount, claim_cap: int | Amount | None) -> Amount:
    """A per-claim cap: the claim's payment at most the cap."""
    capped: Amount = raw if claim_cap is None else _min(raw, claim_cap)
    return capped


def bill_share(raw: Amount, bill_left: Amount) -> Amount:
    """A part pays at most what is left of the bill after the parts before it."""
    paid: Amount = _min(raw, bill_left)
    return paid


def clip_to_cap(running_before: Amount, amount: Amount, cap: int | Amount | None) -> Amount:
    """A yearly cap clips the running total: min(total after, cap) - min(total before, cap)."""
    if cap is None:
        return amount
    clipped: Amount = _min(running_before + amount, cap) - _min(running_before, cap)
    return clipped
