"""`/counter/`: a hospital cashier at a desk — scan the member's e-card, see who it is and whether they are covered
today, enter the bill, pre-settle (nothing stored), settle, print the settlement statement (结算单); the day's
claims; what the funds owe this facility.

The person always comes from the verified card token, never from a form field; facility level and region come
from the facility's registration; the claim id is made when the bill form is shown and is the idempotency key,
so a repeated confirmation returns the first settlement."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from yibao.core.errors import YibaoError
from yibao.core.money import format_yuan
from yibao.http.claims import claim_view
from yibao.ops import cards, claims, hospital_payments, ledger, lists, registry
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import Forbidden, NotFound
from yibao.ops.schemas import ClaimIn, CorrectionIn
from yibao.ops.store import utcnow
from yibao.web import session
from yibao.web.messages import field_errors, of_error
from yibao.web.render import in_store, redirect, render, secret, store_of, texts_of

router = APIRouter(prefix="/counter")
BILL_FIELDS = ("care_type", "amount_class_a", "amount_class_b", "amount_self_pay", "amount_special_drugs", "diagnosis")


def _cashier(request: Request) -> tuple[Principal, str]:
    who = session.signed_in(request, Role.FACILITY)
    if who.facility_id is None:
        raise Forbidden("only a facility's cashier uses the counter", code="auth.forbidden")
    return who, who.facility_id


def _desk(s: Session, facility_id: str) -> dict[str, Any]:
    """What the counter always shows: the facility, today's claims and what the funds owe it."""
    today = utcnow().date()
    return {
        "facility": registry.facility(s, facility_id), "today": today,
        "todays_claims": lists.facility_claims(s, facility_id, today),
        "owed": ledger.owed_to_facility(s, facility_id),
        "months": hospital_payments.facility_months(s, facility_id),
    }


def _page(request: Request, who: Principal, desk: dict[str, Any], *, status: int = 200, **context: Any) -> Response:
    texts = texts_of(request)
    context.setdefault("errors", {})
    context.setdefault("bill", {})
    return render(request, "counter.html", status=status, who=who, title=texts.gettext("Hospital counter"),
                  **desk, **context)


@router.get("/")
async def counter_home(request: Request) -> Response:
    who, facility_id = _cashier(request)
    desk = await in_store(request, lambda s: _desk(s, facility_id))
    return _page(request, who, desk)


def _holder(s: Session, request: Request, token: str) -> cards.CardHolder:
    return cards.verify(s, secret(request, "card_secret"), token.strip(), utcnow().date())


@router.post("/card")
async def scan_card(request: Request) -> Response:
    """The scanner types the token into the field (a paste works the same): who it is, covered today or not."""
    who, facility_id = _cashier(request)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    token = str(form.get("token", ""))
    texts = texts_of(request)

    def work(s: Session) -> tuple[dict[str, Any], cards.CardHolder | None, str | None]:
        desk = _desk(s, facility_id)
        try:
            return desk, _holder(s, request, token), None
        except YibaoError as exc:
            return desk, None, of_error(texts, exc)

    desk, holder, problem = await in_store(request, work)
    if holder is None:
        return _page(request, who, desk, token=token, errors={"token": problem})
    claim_id = f"{facility_id}-{utcnow():%Y%m%d}-{uuid.uuid4().hex[:8]}"
    return _page(request, who, desk, token=token, holder=holder, claim_id=claim_id)


def _shown(row: Any) -> dict[str, Any]:
    """A pre-settled claim as the API shows a claim, with its explanation."""
    return {**claim_view(row), "explanation": dict(row.explanation)}


def _bill(form: FormData, facility: Any, person_id: str, claim_id: str) -> ClaimIn:
    values: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in BILL_FIELDS}
    for key in BILL_FIELDS[1:5]:
        values[key] = values[key] or "0"
    return ClaimIn(
        claim_id=claim_id, person_id=person_id, region=facility.region, facility_level=facility.level,
        service_date=utcnow().date(), **values,
    )


async def _checked_bill(request: Request, form: FormData, facility_id: str) -> tuple[Any, ...]:
    """The desk, the card holder and the bill from a submitted form, or the errors to show next to each field."""
    texts = texts_of(request)
    token, claim_id = str(form.get("token", "")), str(form.get("claim_id", ""))

    def work(s: Session) -> tuple[Any, ...]:
        desk = _desk(s, facility_id)
        try:
            holder = _holder(s, request, token)
        except YibaoError as exc:
            return desk, None, None, {"token": of_error(texts, exc)}
        try:
            return desk, holder, _bill(form, desk["facility"], holder.person_id, claim_id), {}
        except ValidationError as exc:
            return desk, holder, None, field_errors(texts, exc)

    result: tuple[Any, ...] = await in_store(request, work)
    return result


@router.post("/presettle")
async def presettle(request: Request) -> Response:
    """Pre-settlement: the same arithmetic as the settlement, nothing stored."""
    who, facility_id = _cashier(request)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    desk, holder, bill, errors = await _checked_bill(request, form, facility_id)
    shown = dict(form)
    context = {"token": form.get("token", ""), "holder": holder, "claim_id": form.get("claim_id", ""), "bill": shown}
    if bill is None:
        return _page(request, who, desk, errors=errors, **context)
    try:
        result = await run_in_threadpool(claims.presettle, store_of(request).engine, who.actor, facility_id, bill, _shown)
    except YibaoError as exc:
        return _page(request, who, desk, errors={"bill": of_error(texts_of(request), exc)}, **context)
    return _page(request, who, desk, presettled=result, **context)


@router.post("/settle")
async def settle(request: Request) -> Response:
    """Confirm: settle the bill (idempotent on its claim id) and show the statement to print."""
    who, facility_id = _cashier(request)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    desk, holder, bill, errors = await _checked_bill(request, form, facility_id)
    context = {"token": form.get("token", ""), "holder": holder, "claim_id": form.get("claim_id", ""), "bill": dict(form)}
    if bill is None:
        return _page(request, who, desk, errors=errors, **context)
    engine = store_of(request).engine
    try:
        await run_in_threadpool(claims.settle, engine, who.actor, facility_id, bill, bill.claim_id, _shown)
    except YibaoError as exc:
        return _page(request, who, desk, errors={"bill": of_error(texts_of(request), exc)}, **context)
    return redirect(f"/counter/claims/{bill.claim_id}/statement")


@router.get("/claims/{claim_id}/statement")
async def statement(request: Request, claim_id: str) -> Response:
    """The settlement statement (结算单) of one of this facility's claims, laid out to print."""
    who, facility_id = _cashier(request)

    def work(s: Session) -> dict[str, Any]:
        row = claims.claim(s, claim_id)
        if row.facility_id != facility_id:
            raise NotFound(f"no claim {claim_id}", code="claim.not_found")
        person = registry.person(s, row.person_id)
        return {"claim": row, "person_name": person.name, "facility": registry.facility(s, facility_id)}

    found = await in_store(request, work)
    texts = texts_of(request)
    return render(request, "statement.html", who=who, title=texts.gettext("Settlement statement"), **found)


def _todays_own(s: Session, facility_id: str, claim_id: str) -> Any:
    """One of this facility's claims of today: the only ones the counter reverses or corrects."""
    row = claims.claim(s, claim_id)
    if row.facility_id != facility_id or row.service_date != utcnow().date():
        raise NotFound(f"no claim {claim_id} of today", code="claim.not_found")
    return row


@router.post("/claims/{claim_id}/reverse")
async def reverse(request: Request, claim_id: str) -> Response:
    """Withdraw one of today's claims (a reason is required and kept in the audit event)."""
    who, facility_id = _cashier(request)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    reason = str(form.get("reason", "")).strip()

    def work(s: Session) -> None:
        _todays_own(s, facility_id, claim_id)
        if not reason:
            raise YibaoError("reason", code="web.reason_required")
        claims.reverse(s, who.actor, claim_id, reason)

    try:
        await in_store(request, work)
    except YibaoError as exc:
        desk = await in_store(request, lambda s: _desk(s, facility_id))
        return _page(request, who, desk, errors={f"reverse-{claim_id}": of_error(texts_of(request), exc)})
    return redirect("/counter/#today-h")


def _correction_page(request: Request, who: Principal, row: Any, facility: Any, errors: dict[str, str],
                     bill: dict[str, Any]) -> Response:
    texts = texts_of(request)
    return render(request, "counter_correct.html", who=who, title=texts.gettext("Correct a claim"), claim=row,
                  facility=facility, errors=errors, bill=bill)


@router.get("/claims/{claim_id}/correct")
async def correction_form(request: Request, claim_id: str) -> Response:
    who, facility_id = _cashier(request)
    row, facility = await in_store(request, lambda s: (_todays_own(s, facility_id, claim_id), registry.facility(s, facility_id)))
    bill = {"care_type": row.care_type, "diagnosis": row.diagnosis,
            **{key: format_yuan(getattr(row, column)) for key, column in AMOUNT_COLUMNS.items()}}
    return _correction_page(request, who, row, facility, {}, bill)


AMOUNT_COLUMNS = {"amount_class_a": "class_a", "amount_class_b": "class_b", "amount_self_pay": "self_pay",
                  "amount_special_drugs": "special_drugs"}


@router.post("/claims/{claim_id}/correct")
async def correct(request: Request, claim_id: str) -> Response:
    """Replace the bill of one of today's claims (with a reason); the year is re-settled, differences posted."""
    who, facility_id = _cashier(request)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    reason = str(form.get("reason", "")).strip()

    def work(s: Session) -> tuple[Any, Any, dict[str, str]]:
        row, facility = _todays_own(s, facility_id, claim_id), registry.facility(s, facility_id)
        try:
            bill = _bill(form, facility, row.person_id, claim_id)
        except ValidationError as exc:
            return row, facility, field_errors(texts, exc)
        if not reason:
            return row, facility, {"reason": of_error(texts, YibaoError("reason", code="web.reason_required"))}
        correction = CorrectionIn(**bill.model_dump(include=set(CorrectionIn.model_fields)))
        claims.correct(s, who.actor, claim_id, correction, reason)
        return row, facility, {}

    try:
        row, facility, errors = await in_store(request, work)
    except YibaoError as exc:
        row, facility = await in_store(request, lambda s: (claims.claim(s, claim_id), registry.facility(s, facility_id)))
        errors = {"bill": of_error(texts, exc)}
    if errors:
        return _correction_page(request, who, row, facility, errors, dict(form))
    return redirect(f"/counter/claims/{claim_id}/statement")
