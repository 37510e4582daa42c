"""The insurer's page shows the books of the voluntary products it underwrites, as the API gives them, in zh and
en; another insurer's page shows none of them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from tests.ops.ops_bureau import OFFICER, Bureau

from yibao.core.errors import YibaoError
from yibao.http.app import create_app
from yibao.ops import contributions, policies, policy_benefits
from yibao.ops.auth import add_user
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import UserIn
from yibao.ops.store import Store, make_engine
from yibao.web.i18n import Lang, Texts

PASSWORD = "copper-lantern-harbour-41"
SMALL = "rural-small-value"


def _sign_in(client: TestClient, username: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert found is not None
    answer = client.post("/login", data={"csrf": found.group(1), "identifier": username, "password": PASSWORD})
    assert answer.status_code == 303 and answer.headers["location"] == "/insurer/"
    return str(client.post("/auth/login", json={"username": username, "password": PASSWORD}).json()["access_token"])


def test_the_insurer_page_shows_its_products_books_as_the_api_gives_them(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'books.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    bureau = Bureau(store)
    person = bureau.person(year=2021)
    with store.transaction() as s:
        policy = policies.sell(s, OFFICER, person, SMALL, dt.date(2021, 1, 1), dt.date(2020, 12, 10))
        part = policies.premium_parts(s, policy.id)[0]
        with pytest.raises(YibaoError) as late:  # paid today: the 2021 policy's term is over, the payment refused
            with s.begin_nested():
                contributions.record_payment(s, OFFICER, part.id, part.amount, "counter", "late")
        assert late.value.code == "policy.expired"
        with mock.patch.object(contributions, "utcnow", lambda: dt.datetime(2020, 12, 20, tzinfo=dt.UTC)):
            contributions.record_payment(s, OFFICER, part.id, part.amount, "counter", "w-1")
        policy_benefits.submit_stay(s, OFFICER, policy.id, dt.date(2021, 5, 1), dt.date(2021, 5, 4))
        add_user(s, OFFICER, UserIn(username="ins-c", password=PASSWORD, role="insurer", layer="commercial"))
        add_user(s, OFFICER, UserIn(username="ins-hmb", password=PASSWORD, role="insurer", layer="huiminbao"))
    with TestClient(create_app(store), follow_redirects=False) as client:
        token = _sign_in(client, "ins-c")
        client.cookies.set("yibao_lang", "zh")
        page = client.get("/insurer/").text
        book = client.get(f"/insurer/products/{SMALL}/reference-city/2021", params={"as_of": "2022-12-31"},
                          headers={"Authorization": f"Bearer {token}"}).json()
    block = page.split(f'data-product="{SMALL}"')[1].split('data-product=')[0]
    assert "农村小额人身保险" in block and 'data-book="reference-city:2021"' in block
    zh = Texts(Lang.ZH)
    for key in ("premiums_written", "premiums_earned", "claims_paid", "claims_outstanding", "expenses"):
        assert f'data-figure="{key}">{zh.yuan(book[key])}<' in block, key
    assert (book["premiums_written"], book["premiums_earned"], book["claims_outstanding"]) == ("50.00", "50.00", "150.00")
    assert "签单保费" in block and "赔付率" in block
    with TestClient(create_app(store), follow_redirects=False) as client:
        _sign_in(client, "ins-hmb")
        client.cookies.set("yibao_lang", "en")
        other = client.get("/insurer/").text
    assert f'data-product="{SMALL}"' not in other and 'data-product="shanghai-huhuibao-2021"' in other
    assert "No policies sold." in other
    engine.dispose()
