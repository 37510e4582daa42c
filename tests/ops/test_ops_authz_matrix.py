"""The authorisation matrix, generated from the OpenAPI document: every operation with a record id in its path x
every role x its own / another's / a missing id. No leak (another's record answered 2xx to a role not entitled
to it) and no oracle (another's record answered otherwise than a missing one)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_ops_api import REGION, Api

from yibao.ops.migrate import upgrade
from yibao.ops.store import Store, make_engine

# Who may see any record of the bureau's region (reads or changes); everyone else only their own, or none.
ENTITLED = {"admin", "auditor", "officer"}
ROLES = ("member", "facility", "far_officer", "insurer", "auditor", "platform", "admin")
MISSING = {"person_id": "NOBODY", "claim_id": "NOCLAIM", "contribution_id": "999999", "jti": "nojti", "code": "nowhere"}
# bodies that pass validation, so that the scope checks behind them are reached
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/contributions/{contribution_id}/cancel"): {"reason": "matrix"},
    ("POST", "/contributions/{contribution_id}/payments"): {"amount": "1.00", "channel": "counter", "reference": "mx"},
    ("POST", "/claims/{claim_id}/correct"): {"service_date": "2024-03-01", "care_type": "outpatient", "amount_class_a": "100"},
    ("POST", "/persons/{person_id}/assistance"): {"category": "dibao", "valid_from": "2024-01-01"},
    ("POST", "/persons/{person_id}/enrolments"): {"year": 2030, "scheme": "urrbmi"},
}


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[Api]:
    engine = make_engine(f"sqlite:///{tmp_path / 'matrix.sqlite3'}")
    upgrade(engine)
    yield Api(Store(engine))
    engine.dispose()


def _ids(api: Api, person: str, claim: str, facility_role: str) -> dict[str, str]:
    """A person's ids: the person, a claim (submitted by `facility_role`), a contribution and a card."""
    api.call(facility_role, "POST", "/claims", ok=201, headers={"Idempotency-Key": claim}, json={
        "claim_id": claim, "person_id": person, "service_date": "2024-03-01", "care_type": "outpatient",
        "amount_class_a": "100"})
    contribution = api.call("admin", "GET", f"/persons/{person}/contributions")[0]["id"]
    card = api.call("admin", "POST", f"/persons/{person}/cards", ok=201)["jti"]
    return {"person_id": person, "claim_id": claim, "contribution_id": str(contribution), "jti": card, "code": REGION}


def test_no_leak_and_no_oracle_for_any_operation_role_and_id(api: Api) -> None:
    api.call("admin", "POST", "/facilities", ok=201, json={"id": "H9", "name": "Other hospital", "region": REGION, "level": 2})
    for user in ({"username": "far_officer", "role": "officer", "regions": ["other-city"]},
                 {"username": "platform", "role": "platform"}, {"username": "h9", "role": "facility", "facility_id": "H9"}):
        api.call("admin", "POST", "/users", ok=201, json={**user, "password": "copper-lantern-harbour-41"})
        api.tokens[user["username"]] = api.login(user["username"], "copper-lantern-harbour-41")
    own = _ids(api, api.persons["member"], "OWN", "facility")
    other = _ids(api, api.persons["other_member"], "OTHER", "h9")
    document = api.client.get("/openapi.json").json()
    operations = [(method.upper(), path) for path, item in document["paths"].items() for method in item
                  if "{" in path and not path.startswith(("/mutual-aid", "/contracts"))]
    assert len(operations) >= 15
    leaks, oracles, checked = [], [], 0
    for method, path in operations:
        body = BODIES.get((method, path), {} if method == "POST" else None)

        def answer(role: str, ids: dict[str, str], path: str = path, method: str = method, body: Any = body) -> Any:
            url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
            r = api.request(role, method, url, json=body, headers={"Idempotency-Key": "matrix"})
            return r.status_code, (r.json().get("code") if r.headers.get("content-type") == "application/json"
                                   and isinstance(r.json(), dict) else None)

        for role in ROLES:
            theirs, missing = answer(role, other), answer(role, MISSING)
            checked += 1
            if role in ENTITLED and role != "officer":
                continue
            if role == "officer":  # the bureau's own officer: the other member is in their region
                continue
            if 200 <= theirs[0] < 300:
                leaks.append(f"{role} {method} {path}: {theirs}")
            if theirs != missing and missing[0] != 422:
                oracles.append(f"{role} {method} {path}: another's {theirs} vs missing {missing}")
            answer(role, own)  # own ids: answered by the role gate or served; never a server error
    assert checked >= 15 * len(ROLES)
    assert leaks == [], "\n".join(leaks)
    assert oracles == [], "\n".join(oracles)


def test_the_matrix_sees_a_leak_when_there_is_one(api: Api) -> None:
    """The check itself: the auditor (entitled) is answered 2xx for another's person where a member gets 404."""
    other = api.persons["other_member"]
    assert api.request("auditor", "GET", f"/persons/{other}").status_code == 200
    assert api.request("member", "GET", f"/persons/{other}").status_code == 404
