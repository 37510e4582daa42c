"""The public mutual-aid board on a phone, without signing in: the plan, the claim on notice with the member's
name masked, the disclosed period with its cases."""

from __future__ import annotations

from typing import Any

import pytest
from web_pages import PHONE, Site, check, money, words

from yibao.mutual_aid import service as mutual_aid
from yibao.mutual_aid.disclosure import mask_name

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_board_shows_notices_and_disclosures_without_sign_in(watched: Any, site: Site) -> None:
    page = watched
    page.set_viewport_size(PHONE)
    page.goto(f"{site.base}/public/mutual-aid/")
    with site.store.transaction() as s:
        claim = mutual_aid.claim_row(s, site.demo.noticed_claim_id)
        name, amount = claim.member_name, claim.amount
    notices = page.locator("[data-testid=notice]")
    board = notices.all_inner_texts()
    assert any(mask_name(name) in text for text in board)
    assert name not in page.content()  # the full name never reaches the public page
    assert any(money(site, f"{amount // 100}.00") in text for text in board)
    period = page.locator("[data-testid=period]").first.inner_text()
    assert words(site, "信息披露：本期案件", "Disclosure: the cases of this period") in period
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # readable on a phone
    check(page, f"public-board-{site.lang}")
    other = "en" if site.lang == "zh" else "zh"
    page.click(f"header a[hreflang^='{other}']")  # the language switch keeps the page
    assert page.url.endswith("/public/mutual-aid/")
    assert page.inner_text("h1") == words(site, "Mutual-aid notice board", "互助公示栏")
