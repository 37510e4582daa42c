"""`yibao.core.rules.beyond_cap`: the point at which a part's yearly cap is reached, found by inverting the
schedule, equals the point found by walking the claim's base fen by fen; the same function on arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.core.rules import ClaimBand, beyond_cap, schedule


@st.composite
def cases(draw: Any) -> tuple[int, int, int, list[ClaimBand], int, int | None]:
    count = draw(st.integers(1, 3))
    aboves = sorted(draw(st.sets(st.integers(1, 3_000), min_size=count - 1, max_size=count - 1)))
    bands = [ClaimBand(above, draw(st.integers(0, 1_000_000))) for above in [0, *aboves]]
    start = draw(st.integers(0, 3_000))
    base = draw(st.integers(0, 1_500))
    deductible = draw(st.integers(0, 2_000))
    room = draw(st.integers(-50, 2_000))
    claim_cap = draw(st.one_of(st.none(), st.integers(0, 2_000)))
    return start, base, deductible, bands, room, claim_cap


def walked(start: int, base: int, deductible: int, bands: list[ClaimBand], room: int, claim_cap: int | None) -> int:
    """The base beyond the first fen x at which the claim's (claim-capped) raw payment reaches the room."""
    if room <= 0:
        return base
    first = schedule(start, deductible, bands)
    for x in range(base + 1):
        raw = schedule(start + x, deductible, bands) - first
        if claim_cap is not None:
            raw = min(raw, claim_cap)
        if raw >= room:
            return base - x
    return 0


@settings(max_examples=400, deadline=None)
@given(cases())
def test_inverting_the_schedule_finds_the_first_fen_at_the_cap(case: Any) -> None:
    start, base, deductible, bands, room, claim_cap = case
    expected = walked(*case)
    assert beyond_cap(start, base, deductible, bands, room, claim_cap) == expected
    # the same on arrays (the batch path), one claim per row, with rates per row
    rows = [ClaimBand(b.above, np.array([b.rate, b.rate])) for b in bands]
    on_arrays = beyond_cap(np.array([start, start]), np.array([base, base]), np.array([deductible, deductible]),
                           rows, np.array([room, room]), None if claim_cap is None else np.array([claim_cap] * 2))
    assert on_arrays.tolist() == [expected, expected]


def test_a_cap_crossed_in_the_middle_of_a_claim() -> None:
    """90% above a 100-fen deductible, 7,018,000 fen of room: 90% x (x - 10,000) reaches 7,017,999.5 at
    x - 10,000 = 7,797,777.2..., so at x = 7,807,778 fen; of a 10,000,000-fen base 2,192,222 lie beyond."""
    assert beyond_cap(0, 10_000_000, 10_000, [ClaimBand(0, 900_000)], 7_018_000) == 2_192_222
