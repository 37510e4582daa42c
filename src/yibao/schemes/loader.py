"""Load schemes and reforms from YAML, validating as we go.

Every error names the file, the key path inside it and what was expected. Numbers
are read as exact decimals (a custom YAML loader never builds floats), so a
rate written 0.85 is exactly 0.85.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import yaml

from yibao.core.errors import SchemeError
from yibao.core.money import Fen, RatePpm, parse_rate, yuan_to_fen
from yibao.core.scheme import (
    DIMENSION_KEYS,
    Accumulation,
    Adjustment,
    Band,
    Bands,
    Base,
    Condition,
    Dimension,
    Layer,
    LayerKind,
    Names,
    Parameter,
    Part,
    Quantity,
    RepeatClaim,
    Scheme,
    Unit,
)

T = TypeVar("T")


class _ExactLoader(yaml.SafeLoader):
    """SafeLoader that reads floats as Decimal, so no figure passes through binary floating point."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))  # type: ignore[arg-type]


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_ExactLoader)
    except FileNotFoundError as exc:
        raise SchemeError(f"{path}: no such file", code="scheme.not_found") from exc
    except yaml.YAMLError as exc:
        raise SchemeError(f"{path}: not valid YAML: {exc}", code="scheme.bad_yaml") from exc


def parse_yaml(text: str, name: str) -> Any:
    """YAML text given as such (an upload), read as `read_yaml` reads a file; errors name `name`."""
    try:
        return yaml.load(text, Loader=_ExactLoader)
    except yaml.YAMLError as exc:
        raise SchemeError(f"{name}: not valid YAML: {exc}", code="scheme.bad_yaml") from exc


class Node:
    """A value read from a YAML file, with the file and key path it came from."""

    def __init__(self, value: Any, file: Path, path: str = "") -> None:
        self.value, self.file, self.path = value, file, path

    def fail(self, expected: str) -> SchemeError:
        where = self.path or "(top)"
        return SchemeError(f"{self.file}: {where}: expected {expected}, found {self.value!r}")

    def child(self, key: str | int, value: Any) -> Node:
        path = f"{self.path}.{key}" if self.path else str(key)
        return Node(value, self.file, path)

    def mapping(self) -> dict[Any, Any]:
        if not isinstance(self.value, dict):
            raise self.fail("a mapping")
        return self.value

    def get(self, key: str, *, required: bool = True) -> Node | None:
        table = self.mapping()
        if key not in table:
            if required:
                raise SchemeError(f"{self.file}: {self.path or '(top)'}: missing key {key!r}")
            return None
        return self.child(key, table[key])

    def req(self, key: str) -> Node:
        node = self.get(key)
        assert node is not None
        return node

    def items(self) -> list[tuple[Any, Node]]:
        return [(k, self.child(str(k), v)) for k, v in self.mapping().items()]

    def list(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.fail("a list")
        return [self.child(i, v) for i, v in enumerate(self.value)]

    def text(self) -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.fail("a non-empty text")
        return self.value

    def integer(self) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.fail("a whole number")
        return self.value

    def enum(self, kind: Callable[[str], T], choices: object) -> T:
        try:
            return kind(str(self.value))
        except ValueError:
            raise self.fail(f"one of {choices}") from None

    def only(self, *allowed: str) -> None:
        unknown = set(self.mapping()) - set(allowed)
        if unknown:
            raise SchemeError(
                f"{self.file}: {self.path or '(top)'}: unknown key(s) {sorted(map(str, unknown))}; "
                f"allowed: {list(allowed)}"
            )


def key_text(key: object) -> str:
    """YAML keys 1, true, 'dibao' -> '1', 'true', 'dibao'."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


# --- values -----------------------------------------------------------------------------------


def money_value(node: Node, *, nullable: bool = False) -> Fen | None:
    if node.value is None and nullable:
        return None
    if isinstance(node.value, bool) or not isinstance(node.value, int | Decimal):
        raise node.fail("an amount in yuan" + (" or null (no cap)" if nullable else ""))
    try:
        fen = yuan_to_fen(node.value)
    except ValueError:
        raise node.fail("an amount in yuan with at most two decimals") from None
    if fen < 0:
        raise node.fail("a non-negative amount in yuan")
    return fen


def rate_value(node: Node, *, signed: bool = False) -> RatePpm:
    if isinstance(node.value, bool) or not isinstance(node.value, int | Decimal | str):
        raise node.fail("a decimal rate such as 0.85")
    try:
        rate = parse_rate(node.value)
    except ValueError:
        raise node.fail("a decimal rate with at most six decimals") from None
    low = -1_000_000 if signed else 0
    if not low <= rate <= 1_000_000:
        raise node.fail("a rate between -1 and 1" if signed else "a rate between 0 and 1")
    return rate


def bands_value(node: Node) -> Bands:
    if not isinstance(node.value, list):
        return (Band(0, rate_value(node)),)
    bands: list[Band] = []
    for item in node.list():
        item.only("above", "rate")
        above = money_value(item.req("above"))
        assert above is not None
        if bands and above <= bands[-1].above:
            raise item.fail("bands in increasing order of 'above'")
        bands.append(Band(above, rate_value(item.req("rate"))))
    if not bands:
        raise node.fail("at least one band")
    return tuple(bands)


def parameter(
    node: Node, read: Callable[[Node], T], unit: Unit, allowed_keys: Mapping[Dimension, frozenset[str]]
) -> Parameter[T]:
    node.only("description", "unit", "reference", "by", "values")
    declared = node.req("unit").enum(Unit, [u.value for u in Unit])
    if declared is not unit:
        raise node.req("unit").fail(f"unit {unit.value!r}")
    by_node = node.get("by", required=False)
    by = by_node.enum(Dimension, [d.value for d in Dimension]) if by_node else None
    dated: list[tuple[dt.date, dict[str, T]]] = []
    for since, value_node in node.req("values").items():
        if not isinstance(since, dt.date) or isinstance(since, dt.datetime):
            raise value_node.fail("a date key such as 2024-01-01")
        if by is None:
            dated.append((since, {"": read(value_node)}))
            continue
        table = {key_text(k): read(v) for k, v in value_node.items()}
        needed = allowed_keys.get(by, frozenset(DIMENSION_KEYS[by]))
        unknown = set(table) - set(DIMENSION_KEYS[by]) - {"default"}
        if unknown:
            raise value_node.fail(f"keys among {list(DIMENSION_KEYS[by])} or 'default'")
        missing = needed - set(table)
        if missing and "default" not in table:
            raise value_node.fail(f"a value for each of {sorted(needed)} (missing {sorted(missing)})")
        dated.append((since, table))
    if not dated:
        raise node.req("values").fail("at least one dated value")
    dated.sort(key=lambda item: item[0])
    return Parameter(
        description=node.req("description").text(),
        unit=unit,
        reference=node.req("reference").text(),
        values=tuple(dated),
        by=by,
    )


def money_param(node: Node, allowed: Mapping[Dimension, frozenset[str]]) -> Parameter[Fen]:
    def read(n: Node) -> Fen:
        value = money_value(n)
        assert value is not None
        return value

    return parameter(node, read, Unit.YUAN, allowed)


def cap_param(node: Node, allowed: Mapping[Dimension, frozenset[str]]) -> Parameter[Fen | None]:
    return parameter(node, lambda n: money_value(n, nullable=True), Unit.YUAN, allowed)


def rate_param(node: Node, allowed: Mapping[Dimension, frozenset[str]], *, signed: bool = False) -> Parameter[RatePpm]:
    return parameter(node, lambda n: rate_value(n, signed=signed), Unit.RATE, allowed)


# --- structure ----------------------------------------------------------------------------------


def names(node: Node) -> Names:
    node.only("en", "zh")
    return Names(en=node.req("en").text(), zh=node.req("zh").text())


def description(node: Node | None) -> Names:
    """A description as text (in English) or as {en, zh}; absent: empty."""
    if node is None:
        return Names("", "")
    if isinstance(node.value, dict):
        both = names(node)
        return Names(both.en.strip(), both.zh.strip())
    text = node.text().strip()
    return Names(text, "")


def condition(node: Node | None) -> Condition:
    if node is None or node.value is None:
        return Condition()
    keys: dict[Dimension, frozenset[str]] = {}
    min_age = max_age = None
    for raw_key, value in node.items():
        if raw_key == "age":
            value.only("min", "max")
            min_node, max_node = value.get("min", required=False), value.get("max", required=False)
            min_age = min_node.integer() if min_node else None
            max_age = max_node.integer() if max_node else None
            continue
        dim = Node(raw_key, node.file, value.path).enum(Dimension, [d.value for d in Dimension] + ["age"])
        allowed = {key_text(v.value) for v in value.list()}
        bad = allowed - set(DIMENSION_KEYS[dim])
        if bad:
            raise value.fail(f"values among {list(DIMENSION_KEYS[dim])}")
        keys[dim] = frozenset(allowed)
    return Condition(keys=keys, min_age=min_age, max_age=max_age)


def base(node: Node, earlier_layers: list[str]) -> Base:
    node.only("plus", "minus")

    def term(n: Node) -> Quantity | str:
        text = key_text(n.value)
        if text in {q.value for q in Quantity}:
            return Quantity(text)
        if text in earlier_layers:
            return text
        raise n.fail(f"a bill quantity {[q.value for q in Quantity]} or an earlier layer {earlier_layers}")

    plus = tuple(term(n) for n in node.req("plus").list())
    minus_node = node.get("minus", required=False)
    minus = tuple(term(n) for n in minus_node.list()) if minus_node else ()
    return Base(plus=plus, minus=minus)


PART_KEYS = (
    "id", "name", "when", "base", "accumulation", "deductible", "repeat_claim",
    "rate", "adjustments", "cap", "claim_cap",
)  # fmt: skip


def part(node: Node, earlier_layers: list[str]) -> Part:
    node.only(*PART_KEYS)
    when = condition(node.get("when", required=False))
    allowed = when.keys
    deductible_node = node.get("deductible", required=False)
    repeat_node = node.get("repeat_claim", required=False)
    repeat = None
    if repeat_node is not None:
        repeat_node.only("from_claim", "factor")
        from_claim = repeat_node.req("from_claim").integer()
        if from_claim < 2:
            raise repeat_node.req("from_claim").fail("a claim number of 2 or more")
        repeat = RepeatClaim(from_claim, rate_param(repeat_node.req("factor"), allowed))
    adjustments = []
    adj_node = node.get("adjustments", required=False)
    for adj in adj_node.list() if adj_node else []:
        adj.only("when", "points")
        adjustments.append(
            Adjustment(condition(adj.get("when", required=False)), rate_param(adj.req("points"), allowed, signed=True))
        )
    cap_node = node.get("cap", required=False)
    claim_cap_node = node.get("claim_cap", required=False)
    return Part(
        id=node.req("id").text(),
        name=names(node.req("name")),
        when=when,
        base=base(node.req("base"), earlier_layers),
        accumulation=node.req("accumulation").enum(Accumulation, [a.value for a in Accumulation]),
        rate=parameter(node.req("rate"), bands_value, Unit.RATE, allowed),
        deductible=money_param(deductible_node, allowed) if deductible_node else None,
        repeat_claim=repeat,
        adjustments=tuple(adjustments),
        cap=cap_param(cap_node, allowed) if cap_node else None,
        claim_cap=cap_param(claim_cap_node, allowed) if claim_cap_node else None,
    )


def layer(node: Node, earlier_layers: list[str]) -> Layer:
    node.only("id", "kind", "name", "reference", "platform_field", "parts", "product")
    parts = tuple(part(p, earlier_layers) for p in node.req("parts").list())
    if not parts:
        raise node.req("parts").fail("at least one part")
    field_node = node.get("platform_field", required=False)
    ref_node = node.get("reference", required=False)
    return Layer(
        id=node.req("id").text(),
        kind=node.req("kind").enum(LayerKind, [k.value for k in LayerKind]),
        name=names(node.req("name")),
        parts=parts,
        reference=ref_node.text() if ref_node else "",
        platform_field=field_node.text() if field_node else None,
        product=product_node.text() if (product_node := node.get("product", required=False)) else None,
    )


class RawScheme:
    """A scheme file and its layer files as read, before the model is built (reforms edit this)."""

    def __init__(self, top: Node, layers: list[Node]) -> None:
        self.top, self.layers = top, layers

    @classmethod
    def read(cls, path: Path) -> RawScheme:
        if path.is_dir():
            path = path / "scheme.yaml"
        top = Node(read_yaml(path), path)
        top.only("scheme", "title", "region", "year", "locale", "description", "catalogue", "layers")
        layers: list[Node] = []
        for entry in top.req("layers").list():
            if isinstance(entry.value, str):
                layer_path = path.parent / f"{entry.value}.yaml"
                if not layer_path.exists():
                    raise entry.fail(f"a layer file {layer_path.name} beside {path.name}")
                node = Node(read_yaml(layer_path), layer_path)
                if node.req("id").value != entry.value:
                    raise node.req("id").fail(f"id {entry.value!r} (the file's name)")
                layers.append(node)
            else:
                layers.append(entry)
        return cls(top, layers)

    def build(self) -> Scheme:
        catalogue = self.top.req("catalogue")
        catalogue.only("preselfpay_rate")
        built: list[Layer] = []
        for node in self.layers:
            built.append(layer(node, [existing.id for existing in built]))
        desc = description(self.top.get("description", required=False))
        locale = self.top.get("locale", required=False)
        scheme = Scheme(
            name=self.top.req("scheme").text(),
            title=names(self.top.req("title")),
            region=self.top.req("region").text(),
            year=self.top.req("year").integer(),
            preselfpay_rate=rate_param(catalogue.req("preselfpay_rate"), {}),
            layers=tuple(built),
            description=desc.en,
            description_zh=desc.zh,
            locale=locale.text() if locale else "zh-CN",
        )
        try:
            scheme.check()
        except SchemeError as exc:
            raise SchemeError(f"{self.top.file}: {exc.message}", code=exc.code) from exc
        return scheme
