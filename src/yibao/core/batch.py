"""The batch path's rule: a chunk of claims settled column-wise, to the fen equal to the scalar path.

Read it beside yibao.core.scalar: the same steps in the same order, calling the same
pieces (yibao.core.rules), on one value per claim instead of one claim. The scalar
path's sequential state becomes running totals over claims sorted in canonical order
(person, service date, claim id) within each person-year:

* a yearly rule's cumulative base is the person-year's running total of the part's bases;
* the repeat-claim deductible counts the part's earlier claims in the person-year;
* a yearly cap clips the running total of the part's payments.

Which rows a part works on, how parameters are looked up per claim and the shortcuts
that skip rows which cannot pay are yibao.core.rows; cutting a table into chunks,
ordering, memory and threads are yibao.engine. Nothing here loops over claims in Python.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from yibao.core.errors import InputError
from yibao.core.rows import I64, NO_CAP, Chunk, ClaimColumns, ParameterTables, Rows
from yibao.core.rules import (
    ClaimBand,
    adjusted_rate,
    bill_share,
    claim_capped,
    classify_bill,
    clip_to_cap,
    layer_base,
    repeat_claim_deductible,
    schedule,
    yearly_payment,
)
from yibao.core.scheme import Accumulation, Part, Quantity, Scheme

# rate (<= 1e6 ppm) x amount must stay inside int64 with room for the half-up doubling
MAX_BATCH_AMOUNT = 4 * 10**12


def output_names(scheme: Scheme) -> list[str]:
    return ["total", "preselfpay", "in_policy", *[f"paid_{i}" for i in scheme.layer_ids], "out_of_pocket"]


def settle_sorted(scheme: Scheme, cols: ClaimColumns, tables: ParameterTables | None = None) -> dict[str, I64]:
    """Settle claims in canonical order: total, preselfpay, in_policy, paid_<layer>..., out_of_pocket per claim.
    `tables`: the settlement's parameters as arrays, shared by its chunks (made here when not given)."""
    chunk = Chunk.of(cols, tables or ParameterTables())
    every = chunk.every_row()
    amounts: dict[str, I64] = {
        Quantity.CLASS_A.value: cols.class_a.astype(np.int64),  # every sum in int64 whatever the amounts' type
        Quantity.CLASS_B.value: cols.class_b.astype(np.int64),
        Quantity.SELF_PAY.value: cols.self_pay.astype(np.int64),
        Quantity.SPECIAL_DRUGS.value: cols.special_drugs.astype(np.int64),
    }
    split = classify_bill(
        amounts["class_a"], amounts["class_b"], amounts["self_pay"], amounts["special_drugs"],
        every.rate(scheme.preselfpay_rate),
    )
    amounts |= {Quantity.TOTAL.value: split.total, Quantity.PRESELFPAY.value: split.preselfpay,
                Quantity.IN_POLICY.value: split.in_policy}
    check_magnitude(amounts, every)

    bill_left = split.total.copy()
    out = {"total": split.total, "preselfpay": split.preselfpay, "in_policy": split.in_policy}
    for layer in scheme.layers:
        layer_paid = np.zeros(len(cols), dtype=np.int64)
        held = chunk.in_force(layer)  # cover in force on the day: a part sees no claim outside it
        for part in layer.parts:
            rows = chunk.meeting(part.when, held)  # eligibility
            if rows is None:
                continue
            rows, paid = settle_part(part, rows, amounts, bill_left)
            rows.put(layer_paid, paid)
            rows.put(bill_left, paid, sign=-1)
        amounts[layer.id] = layer_paid
        out[f"paid_{layer.id}"] = layer_paid
    out["out_of_pocket"] = bill_left
    return out


def settle_part(part: Part, rows: Rows, amounts: Mapping[str, I64], bill_left: I64) -> tuple[Rows, I64]:
    """One part over `rows` (the claims meeting its condition, in canonical order): the rows it pays on (`rows`
    or fewer) and what it pays on each."""
    base = layer_base(part.base, lambda term: rows.take(amounts[term]))

    deductible = rows.money(part.deductible, none_means=np.int64(0))
    if part.repeat_claim is not None:
        repeated = rows.claim_number() >= part.repeat_claim.from_claim
        deductible = repeat_claim_deductible(deductible, rows.rate(part.repeat_claim.factor), repeated)

    before: I64 | int
    if part.accumulation is Accumulation.YEAR:
        after = rows.running_total(base)  # the cumulative base after the claim
        before = after - base
    else:
        after, before = base, 0  # a claim's rule starts from nothing
    del base
    # a schedule pays nothing at or below the deductible
    rows, (after, before, deductible) = rows.only(after > deductible, after, before, deductible)

    points: int | I64 = 0
    for adjustment in part.adjustments:
        points = points + rows.rate(adjustment.points) * rows.meets(adjustment.when)

    def pay(bands: list[ClaimBand], columns: list[I64 | int]) -> I64:
        after, before, deductible, points = columns
        assert not isinstance(after, int)
        adjusted = [ClaimBand(band.above, adjusted_rate(band.rate, points)) for band in bands]
        if part.accumulation is Accumulation.YEAR:
            assert not isinstance(before, int)
            return yearly_payment(before, after, deductible, adjusted)
        return schedule(after, deductible, adjusted)

    raw = rows.per_band_set(part.rate, pay, after, before, deductible, points)
    del after, before, deductible

    if part.claim_cap is not None:
        raw = claim_capped(raw, rows.money(part.claim_cap, none_means=NO_CAP))
    if part.cap is not None:
        rows, (raw,) = rows.only(raw != 0, raw)  # a cap clips only rows that pay
        running = rows.running_total(raw)
        raw = clip_to_cap(running - raw, raw, rows.money(part.cap, none_means=NO_CAP))
    return rows, bill_share(raw, rows.take(bill_left))


def uses_age(scheme: Scheme) -> bool:
    """Whether a condition of the scheme looks at the claimant's age."""
    conditions = [c for layer in scheme.layers for part in layer.parts
                  for c in (part.when, *(adjustment.when for adjustment in part.adjustments))]
    return any(c.min_age is not None or c.max_age is not None for c in conditions)


def check_magnitude(amounts: Mapping[str, I64], every: Rows) -> None:
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
        too_large = np.add.reduceat(total, every.runs().starts).max() > MAX_BATCH_AMOUNT
    if too_large:
        raise InputError(
            "a person-year's bills exceed what the batch path holds exactly; use --engine scalar",
            code="input.too_large",
        )
