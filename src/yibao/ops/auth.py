"""Users, roles, password login (argon2) and short-lived access tokens (JWT, HS256).

Roles: member (own data only), facility (submits claims, sees its own), officer
(a bureau officer, scoped to regions), insurer (its layer's figures), platform (a
mutual-aid platform operator: plans, members, claims, periods), auditor (reads
everything, changes nothing) and admin.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.scheme import LayerKind
from yibao.ops import audit, registry
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, Forbidden, Rejected, Unauthenticated
from yibao.ops.passwords import check_password
from yibao.ops.schemas import UserIn
from yibao.ops.store import Setting, User, utcnow

ACCESS_AUDIENCE = "yibao:api"
ACCESS_LIFETIME = timedelta(minutes=15)
SECRET_NAMES = ("token_secret", "card_secret", "payment_secret")
_hasher = PasswordHasher()


class Role(StrEnum):
    MEMBER = "member"
    FACILITY = "facility"
    OFFICER = "officer"
    INSURER = "insurer"
    AUDITOR = "auditor"
    ADMIN = "admin"
    PLATFORM_OPERATOR = "platform"  # runs a mutual-aid platform: its plans, members, cases and apportionments


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    username: str
    role: Role
    person_id: str | None = None
    facility_id: str | None = None
    regions: tuple[str, ...] = ()
    layer: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role.value)


def ensure_secrets(session: Session) -> dict[str, str]:
    """The service's signing secrets, generated on first run and kept in the store."""
    found = {s.key: s.value for s in session.execute(select(Setting).where(Setting.key.in_(SECRET_NAMES))).scalars()}
    for name in SECRET_NAMES:
        if name not in found:
            found[name] = secrets.token_urlsafe(32)
            session.add(Setting(key=name, value=found[name]))
    session.flush()
    return found


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def add_user(session: Session, actor: Actor, data: UserIn) -> User:
    role = Role(data.role) if data.role in Role.__members__.values() else None
    if role is None:
        raise Rejected(f"unknown role {data.role!r} (one of {', '.join(r.value for r in Role)})", code="user.bad_role")
    if role is Role.MEMBER and data.person_id is None:
        raise Rejected("a member user names the person", code="user.person_missing")
    if role is Role.FACILITY and data.facility_id is None:
        raise Rejected("a facility user names the facility", code="user.facility_missing")
    if role is Role.OFFICER and not data.regions:
        raise Rejected("a bureau officer is scoped to one or more regions", code="user.regions_missing")
    if role is Role.INSURER and data.layer is None:
        raise Rejected("an insurer user names the layer it underwrites", code="user.layer_missing")
    if data.layer is not None and data.layer not in {k.value for k in LayerKind}:
        raise Rejected(f"unknown layer kind {data.layer!r} (one of {', '.join(k.value for k in LayerKind)})", code="user.bad_layer")
    if data.person_id is not None:
        registry.person(session, data.person_id)
    if data.facility_id is not None:
        registry.facility(session, data.facility_id)
    for code in data.regions:
        registry.region(session, code)
    if session.execute(select(User.id).where(User.username == data.username)).first() is not None:
        raise Conflict(f"user {data.username!r} exists", code="user.exists")
    check_password(data.password, data.username)
    user = User(
        username=data.username, password_hash=hash_password(data.password), role=role.value,
        person_id=data.person_id, facility_id=data.facility_id, regions=",".join(data.regions), layer=data.layer,
    )
    audit.added(session, actor, "user.created", "user", user, key="username")
    return user


def first_admin(session: Session) -> tuple[str, str] | None:
    """On an empty store: create `admin` with a random password and return the credentials (else None)."""
    if session.execute(select(User.id).limit(1)).first() is not None:
        return None
    password = secrets.token_urlsafe(12)
    add_user(session, Actor(), UserIn(username="admin", password=password, role=Role.ADMIN.value))
    return "admin", password


def principal_of(user: User) -> Principal:
    return Principal(
        username=user.username, role=Role(user.role), person_id=user.person_id, facility_id=user.facility_id,
        regions=tuple(r for r in user.regions.split(",") if r), layer=user.layer,
    )


def verify_password(session: Session, username: str, password: str) -> User | None:
    """The user if `password` is theirs, else None (the same work is done for a missing user: no timing oracle)."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    try:
        _hasher.verify(_dummy_hash() if user is None else user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if user.disabled_at is not None:
        raise Forbidden(f"the account {username!r} is disabled", code="auth.disabled")
    return user


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def access_token(secret: str, user: User) -> str:
    """A signed access token (15 minutes) carrying the user's role and scope."""
    who = principal_of(user)
    now = utcnow()
    claims = {
        "sub": who.username, "aud": ACCESS_AUDIENCE, "iat": now, "exp": now + ACCESS_LIFETIME,
        "role": who.role.value, "person_id": who.person_id, "facility_id": who.facility_id,
        "regions": list(who.regions), "layer": who.layer,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def login(session: Session, secret: str, username: str, password: str) -> str:
    """An access token for a correct user name and password (no throttling: `yibao.ops.sessions.login` adds it)."""
    user = verify_password(session, username, password)
    if user is None:
        raise Unauthenticated("wrong user name or password", code="auth.bad_credentials")
    return access_token(secret, user)


# every token `login` issues carries these; one without them is refused (a token must expire)
_REQUIRED: dict[str, Any] = {"require": ["exp", "aud", "sub"]}


def authenticate(secret: str, token: str) -> Principal:
    """The caller a token names. Role and scope travel in the signed token (valid 15 minutes), so no lookup."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=ACCESS_AUDIENCE, options=_REQUIRED)
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the access token has expired; log in again", code="auth.expired") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("invalid access token", code="auth.invalid_token") from None
    try:  # signed by us, yet perhaps by another version or a leaked secret: every claim is checked for its type
        regions = claims.get("regions") or ()
        if not isinstance(regions, list | tuple) or not all(isinstance(r, str) for r in regions):
            raise ValueError("regions")
        for key in ("sub", "person_id", "facility_id", "layer"):
            if claims.get(key) is not None and not isinstance(claims[key], str):
                raise ValueError(key)
        return Principal(
            username=claims["sub"], role=Role(claims.get("role")), person_id=claims.get("person_id"),
            facility_id=claims.get("facility_id"), regions=tuple(regions), layer=claims.get("layer"),
        )
    except ValueError:
        raise Unauthenticated("invalid access token", code="auth.invalid_token") from None


def username_for(session: Session, identifier: str) -> str:
    """The user name a person signs in with: a user name as given, or a member's resident identity number
    (the member user of the person with that number). Unknown: returned as given (the login then fails as usual)."""
    given = identifier.strip()
    if session.execute(select(User.id).where(User.username == given)).first() is not None:
        return given
    from yibao.ops.store import PersonRow

    found = session.execute(
        select(User.username).join(PersonRow, PersonRow.person_id == User.person_id)
        .where(PersonRow.ric == given.upper(), User.role == Role.MEMBER.value).order_by(User.id).limit(1)
    ).scalar_one_or_none()
    return found if found is not None else given
