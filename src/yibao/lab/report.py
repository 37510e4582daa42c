"""The policy lab's report: one self-contained HTML page comparing a baseline with reforms, plus its figures.

Charts are inline SVG (yibao.report), so the page opens offline. Beside report.html the same figures are
written as figures.csv / figures.json (every figure of every scenario) and deltas.csv (each reform against
the baseline). Money is shown as yuan with two decimals, shares as percent, changes of shares in points.
"""

from __future__ import annotations

import csv
import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from yibao import report as html_report
from yibao.core.errors import InputError
from yibao.core.money import FEN_PER_YUAN
from yibao.core.scheme import Scheme
from yibao.lab.compare import (
    Delta,
    Figure,
    Unit,
    Value,
    change_text,
    deltas,
    figure_value,
    figures,
    label,
    value_text,
)
from yibao.lab.metrics import ALL, CHE_THRESHOLDS_PCT, OUT_OF_POCKET, QUINTILES, LabMetrics

OOP_COLOUR = "#aab4be"
SCENARIO_COLOURS = ("#1b3a57", "#e07b39", "#3a9d5d", "#8e6bbf", "#c0392b", "#d4a017")
CHE_COLOURS = ("#e6a29b", "#922b21")  # mild and severe catastrophic spending
QUINTILE_NAMES = [f"Q{q}" for q in range(1, QUINTILES + 1)]
Series = tuple[str, Sequence[float], str]  # label, values, colour
SCHEME_NAMES = {"urrbmi": "URRBMI\nresidents", "uebmi_employee": "UEBMI\nemployees", "uebmi_retiree": "UEBMI\nretirees"}


@dataclass(frozen=True)
class Scenario:
    """A scheme (the baseline, or the baseline with one reform) settled over the lab's population."""

    name: str
    title: str
    scheme: Scheme
    metrics: LabMetrics
    description: str = ""

    @cached_property
    def figures(self) -> list[Figure]:
        return figures(self.metrics)

    def value(self, metric: str, group: str = ALL) -> Any:
        return figure_value(self.figures, metric, group)


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    figures_csv: Path
    figures_json: Path
    deltas_csv: Path

    def all(self) -> list[Path]:
        return [self.html, self.figures_csv, self.figures_json, self.deltas_csv]


# --- helpers shared by the charts ------------------------------------------------------------------------


def layer_order(scenarios: Sequence[Scenario]) -> list[str]:
    """Every layer id of any scenario, in payment order of first appearance."""
    seen: list[str] = []
    for s in scenarios:
        seen += [layer for layer in s.metrics.layer_ids if layer not in seen]
    return seen


def layer_names(scenarios: Sequence[Scenario]) -> dict[str, str]:
    names = {OUT_OF_POCKET: "Out of pocket"}
    for s in scenarios:
        for layer in s.scheme.layers:
            names.setdefault(layer.id, layer.name.en)
    return names


def layer_colours(scenarios: Sequence[Scenario]) -> dict[str, str]:
    """One colour per layer in every chart; out of pocket is always grey."""
    colours = {
        layer: html_report.PALETTE[i % len(html_report.PALETTE)] for i, layer in enumerate(layer_order(scenarios))
    }
    colours[OUT_OF_POCKET] = OOP_COLOUR
    return colours


def money_scale(max_fen: float) -> tuple[float, str]:
    """Fen per axis unit and the unit's name, so that axes read in yuan, thousand or million yuan."""
    yuan = max_fen / FEN_PER_YUAN
    if yuan >= 1e6:
        return 1e6 * FEN_PER_YUAN, "million yuan"
    if yuan >= 1e4:
        return 1e3 * FEN_PER_YUAN, "thousand yuan"
    return float(FEN_PER_YUAN), "yuan"


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def grouped_bars(
    ax: Any,
    categories: Sequence[str],
    series: Sequence[Series],
    value_format: str,
    skip_zero: bool = False,
) -> None:
    """Bars per category, one per series (label, values, colour), each labelled with its value.

    With many bars the labels stand upright so they do not run into each other.
    """
    x = np.arange(len(categories))
    width = 0.8 / max(len(series), 1)
    upright = len(categories) * len(series) > 8
    for i, (name, values, colour) in enumerate(series):
        bars = ax.bar(
            x + (i - (len(series) - 1) / 2) * width,
            values,
            width,
            label=name,
            color=colour,
            edgecolor="white",
            linewidth=0.5,
        )
        texts = ["" if np.isnan(v) or (skip_zero and abs(v) < 5e-3) else value_format.format(v) for v in values]
        ax.bar_label(bars, labels=texts, fontsize=7, padding=2, rotation=90 if upright else 0)
    ax.set_xticks(x, categories)
    ax.margins(y=0.25 if upright else 0.15)


def figure_legend(fig: Any, ax: Any, top: float = 0.86) -> None:
    """One legend for a figure of several panels, under the title and above the panels."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, top + 0.07),
        ncol=min(len(labels), 3),
        frameon=False,
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0, 1, top))


def scenario_series(scenarios: Sequence[Scenario], values: Any, scale: float = 1.0) -> list[Series]:
    return [
        (s.title, [_num(v) / scale for v in values(s)], SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)])
        for i, s in enumerate(scenarios)
    ]


def _percent_axis(ax: Any, label_text: str) -> None:
    ax.set_ylabel(label_text)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0f}%")


# --- charts ----------------------------------------------------------------------------------------------


def chart_payment_stack(scenarios: Sequence[Scenario]) -> str:
    layers = [*layer_order(scenarios), OUT_OF_POCKET]
    names, colours = layer_names(scenarios), layer_colours(scenarios)
    biggest = max(_num(s.value("spending.total")) for s in scenarios)
    scale, unit = money_scale(biggest)
    fig, ax = html_report.new_figure(8.5, 4.2)
    x = np.arange(len(scenarios))
    bottom = np.zeros(len(scenarios))
    for layer in layers:
        amounts = np.array([_num(s.value("payment.amount", layer)) for s in scenarios])
        amounts = np.nan_to_num(amounts) / scale
        bars = ax.bar(x, amounts, 0.55, bottom=bottom, label=names[layer], color=colours[layer])
        shares = [s.value("payment.share", layer) for s in scenarios]
        ax.bar_label(
            bars,
            labels=[f"{sh * 100:.1f}%" if sh and sh > 0.03 else "" for sh in shares],
            label_type="center",
            fontsize=8,
            color="white" if layer != OUT_OF_POCKET else "#1d2733",
        )
        bottom += amounts
    ax.set_xticks(x, [textwrap.fill(s.title, 24) for s in scenarios])
    ax.set_ylabel(f"Spending ({unit})")
    ax.set_title("Who pays the year's medical bills: payments by layer and out of pocket")
    ax.legend(title="Payer (in payment order)", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return html_report.figure(
        fig,
        f"Stacked bars: each layer's payments and the patients' out-of-pocket share, in {unit}; "
        "labels give each payer's share of total spending.",
    )


def chart_reimbursement(scenarios: Sequence[Scenario]) -> str:
    first = scenarios[0].metrics.reimbursement
    groups = [
        (d, g) for d, g in first.select("dimension", "group").iter_rows() if d in (ALL, "scheme", "facility_level")
    ]
    keys = [g if d == ALL else f"{d}={g}" for d, g in groups]
    names = [
        "All\nclaims" if d == ALL else SCHEME_NAMES.get(g, g) if d == "scheme" else f"Facility\nlevel {g}"
        for d, g in groups
    ]
    fig, axes = plt.subplots(2, 1, figsize=(9, 6.4), sharex=True)
    for ax, rate, title in (
        (axes[0], "rate_total", "Share of total spending paid by the layers"),
        (axes[1], "rate_in_policy", "Share of in-policy spending paid by the layers"),
    ):
        series = scenario_series(scenarios, lambda s, r=rate: [s.value(f"reimbursement.{r}", k) for k in keys], 0.01)
        grouped_bars(ax, names, series, "{:.1f}")
        _percent_axis(ax, "Reimbursement rate")
        ax.set_title(title, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
    axes[1].set_xlabel("Scheme of the patient / facility level of the claim")
    fig.suptitle("Effective reimbursement rate by scheme and facility level")
    figure_legend(fig, axes[0], top=0.9)
    return html_report.figure(
        fig, "Payments of all layers as a percentage of spending: total (top) and in-policy (bottom)."
    )


def chart_oop(scenarios: Sequence[Scenario]) -> str:
    first = scenarios[0].metrics
    bands = first.oop_histogram["band"].to_list()
    stats = [s for s in first.oop_percentiles["statistic"].to_list() if s.startswith("P")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 2]})
    grouped_bars(
        left, bands, scenario_series(scenarios, lambda s: [s.value("oop.band_share", b) for b in bands], 0.01), "{:.1f}"
    )
    _percent_axis(left, "Share of person-years")
    left.set_xlabel("Yearly out-of-pocket (yuan)")
    left.set_title("How much people pay themselves in a year", fontsize=10)
    left.tick_params(axis="x", labelrotation=30)
    biggest = max(_num(s.value("oop.person_year", stats[-1])) for s in scenarios)
    scale, unit = money_scale(biggest)
    series = scenario_series(scenarios, lambda s: [s.value("oop.person_year", p) for p in stats], scale)
    grouped_bars(right, stats, series, "{:,.1f}" if unit != "yuan" else "{:,.0f}")
    right.set_ylabel(f"OOP per person-year ({unit})")
    right.set_xlabel("Percentile of person-years")
    right.set_title("The heavy tail", fontsize=10)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle("Out-of-pocket distribution (every person, with or without claims)")
    figure_legend(fig, left)
    return html_report.figure(
        fig,
        "Left: person-years by band of yearly out-of-pocket spending. "
        "Right: percentiles (nearest rank) of yearly out-of-pocket spending.",
    )


def chart_che(scenarios: Sequence[Scenario]) -> str:
    groups = [*QUINTILE_NAMES, ALL]
    names = ["Q1\npoorest", "Q2", "Q3", "Q4", "Q5\nrichest", "All"]
    fig, axes = plt.subplots(1, len(CHE_THRESHOLDS_PCT), figsize=(10, 3.9), sharey=True)
    for ax, t in zip(axes, CHE_THRESHOLDS_PCT, strict=True):
        series = scenario_series(scenarios, lambda s, t=t: [s.value(f"che.{t}", g) for g in groups], 0.01)
        grouped_bars(ax, names, series, "{:.1f}")
        ax.set_title(f"Out-of-pocket above {t}% of annual income", fontsize=10)
        ax.set_xlabel("Income quintile")
        ax.spines[["top", "right"]].set_visible(False)
    _percent_axis(axes[0], "Share of person-years")
    fig.suptitle("Catastrophic health expenditure by income quintile (SDG 3.8.2 style)")
    figure_legend(fig, axes[0])
    return html_report.figure(
        fig,
        "Share of person-years whose yearly out-of-pocket spending exceeds 10% (left) "
        "and 25% (right) of annual income.",
    )


def chart_benefit(scenarios: Sequence[Scenario]) -> str:
    names = ["Q1 poorest", "Q2", "Q3", "Q4", "Q5 richest"]
    fig, ax = html_report.new_figure(8.5, 3.8)
    series = scenario_series(scenarios, lambda s: [s.value("benefit.share", q) for q in QUINTILE_NAMES], 0.01)
    grouped_bars(ax, names, series, "{:.1f}")
    population = scenarios[0].metrics.benefit_incidence["population_share"].to_list()
    x = np.arange(len(population))
    ax.hlines(
        [p * 100 for p in population],
        x - 0.42,
        x + 0.42,
        colors="#c0392b",
        linestyles="--",
        linewidth=1.2,
        zorder=3,
        label="Population share",
    )
    _percent_axis(ax, "Share of all payments received")
    ax.set_xlabel("Income quintile")
    ax.set_title("Benefit incidence: who receives the payments of all layers")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return html_report.figure(
        fig,
        "Each quintile's share of all layers' payments; the red marks are its share of the "
        "population (above the mark: the quintile receives more than its head count).",
    )


def chart_deltas(baseline: Scenario, reform: Scenario, scenarios: Sequence[Scenario]) -> str:
    payers = [*layer_order(scenarios), OUT_OF_POCKET]
    names, colours = layer_names(scenarios), layer_colours(scenarios)
    changes = [_num(reform.value("payment.amount", p)) - _num(baseline.value("payment.amount", p)) for p in payers]
    changes = [0.0 if np.isnan(c) else c for c in changes]
    scale, unit = money_scale(max(abs(c) for c in changes) or 1.0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.9), gridspec_kw={"width_ratios": [1, 1]})
    y = np.arange(len(payers))
    bars = left.barh(y, [c / scale for c in changes], color=[colours[p] for p in payers])
    left.bar_label(bars, labels=[f"{c / scale:+,.2f}" for c in changes], fontsize=8, padding=3)
    left.set_yticks(y, [names[p] for p in payers])
    left.invert_yaxis()
    left.axvline(0, color="#1d2733", linewidth=0.8)
    left.set_xlabel(f"Change in payments ({unit})")
    left.set_title("Change in who pays", fontsize=10)
    left.margins(x=0.25)
    groups = [*QUINTILE_NAMES, ALL]
    series: list[Series] = []
    for i, t in enumerate(CHE_THRESHOLDS_PCT):
        points = [(_num(reform.value(f"che.{t}", g)) - _num(baseline.value(f"che.{t}", g))) * 100 for g in groups]
        series.append((f"> {t}% of income", points, CHE_COLOURS[i % len(CHE_COLOURS)]))
    grouped_bars(right, ["Q1", "Q2", "Q3", "Q4", "Q5", "All"], series, "{:+.2f}", skip_zero=True)
    right.axhline(0, color="#1d2733", linewidth=0.8)
    low, high = right.get_ylim()
    pad = max(high - low, 0.01) * 0.2  # room above and below zero for labels, whichever way the change goes
    right.set_ylim(min(low, -pad) - pad, max(high, pad) + pad)
    right.set_ylabel("Change (percentage points)")
    right.set_xlabel("Income quintile")
    right.set_title("Change in catastrophic spending", fontsize=10)
    right.legend(frameon=False, fontsize=8, title="Out of pocket", title_fontsize=8, loc="best")
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"{reform.title} against the baseline")
    fig.tight_layout()
    return html_report.figure(
        fig,
        f"Reform minus baseline. Left: change in each payer's total, in {unit}. "
        "Right: change in catastrophic spending incidence, in percentage points.",
    )


# --- tables ----------------------------------------------------------------------------------------------


def headline_keys(scenarios: Sequence[Scenario]) -> list[tuple[str, str]]:
    """The main figures, for the summary table and the console."""
    keys = [("spending.total", ALL)]
    keys += [("payment.amount", layer) for layer in layer_order(scenarios)]
    keys += [
        ("payment.amount", OUT_OF_POCKET),
        ("reimbursement.rate_total", ALL),
        ("reimbursement.rate_in_policy", ALL),
        ("oop.person_year", "mean"),
        ("oop.person_year", "P99"),
        *[(f"che.{t}", ALL) for t in CHE_THRESHOLDS_PCT],
        (f"che.{CHE_THRESHOLDS_PCT[0]}", "Q1"),
        ("benefit.share", "Q1"),
        ("benefit.share", "Q5"),
    ]
    return keys


def row_label(metric: str, group: str, scenarios: Sequence[Scenario]) -> str:
    if metric.startswith(("payment.", "outlay.")) and group != ALL:
        return f"{label(metric)}: {layer_names(scenarios).get(group, group)}"
    if group == ALL:
        return label(metric)
    if group.startswith("Q"):
        return f"{label(metric)}, quintile {group}"
    return f"{label(metric)}, {group_name(group)}"


def group_name(group: str) -> str:
    """'scheme=urrbmi' -> 'URRBMI residents', 'facility_level=2' -> 'facility level 2', others as they are."""
    dimension, _, key = group.partition("=")
    if dimension == "scheme":
        return SCHEME_NAMES.get(key, key).replace("\n", " ")
    if dimension == "facility_level":
        return f"facility level {key}"
    if dimension == "care_type":
        return f"{key} care"
    return group


def figure_row(scenarios: Sequence[Scenario], metric: str, group: str) -> tuple[Unit, list[Value], list[Value]]:
    """A figure's unit, its value in every scenario, and each reform's change against the first scenario."""
    unit = next((f.unit for s in scenarios for f in s.figures if f.key == (metric, group)), Unit.COUNT)
    values = [s.value(metric, group) for s in scenarios]
    changes = [None if values[0] is None or v is None else v - values[0] for v in values[1:]]
    return unit, values, changes


def comparison_rows(scenarios: Sequence[Scenario], keys: Sequence[tuple[str, str]]) -> list[list[str]]:
    """One row per figure: its value in every scenario and each reform's change against the first."""
    rows = []
    for metric, group in keys:
        unit, values, changes = figure_row(scenarios, metric, group)
        rows.append(
            [
                row_label(metric, group, scenarios),
                *[value_text(unit, v) for v in values],
                *[change_text(unit, c) for c in changes],
            ]
        )
    return rows


def comparison_headers(first: str, scenarios: Sequence[Scenario]) -> list[str]:
    return [first, *[s.title for s in scenarios], *[f"Change: {s.title}" for s in scenarios[1:]]]


def comparison_table(first: str, scenarios: Sequence[Scenario], keys: Sequence[tuple[str, str]]) -> str:
    return html_report.table(comparison_headers(first, scenarios), comparison_rows(scenarios, keys))


def che_table(scenarios: Sequence[Scenario]) -> str:
    che = scenarios[0].metrics.catastrophic
    info = {r["group"]: r for r in che.iter_rows(named=True)}
    headers = ["Quintile", "Income range (yuan)", "Person-years", "Zero income"]
    for s in scenarios:
        headers += [f"> {t}%: {s.title}" for t in CHE_THRESHOLDS_PCT]
    rows = []
    for group in [*QUINTILE_NAMES, ALL]:
        r = info.get(group)
        if r is None:
            continue
        income = f"{value_text(Unit.YUAN, r['lowest_income'])} – {value_text(Unit.YUAN, r['highest_income'])}"
        row = [group, income, value_text(Unit.COUNT, r["person_years"]), value_text(Unit.COUNT, r["zero_income"])]
        for s in scenarios:
            row += [value_text(Unit.SHARE, s.value(f"che.{t}", group)) for t in CHE_THRESHOLDS_PCT]
        rows.append(row)
    return html_report.table(headers, rows)


def outlay_table(scenarios: Sequence[Scenario]) -> str:
    names = layer_names(scenarios)
    headers = ["Layer", "Enrollees"]
    for s in scenarios:
        headers += [f"Per enrollee-year: {s.title}", f"Per capita-year: {s.title}"]
    rows = []
    for layer in layer_order(scenarios):
        row: list[object] = [names[layer], value_text(Unit.COUNT, scenarios[0].value("outlay.enrollees", layer))]
        for s in scenarios:
            row += [
                value_text(Unit.YUAN, s.value("outlay.per_enrollee", layer)),
                value_text(Unit.YUAN, s.value("outlay.per_capita", layer)),
            ]
        rows.append(row)
    return html_report.table(headers, rows)


# --- the page --------------------------------------------------------------------------------------------

METHOD_NOTES = (
    "Population: every person of the persons table in every calendar year that has claims (person-years); "
    "a person without claims counts with zero out-of-pocket spending.",
    "Income quintiles: quintiles of annual income over all persons; equal incomes share a quintile (each person "
    "takes the lowest rank of their income), so quintiles can differ in size when many persons share an income.",
    "Catastrophic health expenditure: yearly out-of-pocket spending strictly above 10% or 25% of annual income "
    "(annual income stands in for the household consumption of SDG 3.8.2). A person with zero income is counted as "
    "catastrophic if they paid anything out of pocket; their number is shown in the table.",
    "Effective reimbursement rate: all layers' payments divided by total spending, or by in-policy spending "
    "(class A plus class B after the first-pay share). Because Huiminbao can pay outside the catalogue, the "
    "in-policy rate can exceed 100% for some groups.",
    "Percentiles are nearest-rank: amounts some person-year actually paid. Money is computed in exact fen and "
    "shown as yuan with two decimals; shares are percentages and their changes percentage points (pp).",
)


def build_page(scenarios: Sequence[Scenario], files: Sequence[str] = ()) -> str:
    baseline = scenarios[0]
    m = baseline.metrics
    intro = html_report.paragraph(
        f"{m.persons:,} persons, {m.claims:,} claims, {m.person_years:,} person-years. Every scenario settles the same "
        f"claims of the same people; only the scheme differs."
    )
    scenario_rows = [[s.title, s.name, " → ".join(s.metrics.layer_ids), s.description or "—"] for s in scenarios]
    sections = [
        html_report.Section(
            "At a glance",
            intro
            + html_report.table(["Scenario", "Name", "Layers in payment order", "What changes"], scenario_rows)
            + comparison_table("Figure", scenarios, headline_keys(scenarios)),
        ),
        html_report.Section(
            "Who pays: payments by layer",
            chart_payment_stack(scenarios)
            + comparison_table(
                "Payer",
                scenarios,
                [("spending.total", ALL), ("payment.all_layers", ALL)]
                + [
                    (k, p)
                    for p in [*layer_order(scenarios), OUT_OF_POCKET]
                    for k in ("payment.amount", "payment.share")
                ],
            ),
        ),
        html_report.Section(
            "Effective reimbursement rates",
            html_report.paragraph(METHOD_NOTES[3])
            + chart_reimbursement(scenarios)
            + comparison_table(
                "Group",
                scenarios,
                [(f"reimbursement.{r}", k) for r in ("rate_total", "rate_in_policy") for k in _rate_keys(baseline)],
            ),
        ),
        html_report.Section(
            "Out-of-pocket distribution",
            chart_oop(scenarios)
            + comparison_table(
                "Person-year out-of-pocket",
                scenarios,
                [("oop.person_year", s) for s in m.oop_percentiles["statistic"].to_list()]
                + [("oop.band_share", b) for b in m.oop_histogram["band"].to_list()],
            ),
        ),
        html_report.Section(
            "Catastrophic health expenditure by income quintile",
            html_report.paragraph(METHOD_NOTES[2]) + chart_che(scenarios) + che_table(scenarios),
        ),
        html_report.Section(
            "Benefit incidence by income quintile",
            chart_benefit(scenarios)
            + comparison_table(
                "Quintile", scenarios, [(k, q) for q in QUINTILE_NAMES for k in ("benefit.paid", "benefit.share")]
            ),
        ),
        html_report.Section(
            "Fund outlays per enrollee",
            html_report.paragraph(
                "Each layer's payments divided by the persons it covers (those meeting its eligibility by scheme, "
                "assistance category and Huiminbao enrolment) per year, and by the whole population."
            )
            + outlay_table(scenarios),
        ),
    ]
    for reform in scenarios[1:]:
        sections.append(
            html_report.Section(
                f"Reform: {reform.title}",
                html_report.paragraph(reform.description or reform.title)
                + chart_deltas(baseline, reform, scenarios)
                + html_report.table(
                    ["Figure", "Baseline", "Reform", "Change", "Relative"],
                    _delta_rows(deltas(baseline.figures, reform.figures), scenarios),
                ),
            )
        )
    notes = "".join(html_report.paragraph(n) for n in METHOD_NOTES)
    if files:
        notes += html_report.paragraph("Files beside this page: " + ", ".join(files) + ".")
    sections.append(html_report.Section("Method and files", notes))
    subtitle = f"{baseline.scheme.title.en} ({baseline.scheme.name}, {baseline.scheme.year}) — baseline and " + (
        ", ".join(s.title for s in scenarios[1:]) or "no reform"
    )
    return html_report.page("yibao policy lab", subtitle, sections)


def _rate_keys(scenario: Scenario) -> list[str]:
    return [
        g if d == ALL else f"{d}={g}"
        for d, g in scenario.metrics.reimbursement.select("dimension", "group").iter_rows()
    ]


def _delta_rows(items: Sequence[Delta], scenarios: Sequence[Scenario]) -> list[list[str]]:
    wanted = {k for k in headline_keys(scenarios)}
    wanted |= {(f"che.{t}", q) for t in CHE_THRESHOLDS_PCT for q in QUINTILE_NAMES}
    wanted |= {("outlay.per_enrollee", layer) for layer in layer_order(scenarios)}
    rows = []
    for d in items:
        if (d.metric, d.group) not in wanted:
            continue
        relative = "—" if d.relative is None or d.unit is Unit.SHARE else f"{d.relative * 100:+.2f}%"
        rows.append(
            [
                row_label(d.metric, d.group, scenarios),
                value_text(d.unit, d.baseline),
                value_text(d.unit, d.reform),
                change_text(d.unit, d.change),
                relative,
            ]
        )
    return rows


# --- files -----------------------------------------------------------------------------------------------


def _plain(unit: Unit, value: Any) -> str:
    return "" if value is None else value_text(unit, value, plain=True)


def _json_value(unit: Unit, value: Any) -> Any:
    """Yuan as an exact decimal string ("1234.50"); shares and counts as JSON numbers."""
    if value is None:
        return None
    return value_text(unit, value, plain=True) if unit is Unit.YUAN else value


def write_figures(scenarios: Sequence[Scenario], out_dir: Path) -> tuple[Path, Path, Path]:
    figures_csv, figures_json, deltas_csv = out_dir / "figures.csv", out_dir / "figures.json", out_dir / "deltas.csv"
    with figures_csv.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["scenario", "metric", "group", "unit", "value"])
        for s in scenarios:
            writer.writerows([s.name, g.metric, g.group, g.unit.value, _plain(g.unit, g.value)] for g in s.figures)
    baseline = scenarios[0]
    all_deltas = [(r, deltas(baseline.figures, r.figures)) for r in scenarios[1:]]
    with deltas_csv.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["reform", "metric", "group", "unit", "baseline", "reform_value", "change", "relative"])
        for reform, items in all_deltas:
            writer.writerows(
                [
                    reform.name,
                    d.metric,
                    d.group,
                    d.unit.value,
                    _plain(d.unit, d.baseline),
                    _plain(d.unit, d.reform),
                    _plain(d.unit, d.change),
                    "" if d.relative is None else f"{d.relative:.6f}",
                ]
                for d in items
            )
    document = {
        "scheme": baseline.scheme.name,
        "year": baseline.scheme.year,
        "units": {"yuan": "exact decimal string, two decimals", "share": "fraction (0.25 = 25%)", "count": "integer"},
        "scenarios": [
            {
                "name": s.name,
                "title": s.title,
                "layers": [{"id": layer.id, "en": layer.name.en, "zh": layer.name.zh} for layer in s.scheme.layers],
                "figures": [
                    {"metric": g.metric, "group": g.group, "unit": g.unit.value, "value": _json_value(g.unit, g.value)}
                    for g in s.figures
                ],
            }
            for s in scenarios
        ],
        "deltas": [
            {
                "reform": r.name,
                "metric": d.metric,
                "group": d.group,
                "unit": d.unit.value,
                "baseline": _json_value(d.unit, d.baseline),
                "reform_value": _json_value(d.unit, d.reform),
                "change": _json_value(d.unit, d.change),
                "relative": d.relative,
            }
            for r, items in all_deltas
            for d in items
        ],
    }
    figures_json.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return figures_csv, figures_json, deltas_csv


def write_report(scenarios: Sequence[Scenario], out_dir: str | Path) -> ReportFiles:
    """report.html with figures.csv, figures.json and deltas.csv beside it; the first scenario is the baseline."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: the lab writes a folder of files; give a folder, not a file", code="input.bad_output")
    out.mkdir(parents=True, exist_ok=True)
    figures_csv, figures_json, deltas_csv = write_figures(scenarios, out)
    html_path = out / "report.html"
    page = build_page(scenarios, [figures_csv.name, figures_json.name, deltas_csv.name])
    html_path.write_text(page, encoding="utf-8")
    return ReportFiles(html_path, figures_csv, figures_json, deltas_csv)
