"""The list and search endpoints: a facility's own claims, persons, facilities, employers, users; paginated with a
bounded limit and scoped (out of scope is never listed, exactly like missing). Both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

from ops_bureau import make_ric
from test_ops_api import REGION, Api

from yibao.ops.store import Store

OTHER = "other-city"


def _ids(page: dict[str, Any], key: str = "claim_id") -> list[Any]:
    return [item[key] for item in page["items"]]


def _setup(api: Api) -> str:
    """A person, a facility and an employer in the other region; claims of three persons at two facilities."""
    api.call("admin", "POST", "/persons", ok=201, json={
        "person_id": "X1", "ric": make_ric(date(1975, 3, 3), 61), "name": "Xu Other", "region": OTHER})
    enrolment = api.call("admin", "POST", "/persons/X1/enrolments", json={"year": 2024, "scheme": "urrbmi"}, ok=201)
    for due in enrolment["contributions"]:
        api.call("admin", "POST", f"/contributions/{due['id']}/payments", ok=200,
                 json={"amount": due["amount"], "channel": "counter", "reference": f"x-{due['id']}"})
    api.call("admin", "POST", "/facilities", ok=201, json={"id": "H9", "name": "Other hospital", "region": OTHER, "level": 2})
    api.call("admin", "POST", "/users", ok=201, json={
        "username": "facility9", "password": "desk-harbour-violet-42", "role": "facility", "facility_id": "H9"})
    api.tokens["facility9"] = api.login("facility9", "desk-harbour-violet-42")
    api.call("officer", "POST", "/employers", ok=201, json={"uscc": "91110000600037341L", "name": "Works", "region": REGION})
    api.call("admin", "POST", "/employers", ok=201, json={"uscc": "91350100M000100Y43", "name": "Far Works", "region": OTHER})
    household = api.call("officer", "POST", "/households", ok=201, json={"region": REGION, "address": "1 Lane"})["id"]
    p1, p2 = api.persons["member"], api.persons["other_member"]
    bills = [("C1", p1, "2024-01-10", "facility", REGION), ("C2", p1, "2024-03-10", "facility", REGION),
             ("C3", p2, "2024-02-10", "facility", REGION), ("C9", "X1", "2024-02-11", "facility9", OTHER)]
    for claim_id, person, day, role, region in bills:
        api.call(role, "POST", "/claims", ok=201, headers={"Idempotency-Key": claim_id}, json={
            "claim_id": claim_id, "person_id": person, "service_date": day, "region": region,
            "facility_level": 2, "care_type": "outpatient", "amount_class_a": "100"})
    api.call("officer", "POST", "/claims/C3/reverse")
    return str(household)


def test_lists_are_paginated_and_scoped(store: Store) -> None:
    api = Api(store)
    _setup(api)
    p1 = api.persons["member"]
    # a facility's own claims, newest first, with filters and pages
    own = api.call("facility", "GET", "/claims")
    assert _ids(own) == ["C2", "C3", "C1"] and own["total"] == 3
    assert own["items"][0]["paid"] and own["items"][0]["facility_id"] == "H2"
    assert _ids(api.call("facility", "GET", "/claims", params={"limit": 2})) == ["C2", "C3"]
    last = api.call("facility", "GET", "/claims", params={"limit": 2, "offset": 2})
    assert (_ids(last), last["total"], last["offset"]) == (["C1"], 3, 2)
    assert _ids(api.call("facility", "GET", "/claims", params={"date_from": "2024-02-01", "date_to": "2024-02-29"})) == ["C3"]
    assert _ids(api.call("facility", "GET", "/claims", params={"person_id": p1})) == ["C2", "C1"]
    assert _ids(api.call("facility", "GET", "/claims", params={"status": "reversed"})) == ["C3"]
    assert _ids(api.call("facility", "GET", "/claims", params={"facility_id": "H9"})) == ["C2", "C3", "C1"]  # own only
    assert _ids(api.call("facility9", "GET", "/claims")) == ["C9"]
    assert _ids(api.call("facility9", "GET", "/claims", params={"person_id": p1})) == []  # not its claims: none
    # an officer: the claims of persons of their regions; the auditor and admin: all
    assert _ids(api.call("officer", "GET", "/claims")) == ["C2", "C3", "C1"]
    assert _ids(api.call("auditor", "GET", "/claims", params={"facility_id": "H9"})) == ["C9"]
    assert api.call("admin", "GET", "/claims")["total"] == 4
    # bounded and checked parameters
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"status": "paid"}, {"date_from": "2024-13-01"}):
        r = api.request("facility", "GET", "/claims", params=params)
        assert r.status_code == 422 and r.json()["code"] == "request.invalid", params
    r = api.request("facility", "GET", "/claims", params={"date_from": "2024-03-01", "date_to": "2024-02-01"})
    assert r.status_code == 422 and r.json()["code"] == "list.bad_range"
    for role in ("member", "insurer", "anonymous"):
        assert api.request(role, "GET", "/claims").status_code in (401, 403)


def test_person_search_is_scoped_to_the_officers_regions(store: Store) -> None:
    api = Api(store)
    household = _setup(api)
    p1, p2 = api.persons["member"], api.persons["other_member"]
    assert _ids(api.call("officer", "GET", "/persons"), "person_id") == [p1, p2]
    assert _ids(api.call("admin", "GET", "/persons"), "person_id") == [p1, p2, "X1"]
    assert _ids(api.call("officer", "GET", "/persons", params={"name": "MEMBER 2"}), "person_id") == [p2]
    assert _ids(api.call("officer", "GET", "/persons", params={"name": "%"}), "person_id") == []  # not a wildcard
    x1_ric = api.call("admin", "GET", "/persons/X1")["ric"]
    nobody = make_ric(date(1960, 1, 1), 99)
    # another region's person answers exactly as a person who does not exist
    assert api.call("officer", "GET", "/persons", params={"ric": x1_ric}) == api.call("officer", "GET", "/persons", params={"ric": nobody})
    assert _ids(api.call("officer", "GET", "/persons", params={"name": "Xu"}), "person_id") == []
    assert _ids(api.call("auditor", "GET", "/persons", params={"ric": x1_ric.lower()}), "person_id") == ["X1"]
    api.call("officer", "POST", "/persons", ok=201, json={
        "person_id": "H1", "ric": make_ric(date(1990, 1, 1), 71), "name": "Han", "region": REGION, "household_id": int(household)})
    assert _ids(api.call("officer", "GET", "/persons", params={"household_id": household}), "person_id") == ["H1"]
    assert api.request("officer", "GET", "/persons", params={"household_id": 2**40}).status_code == 422
    page = api.call("officer", "GET", "/persons", params={"limit": 1, "offset": 1})
    assert (len(page["items"]), page["total"]) == (1, 3)
    for role in ("member", "facility", "insurer"):
        assert api.request(role, "GET", "/persons").status_code == 403
    # facilities: a public directory; employers: scoped; users: admin only
    assert _ids(api.call("member", "GET", "/facilities"), "id") == ["H2", "H9"]
    assert _ids(api.call("officer", "GET", "/facilities", params={"region": OTHER}), "id") == ["H9"]
    assert _ids(api.call("officer", "GET", "/employers"), "name") == ["Works"]
    assert _ids(api.call("auditor", "GET", "/employers"), "name") == ["Works", "Far Works"]
    assert _ids(api.call("officer", "GET", "/employers", params={"region": OTHER}), "name") == []
    assert api.request("facility", "GET", "/employers").status_code == 403
    names = _ids(api.call("admin", "GET", "/users"), "username")
    assert names == sorted(names) and {"admin", "officer", "facility9"} <= set(names)
    assert _ids(api.call("admin", "GET", "/users", params={"prefix": "fac"}), "username") == ["facility", "facility9"]
    assert _ids(api.call("admin", "GET", "/users", params={"prefix": "_"}), "username") == []
    assert api.request("officer", "GET", "/users").status_code == 403
