"""The HTTP API: a newcomer's walk from an empty database to a settled claim; the authorisation matrix; audit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ops_bureau import make_ric, serving

from yibao.core.money import parse_yuan
from yibao.http import audit, auth, cards, claims, contributions, ledger, registry
from yibao.http.app import create_app
from yibao.ops.auth import first_admin
from yibao.ops.contributions import sign
from yibao.ops.migrate import upgrade
from yibao.ops.store import Store, make_engine

REGION = "reference-city"
ROLES = ("anonymous", "member", "other_member", "facility", "officer", "insurer", "auditor", "admin")


class Api:
    """A client logged in as each role over one bureau with two members and a settled claim."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.app = create_app(store)
        self.client = TestClient(self.app, raise_server_exceptions=True)
        with store.transaction() as s:
            creds = first_admin(s)
        assert creds is not None
        self.tokens: dict[str, str] = {"admin": self.login(*creds)}
        self.call("admin", "POST", "/regions", json={"code": REGION, "name": "Reference city", "average_wage": "100000"}, ok=201)
        self.call("admin", "POST", "/regions", json={"code": "other-city", "name": "Other", "average_wage": "90000"}, ok=201)
        self.call("admin", "POST", "/users", json={"username": "officer", "password": "desk-officer-harbour-7", "role": "officer", "regions": [REGION]}, ok=201)
        self.tokens["officer"] = self.login("officer", "desk-officer-harbour-7")
        self.call("officer", "POST", "/facilities", json={"id": "H2", "name": "District hospital", "region": REGION, "level": 2}, ok=201)
        self.persons = {}
        for i, role in enumerate(("member", "other_member"), start=1):
            pid = f"P{i}"
            self.persons[role] = pid
            self.call("officer", "POST", "/persons", ok=201, json={
                "person_id": pid, "ric": make_ric(date(1980, 5, i), 2 * i + 1), "name": f"Member {i}", "region": REGION})
            enrolment = self.call("officer", "POST", f"/persons/{pid}/enrolments", json={"year": 2024, "scheme": "urrbmi"}, ok=201)
            for due in enrolment["contributions"]:
                self.call("officer", "POST", f"/contributions/{due['id']}/payments", ok=200,
                          json={"amount": due["amount"], "channel": "counter", "reference": f"r-{due['id']}"})
            self.call("admin", "POST", "/users", ok=201, json={"username": role, "password": f"{role}-harbour-violet-42", "role": "member", "person_id": pid})
            self.tokens[role] = self.login(role, f"{role}-harbour-violet-42")
        for user in ({"username": "facility", "role": "facility", "facility_id": "H2"},
                     {"username": "insurer", "role": "insurer", "layer": "serious_illness"},
                     {"username": "auditor", "role": "auditor"}):
            self.call("admin", "POST", "/users", json={**user, "password": "desk-harbour-violet-42"}, ok=201)
            self.tokens[user["username"]] = self.login(user["username"], "desk-harbour-violet-42")

    def login(self, username: str, password: str) -> str:
        response = self.client.post("/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def request(self, role: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if role in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return self.client.request(method, path, headers=headers, **kwargs)

    def call(self, role: str, method: str, path: str, ok: int = 200, **kwargs: Any) -> Any:
        response = self.request(role, method, path, **kwargs)
        assert response.status_code == ok, f"{method} {path} as {role}: {response.status_code} {response.text}"
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else response.text

    def audit_count(self) -> int:
        return len(self.call("auditor", "GET", "/audit", params={"limit": 5000}))


@pytest.fixture()
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.sqlite3'}")
    upgrade(engine)
    yield Store(engine)
    engine.dispose()


@pytest.fixture()
def api(sqlite_store: Store) -> Api:
    return Api(sqlite_store)


def test_walk_from_empty_database_to_a_settled_claim(store: Store) -> None:
    api = Api(store)
    member = api.persons["member"]
    card = api.call("member", "POST", f"/persons/{member}/cards", ok=201)
    assert card["qr_svg"].lstrip().startswith("<?xml")
    png = api.request("member", "POST", f"/persons/{member}/cards", params={"format": "png"})
    assert png.status_code == 201 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n") and png.headers["x-card-token"].count(".") == 2
    svg = api.request("member", "POST", f"/persons/{member}/cards", params={"format": "svg"})
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text
    assert api.request("member", "POST", f"/persons/{member}/cards", params={"format": "gif"}).status_code == 422
    holder = api.call("facility", "POST", "/cards/verify", json={"token": card["token"]}, params={"on": "2024-03-01"})
    assert (holder["person_id"], holder["enrolment_status"]) == (member, "active")
    bill = {"claim_id": "C1", "person_id": member, "service_date": "2024-03-01", "region": REGION, "facility_level": 2,
            "care_type": "inpatient", "amount_class_a": "10000.00"}
    before = api.audit_count()
    settled = api.call("facility", "POST", "/claims", json=bill, headers={"Idempotency-Key": "bill-1"}, ok=201)
    assert settled["paid"]["basic"] == "7050.00" and settled["out_of_pocket"] == "2950.00"
    assert api.audit_count() == before + 1
    again = api.call("facility", "POST", "/claims", json=bill, headers={"Idempotency-Key": "bill-1"}, ok=201)
    assert again == settled and api.audit_count() == before + 1
    text = api.call("member", "GET", "/claims/C1/explanation", params={"lang": "zh", "format": "text"})
    assert "起付线" in text and "7050.00" in text
    entries = api.call("officer", "GET", "/ledger/entries", params={"reference": "claim:C1"})
    assert [p["amount"] for p in entries[0]["postings"]] == ["7050.00", "-7050.00"]
    tb = api.call("auditor", "GET", "/ledger/trial-balance", params={"region": REGION, "year": 2024})
    assert tb["balanced"] and tb["total_debit"] == tb["total_credit"]
    receivable = next(a for a in tb["accounts"] if a["account"] == f"{REGION}:2024:member_receivable:{member}")
    assert (receivable["debit"], receivable["credit"], receivable["balance"]) == ("400.00", "400.00", "0.00")  # paid up
    insurer = api.call("insurer", "GET", "/ledger/trial-balance")
    assert {a["kind"] for a in insurer["accounts"]} <= {"serious_illness"}


def test_errors_are_json_with_a_code(api: Api) -> None:
    r = api.request("anonymous", "GET", "/me")
    assert r.status_code == 401 and r.json()["code"] == "auth.missing_token"
    r = api.request("officer", "POST", "/persons", json={"person_id": "X", "ric": "110101199001010000", "name": "X", "region": REGION})
    assert r.status_code == 422 and r.json()["code"] == "person.bad_ric" and r.json()["message"]
    r = api.request("officer", "POST", "/persons", json={"person_id": "X"})
    assert r.status_code == 422 and r.json()["code"] == "request.invalid"
    r = api.request("member", "GET", "/claims/none")
    assert r.status_code == 404 and r.json()["code"] == "claim.not_found"
    r = api.client.post("/auth/login", json={"username": "admin", "password": "wrong"})
    assert r.status_code == 401 and r.json()["code"] == "auth.bad_credentials"
    r = api.request("officer", "POST", "/persons/import", params={"year": 2024}, content=b"person_id,ric,name,region\nA,1,B,nowhere\n")
    assert r.status_code == 422 and r.json()["errors"][0]["line"] == 2


def test_payment_notification_over_http(api: Api) -> None:
    api.call("officer", "POST", "/persons", ok=201, json={"person_id": "N1", "ric": make_ric(date(1999, 9, 9), 21), "name": "N", "region": REGION})
    due = api.call("officer", "POST", "/persons/N1/enrolments", ok=201, json={"year": 2024, "scheme": "urrbmi"})["contributions"]
    secret = api.app.state.secrets["payment_secret"]
    for item in due:
        body = json.dumps({"out_trade_no": item["id"], "transaction_id": f"wx-{item['id']}", "total_fee": item["amount"]}).encode()
        bad = api.client.post("/payments/notify", content=body, headers={"X-Yibao-Signature": sign("nope", body)})
        assert bad.status_code == 422 and bad.json()["code"] == "payment.bad_signature"
        for _ in range(2):  # the repeat changes nothing
            good = api.client.post("/payments/notify", content=body, headers={"X-Yibao-Signature": sign(secret, body)})
            assert good.status_code == 200, good.text
    assert api.call("officer", "GET", "/persons/N1/enrolments")[0]["status"] == "active"
    receivable = next(a for a in api.call("auditor", "GET", "/ledger/trial-balance")["accounts"]
                      if a["account"] == f"{REGION}:2024:member_receivable:N1")
    assert receivable["balance"] == "0.00"
    payments = [e for e in api.call("auditor", "GET", "/audit") if e["action"] == "contribution.paid" and e["actor"] == "payment-gateway"]
    assert len(payments) == 3  # the member's 400, the central and the local subsidy


def test_cancel_a_contribution_over_http(api: Api) -> None:
    api.call("officer", "POST", "/persons", ok=201, json={"person_id": "Q1", "ric": make_ric(date(1999, 9, 8), 23), "name": "Q", "region": REGION})
    individual, _ = api.call("officer", "POST", "/persons/Q1/enrolments", ok=201, json={"year": 2024, "scheme": "urrbmi"})["contributions"]
    r = api.request("officer", "POST", f"/contributions/{individual['id']}/cancel", json={"reason": ""})
    assert r.status_code == 422 and r.json()["code"] == "request.invalid"  # a reason is required
    done = api.call("officer", "POST", f"/contributions/{individual['id']}/cancel", json={"reason": "moved away"})
    assert done["status"] == "cancelled"
    r = api.request("officer", "POST", f"/contributions/{individual['id']}/payments",
                    json={"amount": "400.00", "channel": "counter", "reference": "late-q1"})
    assert r.status_code == 409 and r.json()["code"] == "payment.cancelled"
    entries = api.call("officer", "GET", "/ledger/entries", params={"reference": f"contribution:{individual['id']}"})
    assert [e["kind"] for e in entries] == ["contribution_due", "contribution_cancelled"]
    assert [p["amount"] for p in entries[1]["postings"]] == ["400.00", "-400.00"]


def test_a_member_never_sees_another_members_data(api: Api) -> None:
    mine, theirs = api.persons["member"], api.persons["other_member"]
    for pid in (mine, theirs):
        api.call("facility", "POST", "/claims", ok=201, headers={"Idempotency-Key": pid}, json={
            "claim_id": f"C-{pid}", "person_id": pid, "service_date": "2024-03-01", "region": REGION,
            "facility_level": 2, "care_type": "outpatient", "amount_class_a": "100"})
    for path in (f"/persons/{theirs}", f"/persons/{theirs}/claims", f"/persons/{theirs}/enrolments",
                 f"/persons/{theirs}/contributions", f"/claims/C-{theirs}", f"/claims/C-{theirs}/explanation"):
        r = api.request("member", "GET", path)
        assert r.status_code == 404, path
        assert "Member 2" not in r.text and r.json()["code"].endswith("not_found")  # the same answer as for nobody
    assert api.request("member", "POST", f"/persons/{theirs}/cards").status_code == 404
    assert [c["claim_id"] for c in api.call("member", "GET", f"/persons/{mine}/claims")] == [f"C-{mine}"]


# Who may pass each route's role gate (admin always). Anyone else gets 401/403 (or 404 for another member's data).
EVERYONE = {"member", "other_member", "facility", "officer", "insurer", "auditor", "admin"}
MATRIX: dict[tuple[str, str], set[str]] = {
    ("POST", "/auth/login"): {"anonymous", *EVERYONE},
    ("GET", "/me"): EVERYONE,
    ("POST", "/users"): {"admin"},
    ("POST", "/regions"): {"admin"},
    ("GET", "/regions"): EVERYONE,
    ("PUT", "/regions/{code}/scheme"): {"admin"},
    ("POST", "/facilities"): {"officer", "admin"},
    ("POST", "/employers"): {"officer", "admin"},
    ("POST", "/households"): {"officer", "admin"},
    ("POST", "/persons"): {"officer", "admin"},
    ("POST", "/persons/import"): {"officer", "admin"},
    ("GET", "/persons/{person_id}"): {"member", "officer", "auditor", "admin"},
    ("POST", "/persons/{person_id}/assistance"): {"officer", "admin"},
    ("POST", "/persons/{person_id}/enrolments"): {"officer", "admin"},
    ("GET", "/persons/{person_id}/enrolments"): {"member", "officer", "auditor", "admin"},
    ("GET", "/persons/{person_id}/contributions"): {"member", "officer", "auditor", "admin"},
    ("GET", "/persons/{person_id}/claims"): {"member", "officer", "auditor", "admin"},
    ("POST", "/contributions/{contribution_id}/payments"): {"officer", "admin"},
    ("POST", "/contributions/{contribution_id}/cancel"): {"officer", "admin"},
    ("POST", "/donations"): {"officer", "admin"},
    ("POST", "/payments/notify"): {"anonymous", *EVERYONE},  # authenticated by its HMAC signature instead
    ("POST", "/persons/{person_id}/cards"): {"member", "officer", "admin"},
    ("POST", "/cards/verify"): {"facility", "officer", "admin"},
    ("POST", "/cards/{jti}/revoke"): {"member", "officer", "admin"},
    ("POST", "/claims"): {"facility", "admin"},
    ("GET", "/claims/{claim_id}"): {"member", "facility", "officer", "auditor", "admin"},
    ("GET", "/claims/{claim_id}/explanation"): {"member", "facility", "officer", "auditor", "admin"},
    ("POST", "/claims/{claim_id}/reverse"): {"officer", "admin"},
    ("POST", "/claims/{claim_id}/correct"): {"officer", "admin"},
    ("GET", "/ledger/trial-balance"): {"officer", "insurer", "auditor", "admin"},
    ("GET", "/ledger/entries"): {"officer", "auditor", "admin"},
    ("GET", "/audit"): {"auditor", "admin"},
}


def _routes() -> list[tuple[str, str]]:
    found = []
    routers = [claims.submit_router, *(m.router for m in (auth, registry, contributions, cards, claims, ledger, audit))]
    for route in (route for r in routers for route in r.routes):
        for method in sorted(getattr(route, "methods", ()) or ()):
            found.append((method, route.path))  # type: ignore[attr-defined]
    return found


def test_matrix_covers_every_endpoint() -> None:
    assert sorted(_routes()) == sorted(MATRIX)


def test_authorisation_matrix(api: Api) -> None:
    """Every endpoint × role: allowed roles pass the gate, others are refused; no refusal writes anything."""
    member = api.persons["member"]
    api.call("facility", "POST", "/claims", ok=201, headers={"Idempotency-Key": "m"}, json={
        "claim_id": "CM", "person_id": member, "service_date": "2024-03-01", "region": REGION,
        "facility_level": 2, "care_type": "outpatient", "amount_class_a": "100"})
    card = api.call("member", "POST", f"/persons/{member}/cards", ok=201)
    values = {"person_id": member, "claim_id": "CM", "contribution_id": "1", "jti": card["jti"], "code": REGION}
    for method, path in _routes():
        url = path.format(**values)
        for role in ROLES:
            audit_before = api.audit_count()
            r = api.request(role, method, url, json={} if method in ("POST", "PUT") else None, headers={"Idempotency-Key": "matrix"})
            allowed = role in MATRIX[(method, path)]
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            if allowed:
                assert r.status_code not in (401, 403), f"{role} refused at {method} {path}: {r.text}"
            else:
                expected = {401} if role == "anonymous" else {403, 404}
                if role == "other_member":
                    expected = {403, 404}
                assert r.status_code in expected, f"{role} got {r.status_code} at {method} {path}: {r.text}"
                assert isinstance(body, dict) and {"code", "message"} <= set(body)
                assert api.audit_count() == audit_before, f"{role} refused at {method} {path} yet something was written"


def test_every_mutation_is_audited_with_who_and_before_after(api: Api) -> None:
    member = api.persons["member"]
    steps: list[tuple[str, str, str, dict[str, Any], dict[str, str], str]] = [
        ("officer", "POST", "/employers", {"uscc": "91110000600037341L", "name": "Works", "region": REGION}, {}, "employer.created"),
        ("officer", "POST", "/households", {"region": REGION, "address": "1 Lane"}, {}, "household.created"),
        ("officer", "POST", f"/persons/{member}/assistance", {"category": "dibao", "valid_from": "2024-01-01"}, {}, "assistance.created"),
        ("officer", "POST", "/donations", {"region": REGION, "year": 2024, "amount": "100.00", "channel": "bank", "reference": "g1"}, {}, "contribution.paid"),
        ("member", "POST", f"/persons/{member}/cards", {}, {}, "card.issued"),
        ("facility", "POST", "/claims", {"claim_id": "A1", "person_id": member, "service_date": "2024-05-01", "region": REGION,
                                        "facility_level": 2, "care_type": "inpatient", "amount_class_a": "20000"}, {"Idempotency-Key": "a1"}, "claim.settled"),
        ("officer", "POST", "/claims/A1/correct", {"service_date": "2024-05-01", "facility_level": 2, "care_type": "inpatient",
                                                  "amount_class_a": "15000"}, {}, "claim.corrected"),
        ("officer", "POST", "/claims/A1/reverse", {}, {}, "claim.reversed"),
    ]
    for role, method, path, body, headers, action in steps:
        before = api.audit_count()
        api.call(role, method, path, ok=200 if "/claims/A1/" in path else 201, json=body, headers=headers)
        events = api.call("auditor", "GET", "/audit", params={"limit": 5000})
        assert len(events) > before, path
        assert action in {e["action"] for e in events[before:]}, path
        assert all(e["actor"] == role and e["at"] for e in events[before:]), path
    corrected = next(e for e in api.call("auditor", "GET", "/audit", params={"entity": "claim", "entity_id": "A1"}) if e["action"] == "claim.corrected")
    assert (corrected["before"]["class_a"], corrected["after"]["class_a"]) == (20000_00, 15000_00)
    assert corrected["before"]["split"]["basic"] != corrected["after"]["split"]["basic"]


def test_a_settled_claims_answer_is_the_json_fastapi_gives_for_it(api: Api) -> None:
    """POST /claims serialises its answer itself: the bytes are those GET /claims/{id} (FastAPI's own
    serialisation) gives for the same claim, with the same status, type and shape, also for a repeat and errors."""
    bill = {"claim_id": "J1", "person_id": api.persons["member"], "service_date": "2024-03-01", "region": REGION,
            "facility_level": 2, "care_type": "inpatient", "amount_class_a": "10000.00", "diagnosis": "骨折"}
    posted = api.request("facility", "POST", "/claims", json=bill, headers={"Idempotency-Key": "j1"})
    shown = api.request("facility", "GET", "/claims/J1")
    assert (posted.status_code, shown.status_code) == (201, 200)
    assert posted.content == shown.content and posted.headers["content-type"] == shown.headers["content-type"] == "application/json"
    assert posted.json()["diagnosis"] == "骨折" and b"\xe9\xaa\xa8" in posted.content  # UTF-8, not \u escapes
    again = api.request("facility", "POST", "/claims", json=bill, headers={"Idempotency-Key": "j1"})
    assert (again.status_code, again.content) == (201, posted.content)
    clash = api.request("facility", "POST", "/claims", json={**bill, "amount_class_a": "1.00"}, headers={"Idempotency-Key": "j1"})
    assert clash.status_code == 409 and clash.json()["code"] == "claim.idempotency_key_reused"
    missing = api.request("facility", "POST", "/claims", json=bill)
    assert missing.status_code == 422 and missing.json()["code"] == "request.invalid"
    assert api.request("member", "POST", "/claims", json=bill, headers={"Idempotency-Key": "j2"}).status_code == 403


def test_officers_act_only_in_their_regions(api: Api) -> None:
    r = api.request("officer", "POST", "/persons", json={"person_id": "O1", "ric": make_ric(date(1990, 2, 2), 41), "name": "O", "region": "other-city"})
    assert r.status_code == 404 and r.json()["code"] == "region.not_found"  # as for a region that does not exist
    r = api.request("officer", "GET", "/ledger/trial-balance", params={"region": "other-city"})
    assert r.status_code == 200 and r.json()["accounts"] == []


def test_expired_and_forged_access_tokens(api: Api) -> None:
    import jwt

    secret = api.app.state.secrets["token_secret"]
    expired = jwt.encode({"sub": "admin", "aud": "yibao:api", "exp": 1, "role": "admin"}, secret, algorithm="HS256")
    forged = jwt.encode({"sub": "admin", "aud": "yibao:api", "exp": 4_000_000_000, "role": "admin"}, "x" * 32, algorithm="HS256")
    for token, code in ((expired, "auth.expired"), (forged, "auth.invalid_token")):
        r = api.client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["code"] == code


def test_concurrent_http_clients_on_postgresql_never_exceed_a_cap(pg_only_store: Store) -> None:
    """8 clients over real loopback HTTP, one person, 100,000 yuan each at level 1: basic pays exactly its
    150,000 yearly inpatient cap in total, and the ledger agrees."""
    import http.client
    import threading

    api = Api(pg_only_store)
    member, token = api.persons["member"], api.tokens["facility"]
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def client(i: int, port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = json.dumps({"claim_id": f"X{i}", "person_id": member, "service_date": "2024-06-01", "region": REGION,
                           "care_type": "inpatient", "amount_class_a": "100000"})
        barrier.wait()
        conn.request("POST", "/claims", body=body, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": f"x{i}", "Content-Type": "application/json"})
        statuses.append(conn.getresponse().status)
        conn.close()

    with serving(api.app) as base:
        port = int(base.rsplit(":", 1)[1])
        clients = [threading.Thread(target=client, args=(i, port)) for i in range(8)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
    assert statuses == [201] * 8
    paid = [api.call("member", "GET", f"/claims/X{i}")["paid"]["basic"] for i in range(8)]
    assert sum(parse_yuan(p) for p in paid) == 150_000_00
    tb = api.call("auditor", "GET", "/ledger/trial-balance", params={"region": REGION, "year": 2024})
    fund = next(a for a in tb["accounts"] if a["kind"] == "basic_pooled_fund")
    assert fund["balance"] == "150000.00" and tb["balanced"]
