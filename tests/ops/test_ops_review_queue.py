"""The claim review queue: the nightly screening of the store, decisions, samples, the audit log, the API."""

from __future__ import annotations

from datetime import date

import pytest
from ops_bureau import OFFICER, Bureau
from sqlalchemy import func, select
from typer.testing import CliRunner

from yibao.core.errors import YibaoError
from yibao.ops import claims, review_queue
from yibao.ops.audit import Actor
from yibao.ops.review_queue import Decision, FlagStatus
from yibao.ops.schemas import ClaimIn
from yibao.ops.store import AuditEvent, Store

FACILITY = Actor("h2", "facility")
DAY = date(2024, 3, 1)


def bill(claim_id: str, person_id: str, day: date, class_a: str, facility: str = "H2") -> tuple[str, ClaimIn]:
    level = int(facility[1])
    return facility, ClaimIn(
        claim_id=claim_id, person_id=person_id, service_date=day, region="reference-city",
        facility_level=level, care_type="outpatient", amount_class_a=class_a, diagnosis="J06.9",  # type: ignore[arg-type]
    )  # fmt: skip


def settled(bureau: Bureau) -> str:
    """A person with a bill sent twice to H2, the same bill at H3 that day, and one on the next day."""
    pid = bureau.person()
    with bureau.store.transaction() as s:
        for facility, data in (
            bill("C1", pid, DAY, "120.00"),
            bill("C2", pid, DAY, "120.00"),
            bill("C3", pid, DAY, "120.00", facility="H3"),
            bill("C4", pid, date(2024, 3, 2), "120.00"),
        ):
            claims.submit(s, FACILITY, facility, data, data.claim_id)
    return pid


def events(store: Store, action: str) -> int:
    with store.transaction() as s:
        return int(s.execute(select(func.count()).where(AuditEvent.action == action)).scalar_one())


def test_nightly_screening_loads_each_flag_once(bureau: Bureau) -> None:
    settled(bureau)
    with bureau.store.transaction() as s:
        first = review_queue.screen_store(s, OFFICER, DAY, date(2024, 3, 31))
    assert (first.screened, first.found, first.loaded) == (4, 1, 1)
    with bureau.store.transaction() as s:
        again = review_queue.screen_store(s, OFFICER, date(2024, 2, 1), date(2024, 3, 31))
        [row] = review_queue.queue(s)
    assert (again.found, again.loaded) == (1, 0)
    assert (row.claim_id, row.reason, row.status, row.region) == ("C2", "duplicate_bill", "open", "reference-city")
    assert row.evidence["duplicate_of"] == "C1" and row.evidence["facility"] == "H2"
    assert events(bureau.store, "review.load") == 2


def test_reject_needs_a_reason_and_a_decision_is_final_and_audited(bureau: Bureau) -> None:
    settled(bureau)
    with bureau.store.transaction() as s:
        review_queue.screen_store(s, OFFICER, DAY, DAY)
        flag_id = review_queue.queue(s)[0].id
    with pytest.raises(YibaoError) as missing, bureau.store.transaction() as s:
        review_queue.decide(s, OFFICER, flag_id, Decision.REJECT, "  ")
    assert missing.value.code == "review.reason_required"
    with bureau.store.transaction() as s:
        assert review_queue.flag(s, flag_id).status == FlagStatus.OPEN  # nothing changed
        row = review_queue.decide(s, OFFICER, flag_id, Decision.REJECT, "two visits: morning and evening")
        assert (row.status, row.decided_by) == ("rejected", "officer")
    with pytest.raises(YibaoError) as twice, bureau.store.transaction() as s:
        review_queue.decide(s, OFFICER, flag_id, Decision.ACCEPT)
    assert twice.value.code == "review.already_decided"
    with bureau.store.transaction() as s:
        [event] = s.execute(select(AuditEvent).where(AuditEvent.action == "review.reject")).scalars().all()
    assert event.before is not None and event.after is not None
    assert (event.before["status"], event.after["status"]) == ("open", "rejected")
    assert event.after["decision_reason"] == "two visits: morning and evening"


def _load(store: Store, claim_ids: list[str]) -> None:
    import polars as pl

    frame = pl.DataFrame(
        {
            "claim_id": claim_ids,
            "reason": ["implausible_amount"] * len(claim_ids),
            "score": [4.0 + i for i in range(len(claim_ids))],
            "evidence": ["{}"] * len(claim_ids),
            "region": ["reference-city"] * len(claim_ids),
        }
    )
    with store.transaction() as s:
        review_queue.load_flags(s, OFFICER, frame, "manual")


def test_sample_is_reproducible_marks_flags_and_is_audited(bureau: Bureau) -> None:
    pid = bureau.person()
    with bureau.store.transaction() as s:
        for i in range(6):
            facility, data = bill(f"S{i}", pid, date(2024, 4, 1 + i), "50.00")
            claims.submit(s, FACILITY, facility, data, data.claim_id)
    _load(bureau.store, [f"S{i}" for i in range(6)])
    with bureau.store.transaction() as s:
        first = [r.claim_id for r in review_queue.sample(s, OFFICER, 3, seed=11)]
        s.rollback()
    with bureau.store.transaction() as s:
        again = [r.claim_id for r in review_queue.sample(s, OFFICER, 3, seed=11)]
    assert first == again and len(set(first)) == 3
    with bureau.store.transaction() as s:
        assert {r.claim_id for r in review_queue.queue(s, sampled=True)} == set(first)
        rest = review_queue.sample(s, OFFICER, 10, seed=1)  # only the three not yet sampled remain
    assert {r.claim_id for r in rest} == {f"S{i}" for i in range(6)} - set(first)
    assert events(bureau.store, "review.sample") == 6


def test_api_lists_decides_and_scopes_by_region(bureau: Bureau) -> None:
    from fastapi.testclient import TestClient

    from yibao.http.app import create_app
    from yibao.ops.auth import add_user
    from yibao.ops.schemas import UserIn

    settled(bureau)
    with bureau.store.transaction() as s:
        review_queue.screen_store(s, OFFICER, DAY, DAY)
        add_user(s, OFFICER, UserIn(username="off", password="copper-lantern-harbour-41", role="officer", regions=["reference-city"]))
        add_user(s, OFFICER, UserIn(username="aud", password="copper-lantern-harbour-41", role="auditor"))
    client = TestClient(create_app(bureau.store))

    def token(user: str) -> dict[str, str]:
        got = client.post("/auth/login", json={"username": user, "password": "copper-lantern-harbour-41"})
        assert got.status_code == 200, got.text
        return {"Authorization": f"Bearer {got.json()['access_token']}"}

    officer, auditor = token("off"), token("aud")
    listed = client.get("/review/flags", headers=auditor)
    assert listed.status_code == 200 and [f["claim_id"] for f in listed.json()] == ["C2"]
    flag_id = listed.json()[0]["id"]
    drawn = client.post("/review/sample", json={"size": 5, "seed": 3}, headers=officer)
    assert drawn.status_code == 200 and [(f["id"], f["sampled"]) for f in drawn.json()] == [(flag_id, True)]
    assert client.post("/review/sample", json={"size": 0}, headers=officer).status_code == 422
    refused = client.post(f"/review/flags/{flag_id}/decision", json={"decision": "reject"}, headers=officer)
    assert refused.status_code == 422 and refused.json()["code"] == "review.reason_required"
    denied = client.post(f"/review/flags/{flag_id}/decision", json={"decision": "accept"}, headers=auditor)
    assert denied.status_code == 403
    done = client.post(f"/review/flags/{flag_id}/decision", json={"decision": "accept"}, headers=officer)
    assert done.status_code == 200 and done.json()["status"] == "accepted"
    assert client.get("/review/flags", headers=officer).json() == []  # no open flag left
    assert client.get("/review/flags?status=accepted", headers=officer).json()[0]["decided_by"] == "off"


def test_cli_db_screens_a_day_range(bureau: Bureau) -> None:
    from yibao.cli.main import app

    settled(bureau)
    engine = bureau.store.engine
    url = engine.url
    if engine.dialect.name == "postgresql":  # the test's own schema, as the fixture's engine connects
        with engine.connect() as conn:
            url = url.update_query_dict(
                {"options": f"-csearch_path={conn.exec_driver_sql('SHOW search_path').scalar()}"}
            )
    result = CliRunner().invoke(app, ["audit", "claims", "--db", "--from", "2024-03-01", "--to", "2024-03-02",
                                      "--database-url", url.render_as_string(hide_password=False)])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert "4 settled claims screened, 1 flags, 1 new" in result.output
    with bureau.store.transaction() as s:
        assert [r.claim_id for r in review_queue.queue(s)] == ["C2"]
