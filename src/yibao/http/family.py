"""Individual accounts and family sharing (家庭共济): a member's account balance and movements, the relatives who
may use it, and paying a relative's residents' contribution from it (yibao.ops.family)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from yibao.core.money import format_yuan
from yibao.http.contributions import contribution_view
from yibao.http.deps import Reader, instant, person_in_scope, require, store_of
from yibao.ops import family
from yibao.ops.auth import Principal, Role
from yibao.ops.schemas import Identifier, RowId, Shape
from yibao.ops.store_family import FamilyRelative

router = APIRouter(tags=["individual accounts"])
Holder = Annotated[Principal, Depends(require(Role.OFFICER, Role.MEMBER))]


class RelativeIn(Shape):
    relative_id: Identifier = Field(description="the relative's person id (spouse, parent or child)")
    relation: family.Relation


class AccountPaymentIn(Shape):
    contribution_id: RowId = Field(description="the relative's residents' contribution, still due")


def relative_view(row: FamilyRelative) -> dict[str, Any]:
    return {"holder_id": row.holder_id, "relative_id": row.relative_id, "relation": row.relation,
            "registered_at": instant(row.registered_at)}


@router.post("/persons/{person_id}/relatives", status_code=201)
def post_relative(request: Request, person_id: Identifier, body: RelativeIn, who: Holder) -> dict[str, Any]:
    """Register a close relative who may use this member's individual account (the member, or an officer)."""
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        if who.role is not Role.MEMBER:
            person_in_scope(s, who, body.relative_id)
        return relative_view(family.register_relative(s, who.actor, person_id, body.relative_id, body.relation.value))


@router.get("/persons/{person_id}/relatives")
def get_relatives(request: Request, person_id: Identifier, who: Reader) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        return [relative_view(r) for r in family.relatives_of(s, person_id)]


@router.get("/persons/{person_id}/individual-account")
def get_individual_account(request: Request, person_id: Identifier, who: Reader) -> dict[str, Any]:
    """The account's balance now, what the member may spend (own + shared by relatives) and its movements."""
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        shared = [(holder, held) for holder, held in family.available(s, person_id, lock=False)]
        return {
            "person_id": person_id,
            "balance": format_yuan(family.balance(s, person_id)),
            "available": format_yuan(sum(held for _, held in shared)),
            "accounts": [{"holder_id": holder, "balance": format_yuan(held)} for holder, held in shared],
            "movements": [
                {"posted_at": instant(e.posted_at), "kind": e.kind, "reference": e.reference, "year": p.year,
                 "amount": format_yuan(-p.amount)}
                for e, p in family.movements(s, person_id)
            ],
        }


@router.post("/persons/{person_id}/individual-account/payments", status_code=201)
def post_account_payment(request: Request, person_id: Identifier, body: AccountPaymentIn, who: Holder) -> dict[str, Any]:
    """Pay a registered relative's residents' contribution from this member's individual account."""
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        return contribution_view(family.pay_relative_contribution(s, who.actor, person_id, body.contribution_id))
