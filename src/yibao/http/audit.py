"""Audit routes: the audit log (auditor, admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from yibao.http.deps import instant, require, store_of
from yibao.ops import audit
from yibao.ops.auth import Principal, Role
from yibao.ops.privacy import masked_record
from yibao.ops.schemas import Reference
from yibao.ops.store import AuditEvent

router = APIRouter(tags=["audit"])


def event_view(e: AuditEvent, who: Principal) -> dict[str, Any]:
    return {"id": e.id, "at": instant(e.at), "actor": e.actor, "action": e.action, "entity": e.entity,
            "entity_id": e.entity_id, "before": masked_record(who, e.before), "after": masked_record(who, e.after)}


@router.get("/audit")
def get_audit(
    request: Request, who: Annotated[Principal, Depends(require(Role.AUDITOR))],
    entity: Reference | None = None, entity_id: Reference | None = None, limit: int = Query(500, ge=1, le=5000),
) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        return [event_view(e, who) for e in audit.events(s, entity, entity_id, limit)]
