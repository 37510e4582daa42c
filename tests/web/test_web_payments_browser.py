"""`/bureau/payments/` and the counter's months in real Chromium (no console error, no serious accessibility
violation): an officer makes a month's statements and batch, downloads the bank file, uploads the bank's
confirmation; the hospital's cashier sees the month owed, withheld and paid."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from web_pages import DESK, Site, check, money, sign_in, words

from yibao.ops import claims, hospital_payments, ledger
from yibao.ops.audit import Actor
from yibao.ops.schemas import ClaimIn

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _june_claim(site: Site, year: int) -> None:
    """A 10,000-yuan bill at E2 (level 2) posted in June of last year; E2 given a bank account."""
    posted = dt.datetime(year, 6, 10, 2, tzinfo=dt.UTC)
    patch = pytest.MonkeyPatch()
    patch.setattr(ledger, "utcnow", lambda: posted)
    try:
        with site.store.transaction() as s:
            claims.submit(s, Actor("desk-e2", "facility"), "E2", ClaimIn(
                claim_id=f"PAY-{site.lang}", person_id=site.demo.member_person_id, service_date=dt.date(year, 6, 9),
                region="east-district", facility_level=2, care_type="inpatient", amount_class_a="10000"), f"PAY-{site.lang}")  # type: ignore[arg-type]
            hospital_payments.set_bank_account(s, Actor("officer-east", "officer"), "E2", "6222020200001234567")
    finally:
        patch.undo()


def test_officer_pays_the_hospital_and_the_counter_shows_it(watched: Any, site: Site, tmp_path: Path) -> None:
    page = watched
    page.set_viewport_size(DESK)
    year = dt.date.today().year - 1
    _june_claim(site, year)
    sign_in(page, site, "officer-east")
    page.goto(f"{site.base}/bureau/payments/")
    page.fill("#f-month", f"{year}-06")
    page.click("form[action='/bureau/payments/statements'] button[formaction='/bureau/payments/batches']")
    assert words(site, "拨付批次已生成", "The payment batch was made") in page.inner_text("p.notice")
    row = page.locator(f"tr[data-statement='{year}-06/E2']").inner_text()
    with site.store.transaction() as s:
        (statement,) = hospital_payments.statements(s, region="east-district", month=f"{year}-06")
    assert statement.withheld * 20 == statement.owed or abs(statement.withheld * 20 - statement.owed) < 20
    assert money(site, f"{statement.owed // 100}.{statement.owed % 100:02d}") in row
    check(page, f"bureau-payments-{site.lang}")
    batch_id = f"PB-east-district-{year}-06-1"
    with page.expect_download() as download:
        page.click(f"a[href='/bureau/payments/batches/{batch_id}/file']")
    bank = tmp_path / "bank.csv"
    download.value.save_as(bank)
    header, line = bank.read_text(encoding="utf-8").splitlines()
    reply = tmp_path / "reply.csv"
    reply.write_text(f"{header},status,reason\n{line},paid,\n", encoding="utf-8")
    page.set_input_files("#f-confirmation", str(reply))
    page.click("form[action='/bureau/payments/confirmations'] button")
    assert words(site, "已支付 1 笔", "1 lines paid") in page.inner_text("#confirmation-result")
    assert words(site, "已支付", "paid") in page.locator(f"tr[data-line='{batch_id}/1']").inner_text()
    check(page, f"bureau-payments-confirmed-{site.lang}")
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "yibao_lang", "value": site.lang, "url": site.base}])
    sign_in(page, site, "desk-e2")
    page.goto(f"{site.base}/counter/")
    month = page.locator(f"tr[data-month='{year}-06']").inner_text()
    payable = statement.payable
    assert money(site, f"{payable // 100}.{payable % 100:02d}") in month
    check(page, f"counter-months-{site.lang}")
