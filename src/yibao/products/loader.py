"""Load products from YAML with the schemes' loader (exact decimals, dated parameters, units, references).

A product is a folder `builtin/<id>/product.yaml` (or any file given by path). Every
error names the file, the line and the key path: the schemes' loader names file and
key, and this module adds the line from the YAML's node marks.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from yibao.core.errors import SchemeError
from yibao.core.model import AssistanceCategory, InsuranceScheme
from yibao.core.money import RatePpm
from yibao.core.scheme import Unit
from yibao.products.model import (
    AgeBand,
    DailyAllowance,
    Eligibility,
    EventKind,
    LumpSum,
    PreExisting,
    Premium,
    Product,
    ProductKind,
    Window,
)
from yibao.schemes.loader import (
    Node,
    layer,
    money_param,
    money_value,
    names,
    parameter,
    rate_param,
    rate_value,
    read_yaml,
)

BUILTIN_DIR = Path(__file__).parent / "builtin"
# Earlier layers a product's indemnity base may name: the public layers of the built-in schemes.
PUBLIC_LAYERS = ["basic", "serious_illness", "assistance"]


class ProductError(SchemeError):
    code = "product.invalid"


def _lines(path: Path) -> dict[str, int]:
    """Key path ('a.b.0.c', as the loader writes it) -> 1-based line of its value."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return {}
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, where: str) -> None:
        lines[where] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                text = str(key.value)
                walk(value, f"{where}.{text}" if where else text)
                lines.setdefault(f"{where}.{text}" if where else text, key.start_mark.line + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{where}.{index}" if where else str(index))

    if root is not None:
        walk(root, "")
    return lines


_MESSAGE = re.compile(r"^(?P<file>.+?): (?P<path>[^:]+): (?P<rest>.*)$", re.S)


def _located(exc: SchemeError, path: Path, lines: dict[str, int]) -> ProductError:
    match = _MESSAGE.match(exc.message)
    if not match or match["file"] != str(path):
        return ProductError(f"{path}: {exc.message}", code="product.invalid")
    key = match["path"]
    if key == "(top)":
        key = ""
    rest = match["rest"]
    missing = re.match(r"missing key '([^']+)'", rest)
    probe = key
    line = None
    while True:
        if probe in lines:
            line = lines[probe]
            break
        if not probe:
            break
        probe = probe.rpartition(".")[0]
    shown = f"{key}.{missing.group(1)}" if missing and key else (missing.group(1) if missing else key)
    where = f"{path}, line {line}" if line else str(path)
    return ProductError(f"{where}, key {shown or '(top)'!r}: {rest}", code="product.invalid")


def _count(node: Node) -> int:
    value = node.integer()
    if value < 0:
        raise node.fail("a non-negative whole number")
    return value


def _count_param(node: Node) -> Any:
    return parameter(node, _count, Unit.COUNT, {})


def _text_set(node: Node | None, allowed: tuple[str, ...] | None = None) -> frozenset[str]:
    if node is None or node.value is None:
        return frozenset()
    values = frozenset(str(item.value) for item in node.list())
    if allowed is not None and values - set(allowed):
        raise node.fail(f"values among {list(allowed)}")
    return values


def _age_bands(node: Node) -> tuple[AgeBand, ...]:
    bands: list[AgeBand] = []
    for item in node.list():
        item.only("from_age", "premium")
        from_age = _count(item.req("from_age"))
        if (not bands and from_age != 0) or (bands and from_age <= bands[-1].from_age):
            raise item.req("from_age").fail("bands in increasing order of 'from_age', the first from age 0")
        amount = money_value(item.req("premium"))
        assert amount is not None
        bands.append(AgeBand(from_age, amount))
    if not bands:
        raise node.fail("at least one age band")
    return tuple(bands)


def _grade_shares(node: Node) -> tuple[RatePpm, ...]:
    shares = tuple(rate_value(item) for item in node.list())
    if not shares:
        raise node.fail("a share for each disability grade, grade 1 first")
    return shares


def _eligibility(node: Node) -> Eligibility:
    node.only("age", "regions", "schemes", "assistance_categories", "health_declaration", "pre_existing")
    min_age = max_age = None
    age = node.get("age", required=False)
    if age is not None:
        age.only("min", "max")
        low, high = age.get("min", required=False), age.get("max", required=False)
        min_age = _count(low) if low is not None and low.value is not None else None
        max_age = _count(high) if high is not None and high.value is not None else None
    declaration = node.get("health_declaration", required=False)
    if declaration is not None and not isinstance(declaration.value, bool):
        raise declaration.fail("true or false")
    return Eligibility(
        min_age=min_age,
        max_age=max_age,
        regions=_text_set(node.get("regions", required=False)),
        schemes=_text_set(node.get("schemes", required=False), tuple(s.value for s in InsuranceScheme)),
        assistance_categories=_text_set(
            node.get("assistance_categories", required=False), tuple(a.value for a in AssistanceCategory)
        ),
        health_declaration=bool(declaration.value) if declaration is not None else False,
        pre_existing=node.req("pre_existing").enum(PreExisting, [p.value for p in PreExisting]),
    )


def _premium(node: Node) -> Premium:
    node.only("bands", "government_share", "employer_share")
    return Premium(
        bands=parameter(node.req("bands"), _age_bands, Unit.YUAN, {}),
        government_share=rate_param(node.req("government_share"), {}),
        employer_share=rate_param(node.req("employer_share"), {}),
    )


def _date(node: Node) -> dt.date:
    if not isinstance(node.value, dt.date) or isinstance(node.value, dt.datetime):
        raise node.fail("a date such as 2021-04-15")
    return node.value


def _window(node: Node) -> Window:
    node.only("opens", "closes", "reference", "waiting_days")
    opens, closes = _date(node.req("opens")), _date(node.req("closes"))
    if closes < opens:
        raise node.req("closes").fail(f"a date on or after opens ({opens})")
    return Window(opens, closes, _count_param(node.req("waiting_days")), node.req("reference").text())


def _lump_sum(node: Node) -> LumpSum:
    node.only("id", "name", "event", "amount", "icd10_prefixes", "grade_shares")
    event = node.req("event").enum(EventKind, [e.value for e in EventKind])
    prefixes_node = node.get("icd10_prefixes", required=False)
    prefixes = tuple(sorted(_text_set(prefixes_node)))
    if event is EventKind.CRITICAL_ILLNESS and not prefixes:
        raise node.fail("a list 'icd10_prefixes' of the covered diagnoses")
    grades_node = node.get("grade_shares", required=False)
    if event is EventKind.DISABILITY and grades_node is None:
        raise node.fail("'grade_shares' for a disability benefit")
    return LumpSum(
        id=node.req("id").text(),
        name=names(node.req("name")),
        event=event,
        amount=money_param(node.req("amount"), {}),
        icd10_prefixes=prefixes,
        grade_shares=parameter(grades_node, _grade_shares, Unit.RATE, {}) if grades_node else None,
    )


def _one_stop(node: Node | None) -> bool:
    """`one_stop: {value: true|false, reference: ...}`: whether the indemnity is settled at the counter."""
    if node is None:
        return False
    node.only("value", "reference")
    node.req("reference").text()
    value = node.req("value")
    if not isinstance(value.value, bool):
        raise value.fail("true or false")
    return bool(value.value)


def _build(top: Node) -> Product:
    top.only(
        "product", "title", "kind", "insurer", "region", "year", "reference", "description", "eligibility",
        "premium", "window", "indemnity", "special_drugs", "daily_allowance", "lump_sums", "one_stop",
        "expense_ratio",
    )  # fmt: skip
    indemnity_node = top.get("indemnity", required=False)
    drugs_node = top.get("special_drugs", required=False)
    drugs: tuple[str, ...] = ()
    if drugs_node is not None:
        drugs_node.only("reference", "list")
        drugs_node.req("reference").text()
        drugs = tuple(item.text() for item in drugs_node.req("list").list())
    allowance_node = top.get("daily_allowance", required=False)
    allowance = None
    if allowance_node is not None:
        allowance_node.only("amount", "max_days")
        allowance = DailyAllowance(money_param(allowance_node.req("amount"), {}), _count_param(allowance_node.req("max_days")))
    lumps_node = top.get("lump_sums", required=False)
    lumps = tuple(_lump_sum(item) for item in lumps_node.list()) if lumps_node else ()
    if len({item.id for item in lumps}) != len(lumps):
        raise top.req("lump_sums").fail("lump sums with distinct ids")
    desc = top.get("description", required=False)
    product = Product(
        id=top.req("product").text(),
        title=names(top.req("title")),
        kind=top.req("kind").enum(ProductKind, [k.value for k in ProductKind]),
        insurer=top.req("insurer").text(),
        region=top.req("region").text(),
        year=top.req("year").integer(),
        reference=top.req("reference").text(),
        eligibility=_eligibility(top.req("eligibility")),
        premium=_premium(top.req("premium")),
        window=_window(top.req("window")),
        indemnity=layer(indemnity_node, list(PUBLIC_LAYERS)) if indemnity_node else None,
        special_drugs=drugs,
        daily_allowance=allowance,
        lump_sums=lumps,
        description=desc.text().strip() if desc else "",
        one_stop=_one_stop(top.get("one_stop", required=False)),
        expense_ratio=rate_param(ratio, {}) if (ratio := top.get("expense_ratio", required=False)) else None,
    )
    if product.indemnity is None and product.daily_allowance is None and not product.lump_sums:
        raise top.fail("at least one benefit: 'indemnity', 'daily_allowance' or 'lump_sums'")
    return product


def read_product(path: Path) -> Product:
    """Read one product file (or a folder holding product.yaml)."""
    if path.is_dir():
        path = path / "product.yaml"
    try:
        return _build(Node(read_yaml(path), path))
    except ProductError:
        raise
    except SchemeError as exc:
        raise _located(exc, path, _lines(path)) from exc


def builtin_products() -> list[Product]:
    return [_check_folder(read_product(p.parent), p.parent) for p in sorted(BUILTIN_DIR.glob("*/product.yaml"))]


def _check_folder(product: Product, path: Path) -> Product:
    if path.is_dir() and product.id != path.name:
        raise ProductError(f"{path / 'product.yaml'}: product id {product.id!r} differs from its folder's name "
                           f"{path.name!r}", code="product.invalid")
    return product


def load_product(name_or_path: str | Path) -> Product:
    """A built-in product by id, or a product file or folder by path."""
    path = Path(name_or_path)
    if path.exists():
        return read_product(path)
    candidate = BUILTIN_DIR / str(name_or_path)
    if candidate.is_dir():
        return _check_folder(read_product(candidate), candidate)
    known = [p.name for p in sorted(BUILTIN_DIR.iterdir()) if (p / "product.yaml").exists()]
    raise ProductError(
        f"no product file or built-in product named {str(name_or_path)!r} (built-in: {known})",
        code="product.not_found",
    )

