"""The contract endpoints: who may reconcile and post a region-year, who may read it, and a walk through both.

The year is the one of test_contracts_posting (C = 14,047.50 in 2 claims, 3 enrollees) under the built-in
Pinggu co-insurance contract: premium 3 × 53.37 = 160.11, fee 3 × 1 = 3; balance 160.11 − 14,047.50 =
−13,887.39, the insurer bears half (6,943.695 → 6,943.70), the fund compensates 6,943.69. Insurer income
160.11 + 3 + 6,943.69 = 7,106.80 = the fund's outlay; the insurer's balance 14,047.50 − 7,106.80 = 6,940.70.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.contracts.test_contracts_posting import year_of_claims
from tests.ops.ops_bureau import REGION
from yibao.contracts.posting import CONTRACT_KIND, POSTED_ACTION
from yibao.http.app import create_app
from yibao.http.contracts import router
from yibao.ops import registry
from yibao.ops.audit import Actor
from yibao.ops.auth import add_user, first_admin
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import RegionIn, UserIn
from yibao.ops.store import AuditEvent, JournalEntry, Store, make_engine

PATH = "/contracts/{contract}/reconciliation"
CONTRACT = "pinggu-co-insurance"
USERS: dict[str, dict[str, Any]] = {
    "member": {"role": "member", "person_id": "P0003"},
    "facility": {"role": "facility", "facility_id": "H2"},
    "officer": {"role": "officer", "regions": [REGION]},
    "other_officer": {"role": "officer", "regions": ["other-city"]},
    "insurer": {"role": "insurer", "layer": "serious_illness"},
    "huiminbao_insurer": {"role": "insurer", "layer": "huiminbao"},
    "auditor": {"role": "auditor"},
    "platform": {"role": "platform"},
}
ROLES = ("anonymous", "admin", *USERS)

# Who passes each endpoint's gates (role, then region or layer scope); everyone else gets 401/403.
MATRIX: dict[tuple[str, str], set[str]] = {
    ("POST", PATH): {"officer", "admin"},
    ("GET", PATH): {"officer", "insurer", "auditor", "admin"},
}


class Api:
    """The year of claims in a store behind the app, and a logged-in client per role."""

    def __init__(self, store: Store) -> None:
        self.store = store
        year_of_claims(store)
        with store.transaction() as s:
            admin = first_admin(s)
            assert admin is not None
            registry.add_region(s, Actor(), RegionIn(code="other-city", name="Other", average_wage="90000"))
            for name, fields in USERS.items():
                add_user(s, Actor(), UserIn(username=name, password="desk-harbour-violet-42", **fields))
        self.client = TestClient(create_app(store), raise_server_exceptions=True)
        self.tokens = {"admin": self.login(*admin)} | {name: self.login(name, "desk-harbour-violet-42") for name in USERS}

    def login(self, username: str, password: str) -> str:
        response = self.client.post("/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def request(self, role: str, method: str, contract: str = CONTRACT, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}
        return self.client.request(method, PATH.format(contract=contract), headers=headers, **kwargs)

    def post(self, role: str, contract: str = CONTRACT, **body: Any) -> Any:
        return self.request(role, "POST", contract, json={"region": REGION, "year": 2024} | body)

    def get(self, role: str, contract: str = CONTRACT, **params: Any) -> Any:
        return self.request(role, "GET", contract, params={"region": REGION, "year": 2024} | params)

    def written(self) -> tuple[int, int]:
        """(audit events, contract journal entries) in the store."""
        with self.store.transaction() as s:
            events = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
            entries = s.execute(select(func.count()).where(JournalEntry.kind == CONTRACT_KIND)).scalar_one()
            return int(events), int(entries)


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[Api]:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.sqlite3'}")
    upgrade(engine)
    yield Api(Store(engine))
    engine.dispose()


def _routes() -> list[tuple[str, str]]:
    return sorted((method, route.path) for route in router.routes for method in getattr(route, "methods", ()) or ())  # type: ignore[attr-defined]


def test_matrix_covers_every_endpoint() -> None:
    assert _routes() == sorted(MATRIX)


def test_authorisation_matrix(api: Api) -> None:
    """Every endpoint × role: allowed roles pass the gates; others are refused with a JSON code and write nothing."""
    for method, path in _routes():
        for role in ROLES:
            before = api.written()
            r = api.post(role) if method == "POST" else api.get(role)
            body = r.json()
            if role in MATRIX[(method, path)]:
                assert r.status_code not in (401, 403), f"{role} refused at {method} {path}: {r.text}"
            else:
                # another region's officer is answered as if the region did not exist (no oracle)
                expected = 401 if role == "anonymous" else 404 if role == "other_officer" else 403
                assert r.status_code == expected, f"{role} got {r.status_code} at {method} {path}: {r.text}"
                assert {"code", "message"} <= set(body)
                assert api.written() == before, f"{role} refused at {method} {path} yet something was written"
    assert api.post("other_officer").json()["code"] == "region.not_found"  # as for a region that does not exist
    assert api.get("huiminbao_insurer").json()["code"] == "auth.forbidden"
    assert api.get("platform").json()["code"] == "auth.forbidden"


def test_walk_preview_post_read_back(api: Api) -> None:
    preview = api.get("auditor")
    assert preview.status_code == 200, preview.text
    preview = preview.json()
    assert preview["posted"] is False and [e["id"] for e in preview["entries"]] == [None] * 4
    assert preview["region_year_posted_under"] == []
    assert (preview["enrollees"], preview["claims"]) == (3, 2)
    expected = {"claims_paid": "14047.50", "premium": "160.11", "fee": "3.00", "loss_compensation": "6943.69",
                "insurer_income": "7106.80", "fund_outlay": "7106.80"}  # fmt: skip
    assert {k: preview["figures"][k] for k in expected} == expected
    fund, insurer = f"{REGION}:2024:serious_illness", f"{REGION}:2024:serious_illness_insurer:example-life-hypothetical"
    assert preview["balances"] == {fund: "14047.50", insurer: "0.00"}  # before posting: the claims only
    events, _ = api.written()

    posted = api.post("officer")
    assert posted.status_code == 201, posted.text
    done = posted.json()
    assert done["posted"] is True and done["figures"] == preview["figures"]
    assert [(e["debit"], e["credit"], e["amount"]) for e in done["entries"]] == [
        (fund, insurer, "160.11"),
        (fund, insurer, "3.00"),
        (insurer, fund, "14047.50"),
        (fund, insurer, "6943.69"),
    ]
    assert all(isinstance(e["id"], int) for e in done["entries"])
    assert done["balances"] == {fund: "7106.80", insurer: "6940.70"}
    assert api.written() == (events + 1, 4)

    assert done["region_year_posted_under"] == [done["reference"]]
    for role in ("insurer", "officer", "admin"):
        assert api.get(role, enrollees=99).json() == done  # as posted (enrollees only matter before posting)
    other = api.get("auditor", "zhanjiang-insurance-contract").json()  # a preview, but the year is taken
    assert other["posted"] is False and other["region_year_posted_under"] == [done["reference"]]
    tb = api.client.get(
        "/ledger/trial-balance",
        params={"region": REGION, "year": 2024},
        headers={"Authorization": f"Bearer {api.tokens['auditor']}"},
    ).json()
    assert tb["balanced"]
    audit = api.client.get(
        "/audit", params={"entity": "contract"}, headers={"Authorization": f"Bearer {api.tokens['auditor']}"}
    ).json()
    assert [(a["actor"], a["action"], a["entity_id"]) for a in audit] == [("officer", POSTED_ACTION, done["reference"])]


def test_refusals_carry_a_code_and_write_nothing(api: Api) -> None:
    assert api.post("officer").status_code == 201
    before = api.written()
    cases = [
        (api.post("officer"), 409, "contracts.already_posted"),
        (api.post("admin", "zhanjiang-insurance-contract"), 409, "contracts.year_already_posted"),
        (api.post("admin", region="other-city"), 422, "contracts.region_year_mismatch"),
        (api.post("admin", year=2025), 422, "contracts.region_year_mismatch"),
        (api.post("admin", "pinggu-co-insurance.yaml"), 404, "contracts.not_found"),
        (api.get("auditor", "no-such-contract"), 404, "contracts.not_found"),
        (api.post("admin", enrollees=-1), 422, "request.invalid"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert api.written() == before
