"""A scheme as data: layers in payment order, each made of parts with dated parameters.

Every layer has the same anatomy (docs/design.md): *eligibility* (`when`) ->
*base* (which part of the bill and of what earlier layers left) -> *deductible*
(per claim or per year) -> *rates* (bands of the amount, adjusted by points for
categories) -> *caps* (per claim, per year). A layer is one or more parts with
that anatomy; the layer pays the sum of its parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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

    @property
    def public(self) -> bool:
        """A public layer pays while the person's public cover is in force; a private one (Huiminbao,
        commercial) while the person holds a policy of its product in force. Any kind added later is public."""
        return self not in PRIVATE_KINDS


PRIVATE_KINDS = frozenset({LayerKind.HUIMINBAO, LayerKind.COMMERCIAL})


class Unit(StrEnum):
    YUAN = "yuan"
    RATE = "rate"
    COUNT = "count"


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
    """base = max(sum(plus) - sum(minus), 0); terms are quantities or earlier layers' payments."""

    plus: tuple[Quantity | str, ...]
    minus: tuple[Quantity | str, ...] = ()

    def layer_refs(self) -> tuple[str, ...]:
        return tuple(t for t in (*self.plus, *self.minus) if not isinstance(t, Quantity))


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


@dataclass(frozen=True, slots=True)
class Layer:
    id: str
    kind: LayerKind
    name: Names
    parts: tuple[Part, ...]
    reference: str = ""
    platform_field: str | None = None
    # the product a private layer pays for: a product's id (set by `yibao.products.with_products`); None on a
    # public layer, and on a scheme's own private layer, which is its own product named by its layer id and held
    # by every person flagged `huiminbao` (the shorthand) as well as under policies naming the layer id
    product: str | None = None

    @property
    def public(self) -> bool:
        return self.kind.public

    @property
    def product_id(self) -> str | None:
        """What a policy names to be paid by this layer (None: a public layer)."""
        if self.public:
            return None
        return self.id if self.product is None else self.product

    @property
    def shorthand(self) -> bool:
        """Held for the whole year by a person flagged `huiminbao`: a scheme's own private layer."""
        return not self.public and self.product is None


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

    def with_layers(self, layers: tuple[Layer, ...]) -> Scheme:
        """The scheme with `layers` settled after its own (for example products' indemnity layers:
        `yibao.products.with_products`), checked."""
        extended = replace(self, layers=(*self.layers, *layers))
        extended.check()
        return extended

    def check(self) -> None:
        """Structural checks every scheme must pass, however it was built."""
        seen: set[str] = set()
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
            if layer.public and layer.product is not None:
                raise SchemeError(f"layer {layer.id!r} is public ({layer.kind.value}) and cannot belong to a product "
                                  f"({layer.product!r})", code="scheme.invalid")
            part_ids = [p.id for p in layer.parts]
            if len(set(part_ids)) != len(part_ids):
                raise SchemeError(f"layer {layer.id!r} has duplicate part ids", code="scheme.duplicate_part")
            seen.add(layer.id)
