"""The policy lab report's charts (matplotlib, inline SVG) and the scenario they are drawn from.

Each chart takes the scenarios (the first is the baseline) and the report's language, "zh" or "en".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from yibao import report as html_report
from yibao.core.money import FEN_PER_YUAN
from yibao.core.scheme import Scheme
from yibao.lab.compare import Figure, figure_value, figures
from yibao.lab.metrics import ALL, CHE_THRESHOLDS_PCT, OUT_OF_POCKET, QUINTILES, LabMetrics
from yibao.lab.report_text import tr
from yibao.lab.revenue import MoneyIn, money_figures

OOP_COLOUR = "#aab4be"
SCENARIO_COLOURS = ("#1b3a57", "#e07b39", "#3a9d5d", "#8e6bbf", "#c0392b", "#17becf", "#8c564b", "#bcbd22")
CHE_COLOURS = ("#e6a29b", "#922b21")  # mild and severe catastrophic spending
QUINTILE_NAMES = [f"Q{q}" for q in range(1, QUINTILES + 1)]
Series = tuple[str, Sequence[float], str]  # label, values, colour
SMALL_SHARE = 0.10  # layers paying less than this share of spending get the enlarged panel of "who pays"


@dataclass(frozen=True)
class Scenario:
    """A scheme (the baseline, or the baseline with one reform) settled over the lab's population."""

    name: str
    title: str
    scheme: Scheme
    metrics: LabMetrics
    description: str = ""
    title_zh: str = ""
    description_zh: str = ""
    money: MoneyIn | None = None  # the revenue side (yibao.lab.revenue), when the scheme has contribution rules

    def description_in(self, lang: str) -> str:
        return self.description_zh if lang == "zh" and self.description_zh else self.description

    def title_in(self, lang: str) -> str:
        if lang != "zh":
            return self.title
        return self.title_zh or (tr("baseline", lang) if self.name == "baseline" else self.title)

    def short(self, lang: str) -> str:
        """The name in table headers and legends (the full title is given once, in the scenarios table)."""
        return tr("baseline_short", lang) if self.name == "baseline" else self.name

    @cached_property
    def figures(self) -> list[Figure]:
        return figures(self.metrics) + money_figures(self.money)

    def value(self, metric: str, group: str = ALL) -> Any:
        return figure_value(self.figures, metric, group)


# --- helpers shared by the charts ------------------------------------------------------------------------


def layer_order(scenarios: Sequence[Scenario]) -> list[str]:
    """Every layer id of any scenario, in payment order of first appearance."""
    seen: list[str] = []
    for s in scenarios:
        seen += [layer for layer in s.metrics.layer_ids if layer not in seen]
    return seen


def layer_names(scenarios: Sequence[Scenario], lang: str = "en") -> dict[str, str]:
    names = {OUT_OF_POCKET: tr("out_of_pocket", lang)}
    for s in scenarios:
        for layer in s.scheme.layers:
            names.setdefault(layer.id, layer.name.get(lang))
    return names


def layer_colours(scenarios: Sequence[Scenario]) -> dict[str, str]:
    """One colour per layer in every chart; out of pocket is always grey."""
    colours = {
        layer: html_report.PALETTE[i % len(html_report.PALETTE)] for i, layer in enumerate(layer_order(scenarios))
    }
    colours[OUT_OF_POCKET] = OOP_COLOUR
    return colours


def money_scale(max_fen: float, lang: str = "en") -> tuple[float, str]:
    """Fen per axis unit and the unit's name, so that axes read in yuan, thousand or million yuan."""
    yuan = max_fen / FEN_PER_YUAN
    if yuan >= 1e6:
        return 1e6 * FEN_PER_YUAN, tr("million_yuan", lang)
    if yuan >= 1e4:
        return 1e3 * FEN_PER_YUAN, tr("thousand_yuan", lang)
    return float(FEN_PER_YUAN), tr("yuan", lang)


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


def scenario_series(scenarios: Sequence[Scenario], values: Any, scale: float = 1.0, lang: str = "en") -> list[Series]:
    return [
        (s.short(lang), [_num(v) / scale for v in values(s)], SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)])
        for i, s in enumerate(scenarios)
    ]


def _percent_axis(ax: Any, label_text: str) -> None:
    ax.set_ylabel(label_text)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0f}%")


def scheme_name(key: str, lang: str) -> str:
    return tr(f"scheme_{key}", lang) if f"scheme_{key}" in _SCHEME_KEYS else key


_SCHEME_KEYS = {"scheme_urrbmi", "scheme_uebmi_employee", "scheme_uebmi_retiree"}


# --- charts ----------------------------------------------------------------------------------------------


def chart_payment_stack(scenarios: Sequence[Scenario], lang: str = "en") -> str:
    """Stacked payments by payer, and beside them the small layers on their own scale (slivers in the stack)."""
    layers = [*layer_order(scenarios), OUT_OF_POCKET]
    names, colours = layer_names(scenarios, lang), layer_colours(scenarios)
    biggest = max(_num(s.value("spending.total")) for s in scenarios)
    scale, unit = money_scale(biggest, lang)
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(10, 4.4), gridspec_kw={"width_ratios": [3, 2]})
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
    ax.set_xticks(x, [s.short(lang) for s in scenarios])
    ax.set_ylabel(tr("spending_axis", lang, unit=unit))
    ax.legend(title=tr("stack_legend", lang), loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3,
              frameon=False, fontsize=8, title_fontsize=8)  # fmt: skip
    small = [
        layer for layer in layer_order(scenarios)
        if max(_num(s.value("payment.share", layer)) for s in scenarios) < SMALL_SHARE
    ]  # fmt: skip
    if small:
        zoom_biggest = max(_num(s.value("payment.amount", layer)) for s in scenarios for layer in small)
        zoom_scale, zoom_unit = money_scale(zoom_biggest or 1.0, lang)
        series = [
            (s.short(lang), [_num(s.value("payment.amount", layer)) / zoom_scale for layer in small],
             SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)])
            for i, s in enumerate(scenarios)
        ]  # fmt: skip
        grouped_bars(zoom, [names[layer].replace(" ", "\n", 1) for layer in small], series, "{:,.2f}")
        zoom.set_ylabel(tr("spending_axis", lang, unit=zoom_unit))
        zoom.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
        zoom.set_title(tr("small_layers", lang), fontsize=10)
    else:
        zoom.set_visible(False)
    for axis in (ax, zoom):
        axis.spines[["top", "right"]].set_visible(False)
    fig.suptitle(tr("stack_title", lang))
    fig.tight_layout()
    return html_report.figure(fig, tr("stack_caption", lang, unit=unit))


def chart_reimbursement(scenarios: Sequence[Scenario], lang: str = "en") -> str:
    first = scenarios[0].metrics.reimbursement
    groups = [
        (d, g) for d, g in first.select("dimension", "group").iter_rows() if d in (ALL, "scheme", "facility_level")
    ]
    keys = [g if d == ALL else f"{d}={g}" for d, g in groups]
    names = [
        tr("all_claims", lang) if d == ALL else scheme_name(g, lang) if d == "scheme" else tr("facility_level", lang, g=g)
        for d, g in groups
    ]
    fig, axes = plt.subplots(2, 1, figsize=(9, 6.4), sharex=True)
    for ax, rate, title in (
        (axes[0], "rate_total", tr("rate_total_title", lang)),
        (axes[1], "rate_in_policy", tr("rate_in_policy_title", lang)),
    ):
        series = scenario_series(
            scenarios, lambda s, r=rate: [s.value(f"reimbursement.{r}", k) for k in keys], 0.01, lang
        )
        grouped_bars(ax, names, series, "{:.1f}")
        _percent_axis(ax, tr("rate_axis", lang))
        ax.set_title(title, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
    axes[1].set_xlabel(tr("rate_xlabel", lang))
    fig.suptitle(tr("rate_suptitle", lang))
    figure_legend(fig, axes[0], top=0.9)
    return html_report.figure(fig, tr("rate_caption", lang))


def chart_oop(scenarios: Sequence[Scenario], lang: str = "en") -> str:
    first = scenarios[0].metrics
    bands = first.oop_histogram["band"].to_list()
    stats = [s for s in first.oop_percentiles["statistic"].to_list() if s.startswith("P")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 2]})
    grouped_bars(
        left, bands,
        scenario_series(scenarios, lambda s: [s.value("oop.band_share", b) for b in bands], 0.01, lang), "{:.1f}",
    )  # fmt: skip
    _percent_axis(left, tr("share_person_years", lang))
    left.set_xlabel(tr("oop_band_xlabel", lang))
    left.set_title(tr("oop_band_title", lang), fontsize=10)
    left.tick_params(axis="x", labelrotation=30)
    biggest = max(_num(s.value("oop.person_year", stats[-1])) for s in scenarios)
    scale, unit = money_scale(biggest, lang)
    series = scenario_series(scenarios, lambda s: [s.value("oop.person_year", p) for p in stats], scale, lang)
    grouped_bars(right, stats, series, "{:,.1f}" if scale != FEN_PER_YUAN else "{:,.0f}")
    right.set_ylabel(tr("oop_axis", lang, unit=unit))
    right.set_xlabel(tr("percentile_xlabel", lang))
    right.set_title(tr("heavy_tail", lang), fontsize=10)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(tr("oop_suptitle", lang))
    figure_legend(fig, left)
    return html_report.figure(fig, tr("oop_caption", lang))


def _quintile_ticks(lang: str) -> list[str]:
    return [tr("q1_poorest", lang), "Q2", "Q3", "Q4", tr("q5_richest", lang), tr("all", lang)]


def chart_che(scenarios: Sequence[Scenario], lang: str = "en") -> str:
    groups = [*QUINTILE_NAMES, ALL]
    fig, axes = plt.subplots(1, len(CHE_THRESHOLDS_PCT), figsize=(10, 3.9), sharey=True)
    for ax, t in zip(axes, CHE_THRESHOLDS_PCT, strict=True):
        series = scenario_series(scenarios, lambda s, t=t: [s.value(f"che.{t}", g) for g in groups], 0.01, lang)
        grouped_bars(ax, _quintile_ticks(lang), series, "{:.1f}")
        ax.set_title(tr("che_panel", lang, t=t), fontsize=10)
        ax.set_xlabel(tr("income_quintile", lang))
        ax.spines[["top", "right"]].set_visible(False)
    _percent_axis(axes[0], tr("share_person_years", lang))
    fig.suptitle(tr("che_suptitle", lang))
    figure_legend(fig, axes[0])
    return html_report.figure(fig, tr("che_caption", lang))


def chart_benefit(scenarios: Sequence[Scenario], lang: str = "en") -> str:
    names = [n.replace("\n", " ") for n in _quintile_ticks(lang)[:-1]]
    fig, ax = html_report.new_figure(8.5, 3.8)
    series = scenario_series(scenarios, lambda s: [s.value("benefit.share", q) for q in QUINTILE_NAMES], 0.01, lang)
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
        label=tr("population_share", lang),
    )
    _percent_axis(ax, tr("benefit_axis", lang))
    ax.set_xlabel(tr("income_quintile", lang))
    ax.set_title(tr("benefit_title", lang))
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return html_report.figure(fig, tr("benefit_caption", lang))


def chart_deltas(baseline: Scenario, reform: Scenario, scenarios: Sequence[Scenario], lang: str = "en") -> str:
    payers = [*layer_order(scenarios), OUT_OF_POCKET]
    names, colours = layer_names(scenarios, lang), layer_colours(scenarios)
    changes = [_num(reform.value("payment.amount", p)) - _num(baseline.value("payment.amount", p)) for p in payers]
    changes = [0.0 if np.isnan(c) else c for c in changes]
    scale, unit = money_scale(max(abs(c) for c in changes) or 1.0, lang)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.9), gridspec_kw={"width_ratios": [1, 1]})
    y = np.arange(len(payers))
    bars = left.barh(y, [c / scale for c in changes], color=[colours[p] for p in payers])
    left.bar_label(bars, labels=[f"{c / scale:+,.2f}" for c in changes], fontsize=8, padding=3)
    left.set_yticks(y, [names[p] for p in payers])
    left.invert_yaxis()
    left.axvline(0, color="#1d2733", linewidth=0.8)
    left.set_xlabel(tr("change_payments", lang, unit=unit))
    left.set_title(tr("change_who_pays", lang), fontsize=10)
    left.margins(x=0.25)
    groups = [*QUINTILE_NAMES, ALL]
    series: list[Series] = []
    for i, t in enumerate(CHE_THRESHOLDS_PCT):
        points = [(_num(reform.value(f"che.{t}", g)) - _num(baseline.value(f"che.{t}", g))) * 100 for g in groups]
        series.append((tr("above_income", lang, t=t), points, CHE_COLOURS[i % len(CHE_COLOURS)]))
    grouped_bars(right, ["Q1", "Q2", "Q3", "Q4", "Q5", tr("all", lang)], series, "{:+.2f}", skip_zero=True)
    right.axhline(0, color="#1d2733", linewidth=0.8)
    low, high = right.get_ylim()
    pad = max(high - low, 0.01) * 0.2  # room above and below zero for labels, whichever way the change goes
    right.set_ylim(min(low, -pad) - pad, max(high, pad) + pad)
    right.set_ylabel(tr("change_pp", lang))
    right.set_xlabel(tr("income_quintile", lang))
    right.set_title(tr("change_che", lang), fontsize=10)
    right.legend(frameon=False, fontsize=8, title=tr("out_of_pocket", lang), title_fontsize=8,
                 loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)  # fmt: skip
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(tr("against_baseline", lang, reform=reform.short(lang)))
    fig.tight_layout()
    return html_report.figure(fig, tr("delta_caption", lang, unit=unit))


