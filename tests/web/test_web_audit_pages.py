"""Issue 19's pages under /bureau/: an officer opens a Twin case from the check's flags file, confirms it and sees the
receivable posted, enrols the uninsured worker; an officer rejects a review flag without a reason (refused next to
the field, nothing changed), then with one, and draws a sample; an officer of another region sees none of it; an
auditor reads only. In zh and en, in real Chromium: no console error, no failed request, axe-core clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select
from stdnum.cn import ric, uscc
from web_pages import DESK, Site, check, money, sign_in, words

from yibao.ops import registry, review_queue
from yibao.ops.audit import Actor
from yibao.ops.schemas import EmployerIn
from yibao.ops.store import AuditEvent, ClaimRow, JournalEntry, utcnow
from yibao.ops.store_audit import ReviewFlag, TwinCase
from yibao.web.twin_pages import FlagsFileError, read_flags

BUREAU = Actor("bureau", "admin")
COLUMNS = ("inspection_id", "employer_uscc", "kind", "person_id", "match", "score", "observed_wage", "declared_base",
           "expected_base", "monthly_shortfall", "reason", "months", "contributions_due", "late_fee", "ric", "name")


def make_uscc(org: str) -> str:
    first = f"91110101{org}"
    return first + uscc.calc_check_digit(first + "0")


def make_ric(birth: str, order: int) -> str:
    first = f"110101{birth}{order:03d}"
    return first + ric.calc_check_digit(first + "0")


def switch(page: Any, site: Site, username: str) -> None:
    """Sign in as another user (a fresh session, in the site's language)."""
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "yibao_lang", "value": site.lang, "url": site.base}])
    sign_in(page, site, username)


def flags_file(path: Path, employer: str, other: str) -> Path:
    """A flags.csv as `yibao audit twin` writes it (with the observed identity joined in): two rows of the
    employer — an uninsured worker unknown to the registry, an under-declared base — and one of another employer."""
    rows = [
        ("I-1", employer, "uninsured_worker", "", "none", "", "6500.00", "", "6500.00", "6500.00", "no insured match",
         "6", "1300.00", "48.75", make_ric("19900512", 123), "王小明"),
        ("I-2", employer, "under_declared_base", "P-X", "ric_exact", "1.000000", "9000.00", "5000.00", "9000.00",
         "4000.00", "declared base below expected", "6", "800.00", "30.00", "", ""),
        ("I-9", other, "uninsured_worker", "", "none", "", "7000.00", "", "7000.00", "7000.00", "no insured match",
         "6", "1400.00", "52.50", "", ""),
    ]  # fmt: skip
    pl.DataFrame([dict(zip(COLUMNS, r, strict=True)) for r in rows]).write_csv(path)
    return path


@pytest.mark.browser
@pytest.mark.slow
def test_officer_opens_confirms_a_twin_case_and_enrols_the_worker(watched: Any, site: Site, tmp_path: Path) -> None:
    page = watched
    page.set_viewport_size(DESK)
    employer, other = make_uscc("MA0000011"), make_uscc("MA0000012")
    year = utcnow().year
    with site.store.transaction() as s:
        registry.add_employer(s, BUREAU, EmployerIn(uscc=employer, name="东城机械厂", region="east-district"))
        registry.add_employer(s, BUREAU, EmployerIn(uscc=other, name="西城商贸", region="west-district"))
    good = flags_file(tmp_path / "flags.csv", employer, other)
    bad = tmp_path / "bad.csv"
    bad.write_text("inspection_id,employer_uscc,kind\nI-1,x,uninsured_worker\n", encoding="utf-8")

    sign_in(page, site, "officer-east")
    page.goto(f"{site.base}/bureau/twin/")
    page.fill("#f-open-employer_uscc", employer)
    page.fill("#f-open-year", str(year))
    page.set_input_files("#f-open-flags", str(bad))
    page.click("form[action='/bureau/twin/cases'] button")
    assert words(site, "不是双随机比对的标记文件", "Not a flags file") in page.inner_text("#e-open-flags")
    assert "person_id" in page.inner_text("#e-open-flags")  # the first missing column, on line 1
    with site.store.transaction() as s:
        assert s.execute(select(func.count()).select_from(TwinCase)).scalar_one() == 0
    check(page, f"twin-bad-file-{site.lang}")

    page.fill("#f-open-employer_uscc", other)  # an employer of another region is answered as unknown
    page.set_input_files("#f-open-flags", str(good))
    page.click("form[action='/bureau/twin/cases'] button")
    assert words(site, "用人单位不存在", "No such employer") in page.inner_text("#e-open-employer_uscc")
    with site.store.transaction() as s:
        assert s.execute(select(func.count()).select_from(TwinCase)).scalar_one() == 0

    page.fill("#f-open-employer_uscc", employer)
    page.set_input_files("#f-open-flags", str(good))
    page.click("form[action='/bureau/twin/cases'] button")
    assert words(site, "已立案", "The case was opened") in page.inner_text("p.notice")
    assert page.locator("tr[data-worker]").evaluate_all("rows => rows.map(r => r.dataset.worker)") == ["I-1", "I-2"]
    assert money(site, "2100.00") in page.inner_text("#case-h + dl")  # arrears 1300.00 + 800.00
    check(page, f"twin-case-open-{site.lang}")

    page.click("form[action$='/outcome'] button")  # no outcome chosen: refused next to the field
    assert words(site, "请选择一项", "Choose one of the options") in page.inner_text("#e-outcome-outcome")
    page.select_option("#f-outcome-outcome", "confirmed")
    page.fill("#f-outcome-note", "two workers seen on site")
    page.click("form[action$='/outcome'] button")
    assert page.get_attribute("#case-status", "data-status") == "confirmed"
    assert money(site, "2178.75") in page.inner_text("#receivable")  # 2100.00 + late fee 78.75
    with site.store.transaction() as s:
        case = s.execute(select(TwinCase)).scalar_one()
        entry = s.get_one(JournalEntry, case.entry_id)
        assert entry.reference == f"twin_case:{case.id}"
    check(page, f"twin-case-confirmed-{site.lang}")

    page.fill("#f-enrol-I-1-person_id", "TW-0001")
    page.click("tr[data-worker='I-1'] button")
    assert "TW-0001" in page.inner_text("tr[data-worker='I-1']")
    with site.store.transaction() as s:
        person = registry.person(s, "TW-0001")
        assert person.name == "王小明" and person.region == "east-district"
        assert [e.year for e in registry.enrolments_of(s, "TW-0001")] == [year]
        assert s.execute(select(AuditEvent).where(AuditEvent.action == "twin_case.worker_enrolled")).scalar_one()
    case_id = case.id

    page.goto(f"{site.base}/bureau/twin/")
    assert page.locator(f"tr[data-case='{case_id}']").count() == 1
    check(page, f"twin-cases-{site.lang}")

    switch(page, site, "officer-west")  # another region: no case listed, the case answered as missing
    page.goto(f"{site.base}/bureau/twin/")
    assert page.locator("tr[data-case]").count() == 0
    answer = page.goto(f"{site.base}/bureau/twin/cases/{case_id}")
    assert answer is not None and answer.status == 404
    page.console_errors.clear()  # the browser logs the 404 it was asked to load

    switch(page, site, "auditor")  # reads, never acts
    page.goto(f"{site.base}/bureau/twin/cases/{case_id}")
    assert "TW-0001" in page.inner_text("tr[data-worker='I-1']")
    assert page.locator("form[action^='/bureau/twin']").count() == 0
    check(page, f"twin-case-auditor-{site.lang}")


def _load_flags(site: Site) -> dict[str, int]:
    """One flag on a claim of each region, as screening raises them; their ids by region."""
    with site.store.transaction() as s:
        picked = {region: s.execute(select(ClaimRow.claim_id).where(ClaimRow.region == region).limit(1)).scalar_one()
                  for region in ("east-district", "west-district")}
        existing = s.execute(select(func.count()).select_from(ReviewFlag)).scalar_one()
        if not existing:
            flags = pl.DataFrame([
                {"claim_id": claim, "reason": "implausible_amount", "score": 4.25,
                 "evidence": json.dumps({"robust_z": 4.25, "peer_median": "812.00"}), "region": region}
                for region, claim in picked.items()
            ])  # fmt: skip
            review_queue.load_flags(s, BUREAU, flags, "test")
        return {row.region: row.id for row in s.execute(select(ReviewFlag)).scalars()}


@pytest.mark.browser
@pytest.mark.slow
def test_officer_rejects_a_flag_with_a_reason_and_draws_a_sample(watched: Any, site: Site) -> None:
    page = watched
    page.set_viewport_size(DESK)
    ids = _load_flags(site)
    east, west = ids["east-district"], ids["west-district"]

    sign_in(page, site, "officer-east")
    page.goto(f"{site.base}/bureau/review/")
    assert page.locator("tr[data-flag]").evaluate_all("rows => rows.map(r => r.dataset.flag)") == [str(east)]
    row = page.locator(f"tr[data-flag='{east}']")
    assert "implausible_amount" in row.inner_text() and "robust_z" in row.inner_text()
    check(page, f"review-queue-{site.lang}")

    row.locator("button[value=reject]").click()  # no reason: refused next to the field, nothing changed
    assert words(site, "驳回标记需要填写理由", "Rejecting a flag needs a reason") in page.inner_text(f"#e-reason-{east}")
    with site.store.transaction() as s:
        assert review_queue.flag(s, east).status == "open"
        assert s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "review.reject")
                         ).scalar_one() == 0  # fmt: skip
    check(page, f"review-no-reason-{site.lang}")

    page.fill(f"#f-reason-{east}", "bill checked with the ward: amounts right")
    page.locator(f"tr[data-flag='{east}'] button[value=reject]").click()
    assert words(site, "已驳回该标记", "The flag was rejected") in page.inner_text("p.notice")
    page.goto(f"{site.base}/bureau/review/?status=rejected")
    decided = page.inner_text(f"tr[data-flag='{east}']")
    assert "officer-east" in decided and "bill checked with the ward" in decided
    with site.store.transaction() as s:
        flag = review_queue.flag(s, east)
        assert (flag.status, flag.decided_by) == ("rejected", "officer-east")
        assert s.execute(select(AuditEvent).where(AuditEvent.action == "review.reject")).scalar_one()
    check(page, f"review-decided-{site.lang}")

    page.goto(f"{site.base}/bureau/review/")
    page.fill("#f-sample-size", "0")
    page.click("form[action='/bureau/review/sample'] button")
    assert words(site, "抽样至少需要一个标记", "A sample needs at least one flag") in page.inner_text("#e-sample-size")

    switch(page, site, "officer-west")  # the west flag only; the east decision is not theirs to see
    page.goto(f"{site.base}/bureau/review/?status=all")
    assert page.locator("tr[data-flag]").evaluate_all("rows => rows.map(r => r.dataset.flag)") == [str(west)]
    page.fill("#f-sample-size", "5")
    page.click("form[action='/bureau/review/sample'] button")
    assert words(site, "已抽取待审核的标记：1 条", "Flags drawn for review: 1") in page.inner_text("p.notice")
    assert page.locator(f"tr[data-flag='{west}'] .tag").count() == 1
    with site.store.transaction() as s:
        assert review_queue.flag(s, west).sampled and not review_queue.flag(s, east).sampled
    check(page, f"review-sample-{site.lang}")

    switch(page, site, "auditor")  # every region, no forms
    page.goto(f"{site.base}/bureau/review/?status=all")
    assert page.locator("tr[data-flag]").count() == 2
    assert page.locator("form[method=post][action^='/bureau/review']").count() == 0
    check(page, f"review-auditor-{site.lang}")


def test_the_flags_file_reader_takes_the_employers_rows_and_names_a_bad_line(tmp_path: Path) -> None:
    employer, other = make_uscc("MA0000011"), make_uscc("MA0000012")
    data = flags_file(tmp_path / "flags.csv", employer, other).read_bytes()
    flags = read_flags(data, employer)
    assert [(f.inspection_id, f.kind, f.person_id, f.contributions_due) for f in flags] == [
        ("I-1", "uninsured_worker", None, "1300.00"), ("I-2", "under_declared_base", "P-X", "800.00")]
    assert flags[0].ric == make_ric("19900512", 123) and flags[0].name == "王小明"
    assert read_flags(data, make_uscc("MA0000013")) == []  # the service then refuses: no flagged observation
    with pytest.raises(FlagsFileError) as bad:
        read_flags(data.replace(b"9000.00", b"9000.5x"), employer)
    assert (bad.value.code, bad.value.line, bad.value.column) == ("twin.bad_amount", 3, "observed_wage")
    with pytest.raises(FlagsFileError) as bad:
        read_flags(data.replace(b",6,800.00", b",six,800.00"), employer)
    assert (bad.value.code, bad.value.line, bad.value.column) == ("twin.bad_months", 3, "months")
    with pytest.raises(FlagsFileError) as bad:
        read_flags(b"\xff\xfe\x00bad", employer)
    assert (bad.value.code, bad.value.line) == ("web.flags_file", 0)
