"""What every route shares: the store, the caller, role checks, region/person scoping, JSON errors."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic_core import to_json
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from yibao.core.errors import InputError, YibaoError
from yibao.ops.auth import Principal, Role, authenticate
from yibao.ops.errors import Conflict, Forbidden, NotFound, Rejected, Throttled, Unauthenticated
from yibao.ops.registry import ImportRejected
from yibao.ops.store import Store

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


def check_region(who: Principal, region: str) -> None:
    """Officers act only in their regions; admin and auditor everywhere; others never here."""
    if who.role in (Role.ADMIN, Role.AUDITOR):
        return
    if who.role is Role.OFFICER and region in who.regions:
        return
    raise Forbidden(f"{who.username} is not scoped to region {region!r}", code="auth.out_of_scope")


def check_person(who: Principal, person_id: str, person_region: str) -> None:
    """A member sees only their own records; officers their regions'; auditor and admin all."""
    if who.role is Role.MEMBER:
        if who.person_id != person_id:
            # the same answer as for a missing person: a member learns nothing about others
            raise NotFound(f"no person {person_id!r}", code="person.not_found")
        return
    check_region(who, person_region)


STATUS: tuple[tuple[type[YibaoError], int], ...] = (
    (Unauthenticated, 401),
    (Throttled, 429),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Rejected, 422),
    (ImportRejected, 422),
    (InputError, 422),
)


def status_of(exc: YibaoError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, **extra}, status_code=status)


def _line_errors(errors: Iterable[InputError]) -> list[dict[str, Any]]:
    return [{"line": e.line, "column": e.column, "code": e.code, "message": e.message} for e in errors]


def install_error_handlers(app: FastAPI) -> None:
    """Every error is JSON {code, message}; the transaction was rolled back before we get here."""

    @app.exception_handler(YibaoError)
    async def yibao_error(_: Request, exc: YibaoError) -> JSONResponse:
        extra = {"errors": _line_errors(exc.errors)} if isinstance(exc, ImportRejected) else {}
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        if isinstance(exc, Throttled):
            headers = {"Retry-After": str(exc.retry_after)}
        response = error(status_of(exc), exc.code, exc.message, **extra)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()]
        first = details[0] if details else {"loc": [], "message": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return error(422, "request.invalid", f"{where}: {first['message']}", errors=details)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, f"http.{exc.status_code}", str(exc.detail))

    @app.exception_handler(IntegrityError)
    async def integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return error(409, "store.conflict", "a concurrent request changed the same record; retry")
