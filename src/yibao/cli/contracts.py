"""`yibao contracts ...`: serious-illness contracts — list, reconcile a year, evaluate the modes, search a premium."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.ops import DatabaseUrl
from yibao.cli.options import Lang, LangOption, output_file, output_folder
from yibao.contracts.model import DEFAULT_CONTRACTS
from yibao.core.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from yibao.contracts.book import SeriousIllnessBook
    from yibao.contracts.evaluation import Study
    from yibao.contracts.model import Contract
    from yibao.contracts.montecarlo import Evaluation, Shocks
    from yibao.contracts.posting import ContractPosting
    from yibao.contracts.reconcile import Reconciliation, YearExperience

DEFAULT_PEOPLE = 300_000  # a city of about 216,000 residents' insurance enrollees

contracts_app = typer.Typer(
    help="Serious-illness insurance contracts: cooperation modes, year-end reconciliation, evaluation.",
    no_args_is_help=True,
)

ContractOption = Annotated[
    list[str] | None,
    typer.Option(
        "--contract",
        help="Built-in contract name or a contract YAML file; repeatable (default: the three built-in modes).",
    ),
]
SchemeOption = Annotated[str, typer.Option(help="Scheme whose serious-illness layer is evaluated.")]
PersonsOption = Annotated[
    Path | None, typer.Option(help="Persons table (CSV/Parquet); with --claims instead of a synthetic city.")
]
ClaimsOption = Annotated[Path | None, typer.Option(help="Claims table (CSV/Parquet) of the contract year.")]
PeopleOption = Annotated[int, typer.Option(help="Size of the synthetic city when no --persons/--claims are given.")]
CitySeedOption = Annotated[int, typer.Option(help="Seed of the synthetic city.")]
YearOption = Annotated[int, typer.Option(help="Contract year (the synthetic city's year).")]
YearsOption = Annotated[int, typer.Option(help="Simulated years.")]
SeedOption = Annotated[int, typer.Option(help="Seed of the Monte Carlo.")]
VolumeOption = Annotated[float, typer.Option(help="Sd of the log claim-volume factor.")]
CostOption = Annotated[float, typer.Option(help="Sd of the log cost factor.")]
TrendOption = Annotated[float, typer.Option(help="Expected cost growth from the experience year to the contract year.")]


def register(app: typer.Typer) -> None:
    app.add_typer(contracts_app, name="contracts")


def _progress(console: Console) -> Progress:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    return Progress(*columns, console=console, transient=True, disable=not console.is_terminal)


def _contracts(names: list[str] | None) -> list[Contract]:
    from yibao.contracts import load_contract

    return [load_contract(name) for name in (names or list(DEFAULT_CONTRACTS))]


def _book(
    scheme: str, persons: Path | None, claims: Path | None, people: int, city_seed: int, year: int, progress: Progress
) -> tuple[SeriousIllnessBook, str]:
    from yibao.contracts.book import book_from_tables
    from yibao.schemes import load_scheme

    built = load_scheme(scheme)
    task = progress.add_task("reading the city", total=None)
    if (persons is None) != (claims is None):
        raise InputError("give both --persons and --claims, or neither (a synthetic city)", code="input.missing")
    if persons is not None and claims is not None:
        from yibao.tables import read_claims, read_persons

        people_frame = read_persons(persons)
        claims_frame = read_claims(claims, people_frame, built)
        label = f"{claims} ({people_frame.height:,} persons)"
    else:
        from yibao.lab.synth import synthesize

        progress.update(task, description=f"synthesising a city of {people:,} persons")
        city = synthesize(people, year, city_seed)
        people_frame, claims_frame = city.persons, city.claims
        label = f"synthetic reference city ({people:,} persons, seed {city_seed}, {year})"
    progress.update(task, description=f"settling {claims_frame.height:,} claims")
    book = book_from_tables(built, people_frame, claims_frame, None if persons else year)
    progress.remove_task(task)
    return book, label


def _shocks(years: int, seed: int, volume_sd: float, cost_sd: float, trend: float) -> Shocks:
    from yibao.contracts.montecarlo import Shocks

    return Shocks(years=years, seed=seed, volume_sd=volume_sd, cost_sd=cost_sd, cost_trend=trend)


# --- list -------------------------------------------------------------------------------------------------


@contracts_app.command("list")
def list_contracts() -> None:
    """The built-in contracts, one per cooperation mode."""
    from yibao.contracts import load_builtin_contracts
    from yibao.core.money import format_yuan

    table = Table(title="Built-in serious-illness contracts")
    for col in ("name", "mode", "premium / fee per enrollee", "title"):
        table.add_column(col)
    for c in load_builtin_contracts():
        table.add_row(
            c.name, c.mode.value, f"{format_yuan(c.premium_per_enrollee)} / {format_yuan(c.fee_per_enrollee)}", c.title
        )
    terminal().print(table)


# --- reconcile --------------------------------------------------------------------------------------------


def _payments_experience(payments: Path, enrollees: int | None, layer_id: str) -> YearExperience:
    from yibao.contracts.reconcile import YearExperience
    from yibao.tables import fen_column, read_raw

    frame, src = read_raw(payments)
    column = f"paid_{layer_id}"
    if column not in frame.columns:
        raise InputError(
            f"{payments}: no column {column!r} (the output of `yibao settle` has it)", code="input.missing_column"
        )
    if enrollees is None:
        raise InputError("--payments needs --enrollees (the residents the layer covers)", code="input.missing")
    paid = fen_column(frame, src, column)
    return YearExperience(enrollees=enrollees, claims_paid=int(paid.sum()), claims=int((paid > 0).sum()))


def _reconciliation_table(recs: list[Reconciliation]) -> Table:
    from yibao.contracts.reconcile import reconciliation_rows
    from yibao.core.money import format_yuan

    year = recs[0].experience
    table = Table(
        title=f"Year-end reconciliation: {year.enrollees:,} enrollees, claims paid {format_yuan(year.claims_paid)} yuan"
    )
    table.add_column("yuan")
    for rec in recs:
        table.add_column(rec.contract.mode.value, justify="right")
    rows = [reconciliation_rows(rec) for rec in recs]
    for i, (item, _) in enumerate(rows[0]):
        table.add_row(item, *(r[i][1] for r in rows))
    return table


@contracts_app.command("reconcile")
def reconcile_command(
    contract: ContractOption = None,
    payments: Annotated[
        Path | None, typer.Option(help="Settled claims (e.g. `yibao settle` output) with paid_serious_illness in yuan.")
    ] = None,
    enrollees: Annotated[
        int | None, typer.Option(help="Enrollees the layer covers (with --payments or --claims-paid).")
    ] = None,
    claims_paid: Annotated[
        str | None, typer.Option(help="The year's serious-illness payments in yuan (instead of a file).")
    ] = None,
    n_claims: Annotated[
        int, typer.Option("--n-claims", help="Number of claims with a serious-illness payment (with --claims-paid).")
    ] = 0,
    scheme: SchemeOption = "reference-city",
    persons: PersonsOption = None,
    claims: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Claims table to settle (with --persons) instead of --payments."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write the reconciliation to this CSV file (one column per contract).")
    ] = None,
    entries: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Write the balanced ledger entries to this CSV file; as the operations ledger posts them, the "
            "debit account pays and the credit account receives.",
        ),
    ] = None,
) -> None:
    """Year-end reconciliation: each party's result under each contract, exact to the fen, and ledger entries."""
    from yibao.contracts import YearExperience, ledger_entries, reconcile
    from yibao.contracts.reconcile import reconciliation_rows
    from yibao.contracts.report import write_csv
    from yibao.core.money import format_yuan, parse_yuan

    for path, option in ((out, "--out"), (entries, "--entries")):
        if path is not None:
            output_file(path, option)
    console = terminal(stderr=True)
    sources = sum(x is not None for x in (payments, claims_paid, claims))
    if sources != 1:
        raise InputError(
            "give exactly one of --payments FILE, --claims-paid YUAN or --persons FILE --claims FILE",
            code="input.missing",
        )
    if claims_paid is not None:
        if enrollees is None:
            raise InputError("--claims-paid needs --enrollees", code="input.missing")
        year = YearExperience(enrollees, parse_yuan(claims_paid), n_claims)
    elif payments is not None:
        year = _payments_experience(payments, enrollees, "serious_illness")
    else:
        with _progress(console) as progress:
            book, _ = _book(scheme, persons, claims, 0, 0, 0, progress)
        year = YearExperience(book.enrollees, int(book.paid.sum()), int(book.claims.sum()))
    recs = [reconcile(c, year) for c in _contracts(contract)]
    terminal().print(_reconciliation_table(recs))
    rows = [reconciliation_rows(rec) for rec in recs]
    if out is not None:
        write_csv(
            out,
            ["item", *(r.contract.name for r in recs)],
            [[item, *(r[i][1] for r in rows)] for i, (item, _) in enumerate(rows[0])],
        )
    if entries is not None:
        write_csv(
            entries,
            ["contract", "debit", "credit", "amount", "memo"],
            [
                # An Entry moves money from its `credit` to its `debit` account; the ledger debits the payer.
                [rec.contract.name, e.credit, e.debit, format_yuan(e.amount), e.memo]
                for rec in recs
                for e in ledger_entries(rec)
            ],
        )


# --- post -------------------------------------------------------------------------------------------------


@contracts_app.command("post")
def post_command(
    contract: Annotated[str, typer.Option(help="Built-in contract name or a contract YAML file.")],
    region: Annotated[str, typer.Option(help="Region whose serious-illness year is reconciled (the contract's).")],
    year: Annotated[int, typer.Option(help="Contract year (the contract's).")],
    database_url: DatabaseUrl = None,
    enrollees: Annotated[
        int | None, typer.Option(help="Enrollees the layer covers (default: the store's active enrolments).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show the reconciliation and the entries; write nothing.")] = False,
) -> None:
    """Reconcile a region-year from the operations ledger and post the contract's year-end entries (once)."""
    from yibao.contracts import load_contract
    from yibao.contracts.posting import ContractPosting, post_year_end, preview, year_end_movements
    from yibao.ops.audit import Actor
    from yibao.ops.store import Store

    chosen = load_contract(contract)
    store = Store.existing(database_url)
    try:
        with store.transaction() as session:
            if dry_run:
                rec = preview(session, chosen, region, year, enrollees)
                done = ContractPosting(rec, "(dry run)", (), tuple(year_end_movements(rec)))
            else:
                done = post_year_end(session, Actor(), chosen, region, year, enrollees)
            balances = _balances_after(session, done, dry_run)
    finally:
        store.engine.dispose()
    console = terminal()
    console.print(_reconciliation_table([done.reconciliation]))
    console.print(_movements_table(done, balances))
    if dry_run:
        console.print("dry run: nothing written")
    else:
        console.print(f"posted {len(done.entry_ids)} entries, reference {done.reference}")


def _balances_after(session: Session, done: ContractPosting, dry_run: bool) -> dict[str, int]:
    """The fund's and the insurer's balance after the posting (for a dry run: as it would be)."""
    from yibao.contracts.posting import fund_account, insurer_account
    from yibao.ops import ledger

    accounts = (fund_account(done.reconciliation.contract), insurer_account(done.reconciliation.contract))
    balances = {account.code: ledger.balance(session, account) for account in accounts}
    if dry_run:
        for movement in done.movements:
            for line in movement.lines:
                balances[line.account.code] += line.amount
    return balances


def _movements_table(done: ContractPosting, balances: dict[str, int]) -> Table:
    """The entries as a journal (one line per account), then the two parties' balances after posting."""
    from yibao.core.money import format_yuan

    c = done.reconciliation.contract
    prefix = f"{c.region}:{c.year}:"
    where = "dry run, not posted" if not done.entry_ids else done.reference
    table = Table(title=f"Year-end entries in {prefix}… ({where})")
    table.add_column("entry", justify="right", no_wrap=True)
    table.add_column("account", no_wrap=True)
    table.add_column("debit", justify="right", no_wrap=True)
    table.add_column("credit", justify="right", no_wrap=True)
    table.add_column("memo", overflow="fold")
    ids = [str(i) for i in done.entry_ids] or ["-"] * len(done.movements)
    for entry_id, m in zip(ids, done.movements, strict=True):
        amount = format_yuan(m.amount)
        table.add_row(entry_id, m.payer.code.removeprefix(prefix), amount, "", m.memo.removeprefix(f"{c.name}: "))
        table.add_row("", m.payee.code.removeprefix(prefix), "", amount, "")
    table.add_section()
    for account, balance in balances.items():
        debit, credit = (format_yuan(balance), "") if balance >= 0 else ("", format_yuan(-balance))
        table.add_row("", account.removeprefix(prefix), debit, credit, "balance after posting")
    return table


# --- evaluate ---------------------------------------------------------------------------------------------


@contracts_app.command("evaluate")
def evaluate_command(
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="Folder for report.html, evaluation.csv and years.csv.")
    ] = Path("contracts-evaluation"),
    contract: ContractOption = None,
    scheme: SchemeOption = "reference-city",
    persons: PersonsOption = None,
    claims: ClaimsOption = None,
    people: PeopleOption = DEFAULT_PEOPLE,
    city_seed: CitySeedOption = 2024,
    year: YearOption = 2024,
    years: YearsOption = 2000,
    seed: SeedOption = 2024,
    volume_sd: VolumeOption = 0.02,
    cost_sd: CostOption = 0.02,
    trend: TrendOption = 0.0,
    target_margin: Annotated[
        float, typer.Option(help="Price every contract to this expected insurer margin first.")
    ] = 0.02,
    as_written: Annotated[bool, typer.Option(help="Keep the files' premiums and fees (no repricing).")] = False,
    sensitivity: Annotated[bool, typer.Option(help="Screen which parameters drive the ranking.")] = True,
    lang: LangOption = Lang.zh,
) -> None:
    """Monte Carlo of the cooperation modes on four dimensions (efficiency, cost, risk sharing, incentive); HTML report and CSV."""
    from yibao.contracts.evaluation import Settings, Study, driver_count, evaluate_all, find_drivers
    from yibao.contracts.montecarlo import ranking, simulate
    from yibao.contracts.report import write_study

    out = output_folder(out)
    console = terminal(stderr=True)
    chosen = _contracts(contract)
    settings = Settings(_shocks(years, seed, volume_sd, cost_sd, trend), target_margin, as_written, sensitivity)
    with _progress(console) as progress:
        book, label = _book(scheme, persons, claims, people, city_seed, year, progress)
        task = progress.add_task(f"simulating {years:,} years", total=years)
        sims = simulate(book, settings.shocks, lambda _: progress.advance(task))
        progress.update(task, description="pricing and scoring the contracts", total=None)
        evaluations = evaluate_all(chosen, sims, settings)
        drivers = []
        if sensitivity:
            progress.update(task, description="screening the drivers", total=driver_count(chosen), completed=0)
            drivers = find_drivers(chosen, book, sims, settings, lambda: progress.advance(task))
    st = Study(evaluations, ranking(evaluations), sims, book, settings, drivers)
    paths = write_study(st, out, label, lang.value)
    _print_study(st)
    console.print(f"report: {paths['report']}  tables: {paths['evaluation']}, {paths['years']}")


def _print_study(st: Study) -> None:
    from yibao.contracts.evaluation import SEED_RANKING
    from yibao.contracts.model import MODE_NAMES
    from yibao.contracts.montecarlo import DIMENSIONS

    table = Table(title="Cooperation modes on four dimensions")
    table.add_column("")
    for e in st.evaluations:
        table.add_column(e.contract.mode.value, justify="right")
    measures: list[tuple[str, Callable[[Evaluation], str]]] = [
        ("risk balance (sd fund vs insurer)", lambda e: f"{e.risk_balance:.3f}"),
        ("P(insurer loss)", lambda e: f"{e.insurer_p_loss:.1%}"),
        ("admin cost / claims", lambda e: f"{e.admin_cost_ratio:.2%}"),
        ("incentive (share of a cut kept)", lambda e: f"{e.incentive:.1%}"),
        ("settlement days", lambda e: f"{e.settlement_days:g}"),
        ("expected margin", lambda e: f"{e.expected_margin:.2%}"),
        ("P(margin in [0, cap])", lambda e: f"{e.p_low_profit:.1%}"),
    ]
    for label, value in measures:
        table.add_row(label, *(value(e) for e in st.evaluations))
    console = terminal()
    console.print(table)
    for dim in DIMENSIONS:
        mark = "✓" if st.best[dim] is SEED_RANKING[dim] else "✗ (seed: " + MODE_NAMES[SEED_RANKING[dim]] + ")"
        console.print(f"best on {dim}: {MODE_NAMES[st.best[dim]]} {mark}")


# --- search -----------------------------------------------------------------------------------------------


@contracts_app.command("search")
def search_command(
    contract: Annotated[
        str, typer.Option(help="Built-in contract name or contract file.")
    ] = "zhanjiang-insurance-contract",
    target_margin: Annotated[
        float, typer.Option(help="Expected insurer margin (profit / premium and fee) to reach.")
    ] = 0.02,
    scheme: SchemeOption = "reference-city",
    persons: PersonsOption = None,
    claims: ClaimsOption = None,
    people: PeopleOption = DEFAULT_PEOPLE,
    city_seed: CitySeedOption = 2024,
    year: YearOption = 2024,
    years: YearsOption = 2000,
    seed: SeedOption = 2024,
    volume_sd: VolumeOption = 0.02,
    cost_sd: CostOption = 0.02,
    trend: TrendOption = 0.0,
) -> None:
    """The premium (fee under fund management) per enrollee giving the target expected margin, and its P(loss)."""
    from yibao.contracts import load_contract
    from yibao.contracts.montecarlo import search_price, simulate
    from yibao.core.money import format_yuan

    console = terminal(stderr=True)
    chosen = load_contract(contract)
    with _progress(console) as progress:
        book, label = _book(scheme, persons, claims, people, city_seed, year, progress)
        task = progress.add_task(f"simulating {years:,} years", total=years)
        sims = simulate(book, _shocks(years, seed, volume_sd, cost_sd, trend), lambda _: progress.advance(task))
        progress.update(task, description="bisecting on the common simulated years", total=None)
        found = search_price(chosen, sims, target_margin)
    table = Table(title=f"{chosen.name} on {label}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row(found.parameter.replace("_", " "), f"{format_yuan(found.per_enrollee)} yuan")
    table.add_row("target expected margin", f"{found.target_margin:.2%}")
    table.add_row("expected margin reached", f"{found.expected_margin:.3%}")
    table.add_row("P(insurer loss)", f"{found.insurer_p_loss:.1%}")
    table.add_row("P(margin in [0, low-profit cap])", f"{found.p_low_profit:.1%}")
    table.add_row("bisection steps", str(found.steps))
    terminal().print(table)
