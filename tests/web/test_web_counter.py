"""A hospital cashier at 1280 px: scans the member's e-card, sees who it is and that they are covered today, enters
the bill, pre-settles (nothing stored), settles, and prints the statement whose figures equal the API's settlement.
A bad amount changes nothing and is named next to its field."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from web_pages import DESK, Site, check, money, sign_in, text_of, words

from yibao.core.errors import CATALOGUE
from yibao.ops import cards, contributions
from yibao.ops.audit import Actor
from yibao.ops.auth import ensure_secrets
from yibao.ops.store import ClaimRow

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _paid_up_card(site: Site) -> str:
    """The demo member pays their part (as on the phone) and shows a fresh card: its token, as a scanner types it."""
    member = Actor("zhangwei", "member")
    with site.store.transaction() as s:
        for due in contributions.of_person(s, site.demo.member_person_id):
            if due.status == contributions.DUE:
                # paid in the window for the year (1 December of the year before): covered from 1 January
                contributions.record_payment(s, member, due.id, due.amount, "mobile", f"test-{due.id}",
                                             date(due.year - 1, 12, 1))
        return cards.issue(s, member, ensure_secrets(s)["card_secret"], site.demo.member_person_id).token


def _claims(site: Site) -> int:
    with site.store.transaction() as s:
        return int(s.execute(select(func.count()).select_from(ClaimRow)).scalar_one())


def test_cashier_scans_presettles_settles_and_prints(watched: Any, site: Site) -> None:
    page = watched
    page.set_viewport_size(DESK)
    token = _paid_up_card(site)
    sign_in(page, site, "desk-e2")
    assert page.url.endswith("/counter/")
    check(page, f"counter-start-{site.lang}")
    page.fill("#f-token", token)
    page.click("form[action='/counter/card'] button")
    assert text_of(page, "[data-testid=holder-name]") == "张伟"
    assert text_of(page, "[data-testid=covered]") == words(site, "是", "yes")

    before = _claims(site)
    page.select_option("#f-care_type", "inpatient")
    page.fill("#f-amount_class_a", "12.345")  # three decimals: refused next to the field, nothing stored
    page.click("form[action='/counter/presettle'] button")
    assert words(site, "最多两位小数", "at most two decimals") in page.inner_text("#e-amount_class_a")
    assert page.get_attribute("#f-amount_class_a", "aria-invalid") == "true"
    check(page, f"counter-bad-input-{site.lang}")

    page.fill("#f-amount_class_a", "10000")
    page.fill("#f-amount_class_b", "2000.00")
    page.fill("#f-amount_self_pay", "500")
    page.fill("#f-diagnosis", "I21.9")
    page.click("form[action='/counter/presettle'] button")
    # this year's first bill of the person: the bill of docs/operations.md, at a level-2 hospital
    assert text_of(page, "[data-testid=pre-oop]") == money(site, "4100.00")
    assert _claims(site) == before  # a pre-settlement stores nothing
    check(page, f"counter-presettled-{site.lang}")

    page.click("form[action='/counter/settle'] button")
    assert "/statement" in page.url
    assert _claims(site) == before + 1
    claim_id = text_of(page, "[data-testid=statement-claim]")
    with httpx.Client(base_url=site.base) as api:
        bearer = api.post("/auth/login", json={"username": "desk-e2", "password": site.demo.password}).json()["access_token"]
        settled = api.get(f"/claims/{claim_id}", headers={"Authorization": f"Bearer {bearer}"}).json()
        explained = api.get(f"/claims/{claim_id}/explanation", headers={"Authorization": f"Bearer {bearer}"},
                            params={"lang": site.lang, "format": "text"}).text
    assert text_of(page, "[data-testid=statement-oop]") == money(site, settled["out_of_pocket"])
    for layer, amount in settled["paid"].items():
        assert text_of(page, f"[data-testid=statement] td[data-layer='{layer}']") == money(site, amount)
    assert settled["paid"]["basic"] == "8400.00"
    shown = page.inner_text("[data-testid=statement] .explain")
    assert [line.rstrip() for line in shown.strip().splitlines()] == explained.strip().splitlines()  # the API's text
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()  # the printed statement is the statement alone
    page.emulate_media(media="screen")
    check(page, f"counter-statement-{site.lang}")

    page.goto(f"{site.base}/counter/")
    assert claim_id in page.inner_text("#today-h + .table-wrap")
    assert page.locator("#owed-h + table tbody tr").count() >= 1

    row = f"tr[data-claim='{claim_id}']"
    page.click(f"{row} a[href$='/correct']")
    page.fill("#f-amount_class_a", "20000.00")
    page.click("form[action$='/correct'] button")  # no reason: refused next to the field, nothing changed
    assert words(site, "请填写原因", "Give a reason") in page.inner_text("#e-reason")
    check(page, f"counter-correct-{site.lang}")
    page.fill("#f-reason", words(site, "甲类费用录入有误", "class A amount mistyped"))
    page.click("form[action$='/correct'] button")
    # by hand: 22,000 in policy less 200 first-pay and the 600 deductible, 75% = 15,900; 22,500 - 15,900 = 6,600
    assert text_of(page, "[data-testid=statement-oop]") == money(site, "6600.00")
    page.goto(f"{site.base}/counter/")
    page.fill(f"#f-reason-{claim_id}", words(site, "患者未就诊", "the patient left before treatment"))
    page.click(f"{row} button")
    assert words(site, "已冲销", "reversed") in page.inner_text(row)
    with site.store.transaction() as s:
        assert s.execute(select(ClaimRow.status).where(ClaimRow.claim_id == claim_id)).scalar_one() == "reversed"


def test_cashier_cannot_open_another_facility_s_statement(watched: Any, site: Site) -> None:
    page = watched
    with site.store.transaction() as s:
        other = s.execute(select(ClaimRow.claim_id).where(ClaimRow.facility_id != site.demo.facility_id).limit(1)).scalar_one()
    sign_in(page, site, "desk-e2")
    answer = page.goto(f"{site.base}/counter/claims/{other}/statement")
    assert answer is not None and answer.status == 404
    assert words(site, CATALOGUE["claim.not_found"].zh, CATALOGUE["claim.not_found"].en) in page.inner_text("main")
