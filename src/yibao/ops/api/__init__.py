"""The operations HTTP API (FastAPI; OpenAPI at /docs)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from yibao.ops.api import contracts_routes, mutual_aid_routes
from yibao.ops.api.deps import install_error_handlers
from yibao.ops.api.routes import router
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
    )
    with store.transaction() as session:
        secrets = ensure_secrets(session)
    if os.environ.get("YIBAO_PAYMENT_SECRET"):
        secrets["payment_secret"] = os.environ["YIBAO_PAYMENT_SECRET"]
    app.state.store = store
    app.state.secrets = secrets
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(mutual_aid_routes.router)
    app.include_router(contracts_routes.router)
    return app


def app_from_environment() -> FastAPI:
    """The app over YIBAO_DATABASE_URL (already migrated): the factory each `yibao serve --workers N` process calls."""
    return create_app(Store.open())
