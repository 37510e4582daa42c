"""`yibao mutual-aid close ...`: a plan's closure over the operations store (yibao.mutual_aid.closing).

decide (the regulatory decision, an optional conversion offer) · finish (the final period, payouts, members
removed, the pool to zero, the closure disclosure) · show · answer (a member accepts or declines the offer) ·
conversions. Audited as `cli:<user>`; a refusal prints its code and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from yibao.cli.console import terminal
from yibao.cli.mutual_aid_ops import DataDir, Day, _actor, _date, _record, _rows
from yibao.cli.ops import DatabaseUrl
from yibao.cli.options import store_session

close_app = typer.Typer(help="A plan's closure: decide → finish the pending claims → finish; the conversion offer.",
                        no_args_is_help=True)
def register(app: typer.Typer) -> None:
    app.add_typer(close_app, name="close")


@close_app.command("decide")
def decide(
    plan: Annotated[str, typer.Option(help="The plan in force.")],
    decided_on: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="No new members or claims from this day.")],
    reference: Annotated[str, typer.Option(help="The decision's reference (regulator, notice).")],
    text_en: Annotated[str, typer.Option(help="The decision's text in English.")],
    text_zh: Annotated[str, typer.Option(help="The decision's text in Chinese.")],
    source: Annotated[str, typer.Option(help="A public source of the decision.")] = "",
    offer_product: Annotated[str | None, typer.Option(help="Conversion offer: a built-in product (yibao products list).")] = None,
    policy_start: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Offer: first day of cover.")] = None,
    accept_by: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Offer: last day to answer.")] = None,
    free_years: Annotated[int, typer.Option(help="Offer: years of cover the platform pays.")] = 1,
    database_url: DatabaseUrl = None,
) -> None:
    """Record the regulatory decision that ends a plan, with an optional conversion offer."""
    from yibao.core.errors import InputError
    from yibao.mutual_aid import closing
    from yibao.mutual_aid.closure import ConversionOffer, Decision

    offer = None
    if offer_product is not None:
        if policy_start is None or accept_by is None:
            raise InputError("an offer needs --policy-start and --accept-by", code="mutual_aid.closure_invalid")
        offer = ConversionOffer(offer_product, policy_start.date(), accept_by.date(), free_years)
    with store_session(database_url) as s:
        row = closing.decide(s, _actor(), plan, Decision(decided_on.date(), reference, text_en, text_zh, source), offer)
        view = closing.closure_view(row)
    _record(f"Closure of {plan} decided", {k: v for k, v in view.items() if k not in ("text", "disclosure")})


@close_app.command("finish")
def finish(
    plan: Annotated[str, typer.Option(help="The closing plan.")],
    notice_date: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="The final period's notice day.")],
    data_dir: DataDir = Path("yibao-data"),
    on: Day = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Apportion the final period, pay the claims it funds, remove the members, publish the closure disclosure."""
    from yibao.mutual_aid import closing

    with store_session(database_url) as s:
        view = closing.closure_view(closing.finish(s, _actor(), plan, notice_date.date(), _date(on), data_dir))
    _print_disclosure(view)


def _print_disclosure(view: dict[str, object]) -> None:
    disclosure = view.get("disclosure")
    if not isinstance(disclosure, dict):
        _record(f"Closure of {view['plan_id']} ({view['status']})", {k: v for k, v in view.items() if k != "text"})
        return
    _record(f"Closure of {view['plan_id']} — final period", disclosure["final_period"])
    _rows("Claims finished since the decision", disclosure["claims_finished"],
          ("claim_id", "member", "illness", "amount", "status", "paid_on"))
    console = terminal()
    console.print(f"members closed: {disclosure['members_closed']}  written off: {disclosure['written_off']}  "
                  f"residual: {disclosure['residual']['kind']} {disclosure['residual']['amount']}")
    console.print(disclosure["statement"]["en"])
    console.print(disclosure["statement"]["zh"])


@close_app.command("show")
def show(plan: Annotated[str, typer.Option(help="The plan.")], database_url: DatabaseUrl = None) -> None:
    """A plan's closure: the decision, the offer, and once closed its disclosure."""
    from yibao.mutual_aid import closing

    with store_session(database_url) as s:
        view = closing.closure_view(closing.closure_row(s, plan))
    _print_disclosure(view)


@close_app.command("answer")
def answer(
    member_id: int,
    accept: Annotated[bool, typer.Option("--accept/--decline", help="Accept or decline the conversion offer.")],
    on: Day = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A member's answer to the conversion offer (once); an acceptance gives the policy, premium paid by the platform."""
    from yibao.mutual_aid import closing

    with store_session(database_url) as s:
        view = closing.conversion_view(closing.answer(s, _actor(), member_id, accept, _date(on)))
    _record(f"Member {member_id}: offer {'accepted' if view['accepted'] else 'declined'}", view)


@close_app.command("conversions")
def conversions(plan: Annotated[str, typer.Option(help="The closed plan.")], database_url: DatabaseUrl = None) -> None:
    """The members' answers to the conversion offer and the policies."""
    from yibao.mutual_aid import closing

    with store_session(database_url) as s:
        rows = [closing.conversion_view(c) for c in closing.conversions(s, plan)]
    _rows(f"Conversion offer of {plan}", rows,
          ("member_id", "person_id", "accepted", "day", "policy_id", "product", "start_date", "end_date", "premium"))
