"""The hospital-payment routes: an officer makes March's statements, a batch and its bank file, posts the bank's
confirmation, decides the deposit at year end; another region's officer sees none of it; bad input is refused
with the catalogue's codes and leaves the store as it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from ops_payments import BANK_ACCOUNT, Clock, at, bill, correction
from test_ops_api import REGION, Api

from yibao.ops import claims, ledger
from yibao.ops.audit import Actor
from yibao.ops.migrate import upgrade
from yibao.ops.store import Store, make_engine


@pytest.fixture()
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    engine = make_engine(f"sqlite:///{tmp_path / 'pay-api.sqlite3'}")
    upgrade(engine)
    api = Api(Store(engine))
    api.call("officer", "POST", "/facilities", ok=201, json={
        "id": "H5", "name": "市第五医院", "region": REGION, "level": 2, "bank_account": BANK_ACCOUNT})
    api.call("admin", "POST", "/users", ok=201, json={
        "username": "far", "role": "officer", "regions": ["other-city"], "password": "far-officer-harbour-42"})
    api.tokens["far"] = api.login("far", "far-officer-harbour-42")
    clock = Clock()
    monkeypatch.setattr(ledger, "utcnow", clock)
    p1, p2 = api.persons["member"], api.persons["other_member"]
    facility = Actor("h5", "facility")
    at(clock, "2024-03-05T02:00")
    with api.store.transaction() as s:
        claims.submit(s, facility, "H5", bill("K1", p1, date(2024, 3, 5), "10000"), "K1")  # 7,050
        claims.submit(s, facility, "H5", bill("K2", p2, date(2024, 3, 6), "4000"), "K2")  # 2,550
    at(clock, "2024-03-25T02:00")
    with api.store.transaction() as s:
        claims.correct(s, Actor("officer", "officer"), "K2", correction(date(2024, 3, 6), "5000"))  # +750
    yield api
    engine.dispose()


def test_statements_batch_file_confirmation_and_year_end(api: Api) -> None:
    march = {"region": REGION, "month": "2024-03"}
    (statement,) = api.call("officer", "POST", "/payments/statements", json=march)
    assert {k: statement[k] for k in ("facility_id", "claims", "owed", "withheld", "payable", "deposit_rate")} == {
        "facility_id": "H5", "claims": 2, "owed": "10350.00", "withheld": "517.50", "payable": "9832.50",
        "deposit_rate": "5%"}
    assert statement["lines"] == [{"year": 2024, "fund": "basic_pooled_fund", "amount": "10350.00"}]
    assert api.call("officer", "GET", "/payments/statements", params=march) == [statement]
    assert api.call("auditor", "GET", "/payments/statements", params={"region": REGION}) == [statement]
    batch = api.call("officer", "POST", "/payments/batches", ok=201, json=march)
    assert (batch["batch_id"], batch["total"], len(batch["lines"])) == ("PB-reference-city-2024-03-1", "9832.50", 1)
    text = api.call("officer", "GET", "/payments/batches/PB-reference-city-2024-03-1/file")
    assert text.splitlines()[1] == (f"PB-reference-city-2024-03-1,1,H5,市第五医院,{BANK_ACCOUNT},9832.50,CNY,"
                                    "PB-reference-city-2024-03-1/1,医保基金拨付 2024-03月度结算")
    header, line = text.splitlines()
    bad = {"file_name": "reply.csv", "text": f"{header},status,reason\n{line},maybe,\n"}
    refused = api.call("officer", "POST", "/payments/confirmations", ok=422, json=bad)
    assert refused["code"] == "payments.bad_status" and refused["detail"].startswith("reply.csv, line 2, column 'status'")
    reply = {"file_name": "reply.csv", "text": f"{header},status,reason\n{line},paid,\n"}
    # another region's officer: the batch is unknown to them, as a missing one
    far = api.call("far", "POST", "/payments/confirmations", ok=422, json=reply)
    assert far["code"] == "payments.unknown_batch"
    for path in ("/payments/batches/PB-reference-city-2024-03-1", "/payments/batches/PB-reference-city-2024-03-1/file"):
        assert api.call("far", "GET", path, ok=404)["code"] == "payments.batch_not_found"
    assert api.call("far", "GET", "/payments/statements", ok=404, params=march)["code"] == "region.not_found"
    assert api.call("facility", "POST", "/payments/statements", ok=403, json=march)["code"] == "auth.forbidden"
    assert api.call("auditor", "POST", "/payments/batches", ok=403, json=march)["code"] == "auth.forbidden"
    done = api.call("officer", "POST", "/payments/confirmations", json=reply)
    assert done == {"paid": 1, "failed": 0, "unchanged": 0, "amount_paid": "9832.50"}
    assert api.call("officer", "POST", "/payments/confirmations", json=reply)["unchanged"] == 1
    assert api.call("officer", "GET", "/payments/batches", params={"region": REGION})[0]["lines"][0]["status"] == "paid"
    # year end: 100 yuan kept with a reason, 417.50 released and batched in December's batch
    decided = api.call("officer", "POST", "/payments/year-end", json={
        "region": REGION, "year": 2024, "kept": [{"facility_id": "H5", "amount": "100.00", "reason": "考核扣减"}]})
    assert decided == [{"facility_id": "H5", "released": "417.50", "kept": "100.00", "reason": "考核扣减"}]
    december = api.call("officer", "POST", "/payments/batches", ok=201, json={"region": REGION, "month": "2024-12"})
    assert december["total"] == "417.50"
    assert api.call("officer", "POST", "/payments/batches", ok=409, json={"region": REGION, "month": "2024-12"})["code"] \
        == "payments.nothing_to_pay"


def test_bad_input_is_refused_with_catalogue_codes(api: Api) -> None:
    assert api.call("officer", "POST", "/payments/statements", ok=422, json={"region": REGION, "month": "2024-13"})["code"] \
        == "payments.bad_month"
    assert api.call("officer", "POST", "/payments/statements", ok=409, json={"region": REGION, "month": "2099-01"})["code"] \
        == "payments.month_open"
    assert api.call("officer", "POST", "/payments/year-end", ok=409, json={"region": REGION, "year": 2099})["code"] \
        == "payments.year_open"
    assert api.call("officer", "POST", "/payments/year-end", ok=422, json={
        "region": REGION, "year": 2024, "kept": [{"facility_id": "H5", "amount": "1.00", "reason": "x"}]})["code"] \
        == "payments.keep_exceeds"
    assert api.call("officer", "GET", "/payments/statements", params={"region": REGION}) == []  # nothing was made
    put = "/payments/facilities/H2/bank-account"
    assert api.call("far", "PUT", put, ok=404, json={"bank_account": BANK_ACCOUNT})["code"] == "facility.not_found"
    assert api.call("officer", "PUT", put, ok=422, json={"bank_account": "12"})["code"] == "request.invalid"
    assert api.call("officer", "PUT", put, json={"bank_account": BANK_ACCOUNT})["bank_account"] == BANK_ACCOUNT
    assert api.call("officer", "POST", "/facilities", ok=422, json={
        "id": "H6", "name": "x", "region": REGION, "level": 1, "bank_account": "12 34"})["code"] == "request.invalid"
