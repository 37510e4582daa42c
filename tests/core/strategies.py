"""Hypothesis strategies: random schemes within the layer anatomy, random persons and claims."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from yibao.core.model import AssistanceCategory, CareType, Claim, InsuranceScheme, Person, Sex
from yibao.core.money import RatePpm
from yibao.core.scheme import (
    DIMENSION_KEYS,
    Accumulation,
    Adjustment,
    Band,
    Base,
    Condition,
    Dimension,
    Layer,
    LayerKind,
    Names,
    Parameter,
    Part,
    PersonAmount,
    Quantity,
    RepeatClaim,
    Scheme,
    Unit,
    layer_terms,
)

START = date(2024, 1, 1)
MIDYEAR = date(2024, 7, 1)
HOME, AWAY = "home", "away"

dims = st.sampled_from(list(Dimension))
fen = st.integers(min_value=0, max_value=20_000_000)  # up to 200,000 yuan
rates = st.integers(min_value=0, max_value=1_000_000).map(RatePpm)
points = st.integers(min_value=-300_000, max_value=300_000).map(RatePpm)


@st.composite
def dated(draw: Any, value: Any, unit: Unit, keyed: bool = True) -> Parameter[Any]:
    by = draw(st.one_of(st.none(), dims)) if keyed else None
    dates = [START] + ([MIDYEAR] if draw(st.booleans()) else [])
    values = []
    for since in dates:
        if by is None:
            values.append((since, {"": draw(value)}))
        else:
            values.append((since, {key: draw(value) for key in DIMENSION_KEYS[by]}))
    return Parameter(description="random", unit=unit, reference="test", values=tuple(values), by=by)


@st.composite
def bands(draw: Any) -> tuple[Band, ...]:
    count = draw(st.integers(1, 3))
    aboves = sorted(draw(st.sets(st.integers(1, 10_000_000), min_size=count - 1, max_size=count - 1)))
    return tuple(Band(above, draw(rates)) for above in [0, *aboves])


@st.composite
def rate_schedules(draw: Any) -> Parameter[Any]:
    """Banded rates, keyed or not; keyed, either each key with its own bands or (as rates by facility level)
    the same bands at each key's own rates."""
    if draw(st.booleans()):
        return draw(dated(bands(), Unit.RATE))
    shape = draw(bands())
    same_bands = st.lists(rates, min_size=len(shape), max_size=len(shape)).map(
        lambda chosen: tuple(Band(band.above, rate) for band, rate in zip(shape, chosen, strict=True))
    )
    return draw(dated(same_bands, Unit.RATE))


@st.composite
def conditions(draw: Any) -> Condition:
    chosen = draw(st.lists(dims, max_size=2, unique=True))
    keys = {
        dim: frozenset(draw(st.lists(st.sampled_from(DIMENSION_KEYS[dim]), min_size=1, unique=True)))
        for dim in chosen
    }
    min_age = draw(st.one_of(st.none(), st.integers(0, 70)))
    return Condition(keys=keys, min_age=min_age, max_age=draw(st.one_of(st.none(), st.integers(30, 100))))


@st.composite
def parts(draw: Any, part_id: str, earlier: list[str]) -> Part:
    """A part; `earlier`: the base terms earlier layers offer (their payments, their parts' payments and what they
    left beyond their yearly caps: yibao.core.scheme.layer_terms)."""
    quantities = st.sampled_from(list(Quantity))
    beyond = [term for term in earlier if term.endswith(".beyond_cap")]
    plus = tuple(draw(st.lists(quantities, min_size=1, max_size=2)))
    if beyond and draw(st.booleans()):  # paying on what an earlier layer left beyond its cap (a subsidy)
        plus = (draw(st.sampled_from(beyond)), *plus[1:])
    minus = tuple(draw(st.lists(st.sampled_from(earlier), max_size=3, unique=True))) if earlier else ()
    money_or_none = st.one_of(st.none(), fen)
    cap_person = draw(st.one_of(st.none(), st.none(), st.just(PersonAmount.INDIVIDUAL_ACCOUNT_BALANCE)))
    return Part(
        id=part_id,
        name=Names(part_id, part_id),
        when=draw(conditions()),
        base=Base(plus=plus, minus=minus),
        accumulation=draw(st.sampled_from(list(Accumulation))),
        rate=draw(rate_schedules()),
        deductible=draw(st.one_of(st.none(), dated(st.integers(0, 3_000_000), Unit.YUAN))),
        repeat_claim=draw(
            st.one_of(st.none(), st.builds(RepeatClaim, st.integers(2, 3), dated(rates, Unit.RATE, keyed=False)))
        ),
        adjustments=tuple(
            draw(st.lists(st.builds(Adjustment, conditions(), dated(points, Unit.RATE)), max_size=2))
        ),
        cap=None if cap_person else draw(st.one_of(st.none(), dated(money_or_none, Unit.YUAN))),
        claim_cap=draw(st.one_of(st.none(), dated(money_or_none, Unit.YUAN, keyed=False))),
        cap_person=cap_person,
        cap_raise=draw(st.one_of(st.none(), st.just(PersonAmount.SERIOUS_ILLNESS_CAP_RAISE))),
    )


@st.composite
def schemes(draw: Any) -> Scheme:
    layers: list[Layer] = []
    for i in range(draw(st.integers(1, 6))):  # more than 4: the batch path writes some payments otherwise
        layer_id = f"layer{i}"
        earlier = [term for layer in layers for term in layer_terms(layer)]
        count = draw(st.integers(1, 3))
        layer_parts = tuple(draw(parts(f"p{j}", earlier)) for j in range(count))
        layers.append(Layer(layer_id, draw(st.sampled_from(list(LayerKind))), Names(layer_id, layer_id), layer_parts))
    one_rate = st.integers(0, 300_000).map(lambda rate: Parameter("preselfpay", Unit.RATE, "test", ((START, {"": rate}),)))
    preselfpay = draw(st.one_of(one_rate, dated(st.integers(0, 300_000), Unit.RATE, keyed=False)))  # or changing mid-year
    scheme = Scheme("random", Names("random", "random"), HOME, 2024, preselfpay, tuple(layers))
    scheme.check()
    return scheme


@st.composite
def persons(draw: Any, count: int) -> list[Person]:
    return [
        Person(
            person_id=f"P{i}",
            birth_date=draw(st.dates(date(1930, 1, 1), date(2023, 12, 31))),
            sex=draw(st.sampled_from(list(Sex))),
            region=HOME,
            scheme=draw(st.sampled_from(list(InsuranceScheme))),
            assistance_category=draw(st.sampled_from(list(AssistanceCategory))),
            huiminbao=draw(st.booleans()),
            pre_existing=draw(st.booleans()),
            annual_income=draw(fen),
            individual_account_balance=draw(st.one_of(st.just(0), st.integers(0, 500_000), fen)),
            serious_illness_cap_raise=draw(st.one_of(st.just(0), st.integers(0, 300_000))),
        )
        for i in range(count)
    ]


# around 2^31 fen: the batch path holds a table's amounts in int64 rather than int32
amounts = st.one_of(st.just(0), st.integers(0, 500_000), st.integers(0, 30_000_000), st.integers(2**31 - 3, 2**31 + 3))


@st.composite
def claims(draw: Any, person_ids: list[str], max_claims: int = 25) -> list[Claim]:
    count = draw(st.integers(0, max_claims))
    result = []
    for i in range(count):
        result.append(
            Claim(
                claim_id=f"C{draw(st.integers(0, 10**6)):07d}-{i}",
                person_id=draw(st.sampled_from(person_ids)),
                service_date=START + timedelta(days=draw(st.integers(0, 600))),
                region=draw(st.sampled_from([HOME, HOME, AWAY])),
                facility_level=draw(st.integers(1, 3)),
                care_type=draw(st.sampled_from(list(CareType))),
                class_a=draw(amounts),
                class_b=draw(amounts),
                self_pay=draw(amounts),
                special_drugs=draw(st.one_of(st.just(0), amounts)),
            )
        )
    return result


@st.composite
def populations(draw: Any, max_persons: int = 4, max_claims: int = 25) -> tuple[list[Person], list[Claim]]:
    people = draw(persons(draw(st.integers(1, max_persons))))
    return people, draw(claims([p.person_id for p in people], max_claims))
