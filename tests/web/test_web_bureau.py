"""A bureau officer at a desk: finds the member by name in their region (never another region's persons), sees
the person's claims with the per-layer split, records a counter payment, refuses a bad date next to its field,
reverses a claim with a reason; the ledger's trial balance; an auditor reads the audit log."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from web_pages import DESK, Site, check, money, sign_in, words

from yibao.ops import contributions, lists, registry
from yibao.ops.store import AssistanceStatus, AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_officer_finds_the_member_and_acts_in_their_region_only(watched: Any, site: Site) -> None:
    page = watched
    page.set_viewport_size(DESK)
    with site.store.transaction() as s:
        member = registry.person(s, site.demo.member_person_id)
        neighbour = registry.person(s, site.demo.neighbour_person_id)  # the west district
        claim = lists.claims_of_person(s, member.person_id)[0]
        due = next(c for c in contributions.of_person(s, member.person_id) if c.status == contributions.DUE)
    sign_in(page, site, "officer-east")
    assert page.url.endswith("/bureau/")
    page.fill("#f-q", neighbour.name)
    with page.expect_request(lambda r: "/bureau/?q=" in r.url and r.headers.get("hx-request") == "true"):
        page.click("form[role=search] button")
    page.wait_for_selector(f"#results[data-q='{neighbour.name}']")  # swapped in place by htmx
    assert page.url.endswith("/bureau/?q=" + quote(neighbour.name))
    assert page.locator("tr[data-person]").count() == 0  # another region's person is never found
    page.fill("#f-q", member.name[0])  # a surname finds everyone of it in the officer's region
    page.click("form[role=search] button")
    page.wait_for_selector(f"#results[data-q='{member.name[0]}']")
    found = page.locator("tr[data-person]").evaluate_all("rows => rows.map(r => r.dataset.person)")
    assert member.person_id in found and neighbour.person_id not in found
    with site.store.transaction() as s:
        assert all(registry.person(s, pid).region == "east-district" for pid in found)
    check(page, f"bureau-search-{site.lang}")

    page.click(f"tr[data-person='{member.person_id}'] a")
    row = page.locator(f"tr[data-claim='{claim.claim_id}']")
    assert money(site, "8400.00") in row.inner_text() and money(site, "4100.00") in row.inner_text()
    check(page, f"bureau-person-{site.lang}")

    page.fill(f"#f-ref-{due.id}", "receipt-0001")
    page.click(f"tr[data-contribution='{due.id}'] button")
    assert words(site, "缴费已登记", "The payment was recorded") in page.inner_text("p.notice")
    with site.store.transaction() as s:
        assert next(c for c in contributions.of_person(s, member.person_id) if c.id == due.id).status == "paid"

    with site.store.transaction() as s:
        statuses = s.execute(select(func.count()).select_from(AssistanceStatus)).scalar_one()
    page.fill("#f-valid_from", "2024-13-01")
    page.click("form[action$='/assistance'] button")
    assert words(site, "请按 年-月-日", "Enter a date as YYYY-MM-DD") in page.inner_text("#e-assistance-valid_from")
    with site.store.transaction() as s:
        assert s.execute(select(func.count()).select_from(AssistanceStatus)).scalar_one() == statuses
    check(page, f"bureau-bad-date-{site.lang}")

    page.click(f"tr[data-claim='{claim.claim_id}'] button")  # no reason: refused next to the claim
    assert words(site, "请填写原因", "Give a reason") in page.inner_text(f"#e-reverse-{claim.claim_id}")
    page.fill(f"#f-reason-{claim.claim_id}", "duplicate bill")
    page.click(f"tr[data-claim='{claim.claim_id}'] button")
    assert words(site, "已冲销", "reversed") in page.inner_text(f"tr[data-claim='{claim.claim_id}']")
    with site.store.transaction() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "claim.reversed")).scalar_one()
    assert event.after is not None and event.after["reason"] == "duplicate bill"

    answer = page.goto(f"{site.base}/bureau/persons/{neighbour.person_id}")
    assert answer is not None and answer.status == 404
    page.console_errors.clear()  # the browser logs the 404 it was asked to load

    page.goto(f"{site.base}/bureau/ledger")
    assert "east-district" in page.inner_text("#tb-h") and "✓" in page.inner_text("tfoot")
    assert page.locator("#f-region option").all_inner_texts() == ["east-district"]
    check(page, f"bureau-ledger-{site.lang}")


def test_auditor_reads_the_audit_log_and_changes_nothing(watched: Any, site: Site) -> None:
    page = watched
    page.set_viewport_size(DESK)
    sign_in(page, site, "auditor")
    page.goto(f"{site.base}/bureau/audit?entity=user")
    assert "user.created" in page.inner_text("table")
    check(page, f"bureau-audit-{site.lang}")
    page.goto(f"{site.base}/bureau/persons/{site.demo.neighbour_person_id}")
    assert page.locator("form[action$='/enrolments']").count() == 0  # an auditor reads, never acts
