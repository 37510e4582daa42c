"""Managing user accounts: list, change one's own password, reset another's, disable. Creating one is
`yibao.ops.auth.add_user`. Every change is audited (never the password or its hash) and ends the user's sessions."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.ops import audit, sessions
from yibao.ops.audit import Actor
from yibao.ops.auth import hash_password, verify_password
from yibao.ops.errors import Forbidden, NotFound, Rejected
from yibao.ops.lists import Page, page
from yibao.ops.passwords import check_password
from yibao.ops.store import Store, User, utcnow


def user(session: Session, username: str) -> User:
    row = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no user {username!r}", code="user.not_found")
    return row


def list_users(
    session: Session, role: str | None = None, prefix: str | None = None, limit: int = 50, offset: int = 0
) -> Page[User]:
    """Users by name, optionally of one role and/or whose name begins with `prefix`."""
    query = select(User)
    if role:
        query = query.where(User.role == role)
    if prefix:
        query = query.where(User.username.startswith(prefix, autoescape=True))
    return page(session, query.order_by(User.username), limit, offset)


def _set_password(session: Session, actor: Actor, row: User, password: str, action: str) -> None:
    check_password(password, row.username)
    before = audit.snapshot(row)
    row.password_hash = hash_password(password)
    session.flush()
    audit.record(session, actor, action, "user", row.username, before, audit.snapshot(row))
    sessions.revoke_user(session, row.id)


def change_password(store: Store, username: str, current: str, new: str, address: str | None) -> None:
    """A user's own change: the current password is required, and wrong ones count towards the login throttle
    (a stolen access token cannot be used to guess it); every session of the user ends."""
    now = utcnow()
    keys = sessions.throttle_keys(username, address)
    with store.transaction() as session:
        sessions.refuse_if_throttled(session, keys, now)
        row = verify_password(session, username, current)  # a disabled account is refused (auth.disabled)
        if row is None:
            for key, _ in keys:
                sessions.count_failure(session, key, now)
        else:
            if new == current:
                raise Rejected("the new password equals the current one", code="auth.password_reused")
            _set_password(session, Actor(row.username, row.role), row, new, "user.password_changed")
    if row is None:  # raised after the commit: the failure is counted
        raise Forbidden("the current password is wrong", code="auth.wrong_password")


def reset_password(session: Session, actor: Actor, username: str, new: str | None = None) -> str:
    """An administrator's reset: the password given, or a random one (returned, to hand over once)."""
    row = user(session, username)
    password = new if new is not None else secrets.token_urlsafe(12)
    _set_password(session, actor, row, password, "user.password_reset")
    return password


def disable(session: Session, actor: Actor, username: str) -> User:
    """The user can no longer log in or refresh; their sessions end (an access token already issued lasts at most
    its 15 minutes)."""
    row = user(session, username)
    if row.disabled_at is None:
        before = audit.snapshot(row)
        row.disabled_at = utcnow()
        session.flush()
        audit.record(session, actor, "user.disabled", "user", row.username, before, audit.snapshot(row))
    sessions.revoke_user(session, row.id)
    return row
