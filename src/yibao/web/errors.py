"""Error pages in the user's language: a message from the table, never a trace, a file or another's data."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from yibao.core.errors import YibaoError
from yibao.ops.errors import Conflict, Forbidden, NotFound, Rejected, Unauthenticated
from yibao.web import session
from yibao.web.messages import message
from yibao.web.render import redirect, render, texts_of

STATUS: tuple[tuple[type[YibaoError], int], ...] = (
    (Unauthenticated, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409), (Rejected, 422),
)


def status_of(exc: YibaoError) -> int:
    return next((status for kind, status in STATUS if isinstance(exc, kind)), 400)


def error_page(request: Request, exc: Any) -> Response:
    if isinstance(exc, session.SignInNeeded):
        ended = "&why=ended" if exc.code == session.ENDED_CODE else ""
        return redirect(f"/?next={quote(request.url.path)}{ended}")
    texts = texts_of(request)
    if isinstance(exc, session.CsrfRefused):
        status, code = 403, exc.code
    elif isinstance(exc, YibaoError):
        status, code = status_of(exc), exc.code
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        code = "web.not_found" if status == 404 else f"http.{status}"
    elif isinstance(exc, RequestValidationError):
        status, code = 422, "web.invalid"
    else:
        status, code = 500, "http.500"
    return render(request, "error.html", status=status, title=texts.gettext("Something went wrong"),
                  message=message(texts, code), code=code)
