"""Contribution rules as dated data: what residents, employers, employees and budgets pay for a region-year, how it
is split between the funds, when residents may enrol and how long they wait otherwise.

The figures live in `contributions.yaml` beside a scheme's `scheme.yaml` (one parameter, one meaning, a unit and a
reference, values keyed by the date they take effect, as in the layer files). A parameter may be keyed `by: region`
(region codes, with a `default` for regions the file does not name) or `by: assistance_category`. `rules_for` gives
the values in force for a region and year (on 1 January of the year) as one frozen record; it and its small pure
functions (`contribution_base`, `employee_dues`, `subsidy_split`, `assistance_paid`, `WaitingPeriod.months`,
`CapRaise.amount`) are what the operations service and the policy lab both use. Pure data: no database, no clock.

Every error names the file, the line and the key path (`contributions.yaml: line 18: residents.government_subsidy:
missing key 'unit'`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from yibao.core.errors import SchemeError
from yibao.core.model import AssistanceCategory
from yibao.core.money import Fen, RatePpm, apply_rate, parse_rate
from yibao.core.scheme import Dimension, Parameter, Unit
from yibao.schemes.loader import Node, _ExactLoader, money_value, parameter, read_yaml

FILE_NAME = "contributions.yaml"
T = TypeVar("T")


# --- where a key is: YAML line numbers for every key path --------------------------------------------------------


def _lines(path: Path) -> dict[str, int]:
    """Key path ('residents.individual.unit') -> its 1-based line in the file."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=_ExactLoader)
    except (OSError, yaml.YAMLError):
        return {}
    found: dict[str, int] = {}

    def walk(node: yaml.Node | None, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = f"{prefix}.{key.value}" if prefix else str(key.value)
                found[name] = key.start_mark.line + 1
                walk(value, name)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                name = f"{prefix}.{i}" if prefix else str(i)
                found[name] = item.start_mark.line + 1
                walk(item, name)

    walk(root, "")
    return found


class Located(Node):
    """A Node whose errors name the line of its key as well as the file and the key path."""

    def __init__(self, value: Any, file: Path, path: str = "", lines: Mapping[str, int] | None = None) -> None:
        super().__init__(value, file, path)
        self.lines = lines or {}

    def where(self) -> str:
        line = self.lines.get(self.path, 1 if not self.path else None)
        at = f"line {line}: " if line is not None else ""
        return f"{self.file}: {at}{self.path or '(top)'}"

    def fail(self, expected: str) -> SchemeError:
        return SchemeError(f"{self.where()}: expected {expected}, found {self.value!r}")

    def child(self, key: str | int, value: Any) -> Located:
        path = f"{self.path}.{key}" if self.path else str(key)
        return Located(value, self.file, path, self.lines)

    def get(self, key: str, *, required: bool = True) -> Node | None:
        table = self.mapping()
        if key not in table:
            if required:
                raise SchemeError(f"{self.where()}: missing key {key!r}")
            return None
        return self.child(key, table[key])

    def only(self, *allowed: str) -> None:
        unknown = set(self.mapping()) - set(allowed)
        if unknown:
            raise SchemeError(f"{self.where()}: unknown key(s) {sorted(map(str, unknown))}; allowed: {list(allowed)}")


# --- values ----------------------------------------------------------------------------------------------------------


def _money(node: Node) -> Fen:
    value = money_value(node)
    assert value is not None
    return value


def _share(maximum: int) -> Callable[[Node], RatePpm]:
    """A decimal share between 0 and `maximum` (a wage-base ceiling is 3.00 = 300% of the average wage)."""

    def read(node: Node) -> RatePpm:
        if isinstance(node.value, bool) or not isinstance(node.value, int | Decimal):
            raise node.fail("a decimal share such as 0.60")
        try:
            rate = parse_rate(node.value)
        except ValueError:
            raise node.fail("a decimal share with at most six decimals") from None
        if not 0 <= rate <= maximum * 1_000_000:
            raise node.fail(f"a share between 0 and {maximum}")
        return rate

    return read


def _count(node: Node) -> int:
    if isinstance(node.value, bool) or not isinstance(node.value, int) or node.value < 0:
        raise node.fail("a whole number, 0 or more")
    return node.value


@dataclass(frozen=True, slots=True)
class WindowBound:
    """One end of a window: a month and day of the cover year or of the year before it."""

    previous_year: bool
    month: int
    day: int

    def on(self, cover_year: int) -> dt.date:
        return dt.date(cover_year - 1 if self.previous_year else cover_year, self.month, self.day)


@dataclass(frozen=True, slots=True)
class Window:
    """A window for enrolling in a cover year, both ends included."""

    opens: WindowBound
    closes: WindowBound

    def dates(self, cover_year: int) -> tuple[dt.date, dt.date]:
        return self.opens.on(cover_year), self.closes.on(cover_year)

    def contains(self, cover_year: int, day: dt.date) -> bool:
        opens, closes = self.dates(cover_year)
        return opens <= day <= closes


def _bound(node: Node) -> WindowBound:
    node.only("year", "date")
    year = node.req("year").enum(str, ["previous", "cover"])
    if year not in ("previous", "cover"):
        raise node.req("year").fail("'previous' or 'cover' (the year before the cover year, or the cover year)")
    text = node.req("date")
    try:
        month, day = (int(p) for p in str(text.value).split("-"))
        dt.date(2024, month, day)  # a leap year: 02-29 is a real day
    except (ValueError, TypeError):
        raise text.fail("a month and day as \"MM-DD\"") from None
    return WindowBound(year == "previous", month, day)


def _window(node: Node) -> Window:
    node.only("opens", "closes")
    window = Window(_bound(node.req("opens")), _bound(node.req("closes")))
    opens, closes = window.dates(2001)
    if closes < opens:
        raise node.fail("a window that closes after it opens")
    return window


# --- the parameters --------------------------------------------------------------------------------------------------

REGION_KEYED = frozenset({"residents.subsidy_central_share", "employees.average_wage"})


def _region_parameter(node: Node, read: Callable[[Node], T], unit: Unit) -> Parameter[T]:
    """A parameter keyed by region code: values are {region: value, default: value} per date."""
    node.only("description", "unit", "reference", "by", "values")
    if node.req("unit").value != unit.value:
        raise node.req("unit").fail(f"unit {unit.value!r}")
    if node.req("by").value != "region":
        raise node.req("by").fail("'region'")
    dated: list[tuple[dt.date, dict[str, T]]] = []
    for since, value_node in node.req("values").items():
        if not isinstance(since, dt.date) or isinstance(since, dt.datetime):
            raise value_node.fail("a date key such as 2024-01-01")
        table = {str(k): read(v) for k, v in value_node.items()}
        if "default" not in table:
            raise value_node.fail("a value for 'default' (regions the file does not name)")
        dated.append((since, table))
    if not dated:
        raise node.req("values").fail("at least one dated value")
    dated.sort(key=lambda item: item[0])
    return Parameter(node.req("description").text(), unit, node.req("reference").text(), tuple(dated))


def _param(node: Node, read: Callable[[Node], T], unit: Unit) -> Parameter[T]:
    if node.mapping().get("by") == "region":
        return _region_parameter(node, read, unit)
    return parameter(node, read, unit, {})


# section -> key -> (reader, unit)
SPEC: dict[str, dict[str, tuple[Callable[[Node], Any], Unit]]] = {
    "residents": {
        "individual": (_money, Unit.YUAN),
        "government_subsidy": (_money, Unit.YUAN),
        "subsidy_central_share": (_share(1), Unit.RATE),
        "serious_illness_share": (_share(1), Unit.RATE),
        "assistance_share": (_share(1), Unit.RATE),
        "window": (_window, Unit.DATE),
    },
    "employees": {
        "employer_rate": (_share(1), Unit.RATE),
        "employee_rate": (_share(1), Unit.RATE),
        "average_wage": (_money, Unit.YUAN),
        "base_floor": (_share(1), Unit.RATE),
        "base_ceiling": (_share(10), Unit.RATE),
        "employee_account_share": (_share(1), Unit.RATE),
        "employer_account_share": (_share(1), Unit.RATE),
        "retiree_account_credit": (_money, Unit.YUAN),
    },
    "waiting_period": {
        "fixed_months": (_count, Unit.MONTH),
        "months_per_year_without_cover": (_count, Unit.MONTH),
        "long_break_years": (_count, Unit.YEAR),
        "long_break_min_months": (_count, Unit.MONTH),
    },
    "continuity": {
        "insured_years_before_raise": (_count, Unit.YEAR),
        "raise_per_insured_year": (_money, Unit.YUAN),
        "raise_after_year_without_fund_use": (_money, Unit.YUAN),
        "raise_limit": (_money, Unit.YUAN),
    },
    "huiminbao": {
        "premium": (_money, Unit.YUAN),
        "window": (_window, Unit.DATE),
    },
}


@dataclass(frozen=True, slots=True)
class ContributionSchedule:
    """A contributions file as read: every parameter, dated, by 'section.key'."""

    file: Path
    region: str
    parameters: Mapping[str, Parameter[Any]]

    def names_region(self, key: str, day: dt.date, region: str) -> bool:
        """Whether a region-keyed figure (REGION_KEYED) has a value of `region`'s own on `day`, not the `default`."""
        return region in self.parameters[key].table_at(day)

    def value(self, key: str, day: dt.date, region: str) -> Any:
        param = self.parameters[key]
        try:
            table = param.table_at(day)
        except SchemeError:
            raise SchemeError(f"{self.file}: {key}: no value in force on {day}", code="scheme.no_value") from None
        if key in REGION_KEYED:
            return table.get(region, table["default"])
        if param.by is not None:
            return dict(table)
        return table[""]


def read_contributions(path: Path) -> ContributionSchedule:
    """Read and check a contributions file (errors name file, line and key)."""
    top = Located(read_yaml(path), path, "", _lines(path))
    top.only("region", *SPEC)
    parameters: dict[str, Parameter[Any]] = {}
    for section, keys in SPEC.items():
        node = top.req(section)
        node.only(*keys)
        for key, (read, unit) in keys.items():
            if key == "assistance_share":
                parameters[f"{section}.{key}"] = _category_shares(node.req(key))
            else:
                parameters[f"{section}.{key}"] = _param(node.req(key), read, unit)
    return ContributionSchedule(path, top.req("region").text(), parameters)


def _category_shares(node: Node) -> Parameter[RatePpm]:
    """The share of a resident's individual contribution that medical assistance pays, by category (every
    category named: `none` is normally 0)."""
    found = parameter(node, _share(1), Unit.RATE, {Dimension.ASSISTANCE_CATEGORY: frozenset(
        c.value for c in AssistanceCategory)})
    if found.by is not Dimension.ASSISTANCE_CATEGORY:
        raise node.fail("'by: assistance_category'")
    return found


# --- the rules of one region-year ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitingPeriod:
    """国办发〔2024〕38号: a fixed wait after enrolling outside the window or after a break, one more month per year
    without cover, and at least `long_break_min_months` in all after `long_break_years` or more without cover."""

    fixed_months: int
    months_per_year_without_cover: int
    long_break_years: int
    long_break_min_months: int

    def months(self, in_window: bool, years_without_cover: int) -> int:
        """The months before cover begins: none for an enrolment in the window without a break."""
        if in_window and years_without_cover == 0:
            return 0
        months = self.fixed_months + self.months_per_year_without_cover * years_without_cover
        if years_without_cover >= self.long_break_years:
            months = max(months, self.long_break_min_months)
        return months


@dataclass(frozen=True, slots=True)
class CapRaise:
    """国办发〔2024〕38号: the serious-illness yearly cap rises with consecutive insured years and after years
    without fund use, up to a local limit; a break resets both."""

    insured_years_before_raise: int
    raise_per_insured_year: Fen
    raise_after_year_without_fund_use: Fen
    limit: Fen

    def amount(self, consecutive_years: int, years_without_fund_use: int) -> Fen:
        """The raise for a year that is the `consecutive_years`-th insured year in a row (this year counted), after
        `years_without_fund_use` earlier years of that run in which the person used no fund money."""
        continuity = max(consecutive_years - self.insured_years_before_raise, 0) * self.raise_per_insured_year
        no_use = years_without_fund_use * self.raise_after_year_without_fund_use
        return min(continuity + no_use, self.limit)


@dataclass(frozen=True, slots=True)
class ContributionRules:
    """The contribution figures in force for one region and year (amounts in fen, shares in millionths)."""

    file: Path
    region: str
    year: int
    resident_individual: Fen
    resident_subsidy: Fen
    subsidy_central_share: RatePpm
    serious_illness_share: RatePpm
    assistance_share: Mapping[str, RatePpm]  # by assistance category
    resident_window: Window
    employer_rate: RatePpm
    employee_rate: RatePpm
    average_wage: Fen
    base_floor: RatePpm
    base_ceiling: RatePpm
    employee_account_share: RatePpm
    employer_account_share: RatePpm
    retiree_account_credit: Fen
    waiting: WaitingPeriod
    cap_raise: CapRaise
    huiminbao_premium: Fen
    huiminbao_window: Window

    def contribution_base(self, wage: Fen) -> Fen:
        """The wage clamped to [floor, ceiling] x the local average wage (each bound rounded half-up to the fen)."""
        floor = apply_rate(self.base_floor, self.average_wage)
        ceiling = apply_rate(self.base_ceiling, self.average_wage)
        return min(max(wage, floor), ceiling)

    def subsidy_split(self) -> tuple[Fen, Fen, Fen]:
        """(central, local, residue): central = round(share x subsidy), local = round((1 - share) x subsidy) +
        residue, where the residue (-1, 0 or 1 fen) is what rounding both shares left over, put on the local share."""
        central = apply_rate(self.subsidy_central_share, self.resident_subsidy)
        local_rounded = apply_rate(1_000_000 - self.subsidy_central_share, self.resident_subsidy)
        residue = self.resident_subsidy - central - local_rounded
        return central, local_rounded + residue, residue

    def assistance_paid(self, category: AssistanceCategory) -> Fen:
        """The part of a resident's individual contribution medical assistance pays for the category (rounded)."""
        share = self.assistance_share.get(category.value, self.assistance_share.get("default", 0))
        return apply_rate(share, self.resident_individual)

    def employee_dues(self, wage: Fen) -> tuple[Fen, Fen, Fen]:
        """(base, employer's part, employee's part) of a yearly wage."""
        base = self.contribution_base(wage)
        return base, apply_rate(self.employer_rate, base), apply_rate(self.employee_rate, base)


def rules_for(scheme: str | Path, region: str, year: int) -> ContributionRules:
    """The contribution rules in force for `region` in `year` (on 1 January), from the contributions file of a
    built-in scheme (by name) or of a scheme folder or file."""
    return resolve(load_contributions(scheme), region, year)



def contributions_path(scheme: str | Path) -> Path:
    from yibao.schemes import scheme_path  # the package's name resolution (built-in name or path)

    path = scheme_path(scheme)
    folder = path if path.is_dir() else path.parent
    if path.is_file() and path.name == FILE_NAME:
        return path
    return folder / FILE_NAME


def load_contributions(scheme: str | Path) -> ContributionSchedule:
    path = contributions_path(scheme)
    if not path.exists():
        raise SchemeError(f"{path}: no such file (the scheme has no contribution rules)", code="scheme.not_found")
    stat = path.stat()
    return _cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@cache
def _cached(path: str, mtime_ns: int, size: int) -> ContributionSchedule:
    return read_contributions(Path(path))


def resolve(schedule: ContributionSchedule, region: str, year: int) -> ContributionRules:
    day = dt.date(year, 1, 1)

    def v(key: str) -> Any:
        return schedule.value(key, day, region)

    return ContributionRules(
        file=schedule.file, region=region, year=year,
        resident_individual=v("residents.individual"),
        resident_subsidy=v("residents.government_subsidy"),
        subsidy_central_share=v("residents.subsidy_central_share"),
        serious_illness_share=v("residents.serious_illness_share"),
        assistance_share=v("residents.assistance_share"),
        resident_window=v("residents.window"),
        employer_rate=v("employees.employer_rate"),
        employee_rate=v("employees.employee_rate"),
        average_wage=v("employees.average_wage"),
        base_floor=v("employees.base_floor"),
        base_ceiling=v("employees.base_ceiling"),
        employee_account_share=v("employees.employee_account_share"),
        employer_account_share=v("employees.employer_account_share"),
        retiree_account_credit=v("employees.retiree_account_credit"),
        waiting=WaitingPeriod(
            v("waiting_period.fixed_months"), v("waiting_period.months_per_year_without_cover"),
            v("waiting_period.long_break_years"), v("waiting_period.long_break_min_months"),
        ),
        cap_raise=CapRaise(
            v("continuity.insured_years_before_raise"), v("continuity.raise_per_insured_year"),
            v("continuity.raise_after_year_without_fund_use"), v("continuity.raise_limit"),
        ),
        huiminbao_premium=v("huiminbao.premium"),
        huiminbao_window=v("huiminbao.window"),
    )


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it has no such day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


__all__ = [
    "FILE_NAME", "CapRaise", "ContributionRules", "ContributionSchedule", "WaitingPeriod", "Window", "add_months",
    "contributions_path", "load_contributions", "read_contributions", "resolve", "rules_for",
]
