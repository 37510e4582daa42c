"""A scheme as data: layers in payment order, each made of parts with dated parameters.

Every layer has the same anatomy (docs/design.md): *eligibility* (`when`) ->
*base* (which part of the bill and of what earlier layers left) -> *deductible*
(per claim or per year) -> *rates* (bands of the amount, adjusted by points for
categories) -> *caps* (per claim, per year). A layer is one or more parts with
that anatomy; the layer pays the sum of its parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Generic, TypeVar

from yibao.core.errors import SchemeError
from yibao.core.model import AssistanceCategory, CareType, InsuranceScheme
from yibao.core.money import Fen, RatePpm


class Dimension(StrEnum):
    """What a condition or a keyed parameter can depend on. Keys are strings."""

    FACILITY_LEVEL = "facility_level"
    CARE_TYPE = "care_type"
    SCHEME = "scheme"
    ASSISTANCE_CATEGORY = "assistance_category"
    PRE_EXISTING = "pre_existing"
    HUIMINBAO = "huiminbao"
    OUT_OF_AREA = "out_of_area"


DIMENSION_KEYS: dict[Dimension, tuple[str, ...]] = {
    Dimension.FACILITY_LEVEL: ("1", "2", "3"),
    Dimension.CARE_TYPE: tuple(c.value for c in CareType),
    Dimension.SCHEME: tuple(s.value for s in InsuranceScheme),
    Dimension.ASSISTANCE_CATEGORY: tuple(a.value for a in AssistanceCategory),
    Dimension.PRE_EXISTING: ("false", "true"),
    Dimension.HUIMINBAO: ("false", "true"),
    Dimension.OUT_OF_AREA: ("false", "true"),
}


# Which dimensions a person presents (the same on all their claims) and which a claim does: the one definition.
PERSON_DIMENSIONS = (Dimension.SCHEME, Dimension.ASSISTANCE_CATEGORY, Dimension.PRE_EXISTING, Dimension.HUIMINBAO)
CLAIM_DIMENSIONS = (Dimension.FACILITY_LEVEL, Dimension.CARE_TYPE, Dimension.OUT_OF_AREA)


class Quantity(StrEnum):
    """Amounts of the classified bill that a base can be built from."""

    CLASS_A = "class_a"
    CLASS_B = "class_b"
    SELF_PAY = "self_pay"
    SPECIAL_DRUGS = "special_drugs"
    PRESELFPAY = "preselfpay"
    IN_POLICY = "in_policy"
    TOTAL = "total"


class Accumulation(StrEnum):
    """A per-claim rule works on the claim alone; a yearly rule on the year's cumulative base."""

    CLAIM = "claim"
    YEAR = "year"


class LayerKind(StrEnum):
    BASIC = "basic"
    SERIOUS_ILLNESS = "serious_illness"
    ASSISTANCE = "assistance"
    HUIMINBAO = "huiminbao"
    COMMERCIAL = "commercial"
    LARGE_AMOUNT_SUBSIDY = "large_amount_subsidy"  # 大额医疗补助: UEBMI, above the basic yearly cap
    INDIVIDUAL_ACCOUNT = "individual_account"  # UEBMI 个人账户: the member's own money, spent last


class PersonAmount(StrEnum):
    """Amounts a person carries (yibao.core.model.Person fields of the same names, fen) that a part's yearly cap can
    come from (`cap: {person: ...}`) or be raised by (`raise: ...`)."""

    INDIVIDUAL_ACCOUNT_BALANCE = "individual_account_balance"
    SERIOUS_ILLNESS_CAP_RAISE = "serious_illness_cap_raise"


# A base term naming what an earlier layer left beyond its yearly cap: "<layer>.beyond_cap" (yibao.core.rules.beyond_cap)
BEYOND_CAP = "beyond_cap"


class Unit(StrEnum):
    YUAN = "yuan"
    RATE = "rate"
    COUNT = "count"
    MONTH = "month"  # a number of months (waiting periods)
    YEAR = "year"  # a number of years (continuity of enrolment)
    DATE = "date"  # a calendar window (enrolment periods)


@dataclass(frozen=True, slots=True)
class Names:
    en: str
    zh: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Parameter(Generic[V]):
    """One published figure: a value from a date until the next, possibly keyed by a dimension."""

    description: str
    unit: Unit
    reference: str
    values: tuple[tuple[date, Mapping[str, V]], ...]
    by: Dimension | None = None

    def at(self, day: date, key: str = "") -> V:
        """The value in force on `day`; `key` selects within a keyed parameter."""
        table = self.table_at(day)
        if self.by is None:
            return table[""]
        if key in table:
            return table[key]
        return table["default"]

    def table_at(self, day: date) -> Mapping[str, V]:
        current: Mapping[str, V] | None = None
        for since, table in self.values:
            if since <= day:
                current = table
            else:
                break
        if current is None:
            raise SchemeError(f"no value in force on {day} for {self.description!r}", code="scheme.no_value")
        return current

    @property
    def first_date(self) -> date:
        return self.values[0][0]

    def dates(self) -> tuple[date, ...]:
        return tuple(since for since, _ in self.values)


@dataclass(frozen=True, slots=True)
class Band:
    """From cumulative amount `above` (fen) up to the next band, `rate` applies."""

    above: Fen
    rate: RatePpm


Bands = tuple[Band, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    """Eligibility: every named dimension must take one of the listed keys; ages inclusive."""

    keys: Mapping[Dimension, frozenset[str]] = field(default_factory=dict)
    min_age: int | None = None
    max_age: int | None = None


@dataclass(frozen=True, slots=True)
class Base:
    """base = max(sum(plus) - sum(minus), 0); terms are quantities or what an earlier layer did on the claim: its
    payment ("<layer>"), one part's payment ("<layer>.<part>"), or the part of its base lying beyond its yearly cap
    ("<layer>.beyond_cap")."""

    plus: tuple[Quantity | str, ...]
    minus: tuple[Quantity | str, ...] = ()

    def layer_refs(self) -> tuple[str, ...]:
        return tuple(t for t in (*self.plus, *self.minus) if not isinstance(t, Quantity))


def term_layer(term: str) -> str:
    """The layer a base term refers to ("basic.beyond_cap" -> "basic")."""
    return term.split(".", 1)[0]


def layer_terms(layer: Layer) -> tuple[str, ...]:
    """The base terms a later layer may use about `layer`."""
    return (layer.id, f"{layer.id}.{BEYOND_CAP}", *(f"{layer.id}.{part.id}" for part in layer.parts))


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Rate points added to every band when a condition holds (retirees +3, out of area -10...)."""

    when: Condition
    points: Parameter[RatePpm]


@dataclass(frozen=True, slots=True)
class RepeatClaim:
    """The deductible is multiplied by `factor` from the `from_claim`-th claim of the year in the part."""

    from_claim: int
    factor: Parameter[RatePpm]


@dataclass(frozen=True, slots=True)
class Part:
    id: str
    name: Names
    when: Condition
    base: Base
    accumulation: Accumulation
    rate: Parameter[Bands]
    deductible: Parameter[Fen] | None = None
    repeat_claim: RepeatClaim | None = None
    adjustments: tuple[Adjustment, ...] = ()
    cap: Parameter[Fen | None] | None = None
    claim_cap: Parameter[Fen | None] | None = None
    # the yearly cap is this amount of the person's instead of `cap` (an individual account's balance)
    cap_person: PersonAmount | None = None
    # this amount of the person's is added to the yearly cap (none: no cap stays none)
    cap_raise: PersonAmount | None = None

    @property
    def has_cap(self) -> bool:
        """Whether a yearly cap may clip the part."""
        return self.cap is not None or self.cap_person is not None

    def person_amounts(self) -> tuple[PersonAmount, ...]:
        return tuple(a for a in (self.cap_person, self.cap_raise) if a is not None)


@dataclass(frozen=True, slots=True)
class Layer:
    id: str
    kind: LayerKind
    name: Names
    parts: tuple[Part, ...]
    reference: str = ""
    platform_field: str | None = None


@dataclass(frozen=True, slots=True)
class Scheme:
    name: str
    title: Names
    region: str
    year: int
    preselfpay_rate: Parameter[RatePpm]
    layers: tuple[Layer, ...]
    description: str = ""
    reforms: tuple[str, ...] = ()
    locale: str = "zh-CN"  # the language its people read first: the default of its reports
    description_zh: str = ""

    @property
    def lang(self) -> str:
        """"zh" or "en": the report language that follows the scheme's locale."""
        return "zh" if self.locale.lower().startswith("zh") else "en"

    def layer(self, layer_id: str) -> Layer:
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise SchemeError(f"scheme {self.name!r} has no layer {layer_id!r}", code="scheme.unknown_layer")

    @property
    def layer_ids(self) -> tuple[str, ...]:
        return tuple(layer.id for layer in self.layers)

    @property
    def first_date(self) -> date:
        return self.preselfpay_rate.first_date

    def check(self) -> None:
        """Structural checks every scheme must pass, however it was built."""
        seen: set[str] = set()  # the terms earlier layers offer (layer_terms)
        for layer in self.layers:
            if layer.id in seen:
                raise SchemeError(f"layer {layer.id!r} appears twice", code="scheme.duplicate_layer")
            for part in layer.parts:
                for ref in part.base.layer_refs():
                    if ref not in seen:
                        raise SchemeError(
                            f"layer {layer.id!r} part {part.id!r}: base refers to {ref!r}, "
                            f"which is not an earlier layer (earlier: {sorted(seen) or 'none'})",
                            code="scheme.bad_base",
                        )
            part_ids = [p.id for p in layer.parts]
            if len(set(part_ids)) != len(part_ids):
                raise SchemeError(f"layer {layer.id!r} has duplicate part ids", code="scheme.duplicate_part")
            if BEYOND_CAP in part_ids:
                raise SchemeError(f"layer {layer.id!r}: a part may not be called {BEYOND_CAP!r}", code="scheme.bad_base")
            seen.update(layer_terms(layer))
