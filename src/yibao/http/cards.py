"""E-insurance card routes: issue (JSON, SVG or PNG), verify at a facility, revoke."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from yibao.http.deps import check_region, instant, person_in_scope, require, secret, store_of
from yibao.ops import cards
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound, Rejected
from yibao.ops.schemas import Identifier
from yibao.ops.store import Card

router = APIRouter(tags=["cards"])
MemberOrOfficer = Annotated[Principal, Depends(require(Role.MEMBER, Role.OFFICER))]


class TokenIn(BaseModel):
    token: str


@router.post(
    "/persons/{person_id}/cards", status_code=201, response_model=None,
    responses={201: {"content": {"image/png": {}, "image/svg+xml": {}}}},
)
def post_card(
    request: Request, person_id: Identifier, who: MemberOrOfficer,
    format: Annotated[Literal["json", "svg", "png"], Query(description="json: the card with its QR code as SVG text; "
                                                            "svg or png: the QR image itself, the card in X-Card-* headers")] = "json",
) -> dict[str, Any] | Response:
    """Issue an e-insurance card: a signed token valid for a day, and its QR code (SVG or PNG)."""
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        card = cards.issue(s, who.actor, secret(request, "card_secret"), person_id)
    if format == "json":
        return {"jti": card.jti, "token": card.token, "expires_at": card.expires_at, "qr_svg": cards.qr_svg(card.token)}
    headers = {"X-Card-Id": card.jti, "X-Card-Token": card.token, "X-Card-Expires": card.expires_at}
    if format == "png":
        return Response(cards.qr_png(card.token), status_code=201, media_type="image/png", headers=headers)
    return Response(cards.qr_svg(card.token), status_code=201, media_type="image/svg+xml", headers=headers)


@router.post("/cards/verify")
def post_card_verify(
    request: Request, body: TokenIn, who: Annotated[Principal, Depends(require(Role.FACILITY, Role.OFFICER))],
    on: date | None = None,
) -> dict[str, Any]:
    """What a facility learns from a presented card: the member and their enrolment."""
    with store_of(request).transaction() as s:
        holder = cards.verify(s, secret(request, "card_secret"), body.token, on)
        if who.role is Role.OFFICER:  # another region's card is answered as an unknown one
            check_region(who, holder.region, Rejected("unknown card", code="card.invalid"))
        return asdict(holder)


@router.post("/cards/{jti}/revoke")
def post_card_revoke(request: Request, jti: Identifier, who: MemberOrOfficer) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        missing = NotFound(f"no card {jti}", code="card.not_found")
        card = s.get(Card, jti)
        if card is None:
            raise missing
        try:  # another's card is answered as a missing one
            person_in_scope(s, who, card.person_id)
        except NotFound:
            raise missing from None
        row = cards.revoke(s, who.actor, jti)
        return {"jti": row.jti, "revoked_at": instant(row.revoked_at)}
