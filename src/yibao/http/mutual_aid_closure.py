"""Mutual aid's closure endpoints: the regulatory decision, finishing the plan, the closure disclosure, and members'
answers to the conversion offer (yibao.mutual_aid.closing).

Included before `http.mutual_aid` (its `GET /plans/{plan}` takes any path after /plans/). The platform operator
decides and finishes; everyone logged in reads a plan's closure (the public board shows it too); a member answers
the offer for their own membership only (another member's is a 404, like one that does not exist).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from yibao.http.deps import require, store_of
from yibao.http.mutual_aid import DayIn, OwnMemberOrPlatform, PlatformOrAuditor, Reader, _day, data_dir
from yibao.mutual_aid import closing
from yibao.mutual_aid.closure import ConversionOffer, Decision
from yibao.ops.auth import Principal, Role
from yibao.ops.schemas import PlanId, RowId, Shape

router = APIRouter(prefix="/mutual-aid", tags=["mutual aid"])
Platform = Annotated[Principal, Depends(require(Role.PLATFORM_OPERATOR))]


class TextIn(Shape):
    en: str = Field(min_length=1, max_length=4000)
    zh: str = Field(min_length=1, max_length=4000)


class OfferIn(Shape):
    product: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$",
                         description="a built-in product (yibao products list), e.g. million-medical")
    policy_start: dt.date
    accept_by: dt.date
    free_years: int = Field(1, ge=1, le=5, description="years of cover the platform pays")


class ClosureIn(Shape):
    decided_on: dt.date = Field(description="no new members or claims from this day")
    reference: str = Field(min_length=1, max_length=400, description="the decision's reference (regulator, notice)")
    text: TextIn
    source: str = Field("", max_length=1000, description="a public source of the decision")
    offer: OfferIn | None = None


class FinishIn(Shape):
    notice_date: dt.date = Field(description="the final period's notice day")
    day: dt.date | None = Field(None, description="the closing day (default today): claims paid, members removed")


class AnswerIn(DayIn):
    accept: bool


@router.post("/plans/{plan_id:path}/closure/finish")
def post_finish(request: Request, plan_id: PlanId, body: FinishIn, who: Platform) -> dict[str, Any]:
    """The final period, the payouts, members removed, the pool to zero, the closure disclosure (zh + en)."""
    with store_of(request).transaction() as s:
        row = closing.finish(s, who.actor, plan_id, body.notice_date, _day(body.day), data_dir(request))
        return closing.closure_view(row)


@router.get("/plans/{plan_id:path}/closure/conversions")
def get_conversions(request: Request, plan_id: PlanId, who: PlatformOrAuditor) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        return [closing.conversion_view(c) for c in closing.conversions(s, plan_id)]


@router.post("/plans/{plan_id:path}/closure", status_code=201)
def post_closure(request: Request, plan_id: PlanId, body: ClosureIn, who: Platform) -> dict[str, Any]:
    """Record the regulatory decision that ends the plan, with an optional conversion offer."""
    decision = Decision(body.decided_on, body.reference, body.text.en, body.text.zh, body.source)
    offer = None if body.offer is None else ConversionOffer(body.offer.product, body.offer.policy_start,
                                                            body.offer.accept_by, body.offer.free_years)
    with store_of(request).transaction() as s:
        return closing.closure_view(closing.decide(s, who.actor, plan_id, decision, offer))


@router.get("/plans/{plan_id:path}/closure")
def get_closure(request: Request, plan_id: PlanId, who: Reader) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return closing.closure_view(closing.closure_row(s, plan_id))


@router.get("/closures")
def get_closures(request: Request, who: Reader) -> list[dict[str, Any]]:
    """Every plan's closure, newest decision first (the public board's list)."""
    with store_of(request).transaction() as s:
        return [closing.closure_view(r) for r in closing.closures(s)]


@router.post("/members/{member_id}/conversion", status_code=201)
def post_conversion(request: Request, member_id: RowId, body: AnswerIn, who: OwnMemberOrPlatform) -> dict[str, Any]:
    """A member accepts or declines the conversion offer (once); an acceptance gives the policy, premium paid by the
    platform."""
    with store_of(request).transaction() as s:
        return closing.conversion_view(closing.answer(s, who.actor, member_id, body.accept, _day(body.day)))
