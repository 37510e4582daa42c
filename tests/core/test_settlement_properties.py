"""Invariants of settlement, on the reference city and on random schemes within the anatomy."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.helpers import claims_frame, persons_frame
from tests.core.strategies import populations, schemes
from yibao.core.model import Claim, Person
from yibao.core.scalar import Settlement, settle_claims
from yibao.core.scheme import Parameter, Scheme
from yibao.engine import claim_table, settle_columns, settle_frame
from yibao.schemes import load_scheme

CITY = load_scheme("reference-city")
REFORMED = load_scheme("reference-city", ["si-threshold-halved"])
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _largest_cap(param: Parameter[Any] | None) -> int | None:
    """The largest value a cap can take (None: some claims have no cap)."""
    if param is None:
        return None
    values = [v for _, table in param.values for v in table.values()]
    return None if any(v is None for v in values) else max(values)


def check_invariants(scheme: Scheme, people: list[Person], bills: list[Claim]) -> list[Settlement]:
    settled = settle_claims(scheme, {p.person_id: p for p in people}, bills)
    part_paid: dict[tuple[str, int, str, str], int] = defaultdict(int)
    for claim, s in zip(bills, settled, strict=True):
        assert s.claim_id == claim.claim_id
        payments = [layer.paid for layer in s.layers]
        assert all(p >= 0 for p in payments)
        assert s.out_of_pocket >= 0
        assert sum(payments) + s.out_of_pocket == claim.total
        for layer in s.layers:
            assert layer.paid == sum(r.paid for r in layer.parts)
            for r in layer.parts:
                part_paid[(claim.person_id, claim.service_date.year, r.layer_id, r.part_id)] += r.paid
    for (_, _, layer_id, part_id), paid in part_paid.items():
        part = next(p for p in scheme.layer(layer_id).parts if p.id == part_id)
        cap = _largest_cap(part.cap)
        if cap is not None:
            assert paid <= cap, (layer_id, part_id, paid, cap)

    # the batch path gives the same fen on every claim
    batch = settle_frame(scheme, persons_frame(people), claims_frame(bills), "batch")
    for s, row in zip(settled, batch.iter_rows(named=True), strict=True):
        assert row["claim_id"] == s.claim_id
        assert [row[f"paid_{layer.layer_id}"] for layer in s.layers] == [layer.paid for layer in s.layers]
        assert row["out_of_pocket"] == s.out_of_pocket
    return settled


@PROPERTY
@given(populations(), st.randoms(use_true_random=False))
def test_reference_city_invariants_and_order_independence(population: Any, random: Any) -> None:
    people, bills = population
    for scheme in (CITY, REFORMED):
        settled = check_invariants(scheme, people, bills)
        shuffled = list(bills)
        random.shuffle(shuffled)
        again = {s.claim_id: s for s in settle_claims(scheme, {p.person_id: p for p in people}, shuffled)}
        for s in settled:
            assert [layer.paid for layer in again[s.claim_id].layers] == [layer.paid for layer in s.layers]


@PROPERTY
@given(schemes(), populations(), st.randoms(use_true_random=False))
def test_random_schemes_batch_equals_scalar_and_money_is_conserved(scheme: Scheme, population: Any, random: Any) -> None:
    people, bills = population
    settled = check_invariants(scheme, people, bills)
    shuffled = list(bills)
    random.shuffle(shuffled)
    again = {s.claim_id: s for s in settle_claims(scheme, {p.person_id: p for p in people}, shuffled)}
    for s in settled:
        assert again[s.claim_id].out_of_pocket == s.out_of_pocket


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemes(), populations(), st.integers(1, 9), st.integers(1, 3))
def test_person_aligned_chunks_on_threads_give_the_same_fen(
    scheme: Scheme, population: Any, chunk_rows: int, threads: int
) -> None:
    """The batch path cuts the sorted claims into chunks between persons and settles them on threads: any chunk
    size and thread count gives the one-chunk result (and so the scalar path's, checked above)."""
    people, bills = population
    table = claim_table(persons_frame(people), claims_frame(bills))
    whole = settle_columns(scheme, table, threads=1, chunk_rows=len(bills) + 1)
    chunked = settle_columns(scheme, table, threads=threads, chunk_rows=chunk_rows)
    # the same rows gathered whole into canonical order and settled as ClaimColumns: the same fen
    cols, rows = table.sorted(np.arange(len(table)))  # the whole table in canonical order
    gathered = settle_columns(scheme, cols, threads=threads, chunk_rows=chunk_rows)
    # a table given up for its memory to hold the results: the same fen, and the table is spent
    given_up = claim_table(persons_frame(people), claims_frame(bills))
    reused = settle_columns(scheme, given_up, threads=threads, chunk_rows=chunk_rows, reuse=True)
    assert given_up.spent
    for name, values in whole.items():
        assert chunked[name].tolist() == values.tolist(), name
        assert values[rows].tolist() == gathered[name].tolist(), name
        assert reused[name].tolist() == values.tolist(), name



def test_claim_columns_out_of_canonical_order_are_refused() -> None:
    """The batch path settles columns sorted by person and date; reversed rows are refused, not settled wrongly."""
    import dataclasses

    import pytest

    from yibao.core.errors import SchemeError
    from yibao.lab.synth import synthesize

    city = synthesize(50, 2024, 3)
    table = claim_table(city.persons, city.claims)
    cols, _ = table.sorted(table.chunks(1)[0])
    backwards = dataclasses.replace(
        cols,
        person=cols.person[::-1], day=cols.day[::-1], age=cols.age[::-1],
        keys={dim: codes[::-1] for dim, codes in cols.keys.items()},
        class_a=cols.class_a[::-1], class_b=cols.class_b[::-1], self_pay=cols.self_pay[::-1],
        special_drugs=cols.special_drugs[::-1],
    )  # fmt: skip
    with pytest.raises(SchemeError) as err:
        settle_columns(CITY, backwards)
    assert err.value.code == "batch.not_sorted"
