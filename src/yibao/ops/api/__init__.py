"""The operations HTTP API (FastAPI; OpenAPI at /docs)."""

from __future__ import annotations

import os
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from yibao.ops.api import contracts_routes, mutual_aid_routes, twin_routes
from yibao.ops.api.deps import install_error_handlers
from yibao.ops.api.routes import claims_router, router
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
    app.include_router(claims_router)
    app.include_router(router)
    app.include_router(mutual_aid_routes.router)
    app.include_router(contracts_routes.router)
    app.include_router(twin_routes.router)
    return app


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
