"""The people's pages: server-rendered HTML over the same services as the API, in zh-CN (default) and en.

`/` landing and sign-in, `/m/` a member on their phone, `/counter/` a hospital cashier, `/public/mutual-aid/`
the public notice board, `/bureau/` an officer's single window, `/platform/` a mutual-aid operator, `/sandbox/`
the demo payment channel, `/insurer/` an insurer's figures of its layer. Every handler calls the services
(yibao.ops, yibao.mutual_aid) in one store transaction, as the API's routes do; everything a page loads is served
from `static/` (no CDN).
"""

from __future__ import annotations

import inspect
import os
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from yibao.core.errors import YibaoError

ASSETS = "/assets"
# paths answered by the pages (errors there are HTML pages in the user's language, elsewhere the API's JSON)
PAGE_PREFIXES = ("/m/", "/counter/", "/bureau/", "/platform/", "/public/", "/sandbox/", "/insurer/", "/login",
                 "/logout", "/password", "/lang")
# API routes under a page prefix (the insurer's books, `yibao.http.insurer`): answered in JSON, errors too
API_UNDER_PAGES = ("/insurer/products/",)
SANDBOX_ENV = "YIBAO_PAYMENT_SANDBOX"


def is_page(path: str) -> bool:
    if path.startswith(API_UNDER_PAGES):
        return False
    return path == "/" or path.startswith(PAGE_PREFIXES) or path in {p.rstrip("/") for p in PAGE_PREFIXES}


def install(app: FastAPI, *, sandbox: bool | None = None) -> None:
    """Mount the pages on the API's app. The sandbox payment channel is on when `sandbox` (default: the
    YIBAO_PAYMENT_SANDBOX environment variable is 1/true) — a demo, never a real channel."""
    from yibao.web import (
        bureau,
        counter,
        funds_pages,
        insurer,
        landing,
        member,
        payment_pages,
        platform,
        public,
        registration,
        review_pages,
        sandbox_channel,
        session,
        twin_pages,
    )

    if sandbox is None:
        sandbox = os.environ.get(SANDBOX_ENV, "").lower() in {"1", "true", "yes"}
    app.state.payment_sandbox = sandbox
    app.mount(ASSETS, StaticFiles(directory=str(files("yibao.web") / "static")), name="web-assets")
    for module in (landing, member, sandbox_channel, counter, public, bureau, registration, platform, insurer,
                   twin_pages, review_pages, payment_pages, funds_pages):
        app.include_router(module.router, include_in_schema=False)
    app.middleware("http")(session.keep_signed_in)  # a desk session lasts a working day (refresh cookie)
    _html_errors(app)


def _html_errors(app: FastAPI) -> None:
    """On page paths, errors answer as pages in the user's language; elsewhere the API's handlers answer."""
    from yibao.web.errors import error_page

    for kind in (YibaoError, HTTPException, RequestValidationError):
        api_handler = app.exception_handlers.get(kind)

        async def handler(request: Request, exc: Any, api: Any = api_handler) -> Any:
            if is_page(request.url.path) or api is None:
                return error_page(request, exc)
            answer = api(request, exc)
            return await answer if inspect.isawaitable(answer) else answer

        app.add_exception_handler(kind, handler)
