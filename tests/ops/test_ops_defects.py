"""Issue 15's defects, each at its depth; each test failed on the code before the fix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import jwt
import pytest
from ops_bureau import make_ric
from test_ops_api import REGION, Api

from yibao.core.money import parse_yuan
from yibao.ops import ledger
from yibao.ops.audit import Actor
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.migrate import upgrade
from yibao.ops.store import Store, make_engine


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[Api]:
    """The API test's bureau (tests/ops/test_ops_api.py) on SQLite; its client raises on any server error."""
    engine = make_engine(f"sqlite:///{tmp_path / 'defects.sqlite3'}")
    upgrade(engine)
    yield Api(Store(engine))
    engine.dispose()


def _bill(api: Api, claim_id: str, **extra: object) -> dict[str, object]:
    return {"claim_id": claim_id, "person_id": api.persons["member"], "service_date": "2024-03-01", "region": REGION,
            "care_type": "inpatient", "amount_class_a": "20000", **extra}


def test_a_claims_level_and_region_come_from_the_facilitys_registration(api: Api) -> None:
    """H2 is registered at level 2: a bill declaring level 1 (higher rates) or another region is refused."""
    for stated in ({"facility_level": 1}, {"region": "other-city"}):
        r = api.request("facility", "POST", "/claims", json=_bill(api, "F1", **stated), headers={"Idempotency-Key": "f1"})
        assert r.status_code == 422 and r.json()["code"] == "claim.facility_mismatch", r.text
    stated = api.call("facility", "POST", "/claims", ok=201, json=_bill(api, "F2", facility_level=2), headers={"Idempotency-Key": "f2"})
    bare = {k: v for k, v in _bill(api, "F3").items() if k != "region"}
    unstated = api.call("facility", "POST", "/claims", ok=201, json=bare, headers={"Idempotency-Key": "f3"})
    assert unstated["facility_level"] == 2 and unstated["region"] == REGION
    assert unstated["paid"]["basic"] != "0.00" and stated["facility_level"] == 2
    r = api.request("officer", "POST", "/claims/F2/correct", json={"service_date": "2024-03-01", "facility_level": 3,
                                                                  "care_type": "inpatient", "amount_class_a": "100"})
    assert r.status_code == 422 and r.json()["code"] == "claim.facility_mismatch"


def test_a_regions_scheme_is_a_built_in_one_and_admin_corrects_it(api: Api) -> None:
    for name in ("/etc/passwd", "no-such-scheme", "../builtin/reference-city"):
        r = api.request("admin", "POST", "/regions", json={"code": "R9", "name": "R9", "scheme_name": name, "average_wage": "1"})
        assert r.status_code == 422 and "root:" not in r.text, (name, r.text)
    assert api.request("admin", "GET", "/regions").json()[-1]["code"] != "R9"
    corrected = api.call("admin", "PUT", f"/regions/{REGION}/scheme", json={"scheme_name": "reference-city"})
    assert corrected["scheme_name"] == "reference-city"
    r = api.request("admin", "PUT", f"/regions/{REGION}/scheme", json={"scheme_name": "/tmp"})
    assert r.status_code == 422 and r.json()["code"] == "region.unknown_scheme"
    assert api.request("officer", "PUT", f"/regions/{REGION}/scheme", json={"scheme_name": "reference-city"}).status_code == 403


def test_an_officer_cannot_import_persons_into_another_region_by_padding_ids(api: Api) -> None:
    csv = f"person_id,ric,name,region,scheme\n X9 ,{make_ric(date(1990, 1, 1), 11)},Padded, other-city ,urrbmi\n"
    r = api.request("officer", "POST", "/persons/import", params={"year": 2024}, content=csv.encode(),
                    headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and r.json()["code"] == "import.invalid"
    assert [e["code"] for e in r.json()["errors"]] == ["region.not_found"]
    assert api.request("admin", "GET", "/persons/X9").status_code == 404


def test_out_of_scope_answers_exactly_like_missing(api: Api) -> None:
    api.call("admin", "POST", "/persons", ok=201, json={
        "person_id": "OTHER", "ric": make_ric(date(1985, 1, 1), 21), "name": "Elsewhere", "region": "other-city"})
    due = api.call("admin", "POST", "/persons/OTHER/enrolments", ok=201, json={"year": 2024, "scheme": "urrbmi"})
    pairs = [
        ("GET", "/persons/OTHER", "/persons/NOBODY", None),
        ("GET", "/persons/OTHER/claims", "/persons/NOBODY/claims", None),
        ("POST", f"/contributions/{due['contributions'][0]['id']}/cancel", "/contributions/999999/cancel", {"reason": "x"}),
    ]
    for method, theirs, missing, body in pairs:
        a, b = (api.request("officer", method, path, json=body) for path in (theirs, missing))
        assert a.status_code == b.status_code == 404, (theirs, a.text)
        assert (a.json()["code"], a.json()["message"]) == (b.json()["code"], b.json()["message"])
        assert set(a.json()) == set(b.json()) and "other-city" not in a.text
    r = api.request("officer", "POST", "/persons", json={
        "person_id": "O2", "ric": make_ric(date(1990, 2, 2), 41), "name": "O", "region": "other-city"})
    s = api.request("officer", "POST", "/persons", json={
        "person_id": "O3", "ric": make_ric(date(1990, 2, 3), 43), "name": "O", "region": "no-such-city"})
    assert (r.status_code, r.json()["code"]) == (s.status_code, s.json()["code"]) == (404, "region.not_found")
    assert api.request("insurer", "GET", "/claims/NO-SUCH").json()["code"] == "auth.forbidden"  # the same as for any claim


def test_a_correction_that_changes_no_payment_still_restores_out_of_pocket_and_explanation(api: Api) -> None:
    """Self-pay raised 100 -> 500: no layer pays differently, but the member pays 400.00 more."""
    first = api.call("facility", "POST", "/claims", ok=201, json=_bill(api, "S1", amount_class_a="1000", amount_self_pay="100"),
                     headers={"Idempotency-Key": "s1"})
    corrected = api.call("officer", "POST", "/claims/S1/correct", json={
        "service_date": "2024-03-01", "care_type": "inpatient", "amount_class_a": "1000", "amount_self_pay": "500"})
    assert corrected["paid"] == first["paid"]
    assert parse_yuan(corrected["out_of_pocket"]) - parse_yuan(first["out_of_pocket"]) == 400_00
    explanation = api.call("officer", "GET", "/claims/S1/explanation", params={"lang": "en"})
    assert explanation["out_of_pocket"] == corrected["out_of_pocket"]
    text = api.call("officer", "GET", "/claims/S1/explanation", params={"lang": "zh", "format": "text"})
    assert f"{corrected['out_of_pocket']}元" in text  # the core's rendering, with 元


def test_hostile_values_are_refused_with_a_code_never_a_500(api: Api) -> None:
    """Api's client raises on any server error: each of these answered 500 before (or was stored wrongly)."""
    big = "9" * 30
    cases = [
        ("officer", "POST", f"/contributions/{big}/payments", {"amount": "1", "channel": "counter", "reference": "r"}, None),
        ("auditor", "GET", "/ledger/trial-balance", None, {"year": big}),
        ("officer", "POST", "/donations", {"region": REGION, "year": -5, "amount": "1", "channel": "bank", "reference": "d"}, None),
        ("officer", "POST", "/persons", {"person_id": "N\x00UL", "ric": make_ric(date(1990, 1, 2), 13), "name": "x", "region": REGION}, None),
        ("officer", "POST", "/persons", {"person_id": "L" * 65, "ric": make_ric(date(1990, 1, 3), 15), "name": "x", "region": REGION}, None),
        ("officer", "POST", "/persons", {"person_id": "LN", "ric": make_ric(date(1990, 1, 4), 17), "name": "x" * 201, "region": REGION}, None),
        ("facility", "POST", "/claims", _bill(api, "B1", amount_class_a="90000000000000000"), None),
        ("facility", "POST", "/claims", _bill(api, "B2", diagnosis="D" * 17), None),
        ("facility", "POST", "/claims", _bill(api, " B3"), None),
        ("auditor", "GET", "/audit", None, {"entity_id": "a\x00b"}),
    ]
    for role, method, path, body, params in cases:
        r = api.request(role, method, path, json=body, params=params, headers={"Idempotency-Key": "h"})
        assert r.status_code == 422 and r.json()["code"] == "request.invalid", (path, body, r.text)
    secret = api.app.state.secrets["token_secret"]
    odd = jwt.encode({"sub": "x", "aud": "yibao:api", "exp": 4_000_000_000, "role": "superuser"}, secret, algorithm="HS256")
    r = api.client.get("/me", headers={"Authorization": f"Bearer {odd}"})
    assert r.status_code == 401 and r.json()["code"] == "auth.invalid_token"


def test_no_stored_value_makes_the_trial_balance_fail(api: Api) -> None:
    """Two postings of nearly 2^63 fen each way: SQLite's SUM overflowed ("integer overflow") for ever after."""
    huge = 2**63 - 1
    with api.store.transaction() as s:
        for reference in ("x:1", "x:2"):
            ledger.post(s, Actor("test", "system"), "test", reference, "extreme", [
                Line(Account("other-city", 2024, AccountKind.FACILITY_PAYABLE, "H9"), huge),
                Line(Account("other-city", 2024, AccountKind.FACILITY_PAYABLE, "H8"), -huge)])
    tb = api.call("auditor", "GET", "/ledger/trial-balance", params={"region": "other-city"})
    assert tb["balanced"] and tb["total_debit"] == f"{2 * huge // 100}.{2 * huge % 100:02d}"


def test_timestamps_keep_their_offset_on_an_idempotent_repeat(api: Api) -> None:
    """Issue 21: a payment's `paid_at` had `+00:00` when first answered and none when repeated (SQLite)."""
    due = api.call("officer", "GET", f"/persons/{api.persons['member']}/contributions")[0]
    assert due["paid_at"].endswith("+00:00")
    again = api.call("officer", "POST", f"/contributions/{due['id']}/payments",
                     json={"amount": due["amount"], "channel": "counter", "reference": f"r-{due['id']}"})
    assert again["paid_at"] == due["paid_at"]
    events = api.call("auditor", "GET", "/audit", params={"limit": 3})
    assert all(e["at"].endswith("+00:00") for e in events)
