"""`/platform/`: a mutual-aid platform operator at a desk — each plan's claims moved through the workflow
(investigation, review, public notice, denial, the jury's verdict, payment) and its periods (apportionment of a
notice day, publication of the disclosure) and, once a closure is decided, the final period that closes the plan.
Every step is the mutual-aid service's, dated today."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from yibao.core.errors import YibaoError
from yibao.http.mutual_aid import data_dir
from yibao.mutual_aid import closing, periods
from yibao.mutual_aid import service as mutual_aid
from yibao.mutual_aid.calendar import periods_between
from yibao.ops.auth import Principal, Role
from yibao.ops.store import utcnow
from yibao.ops.store_mutual_aid import MutualAidClosure, MutualAidDisclosure, MutualAidPlan
from yibao.web import session
from yibao.web.messages import N_, of_error
from yibao.web.render import in_store, redirect, render, texts_of

router = APIRouter(prefix="/platform")


def _desk(s: Session) -> list[dict[str, Any]]:
    today = utcnow().date()
    plans = []
    for row in s.execute(select(MutualAidPlan).order_by(MutualAidPlan.id)).scalars():
        done = periods.periods_of(s, row.id)
        latest = done[-1].notice_date if done else row.in_force_from
        disclosed = set(s.execute(select(MutualAidDisclosure.period_id)).scalars())
        plan = mutual_aid.plan_of(row)
        closure = s.execute(select(MutualAidClosure).where(MutualAidClosure.plan_id == row.id)).scalar_one_or_none()
        plans.append({
            "closure": None if closure is None else closing.closure_view(closure),
            "row": row, "title": plan.title,
            "claims": [mutual_aid.claim_view(s, c) for c in mutual_aid.claims_of(s, plan_id=row.id)],
            "periods": [(p, p.id in disclosed) for p in reversed(done)],
            "next_notice_days": [p.notice_date for p in periods_between(plan, latest + dt.timedelta(days=1), today)],
        })
    return plans


async def _page(request: Request, who: Principal, *, errors: dict[str, str] | None = None, notice: str = "") -> Response:
    plans = await in_store(request, _desk)
    texts = texts_of(request)
    return render(request, "platform.html", who=who, title=texts.gettext("Mutual-aid platform"), plans=plans,
                  errors=errors or {}, notice=notice)


DONE = {"claim": N_("The claim moved on."), "period": N_("The period was apportioned."),
        "disclosure": N_("The disclosure was published."),
        "closure": N_("The plan is closed: its closure disclosure is published.")}


@router.get("/")
async def platform_home(request: Request, done: str = "") -> Response:
    who = session.signed_in(request, Role.PLATFORM_OPERATOR)
    texts = texts_of(request)
    return await _page(request, who, notice=texts.gettext(DONE[done]) if done in DONE else "")


def _text(form: FormData, key: str) -> str:
    return str(form.get(key, "")).strip()


def _step(s: Session, who: Principal, claim_id: int, step: str, form: FormData) -> None:
    """One workflow step of a claim, as the operator's form asks."""
    today = utcnow().date()
    if step == "investigate":
        if not _text(form, "investigator") or not _text(form, "summary"):
            raise YibaoError("findings", code="web.required")
        mutual_aid.investigate(s, who.actor, claim_id, _text(form, "investigator"), _text(form, "summary"),
                               form.get("supports") == "yes", today)
    elif step == "review":
        if not _text(form, "reason"):
            raise YibaoError("reason", code="web.reason_required")
        mutual_aid.review(s, who.actor, claim_id, form.get("approve") == "yes", _text(form, "reason"), today)
    elif step == "notice":
        mutual_aid.publish_notice(s, who.actor, claim_id, today)
    elif step == "deny":
        mutual_aid.deny(s, who.actor, claim_id, today)
    elif step == "verdict":
        mutual_aid.close_jury(s, who.actor, claim_id, today)
    elif step == "pay":
        mutual_aid.pay(s, who.actor, claim_id, today)
    else:
        raise YibaoError(step, code="web.choice")


@router.post("/claims/{claim_id}/{step}")
async def claim_step(request: Request, claim_id: int, step: str) -> Response:
    who = session.signed_in(request, Role.PLATFORM_OPERATOR)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    try:
        await in_store(request, lambda s: _step(s, who, claim_id, step, form))
    except YibaoError as exc:
        return await _page(request, who, errors={f"claim-{claim_id}": of_error(texts_of(request), exc)})
    return redirect(f"/platform/?done=claim#claim-{claim_id}")


@router.post("/plans/{plan_id}/periods")
async def apportion(request: Request, plan_id: str) -> Response:
    who = session.signed_in(request, Role.PLATFORM_OPERATOR)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    folder = data_dir(request)
    try:
        notice = _notice_date(form)
        await in_store(request, lambda s: periods.apportion(s, who.actor, plan_id, notice, folder))
    except YibaoError as exc:
        return await _page(request, who, errors={f"period-{plan_id}": of_error(texts_of(request), exc)})
    return redirect("/platform/?done=period#periods")


def _notice_date(form: Any) -> dt.date:
    """The form's notice day, refused as `web.date` when it is not a date."""
    try:
        return dt.date.fromisoformat(_text(form, "notice_date"))
    except ValueError:
        raise YibaoError("", code="web.date") from None


@router.post("/plans/{plan_id}/periods/{notice_date}/disclosure")
async def disclose(request: Request, plan_id: str, notice_date: dt.date) -> Response:
    who = session.signed_in(request, Role.PLATFORM_OPERATOR)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    try:
        await in_store(request, lambda s: periods.publish_disclosure(s, who.actor, plan_id, notice_date))
    except YibaoError as exc:
        return await _page(request, who, errors={f"period-{plan_id}": of_error(texts_of(request), exc)})
    return redirect("/platform/?done=disclosure#periods")


@router.post("/plans/{plan_id}/closure")
async def finish_closure(request: Request, plan_id: str) -> Response:
    """Finish a plan's closure (yibao.mutual_aid.closing.finish): the final period on the chosen notice day, today."""
    who = session.signed_in(request, Role.PLATFORM_OPERATOR)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    folder = data_dir(request)
    try:
        notice = _notice_date(form)
        await in_store(request, lambda s: closing.finish(s, who.actor, plan_id, notice, utcnow().date(), folder))
    except YibaoError as exc:
        return await _page(request, who, errors={f"closure-{plan_id}": of_error(texts_of(request), exc)})
    return redirect("/platform/?done=closure#closure")
