"""Twin cases in the operations service: open, record the outcome, post the receivable, enrol the uninsured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.audit.twin_cases import make_ric, make_uscc
from tests.ops.ops_bureau import OFFICER
from yibao.http.app import create_app
from yibao.ops import audit, ledger, registry, twin_cases
from yibao.ops.auth import first_admin
from yibao.ops.errors import Conflict, Rejected
from yibao.ops.ledger import Account, AccountKind
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import EmployerIn, PersonIn, RegionIn
from yibao.ops.store import Enrolment, PersonRow, Store, make_engine
from yibao.ops.twin_cases import CaseStatus, FlaggedWorker

FIRM = make_uscc("MA0000007")
KNOWN = make_ric("19850505", 11)
NEW = make_ric("19900606", 13)


def _flags() -> list[FlaggedWorker]:
    return [
        FlaggedWorker("I1", "under_declared_base", "K1", "8000.00", "3000.00", 6, "1440.00", "120.50"),
        FlaggedWorker("I2", "uninsured_worker", None, "7000.00", "7000.00", 3, "1680.00", "80.25", NEW, "新工人"),
    ]


def _registry(store: Store) -> None:
    with store.transaction() as s:
        registry.add_region(s, OFFICER, RegionIn(code="city", name="City", average_wage="120000"))
        registry.add_employer(s, OFFICER, EmployerIn(uscc=FIRM, name="甲公司", region="city"))
        registry.add_person(s, OFFICER, PersonIn(person_id="K1", ric=KNOWN, name="老员工", region="city"))


def test_confirmed_case_posts_the_receivable_and_enrols_the_uninsured(store: Store) -> None:
    _registry(store)
    with store.transaction() as s:
        case_id = twin_cases.open_case(s, OFFICER, FIRM, 2024, _flags()).id
    with store.transaction() as s:
        row = twin_cases.record_outcome(s, OFFICER, case_id, CaseStatus.CONFIRMED, "payroll shows both")
        assert (row.arrears, row.late_fee) == (312_000, 20_075)
    with store.transaction() as s:
        receivable = Account("city", 2024, AccountKind.CONTRIBUTION_RECEIVABLE, f"employer:{FIRM}")
        assert ledger.balance(s, receivable) == 332_075
        assert ledger.balance(s, Account("city", 2024, AccountKind.CONTRIBUTION_INCOME, "late_fee")) == -20_075
        assert ledger.unbalanced_entries(s) == []
        with pytest.raises(Conflict):
            twin_cases.record_outcome(s, OFFICER, case_id, CaseStatus.DISMISSED, "")
    with store.transaction() as s:
        twin_cases.enrol_worker(s, OFFICER, case_id, "I2", PersonIn(person_id="N1", ric=NEW, name="新工人", region="city"))
    with store.transaction() as s:
        person = s.get_one(PersonRow, "N1")
        enrolment = s.execute(select(Enrolment).where(Enrolment.person_id == "N1")).scalar_one()
        assert person.employer_id is not None and enrolment.scheme == "uebmi_employee"
        assert enrolment.wage_base == 84_000_00  # 7,000 a month x 12, inside the 60-300% band of 120,000
        with pytest.raises(Conflict):
            twin_cases.enrol_worker(s, OFFICER, case_id, "I2", None)
    with store.transaction() as s, pytest.raises(Rejected):
        twin_cases.enrol_worker(s, OFFICER, case_id, "I1", None)
    with store.transaction() as s:
        actions = [e.action for e in audit.events(s, entity="twin_case")]
        assert actions == ["twin_case.opened", "twin_case.confirmed"]
        assert [e.action for e in audit.events(s, entity="twin_case_worker")] == ["twin_case.worker_enrolled"]


def test_explained_case_posts_nothing_and_one_case_per_employer_year(store: Store) -> None:
    _registry(store)
    with store.transaction() as s:
        case_id = twin_cases.open_case(s, OFFICER, FIRM, 2024, _flags()).id
        with pytest.raises(Conflict):
            twin_cases.open_case(s, OFFICER, FIRM, 2024, _flags())
    with store.transaction() as s:
        twin_cases.record_outcome(s, OFFICER, case_id, CaseStatus.EXPLAINED, "seasonal workers insured by agency")
        assert ledger.entries(s, reference=f"twin_case:{case_id}") == []
    with store.transaction() as s, pytest.raises(Conflict):
        twin_cases.enrol_worker(s, OFFICER, case_id, "I2", None)


def test_cases_over_http(tmp_path: Path) -> None:
    """The routes, once (the service runs on both databases above)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ops.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    app = create_app(store)
    client = TestClient(app)
    with store.transaction() as s:
        creds = first_admin(s)
    assert creds is not None

    def token(user: str, password: str) -> dict[str, str]:
        got = client.post("/auth/login", json={"username": user, "password": password})
        return {"Authorization": f"Bearer {got.json()['access_token']}"}

    admin = token(*creds)
    _registry(store)
    for user in ({"username": "off", "role": "officer", "regions": ["city"]}, {"username": "aud", "role": "auditor"}):
        assert client.post("/users", headers=admin, json={**user, "password": "copper-lantern-harbour-41"}).status_code == 201
    officer, auditor = token("off", "copper-lantern-harbour-41"), token("aud", "copper-lantern-harbour-41")
    flags: list[dict[str, Any]] = [
        {"inspection_id": f.inspection_id, "kind": f.kind, "person_id": f.person_id, "observed_wage": f.observed_wage,
         "monthly_shortfall": f.monthly_shortfall, "months": f.months, "contributions_due": f.contributions_due,
         "late_fee": f.late_fee, "ric": f.ric, "name": f.name}
        for f in _flags()
    ]  # fmt: skip
    opened = client.post("/audit/twin/cases", headers=officer, json={"employer_uscc": FIRM, "year": 2024, "flags": flags})
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    assert client.post("/audit/twin/cases", headers=auditor, json={"employer_uscc": FIRM, "year": 2024,
                                                                   "flags": flags}).status_code == 403  # fmt: skip
    bad = client.post(f"/audit/twin/cases/{case_id}/outcome", headers=officer, json={"outcome": "maybe"})
    assert bad.status_code == 422 and bad.json()["code"] == "request.invalid"
    done = client.post(f"/audit/twin/cases/{case_id}/outcome", headers=officer, json={"outcome": "confirmed"})
    assert done.status_code == 200 and done.json()["receivable"] == "3320.75" and done.json()["entry_id"]
    enrolled = client.post(f"/audit/twin/cases/{case_id}/workers/I2/enrolment", headers=officer,
                           json={"person": {"person_id": "N1", "ric": NEW, "name": "新工人", "region": "city"}})  # fmt: skip
    assert enrolled.status_code == 201, enrolled.text
    seen = client.get(f"/audit/twin/cases/{case_id}", headers=auditor).json()
    assert [w["enrolled_person_id"] for w in seen["workers"]] == [None, "N1"]
    missing = client.get("/audit/twin/cases/999", headers=auditor)
    assert missing.status_code == 404 and missing.json()["code"] == "twin.case_not_found"


def test_a_case_or_flag_number_beyond_the_column_is_refused_not_a_server_error(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ops.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    client = TestClient(create_app(store), raise_server_exceptions=False)
    with store.transaction() as s:
        creds = first_admin(s)
    assert creds is not None
    got = client.post("/auth/login", json={"username": creds[0], "password": creds[1]})
    admin = {"Authorization": f"Bearer {got.json()['access_token']}"}
    for method, url in (("GET", "/audit/twin/cases/99999999999999999999"),
                        ("POST", "/review/flags/99999999999999999999/decision")):
        answer = client.request(method, url, headers=admin, json={"decision": "accept"})
        assert answer.status_code == 422 and answer.json()["code"], (url, answer.text)
    engine.dispose()
