"""Claim review queue endpoints (yibao.ops.review_queue): list flags, decide one, draw a sample for review.

Bureau officers see and decide the flags of their regions; auditors read every flag; admin does everything.
Flags are loaded by the nightly job `yibao audit claims --db`. Every decision and draw is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from yibao.audit.screening import Reason
from yibao.http.deps import check_region, require, store_of
from yibao.ops import review_queue
from yibao.ops.auth import Principal, Role
from yibao.ops.review_queue import Decision, FlagStatus
from yibao.ops.schemas import RowId

router = APIRouter(tags=["review"])

Officer = Annotated[Principal, Depends(require(Role.OFFICER))]
Reader = Annotated[Principal, Depends(require(Role.OFFICER, Role.AUDITOR))]


class DecisionIn(BaseModel):
    decision: Decision
    reason: str | None = Field(None, max_length=400, description="required to reject")


class SampleIn(BaseModel):
    size: int = Field(ge=1, le=1000)
    seed: int = Field(0, ge=0)
    reason: Reason | None = None


def _scope(who: Principal) -> tuple[str, ...] | None:
    """The regions a caller's flags come from (None: all)."""
    return who.regions if who.role is Role.OFFICER else None


@router.get("/review/flags")
def list_flags(
    request: Request,
    who: Reader,
    status: Annotated[FlagStatus | None, Query()] = FlagStatus.OPEN,
    reason: Annotated[Reason | None, Query()] = None,
    sampled: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Flags ranked by score (open ones by default), for the caller's regions."""
    with store_of(request).transaction() as s:
        rows = review_queue.queue(s, status, _scope(who), reason, sampled, limit)
        return [review_queue.view(r) for r in rows]


@router.post("/review/flags/{flag_id}/decision")
def decide(request: Request, flag_id: RowId, body: DecisionIn, who: Officer) -> dict[str, Any]:
    """Accept a flag, or reject it with a reason (once; audited)."""
    with store_of(request).transaction() as s:
        check_region(who, review_queue.flag(s, flag_id).region, review_queue.flag_not_found(flag_id))
        return review_queue.view(review_queue.decide(s, who.actor, flag_id, body.decision, body.reason))


@router.post("/review/sample")
def draw_sample(request: Request, body: SampleIn, who: Officer) -> list[dict[str, Any]]:
    """Draw open flags of the caller's regions at random for review (reproducible from the seed; audited)."""
    with store_of(request).transaction() as s:
        rows = review_queue.sample(s, who.actor, body.size, body.seed, _scope(who), body.reason)
        return [review_queue.view(r) for r in rows]
