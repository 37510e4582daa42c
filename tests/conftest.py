"""Shared fixtures: a real PostgreSQL server and Debian's headless Chromium.

Outside CI a missing server or browser skips the tests that need it with a clear
message; under CI=true it fails them, because CI must run them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHROMIUM = os.environ.get("YIBAO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} (CI=true: these tests must run, not skip)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of a reachable PostgreSQL database (YIBAO_TEST_DATABASE_URL, default the local server)."""
    url = os.environ.get("YIBAO_TEST_DATABASE_URL", DEFAULT_PG)
    try:
        import psycopg

        plain = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure to connect means: no server here
        _missing(f"no PostgreSQL answers at {url}: {exc}")
    return url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that refuses any request leaving this machine and records failed requests."""
    context = browser.new_context()
    page = context.new_page()
    page.failed_requests = []  # type: ignore[attr-defined]
    page.on("requestfailed", lambda req: page.failed_requests.append(req.url))  # type: ignore[attr-defined]

    def only_local(route: Any) -> None:
        url = route.request.url
        local = url.startswith(("file:", "data:", "about:", "blob:")) or "://127.0.0.1" in url or "://localhost" in url
        if local:
            route.continue_()
        else:
            page.failed_requests.append(url)  # type: ignore[attr-defined]
            route.abort()

    page.route("**/*", only_local)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """A migrated operations store: the same tests on both databases (PostgreSQL: a fresh schema per test)."""
    from tests.ops.ops_bureau import pg_store
    from yibao.ops.migrate import upgrade
    from yibao.ops.store import Store, make_engine

    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'ops.sqlite3'}")
        upgrade(engine)
        yield Store(engine)
        engine.dispose()
    else:
        yield from pg_store(request.getfixturevalue("pg_url"))
