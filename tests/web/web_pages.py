"""Helpers of the pages' tests: the demo site served by a real uvicorn, and the checks every page must pass in
real Chromium — no console error, no failed request, no serious or critical accessibility violation (axe-core,
vendored gzipped under assets/, run inside the page)."""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from yibao.ops.store import Store
from yibao.web.demo_store import DemoSite

ASSETS = Path(__file__).parent / "assets"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "pages"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


@dataclass
class Site:
    base: str
    store: Store
    demo: DemoSite
    lang: str




@cache
def axe_source() -> str:
    return gzip.decompress((ASSETS / "axe-4.14.1.min.js.gz").read_bytes()).decode()


def check(page: Any, name: str) -> None:
    """What every page must pass, and a screenshot kept as a test artefact."""
    page.wait_for_load_state("load")
    assert page.console_errors == [], page.console_errors
    # nothing leaves the machine (the shared fixture aborts and records it), and nothing served failed to load; a
    # request cancelled because the test moved on to the next page (net::ERR_ABORTED) is no failure of a page
    assert [url for url in page.failed_requests if "://127.0.0.1" not in url] == []
    assert [(url, why) for url, why in page.load_failures if why != "net::ERR_ABORTED"] == []
    assert page.evaluate("typeof htmx") == "object"  # this page's own assets all loaded
    page.add_script_tag(content=axe_source())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert bad == [], bad
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, site: Site, username: str) -> None:
    page.goto(f"{site.base}/")
    page.fill("#f-identifier", username)
    page.fill("#f-password", site.demo.password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()


def words(site: Site, zh: str, en: str) -> str:
    return zh if site.lang == "zh" else en


def money(site: Site, yuan: str) -> str:
    return f"{yuan}元" if site.lang == "zh" else f"{yuan} 元"


def text_of(page: Any, selector: str) -> str:
    return re.sub(r"\s+", " ", page.inner_text(selector)).strip()
