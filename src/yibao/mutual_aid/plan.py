"""A mutual-aid plan as data: age limits, waiting period, covered illnesses, payouts, fee, calendar, caps.

A plan file is YAML (see plans/xianghubao-2020.yaml). Each figure is a mapping with
`description`, `value`, `unit` and `reference`, like the scheme files; plans are not
dated (a new rule set is a new plan file). `variants` override whole sections for a
variant plan (the senior plan). Errors name the file, the key path and what was expected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from yibao.core.errors import SchemeError
from yibao.core.money import Fen, RatePpm
from yibao.core.scheme import Names
from yibao.mutual_aid.errors import PlanError
from yibao.schemes.loader import Node, money_value, names, parse_yaml, rate_value, read_yaml

PLANS_DIR = Path(__file__).parent / "plans"


class Rounding(StrEnum):
    """How a member's exact share of a period becomes whole fen."""

    HALF_UP_MIN_FEN = "half_up_min_fen"  # half-up to the fen; a positive share below 1 fen is charged 1 fen
    UP = "up"  # any fraction of a fen rounds up


class AgeUnit(StrEnum):
    DAYS = "days"
    YEARS = "years"


@dataclass(frozen=True, slots=True)
class Figure:
    """Where a figure comes from, kept beside the value for disclosure and explanation."""

    description: str
    unit: str
    reference: str


@dataclass(frozen=True, slots=True)
class AgeLimit:
    value: int
    unit: AgeUnit

    def reached_by(self, birth_date: dt.date, day: dt.date) -> bool:
        """True when a person born on `birth_date` has reached this age on `day`."""
        if self.unit is AgeUnit.DAYS:
            return (day - birth_date).days >= self.value
        return age_in_years(birth_date, day) >= self.value


@dataclass(frozen=True, slots=True)
class Illness:
    code: str
    name: str
    prefixes: tuple[str, ...]

    def covers(self, icd10: str) -> bool:
        code = icd10.strip().upper()
        return any(code.startswith(prefix) for prefix in self.prefixes)


@dataclass(frozen=True, slots=True)
class PayoutBand:
    min_age: int
    max_age: int
    amount: Fen


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    title: Names
    description: str
    min_age: AgeLimit
    max_age: int  # completed years; a member ages out on the day after this age is passed
    waiting_days: int
    credit_threshold: int
    illness_count: int
    illnesses: tuple[Illness, ...]
    payouts: tuple[PayoutBand, ...]
    fee_rate: RatePpm
    notice_days: tuple[int, ...]
    deduction_days: tuple[int, ...]
    case_cap: Fen
    year_cap: Fen
    rounding: Rounding
    retry_days: int
    juror_min_age: int
    juror_min_membership_days: int
    jury_min_votes: int
    jury_majority: RatePpm
    figures: dict[str, Figure]

    def covered_illness(self, icd10: str) -> Illness | None:
        return next((ill for ill in self.illnesses if ill.covers(icd10)), None)

    def payout_at_age(self, age: int) -> Fen | None:
        band = next((b for b in self.payouts if b.min_age <= age <= b.max_age), None)
        return band.amount if band else None

    def may_join(self, birth_date: dt.date, day: dt.date) -> bool:
        return self.min_age.reached_by(birth_date, day) and age_in_years(birth_date, day) <= self.max_age


def age_in_years(birth_date: dt.date, day: dt.date) -> int:
    """Completed years on `day` (a birthday on 29 February counts on 1 March in other years)."""
    years = day.year - birth_date.year
    return years - ((day.month, day.day) < (birth_date.month, birth_date.day))


# --- reading ---------------------------------------------------------------------------------------

FIGURE_KEYS = ("description", "value", "unit", "reference")


def _figure(node: Node, unit: str | tuple[str, ...], figures: dict[str, Figure]) -> Node:
    """Check a figure mapping, record its provenance, and return the node of its value."""
    node.only(*FIGURE_KEYS)
    units = (unit,) if isinstance(unit, str) else unit
    declared = node.req("unit")
    if declared.value not in units:
        raise declared.fail(f"unit {' or '.join(repr(u) for u in units)}")
    figures[node.path] = Figure(node.req("description").text().strip(), str(declared.value), node.req("reference").text())
    return node.req("value")


def _count(node: Node, unit: str, figures: dict[str, Figure], *, low: int = 0) -> int:
    value = _figure(node, unit, figures).integer()
    if value < low:
        raise node.req("value").fail(f"a whole number of at least {low}")
    return value


def _days_of_month(node: Node, figures: dict[str, Figure]) -> tuple[int, ...]:
    days = tuple(item.integer() for item in _figure(node, "day_of_month", figures).list())
    if not days or list(days) != sorted(set(days)) or not all(1 <= d <= 28 for d in days):
        raise node.req("value").fail("days of the month 1–28 in increasing order")
    return days


def _money(node: Node, figures: dict[str, Figure]) -> Fen:
    value = money_value(_figure(node, "yuan", figures))
    assert value is not None
    return value


def _eligibility(node: Node, figures: dict[str, Figure]) -> tuple[AgeLimit, int, int, int]:
    node.only("min_age", "max_age", "waiting_period", "health_declaration", "credit_gate")
    min_node = node.req("min_age")
    min_value = _figure(min_node, ("days", "years"), figures).integer()
    min_age = AgeLimit(min_value, AgeUnit(str(min_node.req("unit").value)))
    max_age = _count(node.req("max_age"), "years", figures)
    waiting = _count(node.req("waiting_period"), "days", figures)
    if _figure(node.req("health_declaration"), "text", figures).value != "required":
        raise node.req("health_declaration").req("value").fail("'required'")
    credit = _count(node.req("credit_gate"), "points", figures)
    return min_age, max_age, waiting, credit


def _illnesses(node: Node, figures: dict[str, Figure]) -> tuple[Illness, ...]:
    items = []
    for item in _figure(node, "icd10", figures).list():
        item.only("code", "name", "prefixes")
        prefixes = tuple(p.text().strip().upper() for p in item.req("prefixes").list())
        if not prefixes:
            raise item.req("prefixes").fail("at least one ICD-10 prefix")
        items.append(Illness(item.req("code").text(), item.req("name").text(), prefixes))
    if not items:
        raise node.req("value").fail("at least one illness")
    return tuple(items)


def _payouts(node: Node, figures: dict[str, Figure]) -> tuple[PayoutBand, ...]:
    node.only("description", "unit", "reference", "bands")
    if node.req("unit").value != "yuan":
        raise node.req("unit").fail("unit 'yuan'")
    figures[node.path] = Figure(node.req("description").text(), "yuan", node.req("reference").text())
    bands: list[PayoutBand] = []
    for item in node.req("bands").list():
        item.only("min_age", "max_age", "amount")
        amount = money_value(item.req("amount"))
        assert amount is not None
        band = PayoutBand(item.req("min_age").integer(), item.req("max_age").integer(), amount)
        if band.max_age < band.min_age or (bands and band.min_age <= bands[-1].max_age):
            raise item.fail("age bands in increasing order, not overlapping")
        bands.append(band)
    if not bands:
        raise node.req("bands").fail("at least one band")
    return tuple(bands)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A variant replaces the figures it names, section by section."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and "value" not in value and "bands" not in value:
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _build(top: Node, name: str) -> Plan:
    top.only("plan", "title", "description", "eligibility", "cover", "cover_payouts", "apportionment", "jury")
    figures: dict[str, Figure] = {}
    min_age, max_age, waiting, credit = _eligibility(top.req("eligibility"), figures)
    cover = top.req("cover")
    cover.only("illness_count", "illnesses")
    app = top.req("apportionment")
    app.only("management_fee", "notice_days", "deduction_days", "case_cap", "year_cap", "rounding", "retry_days")
    jury = top.req("jury")
    jury.only("juror_min_age", "juror_min_membership", "min_votes", "majority")
    notice = _days_of_month(app.req("notice_days"), figures)
    deduction = _days_of_month(app.req("deduction_days"), figures)
    if len(notice) != len(deduction) or any(d <= n for n, d in zip(notice, deduction, strict=True)):
        raise app.req("deduction_days").fail("one deduction day after each notice day, in the same month")
    rounding_node = _figure(app.req("rounding"), "text", figures)
    plan = Plan(
        name=name,
        title=names(top.req("title")),
        description=top.req("description").text().strip(),
        min_age=min_age,
        max_age=max_age,
        waiting_days=waiting,
        credit_threshold=credit,
        illness_count=_count(cover.req("illness_count"), "count", figures, low=1),
        illnesses=_illnesses(cover.req("illnesses"), figures),
        payouts=_payouts(top.req("cover_payouts"), figures),
        fee_rate=rate_value(_figure(app.req("management_fee"), "rate", figures)),
        notice_days=notice,
        deduction_days=deduction,
        case_cap=_money(app.req("case_cap"), figures),
        year_cap=_money(app.req("year_cap"), figures),
        rounding=rounding_node.enum(Rounding, [r.value for r in Rounding]),
        retry_days=_count(app.req("retry_days"), "days", figures),
        juror_min_age=_count(jury.req("juror_min_age"), "years", figures),
        juror_min_membership_days=_count(jury.req("juror_min_membership"), "days", figures),
        jury_min_votes=_count(jury.req("min_votes"), "count", figures, low=1),
        jury_majority=rate_value(_figure(jury.req("majority"), "rate", figures)),
        figures=figures,
    )
    if plan.case_cap <= 0 or plan.year_cap <= 0:
        raise app.fail("positive per-case and per-year caps")
    return plan


def plan_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    candidate = PLANS_DIR / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    raise PlanError(
        f"no plan file or built-in plan named {str(name_or_path)!r} (built-in: {builtin_plans()})",
        code="mutual_aid.plan_not_found",
    )


def plan_variants(name_or_path: str | Path) -> list[str]:
    """Names of the variants a plan file defines (e.g. ['senior'])."""
    raw = read_yaml(plan_path(name_or_path))
    variants = raw.get("variants") if isinstance(raw, dict) else None
    return sorted(variants) if isinstance(variants, dict) else []


def builtin_plans() -> list[str]:
    return sorted(p.stem for p in PLANS_DIR.glob("*.yaml"))


def load_plan(name_or_path: str | Path, variant: str | None = None) -> Plan:
    """A built-in plan by name ('xianghubao-2020'), or a plan file; `variant` picks e.g. 'senior'.

    'xianghubao-2020/senior' names the variant too.
    """
    text = str(name_or_path)
    if variant is None and "/" in text and not Path(text).exists():
        text, variant = text.rsplit("/", 1)
    path = plan_path(text)
    return _from_yaml(lambda: read_yaml(path), path, variant)


UPLOADED = Path("uploaded plan")  # how errors name a plan given as text


def load_plan_text(text: str, variant: str | None = None) -> Plan:
    """A plan given as YAML text (uploaded by a platform operator), read as a plan file is."""
    return _from_yaml(lambda: parse_yaml(text, str(UPLOADED)), UPLOADED, variant)


def builtin_plan_names() -> list[str]:
    """Every built-in plan and variant by the name that puts it in force ('xianghubao-2020/senior')."""
    return sorted(
        name for base in builtin_plans() for name in (base, *(f"{base}/{v}" for v in plan_variants(base)))
    )


def _from_yaml(read: Callable[[], object], path: Path, variant: str | None) -> Plan:
    try:
        top = Node(read(), path)
        raw = dict(top.mapping())
        variants = raw.pop("variants", None) or {}
        base_name = Node(raw.get("plan"), path, "plan").text()
        if variant is None:
            return _build(Node(raw, path), base_name)
        if variant not in variants:
            raise SchemeError(f"{path}: variants: no variant {variant!r} (known: {sorted(variants)})")
        return _build(Node(_merge(raw, variants[variant]), path), f"{base_name}/{variant}")
    except PlanError:
        raise
    except SchemeError as exc:
        raise PlanError(exc.message) from exc
