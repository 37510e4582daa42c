"""The scalar path: settle one claim against a person's yearly accumulators.

This is the readable reference. Each layer's parts run in order over what the
earlier layers left; every number that produced a payment is kept in the
result so that an explanation can be rendered from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from yibao.core.errors import InputError
from yibao.core.model import Claim, Person, PolicyCover, age_on
from yibao.core.money import Fen, RatePpm
from yibao.core.rules import (
    adjusted_rate,
    bill_share,
    claim_capped,
    classify_bill,
    clip_to_cap,
    deductible_used,
    eligible,
    in_force,
    layer_base,
    repeat_claim_deductible,
    schedule,
    yearly_payment,
)
from yibao.core.scheme import (
    PERSON_DIMENSIONS,
    Accumulation,
    Band,
    Bands,
    Condition,
    Dimension,
    Layer,
    Part,
    Quantity,
    Scheme,
)


@dataclass(frozen=True, slots=True)
class PartTotals:
    """A part's running figures for one person-year."""

    base: Fen = 0  # cumulative base (what yearly rules are stated on)
    raw: Fen = 0  # running total before the yearly cap
    paid: Fen = 0
    claims: int = 0  # claims that met the part's eligibility


@dataclass(frozen=True, slots=True)
class YearAccumulators:
    """Everything settlement remembers about one person in one calendar year."""

    year: int
    parts: Mapping[str, PartTotals] = field(default_factory=dict)
    total: Fen = 0
    out_of_pocket: Fen = 0

    def part(self, layer_id: str, part_id: str) -> PartTotals:
        return self.parts.get(part_key(layer_id, part_id), PartTotals())

    def to_dict(self) -> dict[str, object]:
        """Plain data (for storing a person-year's accumulators as JSON)."""
        return {
            "year": self.year,
            "total": self.total,
            "out_of_pocket": self.out_of_pocket,
            "parts": {k: [t.base, t.raw, t.paid, t.claims] for k, t in sorted(self.parts.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> YearAccumulators:
        parts = data.get("parts", {})
        assert isinstance(parts, Mapping)
        year, total, oop = data["year"], data.get("total", 0), data.get("out_of_pocket", 0)
        assert isinstance(year, int) and isinstance(total, int) and isinstance(oop, int)
        return cls(
            year=year,
            parts={str(k): PartTotals(*v) for k, v in parts.items()},
            total=total,
            out_of_pocket=oop,
        )

def part_key(layer_id: str, part_id: str) -> str:
    return f"{layer_id}.{part_id}"


@dataclass(frozen=True, slots=True)
class PartResult:
    """The arithmetic of one part on one claim."""

    layer_id: str
    part_id: str
    eligible: bool
    accumulation: Accumulation
    base_terms: tuple[tuple[str, int, Fen], ...] = ()  # (term, +1/-1, amount)
    base: Fen = 0
    claim_number: int = 0
    deductible: Fen = 0
    deductible_applied: Fen = 0
    cumulative_before: Fen = 0
    cumulative_after: Fen = 0
    bands: Bands = ()
    raw: Fen = 0
    claim_cap: Fen | None = None
    cap: Fen | None = None
    cap_used_before: Fen = 0
    bill_left: Fen = 0
    paid: Fen = 0
    in_force: bool = True  # False: the layer was not in force on the day (the part did not see the claim)


@dataclass(frozen=True, slots=True)
class CoverGap:
    """Why a layer was not in force on a claim's day (an explanation's reason; the codes are REASONS').

    cover_not_started / cover_ended: the person's public cover starts after / ended before the day (`day`);
    no_policy: the person holds no policy of the layer's product (`product`); policy_not_started: the next
    policy of it starts on `day`; policy_ended: the last one ended on `day`."""

    code: str
    day: date | None = None
    product: str | None = None


@dataclass(frozen=True, slots=True)
class LayerResult:
    layer_id: str
    paid: Fen
    parts: tuple[PartResult, ...]
    gap: CoverGap | None = None  # set when the layer was not in force on the day: it paid nothing


def cover_gap(layer: Layer, person: Person, day: date) -> CoverGap | None:
    """None when `layer` is in force for `person` on `day`, else why not.

    A public layer is in force while the person's public cover runs (cover_start..cover_end; no dates: every
    day). A private layer (Huiminbao, commercial) is in force while the person holds a policy of its product
    (`Layer.product_id`) in force on the day; a scheme's own private layer also for a person flagged
    `huiminbao` (the shorthand: held the whole year)."""
    if layer.public:
        if in_force(day, person.cover_start, person.cover_end):
            return None
        if person.cover_start is not None and day < person.cover_start:
            return CoverGap("cover_not_started", person.cover_start)
        return CoverGap("cover_ended", person.cover_end)
    if layer.shorthand and person.huiminbao:
        return None
    product = layer.product_id
    held = [p for p in person.policies if p.product == product]
    if any(in_force(day, p.start, p.end) for p in held):
        return None
    return _policy_gap(held, day, product)


def _policy_gap(held: list[PolicyCover], day: date, product: str | None) -> CoverGap:
    """No policy, the next one not started yet, or the last one ended (in that order of preference)."""
    later = [p.start for p in held if p.start > day]
    if later:
        return CoverGap("policy_not_started", min(later), product)
    if held:
        return CoverGap("policy_ended", max(p.end for p in held), product)
    return CoverGap("no_policy", None, product)


@dataclass(frozen=True, slots=True)
class Settlement:
    """One claim settled through every layer. Field names follow the national platform where one exists."""

    claim_id: str
    person_id: str
    service_date: date
    medfee_sumamt: Fen  # total
    fulamt_ownpay_amt: Fen  # outside the catalogue (self-pay)
    preselfpay_amt: Fen  # class B first-pay share
    inscp_scp_amt: Fen  # in-policy amount
    special_drugs: Fen
    layers: tuple[LayerResult, ...]
    psn_part_amt: Fen  # out of pocket
    accumulators: YearAccumulators

    def paid(self, layer_id: str) -> Fen:
        for layer in self.layers:
            if layer.layer_id == layer_id:
                return layer.paid
        raise KeyError(layer_id)

    @property
    def out_of_pocket(self) -> Fen:
        return self.psn_part_amt

    @property
    def act_pay_dedc(self) -> Fen:
        """Deductible applied by the first layer (the basic insurance 起付线)."""
        if not self.layers:
            return 0
        return sum(p.deductible_applied for p in self.layers[0].parts)


@dataclass(frozen=True, slots=True)
class ClaimContext:
    """The keys a claim presents to conditions and keyed parameters."""

    keys: Mapping[Dimension, str]
    age: int | None  # None: a person's context (`of_person`), for rules without an age limit

    @classmethod
    def of(cls, person: Person, claim: Claim) -> ClaimContext:
        return cls(
            keys={
                Dimension.FACILITY_LEVEL: str(claim.facility_level),
                Dimension.CARE_TYPE: claim.care_type.value,
                Dimension.SCHEME: person.scheme.value,
                Dimension.ASSISTANCE_CATEGORY: person.assistance_category.value,
                Dimension.PRE_EXISTING: _flag(person.pre_existing),
                Dimension.HUIMINBAO: _flag(person.huiminbao),
                Dimension.OUT_OF_AREA: _flag(claim.region != person.region),
            },
            age=age_on(person.birth_date, claim.service_date),
        )

    @classmethod
    def of_person(cls, keys: Mapping[Dimension, str]) -> ClaimContext:
        """What every claim of a person presents: the person's dimensions only, and no age (a condition with an
        age limit or a claim's dimension is then refused)."""
        return cls(keys={dim: keys[dim] for dim in PERSON_DIMENSIONS}, age=None)

    def meets(self, condition: Condition) -> bool:
        return bool(eligible(condition, lambda dim, allowed: self.keys[dim] in allowed, self.age))

    def key(self, dim: Dimension | None) -> str:
        return "" if dim is None else self.keys[dim]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def classify(scheme: Scheme, claim: Claim) -> dict[Quantity, Fen]:
    """The catalogue split: preselfpay = round(rate x class B); in_policy = A + B - preselfpay."""
    split = classify_bill(
        claim.class_a, claim.class_b, claim.self_pay, claim.special_drugs,
        scheme.preselfpay_rate.at(claim.service_date),
    )
    return {
        Quantity.CLASS_A: claim.class_a,
        Quantity.CLASS_B: claim.class_b,
        Quantity.SELF_PAY: claim.self_pay,
        Quantity.SPECIAL_DRUGS: claim.special_drugs,
        Quantity.PRESELFPAY: split.preselfpay,
        Quantity.IN_POLICY: split.in_policy,
        Quantity.TOTAL: split.total,
    }


def part_bands(part: Part, day: date, ctx: ClaimContext) -> Bands:
    """The part's bands on `day`, with every applicable adjustment's points added."""
    bands = part.rate.at(day, ctx.key(part.rate.by))
    points = sum(
        adj.points.at(day, ctx.key(adj.points.by)) for adj in part.adjustments if ctx.meets(adj.when)
    )
    return tuple(Band(b.above, RatePpm(adjusted_rate(b.rate, points))) for b in bands)


def part_deductible(part: Part, day: date, ctx: ClaimContext, claim_number: int) -> Fen:
    if part.deductible is None:
        return 0
    deductible = part.deductible.at(day, ctx.key(part.deductible.by))
    repeat = part.repeat_claim
    if repeat is None:
        return deductible
    factor = repeat.factor.at(day, ctx.key(repeat.factor.by))
    return repeat_claim_deductible(deductible, factor, claim_number >= repeat.from_claim)


def _optional_money(param: object, day: date, ctx: ClaimContext) -> Fen | None:
    if param is None:
        return None
    value = param.at(day, ctx.key(param.by))  # type: ignore[attr-defined]
    assert value is None or isinstance(value, int)
    return value


def settle_part(
    part: Part,
    layer_id: str,
    day: date,
    ctx: ClaimContext,
    amounts: Mapping[str, Fen],
    totals: PartTotals,
    bill_left: Fen,
) -> tuple[PartResult, PartTotals]:
    if not ctx.meets(part.when):
        return PartResult(layer_id, part.id, False, part.accumulation), totals
    terms = tuple((str(t), +1, amounts[str(t)]) for t in part.base.plus) + tuple(
        (str(t), -1, amounts[str(t)]) for t in part.base.minus
    )
    base = layer_base(part.base, amounts.__getitem__)
    claim_number = totals.claims + 1
    deductible = part_deductible(part, day, ctx, claim_number)
    bands = part_bands(part, day, ctx)
    if part.accumulation is Accumulation.YEAR:
        before, after = totals.base, totals.base + base
        raw = yearly_payment(before, after, deductible, bands)
    else:
        before, after = 0, base
        raw = schedule(base, deductible, bands)
    claim_cap = _optional_money(part.claim_cap, day, ctx)
    raw = claim_capped(raw, claim_cap)
    cap = _optional_money(part.cap, day, ctx)
    paid = bill_share(clip_to_cap(totals.raw, raw, cap), bill_left)
    result = PartResult(
        layer_id=layer_id,
        part_id=part.id,
        eligible=True,
        accumulation=part.accumulation,
        base_terms=terms,
        base=base,
        claim_number=claim_number,
        deductible=deductible,
        deductible_applied=deductible_used(before, after, deductible),
        cumulative_before=before,
        cumulative_after=after,
        bands=bands,
        raw=raw,
        claim_cap=claim_cap,
        cap=cap,
        cap_used_before=totals.raw,
        bill_left=bill_left,
        paid=paid,
    )
    new_totals = PartTotals(
        base=totals.base + base if part.accumulation is Accumulation.YEAR else totals.base,
        raw=totals.raw + raw,
        paid=totals.paid + paid,
        claims=claim_number,
    )
    return result, new_totals


def settle_claim(scheme: Scheme, person: Person, claim: Claim, acc: YearAccumulators | None = None) -> Settlement:
    """Settle `claim` for `person` given what the person's year has seen so far (`acc`)."""
    year = claim.service_date.year
    if acc is None or acc.year != year:
        acc = YearAccumulators(year=year)
    if claim.person_id != person.person_id:
        raise InputError(f"claim {claim.claim_id} belongs to {claim.person_id}, not {person.person_id}")
    ctx = ClaimContext.of(person, claim)
    day = claim.service_date
    quantities = classify(scheme, claim)
    amounts: dict[str, Fen] = {str(q): v for q, v in quantities.items()}
    parts = dict(acc.parts)
    bill_left = claim.total
    layers: list[LayerResult] = []
    for layer in scheme.layers:
        gap = cover_gap(layer, person, day)
        if gap is not None:  # not in force: the layer's parts do not see the claim (as an ineligible part)
            results_out = tuple(PartResult(layer.id, p.id, False, p.accumulation, in_force=False) for p in layer.parts)
            amounts[layer.id] = 0
            layers.append(LayerResult(layer.id, 0, results_out, gap))
            continue
        results: list[PartResult] = []
        for part in layer.parts:
            key = part_key(layer.id, part.id)
            result, parts[key] = settle_part(
                part, layer.id, day, ctx, amounts, parts.get(key, PartTotals()), bill_left
            )
            bill_left -= result.paid
            results.append(result)
        layer_paid = sum(r.paid for r in results)
        amounts[layer.id] = layer_paid
        layers.append(LayerResult(layer.id, layer_paid, tuple(results)))
    out_of_pocket = bill_left
    new_acc = replace(
        acc, parts=parts, total=acc.total + claim.total, out_of_pocket=acc.out_of_pocket + out_of_pocket
    )
    return Settlement(
        claim_id=claim.claim_id,
        person_id=person.person_id,
        service_date=day,
        medfee_sumamt=claim.total,
        fulamt_ownpay_amt=claim.self_pay,
        preselfpay_amt=quantities[Quantity.PRESELFPAY],
        inscp_scp_amt=quantities[Quantity.IN_POLICY],
        special_drugs=claim.special_drugs,
        layers=tuple(layers),
        psn_part_amt=out_of_pocket,
        accumulators=new_acc,
    )


def canonical_key(claim: Claim) -> tuple[str, date, str]:
    """Claims are settled per person and year in order of service date, then claim id."""
    return (claim.person_id, claim.service_date, claim.claim_id)


def settle_claims(
    scheme: Scheme, persons: Mapping[str, Person], claims: Sequence[Claim]
) -> list[Settlement]:
    """Settle many claims in canonical order, each year from fresh accumulators; return them in input order."""
    settled: dict[str, Settlement] = {}
    running: dict[str, YearAccumulators] = {}
    for claim in sorted(claims, key=canonical_key):
        person = persons.get(claim.person_id)
        if person is None:
            raise InputError(
                f"claim {claim.claim_id}: unknown person {claim.person_id}", code="input.unknown_person"
            )
        result = settle_claim(scheme, person, claim, running.get(claim.person_id))
        running[claim.person_id] = result.accumulators
        settled[claim.claim_id] = result
    return [settled[c.claim_id] for c in claims]
