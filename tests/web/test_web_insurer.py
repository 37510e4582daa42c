"""An insurer at a desk: signs in, lands on its layer's figures per region-year — the trial balance rows of its
layer's fund as the API gives them to insurers, the claims its layer paid — and sees nothing of another layer."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.ops.ops_bureau import OFFICER, Bureau
from web_pages import DESK, Site, check, money, sign_in, text_of, words

from yibao.contracts import posting
from yibao.contracts.loader import load_contract
from yibao.core.money import format_yuan
from yibao.http.app import create_app
from yibao.ops import claims, lists, registry
from yibao.ops.audit import Actor
from yibao.ops.auth import add_user
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import ClaimIn, UserIn
from yibao.ops.store import Store, make_engine
from yibao.web.i18n import Lang, Texts

PASSWORD = "copper-lantern-harbour-41"


def _big_claim(site: Site) -> str:
    """A large inpatient bill of the neighbour (west district, hospital W3): the serious-illness layer pays."""
    with site.store.transaction() as s:
        region = registry.person(s, site.demo.neighbour_person_id).region
        day = lists.claims_of_person(s, site.demo.member_person_id)[0].service_date
    split = claims.settle(site.store.engine, Actor("desk-w3", "facility"), "W3", ClaimIn(
        claim_id="BIG-SI", person_id=site.demo.neighbour_person_id, service_date=day, region=region,
        facility_level=3, care_type="inpatient", amount_class_a="300000", diagnosis="I21.9",
    ), "BIG-SI", lambda row: dict(row.split))
    assert split["serious_illness"] > 0
    return f"{region}:{day.year}"


def _api(site: Site, username: str, path: str) -> Any:
    login = httpx.post(f"{site.base}/auth/login", json={"username": username, "password": site.demo.password})
    token = login.json()["access_token"]
    answer = httpx.get(f"{site.base}{path}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.browser
@pytest.mark.slow
def test_the_insurer_sees_its_layer_s_figures_and_nothing_of_another_layer(watched: Any, site: Site) -> None:
    page = watched
    page.set_viewport_size(DESK)
    region_year = _big_claim(site)
    region, year = region_year.split(":")

    sign_in(page, site, "insurer-si")
    assert page.url.endswith("/insurer/")  # the insurer's one page, from the landing by role
    assert words(site, "承保机构数据", "Insurer's figures") in page.inner_text("h1")
    assert words(site, "大病保险", "Serious-illness insurance") in page.inner_text("section[data-layer='serious_illness'] h2")
    assert page.locator("section[data-layer]").count() == 1

    card = f"section[data-region-year='{region_year}']"
    api = _api(site, "insurer-si", f"/ledger/trial-balance?region={region}&year={year}")
    assert [row["account"] for row in api["accounts"]] == [f"{region_year}:serious_illness"]
    for row in api["accounts"]:  # the page's rows are the API's, to the fen
        cells = page.locator(f"{card} tr[data-account='{row['account']}'] td").all_inner_texts()
        assert cells[1:] == [money(site, row["debit"]), money(site, row["credit"]), money(site, row["balance"])]
    paid = text_of(page, f"{card} [data-figure='claims_paid']")
    assert paid == money(site, api["accounts"][0]["debit"])  # only claims ever moved this fund
    assert paid != money(site, "0.00") and text_of(page, f"{card} [data-figure='claims']") == "1"
    # another layer's accounts never show: no basic fund, no assistance, no Huiminbao
    accounts = page.locator("tr[data-account]").evaluate_all("rows => rows.map(r => r.dataset.account)")
    assert accounts and all(a.endswith(":serious_illness") for a in accounts)
    body = page.inner_text("main")
    assert "basic_pooled_fund" not in body and "huiminbao_insurer" not in body and "facility_payable" not in body
    check(page, f"insurer-si-{site.lang}")

    page.context.clear_cookies()
    page.context.add_cookies([{"name": "yibao_lang", "value": site.lang, "url": site.base}])
    sign_in(page, site, "insurer-hmb")
    assert page.url.endswith("/insurer/")
    assert page.locator("section[data-layer]").evaluate_all("s => s.map(e => e.dataset.layer)") == ["huiminbao"]
    accounts = page.locator("tr[data-account]").evaluate_all("rows => rows.map(r => r.dataset.account)")
    assert accounts and all(a.endswith(":huiminbao_insurer") for a in accounts)
    assert "serious_illness" not in page.inner_text("main")
    # Huiminbao premiums credit the fund; they are not claims the layer paid
    hmb = f"section[data-region-year='{region_year}']"
    assert text_of(page, f"{hmb} [data-figure='claims_paid']") == money(site, format_yuan(0))
    check(page, f"insurer-hmb-{site.lang}")

    assert page.goto(f"{site.base}/bureau/").status == 403  # an insurer is no officer


def test_the_serious_illness_insurer_sees_its_contracts_reconciled_and_another_layer_none(tmp_path: Path) -> None:
    """The reference city runs the built-in serious-illness contracts: their figures on the page are the API's
    reconciliation; the Huiminbao insurer's page has no contract and no serious-illness figure."""
    engine = make_engine(f"sqlite:///{tmp_path / 'insurer.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    bureau = Bureau(store)
    pid = bureau.person()
    claims.settle(engine, Actor("h3", "facility"), "H3", ClaimIn(
        claim_id="C1", person_id=pid, service_date=date(2024, 3, 1), region="reference-city", facility_level=3,
        care_type="inpatient", amount_class_a="150000"), "C1", lambda row: row)  # type: ignore[arg-type]
    with store.transaction() as s:
        add_user(s, OFFICER, UserIn(username="si", password=PASSWORD, role="insurer", layer="serious_illness"))
        add_user(s, OFFICER, UserIn(username="hmb", password=PASSWORD, role="insurer", layer="huiminbao"))
        expected = posting.preview(s, load_contract("pinggu-co-insurance"), "reference-city", 2024)
    with TestClient(create_app(store), follow_redirects=False) as client:
        _form_sign_in(client, "si")
        page = client.get("/insurer/").text
        api = client.post("/auth/login", json={"username": "si", "password": PASSWORD}).json()["access_token"]
        answer = client.get("/contracts/pinggu-co-insurance/reconciliation?region=reference-city&year=2024",
                            headers={"Authorization": f"Bearer {api}"}).json()
    assert page.count("data-contract=") == 3
    block = page.split('data-contract="pinggu-co-insurance"')[1].split("</section>")[0]
    zh = Texts(Lang.ZH)
    for key, yuan in answer["figures"].items():  # every figure of the contract as the API gives it
        assert f'data-figure="{key}">{zh.yuan(yuan)}<' in block
    assert expected.experience.claims_paid > 0
    assert f'data-figure="claims_paid">{zh.yuan(expected.experience.claims_paid)}<' in page.split("data-region-year=")[1]
    with TestClient(create_app(store), follow_redirects=False) as client:
        _form_sign_in(client, "hmb")
        page = client.get("/insurer/").text
    assert "data-contract=" not in page and "serious_illness" not in page
    engine.dispose()


def _form_sign_in(client: TestClient, username: str) -> None:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert found is not None
    answer = client.post("/login", data={"csrf": found.group(1), "identifier": username, "password": PASSWORD})
    assert answer.status_code == 303 and answer.headers["location"] == "/insurer/"
