"""Claim routes: a facility's bill settled one-stop, the claim, its explanation, reversal and correction."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.explain import render_text
from yibao.core.money import format_yuan
from yibao.http.deps import (
    Officer,
    Reader,
    check_region,
    in_thread,
    json_response,
    person_in_scope,
    require,
    store_of,
)
from yibao.ops import claims, registry
from yibao.ops.auth import Principal, Role
from yibao.ops.claims import AnyClaim
from yibao.ops.errors import Forbidden, NotFound
from yibao.ops.schemas import ClaimIn, CorrectionIn, Identifier
from yibao.ops.store import ClaimRow

router = APIRouter(tags=["claims"])
# The claims route has a router of its own, included first: FastAPI tries routes in order, twice per request,
# and the busiest route should not be matched after thirty others.
submit_router = APIRouter(tags=["claims"])
Facility = Annotated[Principal, Depends(require(Role.FACILITY))]


def claim_view(row: AnyClaim) -> dict[str, Any]:
    """A claim as the API shows it: the bill, the per-layer split and the out-of-pocket, in yuan."""
    return {
        "claim_id": row.claim_id,
        "person_id": row.person_id,
        "facility_id": row.facility_id,
        "service_date": row.service_date.isoformat(),
        "region": row.region,
        "facility_level": row.facility_level,
        "care_type": row.care_type,
        "amount_class_a": format_yuan(row.class_a),
        "amount_class_b": format_yuan(row.class_b),
        "amount_self_pay": format_yuan(row.self_pay),
        "amount_special_drugs": format_yuan(row.special_drugs),
        "diagnosis": row.diagnosis,
        "status": row.status,
        "scheme": row.scheme_name,
        "paid": {layer: format_yuan(fen) for layer, fen in row.split.items()},
        "out_of_pocket": format_yuan(row.out_of_pocket),
    }


@submit_router.post("/claims", status_code=201, response_model=dict[str, Any])
async def post_claim(
    request: Request, body: ClaimIn, who: Facility,
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
        await in_thread(lambda: claims.settle(engine, who.actor, facility_id, body, idempotency_key, claim_view)),
        status_code=201,
    )


@router.get("/persons/{person_id}/claims")
def get_person_claims(request: Request, person_id: Identifier, who: Reader) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        rows = s.execute(
            select(ClaimRow).where(ClaimRow.person_id == person_id).order_by(ClaimRow.service_date, ClaimRow.claim_id)
        ).scalars()
        return [claim_view(r) for r in rows]


def _claim(s: Session, who: Principal, claim_id: str) -> ClaimRow:
    if who.role is Role.INSURER:  # refused before any lookup: the answer does not depend on the claim
        raise Forbidden("insurers see their layer's figures in the ledger report", code="auth.forbidden")
    row = claims.claim(s, claim_id)
    if who.role is Role.FACILITY:
        if row.facility_id != who.facility_id:
            raise NotFound(f"no claim {claim_id}", code="claim.not_found")
        return row
    try:
        person_in_scope(s, who, row.person_id)
    except NotFound:
        raise NotFound(f"no claim {claim_id}", code="claim.not_found") from None
    return row


@router.get("/claims/{claim_id}")
def get_claim(request: Request, claim_id: Identifier, who: Reader) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return claim_view(_claim(s, who, claim_id))


@router.get("/claims/{claim_id}/explanation", response_model=None)
def get_explanation(
    request: Request, claim_id: Identifier, who: Reader, lang: Literal["en", "zh"] = "en", format: Literal["json", "text"] = "json"
) -> dict[str, Any] | PlainTextResponse:
    """For every layer, the arithmetic that produced its figure (English or Chinese); `text` is the core's
    rendering, the same as `yibao settle --explain`."""
    with store_of(request).transaction() as s:
        explanation: dict[str, Any] = dict(_claim(s, who, claim_id).explanation.get(lang, {}))
    if format == "text":
        return PlainTextResponse(render_text(explanation) + "\n")
    return explanation


def _claim_for_change(s: Session, who: Principal, claim_id: str) -> None:
    row = claims.claim(s, claim_id)
    check_region(who, registry.person(s, row.person_id).region, NotFound(f"no claim {claim_id}", code="claim.not_found"))


@router.post("/claims/{claim_id}/reverse")
def post_reverse(request: Request, claim_id: Identifier, who: Officer) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        _claim_for_change(s, who, claim_id)
        return claim_view(claims.reverse(s, who.actor, claim_id))


@router.post("/claims/{claim_id}/correct")
def post_correct(request: Request, claim_id: Identifier, body: CorrectionIn, who: Officer) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        _claim_for_change(s, who, claim_id)
        return claim_view(claims.correct(s, who.actor, claim_id, body))
