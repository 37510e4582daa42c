"""The operations HTTP API's application (FastAPI; OpenAPI at /docs, served from local files)."""

from __future__ import annotations

import os
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from yibao import web
from yibao.http import (
    accounts,
    audit,
    auth,
    cards,
    claims,
    contracts,
    contributions,
    family,
    funds,
    hospital_payments,
    insurer,
    ledger,
    mutual_aid,
    mutual_aid_closure,
    policies,
    registry,
    review,
    search,
    twin,
)
from yibao.http.errors import ErrorBody, install_error_handlers
from yibao.ops.auth import ensure_secrets
from yibao.ops.store import Store


def create_app(store: Store) -> FastAPI:
    """The API over a migrated store. Signing secrets come from the store (made on first run);
    YIBAO_PAYMENT_SECRET overrides the one shared with the payment provider."""
    app = FastAPI(
        title="yibao operations",
        description="Registry, enrolment, contributions, e-insurance cards, claims settled one-stop into a "
        "double-entry ledger. Amounts are yuan with two decimals. Errors are JSON {code, message}.",
        version="0.1.0",
        docs_url=None,  # served below from local files, never a CDN
        redoc_url=None,  # see serve_docs
    )
    serve_docs(app)
    with store.transaction() as session:
        secrets = ensure_secrets(session)
    if os.environ.get("YIBAO_PAYMENT_SECRET"):
        secrets["payment_secret"] = os.environ["YIBAO_PAYMENT_SECRET"]
    app.state.store = store
    app.state.secrets = secrets
    install_error_handlers(app)
    app.include_router(claims.submit_router)  # first: the busiest route (see `claims.submit_router`)
    for domain in (auth, accounts, registry, search, contributions, cards, claims, ledger, audit, mutual_aid_closure, mutual_aid,
                   contracts, review, twin, hospital_payments, funds, family, policies, insurer):
        app.include_router(domain.router)
    declare_errors(app)
    web.install(app)  # the people's pages (/, /m/, /counter/, /bureau/, /platform/, /public/mutual-aid/)
    return app


def declare_errors(app: FastAPI) -> None:
    """The OpenAPI document declares `ErrorBody` for every operation's 422 and every other error answer
    (`default`), in place of FastAPI's HTTPValidationError (which this API never sends)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            components.update(ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs"))
            components["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
            components["ErrorBody"].pop("$defs", None)
            answer = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    responses["422"] = {"description": "the request is not valid (`request.invalid`) or the rules "
                                        "refuse it", "content": answer}
                    responses["default"] = {"description": "an error from the catalogue", "content": answer}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


DOCS_ASSETS = "/docs-assets"


def serve_docs(app: FastAPI) -> None:
    """Swagger UI at /docs with its JavaScript, CSS and icon served by this app, from the pinned
    `fastapi-offline` package's copy of swagger-ui-dist: the page works with no network (FastAPI's default
    loads them from a CDN). ReDoc is not served: its bundle always fetches its maker's logo from a CDN."""
    assets = str(files("fastapi_offline") / "static")
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    openapi_url, redirect_url = app.openapi_url or "/openapi.json", app.swagger_ui_oauth2_redirect_url

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}", title=f"{app.title} - Swagger UI", oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )

    if redirect_url:

        @app.get(redirect_url, include_in_schema=False)
        async def swagger_ui_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()


def app_from_environment() -> FastAPI:
    """The app over YIBAO_DATABASE_URL (already migrated): the factory each `yibao serve --workers N` process calls."""
    return create_app(Store.open())
