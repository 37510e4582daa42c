"""The pages' rules without a browser: catalogue complete, language choice, amounts and dates as people write
them, CSRF on every form, cookie flags, sign-in failures, a member never reaching another member's records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import func, select
from tests.ops.ops_bureau import OFFICER, Bureau

from yibao.cli.pages_demo import prepare_pages_demo
from yibao.contracts import posting
from yibao.contracts.loader import load_contract
from yibao.core.errors import CATALOGUE
from yibao.http.app import create_app
from yibao.ops import claims, contributions, registry
from yibao.ops.audit import Actor
from yibao.ops.auth import add_user
from yibao.ops.migrate import upgrade
from yibao.ops.privacy import mask_ric
from yibao.ops.schemas import ClaimIn, RegionIn, UserIn
from yibao.ops.store import Card, Contribution, Facility, PersonRow, Store, make_engine
from yibao.web import i18n
from yibao.web.demo_store import DemoSite, prepare
from yibao.web.i18n import Lang, Texts, choose

WEB = Path(i18n.__file__).parent
FIRST, SECOND = "copper-lantern-harbour-41", "violet-meadow-ferry-73"  # passwords the strength rule accepts


def test_every_message_of_the_pages_has_its_chinese_text() -> None:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    found = {message for _, _, message, *_ in extract_from_dir(str(WEB), method_map, keywords={"_": None, "N_": None, "gettext": None})
             if isinstance(message, str)}
    with open(i18n.catalogue_path(), "rb") as po:
        catalogue = {m.id: m.string for m in read_po(po) if m.id}
    assert len(found) > 150
    assert sorted(m for m in found if not catalogue.get(m)) == []
    assert sorted(set(catalogue) - found) == []  # no stale entries either


@pytest.mark.parametrize(("cookie", "header", "expected"), [
    (None, None, Lang.ZH),
    (None, "en-US,en;q=0.9,zh-CN;q=0.8", Lang.EN),
    (None, "zh-CN,zh;q=0.9,en;q=0.8", Lang.ZH),
    (None, "fr-FR,fr;q=0.9", Lang.ZH),
    (None, "zh;q=0.5, en;q=0.9", Lang.EN),
    ("zh", "en-US", Lang.ZH),
    ("en", None, Lang.EN),
    ("xx", "en", Lang.EN),
])
def test_language_cookie_then_accept_language_then_chinese(cookie: str | None, header: str | None, expected: Lang) -> None:
    assert choose(cookie, header) is expected


def test_amounts_and_dates_as_people_write_them() -> None:
    zh, en = Texts(Lang.ZH), Texts(Lang.EN)
    assert zh.day(date(2024, 3, 5)) == "2024年3月5日" and en.day(date(2024, 3, 5)) == "5 Mar 2024"
    assert zh.yuan(840_000) == "8400.00元" and en.yuan(5) == "0.05 元"
    assert zh.yuan("12.30") == "12.30元" and zh.yuan("-12.30") == "-12.30元"
    assert zh.gettext("Sign in") == "登录" and en.gettext("Sign in") == "Sign in"
    assert mask_ric("110101197501010012") == "110101********0012"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, DemoSite]]:
    folder = tmp_path_factory.mktemp("rules")
    engine = make_engine(f"sqlite:///{folder / 'pages.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    yield store, prepare(store, folder, persons=12)
    engine.dispose()


def _client(store: Store, base: str = "http://testserver") -> TestClient:
    app = create_app(store)
    app.state.payment_sandbox = True
    return TestClient(app, base_url=base, follow_redirects=False)


def _csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert found is not None
    return found.group(1)


def _sign_in(client: TestClient, who: str, password: str) -> str:
    token = _csrf(client)
    answer = client.post("/login", data={"csrf": token, "identifier": who, "password": password})
    assert answer.status_code == 303, answer.text
    return token


def test_cookies_are_httponly_samesite_and_secure_over_https(demo: tuple[Store, DemoSite]) -> None:
    store, site = demo
    with _client(store, "https://testserver") as client:
        token = _csrf(client)
        answer = client.post("/login", data={"csrf": token, "identifier": "zhangwei", "password": site.password})
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("yibao_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" in session
    with _client(store) as client:
        first = client.get("/")
    assert "Secure" not in first.headers["set-cookie"] and "HttpOnly" in first.headers["set-cookie"]


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(demo: tuple[Store, DemoSite]) -> None:
    store, site = demo
    with _client(store) as client:
        _sign_in(client, "zhangwei", site.password)
        with store.transaction() as s:
            cards_before = s.execute(select(func.count()).select_from(Card)).scalar_one()
        for data in ({}, {"csrf": "forged"}):
            answer = client.post("/m/card", data=data)
            assert answer.status_code == 403
            assert "表单已过期" in answer.text
        with store.transaction() as s:
            assert s.execute(select(func.count()).select_from(Card)).scalar_one() == cards_before


def test_wrong_password_is_shown_next_to_the_field(demo: tuple[Store, DemoSite]) -> None:
    store, _ = demo
    with _client(store) as client:
        token = _csrf(client)
        client.cookies.set("yibao_lang", "en")
        answer = client.post("/login", data={"csrf": token, "identifier": "zhangwei", "password": "wrong-password"})
    assert answer.status_code == 200 and "yibao_session" not in answer.headers.get("set-cookie", "")
    assert re.search(r'id="e-password"[^>]*>' + re.escape(CATALOGUE["auth.bad_credentials"].en) + "<", answer.text)


def test_a_member_cannot_pay_or_see_another_member_s_contribution(demo: tuple[Store, DemoSite]) -> None:
    store, site = demo
    with store.transaction() as s:
        other = next(c for c in contributions.of_person(s, site.neighbour_person_id))
        other_id, other_status = other.id, other.status
    with _client(store) as client:
        token = _sign_in(client, "zhangwei", site.password)
        assert client.get(f"/sandbox/pay/{other_id}").status_code == 404
        assert client.post(f"/sandbox/pay/{other_id}", data={"csrf": token, "outcome": "complete"}).status_code == 404
        page = client.post(f"/m/contributions/{other_id}/pay", data={"csrf": token})
        assert page.status_code == 200 and "此笔缴费不由您缴纳" in page.text
        assert site.neighbour_person_id not in client.get("/m/").text
        assert client.get("/counter/").status_code == 403  # a member is no cashier
    with store.transaction() as s:
        assert s.get(Contribution, other_id).status == other_status  # type: ignore[union-attr]


def test_pages_need_a_session_and_unknown_pages_answer_in_chinese(demo: tuple[Store, DemoSite]) -> None:
    store, _ = demo
    with _client(store) as client:
        assert client.get("/m/").headers["location"] == "/?next=/m/"
        missing = client.get("/m/nothing-here")
        assert missing.status_code == 404 and "页面不存在" in missing.text
        assert client.get("/claims/x").json()["code"] == "auth.missing_token"  # the API still answers JSON


def test_contract_reconciliation_figures_for_the_regions_served(tmp_path: Path) -> None:
    """An officer of the reference city sees its serious-illness contracts reconciled as the ledger stands; an
    officer of another region sees none of them."""
    engine = make_engine(f"sqlite:///{tmp_path / 'contracts.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    bureau = Bureau(store)
    pid = bureau.person()
    claims.settle(engine, Actor("h3", "facility"), "H3", ClaimIn(
        claim_id="C1", person_id=pid, service_date=date(2024, 3, 1), region="reference-city", facility_level=3,
        care_type="inpatient", amount_class_a="150000"), "C1", lambda row: row)  # type: ignore[arg-type]
    with store.transaction() as s:
        registry.add_region(s, OFFICER, RegionIn(code="elsewhere", name="Elsewhere", average_wage="90000"))
        add_user(s, OFFICER, UserIn(username="o-ref", password=FIRST, role="officer", regions=["reference-city"]))
        add_user(s, OFFICER, UserIn(username="o-else", password=FIRST, role="officer", regions=["elsewhere"]))
        expected = posting.preview(s, load_contract("pinggu-co-insurance"), "reference-city", 2024)
    with _client(store) as client:
        _sign_in(client, "o-ref", FIRST)
        page = client.get("/bureau/contracts").text
    assert page.count("data-contract=") == 3
    block = page.split('data-contract="pinggu-co-insurance"')[1]
    assert f'data-figure="claims_paid">{Texts(Lang.ZH).yuan(expected.experience.claims_paid)}<' in block
    assert expected.experience.claims_paid > 0 and "共保联办" in block
    with _client(store) as client:
        _sign_in(client, "o-else", FIRST)
        assert "data-contract=" not in client.get("/bureau/contracts").text
    engine.dispose()


def test_change_password_then_sign_in_with_the_new_one(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'password.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    Bureau(store)
    with store.transaction() as s:
        add_user(s, OFFICER, UserIn(username="desk", password=FIRST, role="facility", facility_id="H2"))
    with _client(store) as client:
        token = _sign_in(client, "desk", FIRST)
        weak = client.post("/password", data={"csrf": token, "current": FIRST, "new": "12345678", "again": "12345678"})
        assert 'id="e-new"' in weak.text and CATALOGUE["auth.weak_password"].zh in weak.text  # the service's rule
        wrong = client.post("/password", data={"csrf": token, "current": "nope-nope", "new": SECOND, "again": SECOND})
        assert 'id="e-current"' in wrong.text
        done = client.post("/password", data={"csrf": token, "current": FIRST, "new": SECOND, "again": SECOND})
        assert "密码已修改" in done.text
    with _client(store) as client:
        _sign_in(client, "desk", SECOND)
    engine.dispose()


def test_the_demo_prints_how_to_serve_the_pages_and_the_logins(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    database = prepare_pages_demo(tmp_path / "pages", persons=12, console=console)
    shown = console.export_text()
    assert f"YIBAO_DATABASE_URL=sqlite:///{database}" in shown and "YIBAO_PAYMENT_SANDBOX=1 yibao serve" in shown
    assert all(user in shown for user in ("zhangwei", "desk-e2", "officer-east", "auditor", "platform", "demo-pass-2024"))


def test_registration_in_the_officer_s_regions_with_errors_next_to_the_field(demo: tuple[Store, DemoSite]) -> None:
    store, site = demo
    good = "110101199001010031"  # a valid identity number (GB 11643 check digit)
    person = {"person_id": "NEW1", "name": "新人", "region": "east-district", "annual_income": ""}
    with _client(store) as client:
        token = _sign_in(client, "officer-east", site.password)
        page = client.get("/bureau/register").text
        assert '<option value="east-district"' in page and "west-district" not in page and 'data-kind="user"' not in page
        bad = client.post("/bureau/register/person", data={"csrf": token, **person, "ric": "110101199001010036"})
        assert re.search(r'id="e-person-ric"[^>]*>' + re.escape(CATALOGUE["person.bad_ric"].zh) + "<", bad.text)
        elsewhere = client.post("/bureau/register/person", data={"csrf": token, **person, "ric": good, "region": "west-district"})
        assert 'id="e-person-region"' in elsewhere.text
        with store.transaction() as s:
            assert s.get(PersonRow, "NEW1") is None
        done = client.post("/bureau/register/person", data={"csrf": token, **person, "ric": good})
        assert done.headers["location"] == "/bureau/register?done=person"
        facility = client.post("/bureau/register/facility", data={"csrf": token, "id": "E9", "name": "新医院",
                                                                   "region": "east-district", "level": "4"})
        assert 'id="e-facility-level"' in facility.text
        user = client.post("/bureau/register/user", data={"csrf": token, "username": "x", "password": SECOND,
                                                           "role": "auditor"})
        assert 'id="e-page"' in user.text  # users are the admin's to create
    with store.transaction() as s:
        assert s.get(PersonRow, "NEW1") is not None and s.get(Facility, "E9") is None
    with _client(store) as client:
        token = _sign_in(client, "admin", site.password)
        made = client.post("/bureau/register/user", data={"csrf": token, "username": "desk-w3", "password": SECOND,
                                                           "role": "facility", "facility_id": "W3"})
        assert made.status_code == 303
    with _client(store) as client:
        _sign_in(client, "desk-w3", SECOND)
