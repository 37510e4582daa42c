"""Invariants of settlement, on the reference city and on random schemes within the anatomy."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.helpers import assert_engines_agree, claims_frame, persons_frame, policies_frame
from tests.core.strategies import populations, schemes
from yibao.core.model import Claim, Person
from yibao.core.scalar import Settlement, settle_claims
from yibao.core.scheme import Dimension, Parameter, Part, Scheme
from yibao.schemes import load_scheme

CITY = load_scheme("reference-city")
REFORMED = load_scheme("reference-city", ["si-threshold-halved"])
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def raw_total(claim: Claim) -> int:
    """The bill's total from its raw amounts (not from any settlement)."""
    return claim.class_a + claim.class_b + claim.self_pay + claim.special_drugs


def key_of(dim: Dimension | None, person: Person, claim: Claim) -> str:
    """The key a claim presents for `dim`, read off the raw records (the test's own reading)."""
    if dim is None:
        return ""
    return {
        Dimension.FACILITY_LEVEL: str(claim.facility_level),
        Dimension.CARE_TYPE: claim.care_type.value,
        Dimension.SCHEME: person.scheme.value,
        Dimension.ASSISTANCE_CATEGORY: person.assistance_category.value,
        Dimension.PRE_EXISTING: str(person.pre_existing).lower(),
        Dimension.HUIMINBAO: str(person.huiminbao).lower(),
        Dimension.OUT_OF_AREA: str(claim.region != person.region).lower(),
    }[dim]


def in_force(param: Parameter[Any] | None, person: Person, claim: Claim) -> int | None:
    """The parameter's value for this claim: the one in force on its day, under its key (None: no limit)."""
    if param is None:
        return None
    table = [values for since, values in param.values if since <= claim.service_date][-1]
    key = key_of(param.by, person, claim)
    value = table[key] if param.by is None or key in table else table["default"]
    return None if value is None else int(value)


def base_from_bill(part: Part, claim: Claim, scheme: Scheme, paid_before: dict[str, int]) -> int:
    """The part's base for the claim, from the raw bill and the earlier layers' payments; pre-self-pay computed
    here with Decimal (half-up to the fen)."""
    rate = Decimal([v for since, v in scheme.preselfpay_rate.values if since <= claim.service_date][-1][""])
    preselfpay = int((Decimal(claim.class_b) * rate / 1_000_000).to_integral_value(ROUND_HALF_UP))
    amounts = {
        "class_a": claim.class_a, "class_b": claim.class_b, "self_pay": claim.self_pay,
        "special_drugs": claim.special_drugs, "total": raw_total(claim), "preselfpay": preselfpay,
        "in_policy": claim.class_a + claim.class_b - preselfpay, **paid_before,
    }  # fmt: skip
    return max(sum(amounts[str(t)] for t in part.base.plus) - sum(amounts[str(t)] for t in part.base.minus), 0)


def check_invariants(scheme: Scheme, people: list[Person], bills: list[Claim]) -> list[Settlement]:
    """Invariants that no path holds by construction, checked against the raw bills and the scheme's own tables;
    and every engine gives the same fen (assert_engines_agree)."""
    persons = {p.person_id: p for p in people}
    settled = settle_claims(scheme, persons, bills)
    by_id = {s.claim_id: s for s in settled}
    running: dict[tuple[str, int, str, str], int] = defaultdict(int)  # paid so far, per person-year and part
    for claim in sorted(bills, key=lambda c: (c.person_id, c.service_date, c.claim_id)):
        s, person = by_id[claim.claim_id], persons[claim.person_id]
        payments = [layer.paid for layer in s.layers]
        # money is conserved: what the layers pay and what is left make the raw bill
        assert all(p >= 0 for p in payments) and s.out_of_pocket >= 0
        assert sum(payments) + s.out_of_pocket == raw_total(claim)
        paid_before: dict[str, int] = {}
        for layer, result in zip(scheme.layers, s.layers, strict=True):
            for part, r in zip(layer.parts, result.parts, strict=True):
                # no part pays more than its base (nor pays when it may not)
                assert r.paid <= (base_from_bill(part, claim, scheme, paid_before) if r.eligible else 0)
                if not r.eligible:
                    continue
                # a claim cap holds on the claim; a yearly cap, per key and per date in force, on the running total
                claim_cap = in_force(part.claim_cap, person, claim)
                assert claim_cap is None or r.paid <= claim_cap
                key = (claim.person_id, claim.service_date.year, layer.id, part.id)
                running[key] += r.paid
                cap = in_force(part.cap, person, claim)
                assert cap is None or r.paid == 0 or running[key] <= cap, (key, running[key], cap)
            paid_before[layer.id] = result.paid

    # every engine gives the same fen, and conserves the raw bill too
    frame = assert_engines_agree(scheme, persons_frame(people), claims_frame(bills), policies=policies_frame(people))
    for claim, row in zip(bills, frame.iter_rows(named=True), strict=True):
        assert row["claim_id"] == claim.claim_id
        assert [row[f"paid_{layer_id}"] for layer_id in scheme.layer_ids] == [
            layer.paid for layer in by_id[claim.claim_id].layers
        ]
        assert sum(row[f"paid_{layer_id}"] for layer_id in scheme.layer_ids) + row["out_of_pocket"] == raw_total(claim)
    return settled


@pytest.mark.slow
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


@pytest.mark.slow
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
