"""A mutual-aid platform operator at a desk: moves a claim through investigation, review and public notice,
apportions a period and pays an apportioned claim, publishes the disclosure, closes a jury after its votes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from web_pages import DESK, Site, check, sign_in, words

from yibao.mutual_aid import service as mutual_aid
from yibao.mutual_aid.calendar import periods_between
from yibao.ops.audit import Actor
from yibao.ops.store import utcnow
from yibao.web.demo_store import PLAN_ID

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PLATFORM = Actor("platform", "platform")


def _status(site: Site, claim_id: int) -> str:
    with site.store.transaction() as s:
        return mutual_aid.claim_row(s, claim_id).status


def test_operator_runs_the_workflow(watched: Any, site: Site) -> None:
    page = watched
    page.set_viewport_size(DESK)
    today = utcnow().date()
    with site.store.transaction() as s:
        plan = mutual_aid.plan_of(mutual_aid.plan_row(s, PLAN_ID))
        members = [m.id for m in mutual_aid.members_of(s, plan_id=PLAN_ID)]
        notice_day = periods_between(plan, today - dt.timedelta(days=16), today)[-1].notice_date
        on_notice = mutual_aid.file_claim(s, PLATFORM, members[1], "C18.0", notice_day - dt.timedelta(days=6),
                                          notice_day - dt.timedelta(days=5)).id
        mutual_aid.investigate(s, PLATFORM, on_notice, "调查机构", "病理报告", True, notice_day - dt.timedelta(days=4))
        mutual_aid.review(s, PLATFORM, on_notice, True, "符合条件", notice_day - dt.timedelta(days=3))
        mutual_aid.publish_notice(s, PLATFORM, on_notice, notice_day - dt.timedelta(days=2))
        filed = mutual_aid.file_claim(s, PLATFORM, members[3], "I21.0", today - dt.timedelta(days=3), today).id
        jurors = [j for j in members if j not in (members[8],)][:3]
        for juror in jurors:  # three seated members vote to pay: the plan's minimum for a verdict
            mutual_aid.cast_vote(s, Actor(f"m{juror}", "member"), site.demo.jury_claim_id, juror, True, today)
    sign_in(page, site, "platform")
    assert page.url.endswith("/platform/")
    check(page, f"platform-{site.lang}")

    row = f"tr[data-claim='{filed}']"
    page.fill(f"#inv-{filed}", "第三方调查机构")
    page.fill(f"#sum-{filed}", "出院小结确认")
    page.click(f"{row} button")
    assert _status(site, filed) == "investigated"
    page.click(f"{row} button[value=yes]")  # approving needs a reason: refused next to the claim
    assert words(site, "请填写原因", "Give a reason") in page.inner_text(f"{row} .error")
    assert _status(site, filed) == "investigated"
    page.fill(f"#rev-{filed}", "符合互助条件")
    page.click(f"{row} button[value=yes]")
    page.click(f"{row} button")
    assert _status(site, filed) == "noticed"

    page.select_option("select[name=notice_date]", notice_day.isoformat())
    page.click("form[action$='/periods'] button")
    assert words(site, "本期分摊已完成", "The period was apportioned") in page.inner_text("p.notice")
    page.click(f"tr[data-claim='{on_notice}'] button")
    assert _status(site, on_notice) == "paid"
    page.click(f"tr[data-period='{notice_day.isoformat()}'] button")
    assert words(site, "已发布", "published") in page.inner_text(f"tr[data-period='{notice_day.isoformat()}']")

    page.click(f"tr[data-claim='{site.demo.jury_claim_id}'] button")
    assert _status(site, site.demo.jury_claim_id) != "disputed"
    check(page, f"platform-done-{site.lang}")

    page.goto(f"{site.base}/public/mutual-aid/")  # the new period's disclosure is public at once
    assert page.locator("[data-testid=period]").count() == 2
