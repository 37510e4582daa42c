"""The service functions the people's pages use: pre-settlement (same figures as the settlement, nothing stored,
on both databases), a facility's claims of the day and what the funds owe it, sign-in by identity number, a
password change."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from ops_bureau import OFFICER, Bureau
from sqlalchemy import func, select

from yibao.core.errors import YibaoError
from yibao.http.claims import claim_view
from yibao.ops import auth, claims, ledger, lists, registry, users
from yibao.ops.audit import Actor
from yibao.ops.claims import AnyClaim
from yibao.ops.errors import Unauthenticated
from yibao.ops.schemas import ClaimIn, UserIn
from yibao.ops.store import AuditEvent, ClaimRow, JournalEntry

FACILITY = Actor("h2", "facility")


def _bill(claim_id: str, person_id: str, day: date, class_a: str) -> ClaimIn:
    return ClaimIn(claim_id=claim_id, person_id=person_id, service_date=day, region="reference-city",
                   facility_level=2, care_type="inpatient", amount_class_a=class_a)  # type: ignore[arg-type]


FIRST, SECOND = "copper-lantern-harbour-41", "violet-meadow-ferry-73"  # passwords the strength rule accepts


def _shown(row: AnyClaim) -> dict[str, Any]:
    """A claim as the API shows it, with its explanation (what the counter page shows)."""
    return {**claim_view(row), "explanation": dict(row.explanation)}


def _counts(bureau: Bureau) -> tuple[int, int, int]:
    with bureau.store.transaction() as s:
        return tuple(int(s.execute(select(func.count()).select_from(t)).scalar_one())  # type: ignore[return-value]
                     for t in (ClaimRow, JournalEntry, AuditEvent))


def test_presettlement_equals_the_settlement_and_stores_nothing(bureau: Bureau) -> None:
    pid = bureau.person()
    engine = bureau.store.engine
    claims.settle(engine, FACILITY, "H2", _bill("C1", pid, date(2024, 5, 1), "10000"), "C1", _shown)
    before = _counts(bureau)
    # a late bill (before C1): the pre-settlement re-settles the year as the settlement would
    late = _bill("C0", pid, date(2024, 3, 1), "20000")
    previewed = claims.presettle(engine, FACILITY, "H2", late, _shown)
    assert _counts(bureau) == before
    assert previewed["explanation"]["zh"]["layers"][0]["title"] == "基本医疗保险"
    settled = claims.settle(engine, FACILITY, "H2", late, "C0", _shown)
    assert {k: previewed[k] for k in ("paid", "out_of_pocket")} == {k: settled[k] for k in ("paid", "out_of_pocket")}
    # by hand: 20,000 class A at level 2, first of the year: 75% of (20,000 - 600) = 14,550
    assert previewed["paid"]["basic"] == "14550.00" and previewed["out_of_pocket"] == "5450.00"


def test_facility_claims_of_the_day_and_what_the_funds_owe(bureau: Bureau) -> None:
    pid = bureau.person()
    for n, day in enumerate((date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 2))):
        claims.settle(bureau.store.engine, FACILITY, "H2", _bill(f"C{n}", pid, day, "10000"), f"C{n}", _shown)
    with bureau.store.transaction() as s:
        assert [c.claim_id for c in lists.facility_claims(s, "H2", date(2024, 3, 1))] == ["C1", "C0"]
        assert lists.facility_claims(s, "H3", date(2024, 3, 1)) == []
        owed = ledger.owed_to_facility(s, "H2")
        paid = sum(sum(c.split.values()) for c in lists.claims_of_person(s, pid))
    assert owed == [("reference-city", 2024, paid)]


def test_sign_in_by_identity_number_and_password_change(bureau: Bureau) -> None:
    pid = bureau.person()
    with bureau.store.transaction() as s:
        auth.add_user(s, OFFICER, UserIn(username="li", password=FIRST, role="member", person_id=pid))
        ric = registry.person(s, pid).ric
    with bureau.store.transaction() as s:
        assert auth.username_for(s, ric) == "li"
        assert auth.username_for(s, "li") == "li"
        assert auth.username_for(s, "nobody") == "nobody"
    with pytest.raises(YibaoError) as wrong:
        users.change_password(bureau.store, "li", "wrong-password", SECOND, "10.0.0.1")
    assert wrong.value.code == "auth.wrong_password"
    users.change_password(bureau.store, "li", FIRST, SECOND, "10.0.0.1")
    with bureau.store.transaction() as s:
        assert auth.login(s, "k" * 32, "li", SECOND)
        with pytest.raises(Unauthenticated):
            auth.login(s, "k" * 32, "li", FIRST)
