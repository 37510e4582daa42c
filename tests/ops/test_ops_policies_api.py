"""Policies over HTTP: a member buys a small-value policy, pays their part through the signed payment
notification, claims a stay's allowance; the insurer of commercial products pays it and reads the book; another
insurer cannot see the book."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from test_ops_api import REGION, Api

from yibao.ops import contributions
from yibao.ops.contributions import sign
from yibao.ops.migrate import upgrade
from yibao.ops.store import Store, make_engine


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[Api]:
    engine = make_engine(f"sqlite:///{tmp_path / 'policies.sqlite3'}")
    upgrade(engine)
    yield Api(Store(engine))
    engine.dispose()


def test_a_member_buys_pays_by_notification_claims_and_the_insurer_pays_and_reads_its_book(api: Api) -> None:
    member = api.persons["member"]
    api.call("officer", "POST", f"/persons/{member}/enrolments", ok=201, json={"year": 2021, "scheme": "urrbmi"})
    for user in ({"username": "insurer-c", "role": "insurer", "layer": "commercial"},
                 {"username": "insurer-hmb", "role": "insurer", "layer": "huiminbao"}):
        api.call("admin", "POST", "/users", ok=201, json={**user, "password": "desk-harbour-violet-42"})
        api.tokens[user["username"]] = api.login(user["username"], "desk-harbour-violet-42")
    r = api.request("member", "POST", f"/persons/{member}/policies",
                    json={"product": "rural-small-value", "start_date": "2021-01-01", "day": "2021-05-01"})
    assert r.status_code == 422 and r.json()["code"] == "policy.outside_window"
    policy = api.call("member", "POST", f"/persons/{member}/policies", ok=201,
                      json={"product": "rural-small-value", "start_date": "2021-01-01", "day": "2021-01-05"})
    assert (policy["status"], policy["premium"]) == ("pending", "50.00")
    parts = {p["source"]: p for p in policy["premium_parts"]}
    assert (parts["premium_member"]["amount"], parts["premium_government"]["amount"]) == ("10.00", "40.00")
    r = api.request("member", "POST", f"/persons/{member}/policies",
                    json={"product": "rural-small-value", "start_date": "2021-02-01", "day": "2021-01-05"})
    assert r.status_code == 409 and r.json()["code"] == "policy.overlap"
    body = json.dumps({"out_trade_no": str(parts["premium_member"]["id"]), "transaction_id": "wx-premium-1",
                       "total_fee": "10.00", "channel": "mobile"}).encode()
    with mock.patch.object(contributions, "utcnow", lambda: dt.datetime(2021, 1, 5, 9, tzinfo=dt.UTC)):
        paid = api.client.post("/payments/notify", content=body,
                               headers={"X-Yibao-Signature": sign(api.app.state.secrets["payment_secret"], body)})
    assert paid.status_code == 200, paid.text
    shown = api.call("member", "GET", f"/policies/{policy['id']}")
    assert (shown["status"], shown["start_date"], shown["end_date"]) == ("active", "2021-01-06", "2021-12-31")
    assert api.request("other_member", "GET", f"/policies/{policy['id']}").json()["code"] == "policy.not_found"
    stay = api.call("member", "POST", f"/policies/{policy['id']}/stays", ok=201,
                    json={"admission": "2021-03-01", "discharge": "2021-03-05"})
    assert (stay["days"], stay["amount"], stay["status"]) == (4, "200.00", "submitted")
    r = api.request("insurer-hmb", "POST", f"/benefits/{stay['id']}/payments",
                    json={"amount": "200.00", "channel": "bank", "reference": "ins-1"})
    assert r.status_code == 404 and r.json()["code"] == "benefit.not_found"  # not its product
    paid_out = api.call("insurer-c", "POST", f"/benefits/{stay['id']}/payments",
                        json={"amount": "200.00", "channel": "bank", "reference": "ins-1"})
    assert paid_out["status"] == "paid"
    url = f"/insurer/products/rural-small-value/{REGION}/2021"
    book = api.call("insurer-c", "GET", url, params={"as_of": "2021-12-31"})
    assert (book["premiums_written"], book["premiums_earned"], book["claims_paid"]) == ("50.00", "50.00", "200.00")
    assert (book["expenses"], book["loss_ratio"], book["combined_ratio"]) == ("7.50", "400%", "415%")
    assert (book["underwriting_result"], book["absorbed_by_insurer"]) == ("-157.50", "157.50")
    for role in ("insurer-hmb", "insurer"):
        r = api.request(role, "GET", url)
        assert r.status_code == 404 and r.json()["code"] == "policy.unknown_product"
    assert api.request("member", "GET", url).status_code == 403
    assert api.call("auditor", "GET", url, params={"as_of": "2021-12-31"}) == book
    r = api.request("admin", "GET", "/insurer/products/rural-small-value/nowhere/2021")
    assert r.status_code == 404 and r.json()["code"] == "region.not_found"
