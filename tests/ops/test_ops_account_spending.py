"""Individual accounts spent at settlement, with family sharing (yibao.ops.account_spending): hand-computed claims,
refunds on reversal, own account first, balances never negative (a random sequence; concurrent claims of relatives
on PostgreSQL). SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_bureau import OFFICER, Bureau, pg_store
from sqlalchemy import select

from yibao.core.model import InsuranceScheme
from yibao.http.claims import claim_view
from yibao.ops import claims, family, ledger
from yibao.ops.audit import Actor
from yibao.ops.schemas import ClaimIn
from yibao.ops.store import ClaimRow, Store

FACILITY = Actor("h1", "facility")
EMPLOYEE, RESIDENT = InsuranceScheme.UEBMI_EMPLOYEE, InsuranceScheme.URRBMI


def bill(claim_id: str, person_id: str, day: date, class_a: str) -> ClaimIn:
    return ClaimIn(claim_id=claim_id, person_id=person_id, service_date=day, region="reference-city",
                   facility_level=1, care_type="inpatient", amount_class_a=class_a)  # type: ignore[arg-type]


def submit(store: Store, data: ClaimIn) -> dict[str, Any]:
    return claims.settle(store.engine, FACILITY, "H1", data, data.claim_id, claim_view)


def balances(store: Store, *persons: str) -> list[int]:
    with store.transaction() as s:
        return [family.balance(s, p) for p in persons]


def test_an_employee_s_account_pays_the_personal_part_then_runs_out(bureau: Bureau) -> None:
    """Wage 80,000 → 2% = 1,600 yuan in the account. Level 1 inpatient, class A 10,000: UEBMI deductible 200, 90% of
    9,800 = 8,820 from the pool; the personal part 1,180 is paid from the account (cash 0), 420 left. A second
    admission leaves more than 420 to the member: the account pays its last 420 and the rest is cash."""
    holder = bureau.person(EMPLOYEE, wage="80000")
    store = bureau.store
    first = submit(store, bill("A1", holder, date(2024, 3, 1), "10000"))
    assert (first["paid"]["basic"], first["paid"]["individual_account"], first["out_of_pocket"]) == ("8820.00", "1180.00", "0.00")
    assert balances(store, holder) == [420_00]
    second = submit(store, bill("A2", holder, date(2024, 4, 1), "10000"))
    assert second["paid"]["individual_account"] == "420.00"
    assert balances(store, holder) == [0]
    with store.transaction() as s:
        explained = str(claims.claim(s, "A1").explanation["en"])
        assert "1180.00" in explained and "420.00" in explained  # the payment and the balance left
        assert ledger.unbalanced_entries(s) == [] and ledger.trial_balance(s).balanced


def test_a_relative_spends_the_shared_account_and_a_reversal_refunds_it(bureau: Bureau) -> None:
    """A resident spouse, level 1 inpatient, class A 10,000: deductible 200, 85% of 9,800 = 8,330; personal part
    1,670, of which the holder's account (1,600) pays 1,600 and 70 is cash. Reversing the claim refunds the 1,600."""
    holder = bureau.person(EMPLOYEE, wage="80000")
    spouse = bureau.person(RESIDENT)
    store = bureau.store
    alone = submit(store, bill("S0", spouse, date(2024, 2, 1), "100"))
    assert alone["paid"]["individual_account"] == "0.00"  # not yet registered: nothing shared
    with store.transaction() as s:  # withdrawn, so that S1 below is the spouse's first admission of the year
        claims.reverse(s, OFFICER, "S0")
    with store.transaction() as s:
        family.register_relative(s, OFFICER, holder, spouse, "spouse")
    got = submit(store, bill("S1", spouse, date(2024, 3, 1), "10000"))
    assert (got["paid"]["basic"], got["paid"]["individual_account"], got["out_of_pocket"]) == ("8330.00", "1600.00", "70.00")
    assert balances(store, holder, spouse) == [0, 0]
    assert submit(store, bill("H1", holder, date(2024, 3, 2), "10000"))["paid"]["individual_account"] == "0.00"
    with store.transaction() as s:
        claims.reverse(s, OFFICER, "S1")
    assert balances(store, holder) == [1600_00]  # refunded (the holder's own H1 is not re-settled by it)
    with store.transaction() as s:
        paid_back = sum(p.amount for _, ps in ledger.entries(s, reference="claim:S1") for p in ps
                        if p.account == f"reference-city:2024:individual_account:{holder}")
        assert paid_back == 0  # 1,600 spent, then 1,600 refunded
        assert ledger.unbalanced_entries(s) == []


def test_own_account_first_then_the_relatives(bureau: Bureau) -> None:
    """A child employee (wage 10,000 → floor 60,000 → 1,200 yuan) registered by a parent (1,600). The child's
    personal part of 1,180 (as above) comes from their own account (20 left). The second admission's deductible is
    halved to 100: 90% of 9,900 = 8,910, personal part 1,090: the child's last 20, then 1,070 from the parent (530
    left)."""
    parent = bureau.person(EMPLOYEE, wage="80000")
    child = bureau.person(EMPLOYEE, wage="10000")
    store = bureau.store
    with store.transaction() as s:
        family.register_relative(s, OFFICER, parent, child, "child")
    submit(store, bill("K1", child, date(2024, 3, 1), "10000"))
    assert balances(store, child, parent) == [20_00, 1600_00]
    got = submit(store, bill("K2", child, date(2024, 4, 1), "10000"))
    assert got["paid"]["individual_account"] == "1090.00"
    assert balances(store, child, parent) == [0, 530_00]


actions = st.lists(st.tuples(st.sampled_from(["claim", "late", "reverse"]), st.integers(0, 2),
                             st.integers(1, 60_000)), min_size=1, max_size=8)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_balances_never_go_negative(tmp_path_factory: Any, steps: list[tuple[str, int, int]]) -> None:
    """A family (an employee holder, a resident spouse, an employee child; both registered) settles random claims,
    late claims and reversals: no account ever goes negative; what the accounts paid is what the claims hold."""
    from yibao.ops.migrate import upgrade
    from yibao.ops.store import make_engine

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('acc') / 's.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    bureau = Bureau(store)
    family_ids = [bureau.person(EMPLOYEE, wage="80000"), bureau.person(RESIDENT), bureau.person(EMPLOYEE, wage="10000")]
    with store.transaction() as s:
        for relative in family_ids[1:]:
            family.register_relative(s, OFFICER, family_ids[0], relative, "spouse")
    start = sum(balances(store, *family_ids))
    settled: list[str] = []
    for i, (what, who, amount) in enumerate(steps):
        if what == "reverse" and settled:
            with store.transaction() as s:
                claims.reverse(s, OFFICER, settled.pop(0))
        else:
            day = date(2024, 6, 1) if what == "claim" else date(2024, 1, 1 + i)
            submit(store, bill(f"X{i}", family_ids[who], day, f"{amount}"))
            settled.append(f"X{i}")
        assert all(b >= 0 for b in balances(store, *family_ids))
    with store.transaction() as s:
        rows = s.execute(select(ClaimRow)).scalars().all()
        held = sum(int(r.split.get("individual_account", 0)) for r in rows)
        assert start - sum(family.balance(s, p) for p in family_ids) == held
        assert ledger.unbalanced_entries(s) == []
    engine.dispose()


def _three_claims(store: Store, person: str, tag: str, errors: list[BaseException]) -> None:
    try:
        for k in range(3):
            submit(store, bill(f"{tag}{k}", person, date(2024, 3, 1 + k), "3000"))
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def test_concurrent_claims_of_relatives_never_overspend_the_shared_account(pg_url: str) -> None:
    """PostgreSQL: the holder and two registered relatives settle 3 claims each at once (threads); the holder's
    1,600 yuan is spent at most once: no account below zero, and what the claims hold equals what was spent."""
    for store in pg_store(pg_url):
        bureau = Bureau(store)
        holder = bureau.person(EMPLOYEE, wage="80000")
        relatives = [bureau.person(RESIDENT), bureau.person(RESIDENT)]
        with store.transaction() as s:
            for r in relatives:
                family.register_relative(s, OFFICER, holder, r, "child")
        errors: list[BaseException] = []

        threads = [threading.Thread(target=_three_claims, args=(store, p, f"T{i}-", errors))
                   for i, p in enumerate([holder, *relatives])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with store.transaction() as s:
            spent = 1600_00 - family.balance(s, holder)
            held = sum(int(r.split.get("individual_account", 0)) for r in s.execute(select(ClaimRow)).scalars())
            assert family.balance(s, holder) >= 0 and spent == held
            assert held == 1600_00  # nine claims' personal parts exceed the balance: all of it is used
