"""What every route shares: the store, the caller, role checks, region/person scoping, timestamps."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPBearer
from pydantic_core import to_json
from sqlalchemy.orm import Session

from yibao.core.errors import YibaoError
from yibao.ops import registry
from yibao.ops.auth import Principal, Role, authenticate
from yibao.ops.errors import Forbidden, NotFound, Unauthenticated
from yibao.ops.store import PersonRow, Store

T = TypeVar("T")
bearer = HTTPBearer(auto_error=False, description="the access token from POST /auth/login")


POOL_THREADS = 20  # as many as the PostgreSQL engine's connections (pool 10 + overflow 10)
_pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="yibao-db-")


async def in_thread(work: Callable[[], T]) -> T:
    """Run blocking `work` (a transaction) on this process's worker threads, in the caller's context, and await
    its result: one executor hand-off (a plain `def` route would go through Starlette's thread pool, AnyIO's limiter
    and cancel scope as well). If the request is cancelled the work still runs to its end (its transaction commits
    or rolls back): the wait is shielded, so a job not yet started is not withdrawn half-way through a request."""
    loop = asyncio.get_running_loop()
    return await asyncio.shield(loop.run_in_executor(_pool, contextvars.copy_context().run, work))


def json_response(content: Any, status_code: int = 200) -> Response:
    """`content` as FastAPI answers a route returning it (pydantic-core's compact UTF-8 JSON), serialised once."""
    return Response(to_json(content), status_code=status_code, media_type="application/json")


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def secret(request: Request, name: str) -> str:
    value: str = request.app.state.secrets[name]
    return value


class Gate(HTTPBearer):
    """The bearer-token security scheme (OpenAPI shows it as `HTTPBearer`, as before) that also authenticates the
    caller and checks their role: one dependency, where scheme, authentication and role check used to be three
    nested ones. FastAPI solves every level of dependencies anew on each request; on the claims route the levels
    cost more than the token check. `roles` None admits every authenticated caller; otherwise admin and `roles`.
    Async on purpose: a plain `def` dependency would be sent to the thread pool (a hand-off per request)."""

    def __init__(self, roles: frozenset[Role] | None) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer", description=bearer.model.description)
        self.allowed = None if roles is None else roles | {Role.ADMIN}

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        credentials = await super().__call__(request)
        if credentials is None:
            raise Unauthenticated("log in first: send 'Authorization: Bearer <token>'", code="auth.missing_token")
        who = authenticate(secret(request, "token_secret"), credentials.credentials)
        if self.allowed is not None and who.role not in self.allowed:
            raise Forbidden(f"role {who.role.value} may not do this", code="auth.forbidden")
        return who


caller = Gate(None)  # any authenticated caller


def require(*roles: Role) -> Gate:
    """A dependency admitting only callers with one of `roles` (admin is always admitted)."""
    return Gate(frozenset(roles))


Officer = Annotated[Principal, Depends(require(Role.OFFICER))]
Reader = Annotated[Principal, Depends(caller)]
Admin = Annotated[Principal, Depends(require())]


def instant(value: datetime | None) -> str | None:
    """A stored moment as ISO 8601 with its offset (UTC): the same text whether it was just written or read back."""
    if value is None:
        return None
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def check_region(who: Principal, region: str, missing: YibaoError | None = None) -> None:
    """Officers act only in their regions; admin and auditor everywhere; others never here. Outside the
    caller's scope the answer is `missing` — what the route answers when the record does not exist (by default
    the region's own 404) — so a refusal tells nobody that a record exists, nor where."""
    if who.role in (Role.ADMIN, Role.AUDITOR):
        return
    if who.role is Role.OFFICER and region in who.regions:
        return
    raise missing or NotFound(f"no region {region!r}", code="region.not_found")


def check_person(who: Principal, person_id: str, person_region: str) -> None:
    """A member sees only their own records; officers their regions'; auditor and admin all."""
    if who.role is Role.MEMBER:
        if who.person_id != person_id:
            # the same answer as for a missing person: a member learns nothing about others
            raise NotFound(f"no person {person_id!r}", code="person.not_found")
        return
    check_region(who, person_region, NotFound(f"no person {person_id!r}", code="person.not_found"))


def person_in_scope(s: Session, who: Principal, person_id: str) -> PersonRow:
    """The person, if the caller may see them (else the same 404 as for nobody)."""
    row = registry.person(s, person_id)
    check_person(who, person_id, row.region)
    return row
