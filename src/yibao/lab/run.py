"""Run the policy lab: settle the baseline and each reform on the same population, measure, report.

Each reform is its own scenario (baseline + that reform); list a reform file that combines several
changes to study them together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from yibao.core.scheme import Scheme
from yibao.lab.compare import Value, change_text, value_text
from yibao.lab.metrics import compute, layer_enrollees
from yibao.lab.report import (
    ReportFiles,
    Scenario,
    figure_row,
    headline_keys,
    row_label,
    write_report,
)
from yibao.lab.revenue import contribution_rules, money_in
from yibao.schemes import load_scheme, reform_path
from yibao.schemes.reform import Reform

Settle = Callable[[Scheme, pl.DataFrame, pl.DataFrame], pl.DataFrame]
BASELINE = "baseline"


@dataclass(frozen=True)
class LabRun:
    scenarios: tuple[Scenario, ...]
    files: ReportFiles

    @property
    def report(self) -> Path:
        return self.files.html


def batch_settle(engine: str = "batch", scheduler: str | None = None) -> Settle:
    """The table settlement of yibao.engine with the chosen engine (imported only when used)."""

    def settle(scheme: Scheme, persons: pl.DataFrame, claims: pl.DataFrame) -> pl.DataFrame:
        from yibao.engine import settle_frame

        return settle_frame(scheme, persons, claims, engine=engine, scheduler=scheduler)  # type: ignore[arg-type]

    return settle


def _scenario_name(reform: Reform, taken: set[str]) -> str:
    name, n = reform.name, 2
    while name in taken:
        name, n = f"{reform.name}-{n}", n + 1
    taken.add(name)
    return name


def run_lab(
    scheme_name: str | Path,
    reforms: Sequence[str | Path],
    persons: pl.DataFrame,
    claims: pl.DataFrame,
    out_dir: str | Path,
    settle: Settle | None = None,
    on_settled: Callable[[str], None] | None = None,
    lang: str | None = None,
) -> LabRun:
    """Settle baseline and each reform over the same normalised persons and claims; write the report.

    `settle` defaults to the batch engine; `on_settled(scenario_title)` is called after each settlement
    (for a progress bar). The report is in `lang` ("zh" or "en"), by default the scheme's locale.
    """
    settle = settle or batch_settle()
    base_scheme = load_scheme(scheme_name)
    plans: list[tuple[str, str, str, Scheme, str, str]] = [
        (BASELINE, "Baseline", "基线", base_scheme, base_scheme.description, base_scheme.description_zh)
    ]
    taken = {BASELINE}
    for ref in reforms:
        reform = Reform.read(reform_path(ref))
        scheme = load_scheme(scheme_name, [ref])
        plans.append((
            _scenario_name(reform, taken), reform.title.en, reform.title.zh, scheme, reform.description,
            reform.description_zh,
        ))  # fmt: skip
    rules = contribution_rules(scheme_name, base_scheme.region, base_scheme.year)
    scenarios = []
    for name, title, title_zh, scheme, description, description_zh in plans:
        settled = settle(scheme, persons, claims)
        metrics = compute(persons, settled, scheme.layer_ids, layer_enrollees(scheme, persons))
        money = money_in(scheme, persons, settled, rules)
        scenarios.append(Scenario(name, title, scheme, metrics, description, title_zh, description_zh, money))
        if on_settled is not None:
            on_settled(title)
    files = write_report(scenarios, out_dir, lang or base_scheme.lang)
    return LabRun(tuple(scenarios), files)


def summary_table(scenarios: Sequence[Scenario]) -> Table:
    """The main figures, baseline against each reform, as a Rich table (for `make demo` and the CLI)."""
    caption = "; ".join(f"{s.name}: {s.title}" for s in scenarios)
    table = Table(title="Policy lab: baseline against reform", title_justify="left", caption=caption)
    headers = ["Figure", *[s.name for s in scenarios], *[f"change: {s.name}" for s in scenarios[1:]]]
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right", overflow="fold")
    for metric, group in headline_keys(scenarios):
        unit, values, changes = figure_row(scenarios, metric, group)
        cells = [value_text(unit, v) for v in values]
        for change in changes:
            text = change_text(unit, change)
            good = _is_improvement(metric, group, change)
            cells.append(text if good is None else f"[{'green' if good else 'red'}]{text}[/]")
        table.add_row(row_label(metric, group, scenarios), *cells)
    return table


def _is_improvement(metric: str, group: str, change: Value) -> bool | None:
    """For colour only: less out of pocket and less catastrophic spending are better for families."""
    if not change:
        return None
    if metric.startswith(("che.", "oop.")) or (metric == "payment.amount" and group == "out_of_pocket"):
        return change < 0
    return None


def print_summary(run: LabRun, console: Console | None = None) -> None:
    console = console or Console()
    console.print(summary_table(run.scenarios))
    console.print(
        f"Report: [bold]{run.report.resolve()}[/]  (figures: {run.files.figures_csv.name}, "
        f"{run.files.figures_json.name}, {run.files.deltas_csv.name})"
    )
