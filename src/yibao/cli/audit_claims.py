"""`yibao audit claims`: rank claims and facilities for review (docs/audit.md, "Claim screening")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from yibao.cli.console import terminal
from yibao.cli.ops import DatabaseUrl
from yibao.core.errors import InputError


class LangChoice(StrEnum):
    en = "en"
    zh = "zh"


def register(audit_app: typer.Typer) -> None:
    audit_app.command("claims")(claims)


# Texts of the summary, (en, zh-CN).
TEXTS = {
    "title": ("{claims:,} claims screened → {out}", "已筛查 {claims:,} 条结算 → {out}"),
    "reason": ("reason", "原因"),
    "code": ("code", "代码"),
    "flagged": ("flagged", "标记数"),
    "truth": ("injected", "注入数"),
    "precision": ("precision", "精确率"),
    "recall": ("recall", "召回率"),
    "facilities": (
        "facilities profiled: {n:,}, outliers: {outliers:,}",
        "已画像医疗机构 {n:,} 家，异常 {outliers:,} 家",
    ),
    "auprc": ("facility model AUPRC: {auprc}", "医疗机构模型 AUPRC：{auprc}"),
    "not_run": ("not checked", "未检查"),
    "db": (
        "{run}: {screened:,} settled claims screened, {found:,} flags, {loaded:,} new in the review queue",
        "{run}：已筛查 {screened:,} 条已结算记录，标记 {found:,} 条，新进入复核队列 {loaded:,} 条",
    ),
    "no_discharge_date": (
        "no discharge_date column: overlapping stays not checked",
        "无 discharge_date 列：未检查住院重叠",
    ),
    "no_facility_id": (
        "no facility_id column: duplicates compared within region and facility level; facilities not profiled",
        "无 facility_id 列：按地区和医院级别比对重复结算；未做医疗机构画像",
    ),
}


def claims(
    persons: Annotated[
        Path | None,
        typer.Option(help="Persons table, CSV or Parquet (optional cover_from, cover_until, death_date)."),
    ] = None,
    claims: Annotated[
        Path | None, typer.Option(help="Claims table, CSV or Parquet (optional facility_id, discharge_date).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for claims.csv and facilities.csv (and metrics.csv).")
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Folder with truth_claims.csv and truth_facilities.csv (`yibao synth --anomalies`): "
            "report precision, recall and AUPRC."
        ),
    ] = None,
    db: Annotated[
        bool,
        typer.Option(
            "--db",
            help="Screen the operations store's settled claims of --from..--to and load the flags "
            "into its review queue (the nightly job), instead of files.",
        ),
    ] = False,
    start: Annotated[
        dt.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="With --db: first service day.")
    ] = None,
    end: Annotated[
        dt.datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="With --db: last service day (default --from)."),
    ] = None,
    database_url: DatabaseUrl = None,
    near_share_bp: Annotated[
        int, typer.Option(min=0, help="Near duplicate: totals within this many basis points of the larger.")
    ] = 200,
    near_min_fen: Annotated[int, typer.Option(min=0, help="Near duplicate: or within this many fen.")] = 100,
    z_threshold: Annotated[
        float, typer.Option(min=0.0, help="Robust z-score from which an amount is implausible.")
    ] = 3.5,
    min_peer_claims: Annotated[int, typer.Option(min=2, help="Smallest peer group scored.")] = 30,
    lang: Annotated[LangChoice, typer.Option(help="Language of the summary.")] = LangChoice.en,
) -> None:
    """Flag duplicate bills, overlapping stays, bills outside cover and implausible amounts; rank facilities."""
    from rich.table import Table

    from yibao.audit.screening import REASON_LABELS, Reason, ScreeningParameters
    from yibao.audit.screening_job import run_screening

    console = terminal(stderr=True)
    zh = lang is LangChoice.zh

    def text(key: str, **values: object) -> str:
        return TEXTS[key][1 if zh else 0].format(**values)

    params = ScreeningParameters(near_share_bp, near_min_fen, z_threshold, min_peer_claims)
    if db:
        if start is None:
            raise InputError("--db needs --from YYYY-MM-DD (and optionally --to)", code="input.bad_option")
        _screen_store(start.date(), (end or start).date(), database_url, params, text)
        return
    if persons is None or claims is None or out is None:
        raise InputError("give --persons, --claims and --out (or --db --from DAY)", code="input.bad_option")
    with console.status("screening") as status:
        result = run_screening(persons, claims, out, params, truth=truth, on_step=status.update)
    table = Table(title=text("title", claims=result.claims, out=out))
    for key in ("code", "reason", "flagged", *(("truth", "precision", "recall") if result.metrics is not None else ())):
        table.add_column(text(key), justify="left" if key in ("code", "reason") else "right")
    counts = dict(result.flags.group_by("reason").len().iter_rows())
    metrics = {} if result.metrics is None else {row["reason"]: row for row in result.metrics.iter_rows(named=True)}
    for reason in Reason:
        label = REASON_LABELS[reason][1 if zh else 0]
        flagged = f"{counts.get(reason.value, 0):,}" if reason in result.rules_run else text("not_run")
        row = [reason.value, label, flagged]
        if reason.value in metrics:
            m = metrics[reason.value]
            row += [f"{m['truth']:,}", _ratio(m["precision"]), _ratio(m["recall"])]
        elif result.metrics is not None:
            row += ["", "", ""]
        table.add_row(*row)
    terminal().print(table)
    if result.facilities.height:
        outliers = int(result.facilities["outlier"].fill_null(False).sum())
        console.print(text("facilities", n=result.facilities.height, outliers=outliers))
    if result.metrics is not None:
        console.print(text("auprc", auprc=_ratio(result.auprc)))
    for note in result.notes:
        console.print(f"[dim]{text(note)}[/]")


def _screen_store(
    start: dt.date, end: dt.date, database_url: str | None, params: object, text: Callable[..., str]
) -> None:
    import getpass

    from yibao.audit.screening import ScreeningParameters
    from yibao.ops.audit import Actor
    from yibao.ops.review_queue import screen_store
    from yibao.ops.store import Store

    assert isinstance(params, ScreeningParameters)
    store = Store.open(database_url)
    try:
        with store.transaction() as session:
            result = screen_store(session, Actor(f"cli:{getpass.getuser()}", "officer"), start, end, params)
    finally:
        store.engine.dispose()
    terminal().print(text("db", run=result.run, screened=result.screened, found=result.found, loaded=result.loaded))


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
