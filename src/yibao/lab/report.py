"""The policy lab's report: one self-contained HTML page comparing a baseline with reforms, plus its figures.

Charts are inline SVG (yibao.report), so the page opens offline. Beside report.html the same figures are
written as figures.csv / figures.json (every figure of every scenario) and deltas.csv (each reform against
the baseline). Money is shown as yuan with two decimals, shares as percent, changes of shares in points.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yibao import report as html_report
from yibao.core.errors import InputError
from yibao.lab.compare import (
    Delta,
    Unit,
    Value,
    change_text,
    deltas,
    value_text,
)
from yibao.lab.metrics import ALL, CHE_THRESHOLDS_PCT, OUT_OF_POCKET
from yibao.lab.report_charts import (
    QUINTILE_NAMES,
    Scenario,
    chart_benefit,
    chart_che,
    chart_deltas,
    chart_oop,
    chart_payment_stack,
    chart_reimbursement,
    layer_names,
    layer_order,
    scheme_name,
)
from yibao.lab.report_money import fund_keys, group_label, headline_money_keys, money_section
from yibao.lab.report_text import metric_label, tr


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    figures_csv: Path
    figures_json: Path
    deltas_csv: Path

    def all(self) -> list[Path]:
        return [self.html, self.figures_csv, self.figures_json, self.deltas_csv]


# --- tables ----------------------------------------------------------------------------------------------


def headline_keys(scenarios: Sequence[Scenario]) -> list[tuple[str, str]]:
    """The main figures, for the summary table and the console."""
    keys = [("spending.total", ALL)]
    keys += [("payment.amount", layer) for layer in layer_order(scenarios)]
    keys += [
        ("payment.amount", OUT_OF_POCKET),
        *headline_money_keys(scenarios),
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


def row_label(metric: str, group: str, scenarios: Sequence[Scenario], lang: str = "en") -> str:
    name = metric_label(metric, lang)
    sep = "：" if lang == "zh" else ": "
    money_group = group_label(metric, group, scenarios, lang)
    if money_group is not None:
        return f"{name}{sep}{money_group}"
    if metric.startswith(("payment.", "outlay.")) and group != ALL:
        return f"{name}{sep}{layer_names(scenarios, lang).get(group, group)}"
    if group == ALL:
        return name
    if group.startswith("Q"):
        return tr("quintile_of", lang, label=name, q=group)
    return f"{name}{'，' if lang == 'zh' else ', '}{group_name(group, lang)}"


def group_name(group: str, lang: str = "en") -> str:
    """'scheme=urrbmi' -> 'URRBMI residents', 'facility_level=2' -> 'facility level 2', others as they are."""
    dimension, _, key = group.partition("=")
    if dimension == "scheme":
        return scheme_name(key, lang).replace("\n", " ")
    if dimension == "facility_level":
        return tr("facility_level_of", lang, key=key)
    if dimension == "care_type":
        return tr("care_of", lang, key=key)
    return tr(group, lang) if group in ("mean", "median") else group


def figure_row(scenarios: Sequence[Scenario], metric: str, group: str) -> tuple[Unit, list[Value], list[Value]]:
    """A figure's unit, its value in every scenario, and each reform's change against the first scenario."""
    unit = next((f.unit for s in scenarios for f in s.figures if f.key == (metric, group)), Unit.COUNT)
    values = [s.value(metric, group) for s in scenarios]
    changes = [None if values[0] is None or v is None else v - values[0] for v in values[1:]]
    return unit, values, changes


def comparison_rows(
    scenarios: Sequence[Scenario], keys: Sequence[tuple[str, str]], lang: str = "en"
) -> list[list[str]]:
    """One row per figure: its value in every scenario and each reform's change against the first."""
    rows = []
    for metric, group in keys:
        unit, values, changes = figure_row(scenarios, metric, group)
        rows.append(
            [
                row_label(metric, group, scenarios, lang),
                *[value_text(unit, v) for v in values],
                *[change_text(unit, c) for c in changes],
            ]
        )
    return rows


def comparison_headers(first: str, scenarios: Sequence[Scenario], lang: str = "en") -> list[str]:
    """Short scenario names in the headers: the full titles are in the scenarios table, once."""
    return [first, *[s.short(lang) for s in scenarios], *[tr("change_of", lang, name=s.short(lang)) for s in scenarios[1:]]]


def comparison_table(
    first: str, scenarios: Sequence[Scenario], keys: Sequence[tuple[str, str]], lang: str = "en"
) -> str:
    return html_report.table(comparison_headers(first, scenarios, lang), comparison_rows(scenarios, keys, lang))


def che_table(scenarios: Sequence[Scenario], lang: str = "en") -> str:
    che = scenarios[0].metrics.catastrophic
    info = {r["group"]: r for r in che.iter_rows(named=True)}
    headers = [tr("quintile", lang), tr("income_range", lang), tr("person_years", lang), tr("zero_income", lang)]
    for s in scenarios:
        headers += [f"> {t}%: {s.short(lang)}" for t in CHE_THRESHOLDS_PCT]
    rows = []
    for group in [*QUINTILE_NAMES, ALL]:
        r = info.get(group)
        if r is None:
            continue
        income = f"{value_text(Unit.YUAN, r['lowest_income'])} – {value_text(Unit.YUAN, r['highest_income'])}"
        shown = tr("all", lang) if group == ALL else group
        row = [shown, income, value_text(Unit.COUNT, r["person_years"]), value_text(Unit.COUNT, r["zero_income"])]
        for s in scenarios:
            row += [value_text(Unit.SHARE, s.value(f"che.{t}", group)) for t in CHE_THRESHOLDS_PCT]
        rows.append(row)
    return html_report.table(headers, rows)


def outlay_table(scenarios: Sequence[Scenario], lang: str = "en") -> str:
    names = layer_names(scenarios, lang)
    headers = [tr("layer", lang), tr("enrollees", lang)]
    for s in scenarios:
        headers += [tr("per_enrollee", lang, name=s.short(lang)), tr("per_capita", lang, name=s.short(lang))]
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

METHOD_NOTES = ("note_population", "note_quintiles", "note_che", "note_rates", "note_money")


def build_page(scenarios: Sequence[Scenario], files: Sequence[str] = (), lang: str = "en") -> str:
    baseline = scenarios[0]
    m = baseline.metrics
    note = lambda key: html_report.paragraph(tr(key, lang))  # noqa: E731
    intro = html_report.paragraph(
        tr("intro", lang, persons=f"{m.persons:,}", claims=f"{m.claims:,}", person_years=f"{m.person_years:,}")
    )
    scenario_rows = [
        [s.title_in(lang), s.short(lang), " → ".join(s.scheme.layer(i).name.get(lang) for i in s.metrics.layer_ids),
         s.description_in(lang) or "—"]
        for s in scenarios
    ]  # fmt: skip
    headers = [tr("scenario", lang), tr("name", lang), tr("layers_order", lang), tr("what_changes", lang)]
    sections = [
        html_report.Section(
            tr("at_a_glance", lang),
            intro
            + html_report.table(headers, scenario_rows)
            + comparison_table(tr("figure", lang), scenarios, headline_keys(scenarios), lang),
        ),
        html_report.Section(
            tr("who_pays", lang),
            chart_payment_stack(scenarios, lang)
            + comparison_table(
                tr("payer", lang),
                scenarios,
                [("spending.total", ALL), ("payment.all_layers", ALL)]
                + [
                    (k, p)
                    for p in [*layer_order(scenarios), OUT_OF_POCKET]
                    for k in ("payment.amount", "payment.share")
                ],
                lang,
            ),
        ),
        money_section(scenarios, lang),
        html_report.Section(
            tr("rates", lang),
            note("note_rates")
            + chart_reimbursement(scenarios, lang)
            + comparison_table(
                tr("group", lang),
                scenarios,
                [(f"reimbursement.{r}", k) for r in ("rate_total", "rate_in_policy") for k in _rate_keys(baseline)],
                lang,
            ),
        ),
        html_report.Section(
            tr("oop_distribution", lang),
            chart_oop(scenarios, lang)
            + comparison_table(
                tr("oop_first", lang),
                scenarios,
                [("oop.person_year", s) for s in m.oop_percentiles["statistic"].to_list()]
                + [("oop.band_share", b) for b in m.oop_histogram["band"].to_list()],
                lang,
            ),
        ),
        html_report.Section(
            tr("che", lang), note("note_che") + chart_che(scenarios, lang) + che_table(scenarios, lang)
        ),
        html_report.Section(
            tr("benefit", lang),
            chart_benefit(scenarios, lang)
            + comparison_table(
                tr("quintile", lang),
                scenarios,
                [(k, q) for q in QUINTILE_NAMES for k in ("benefit.paid", "benefit.share")],
                lang,
            ),
        ),
        html_report.Section(tr("outlays", lang), note("outlays_note") + outlay_table(scenarios, lang)),
    ]
    for reform in scenarios[1:]:
        sections.append(
            html_report.Section(
                tr("reform", lang, title=reform.title_in(lang)),
                html_report.paragraph(reform.description_in(lang) or reform.title_in(lang))
                + chart_deltas(baseline, reform, scenarios, lang)
                + html_report.table(
                    [tr("figure", lang), tr("baseline", lang), tr("reform_col", lang), tr("change", lang),
                     tr("relative", lang)],
                    _delta_rows(deltas(baseline.figures, reform.figures), scenarios, lang),
                ),
            )
        )
    notes = "".join(note(key) for key in METHOD_NOTES)
    if files:
        notes += html_report.paragraph(tr("files", lang, files=", ".join(files)))
    sections.append(html_report.Section(tr("method", lang), notes))
    scheme = baseline.scheme
    subtitle = tr(
        "subtitle", lang, scheme=scheme.title.get(lang), name=scheme.name, year=scheme.year,
        reforms=", ".join(s.title_in(lang) for s in scenarios[1:]) or tr("no_reform", lang),
    )  # fmt: skip
    return html_report.page(tr("page_title", lang), subtitle, sections, lang)


def _rate_keys(scenario: Scenario) -> list[str]:
    return [
        g if d == ALL else f"{d}={g}"
        for d, g in scenario.metrics.reimbursement.select("dimension", "group").iter_rows()
    ]


def _delta_rows(items: Sequence[Delta], scenarios: Sequence[Scenario], lang: str = "en") -> list[list[str]]:
    wanted = {k for k in headline_keys(scenarios)}
    wanted |= {(f"che.{t}", q) for t in CHE_THRESHOLDS_PCT for q in QUINTILE_NAMES}
    wanted |= {("outlay.per_enrollee", layer) for layer in layer_order(scenarios)}
    wanted |= {("fund.result", fund) for fund in fund_keys(scenarios)}
    rows = []
    for d in items:
        if (d.metric, d.group) not in wanted:
            continue
        relative = "—" if d.relative is None or d.unit is Unit.SHARE else f"{d.relative * 100:+.2f}%"
        rows.append(
            [
                row_label(d.metric, d.group, scenarios, lang),
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


def write_report(scenarios: Sequence[Scenario], out_dir: str | Path, lang: str = "en") -> ReportFiles:
    """report.html (in Chinese with `lang="zh"`) with figures.csv, figures.json and deltas.csv beside it;
    the first scenario is the baseline."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: the lab writes a folder of files; give a folder, not a file", code="input.bad_output")
    out.mkdir(parents=True, exist_ok=True)
    figures_csv, figures_json, deltas_csv = write_figures(scenarios, out)
    html_path = out / "report.html"
    page = build_page(scenarios, [figures_csv.name, figures_json.name, deltas_csv.name], lang)
    html_path.write_text(page, encoding="utf-8")
    return ReportFiles(html_path, figures_csv, figures_json, deltas_csv)
