"""The API's documentation page works with no network: Swagger UI loads only from this server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from ops_bureau import serving

from yibao.http.app import create_app
from yibao.ops.migrate import upgrade
from yibao.ops.store import Store, make_engine


@pytest.fixture()
def base_url(tmp_path: Path) -> Iterator[str]:
    engine = make_engine(f"sqlite:///{tmp_path / 'docs.sqlite3'}")
    upgrade(engine)
    with serving(create_app(Store(engine))) as base:
        yield base
    engine.dispose()


def _requests(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def test_the_page_names_only_local_assets(base_url: str) -> None:
    client = httpx.Client(timeout=60)  # a loaded 2-core machine may take more than httpx's 5 s default
    html = client.get(base_url + "/docs").text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        assert f"/docs-assets/{asset}" in html
        served = client.get(f"{base_url}/docs-assets/{asset}")
        assert served.status_code == 200 and served.content
    assert "https://" not in html.replace("https://swagger.io", "")  # nothing to fetch from elsewhere
    assert len(client.get(f"{base_url}/docs-assets/swagger-ui-bundle.js").content) > 500_000  # the real bundle
    # ReDoc is not served: its bundle always loads its maker's logo from a CDN
    assert client.get(base_url + "/redoc").status_code == 404


def test_swagger_ui_renders_the_operations_offline(page: Any, base_url: str) -> None:
    seen = _requests(page)
    page.goto(base_url + "/docs")
    page.locator(".opblock").first.wait_for(timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/auth/login", "/claims", "/ledger/trial-balance", "/persons/{person_id}/cards"} <= {p.strip() for p in paths}
    assert "yibao operations" in page.locator(".info .title").inner_text()
    assert page.failed_requests == []
    assert seen and {urlsplit(url).hostname for url in seen} == {"127.0.0.1"}
    assert any(url.endswith("/openapi.json") for url in seen)
