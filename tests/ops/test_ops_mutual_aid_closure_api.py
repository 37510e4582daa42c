"""Mutual aid's closure over HTTP: the decision refuses joining, the final period and the closure disclosure, the
conversion offer answered by a member for their own membership, and the authorisation matrix of the routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ops_mutual_aid import PILOT, migrated_sqlite
from test_ops_mutual_aid_api import EVERYONE, PLATFORM, READERS, ROLES, MutualAidApi

from yibao.http.mutual_aid_closure import router

P = f"/mutual-aid/plans/{PILOT}"
CLOSURE = {"decided_on": "2020-12-28", "reference": "CBIRC rectification; operator's notice of 2020-12-28",
           "text": {"en": "The plan stops on 2021-01-28.", "zh": "本计划于 2021-01-28 停止运行。"},
           "source": "Reuters, 28 Dec 2021",
           "offer": {"product": "million-medical", "policy_start": "2021-01-29", "accept_by": "2021-03-31"}}


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[MutualAidApi]:
    for store in migrated_sqlite(tmp_path):
        yield MutualAidApi(store, tmp_path)


def test_closure_walk_over_http(api: MutualAidApi) -> None:
    api.step("platform", "POST", f"{P}/closure", "mutual_aid.closure.decided", ok=201, json=CLOSURE)
    late = api.person("迟到者")
    refused = api.request("platform", "POST", f"{P}/members", json={
        "person_id": late, "credit_score": 700, "no_listed_illness": True, "no_current_treatment": True, "day": "2020-12-28"})
    assert (refused.status_code, refused.json()["code"]) == (422, "mutual_aid.plan_closed")
    seen = api.call("other_member", "GET", f"{P}/closure")
    assert (seen["status"], seen["text"]["zh"], seen["offer"]["policy_end"]) == ("closing", "本计划于 2021-01-28 停止运行。", "2022-01-28")
    closed = api.step("platform", "POST", f"{P}/closure/finish", "mutual_aid.closure.closed",
                      json={"notice_date": "2021-01-21", "day": "2021-01-28"})
    # no case in the final period: nothing to share, nothing left; the six members removed
    assert closed["status"] == "closed" and closed["disclosure"]["members_closed"] == 6
    assert closed["disclosure"]["residual"] == {"kind": "none", "amount": "0.00"}
    assert "关闭" in closed["disclosure"]["statement"]["zh"] and "closed on 2021-01-28" in closed["disclosure"]["statement"]["en"]
    assert [c["plan_id"] for c in api.call("member", "GET", "/mutual-aid/closures")] == [PILOT]
    mine, theirs = api.members["member"], api.members["other_member"]
    other = api.request("member", "POST", f"/mutual-aid/members/{theirs}/conversion", json={"accept": True, "day": "2021-02-01"})
    assert other.status_code == 404
    answer = api.step("member", "POST", f"/mutual-aid/members/{mine}/conversion", "mutual_aid.conversion.answered",
                      ok=201, json={"accept": True, "day": "2021-02-01"})
    assert (answer["product"], answer["premium"], answer["end_date"]) == ("million-medical", "126.00", "2022-01-28")
    assert [c["member_id"] for c in api.call("auditor", "GET", f"{P}/closure/conversions")] == [mine]


MATRIX = {
    ("POST", "/mutual-aid/plans/{plan_id}/closure"): PLATFORM,
    ("POST", "/mutual-aid/plans/{plan_id}/closure/finish"): PLATFORM,
    ("GET", "/mutual-aid/plans/{plan_id}/closure/conversions"): READERS,
    ("GET", "/mutual-aid/plans/{plan_id}/closure"): EVERYONE,
    ("GET", "/mutual-aid/closures"): EVERYONE,
    ("POST", "/mutual-aid/members/{member_id}/conversion"): {"member", *PLATFORM},
}


def test_authorisation_matrix_of_the_closure_routes(api: MutualAidApi) -> None:
    routes = [(m, route.path.replace(":path", "")) for route in router.routes  # type: ignore[attr-defined]
              for m in sorted(getattr(route, "methods", ()) or ())]
    assert sorted(routes) == sorted(MATRIX)
    api.call("platform", "POST", f"{P}/closure", ok=201, json=CLOSURE)
    values = {"plan_id": PILOT, "member_id": api.members["member"]}
    for method, path in routes:
        for role in ROLES:
            before = len(api.audit())
            r = api.request(role, method, path.format(**values), json={} if method == "POST" else None)
            assert r.status_code < 500, f"{role} at {method} {path}: {r.text}"
            if role in MATRIX[(method, path)]:
                assert r.status_code not in (401, 403), f"{role} refused at {method} {path}: {r.text}"
                continue
            assert r.status_code in ({401} if role == "anonymous" else {403, 404}), f"{role} {method} {path}: {r.status_code}"
            assert len(api.audit()) == before
