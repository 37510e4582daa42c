"""`yibao mutual-aid ...`: plans, apportionment of a period, public disclosure, and the pool simulator.

`apportion` and `disclose` work on files (members Parquet, cases CSV) or, with `--db`, on the
operations store; the day-to-day platform commands over the store (join, claim ..., vote, ...)
are in yibao.cli.mutual_aid_ops.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.options import Lang, LangOption, input_file, output_folder

if TYPE_CHECKING:
    from yibao.mutual_aid.apportion import ApportionmentSummary
    from yibao.mutual_aid.simulate import SimulationResult

mutual_aid_app = typer.Typer(
    help="Online mutual aid (网络互助, Xiang Hu Bao as reference): plans, apportionment, disclosure, simulator.",
    no_args_is_help=True,
)

PlanOption = Annotated[str, typer.Option(help="Built-in plan name (e.g. xianghubao-2020, xianghubao-2020/senior) or file.")]


def register(app: typer.Typer) -> None:
    from yibao.cli import mutual_aid_closure, mutual_aid_ops

    mutual_aid_ops.register(mutual_aid_app)
    mutual_aid_closure.register(mutual_aid_app)
    app.add_typer(mutual_aid_app, name="mutual-aid")


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


@mutual_aid_app.command("plans")
def plans() -> None:
    """List the built-in plans and their main figures."""
    from yibao.core.money import format_rate, format_yuan
    from yibao.mutual_aid.plan import builtin_plans, load_plan, plan_variants

    table = Table(title="Built-in mutual-aid plans")
    table.add_column("plan", no_wrap=True, min_width=22)
    for col in ("ages", "waiting", "payouts (yuan)", "fee", "caps (case / year)", "notice → deduction"):
        table.add_column(col)
    for name in builtin_plans():
        for plan in [load_plan(name)] + [load_plan(name, v) for v in plan_variants(name)]:
            payouts = ", ".join(f"{b.min_age}–{b.max_age}: {format_yuan(b.amount)}" for b in plan.payouts)
            calendar = ", ".join(f"{n}→{d}" for n, d in zip(plan.notice_days, plan.deduction_days, strict=True))
            table.add_row(plan.name, f"{plan.min_age.value} {plan.min_age.unit.value} – {plan.max_age} years",
                          f"{plan.waiting_days} d", payouts, format_rate(plan.fee_rate),
                          f"{format_yuan(plan.case_cap)} / {format_yuan(plan.year_cap)}", calendar)
    terminal().print(table)


Db = Annotated[bool, typer.Option("--db", help="Work on the operations store (--database-url / YIBAO_DATABASE_URL) "
                                                "instead of files.")]


def _refuse_given(options: dict[str, object], why: str) -> None:
    from yibao.core.errors import InputError

    given = [name for name, value in options.items() if value is not None]
    if given:
        raise InputError(f"{', '.join(given)}: {why}", code="cli.conflicting_options")


def _require(options: dict[str, object], why: str) -> None:
    from yibao.core.errors import InputError

    missing = [name for name, value in options.items() if value is None]
    if missing:
        raise InputError(f"give {', '.join(missing)} {why}", code="cli.missing_options")


def _notice_day(notice_date: str) -> dt.date:
    from yibao.core.errors import InputError

    try:
        return dt.date.fromisoformat(notice_date)
    except ValueError as exc:
        raise InputError(str(exc), column="--notice-date") from None


@mutual_aid_app.command("apportion")
def apportion(
    notice_date: Annotated[str, typer.Option(help="The period's public notice day (YYYY-MM-DD), e.g. 2020-04-21.")],
    members: Annotated[Path | None, typer.Option(
        help="Members Parquet: member_id, protection_start (date), charged_this_year (yuan).")] = None,
    cases: Annotated[Path | None, typer.Option(
        help="Approved cases CSV/Parquet: case_id, member_name, age, illness_code, diagnosis_date, aid.")] = None,
    out: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Folder for charges/ (Parquet dataset), summary.json and the public notice.")] = None,
    plan: PlanOption = "xianghubao-2020",
    surplus_in: Annotated[str | None, typer.Option(
        help="Surplus carried from the last period, yuan (negative: shortfall); files only (the store carries the pool).")] = None,
    db: Db = False,
    database_url: Annotated[str | None, typer.Option(envvar="YIBAO_DATABASE_URL", help="SQLAlchemy URL (with --db).")] = None,
    data_dir: Annotated[Path, typer.Option(envvar="YIBAO_DATA_DIR", help="With --db: folder of the charges datasets.")] = Path("yibao-data"),
    lang: LangOption = Lang.zh,
) -> None:
    """Apportion one period: per-member charges (Parquet dataset), a summary record and the public disclosure.

    From files (--members, --cases, --out), or with --db from the store: the plan's members at the notice
    cut-off and its claims on notice, posted to the ledger (idempotent per period)."""
    from yibao.core.errors import InputError
    from yibao.mutual_aid.apportion import apportion_period
    from yibao.mutual_aid.calendar import period_of
    from yibao.mutual_aid.disclosure import Disclosure
    from yibao.mutual_aid.files import parse_signed_yuan, read_cases, read_members, write_charges, write_summary
    from yibao.mutual_aid.plan import load_plan

    if db:
        _refuse_given({"--members": members, "--cases": cases, "--out": out, "--surplus-in": surplus_in},
                      "not with --db (the store has the members, the claims and the pool's surplus)")
        from yibao.cli.mutual_aid_ops import apportion_in_store

        _print_summary(apportion_in_store(database_url, plan, _notice_day(notice_date), data_dir))
        return
    _require({"--members": members, "--cases": cases, "--out": out}, "(files), or --db (the operations store)")
    assert members is not None and cases is not None and out is not None
    output_folder(out, create=False)
    input_file(cases, "--cases")
    out = output_folder(out)
    the_plan = load_plan(plan)
    try:
        period = period_of(the_plan, _notice_day(notice_date))
        carried = parse_signed_yuan(surplus_in or "0")
    except ValueError as exc:
        raise InputError(str(exc), column="--notice-date/--surplus-in") from None
    console = terminal(stderr=True)
    with _progress(console) as progress:
        task = progress.add_task("reading members and cases", total=4)
        columns = read_members(members)
        approved = read_cases(cases, the_plan)
        progress.update(task, advance=1, description=f"apportioning over {len(columns):,} members")
        result = apportion_period(the_plan, period, approved, columns, surplus_in=carried)
        progress.update(task, advance=1, description="writing the per-member charges")
        write_charges(out / "charges", columns.member_id, result.charges)
        progress.update(task, advance=1, description="writing the summary and the public notice")
        write_summary(out / "summary.json", result.summary)
        public = Disclosure(result.summary, tuple(approved)).write(out / "public", lang.value)
        progress.update(task, advance=1)
    _print_summary(result.summary)
    console.print(f"charges: {out / 'charges'}  summary: {out / 'summary.json'}  notice: {public[-1]}")


def _print_summary(summary: ApportionmentSummary) -> None:
    from yibao.mutual_aid.disclosure import Disclosure

    totals = Disclosure(summary, ()).totals()
    table = Table(title=f"Period {totals['notice_date']} ({totals['plan']})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in totals.items():
        table.add_row(key.replace("_", " "), value)
    terminal().print(table)


@mutual_aid_app.command("disclose")
def disclose(
    summary: Annotated[Path | None, typer.Option(help="summary.json written by `apportion`.")] = None,
    cases: Annotated[Path | None, typer.Option(help="The period's approved cases (the file given to `apportion`).")] = None,
    out: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Folder for disclosure-<date>.json/.csv/.html (optional with --db).")] = None,
    plan: PlanOption = "xianghubao-2020",
    notice_date: Annotated[str | None, typer.Option(help="With --db: the period's notice day.")] = None,
    db: Db = False,
    database_url: Annotated[str | None, typer.Option(envvar="YIBAO_DATABASE_URL", help="SQLAlchemy URL (with --db).")] = None,
    lang: LangOption = Lang.zh,
) -> None:
    """Write a period's public disclosure (cases with masked identity, amounts, members, per-member charge).

    With --db: publish the apportioned period's disclosure in the store (members and the API then see it),
    and write the files too when --out is given."""
    from yibao.core.errors import InputError
    from yibao.mutual_aid.disclosure import Disclosure
    from yibao.mutual_aid.files import read_cases, read_summary
    from yibao.mutual_aid.plan import load_plan

    if db:
        from yibao.cli.mutual_aid_ops import disclose_from_store

        _refuse_given({"--summary": summary, "--cases": cases}, "not with --db (the store has the period and its cases)")
        _require({"--notice-date": notice_date}, "with --db")
        assert notice_date is not None
        paths = disclose_from_store(database_url, plan, _notice_day(notice_date), out)
        terminal().print(f"published the disclosure of {plan} {notice_date}")
        for path in paths:
            terminal().print(str(path))
        return
    _require({"--summary": summary, "--cases": cases, "--out": out}, "(files), or --db (the operations store)")
    _refuse_given({"--notice-date": notice_date}, "only with --db (files name the period in the summary)")
    assert summary is not None and cases is not None and out is not None
    output_folder(out, create=False)
    input_file(summary, "--summary")
    input_file(cases, "--cases")
    out = output_folder(out)
    record = read_summary(summary)
    approved = read_cases(cases, load_plan(plan))
    if len(approved) != record.cases or sum(c.aid for c in approved) != record.aid:
        raise InputError("these cases are not the ones the summary was apportioned from", file=str(cases),
                         code="mutual_aid.cases_mismatch")
    for path in Disclosure(record, tuple(approved)).write(out, lang.value):
        terminal().print(str(path))


@mutual_aid_app.command("example")
def example(
    out: Annotated[Path, typer.Option(metavar="DIR", help="Folder for members.parquet and cases.csv.")],
    # A typical 2020 period: a few approved cases per 100,000 members and a charge of a few yuan, no case
    # above the 0.10-yuan-per-member case cap (300,000 yuan + 8% fee needs 3.24 million members protected
    # on its diagnosis day, up to 90 days before the notice, when about 74% of these members are).
    members: Annotated[int, typer.Option(min=1, help="Number of members.")] = 5_000_000,
    cases: Annotated[int, typer.Option(min=0, help="Number of approved cases.")] = 100,
    notice_date: Annotated[str, typer.Option(help="The period's notice day.")] = "2020-04-21",
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Write a synthetic members file and approved-cases file for trying `apportion` (deterministic by seed)."""
    import csv

    import numpy as np

    from yibao.core.money import format_yuan
    from yibao.mutual_aid.apportion import MemberColumns
    from yibao.mutual_aid.calendar import day_number
    from yibao.mutual_aid.files import write_members

    rng = np.random.default_rng(seed)
    notice = dt.date.fromisoformat(notice_date)
    cutoff = day_number(notice)
    out = output_folder(out)
    starts = (rng.integers(cutoff - 700, cutoff + 1, size=members) + 90).astype(np.int32)
    charged = rng.integers(0, 100_00, size=members).astype(np.int64)
    write_members(out / "members.parquet", MemberColumns(np.arange(1, members + 1, dtype=np.int64), starts, charged))
    surnames, given = "王李张刘陈杨赵黄周吴", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    codes = ["C34.1", "C50.9", "C16.9", "C22.0", "I21.0", "I63.9", "N18.5", "C73"]
    with (out / "cases.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case_id", "member_name", "age", "illness_code", "diagnosis_date", "aid"])
        for i in range(cases):
            age = int(rng.integers(1, 60))
            name = surnames[rng.integers(len(surnames))] + "".join(given[rng.integers(len(given))] for _ in range(2))
            diagnosed = notice - dt.timedelta(days=int(rng.integers(14, 90)))
            writer.writerow([f"XHB-{notice:%Y%m%d}-{i + 1:05d}", name, age, codes[rng.integers(len(codes))],
                             diagnosed.isoformat(), format_yuan(300_000_00 if age <= 39 else 100_000_00)])
    terminal().print(f"{out / 'members.parquet'} ({members:,} members), {out / 'cases.csv'} ({cases:,} cases)")


@mutual_aid_app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Option(
        metavar="DIR", help="Folder for report.html (self-contained, charts inline) and months.csv (the baseline month by month).")],
    plan: PlanOption = "xianghubao-2020",
    months: Annotated[int, typer.Option(min=16, max=600, help="Months from launch (October 2018).")] = 132,
    seed: Annotated[int | None, typer.Option(
        min=0, help="Draw diagnoses (Poisson) with this seed; the same seed gives the same run. Default: expected values.",
    )] = None,
    levers: Annotated[bool, typer.Option(help="Also run the standard lever comparison.")] = True,
    fee_rate: Annotated[str | None, typer.Option(help="Lever: management fee rate, e.g. 0.06.")] = None,
    case_cap: Annotated[float | None, typer.Option(help="Lever: per-case cap, yuan per member.")] = None,
    year_cap: Annotated[float | None, typer.Option(help="Lever: yearly cap, yuan per member.")] = None,
    max_join_age: Annotated[int | None, typer.Option(help="Lever: oldest joining age.")] = None,
    waiting_days: Annotated[int | None, typer.Option(help="Lever: waiting period, days.")] = None,
    age_banded: Annotated[bool, typer.Option(help="Lever: each age band pays its own claims.")] = False,
    young_inflow: Annotated[float, typer.Option(help="Lever: extra young joiners (18–30) per month.")] = 0.0,
    lang: LangOption = Lang.zh,
) -> None:
    """Simulate the pool month by month: calibrated to Xiang Hu Bao 2018–2019, checked on 2020–2021, levers compared."""
    from yibao.core.money import RatePpm, parse_rate
    from yibao.mutual_aid.plan import load_plan
    from yibao.mutual_aid.simulate import STANDARD_LEVERS, Assumptions, Levers, calibrate
    from yibao.mutual_aid.simulate import simulate as run
    from yibao.mutual_aid.simulate_report import calibration_rows, lever_rows, simulation_report

    the_plan = load_plan(plan)
    custom = Levers(
        fee_rate=RatePpm(parse_rate(fee_rate)) if fee_rate is not None else None, case_cap_yuan=case_cap,
        year_cap_yuan=year_cap, max_join_age=max_join_age, waiting_days=waiting_days, age_banded=age_banded,
        young_inflow=young_inflow,
    )
    scenarios = [Levers()] + ([custom] if custom != Levers() else []) + (list(STANDARD_LEVERS[1:]) if levers else [])
    assumptions = Assumptions()
    console = terminal(stderr=True)
    with _progress(console) as progress:
        task = progress.add_task("calibrating to 2018–2019", total=len(scenarios) + 1)
        calibration = calibrate(the_plan, assumptions)
        results = []
        for lever in scenarios:
            progress.update(task, advance=1, description=f"simulating: {lever.label()}")
            results.append(run(the_plan, calibration, levers=lever, assumptions=assumptions, months=months, seed=seed))
        progress.update(task, advance=1)
    folder = output_folder(out)
    (folder / "report.html").write_text(simulation_report(results, assumptions, lang.value), encoding="utf-8")
    _write_months(folder / "months.csv", results[0])
    check = Table(title="Calibration (2018–2019) and out-of-sample check (2020–2021)")
    for col in ("figure", "published", "model"):
        check.add_column(col, justify="right" if col != "figure" else "left")
    for row in calibration_rows(results[0]):
        check.add_row(*row)
    terminal().print(check)
    compare = Table(title="Levers")
    for col in ("lever", "cost 2019", "cost 2021", "cost 2023", "members 2021", "members 2023", "spiral", "unsustainable"):
        compare.add_column(col)
    for row in lever_rows(results):
        compare.add_row(*row)
    terminal().print(compare)
    console.print(f"report: {folder / 'report.html'}  month by month: {folder / 'months.csv'}")


def _write_months(path: Path, result: SimulationResult) -> None:
    import csv
    import dataclasses

    months = result.months
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        names = [f.name for f in dataclasses.fields(months[0])]
        writer.writerow(names)
        for month in months:
            writer.writerow([getattr(month, n) for n in names])
