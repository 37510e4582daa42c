"""Fixtures of the pages' tests: a small demo store served with the sandbox channel, once per language; a page
that records console errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.ops.ops_bureau import serving
from web_pages import Site

from yibao.http.app import create_app
from yibao.ops.migrate import upgrade
from yibao.ops.store import Store, make_engine
from yibao.web.demo_store import prepare


@pytest.fixture(scope="module", params=["zh", "en"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A small demo store (12 persons) served with the sandbox channel, once per language."""
    folder = tmp_path_factory.mktemp(f"site-{request.param}")
    engine = make_engine(f"sqlite:///{folder / 'pages.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    demo = prepare(store, folder, persons=12)
    app = create_app(store)
    app.state.payment_sandbox = True
    app.state.mutual_aid_data = folder  # periods apportioned through the pages write their datasets here
    with serving(app) as base:
        yield Site(base, store, demo, request.param)
    engine.dispose()


@pytest.fixture()
def watched(page: Any, site: Site) -> Any:
    """The page with console errors and page errors recorded, in the site's language."""
    page.console_errors = []
    page.load_failures = []  # (url, reason) of every request that failed, this page's own included
    page.on("requestfailed", lambda r: page.load_failures.append((r.url, r.failure)))
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.context.add_cookies([{"name": "yibao_lang", "value": site.lang, "url": site.base}])
    return page


