"""`/bureau/payments/`: paying hospitals (yibao.ops.hospital_payments, docs/operations.md "Paying hospitals").

An officer of the region makes the month's statements (月度结算单) and a payment batch, downloads the batch's
bank file, uploads the bank's confirmation, and decides the year's quality deposits; auditors (and admin) read
every region's. A refusal is shown next to the form it concerns, in the user's language (a bad confirmation
names its line and column), and nothing is stored."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from yibao.core.errors import InputError, YibaoError
from yibao.core.money import parse_yuan
from yibao.http.deps import check_region
from yibao.ops import hospital_payments, payment_files
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound
from yibao.ops.store import Region
from yibao.web import session
from yibao.web.messages import N_, message, of_error
from yibao.web.render import in_store, redirect, render, texts_of

router = APIRouter(prefix="/bureau/payments")
READERS = (Role.OFFICER, Role.AUDITOR, Role.ADMIN)
ACTORS = (Role.OFFICER, Role.ADMIN)
MAX_FILE = 10 * 1024 * 1024  # bytes of a confirmation file
DONE = {
    "statements": N_("The month's statements were made."),
    "batch": N_("The payment batch was made; download its bank file."),
    "year_end": N_("The quality deposits were decided."),
}
STATUS = {"sent": N_("sent"), "paid": N_("paid to the facility"), "failed": N_("transfer failed")}


def _regions(s: Session, who: Principal) -> list[str]:
    if who.role is Role.OFFICER:
        return list(who.regions)
    return list(s.execute(select(Region.code).order_by(Region.code)).scalars())


def _text(form: FormData, key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _view(s: Session, who: Principal, region: str) -> dict[str, Any]:
    regions = _regions(s, who)
    region = region if region in regions else (regions[0] if regions else "")
    shown: dict[str, Any] = {"regions": regions, "region": region, "statements": [], "batches": []}
    if region:
        check_region(who, region)
        shown["statements"] = list(reversed(hospital_payments.statements(s, region=region)))
        shown["batches"] = [hospital_payments.batch(s, b.batch_id) for b in reversed(hospital_payments.batches(s, region=region))]
    return shown


async def _page(request: Request, who: Principal, region: str = "", *, errors: dict[str, str] | None = None,
                form: dict[str, Any] | None = None, done: str = "", result: str = "") -> Response:
    shown = await in_store(request, lambda s: _view(s, who, region))
    texts = texts_of(request)
    return render(request, "bureau_payments.html", who=who, title=texts.gettext("Paying hospitals"),
                  errors=errors or {}, form=form or {}, done=texts.gettext(DONE[done]) if done in DONE else "",
                  result=result, may_act=who.role in ACTORS,
                  status_label=lambda code: texts.gettext(STATUS[code]) if code in STATUS else code, **shown)


@router.get("/")
async def payments_page(request: Request, region: str = "", done: str = "") -> Response:
    who = session.signed_in(request, *READERS)
    return await _page(request, who, region, done=done)


async def _month_action(request: Request, action: str) -> Response:
    who = session.signed_in(request, *ACTORS)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    region, month = _text(form, "region"), _text(form, "month")
    texts = texts_of(request)

    def run(s: Session) -> None:
        check_region(who, region)
        if action == "statements":
            hospital_payments.settle_month(s, who.actor, region, month)
        else:
            hospital_payments.make_batch(s, who.actor, region, month)

    if not month:
        return await _page(request, who, region, errors={"month": message(texts, "web.required")}, form=dict(form))
    try:
        await in_store(request, run)
    except YibaoError as exc:
        return await _page(request, who, region, errors={"month": of_error(texts, exc)}, form=dict(form))
    return redirect(f"/bureau/payments/?region={quote(region)}&done={action}")


@router.post("/statements")
async def make_statements(request: Request) -> Response:
    return await _month_action(request, "statements")


@router.post("/batches")
async def make_batch(request: Request) -> Response:
    return await _month_action(request, "batch")


@router.get("/batches/{batch_id}/file")
async def batch_file(request: Request, batch_id: str) -> Response:
    """The batch's bank file, as the API's GET /payments/batches/{batch_id}/file gives it."""
    who = session.signed_in(request, *READERS)

    def run(s: Session) -> tuple[str, str]:
        row, lines = hospital_payments.batch(s, batch_id)
        check_region(who, row.region, NotFound(f"no payment batch {batch_id!r}", code="payments.batch_not_found"))
        return row.batch_id, payment_files.bank_file(row, lines)

    name, text = await in_store(request, run)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.post("/confirmations")
async def upload_confirmation(request: Request) -> Response:
    """The bank's confirmation file, posted whole or refused naming its line and column."""
    who = session.signed_in(request, *ACTORS)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    region, upload = _text(form, "region"), form.get("confirmation")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, who, region, errors={"confirmation": message(texts, "web.required")})
    data = await upload.read(MAX_FILE + 1)
    name = upload.filename
    try:
        if len(data) > MAX_FILE:
            raise InputError("too large", file=name, code="payments.confirmation_invalid")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", file=name, line=1, code="payments.confirmation_invalid") from None
        regions = None if who.role is Role.ADMIN else tuple(who.regions)
        done = await in_store(request, lambda s: payment_files.confirm(s, who.actor, text, name, regions))
    except InputError as exc:
        shown = of_error(texts, exc)
        if exc.line:
            shown = texts.gettext("{error} (line {line}, column {column})", error=shown, line=exc.line,
                                  column=exc.column or "")
        return await _page(request, who, region, errors={"confirmation": shown})
    except YibaoError as exc:
        return await _page(request, who, region, errors={"confirmation": of_error(texts, exc)})
    result = texts.gettext("{paid} lines paid ({amount}), {failed} failed, {unchanged} already confirmed.",
                           paid=done.paid, amount=texts.yuan(done.amount_paid), failed=done.failed,
                           unchanged=done.unchanged)
    return await _page(request, who, region, result=result)


@router.post("/year-end")
async def year_end(request: Request) -> Response:
    """Release the year's quality deposits, keeping (with a reason) what the form names for one facility."""
    who = session.signed_in(request, *ACTORS)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    region, year, facility = _text(form, "region"), _text(form, "year"), _text(form, "keep_facility")
    amount, reason = _text(form, "keep_amount"), _text(form, "keep_reason")
    errors: dict[str, str] = {}
    if not year.isdigit() or not 2000 <= int(year) <= 2100:
        errors["year"] = message(texts, "web.required" if not year else "web.invalid")
    kept: dict[str, tuple[int, str]] = {}
    if facility:
        try:
            kept[facility] = (parse_yuan(amount), reason)
        except ValueError:
            errors["keep_amount"] = message(texts, "web.amount")
    if errors:
        return await _page(request, who, region, errors=errors, form=dict(form))

    def run(s: Session) -> None:
        check_region(who, region)
        hospital_payments.year_end(s, who.actor, region, int(year), kept)

    try:
        await in_store(request, run)
    except YibaoError as exc:
        field = {"payments.keep_exceeds": "keep_amount", "payments.reason_required": "keep_reason"}.get(exc.code, "year")
        return await _page(request, who, region, errors={field: of_error(texts, exc)}, form=dict(form))
    return redirect(f"/bureau/payments/?region={quote(region)}&done=year_end")
