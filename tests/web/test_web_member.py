"""A member on a 390 px phone: signs in with their identity number, shows the e-card, pays their contribution
through the sandbox channel and sees it paid; reads last year's claim split and its explanation; votes as a juror;
never sees another member's data."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from web_pages import PHONE, Site, check, money, sign_in, text_of, words

from yibao.ops import contributions, lists
from yibao.ops.store import Contribution, Enrolment, PersonRow, utcnow

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _own_due(site: Site) -> list[Contribution]:
    with site.store.transaction() as s:
        return [c for c in contributions.of_person(s, site.demo.member_person_id)
                if c.status == contributions.DUE and c.source in contributions.MEMBER_PAYS]


def test_member_shows_card_and_pays_through_the_sandbox(watched: Any, site: Site) -> None:
    page = watched
    page.set_viewport_size(PHONE)
    sign_in(page, site, site.demo.member_ric)  # an identity number signs a member in, as a user name does
    assert page.url.endswith("/m/")
    page.click("#card button[type=submit]")
    qr = page.locator("#card .qr svg")
    assert qr.bounding_box()["width"] >= 250  # large enough to scan from the screen
    assert text_of(page, "[data-testid=card-name]") == "张伟"
    masked = text_of(page, "[data-testid=card-ric]")
    assert masked.startswith(site.demo.member_ric[:6]) and "*" * 8 in masked and site.demo.member_ric not in page.content()
    check(page, f"member-card-{site.lang}")

    owed = _own_due(site)
    assert len(owed) == 1
    row = page.locator(f"tr[data-contribution='{owed[0].id}']")
    assert money(site, "400.00") in row.inner_text()
    row.locator("button").click()
    assert "SANDBOX" in page.inner_text(".sandbox-banner") and "沙箱" in page.inner_text(".sandbox-banner")
    assert text_of(page, "[data-testid=sandbox-amount]") == money(site, "400.00")
    check(page, f"sandbox-{site.lang}")
    page.click("button[value=complete]")
    assert words(site, "已收到付款", "Payment received") in page.inner_text("p.notice")
    assert words(site, "已缴", "paid") in page.locator(f"tr[data-contribution='{owed[0].id}']").inner_text()
    assert _own_due(site) == []
    with site.store.transaction() as s:  # the callback made the enrolment active: covered at the counter now
        status = s.execute(select(Enrolment.status).where(
            Enrolment.person_id == site.demo.member_person_id, Enrolment.year == utcnow().year)).scalar_one()
    assert status == "active"
    check(page, f"member-paid-{site.lang}")


def test_member_reads_claims_household_and_votes(watched: Any, site: Site) -> None:
    page = watched
    page.set_viewport_size(PHONE)
    sign_in(page, site, "zhangwei")
    with site.store.transaction() as s:
        own = lists.claims_of_person(s, site.demo.member_person_id)[0]
        neighbour = s.get(PersonRow, site.demo.neighbour_person_id)
        assert neighbour is not None
        others = [c.claim_id for c in lists.claims_of_person(s, neighbour.person_id)]
    article = page.locator(f"article[data-claim='{own.claim_id}']")
    assert money(site, "4100.00") in article.inner_text()  # by hand: docs/operations.md's bill at a level-2 hospital
    article.locator("summary").click()
    explanation = article.locator(".explain").inner_text()
    stored = own.explanation["zh" if site.lang == "zh" else "en"]
    assert stored["layers"][0]["parts"][0]["steps"][0] in explanation  # the core's words, as the API gives them
    assert words(site, "起付线", "deductible") in explanation
    content = page.content()
    assert neighbour.name not in content and all(c not in content for c in others)

    seat = page.locator(f"article[data-jury='{site.demo.jury_claim_id}']")
    seat.locator("input[value=yes]").check()
    seat.locator("button[type=submit]").click()
    assert words(site, "您已投票：支持给付", "You voted: pay") in page.locator(
        f"article[data-jury='{site.demo.jury_claim_id}']").inner_text()
    check(page, f"member-voted-{site.lang}")
