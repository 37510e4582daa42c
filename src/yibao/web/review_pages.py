"""`/bureau/review/`: the claim review queue (yibao.ops.review_queue, docs/audit.md) of the officer's regions.

Flags raised by claim screening, ranked by score, with their reason code and the evidence; an officer accepts a
flag or rejects it with a reason (required), and draws a reproducible random sample of open flags for review;
decisions show who made them and when. Auditors (and admin) read every region's flags; every decision and draw is
audited by the service. A refusal is shown next to the field it concerns and nothing is stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from yibao.audit.screening import Reason
from yibao.core.errors import YibaoError
from yibao.http.deps import check_region
from yibao.ops import review_queue
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound
from yibao.ops.review_queue import Decision, FlagStatus
from yibao.web import session
from yibao.web.messages import N_, message, of_error
from yibao.web.render import in_store, redirect, render, texts_of

router = APIRouter(prefix="/bureau/review")
READERS = (Role.OFFICER, Role.AUDITOR, Role.ADMIN)
ACTORS = (Role.OFFICER, Role.ADMIN)
MAX_SAMPLE = 1000

LABELS = {
    Reason.DUPLICATE_BILL.value: N_("duplicate or near-duplicate bill"),
    Reason.OVERLAPPING_STAY.value: N_("overlapping inpatient stay"),
    Reason.OUTSIDE_COVER.value: N_("outside cover (before enrolment, after death or removal)"),
    Reason.IMPLAUSIBLE_AMOUNT.value: N_("amount implausible for the diagnosis and facility level"),
    FlagStatus.OPEN.value: N_("open"), FlagStatus.ACCEPTED.value: N_("accepted"),
    FlagStatus.REJECTED.value: N_("rejected"),
}
DONE = {
    "accept": N_("The flag was accepted."),
    "reject": N_("The flag was rejected."),
    "sample": N_("A sample was drawn for review."),
}


def _scope(who: Principal) -> tuple[str, ...] | None:
    return who.regions if who.role is Role.OFFICER else None


def _text(form: FormData, key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _status(value: str) -> FlagStatus | None:
    return FlagStatus(value) if value in {s.value for s in FlagStatus} else None


async def _page(request: Request, who: Principal, *, status: str = "open", sampled: str = "",
                errors: dict[str, str] | None = None, form: dict[str, Any] | None = None, done: str = "",
                drawn: int | None = None) -> Response:
    wanted = _status(status)
    only_sampled = True if sampled == "1" else None

    def work(s: Session) -> list[dict[str, Any]]:
        return [review_queue.view(r) for r in review_queue.queue(s, wanted, _scope(who), None, only_sampled, 200)]

    flags = await in_store(request, work)
    texts = texts_of(request)
    notice = texts.gettext(DONE[done]) if done in DONE else ""
    if done == "sample" and drawn is not None:
        notice = texts.gettext("Flags drawn for review: {count}.", count=drawn)
    return render(request, "review_queue.html", who=who, title=texts.gettext("Claim review queue"), flags=flags,
                  shown_status=wanted.value if wanted else "", sampled=sampled == "1", errors=errors or {},
                  form=form or {}, done=notice, may_act=who.role in ACTORS,
                  statuses=[s.value for s in FlagStatus],
                  code_label=lambda code: texts.gettext(LABELS[code]) if code in LABELS else str(code))


@router.get("/")
async def queue_page(request: Request, status: str = "open", sampled: str = "", done: str = "",
                     drawn: int | None = None) -> Response:
    who = session.signed_in(request, *READERS)
    return await _page(request, who, status=status, sampled=sampled, done=done, drawn=drawn)


@router.post("/flags/{flag_id}/decision")
async def decide(request: Request, flag_id: int) -> Response:
    """Accept a flag, or reject it with a reason; refused next to the flag's reason field, nothing stored."""
    who = session.signed_in(request, *ACTORS)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    choice, reason = _text(form, "decision"), _text(form, "reason")
    back = {"status": _text(form, "status") or "open", "sampled": _text(form, "sampled")}  # the list shown
    if choice not in {d.value for d in Decision}:
        return await _page(request, who, status=back["status"], sampled=back["sampled"],
                           errors={f"reason-{flag_id}": message(texts, "web.choice")},
                           form={"flag": flag_id, "reason": reason})

    def run(s: Session) -> None:
        if not 0 < flag_id < 2**63:  # a number no row can have: missing (the database cannot bind it)
            raise NotFound(f"no review flag {flag_id}", code="review.not_found")
        row = review_queue.flag(s, flag_id)
        check_region(who, row.region, NotFound(f"no review flag {flag_id}", code="review.not_found"))
        review_queue.decide(s, who.actor, flag_id, Decision(choice), reason[:400])

    try:
        await in_store(request, run)
    except YibaoError as exc:
        return await _page(request, who, status=back["status"], sampled=back["sampled"],
                           errors={f"reason-{flag_id}": of_error(texts, exc)}, form={"flag": flag_id, "reason": reason})
    return redirect(f"/bureau/review/?status={back['status']}&sampled={back['sampled']}&done={choice}")


@router.post("/sample")
async def draw_sample(request: Request) -> Response:
    """Draw open flags of the officer's regions at random for review (reproducible from the seed)."""
    who = session.signed_in(request, *ACTORS)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    size_text, seed_text = _text(form, "size"), _text(form, "seed") or "0"
    errors: dict[str, str] = {}
    if not size_text:
        errors["sample-size"] = message(texts, "web.required")
    elif not size_text.isdigit() or int(size_text) > MAX_SAMPLE:
        errors["sample-size"] = message(texts, "web.invalid")
    elif int(size_text) < 1:
        errors["sample-size"] = message(texts, "review.bad_sample")
    if not seed_text.isdigit():
        errors["sample-seed"] = message(texts, "web.invalid")
    if errors:
        return await _page(request, who, errors=errors, form={"size": size_text, "seed": seed_text})

    def run(s: Session) -> int:
        return len(review_queue.sample(s, who.actor, int(size_text), int(seed_text), _scope(who)))

    try:
        drawn = await in_store(request, run)
    except YibaoError as exc:
        return await _page(request, who, errors={"sample-size": of_error(texts, exc)},
                           form={"size": size_text, "seed": seed_text})
    return redirect(f"/bureau/review/?status=open&sampled=1&done=sample&drawn={drawn}")
