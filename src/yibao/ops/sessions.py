"""Desk sessions: throttled password logins, and refresh tokens so a session lasts a working day.

Login throttling: failed logins are counted per account (`user:<name>`) and per client address (`addr:<ip>`) in
the store, so the limits hold across every worker process. Once a key has `limit` failures within `WINDOW` of its
first one, every login for it (even with the right password) is refused with `auth.throttled` (HTTP 429,
`Retry-After`) until the window ends. A successful login clears the account's counter (not the address's).
Requests already in flight when a limit is reached may each count one more try.

Refresh tokens: `<id>.<secret>`, 256 random bits; the store keeps only the SHA-256 of the secret. Each refresh
rotates: the presented token is marked used and a new one of the same family is returned. A used token presented
again means it leaked, so its whole family is revoked. A family lives a working day from its login
(`REFRESH_LIFETIME`); logout, a password change or reset, and disabling the account revoke families.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yibao.ops import auth
from yibao.ops.errors import Throttled, Unauthenticated
from yibao.ops.store import LoginThrottle, RefreshToken, Store, User, utcnow

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5  # failed logins per account per window
ADDRESS_LIMIT = 20  # failed logins per client address per window (a desk may share one address)
REFRESH_LIFETIME = timedelta(hours=12)  # a working day, shift included
USERNAME_MAX = 64  # the users.username column


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    refresh_expires_at: datetime

    def body(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token, "token_type": "bearer",
            "expires_in": int(auth.ACCESS_LIFETIME.total_seconds()),
            "refresh_token": self.refresh_token, "refresh_expires_at": self.refresh_expires_at.isoformat(),
        }


def throttle_keys(username: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(f"user:{username[:100]}", ACCOUNT_LIMIT)]
    if address:
        keys.append((f"addr:{address[:100]}", ADDRESS_LIMIT))
    return keys


def login(store: Store, secret: str, username: str, password: str, address: str | None) -> Tokens:
    """Access and refresh tokens for a correct password, unless the account or address is throttled."""
    now = utcnow()
    if not username.isprintable() or len(username) > USERNAME_MAX:  # no such user can exist (nor be stored)
        raise Unauthenticated("wrong user name or password", code="auth.bad_credentials")
    keys = throttle_keys(username, address)
    with store.transaction() as s:
        refuse_if_throttled(s, keys, now)
        user = auth.verify_password(s, username, password)
        if user is None:
            for key, _ in keys:
                count_failure(s, key, now)
            tokens = None
        else:
            # the account's count is cleared, and counts whose window has ended are dropped (the table stays small)
            s.execute(delete(LoginThrottle).where(
                or_(LoginThrottle.key == keys[0][0], LoginThrottle.since <= now - WINDOW)))
            tokens = _issue(s, secret, user, None, now + REFRESH_LIFETIME)
    if tokens is None:  # raised after the commit: the failure is counted
        raise Unauthenticated("wrong user name or password", code="auth.bad_credentials")
    return tokens


def refuse_if_throttled(s: Session, keys: list[tuple[str, int]], now: datetime) -> None:
    limits = dict(keys)
    rows = s.execute(select(LoginThrottle).where(LoginThrottle.key.in_(limits))).scalars()
    waits = [
        (_utc(row.since) + WINDOW - now).total_seconds()
        for row in rows if row.failures >= limits[row.key] and _utc(row.since) + WINDOW > now
    ]
    if waits:
        wait = max(1, math.ceil(max(waits)))
        raise Throttled(f"too many failed logins; try again in {wait} seconds", retry_after=wait)


def count_failure(s: Session, key: str, now: datetime) -> None:
    """One more failure for `key`, atomically (an upsert); a window that has ended starts again at 1."""
    table = cast(Table, LoginThrottle.__table__)
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stale = table.c.since <= now - WINDOW
    statement = insert(table).values(key=key, failures=1, since=now).on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"failures": case((stale, 1), else_=table.c.failures + 1), "since": case((stale, now), else_=table.c.since)},
    )
    s.execute(statement)


def _utc(moment: datetime) -> datetime:
    """A stored time as UTC (SQLite gives back naive datetimes; every time stored is UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _digest(secret_part: str) -> str:
    return hashlib.sha256(secret_part.encode()).hexdigest()


def _issue(s: Session, secret: str, user: User, family: str | None, expires_at: datetime) -> Tokens:
    token_id, secret_part = secrets.token_hex(16), secrets.token_urlsafe(32)
    s.add(RefreshToken(
        id=token_id, user_id=user.id, family=family or token_id, secret_hash=_digest(secret_part),
        issued_at=utcnow(), expires_at=expires_at,
    ))
    s.flush()
    return Tokens(auth.access_token(secret, user), f"{token_id}.{secret_part}", expires_at)


def _presented(s: Session, token: str) -> RefreshToken | None:
    """The stored row of a presented refresh token (locked), or None if there is none or the secret differs."""
    token_id, _, secret_part = token.partition(".")
    if len(token_id) != 32 or not secret_part or not all(c in string.hexdigits for c in token_id):
        return None
    row = s.execute(select(RefreshToken).where(RefreshToken.id == token_id).with_for_update()).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(secret_part)):
        return None
    return row


def refresh(store: Store, secret: str, token: str) -> Tokens:
    """New access and refresh tokens for a valid refresh token, which is used up (rotation)."""
    now = utcnow()
    with store.transaction() as s:
        row = _presented(s, token)
        tokens = None
        if row is not None and row.revoked_at is None and _utc(row.expires_at) > now:
            user = s.get(User, row.user_id)
            if row.used_at is not None or user is None or user.disabled_at is not None:
                revoke_family(s, row.family, now)  # a replayed token: the session is ended for everyone holding it
            else:
                row.used_at = now
                tokens = _issue(s, secret, user, row.family, _utc(row.expires_at))
    if tokens is None:
        raise Unauthenticated("the refresh token is invalid, used, expired or revoked; log in again", code="auth.bad_refresh")
    return tokens


def logout(store: Store, token: str) -> None:
    """End the session of a refresh token (its family); an unknown token changes nothing."""
    with store.transaction() as s:
        row = _presented(s, token)
        if row is not None:
            revoke_family(s, row.family, utcnow())


def revoke_family(s: Session, family: str, now: datetime) -> None:
    s.execute(update(RefreshToken).where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
              .values(revoked_at=now))


def revoke_user(s: Session, user_id: int) -> None:
    """End every session of a user (password changed or reset, account disabled)."""
    s.execute(update(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
              .values(revoked_at=utcnow()))
