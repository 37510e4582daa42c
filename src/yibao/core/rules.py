"""The pieces every layer part is built from, as small pure functions on integer fen.

These are the named rounding points of domain.md: a schedule is rounded once
when evaluated; a yearly rule pays the difference of two rounded values; a cap
clips a running total. The scalar and batch paths both follow these definitions.
"""

from __future__ import annotations

from collections.abc import Sequence

from yibao.core.money import RATE_SCALE, Fen, RatePpm, round_half_up_div
from yibao.core.scheme import Band


def adjusted_rate(rate: int, points: int) -> RatePpm:
    """A band's rate plus adjustment points, kept within 0..100%."""
    return RatePpm(min(max(rate + points, 0), RATE_SCALE))


def schedule_numerator(amount: Fen, deductible: Fen, bands: Sequence[Band]) -> int:
    """sum over bands of rate x (the part of `amount` inside the band and above the deductible), in ppm-fen.

    Band i covers [max(above_i, deductible), above_{i+1}); the result divided by
    RATE_SCALE is the piecewise-linear schedule f(amount).
    """
    total = 0
    for i, band in enumerate(bands):
        low = max(band.above, deductible)
        high = bands[i + 1].above if i + 1 < len(bands) else None
        top = amount if high is None else min(amount, high)
        if top > low:
            total += band.rate * (top - low)
    return total


def schedule(amount: Fen, deductible: Fen, bands: Sequence[Band]) -> Fen:
    """f(amount) rounded half-up to the fen."""
    return round_half_up_div(schedule_numerator(amount, deductible, bands), RATE_SCALE)


def yearly_payment(before: Fen, after: Fen, deductible: Fen, bands: Sequence[Band]) -> Fen:
    """A yearly rule pays round(f(C after)) - round(f(C before)) on the cumulative base C."""
    return schedule(after, deductible, bands) - schedule(before, deductible, bands)


def deductible_used(before: Fen, after: Fen, deductible: Fen) -> Fen:
    """How much of the step from `before` to `after` the deductible absorbs."""
    return min(after, deductible) - min(before, deductible)


def clip_to_cap(running_before: Fen, amount: Fen, cap: Fen | None) -> Fen:
    """A yearly cap clips the running total: min(total after, cap) - min(total before, cap)."""
    if cap is None:
        return amount
    return min(running_before + amount, cap) - min(running_before, cap)
