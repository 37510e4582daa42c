"""`/bureau/funds` without a browser: an officer sees their region's fund report in Chinese and English, never
another region's; a member may not open it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.ops.ops_bureau import OFFICER
from tests.web.test_web_rules import FIRST, _client, _sign_in

from yibao.ops import ledger, registry
from yibao.ops.auth import add_user
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import RegionIn, UserIn
from yibao.ops.store import Store, make_engine


def test_the_officer_sees_the_fund_report_of_their_region(tmp_path: Path) -> None:
    """Pooled fund 2024: 2,400 yuan of employer income, 600 of claims: balance 1,800; months 1,800 / 50 = 36.0."""
    engine = make_engine(f"sqlite:///{tmp_path / 'funds.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    with store.transaction() as s:
        for code in ("east", "west"):
            registry.add_region(s, OFFICER, RegionIn(code=code, name=code, average_wage="90000"))
        add_user(s, OFFICER, UserIn(username="o-east", password=FIRST, role="officer", regions=["east"]))
        ledger.post(s, OFFICER, "allocation", "contribution:1", "test", [
            Line(Account("east", 2024, AccountKind.CONTRIBUTION_INCOME, "employer"), 2400_00),
            Line(Account("east", 2024, AccountKind.BASIC_POOLED_FUND, "in:employer"), -2400_00)])
        ledger.post(s, OFFICER, "claim", "claim:C1", "test", [
            Line(Account("east", 2024, AccountKind.BASIC_POOLED_FUND), 600_00),
            Line(Account("east", 2024, AccountKind.FACILITY_PAYABLE, "H1"), -600_00)])
    with _client(store) as client:
        _sign_in(client, "o-east", FIRST)
        page = client.get("/bureau/funds?region=east&year=2024").text
        assert "累计结存可支付月数" in page and "单位缴费" in page
        months = page.split('data-row="months"')[1].split("</tr>")[0]
        assert 'data-fund="basic_pooled_fund">36.0<' in months
        balance = page.split('data-row="balance"')[1].split("</tr>")[0]
        assert ">1800.00元<" in balance
        other = client.get("/bureau/funds?region=west&year=2024").text  # not theirs: their own region is shown
        assert '<option value="west"' not in other and 'data-fund="basic_pooled_fund">36.0<' in other
        client.cookies.set("yibao_lang", "en")
        english = client.get("/bureau/funds?region=east&year=2024").text
        assert "Months of outlays covered" in english and "Employer contributions" in english
    engine.dispose()


@pytest.mark.browser
@pytest.mark.slow
def test_the_funds_page_in_a_browser(watched: Any, site: Any) -> None:
    """The demo's east-district officer opens the fund report: their region only, every check of a page passes."""
    from web_pages import DESK, check, sign_in, words

    page = watched
    page.set_viewport_size(DESK)
    sign_in(page, site, "officer-east")
    page.goto(f"{site.base}/bureau/funds")
    assert page.locator("#f-region option").all_inner_texts() == ["east-district"]
    assert words(site, "累计结存可支付月数", "Months of outlays covered") in page.inner_text("table")
    check(page, f"bureau-funds-{site.lang}")
