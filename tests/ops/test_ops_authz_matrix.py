"""The authorisation matrix, generated from the OpenAPI document: every operation that names a record — in its
path, or a scoping query or body field (region, person) — x every role x its own / another's / a missing id.

The rule is one: to a role not entitled to another's record, that record answers exactly as a missing one (same
status, same error code; a list answers the same items). So there is no leak (another's data never returned) and
no oracle (a refusal never tells that the record exists, nor where). A role's own ids are answered without a
server error. Operations named nothing scoped (login, the plan catalogue, ...) are listed and left out knowingly."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from ops_bureau import make_ric
from ops_mutual_aid import PILOT, pilot_plan
from test_ops_api import REGION, Api

from yibao.ops import contributions, review_queue, twin_cases
from yibao.ops.audit import Actor
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import EmployerIn
from yibao.ops.store import Store, make_engine
from yibao.ops.store_payments import PaymentBatch

ROLES = ("member", "facility", "far_officer", "insurer", "auditor", "platform", "admin")
# who may see (or change) any record of the bureau's region, by the domain of the path
ENTITLED = {"/mutual-aid": {"admin", "auditor", "platform"}, "/contracts": {"admin", "auditor", "insurer"}}
BUREAU = {"admin", "auditor"}  # the bureau's own officer too, who is not in ROLES: the records are in their region
CONTRACT = "zhanjiang-insurance-contract"
SMALL = "rural-small-value"  # a voluntary product (policies: a person's, in the bureau's region)
MISSING = {
    "person_id": "NOBODY", "claim_id": "NOCLAIM", "contribution_id": "999999", "jti": "nojti", "code": "nowhere",
    "region": "nowhere", "username": "nobody", "member_id": "999999", "ma_claim_id": "999999", "flag_id": "999999",
    "case_id": "999999", "inspection_id": "NOINSPECTION", "uscc": "91370202MA0000099X",
    "batch_id": "PB-nowhere-2024-03-1", "facility_id": "NOFACILITY",
    "policy_id": "999999", "benefit_id": "999999",
}
# not scoped: the same value stands in every column (a plan and its periods are public; a contract is built in)
SHARED = {"plan_id": PILOT, "notice_date": "2020-05-05", "contract": CONTRACT, "product": SMALL, "year": "2021"}
# bodies and queries that pass validation, so that the scope checks behind them are reached ({name}: an id)
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/contributions/{contribution_id}/cancel"): {"reason": "matrix"},
    ("POST", "/contributions/{contribution_id}/payments"): {"amount": "1.00", "channel": "counter", "reference": "mx"},
    ("POST", "/claims/{claim_id}/correct"): {"service_date": "2024-03-01", "care_type": "outpatient", "amount_class_a": "100"},
    ("POST", "/persons/{person_id}/assistance"): {"category": "dibao", "valid_from": "2024-01-01"},
    ("POST", "/persons/{person_id}/enrolments"): {"year": 2030, "scheme": "urrbmi"},
    ("POST", "/users/{username}/password"): {"password": "matrix-harbour-violet-42"},
    ("PUT", "/regions/{code}/scheme"): {"scheme": "reference-city"},
    ("POST", "/mutual-aid/plans/{plan_id}/members"): {
        "person_id": "{person_id}", "credit_score": 700, "no_listed_illness": True, "no_current_treatment": True,
        "day": "2020-01-10"},
    ("POST", "/mutual-aid/members/{member_id}/leave"): {"day": "2020-06-01"},
    ("POST", "/mutual-aid/members/{member_id}/deductions"): {"notice_date": "2020-05-05", "succeeded": False, "day": "2020-06-01"},
    ("POST", "/mutual-aid/members/{member_id}/waiting-period-end"): {"diagnosis_date": "2020-05-01"},
    ("POST", "/mutual-aid/members/{member_id}/claims"): {"illness_code": "C34.1", "diagnosis_date": "2020-05-01", "day": "2020-05-02"},
    ("POST", "/mutual-aid/claims/{ma_claim_id}/investigation"): {
        "investigator": "mx", "summary": "mx", "supports_claim": True, "day": "2020-05-03"},
    ("POST", "/mutual-aid/claims/{ma_claim_id}/review"): {"approve": True, "reason": "mx", "day": "2020-05-04"},
    ("POST", "/mutual-aid/claims/{ma_claim_id}/dispute"): {"reason": "mx", "day": "2020-05-06"},
    ("POST", "/mutual-aid/claims/{ma_claim_id}/votes"): {"pays": True, "day": "2020-05-06"},
    ("POST", "/contracts/{contract}/reconciliation"): {"region": "{region}", "year": 2024},
    ("POST", "/review/flags/{flag_id}/decision"): {"decision": "accept"},
    ("POST", "/persons"): {"person_id": "MX1", "ric": make_ric(dt.date(1970, 7, 7), 77), "name": "mx", "region": "{region}"},
    ("POST", "/facilities"): {"id": "HX", "name": "mx", "region": "{region}", "level": 1},
    ("POST", "/employers"): {"uscc": "MX0000001", "name": "mx", "region": "{region}"},
    ("POST", "/households"): {"region": "{region}", "address": "mx"},
    ("POST", "/donations"): {"region": "{region}", "year": 2024, "amount": "1.00", "channel": "counter", "reference": "mx"},
    ("POST", "/audit/twin/cases/{case_id}/outcome"): {"outcome": "dismissed"},
    ("POST", "/payments/statements"): {"region": "{region}", "month": "2024-03"},
    ("PUT", "/payments/facilities/{facility_id}/bank-account"): {"bank_account": "6222020200001234567"},
    ("POST", "/payments/batches"): {"region": "{region}", "month": "2024-03"},
    ("POST", "/payments/year-end"): {"region": "{region}", "year": 2024},
    ("POST", "/payments/confirmations"): {"file_name": "c.csv", "text": (
        "batch_id,line_no,payee_id,payee_name,bank_account,amount,currency,reference,purpose,status,reason\n"
        "{batch_id},1,H2,x,6222020200001234567,1.00,CNY,{batch_id}/1,x,paid,\n")},
    ("POST", "/persons/{person_id}/policies"): {"product": "million-medical", "start_date": "2021-06-01",
                                                "day": "2021-06-01", "declaration": {"pre_existing": False}},
    ("POST", "/policies/{policy_id}/cancel"): {"reason": "mx"},
    ("POST", "/policies/{policy_id}/lapse"): {"day": "2021-06-01", "reason": "mx"},
    ("POST", "/policies/{policy_id}/stays"): {"admission": "2021-03-01", "discharge": "2021-03-03", "accident": True},
    ("POST", "/policies/{policy_id}/claims"): {"claim_id": "{claim_id}"},
    ("POST", "/policies/{policy_id}/events"): {"lump_sum": "accidental_death", "event": "accidental_death",
                                               "day": "2021-03-01"},
    ("POST", "/benefits/{benefit_id}/payments"): {"amount": "1.00", "channel": "counter", "reference": "mx"},
    ("POST", "/audit/twin/cases"): {"employer_uscc": "{uscc}", "year": 2025, "flags": [{
        "inspection_id": "I3", "kind": "under_declared_base", "person_id": None, "observed_wage": "8000.00",
        "monthly_shortfall": "3000.00", "months": 6, "contributions_due": "1440.00", "late_fee": "120.50"}]},
}
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/claims"): {"person_id": "{person_id}"},
    ("GET", "/persons"): {"region": "{region}"},
    ("GET", "/employers"): {"region": "{region}"},  # (facilities are a public directory: any caller lists them)
    ("GET", "/ledger/trial-balance"): {"region": "{region}", "year": "2024"},
    ("GET", "/mutual-aid/members"): {"person_id": "{person_id}"},
    ("GET", "/contracts/{contract}/reconciliation"): {"region": "{region}", "year": "2024"},
    ("GET", "/payments/statements"): {"region": "{region}"},
    ("GET", "/payments/batches"): {"region": "{region}"},
}


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[Api]:
    engine = make_engine(f"sqlite:///{tmp_path / 'matrix.sqlite3'}")
    upgrade(engine)
    api = Api(Store(engine))
    api.app.state.mutual_aid_data = tmp_path / "data"
    yield api
    engine.dispose()


def _ids(api: Api, person: str, claim: str, facility_role: str) -> dict[str, str]:
    """A person's ids: the person, a claim (submitted by `facility_role`), a contribution, a card, a mutual-aid
    membership and claim, a review flag on the claim; the region and the username are the bureau's."""
    api.call(facility_role, "POST", "/claims", ok=201, headers={"Idempotency-Key": claim}, json={
        "claim_id": claim, "person_id": person, "service_date": "2024-03-01", "care_type": "outpatient",
        "amount_class_a": "100"})
    contribution = api.call("admin", "GET", f"/persons/{person}/contributions")[0]["id"]
    card = api.call("admin", "POST", f"/persons/{person}/cards", ok=201)["jti"]
    member = api.call("platform", "POST", f"/mutual-aid/plans/{PILOT}/members", ok=201, json={
        "person_id": person, "credit_score": 700, "no_listed_illness": True, "no_current_treatment": True,
        "day": "2020-01-10"})["member_id"]
    ma_claim = api.call("platform", "POST", f"/mutual-aid/members/{member}/claims", ok=201, json={
        "illness_code": "C34.1", "diagnosis_date": "2020-05-01", "day": "2020-05-02"})["claim_id"]
    policy, benefit = _policy(api, person)
    return {"person_id": person, "claim_id": claim, "contribution_id": str(contribution), "jti": card, "code": REGION,
            "region": REGION, "username": "officer", "member_id": str(member), "ma_claim_id": str(ma_claim),
            "facility_id": "H2" if facility_role == "facility" else "H9", "policy_id": str(policy),
            "benefit_id": str(benefit)}


def _policy(api: Api, person: str) -> tuple[int, int]:
    """A small-value policy of the person (enrolled for 2021), its member's part paid before its start, and a
    benefit claimed under it (an accident's stay)."""
    api.call("admin", "POST", f"/persons/{person}/enrolments", ok=201, json={"year": 2021, "scheme": "urrbmi"})
    policy = api.call("admin", "POST", f"/persons/{person}/policies", ok=201, json={
        "product": SMALL, "start_date": "2021-01-01", "day": "2021-01-01"})
    part = next(p for p in policy["premium_parts"] if p["source"] == "premium_member")
    with mock.patch.object(contributions, "utcnow", lambda: dt.datetime(2020, 12, 20, 12, tzinfo=dt.UTC)):
        api.call("admin", "POST", f"/contributions/{part['id']}/payments", json={
            "amount": part["amount"], "channel": "counter", "reference": f"premium-{person}"})
    benefit = api.call("admin", "POST", f"/policies/{policy['id']}/stays", ok=201, json={
        "admission": "2021-02-01", "discharge": "2021-02-03", "accident": True})
    return policy["id"], benefit["id"]


def _bureau_records(api: Api) -> dict[str, str]:
    """A review flag on a claim and a Twin case with one worker, both in the bureau's region."""
    officer = Actor("officer", "officer")
    uscc = "91370202MA00000071"
    from stdnum.cn import uscc as stdnum_uscc

    uscc = uscc[:-1] + stdnum_uscc.calc_check_digit(uscc[:-1] + "0")
    import polars as pl

    with api.store.transaction() as s:
        review_queue.load_flags(s, officer, pl.DataFrame({
            "claim_id": ["OTHER"], "reason": ["implausible_amount"], "score": [4.0], "evidence": ["{}"],
            "region": [REGION]}), "manual")
        from yibao.ops import registry

        registry.add_employer(s, officer, EmployerIn(uscc=uscc, name="甲公司", region=REGION))
        case = twin_cases.open_case(s, officer, uscc, 2024, [twin_cases.FlaggedWorker(
            "I2", "uninsured_worker", None, "7000.00", "7000.00", 3, "1680.00", "80.25",
            make_ric(dt.date(1990, 6, 6), 13), "新工人")])
        case_id = case.id
        s.add(PaymentBatch(batch_id="PB-reference-city-2024-03-1", region=REGION, month="2024-03", total=0,
                           made_at=dt.datetime(2024, 4, 1, tzinfo=dt.UTC), made_by="officer"))
    flag = api.call("admin", "GET", "/review/flags")[0]["id"]
    return {"flag_id": str(flag), "case_id": str(case_id), "inspection_id": "I2", "uscc": uscc,
            "batch_id": "PB-reference-city-2024-03-1"}


def _setup(api: Api, tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    api.call("admin", "POST", "/facilities", ok=201, json={"id": "H9", "name": "Other hospital", "region": REGION, "level": 2})
    for user in ({"username": "far_officer", "role": "officer", "regions": ["other-city"]},
                 {"username": "platform", "role": "platform"}, {"username": "h9", "role": "facility", "facility_id": "H9"}):
        api.call("admin", "POST", "/users", ok=201, json={**user, "password": "long-password-harbour-42"})
        api.tokens[user["username"]] = api.login(user["username"], "long-password-harbour-42")
    api.call("platform", "POST", "/mutual-aid/plans", ok=201,
             json={"definition": pilot_plan(tmp_path).read_text(encoding="utf-8"), "in_force_from": "2020-01-01"})
    own = _ids(api, api.persons["member"], "OWN", "facility")
    other = _ids(api, api.persons["other_member"], "OTHER", "h9")
    bureau = _bureau_records(api)  # nobody of ROLES owns these: "own" falls back to them
    return {**bureau, **own}, {**bureau, **other}


def _fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    return template


def _path_ids(path: str) -> str:
    """The path with the mutual-aid claim id told apart from the bureau's claim id."""
    return path.replace("{claim_id}", "{ma_claim_id}") if path.startswith("/mutual-aid") else path


def _entitled(path: str) -> set[str]:
    return next((roles for prefix, roles in ENTITLED.items() if path.startswith(prefix)), BUREAU)


def _answer(api: Api, role: str, method: str, path: str, ids: dict[str, str]) -> tuple[int, Any]:
    """`role`'s answer to the operation on `ids`: a refusal as its status and code (the message may name the id
    asked for), a success as its status and body. Never a server error."""
    body, query = BODIES.get((method, path), {} if method in ("POST", "PUT") else None), QUERIES.get((method, path))
    ids = {**ids, **SHARED}
    url = _fill(_path_ids(path), ids)
    r = api.request(role, method, url, json=_fill(body, ids), params=_fill(query, ids), headers={"Idempotency-Key": "matrix"})
    assert r.status_code < 500, f"{role} {method} {url}: {r.status_code} {r.text}"
    payload = r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text
    if r.status_code >= 400:
        return r.status_code, payload.get("code") if isinstance(payload, dict) else payload
    return r.status_code, payload


@pytest.mark.slow
def test_no_leak_and_no_oracle_for_any_operation_role_and_id(api: Api, tmp_path: Path) -> None:
    own, other = _setup(api, tmp_path)
    document = api.client.get("/openapi.json").json()
    every = [(method.upper(), path) for path, item in document["paths"].items() for method in item]
    scoped = [(m, p) for m, p in every if "{" in p or (m, p) in QUERIES or (m, p) in BODIES]
    for domain in ("/persons/", "/claims/", "/mutual-aid/members/", "/mutual-aid/claims/", "/contracts/", "/review/",
                   "/audit/twin/", "/users/", "/regions/", "/payments/"):
        assert any(p.startswith(domain) for _, p in scoped), domain
    assert len(scoped) >= 58
    leaks, checked = [], 0
    for method, path in scoped:
        for role in ROLES:
            if role in _entitled(path):
                continue
            checked += 1
            theirs, missing = _answer(api, role, method, path, other), _answer(api, role, method, path, MISSING)
            if theirs != missing:
                leaks.append(f"{role} {method} {path}: another's {theirs} vs missing {missing}")
            _answer(api, role, method, path, own)  # own ids: refused by the role gate or served; no server error
    assert checked >= 58 * 4
    assert leaks == [], "\n".join(leaks)
    # the ids of the "another's" column are real: admin is answered otherwise than for missing ones (last: it writes)
    vacuous = [f"{method} {path}" for method, path in scoped if not set(re.findall(r"\{(\w+)\}", path)) <= set(SHARED)
               and (_answer(api, "admin", method, path, other)[0], _answer(api, "admin", method, path, MISSING)[0]) == (404, 404)]
    assert vacuous == [], "\n".join(vacuous)


def test_the_matrix_sees_a_leak_when_there_is_one(api: Api) -> None:
    """The check itself: the auditor (entitled) is answered 2xx for another's person where a member gets 404."""
    other = api.persons["other_member"]
    assert api.request("auditor", "GET", f"/persons/{other}").status_code == 200
    assert api.request("member", "GET", f"/persons/{other}").status_code == 404


def test_the_matrix_sees_an_oracle_when_there_is_one(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: with the review route's scope check answering its own 404 (as before the fix), another
    region's flag is told apart from a missing one."""
    from yibao.http import deps, review

    api.call("admin", "POST", "/users", ok=201, json={"username": "far_officer", "role": "officer",
                                                      "regions": ["other-city"], "password": "long-password-harbour-42"})
    api.tokens["far_officer"] = api.login("far_officer", "long-password-harbour-42")
    api.call("facility", "POST", "/claims", ok=201, headers={"Idempotency-Key": "OTHER"}, json={
        "claim_id": "OTHER", "person_id": api.persons["other_member"], "service_date": "2024-03-01",
        "care_type": "outpatient", "amount_class_a": "100"})
    other = _bureau_records(api)
    operation = ("POST", "/review/flags/{flag_id}/decision")
    assert _answer(api, "far_officer", *operation, other) == _answer(api, "far_officer", *operation, MISSING)
    monkeypatch.setattr(review, "check_region", lambda who, region, missing=None: deps.check_region(who, region))
    assert _answer(api, "far_officer", *operation, other) != _answer(api, "far_officer", *operation, MISSING)
