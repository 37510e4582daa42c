"""The HTTP routes. Each mutation runs in one transaction with its audit event; errors roll it back."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.money import format_yuan, parse_yuan
from yibao.core.scheme import LayerKind
from yibao.ops import audit, cards, claims, contributions, ledger, registry, sessions
from yibao.ops.api.deps import caller, check_person, check_region, in_thread, json_response, require, secret, store_of
from yibao.ops.auth import Principal, Role, add_user
from yibao.ops.errors import Forbidden, NotFound
from yibao.ops.ledger import LAYER_ACCOUNT
from yibao.ops.privacy import masked_record, shown_ric
from yibao.ops.schemas import (
    AssistanceIn,
    ClaimIn,
    CorrectionIn,
    DonationIn,
    EmployerIn,
    EnrolmentIn,
    FacilityIn,
    HouseholdIn,
    PaymentIn,
    PersonIn,
    RegionIn,
    UserIn,
)
from yibao.ops.store import ClaimRow, Contribution, Enrolment, PersonRow

Officer = Annotated[Principal, Depends(require(Role.OFFICER))]
Reader = Annotated[Principal, Depends(caller)]
Admin = Annotated[Principal, Depends(require())]

router = APIRouter()
# The claims route has a router of its own, included first: FastAPI tries routes in order, twice per request,
# and the busiest route should not be matched after thirty others.
claims_router = APIRouter()


class LoginIn(BaseModel):
    username: str
    password: str


class TokenIn(BaseModel):
    token: str


def _enrolment_view(row: Enrolment) -> dict[str, Any]:
    return {
        "id": row.id, "person_id": row.person_id, "year": row.year, "scheme": row.scheme, "status": row.status,
        "huiminbao": row.huiminbao, "wage_base": None if row.wage_base is None else format_yuan(row.wage_base),
    }


def _contribution_view(row: Contribution) -> dict[str, Any]:
    return {
        "id": row.id, "enrolment_id": row.enrolment_id, "region": row.region, "year": row.year, "source": row.source,
        "amount": format_yuan(row.amount), "status": row.status, "channel": row.channel,
        "payment_reference": row.payment_reference, "paid_at": None if row.paid_at is None else row.paid_at.isoformat(),
    }


def _person_view(row: PersonRow, who: Principal) -> dict[str, Any]:
    view = audit.snapshot(row) or {}
    view["annual_income"] = format_yuan(row.annual_income)
    view["ric"] = shown_ric(who, row.person_id, row.region, row.ric)
    return view


# --- authentication and users ---


@router.post("/auth/login", tags=["auth"])
def post_login(request: Request, body: LoginIn) -> dict[str, Any]:
    """Exchange a user name and password for a short-lived bearer token and a refresh token (POST /auth/refresh).
    Failed logins are throttled per account and per client address (429 with `Retry-After`)."""
    address = request.client.host if request.client else None
    return sessions.login(store_of(request), secret(request, "token_secret"), body.username, body.password, address).body()


@router.get("/me", tags=["auth"])
def get_me(who: Reader) -> dict[str, Any]:
    return {"username": who.username, "role": who.role.value, "person_id": who.person_id,
            "facility_id": who.facility_id, "regions": list(who.regions), "layer": who.layer}


@router.post("/users", tags=["auth"], status_code=201)
def post_user(request: Request, body: UserIn, who: Admin) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        user = add_user(s, who.actor, body)
        return {"username": user.username, "role": user.role}


# --- registry ---


@router.post("/regions", tags=["registry"], status_code=201)
def post_region(request: Request, body: RegionIn, who: Admin) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        row = registry.add_region(s, who.actor, body)
        return {"code": row.code, "name": row.name, "scheme_name": row.scheme_name, "average_wage": format_yuan(row.average_wage)}


@router.get("/regions", tags=["registry"])
def get_regions(request: Request, who: Reader) -> list[dict[str, Any]]:
    from yibao.ops.store import Region

    with store_of(request).transaction() as s:
        rows = s.execute(select(Region).order_by(Region.code)).scalars()
        return [{"code": r.code, "name": r.name, "scheme_name": r.scheme_name} for r in rows]


@router.post("/facilities", tags=["registry"], status_code=201)
def post_facility(request: Request, body: FacilityIn, who: Officer) -> dict[str, Any]:
    check_region(who, body.region)
    with store_of(request).transaction() as s:
        row = registry.add_facility(s, who.actor, body)
        return {"id": row.id, "name": row.name, "region": row.region, "level": row.level}


@router.post("/employers", tags=["registry"], status_code=201)
def post_employer(request: Request, body: EmployerIn, who: Officer) -> dict[str, Any]:
    check_region(who, body.region)
    with store_of(request).transaction() as s:
        row = registry.add_employer(s, who.actor, body)
        return {"id": row.id, "uscc": row.uscc, "name": row.name, "region": row.region}


@router.post("/households", tags=["registry"], status_code=201)
def post_household(request: Request, body: HouseholdIn, who: Officer) -> dict[str, Any]:
    check_region(who, body.region)
    with store_of(request).transaction() as s:
        row = registry.add_household(s, who.actor, body)
        return {"id": row.id, "region": row.region, "address": row.address}


@router.post("/persons", tags=["registry"], status_code=201)
def post_person(request: Request, body: PersonIn, who: Officer) -> dict[str, Any]:
    check_region(who, body.region)
    with store_of(request).transaction() as s:
        return _person_view(registry.add_person(s, who.actor, body), who)


@router.post("/persons/import", tags=["registry"])
async def post_person_import(request: Request, who: Officer, year: int = Query(ge=2000, le=2100)) -> dict[str, Any]:
    """Register (and enrol) every row of a CSV body (`text/csv`), or none; errors name each bad line."""
    text = (await request.body()).decode("utf-8-sig")

    def run() -> int:
        with store_of(request).transaction() as s:
            count = registry.import_persons(s, who.actor, text, year, file_name="upload.csv")
            if who.role is Role.OFFICER:
                regions = s.execute(select(PersonRow.region).where(PersonRow.person_id.in_(_ids(text)))).scalars()
                for code in set(regions):
                    check_region(who, code)  # raising rolls the whole import back
            return count

    return {"imported": await run_in_threadpool(run)}


def _ids(text: str) -> list[str]:
    import csv
    import io

    return [row.get("person_id", "") for row in csv.DictReader(io.StringIO(text))]


def _person(s: Session, who: Principal, person_id: str) -> PersonRow:
    row = registry.person(s, person_id)
    check_person(who, person_id, row.region)
    return row


@router.get("/persons/{person_id}", tags=["registry"])
def get_person(request: Request, person_id: str, who: Reader) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return _person_view(_person(s, who, person_id), who)


@router.post("/persons/{person_id}/assistance", tags=["registry"], status_code=201)
def post_assistance(request: Request, person_id: str, body: AssistanceIn, who: Officer) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        _person(s, who, person_id)
        row = registry.add_assistance(s, who.actor, person_id, body)
        return {"id": row.id, "category": row.category, "valid_from": str(row.valid_from), "valid_to": row.valid_to and str(row.valid_to)}


@router.post("/persons/{person_id}/enrolments", tags=["registry"], status_code=201)
def post_enrolment(request: Request, person_id: str, body: EnrolmentIn, who: Officer) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        _person(s, who, person_id)
        row = registry.enrol(s, who.actor, person_id, body)
        due = s.execute(select(Contribution).where(Contribution.enrolment_id == row.id).order_by(Contribution.id)).scalars()
        return {**_enrolment_view(row), "contributions": [_contribution_view(c) for c in due]}


@router.get("/persons/{person_id}/enrolments", tags=["registry"])
def get_enrolments(request: Request, person_id: str, who: Reader) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        _person(s, who, person_id)
        rows = s.execute(select(Enrolment).where(Enrolment.person_id == person_id).order_by(Enrolment.year)).scalars()
        return [_enrolment_view(r) for r in rows]


@router.get("/persons/{person_id}/contributions", tags=["contributions"])
def get_contributions(request: Request, person_id: str, who: Reader) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        _person(s, who, person_id)
        rows = s.execute(
            select(Contribution).join(Enrolment, Contribution.enrolment_id == Enrolment.id)
            .where(Enrolment.person_id == person_id).order_by(Contribution.id)
        ).scalars()
        return [_contribution_view(r) for r in rows]


@router.get("/persons/{person_id}/claims", tags=["claims"])
def get_person_claims(request: Request, person_id: str, who: Reader) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        _person(s, who, person_id)
        rows = s.execute(
            select(ClaimRow).where(ClaimRow.person_id == person_id).order_by(ClaimRow.service_date, ClaimRow.claim_id)
        ).scalars()
        return [claims.view(r) for r in rows]


# --- contributions ---


@router.post("/contributions/{contribution_id}/payments", tags=["contributions"])
def post_payment(request: Request, contribution_id: int, body: PaymentIn, who: Officer) -> dict[str, Any]:
    """A payment received at the counter or by bank transfer (idempotent on `reference`)."""
    with store_of(request).transaction() as s:
        _contribution_in_scope(s, who, contribution_id)
        row = contributions.record_payment(s, who.actor, contribution_id, parse_yuan(body.amount), body.channel, body.reference)
        return _contribution_view(row)


def _contribution_in_scope(s: Session, who: Principal, contribution_id: int) -> None:
    """Refuse an unknown contribution, or one of a region the officer does not serve."""
    due = s.get(Contribution, contribution_id)
    if due is None:
        raise NotFound(f"no contribution {contribution_id}", code="contribution.not_found")
    check_region(who, due.region)


class CancelIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


@router.post("/contributions/{contribution_id}/cancel", tags=["contributions"])
def post_cancel_contribution(request: Request, contribution_id: int, body: CancelIn, who: Officer) -> dict[str, Any]:
    """Write off a contribution still due (its receivable is reversed); it can no longer be paid."""
    with store_of(request).transaction() as s:
        _contribution_in_scope(s, who, contribution_id)
        return _contribution_view(contributions.cancel(s, who.actor, contribution_id, body.reason))


@router.post("/donations", tags=["contributions"], status_code=201)
def post_donation(request: Request, body: DonationIn, who: Officer) -> dict[str, Any]:
    check_region(who, body.region)
    with store_of(request).transaction() as s:
        row = contributions.receive_donation(s, who.actor, body.region, body.year, parse_yuan(body.amount), body.channel, body.reference)
        return _contribution_view(row)


@router.post("/payments/notify", tags=["contributions"])
async def post_payment_notification(
    request: Request, x_yibao_signature: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    """The mobile-payment callback: JSON {out_trade_no, transaction_id, total_fee, channel}, header
    `X-Yibao-Signature` = hex HMAC-SHA256 of the raw body. A repeated notification changes nothing."""
    body = await request.body()

    def run() -> dict[str, Any]:
        with store_of(request).transaction() as s:
            row = contributions.notification(s, secret(request, "payment_secret"), body, x_yibao_signature)
            return {"return_code": "SUCCESS", "contribution": _contribution_view(row)}

    return await run_in_threadpool(run)


# --- cards ---


@router.post(
    "/persons/{person_id}/cards", tags=["cards"], status_code=201, response_model=None,
    responses={201: {"content": {"image/png": {}, "image/svg+xml": {}}}},
)
def post_card(
    request: Request, person_id: str, who: Annotated[Principal, Depends(require(Role.MEMBER, Role.OFFICER))],
    format: Annotated[Literal["json", "svg", "png"], Query(description="json: the card with its QR code as SVG text; "
                                                            "svg or png: the QR image itself, the card in X-Card-* headers")] = "json",
) -> dict[str, Any] | Response:
    """Issue an e-insurance card: a signed token valid for a day, and its QR code (SVG or PNG)."""
    with store_of(request).transaction() as s:
        _person(s, who, person_id)
        card = cards.issue(s, who.actor, secret(request, "card_secret"), person_id)
    if format == "json":
        return {"jti": card.jti, "token": card.token, "expires_at": card.expires_at, "qr_svg": cards.qr_svg(card.token)}
    headers = {"X-Card-Id": card.jti, "X-Card-Token": card.token, "X-Card-Expires": card.expires_at}
    if format == "png":
        return Response(cards.qr_png(card.token), status_code=201, media_type="image/png", headers=headers)
    return Response(cards.qr_svg(card.token), status_code=201, media_type="image/svg+xml", headers=headers)


@router.post("/cards/verify", tags=["cards"])
def post_card_verify(
    request: Request, body: TokenIn, who: Annotated[Principal, Depends(require(Role.FACILITY, Role.OFFICER))],
    on: date | None = None,
) -> dict[str, Any]:
    """What a facility learns from a presented card: the member and their enrolment."""
    with store_of(request).transaction() as s:
        holder = cards.verify(s, secret(request, "card_secret"), body.token, on)
        if who.role is Role.OFFICER:
            check_region(who, holder.region)
        return asdict(holder)


@router.post("/cards/{jti}/revoke", tags=["cards"])
def post_card_revoke(request: Request, jti: str, who: Annotated[Principal, Depends(require(Role.MEMBER, Role.OFFICER))]) -> dict[str, Any]:
    from yibao.ops.store import Card

    with store_of(request).transaction() as s:
        card = s.get(Card, jti)
        if card is None:
            raise NotFound(f"no card {jti}", code="card.not_found")
        _person(s, who, card.person_id)
        row = cards.revoke(s, who.actor, jti)
        return {"jti": row.jti, "revoked_at": row.revoked_at and row.revoked_at.isoformat()}


# --- claims ---


@claims_router.post("/claims", tags=["claims"], status_code=201, response_model=dict[str, Any])
async def post_claim(
    request: Request, body: ClaimIn, who: Annotated[Principal, Depends(require(Role.FACILITY))],
    idempotency_key: Annotated[str, Header(min_length=1, max_length=128)],
) -> Response:
    """Settle a bill through every layer and post it; repeat with the same `Idempotency-Key` safely."""
    # the busiest route: its transaction runs on the claims thread pool (one hand-off), and its answer is
    # serialised here to the very bytes FastAPI would send for the same dict
    facility_id = who.facility_id
    if facility_id is None:
        raise Forbidden("only a facility submits claims", code="auth.forbidden")
    engine = store_of(request).engine
    return json_response(
        await in_thread(lambda: claims.settle(engine, who.actor, facility_id, body, idempotency_key)), status_code=201
    )


def _claim(s: Session, who: Principal, claim_id: str) -> ClaimRow:
    row = claims.claim(s, claim_id)
    if who.role is Role.FACILITY:
        if row.facility_id != who.facility_id:
            raise NotFound(f"no claim {claim_id}", code="claim.not_found")
        return row
    if who.role is Role.INSURER:
        raise Forbidden("insurers see their layer's figures in the ledger report", code="auth.forbidden")
    try:
        _person(s, who, row.person_id)
    except NotFound:
        raise NotFound(f"no claim {claim_id}", code="claim.not_found") from None
    return row


@router.get("/claims/{claim_id}", tags=["claims"])
def get_claim(request: Request, claim_id: str, who: Reader) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return claims.view(_claim(s, who, claim_id))


@router.get("/claims/{claim_id}/explanation", tags=["claims"], response_model=None)
def get_explanation(
    request: Request, claim_id: str, who: Reader, lang: Literal["en", "zh"] = "en", format: Literal["json", "text"] = "json"
) -> dict[str, Any] | PlainTextResponse:
    """For every layer, the arithmetic that produced its figure (English or Chinese)."""
    with store_of(request).transaction() as s:
        explanation: dict[str, Any] = dict(_claim(s, who, claim_id).explanation.get(lang, {}))
    if format == "text":
        return PlainTextResponse(_text(explanation, lang))
    return explanation


def _text(explanation: dict[str, Any], lang: Literal["en", "zh"]) -> str:
    """The stored explanation as lines, laid out as `yibao.core.explain.Explanation.text` does."""
    from yibao.core.explain import word

    lines = list(explanation.get("header", []))
    for layer in explanation.get("layers", []):
        lines.append(f"■ {layer['title']}: {word('layer_paid', lang)} {layer['paid']}")
        for part in layer["parts"]:
            if part["eligible"]:
                lines.append(f"  · {part['title']}")
                lines.extend(f"      {step}" for step in part["steps"])
    lines.append(f"{word('out_of_pocket', lang)}: {explanation.get('out_of_pocket', '')}")
    return "\n".join(lines) + "\n"


def _claim_for_change(s: Session, who: Principal, claim_id: str) -> None:
    row = claims.claim(s, claim_id)
    check_region(who, registry.person(s, row.person_id).region)


@router.post("/claims/{claim_id}/reverse", tags=["claims"])
def post_reverse(request: Request, claim_id: str, who: Officer) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        _claim_for_change(s, who, claim_id)
        return claims.view(claims.reverse(s, who.actor, claim_id))


@router.post("/claims/{claim_id}/correct", tags=["claims"])
def post_correct(request: Request, claim_id: str, body: CorrectionIn, who: Officer) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        _claim_for_change(s, who, claim_id)
        return claims.view(claims.correct(s, who.actor, claim_id, body))


# --- ledger and audit ---


@router.get("/ledger/trial-balance", tags=["ledger"])
def get_trial_balance(
    request: Request, who: Annotated[Principal, Depends(require(Role.OFFICER, Role.INSURER, Role.AUDITOR))],
    region: str | None = None, year: int | None = None,
) -> dict[str, Any]:
    """Debit and credit per account, derived from the postings. Officers see their regions, insurers their layer."""
    regions = list(who.regions) if who.role is Role.OFFICER else None
    kinds = None
    if who.role is Role.INSURER:
        kinds = [LAYER_ACCOUNT[LayerKind(who.layer)].value] if who.layer is not None else []
    with store_of(request).transaction() as s:
        tb = ledger.trial_balance(s, region=region, year=year, kinds=kinds, regions=regions)
    return {
        "accounts": [
            {"account": r.account, "kind": r.kind, "debit": format_yuan(r.debit), "credit": format_yuan(r.credit),
             "balance": format_yuan(r.balance)}
            for r in tb.rows
        ],
        "total_debit": format_yuan(tb.total_debit),
        "total_credit": format_yuan(tb.total_credit),
        "balanced": tb.balanced,
    }


@router.get("/ledger/entries", tags=["ledger"])
def get_entries(
    request: Request, who: Annotated[Principal, Depends(require(Role.OFFICER, Role.AUDITOR))],
    reference: str | None = None, limit: int = Query(500, ge=1, le=5000),
) -> list[dict[str, Any]]:
    """Journal entries with their postings (e.g. `reference=claim:C1`)."""
    with store_of(request).transaction() as s:
        found = ledger.entries(s, reference=reference, limit=limit)
    out = []
    for entry, postings in found:
        if who.role is Role.OFFICER and any(p.region not in who.regions for p in postings):
            continue
        out.append({
            "id": entry.id, "posted_at": entry.posted_at.isoformat(), "kind": entry.kind, "reference": entry.reference,
            "description": entry.description, "actor": entry.actor,
            "postings": [{"account": p.account, "amount": format_yuan(p.amount)} for p in postings],
        })
    return out


@router.get("/audit", tags=["audit"])
def get_audit(
    request: Request, who: Annotated[Principal, Depends(require(Role.AUDITOR))],
    entity: str | None = None, entity_id: str | None = None, limit: int = Query(500, ge=1, le=5000),
) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        rows = audit.events(s, entity, entity_id, limit)
        return [
            {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "entity": e.entity,
             "entity_id": e.entity_id, "before": masked_record(who, e.before), "after": masked_record(who, e.after)}
            for e in rows
        ]
