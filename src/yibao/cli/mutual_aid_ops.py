"""`yibao mutual-aid ...` over the operations store: what a platform operator does day to day.

launch a plan · join / leave / members / charges · deduction / daily-run / waiting-period-end ·
claim file|investigate|review|notice|dispute|verdict|deny|pay|show|list · vote · notices · periods;
`apportion --db` and `disclose --db` (yibao.cli.mutual_aid) apportion and publish from the store.
The database is --database-url / YIBAO_DATABASE_URL (migrate it with `yibao db upgrade`); every
change is audited as `cli:<user>`; a refusal prints its code and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from yibao.cli.console import terminal
from yibao.cli.ops import DatabaseUrl
from yibao.cli.options import store_session

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from yibao.mutual_aid.apportion import ApportionmentSummary
    from yibao.ops.audit import Actor

claim_app = typer.Typer(help="The claims workflow: file → investigate → review → notice → pay, or dispute → jury.",
                        no_args_is_help=True)

Day = Annotated[dt.datetime | None, typer.Option("--on", formats=["%Y-%m-%d"], help="Business day (default today).")]
DataDir = Annotated[Path, typer.Option(envvar="YIBAO_DATA_DIR", help="Folder of the per-member charges datasets.")]


def register(app: typer.Typer) -> None:
    for name, command in (("launch", launch), ("join", join), ("leave", leave), ("members", members),
                          ("charges", charges), ("deduction", deduction), ("daily-run", daily_run),
                          ("waiting-period-end", waiting_period_end), ("vote", vote), ("notices", notices),
                          ("periods", periods_list)):
        app.command(name)(command)
    app.add_typer(claim_app, name="claim")


def _date(value: dt.datetime | None) -> dt.date:
    return value.date() if value is not None else dt.date.today()


def _actor() -> Actor:
    from yibao.ops.audit import Actor

    return Actor(f"cli:{getpass.getuser()}", "platform")



def _record(title: str, record: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        if isinstance(value, list | dict):
            continue
        table.add_row(key.replace("_", " "), "" if value is None else str(value))
    terminal().print(table)


def _rows(title: str, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    terminal().print(table)


# --- plans and members ---


def launch(
    plan: Annotated[str, typer.Argument(help="Built-in plan (xianghubao-2020, xianghubao-2020/senior) or a plan file.")],
    in_force_from: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="First day members may join.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Put a mutual-aid plan in force on this platform."""
    from yibao.core.errors import InputError
    from yibao.mutual_aid import service
    from yibao.mutual_aid.plan import builtin_plan_names

    definition = None
    if plan not in builtin_plan_names():  # a plan file on this machine: the service is given its text
        try:
            definition = Path(plan).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{plan}: neither a built-in plan {builtin_plan_names()} nor a readable plan file "
                             f"({exc.strerror})", code="mutual_aid.plan_not_found") from None
    with store_session(database_url) as s:
        row = service.launch_plan(s, _actor(), in_force_from.date(), name=None if definition else plan,
                                  definition=definition)
        view = service.plan_view(row)
    _record(f"Plan {view['plan_id']} in force", view)


def join(
    plan: Annotated[str, typer.Option(help="The plan in force.")],
    person: Annotated[str, typer.Option(help="The registered person (person_id).")],
    credit_score: Annotated[int, typer.Option(help="Score from the credit provider.")],
    healthy: Annotated[bool, typer.Option(
        "--healthy", help="The person declares no listed illness and no current treatment (required to join).")] = False,
    credit_threshold: Annotated[int | None, typer.Option(help="The platform's own credit gate.")] = None,
    on: Day = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Join a registered person to a plan: ages, health declaration and credit gate by the plan's rules."""
    from yibao.mutual_aid import service
    from yibao.mutual_aid.membership import HealthDeclaration

    with store_session(database_url) as s:
        row = service.join(s, _actor(), plan, person, _date(on), HealthDeclaration(healthy, healthy), credit_score,
                           credit_threshold)
        view = service.member_view(row)
    terminal().print(f"member {view['member_id']} joined {view['plan_id']}: protected from {view['protection_start']}")


def leave(member_id: int, on: Day = None, database_url: DatabaseUrl = None) -> None:
    """A member leaves the plan (charges already deducted are not refunded)."""
    from yibao.mutual_aid import service

    with store_session(database_url) as s:
        view = service.member_view(service.leave(s, _actor(), member_id, _date(on)))
    terminal().print(f"member {member_id} {view['status']} on {view['ended_on']}")


def members(
    plan: Annotated[str | None, typer.Option(help="Only this plan.")] = None,
    person: Annotated[str | None, typer.Option(help="Only this person.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status (active, left, removed, ...).")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List memberships."""
    from yibao.mutual_aid import service

    with store_session(database_url) as s:
        rows = [service.member_view(r) for r in service.members_of(s, plan_id=plan, person_id=person, status=status)]
    _rows("Members", rows, ("member_id", "plan_id", "person_id", "name", "joined_on", "protection_start", "status",
                            "ended_on"))


def charges(member_id: int, database_url: DatabaseUrl = None) -> None:
    """A member's charge in each apportioned period (read from the per-member datasets)."""
    from yibao.mutual_aid import periods

    with store_session(database_url) as s:
        rows = periods.charges_view(periods.member_charges(s, member_id))
    _rows(f"Charges of member {member_id} (yuan)", rows,
          ("notice_date", "deduction_date", "charge", "charged_this_year", "deduction"))


def deduction(
    member_id: int,
    period: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="The period's notice day.")],
    failed: Annotated[bool, typer.Option("--failed/--succeeded", help="The deduction failed, or a retry succeeded.")],
    on: Day = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Record a deduction that failed (retries start) or a retry that succeeded."""
    from yibao.mutual_aid import periods, service

    with store_session(database_url) as s:
        view = service.member_view(periods.record_deduction(s, _actor(), member_id, period.date(), _date(on), not failed))
    terminal().print(f"member {member_id}: deduction failing since {view['deduction_failed_since'] or '— (none)'}")


def daily_run(plan: Annotated[str, typer.Option(help="The plan in force.")], on: Day = None,
              database_url: DatabaseUrl = None) -> None:
    """End of day: remove members whose deduction failed for the retry days; age out members past the oldest age."""
    from yibao.core.money import format_yuan
    from yibao.mutual_aid import periods

    with store_session(database_url) as s:
        run = periods.daily_run(s, _actor(), plan, _date(on))
    terminal().print(f"removed {list(run.removed)} (written off {format_yuan(run.written_off)} yuan); aged out {list(run.aged_out)}")


def waiting_period_end(
    member_id: int,
    diagnosed: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Day of diagnosis.")],
    on: Day = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Diagnosed inside the waiting period: end the membership and refund every charge paid."""
    from yibao.core.money import format_yuan
    from yibao.mutual_aid import periods

    with store_session(database_url) as s:
        _, refund = periods.end_in_waiting_period(s, _actor(), member_id, diagnosed.date(), _date(on))
    terminal().print(f"member {member_id} ended in the waiting period; refund {format_yuan(refund)} yuan")


# --- claims ---


def _claim(database_url: str | None, step: Callable[[Session, Actor], Any]) -> None:
    from yibao.mutual_aid import service

    with store_session(database_url) as s:
        view = service.claim_view(s, step(s, _actor()))
    _record(f"Claim {view['claim_id']} — {view['status']}", view)
    for line in view["history"]:
        terminal().print(f"  {line['day']}  {line['status']:<12} {line['actor']}: {line['note']}", highlight=False)


@claim_app.command("file")
def claim_file(
    member_id: int,
    illness: Annotated[str, typer.Option(help="ICD-10 code of the diagnosis, e.g. C34.1.")],
    diagnosed: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Day of diagnosis.")],
    on: Day = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A member claims the lump sum for a covered illness."""
    from yibao.mutual_aid import service

    _claim(database_url, lambda s, a: service.file_claim(s, a, member_id, illness, diagnosed.date(), _date(on)))


@claim_app.command("investigate")
def claim_investigate(
    claim_id: int,
    investigator: Annotated[str, typer.Option(help="The third-party investigator.")],
    summary: Annotated[str, typer.Option(help="Findings in a sentence (shown on the public notice).")],
    supports: Annotated[bool, typer.Option("--supports/--does-not-support", help="Do the findings support the claim?")],
    on: Day = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Record the investigator's findings."""
    from yibao.mutual_aid import service

    _claim(database_url, lambda s, a: service.investigate(s, a, claim_id, investigator, summary, supports, _date(on)))


@claim_app.command("review")
def claim_review(
    claim_id: int,
    approve: Annotated[bool, typer.Option("--approve/--reject")],
    reason: Annotated[str, typer.Option(help="Why.")],
    on: Day = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Approve or reject an investigated claim."""
    from yibao.mutual_aid import service

    _claim(database_url, lambda s, a: service.review(s, a, claim_id, approve, reason, _date(on)))


@claim_app.command("notice")
def claim_notice(claim_id: int, on: Day = None, database_url: DatabaseUrl = None) -> None:
    """Publish an approved claim on the notice board (identity masked)."""
    from yibao.mutual_aid import service

    _claim(database_url, lambda s, a: service.publish_notice(s, a, claim_id, _date(on)))


@claim_app.command("dispute")
def claim_dispute(
    claim_id: int,
    by: Annotated[int, typer.Option(help="The member disputing (the claimant, or any member objecting to a notice).")],
    reason: Annotated[str, typer.Option(help="Why.")],
    seats: Annotated[int | None, typer.Option(help="Jurors to draw (default the plan's minimum of votes).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the draw (default random; recorded).")] = None,
    on: Day = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send a claim to a member jury drawn from the eligible members."""
    from yibao.mutual_aid import service

    with store_session(database_url) as s:
        view = service.jury_view(s, service.dispute(s, _actor(), claim_id, by, reason, _date(on), seats, seed))
    _record(f"Jury for claim {claim_id}", view)


@claim_app.command("verdict")
def claim_verdict(claim_id: int, on: Day = None, database_url: DatabaseUrl = None) -> None:
    """Close the jury and apply its verdict (valid with the minimum votes; pays above the majority)."""
    from yibao.mutual_aid import service

    _claim(database_url, lambda s, a: service.close_jury(s, a, claim_id, _date(on)))


@claim_app.command("deny")
def claim_deny(claim_id: int, on: Day = None, database_url: DatabaseUrl = None) -> None:
    """Make a rejection that was not disputed final."""
    from yibao.mutual_aid import service

    _claim(database_url, lambda s, a: service.deny(s, a, claim_id, _date(on)))


@claim_app.command("pay")
def claim_pay(claim_id: int, on: Day = None, database_url: DatabaseUrl = None) -> None:
    """Pay the lump sum of a claim whose period has been apportioned."""
    from yibao.mutual_aid import service

    _claim(database_url, lambda s, a: service.pay(s, a, claim_id, _date(on)))


@claim_app.command("show")
def claim_show(claim_id: int, database_url: DatabaseUrl = None) -> None:
    """A claim with its history and jury."""
    from yibao.mutual_aid import service

    _claim(database_url, lambda s, _: service.claim_row(s, claim_id))


@claim_app.command("list")
def claim_list(plan: Annotated[str, typer.Option(help="The plan in force.")],
               status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
               database_url: DatabaseUrl = None) -> None:
    """The plan's claims."""
    from yibao.mutual_aid import service

    with store_session(database_url) as s:
        rows = [service.claim_view(s, r) for r in service.claims_of(s, plan_id=plan, status=status)]
    _rows(f"Claims of {plan}", rows, ("claim_id", "member_id", "illness_code", "diagnosis_date", "amount", "status",
                                      "apportioned_in", "paid_on"))


def vote(
    claim_id: int,
    juror: Annotated[int, typer.Option(help="The seated juror (member id).")],
    pays: Annotated[bool, typer.Option("--pay/--refuse", help="The juror's vote.")],
    on: Day = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Record a seated juror's vote (one each)."""
    from yibao.mutual_aid import service

    with store_session(database_url) as s:
        service.cast_vote(s, _actor(), claim_id, juror, pays, _date(on))
        tally = service.jury_view(s, service.open_jury_row(s, claim_id))
    terminal().print(f"claim {claim_id}: {tally['votes_to_pay']} to pay, {tally['votes_to_refuse']} to refuse "
                    f"({tally['min_votes']} needed)")


def notices(plan: Annotated[str, typer.Option(help="The plan in force.")], database_url: DatabaseUrl = None) -> None:
    """The public notice board (identity masked)."""
    from yibao.mutual_aid import service

    with store_session(database_url) as s:
        rows = service.notices(s, plan)
    _rows(f"Public notices of {plan}", rows, ("claim_id", "member", "age", "illness", "diagnosis_date", "amount",
                                              "investigation", "noticed_on", "status"))


def periods_list(plan: Annotated[str, typer.Option(help="The plan in force.")], database_url: DatabaseUrl = None) -> None:
    """The plan's apportioned periods."""
    from yibao.mutual_aid import periods

    with store_session(database_url) as s:
        rows = [periods.period_view(r) for r in periods.periods_of(s, plan)]
    _rows(f"Periods of {plan} (yuan)", rows, ("notice_date", "deduction_date", "cases", "aid", "fee", "members_protected",
                                              "per_member_charge", "collected", "surplus_out"))


# --- apportion and disclose from the store (called by yibao.cli.mutual_aid) ---


def apportion_in_store(database_url: str | None, plan: str, notice_date: dt.date, data_dir: Path) -> ApportionmentSummary:
    from yibao.mutual_aid import periods

    with store_session(database_url) as s:
        return periods.summary_of(periods.apportion(s, _actor(), plan, notice_date, data_dir))


def disclose_from_store(database_url: str | None, plan: str, notice_date: dt.date, out: Path | None) -> list[Path]:
    from yibao.mutual_aid import periods

    with store_session(database_url) as s:
        periods.publish_disclosure(s, _actor(), plan, notice_date)
        _, disclosure = periods.published_disclosure(s, plan, notice_date)
    return disclosure.write(out) if out is not None else []
