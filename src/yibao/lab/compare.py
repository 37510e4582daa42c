"""Metrics flattened to figures (metric, group, unit, value) and a reform's change against baseline.

One flat list per scenario feeds the CSV/JSON beside the report, the summary table and the deltas:
money stays integer fen (shown as yuan with two decimals), shares are floats (shown as percent, their
changes as percentage points).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from yibao.core.money import format_yuan
from yibao.lab.metrics import ALL, CHE_THRESHOLDS_PCT, LabMetrics


class Unit(StrEnum):
    YUAN = "yuan"  # value is int fen
    SHARE = "share"  # value is a fraction (0.25 = 25%)
    COUNT = "count"


Value = int | float | None


@dataclass(frozen=True)
class Figure:
    metric: str
    group: str
    unit: Unit
    value: Value

    @property
    def key(self) -> tuple[str, str]:
        return (self.metric, self.group)


@dataclass(frozen=True)
class Delta:
    metric: str
    group: str
    unit: Unit
    baseline: Value
    reform: Value
    change: Value  # reform − baseline: fen, fraction (percentage points × 0.01) or count
    relative: float | None  # change ÷ baseline


METRIC_LABELS = {
    "population.persons": "Persons",
    "population.person_years": "Person-years",
    "population.claims": "Claims",
    "spending.total": "Total spending",
    "spending.in_policy": "In-policy spending",
    "spending.self_pay": "Self-pay (outside the catalogue)",
    "spending.special_drugs": "Special drugs",
    "spending.preselfpay": "Class B first-pay",
    "payment.amount": "Paid",
    "payment.share": "Share of total spending",
    "payment.all_layers": "Paid by all layers",
    "reimbursement.rate_total": "Effective reimbursement rate (of total)",
    "reimbursement.rate_in_policy": "Effective reimbursement rate (of in-policy)",
    "oop.person_year": "Out-of-pocket per person-year",
    "oop.band_share": "Share of person-years with OOP in band (yuan)",
    **{f"che.{t}": f"Catastrophic spending (OOP > {t}% of income)" for t in CHE_THRESHOLDS_PCT},
    "che.zero_income": "Person-years with zero income",
    "benefit.paid": "Payments received",
    "benefit.share": "Share of all payments received",
    "outlay.enrollees": "Enrollees",
    "outlay.per_enrollee": "Outlay per enrollee-year",
    "outlay.per_capita": "Outlay per capita-year",
    "revenue.amount": "Money in",
    "revenue.payers": "Persons paying or paid for",
    "revenue.total": "Money in, total",
    "fund.income": "Fund income",
    "fund.outlay": "Fund outlay",
    "fund.result": "Fund result (income − outlay)",
    "fund.opening_balance": "Balance at the start of the year",
    "personal.amount": "Paid by patients",
    "personal.share": "Share of spending paid by patients",
    "personal.accounts_netted": "Individual accounts netted (1 = yes)",
}


def _share_figures(metric: str, groups: Sequence[str], values: Sequence[float | None]) -> list[Figure]:
    return [Figure(metric, g, Unit.SHARE, v) for g, v in zip(groups, values, strict=True)]


def figures(m: LabMetrics) -> list[Figure]:
    """Every figure of a scenario, in report order."""
    out = [
        Figure("population.persons", ALL, Unit.COUNT, m.persons),
        Figure("population.person_years", ALL, Unit.COUNT, m.person_years),
        Figure("population.claims", ALL, Unit.COUNT, m.claims),
    ]
    out += [
        Figure(f"spending.{c}", ALL, Unit.YUAN, m.spending[c])
        for c in ("total", "in_policy", "self_pay", "special_drugs", "preselfpay")
    ]
    payers = m.payments["payer"].to_list()
    amounts = m.payments["amount"].to_list()
    out.append(Figure("payment.all_layers", ALL, Unit.YUAN, sum(amounts[:-1])))
    out += [Figure("payment.amount", p, Unit.YUAN, a) for p, a in zip(payers, amounts, strict=True)]
    out += _share_figures("payment.share", payers, m.payments["share"].to_list())
    groups = [g if d == ALL else f"{d}={g}" for d, g in m.reimbursement.select("dimension", "group").iter_rows()]
    for rate in ("rate_total", "rate_in_policy"):
        out += _share_figures(f"reimbursement.{rate}", groups, m.reimbursement[rate].to_list())
    out += [Figure("oop.person_year", s, Unit.YUAN, a) for s, a in m.oop_percentiles.iter_rows()]
    out += _share_figures("oop.band_share", m.oop_histogram["band"].to_list(), m.oop_histogram["share"].to_list())
    che = m.catastrophic
    for t in CHE_THRESHOLDS_PCT:
        out += _share_figures(f"che.{t}", che["group"].to_list(), che[f"che{t}_share"].to_list())
    out += [Figure("che.zero_income", g, Unit.COUNT, z) for g, z in che.select("group", "zero_income").iter_rows()]
    bi = m.benefit_incidence
    out += [Figure("benefit.paid", g, Unit.YUAN, p) for g, p in bi.select("group", "paid").iter_rows()]
    out += _share_figures("benefit.share", bi["group"].to_list(), bi["paid_share"].to_list())
    for layer, enrollees, per_enrollee, per_capita in m.outlays.select(
        "layer", "enrollees", "per_enrollee", "per_capita"
    ).iter_rows():
        out += [
            Figure("outlay.enrollees", layer, Unit.COUNT, enrollees),
            Figure("outlay.per_enrollee", layer, Unit.YUAN, per_enrollee),
            Figure("outlay.per_capita", layer, Unit.YUAN, per_capita),
        ]
    return out


# A layer a scenario does not have (a reform removed it) pays nothing there: its payment figures are 0,
# so the change shows where the money went. Other figures of an absent layer stay undefined.
ZERO_WHEN_ABSENT: dict[str, Value] = {"payment.amount": 0, "payment.share": 0.0}


def _change(unit: Unit, baseline: Value, reform: Value) -> Value:
    if baseline is None or reform is None:
        return None
    if unit is Unit.SHARE:
        return float(reform) - float(baseline)
    return int(reform) - int(baseline)


def deltas(baseline: Sequence[Figure], reform: Sequence[Figure]) -> list[Delta]:
    """Reform − baseline for every figure of either (a figure only one side has gets change None)."""
    base = {f.key: f for f in baseline}
    new = {f.key: f for f in reform}
    keys = list(base) + [k for k in new if k not in base]
    out = []
    for key in keys:
        b, r = base.get(key), new.get(key)
        unit = (b or r).unit  # type: ignore[union-attr]
        bv = b.value if b else ZERO_WHEN_ABSENT.get(key[0])
        rv = r.value if r else ZERO_WHEN_ABSENT.get(key[0])
        change = _change(unit, bv, rv)
        relative = None if change is None or not bv else float(change) / float(bv)
        out.append(Delta(key[0], key[1], unit, bv, rv, change, relative))
    return out


def value_text(unit: Unit, value: Value, *, plain: bool = False) -> str:
    """For people: yuan with two decimals, shares as percent with two decimals, counts as integers.

    With `plain=True`, the form for files: "1234567.89", "0.123456", "42".
    """
    if value is None:
        return "—"
    if unit is Unit.YUAN:
        return format_yuan(int(value)) if plain else yuan_text(int(value))
    if unit is Unit.SHARE:
        return f"{float(value):.6f}" if plain else f"{float(value) * 100:.2f}%"
    return str(int(value)) if plain else f"{int(value):,}"


def yuan_text(fen: int) -> str:
    """Yuan with two decimals and thousands separators, for people: 123456789 -> '1,234,567.89'."""
    whole, _, cents = format_yuan(fen).partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}.{cents}"


def change_text(unit: Unit, change: Value) -> str:
    """A change with its sign: yuan, percentage points or a count."""
    if change is None:
        return "—"
    if unit is Unit.SHARE:
        points = float(change) * 100
        if points == 0:
            return "0.00 pp"
        # a change too small for two decimals keeps its sign and shows a third decimal, never "-0.00"
        return f"{points:+.2f} pp" if abs(points) >= 0.005 else f"{points:+.3f} pp"
    sign = "+" if change > 0 else ""
    return sign + value_text(unit, change)


def figure_value(items: Sequence[Figure], metric: str, group: str = ALL) -> Value:
    for f in items:
        if f.metric == metric and f.group == group:
            return f.value
    return ZERO_WHEN_ABSENT.get(metric)


def label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)
