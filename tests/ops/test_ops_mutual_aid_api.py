"""The mutual-aid HTTP API: the platform operator's walk from a plan to a paid claim and a disclosure, a member
jury, members seeing only their own data, every mutation audited, and the authorisation matrix of every endpoint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ops_bureau import REGION, make_ric
from ops_mutual_aid import PILOT, migrated_sqlite, pilot_plan

from yibao.http.app import create_app
from yibao.http.mutual_aid import router
from yibao.ops.auth import first_admin
from yibao.ops.store import Store

ROLES = ("anonymous", "member", "other_member", "facility", "officer", "insurer", "auditor", "platform", "admin")
P = f"/mutual-aid/plans/{PILOT}"


class MutualAidApi:
    """Every role logged in; a pilot plan in force; `member` (王小明) and `other_member` (李四) and four adults joined."""

    def __init__(self, store: Store, folder: Path) -> None:
        self.app = create_app(store)
        self.app.state.mutual_aid_data = folder / "data"
        self.client = TestClient(self.app, raise_server_exceptions=True)
        with store.transaction() as s:
            creds = first_admin(s)
        assert creds is not None
        self.tokens = {"admin": self.login(*creds)}
        self.call("admin", "POST", "/regions", ok=201, json={"code": REGION, "name": "City", "average_wage": "100000"})
        self.call("admin", "POST", "/facilities", ok=201, json={"id": "H1", "name": "Clinic", "region": REGION, "level": 1})
        self.seq = 0
        self.persons = {"member": self.person("王小明"), "other_member": self.person("李四")}
        users: list[dict[str, Any]] = [
            {"username": "platform", "role": "platform"}, {"username": "auditor", "role": "auditor"},
            {"username": "officer", "role": "officer", "regions": [REGION]},
            {"username": "insurer", "role": "insurer", "layer": "serious_illness"},
            {"username": "facility", "role": "facility", "facility_id": "H1"},
            {"username": "member", "role": "member", "person_id": self.persons["member"]},
            {"username": "other_member", "role": "member", "person_id": self.persons["other_member"]},
        ]
        for user in users:
            self.call("admin", "POST", "/users", ok=201, json={**user, "password": "desk-harbour-violet-42"})
            self.tokens[user["username"]] = self.login(user["username"], "desk-harbour-violet-42")
        self.call("platform", "POST", "/mutual-aid/plans", ok=201,
                  json={"definition": pilot_plan(folder).read_text(encoding="utf-8"), "in_force_from": "2020-01-01"})
        self.members = {role: self.join(pid) for role, pid in self.persons.items()}
        self.adults = [self.join(self.person(f"评审员{i}", dt.date(1980, 1, 1))) for i in range(4)]

    def login(self, username: str, password: str) -> str:
        response = self.client.post("/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def request(self, role: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}
        return self.client.request(method, path, headers=headers, **kwargs)

    def call(self, role: str, method: str, path: str, ok: int = 200, **kwargs: Any) -> Any:
        response = self.request(role, method, path, **kwargs)
        assert response.status_code == ok, f"{method} {path} as {role}: {response.status_code} {response.text}"
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else response.text

    def person(self, name: str, birth: dt.date = dt.date(1990, 5, 1)) -> str:
        self.seq += 1
        pid = f"Q{self.seq}"
        self.call("admin", "POST", "/persons", ok=201,
                  json={"person_id": pid, "ric": make_ric(birth, 2 * self.seq + 1), "name": name, "region": REGION})
        return pid

    def join(self, person_id: str, day: str = "2020-01-10") -> int:
        body = {"person_id": person_id, "credit_score": 700, "no_listed_illness": True, "no_current_treatment": True,
                "day": day}
        return int(self.call("platform", "POST", f"{P}/members", ok=201, json=body)["member_id"])

    def audit(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.call("auditor", "GET", "/audit", params={"limit": 5000})
        return events

    def step(self, role: str, method: str, path: str, action: str, ok: int = 200, **kwargs: Any) -> Any:
        """Make one change and check it was audited: by whom, what, and the record after (and before, if it existed)."""
        before = len(self.audit())
        result = self.call(role, method, path, ok=ok, **kwargs)
        new = self.audit()[before:]
        assert action in [e["action"] for e in new], (path, [e["action"] for e in new])
        assert all(e["actor"] == role and e["after"] is not None for e in new), new
        return result


@pytest.fixture()
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    yield from migrated_sqlite(tmp_path)


@pytest.fixture()
def api(sqlite_store: Store, tmp_path: Path) -> MutualAidApi:
    return MutualAidApi(sqlite_store, tmp_path)


def file_and_notice(api: MutualAidApi) -> int:
    """The member files for lung cancer diagnosed 1 May 2020; the platform investigates, approves, publishes."""
    mine = api.members["member"]
    claim = api.step("member", "POST", f"/mutual-aid/members/{mine}/claims", "mutual_aid.claim.filed", ok=201,
                     json={"illness_code": "C34.1", "diagnosis_date": "2020-05-01", "day": "2020-05-02"})
    cid = claim["claim_id"]
    assert (claim["status"], claim["amount"], claim["illness_name"]) == ("filed", "6.00", "Malignant neoplasm (恶性肿瘤)")
    api.step("platform", "POST", f"/mutual-aid/claims/{cid}/investigation", "mutual_aid.claim.investigated",
             json={"investigator": "Third-party investigators Ltd", "summary": "pathology confirms", "supports_claim": True,
                   "day": "2020-05-03"})
    api.step("platform", "POST", f"/mutual-aid/claims/{cid}/review", "mutual_aid.claim.reviewed",
             json={"approve": True, "reason": "meets the definition", "day": "2020-05-04"})
    noticed = api.step("platform", "POST", f"/mutual-aid/claims/{cid}/notice", "mutual_aid.claim.noticed",
                       json={"day": "2020-05-05"})
    assert noticed["status"] == "noticed"
    return int(cid)


def test_walk_from_a_plan_to_a_paid_claim_and_its_disclosure(store: Store, tmp_path: Path) -> None:
    api = MutualAidApi(store, tmp_path)
    plan = api.call("facility", "GET", P)
    assert (plan["waiting_days"], plan["management_fee"], plan["jury"]["min_votes"]) == (90, "8%", 3)
    cid = file_and_notice(api)
    board = api.call("other_member", "GET", f"{P}/notices")
    assert [(n["claim_id"], n["member"], n["amount"]) for n in board] == [(str(cid), "王*明", "6.00")]
    summary = api.step("platform", "POST", f"{P}/periods", "mutual_aid.period.apportioned", ok=201,
                       json={"notice_date": "2020-05-07"})
    # 6.00 aid + 0.48 fee over the 6 members protected at 0:00 on 7 May: 1.08 each, under the 1.00 case cap -> 1.00
    assert (summary["members_protected"], summary["per_member_charge"], summary["collected"]) == (6, "1.00", "6.00")
    assert summary["case_cap_shortfall"] == "0.48"
    again = api.call("platform", "POST", f"{P}/periods", ok=201, json={"notice_date": "2020-05-07"})
    assert again == summary
    mine = api.members["member"]
    charges = api.call("member", "GET", f"/mutual-aid/members/{mine}/charges")
    assert [(c["notice_date"], c["charge"], c["deduction"]) for c in charges] == [("2020-05-07", "1.00", "deducted")]
    paid = api.step("platform", "POST", f"/mutual-aid/claims/{cid}/pay", "mutual_aid.claim.paid", json={"day": "2020-05-14"})
    assert paid["status"] == "paid" and api.call("member", "GET", f"/mutual-aid/members/{mine}")["status"] == "paid_out"
    api.call("member", "GET", f"{P}/periods/2020-05-07/disclosure", ok=404)  # not published yet
    api.step("platform", "POST", f"{P}/periods/2020-05-07/disclosure", "mutual_aid.disclosure.published", ok=201)
    public = api.call("other_member", "GET", f"{P}/periods/2020-05-07/disclosure")
    assert public["period"]["per_member_charge"] == "1.00" and public["cases"][0]["member"] == "王*明"
    html = api.call("member", "GET", f"{P}/periods/2020-05-07/disclosure", params={"format": "html"})
    csv = api.call("member", "GET", f"{P}/periods/2020-05-07/disclosure", params={"format": "csv"})
    assert "王小明" not in html + csv and "王*明" in html and "6.00" in csv
    tb = api.call("auditor", "GET", "/ledger/trial-balance", params={"region": PILOT})
    assert tb["balanced"]
    assert {a["account"]: a["balance"] for a in tb["accounts"]} == {
        f"{PILOT}:2020:mutual_aid_beneficiary_payable:{cid}": "0.00", f"{PILOT}:2020:mutual_aid_member_charges": "0.00",
        f"{PILOT}:2020:mutual_aid_platform_fee": "-0.48", f"{PILOT}:2020:mutual_aid_pool": "0.48",
    }  # the pool owes the 0.48 the case cap left uncollected: carried into the next period
    plan_ledger = api.call("platform", "GET", f"{P}/ledger")
    assert plan_ledger["balanced"] and plan_ledger["surplus_carried"] == "-0.48"


def test_a_member_jury_over_http(api: MutualAidApi) -> None:
    theirs = api.members["other_member"]
    claim = api.call("other_member", "POST", f"/mutual-aid/members/{theirs}/claims", ok=201,
                     json={"illness_code": "I21.0", "diagnosis_date": "2020-06-01", "day": "2020-06-02"})
    cid = claim["claim_id"]
    api.call("platform", "POST", f"/mutual-aid/claims/{cid}/investigation",
             json={"investigator": "inv", "summary": "ECG unclear", "supports_claim": False, "day": "2020-06-05"})
    api.call("platform", "POST", f"/mutual-aid/claims/{cid}/review",
             json={"approve": False, "reason": "not confirmed", "day": "2020-06-06"})
    r = api.request("member", "POST", f"/mutual-aid/claims/{cid}/dispute", json={"reason": "appeal", "day": "2020-07-01"})
    assert r.status_code == 422 and r.json()["code"] == "mutual_aid.not_claimant"
    jury = api.step("other_member", "POST", f"/mutual-aid/claims/{cid}/dispute", "mutual_aid.jury.opened", ok=201,
                    json={"reason": "the cardiologist's report", "seats": 5, "seed": 11, "day": "2020-07-01"})
    assert (jury["seats"], jury["min_votes"], jury["votes_to_pay"]) == (5, 3, 0)
    seats = api.call("member", "GET", f"/mutual-aid/members/{api.members['member']}/jury-seats")
    assert [s["claim_id"] for s in seats] == [cid] and seats[0]["case"]["member"] == "李*"
    api.step("member", "POST", f"/mutual-aid/claims/{cid}/votes", "mutual_aid.vote.cast", ok=201,
             json={"pays": True, "day": "2020-07-02"})
    r = api.request("member", "POST", f"/mutual-aid/claims/{cid}/votes", json={"pays": False, "day": "2020-07-02"})
    assert r.status_code == 422 and r.json()["code"] == "mutual_aid.double_vote"
    r = api.request("member", "POST", f"/mutual-aid/claims/{cid}/votes", json={"pays": True, "juror_id": api.adults[0]})
    assert r.status_code == 422 and r.json()["code"] == "mutual_aid.not_a_member"  # a member votes only as themself
    r = api.request("other_member", "POST", f"/mutual-aid/claims/{cid}/votes", json={"pays": True, "day": "2020-07-02"})
    assert r.status_code == 422 and r.json()["code"] == "mutual_aid.not_a_juror"  # the claimant is never seated
    for juror, pays in zip(api.adults[:2], (True, False), strict=True):
        api.call("platform", "POST", f"/mutual-aid/claims/{cid}/votes", ok=201,
                 json={"pays": pays, "juror_id": juror, "day": "2020-07-03"})
    decided = api.step("platform", "POST", f"/mutual-aid/claims/{cid}/verdict", "mutual_aid.jury.closed",
                       json={"day": "2020-07-05"})
    assert decided["status"] == "noticed" and decided["jury"]["outcome"] == "pay"
    assert (decided["jury"]["votes_to_pay"], decided["jury"]["votes_to_refuse"]) == (2, 1)


def test_members_never_see_another_members_data(api: MutualAidApi) -> None:
    cid = file_and_notice(api)
    api.call("platform", "POST", f"{P}/periods", ok=201, json={"notice_date": "2020-05-07"})
    mine, theirs = api.members["member"], api.members["other_member"]
    nobody = 987654
    for template in ("/mutual-aid/members/{}", "/mutual-aid/members/{}/charges", "/mutual-aid/members/{}/jury-seats"):
        refused, missing = api.request("other_member", "GET", template.format(mine)), api.request("other_member", "GET", template.format(nobody))
        assert refused.status_code == missing.status_code == 404
        assert refused.json()["code"] == missing.json()["code"] and "王小明" not in refused.text
    for path, body in ((f"/mutual-aid/members/{mine}/leave", {}),
                       (f"/mutual-aid/members/{mine}/claims", {"illness_code": "C34", "diagnosis_date": "2020-05-01"})):
        assert api.request("other_member", "POST", path, json=body).status_code == 404
    assert api.request("other_member", "GET", f"/mutual-aid/claims/{cid}").status_code == 404
    listed = api.call("other_member", "GET", "/mutual-aid/members", params={"person_id": api.persons["member"]})
    assert [m["member_id"] for m in listed] == [theirs]  # asking for someone else still answers only with their own
    assert api.call("member", "GET", f"/mutual-aid/members/{mine}")["name"] == "王小明"
    assert len(api.call("platform", "GET", "/mutual-aid/members", params={"plan_id": PILOT})) == 6
    board = api.request("other_member", "GET", f"{P}/notices").text
    assert "王小明" not in board and "王*明" in board


def test_refusals_are_json_with_a_code_and_write_nothing(api: MutualAidApi) -> None:
    before = len(api.audit())
    mine = api.members["member"]
    cases = [
        ("POST", f"/mutual-aid/members/{mine}/claims", {"illness_code": "J18.9", "diagnosis_date": "2020-05-01"}, 422,
         "mutual_aid.not_covered"),
        ("POST", f"/mutual-aid/members/{mine}/claims", {"illness_code": "C34", "diagnosis_date": "2020-03-01",
                                                         "day": "2020-03-02"}, 422, "mutual_aid.in_waiting_period"),
        ("POST", f"{P}/periods", {"notice_date": "2020-05-08"}, 422, "mutual_aid.not_a_notice_day"),
        ("POST", "/mutual-aid/plans/nope/periods", {"notice_date": "2020-05-07"}, 404, "mutual_aid.plan_not_found"),
        ("POST", f"{P}/members", {"person_id": api.persons["member"], "credit_score": 700, "no_listed_illness": True,
                                  "no_current_treatment": True, "day": "2020-02-01"}, 409, "mutual_aid.already_member"),
        ("POST", "/mutual-aid/plans", {"plan": "no-such-plan", "in_force_from": "2020-01-01"}, 404,
         "mutual_aid.plan_not_found"),
    ]
    for method, path, body, status, code in cases:
        r = api.request("platform", method, path, json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        assert r.json()["message"]
    assert len(api.audit()) == before


def test_waiting_period_refund_deductions_and_daily_run_over_http(api: MutualAidApi) -> None:
    cid = file_and_notice(api)
    api.call("platform", "POST", f"{P}/periods", ok=201, json={"notice_date": "2020-05-07"})
    theirs, adult = api.members["other_member"], api.adults[0]
    refund = api.step("platform", "POST", f"/mutual-aid/members/{theirs}/waiting-period-end",
                      "mutual_aid.member.ended_in_waiting", json={"diagnosis_date": "2020-03-01", "day": "2020-05-10"})
    assert (refund["status"], refund["refund"]) == ("ended_in_waiting", "1.00")
    api.step("platform", "POST", f"/mutual-aid/members/{adult}/deductions", "mutual_aid.deduction.failed",
             json={"notice_date": "2020-05-07", "succeeded": False, "day": "2020-05-14"})
    run = api.step("platform", "POST", f"{P}/daily-run", "mutual_aid.member.removed", json={"day": "2020-05-19"})
    assert run == {"removed": [adult], "aged_out": [], "written_off": "1.00"}
    assert api.call("auditor", "GET", f"/mutual-aid/claims/{cid}")["status"] == "noticed"


# Who passes each route's role gate (admin always). Others get 401 (anonymous), 403, or 404 (another member's data).
EVERYONE = {"member", "other_member", "facility", "officer", "insurer", "auditor", "platform", "admin"}
PLATFORM = {"platform", "admin"}
READERS = {"platform", "auditor", "admin"}
MATRIX: dict[tuple[str, str], set[str]] = {
    ("GET", "/mutual-aid/plans"): EVERYONE,
    ("POST", "/mutual-aid/plans"): PLATFORM,
    ("GET", "/mutual-aid/plans/{plan_id}/notices"): EVERYONE,
    ("GET", "/mutual-aid/plans/{plan_id}/ledger"): READERS,
    ("POST", "/mutual-aid/plans/{plan_id}/members"): PLATFORM,
    ("POST", "/mutual-aid/plans/{plan_id}/daily-run"): PLATFORM,
    ("GET", "/mutual-aid/plans/{plan_id}/claims"): READERS,
    ("POST", "/mutual-aid/plans/{plan_id}/periods"): PLATFORM,
    ("GET", "/mutual-aid/plans/{plan_id}/periods"): EVERYONE,
    ("POST", "/mutual-aid/plans/{plan_id}/periods/{notice_date}/disclosure"): PLATFORM,
    ("GET", "/mutual-aid/plans/{plan_id}/periods/{notice_date}/disclosure"): EVERYONE,
    ("GET", "/mutual-aid/plans/{plan_id}/periods/{notice_date}"): EVERYONE,
    ("GET", "/mutual-aid/plans/{plan_id}"): EVERYONE,
    ("GET", "/mutual-aid/members"): {"member", "other_member", *READERS},
    ("GET", "/mutual-aid/members/{member_id}"): {"member", *READERS},
    ("POST", "/mutual-aid/members/{member_id}/leave"): {"member", *PLATFORM},
    ("GET", "/mutual-aid/members/{member_id}/charges"): {"member", *READERS},
    ("POST", "/mutual-aid/members/{member_id}/deductions"): PLATFORM,
    ("POST", "/mutual-aid/members/{member_id}/waiting-period-end"): PLATFORM,
    ("GET", "/mutual-aid/members/{member_id}/jury-seats"): {"member", *READERS},
    ("POST", "/mutual-aid/members/{member_id}/claims"): {"member", *PLATFORM},
    ("GET", "/mutual-aid/claims/{claim_id}"): {"member", *READERS},
    ("POST", "/mutual-aid/claims/{claim_id}/investigation"): PLATFORM,
    ("POST", "/mutual-aid/claims/{claim_id}/review"): PLATFORM,
    ("POST", "/mutual-aid/claims/{claim_id}/notice"): PLATFORM,
    ("POST", "/mutual-aid/claims/{claim_id}/dispute"): {"member", "other_member", *PLATFORM},  # any member may object
    ("POST", "/mutual-aid/claims/{claim_id}/votes"): {"member", "other_member", *PLATFORM},
    ("POST", "/mutual-aid/claims/{claim_id}/verdict"): PLATFORM,
    ("POST", "/mutual-aid/claims/{claim_id}/deny"): PLATFORM,
    ("POST", "/mutual-aid/claims/{claim_id}/pay"): PLATFORM,
}


def _routes() -> list[tuple[str, str]]:
    return [(m, route.path.replace(":path", "")) for route in router.routes  # type: ignore[attr-defined]
            for m in sorted(getattr(route, "methods", ()) or ())]


def test_matrix_covers_every_endpoint() -> None:
    assert sorted(_routes()) == sorted(MATRIX)


def test_authorisation_matrix(api: MutualAidApi) -> None:
    """Every endpoint × role (with `platform`): allowed roles pass the gate; others are refused and nothing is written."""
    cid = file_and_notice(api)
    api.call("platform", "POST", f"{P}/periods", ok=201, json={"notice_date": "2020-05-07"})
    api.call("platform", "POST", f"{P}/periods/2020-05-07/disclosure", ok=201)
    values = {"plan_id": PILOT, "member_id": api.members["member"], "claim_id": cid, "notice_date": "2020-05-07"}
    for method, path in _routes():
        url = path.format(**values)
        for role in ROLES:
            before = len(api.audit())
            r = api.request(role, method, url, json={} if method == "POST" else None)
            assert r.status_code < 500, f"{role} at {method} {path}: {r.text}"
            if role in MATRIX[(method, path)]:
                assert r.status_code not in (401, 403), f"{role} refused at {method} {path}: {r.text}"
                continue
            expected = {401} if role == "anonymous" else {403, 404}
            assert r.status_code in expected, f"{role} got {r.status_code} at {method} {path}: {r.text}"
            assert {"code", "message"} <= set(r.json())
            assert len(api.audit()) == before, f"{role} refused at {method} {path} yet something was written"


def test_a_plan_is_a_built_in_name_or_uploaded_text_never_a_server_path(api: MutualAidApi, tmp_path: Path) -> None:
    """Issue 15: `{"plan": "/etc/passwd"}` answered 422 with the file's first lines, `{"plan": ""}` a plain 500."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("plan: top-secret-line\n", encoding="utf-8")
    for plan in ("/etc/passwd", str(secret), "../../etc/passwd", ""):
        r = api.request("platform", "POST", "/mutual-aid/plans", json={"plan": plan, "in_force_from": "2020-01-01"})
        assert r.status_code in (404, 422) and r.headers["content-type"] == "application/json", (plan, r.text)
        assert "root:" not in r.text and "top-secret-line" not in r.text, plan
    r = api.request("platform", "POST", "/mutual-aid/plans", json={"plan": "xianghubao-2020/senior", "in_force_from": "2020-01-01"})
    assert r.status_code == 201 and r.json()["plan_id"] == "xianghubao-2020/senior"
    r = api.request("platform", "POST", "/mutual-aid/plans", json={"definition": "plan: [unclosed", "in_force_from": "2020-01-01"})
    assert r.status_code == 422 and r.json()["code"] == "mutual_aid.plan_invalid"
    both = {"plan": "xianghubao-2020", "definition": "plan: x", "in_force_from": "2020-01-01"}
    assert api.request("platform", "POST", "/mutual-aid/plans", json=both).json()["code"] == "mutual_aid.plan_invalid"
