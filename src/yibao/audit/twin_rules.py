"""The rules of the Twin check, as dated parameters read from `twin_rules.yaml` (or another file).

A value applies from its date until the next one; a rate keyed `by: region` is looked up by the employer's
region, `default` standing for every other region. Rates are exact millionths (core.money), never floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from yibao.core.errors import SchemeError
from yibao.core.money import RatePpm
from yibao.schemes.loader import Node, key_text, rate_value, read_yaml

DEFAULT_RULES = Path(__file__).with_name("twin_rules.yaml")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Dated(Generic[V]):
    """One published figure: a value (or a table of values by region) from each date until the next."""

    description: str
    unit: str
    reference: str
    values: tuple[tuple[dt.date, Mapping[str, V]], ...]

    def at(self, day: dt.date, region: str = "") -> V:
        current: Mapping[str, V] | None = None
        for since, table in self.values:
            if since > day:
                break
            current = table
        if current is None:
            raise SchemeError(f"no value in force on {day} for {self.description!r}", code="scheme.no_value")
        if region in current:
            return current[region]
        return current["default"]


@dataclass(frozen=True, slots=True)
class RegionYearRates:
    """The rates of one region in one year."""

    employer: RatePpm
    employee: RatePpm

    @property
    def total(self) -> int:
        return self.employer + self.employee


@dataclass(frozen=True, slots=True)
class TwinRules:
    base_floor: Dated[RatePpm]
    base_ceiling: Dated[RatePpm]
    tolerance: Dated[RatePpm]
    employer_rate: Dated[RatePpm]
    employee_rate: Dated[RatePpm]
    late_fee_daily: Dated[RatePpm]
    due_day: Dated[int]
    match_threshold: Dated[RatePpm]

    def rates(self, year: int, region: str) -> RegionYearRates:
        day = dt.date(year, 1, 1)
        return RegionYearRates(self.employer_rate.at(day, region), self.employee_rate.at(day, region))


def _dated(node: Node, unit: str, read: Callable[[Node], V]) -> Dated[V]:
    node.only("description", "unit", "reference", "by", "values")
    if node.req("unit").value != unit:
        raise node.req("unit").fail(f"unit {unit!r}")
    by = node.get("by", required=False)
    if by is not None and by.value != "region":
        raise by.fail("'region' (the only key a Twin rule can depend on)")
    dated: list[tuple[dt.date, Mapping[str, V]]] = []
    for since, value_node in node.req("values").items():
        if not isinstance(since, dt.date) or isinstance(since, dt.datetime):
            raise value_node.fail("a date key such as 2024-01-01")
        if by is None:
            dated.append((since, {"default": read(value_node)}))
            continue
        table = {key_text(k): read(v) for k, v in value_node.items()}
        if "default" not in table:
            raise value_node.fail("a 'default' value besides the regions named")
        dated.append((since, table))
    if not dated:
        raise node.req("values").fail("at least one dated value")
    dated.sort(key=lambda item: item[0])
    return Dated(node.req("description").text(), unit, node.req("reference").text(), tuple(dated))


def _day_of_month(node: Node) -> int:
    day = node.integer()
    if not 1 <= day <= 28:
        raise node.fail("a day of the month from 1 to 28")
    return day


def _share(node: Node) -> RatePpm:
    """A share of the average wage: may exceed 1 (the ceiling is 300%)."""
    from yibao.core.money import parse_rate

    try:
        rate = parse_rate(node.value)
    except (ValueError, TypeError):
        raise node.fail("a decimal share such as 0.6 or 3") from None
    if not 0 < rate <= 10_000_000:
        raise node.fail("a share between 0 and 10")
    return rate


def load_rules(path: str | Path | None = None) -> TwinRules:
    """The Twin rules from a YAML file (default: the bundled `twin_rules.yaml`); errors name file and key."""
    file = Path(path) if path is not None else DEFAULT_RULES
    top = Node(read_yaml(file), file)
    keys = (
        "base_floor", "base_ceiling", "tolerance", "employer_rate", "employee_rate", "late_fee_daily", "due_day",
        "match_threshold",
    )  # fmt: skip
    top.only(*keys)
    rules = TwinRules(
        base_floor=_dated(top.req("base_floor"), "rate", _share),
        base_ceiling=_dated(top.req("base_ceiling"), "rate", _share),
        tolerance=_dated(top.req("tolerance"), "rate", rate_value),
        employer_rate=_dated(top.req("employer_rate"), "rate", rate_value),
        employee_rate=_dated(top.req("employee_rate"), "rate", rate_value),
        late_fee_daily=_dated(top.req("late_fee_daily"), "rate", rate_value),
        due_day=_dated(top.req("due_day"), "day", _day_of_month),
        match_threshold=_dated(top.req("match_threshold"), "rate", rate_value),
    )
    return rules
