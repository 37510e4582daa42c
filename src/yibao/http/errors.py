"""Every error the API answers is JSON `{code, message, detail?, errors?}` from the one catalogue
(`yibao.core.errors.CATALOGUE`): the status is the code's, the message is in the request's language
(`Accept-Language`; zh-CN unless English is preferred). `detail` carries the raise site's particulars (English),
`errors` the list of bad fields or lines. A 405 keeps its `Allow` header. An unexpected failure answers 500
`internal.error` and shows nothing of the exception; the transaction was rolled back before we get here."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException

from yibao.core.errors import InputError, Lang, YibaoError, kind_of
from yibao.ops.enrolment import ImportRejected
from yibao.ops.errors import Throttled, Unauthenticated

log = logging.getLogger("yibao.http")


class ErrorItem(BaseModel):
    """One bad field (`loc`) of a request, or one bad line of an uploaded file (`line`, `column`)."""

    message: str
    code: str | None = None
    loc: list[str | int] | None = None
    line: int | None = None
    column: str | None = None


class ErrorBody(BaseModel):
    """The body of every error answer."""

    code: str = Field(description="stable code from the error catalogue (docs/operations.md)")
    message: str = Field(description="the catalogue's message, in the request's language")
    detail: str | None = Field(None, description="the particulars, in English")
    errors: list[ErrorItem] | None = None


def language(request: Request) -> Lang:
    """zh unless the client's Accept-Language prefers English to Chinese (by q-value, then order)."""
    best: tuple[float, Lang] = (0.0, "zh")
    for i, part in enumerate((request.headers.get("accept-language") or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang: Lang | None = "en" if tag.lower().startswith("en") else "zh" if tag.lower().startswith("zh") else None
        if lang is not None and q - i * 1e-6 > best[0]:
            best = (q - i * 1e-6, lang)
    return best[1]


def error_response(
    request: Request, code: str, *, detail: str | None = None, errors: list[dict[str, Any]] | None = None,
    status: int | None = None, headers: dict[str, str] | None = None,
) -> JSONResponse:
    kind = kind_of(code)
    body: dict[str, Any] = {"code": code, "message": kind.message(language(request))}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status or kind.status, headers=headers)


def _line_errors(errors: list[InputError]) -> list[dict[str, Any]]:
    return [{"line": e.line, "column": e.column, "code": e.code, "message": e.message} for e in errors]


_HTTP_CODES = {404: "route.not_found", 405: "method.not_allowed"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(YibaoError)
    async def yibao_error(request: Request, exc: YibaoError) -> JSONResponse:
        errors = _line_errors(exc.errors) if isinstance(exc, ImportRejected) else None
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        if isinstance(exc, Throttled):
            headers = {"Retry-After": str(exc.retry_after)}
        return error_response(request, exc.code, detail=exc.message, errors=errors, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())], "message": e.get("msg", "")}
                   for e in exc.errors()]
        first = details[0] if details else {"loc": [], "message": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return error_response(request, "request.invalid", detail=f"{where}: {first['message']}", errors=details)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "request.bad")
        return error_response(request, code, status=exc.status_code, headers=dict(exc.headers or {}))

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        return error_response(request, "store.conflict")

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSONResponse:
        # the edge's constrained types keep values inside their columns; a value the database still refuses is
        # the request's, not a failure of the service
        log.warning("the database refused a value: %s", exc.orig)
        return error_response(request, "request.invalid")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, "internal.error")
