"""`/m/` without a browser: a member sees their individual account's balance and movements, and a relative sees
what a UEBMI member shares with them (家庭共济)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.ops.ops_bureau import OFFICER, Bureau
from tests.web.test_web_rules import FIRST, _client, _sign_in

from yibao.core.model import InsuranceScheme
from yibao.ops import claims, family
from yibao.ops.audit import Actor
from yibao.ops.auth import add_user
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import ClaimIn, UserIn
from yibao.ops.store import Store, make_engine


def test_the_member_page_shows_the_account_and_what_is_shared(tmp_path: Path) -> None:
    """The holder's 1,600 yuan (2% of 80,000); the spouse's claim (level 1, class A 10,000: personal part 1,670)
    takes all of it: the holder's page shows 0.00 and both movements; the spouse's shows the claim's share."""
    engine = make_engine(f"sqlite:///{tmp_path / 'member.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    bureau = Bureau(store)
    holder = bureau.person(InsuranceScheme.UEBMI_EMPLOYEE, wage="80000")
    spouse = bureau.person(InsuranceScheme.URRBMI)
    with store.transaction() as s:
        family.register_relative(s, OFFICER, holder, spouse, "spouse")
        for name, pid in (("holder", holder), ("spouse", spouse)):
            add_user(s, OFFICER, UserIn(username=name, password=FIRST, role="member", person_id=pid))
    with _client(store) as client:
        _sign_in(client, "holder", FIRST)
        page = client.get("/m/").text
        assert "我的职工医保个人账户" in page and ">1600.00元<" in page.split('data-row="balance"')[1].split("</tr>")[0]
    claims.settle(engine, Actor("h1", "facility"), "H1", ClaimIn(
        claim_id="S1", person_id=spouse, service_date=date(2024, 3, 1), region="reference-city", facility_level=1,
        care_type="inpatient", amount_class_a="10000"), "S1", lambda row: row)  # type: ignore[arg-type]
    with _client(store) as client:
        _sign_in(client, "holder", FIRST)
        page = client.get("/m/").text
        assert ">0.00元<" in page.split('data-row="balance"')[1].split("</tr>")[0]
        assert 'data-movement="claim:S1"' in page
    with _client(store) as client:
        _sign_in(client, "spouse", FIRST)
        client.cookies.set("yibao_lang", "en")
        page = client.get("/m/").text
        assert "My individual account" in page and 'data-row="shared"' in page
    engine.dispose()
