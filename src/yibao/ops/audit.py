"""The append-only audit log: who changed what, when, with the record before and after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, inspect, select
from sqlalchemy.orm import Session

from yibao.ops.store import AuditEvent, Base, utcnow

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user name and role (the CLI and first-run setup act as `system`)."""

    name: str = SYSTEM
    role: str = "admin"


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


# Never copied into the log: password hashes (secret) and claim explanations (rendered from the split, large).
NOT_LOGGED = frozenset({"password_hash", "explanation"})


def snapshot(row: Base | None) -> dict[str, Any] | None:
    """A row's columns as plain JSON data."""
    if row is None:
        return None
    columns = inspect(row).mapper.column_attrs
    return {c.key: _plain(getattr(row, c.key)) for c in columns if c.key not in NOT_LOGGED}


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as plain JSON data, as `snapshot` makes them."""
    return {key: _plain(value) for key, value in values.items()}


EVENTS = cast(Table, AuditEvent.__table__)
INSERT = insert(EVENTS)  # a Core statement: the ORM's bulk INSERT machinery costs more than the row


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Write one audit event in the caller's transaction (so it exists exactly when the change does)."""
    session.execute(INSERT, event_values(actor, action, entity, entity_id, before, after))


def added(session: Session, actor: Actor, action: str, entity: str, row: Any, key: str = "id") -> None:
    """Insert a new row and audit its creation (no before, its snapshot after; its id is attribute `key`)."""
    session.add(row)
    session.flush()
    record(session, actor, action, entity, getattr(row, key), None, snapshot(row))


def event_values(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The audit_events row of one event."""
    return {
        "at": utcnow(),
        "actor": actor.name,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": None if before is None else dict(before),
        "after": None if after is None else dict(after),
    }


def events(session: Session, entity: str | None = None, entity_id: str | None = None, limit: int = 500,
           newest_first: bool = False) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc() if newest_first else AuditEvent.id)
    if entity is not None:
        query = query.where(AuditEvent.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    return list(session.execute(query.limit(limit)).scalars())
