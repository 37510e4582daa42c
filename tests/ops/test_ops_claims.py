"""Claims: settlement into the ledger, idempotency, late and corrected claims, reversals, row locking."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ops_bureau import OFFICER, Bureau
from sqlalchemy import select, text

from yibao.core.errors import YibaoError
from yibao.core.model import InsuranceScheme
from yibao.core.scalar import settle_claims
from yibao.http.claims import claim_view
from yibao.ops import claims, ledger, registry
from yibao.ops.audit import Actor
from yibao.ops.ledger import Account, AccountKind
from yibao.ops.schemas import ClaimIn, CorrectionIn
from yibao.ops.store import AuditEvent, ClaimRow, Store

FACILITY = Actor("h2", "facility")


def bill(claim_id: str, person_id: str, day: date, class_a: str, level: int = 2, care: str = "inpatient", **extra: str) -> ClaimIn:
    return ClaimIn(
        claim_id=claim_id, person_id=person_id, service_date=day, region="reference-city",
        facility_level=level, care_type=care, amount_class_a=class_a, **extra,  # type: ignore[arg-type]
    )


def submit(store: Store, data: ClaimIn, key: str | None = None, facility: str | None = None) -> dict[str, object]:
    """Submitted by the bureau's facility of the bill's level (H1, H2, H3)."""
    with store.transaction() as s:
        return claim_view(claims.submit(s, FACILITY, facility or f"H{data.facility_level}", data, key or data.claim_id))


def test_hand_computed_claim_and_its_ledger_entry(bureau: Bureau) -> None:
    """URRBMI, level 2 inpatient, 10,000 class A: deductible 600, 75% of 9,400 = 7,050; out of pocket 2,950."""
    pid = bureau.person()
    got = submit(bureau.store, bill("C1", pid, date(2024, 3, 1), "10000"))
    assert got["paid"] == {"basic": "7050.00", "large_amount_subsidy": "0.00", "serious_illness": "0.00", "assistance": "0.00",
                           "huiminbao": "0.00", "individual_account": "0.00"}  # a resident: no account, nobody sharing
    assert got["out_of_pocket"] == "2950.00"
    # second admission of the year: deductible halved to 300 -> 75% of 9,700 = 7,275
    assert submit(bureau.store, bill("C2", pid, date(2024, 4, 1), "10000"))["paid"]["basic"] == "7275.00"  # type: ignore[index]
    with bureau.store.transaction() as s:
        fund = Account("reference-city", 2024, AccountKind.BASIC_POOLED_FUND)
        payable = Account("reference-city", 2024, AccountKind.FACILITY_PAYABLE, "H2")
        assert ledger.balance(s, fund) == 7050_00 + 7275_00
        assert ledger.balance(s, payable) == -(7050_00 + 7275_00)
        assert ledger.trial_balance(s).balanced
        assert ledger.unbalanced_entries(s) == []
        row = claims.claim(s, "C1")
        assert "7050.00" in str(row.explanation["en"]) and "起付线" in str(row.explanation["zh"])
        assert s.execute(select(AuditEvent).where(AuditEvent.action == "claim.settled")).scalars().all()


def test_idempotency_key(bureau: Bureau) -> None:
    pid = bureau.person()
    first = submit(bureau.store, bill("C1", pid, date(2024, 3, 1), "10000"), key="k1")
    again = submit(bureau.store, bill("C1", pid, date(2024, 3, 1), "10000"), key="k1")
    assert first == again
    with bureau.store.transaction() as s:
        assert len(ledger.entries(s, reference="claim:C1")) == 1
    with pytest.raises(YibaoError) as err:
        submit(bureau.store, bill("C1", pid, date(2024, 3, 1), "20000"), key="k1")
    assert err.value.code == "claim.idempotency_key_reused"
    with pytest.raises(YibaoError) as err:
        submit(bureau.store, bill("C1", pid, date(2024, 3, 1), "10000"), key="k2")
    assert err.value.code == "claim.exists"


def test_inactive_enrolment_is_refused_and_nothing_written(bureau: Bureau) -> None:
    pid = bureau.person(pay=False)
    with pytest.raises(YibaoError) as err:
        submit(bureau.store, bill("C1", pid, date(2024, 3, 1), "10000"))
    assert err.value.code == "enrolment.inactive"
    with bureau.store.transaction() as s:
        assert s.execute(select(ClaimRow)).first() is None


def ledger_by_claim(store: Store) -> dict[str, int]:
    """Total posted to the funds per claim that the funds paid anything (from the ledger alone: a claim settled
    with nothing to pay posts no entry)."""
    totals: dict[str, int] = defaultdict(int)
    with store.transaction() as s:
        for entry, postings in ledger.entries(s, limit=10_000):
            if entry.reference.startswith("claim:"):
                totals[entry.reference[6:]] += sum(p.amount for p in postings if p.kind != AccountKind.FACILITY_PAYABLE)
    return {claim_id: total for claim_id, total in totals.items() if total}


def fresh_totals(store: Store, person_id: str) -> dict[str, int]:
    """A fresh settlement of the person's settled claims, in canonical order (claims the funds pay nothing left
    out, as in `ledger_by_claim`)."""
    with store.transaction() as s:
        rows = s.execute(select(ClaimRow).where(ClaimRow.person_id == person_id, ClaimRow.status == "settled")).scalars().all()
        core = [claims.core_claim(r) for r in rows]
        person = registry.core_person(s, registry.person(s, person_id), date(2024, 6, 1))
    settled = settle_claims(claims.scheme_named("reference-city"), {person_id: person}, core)
    totals = {st.claim_id: sum(layer.paid for layer in st.layers) for st in settled}
    return {claim_id: total for claim_id, total in totals.items() if total}


def test_late_corrected_and_reversed_claims_equal_a_fresh_settlement(bureau: Bureau) -> None:
    pid = bureau.person()
    store = bureau.store
    for cid, day, amount in [("A", date(2024, 3, 1), "60000"), ("B", date(2024, 5, 1), "80000")]:
        submit(store, bill(cid, pid, day, amount, level=1))
    before_b = ledger_by_claim(store)["B"]
    submit(store, bill("L", pid, date(2024, 2, 1), "50000", level=1))  # late: before A and B
    totals = ledger_by_claim(store)
    assert totals == fresh_totals(store, pid)
    assert totals["B"] < before_b  # the late claim used cap that B had before
    with store.transaction() as s:
        kinds = [e.kind for e, _ in ledger.entries(s)]
        assert "adjustment" in kinds
        claims.correct(s, OFFICER, "A", CorrectionIn(service_date=date(2024, 3, 1), facility_level=1, care_type="inpatient", amount_class_a="1000"))  # type: ignore[arg-type]
    assert ledger_by_claim(store) == {**fresh_totals(store, pid), **{}}
    with store.transaction() as s:
        claims.reverse(s, OFFICER, "L")
    totals = ledger_by_claim(store)
    assert "L" not in totals  # the reversal brought what the funds paid for it back to zero
    assert totals == fresh_totals(store, pid)
    with store.transaction() as s:
        assert ledger.trial_balance(s).balanced and ledger.unbalanced_entries(s) == []
        assert {e.action for e in s.execute(select(AuditEvent)).scalars()} >= {"claim.corrected", "claim.reversed", "claim.resettled"}
        with pytest.raises(YibaoError) as err:
            claims.reverse(s, OFFICER, "L")
        assert err.value.code == "claim.not_settled"


def test_ledger_is_append_only(store: Store) -> None:
    Bureau(store).person()  # its contributions are posted
    with pytest.raises(Exception, match="append-only"), store.transaction() as s:
        s.execute(text("UPDATE postings SET amount = amount + 1"))
    with pytest.raises(Exception, match="append-only"), store.transaction() as s:
        s.execute(text("DELETE FROM audit_events"))


def test_concurrent_claims_never_share_the_remaining_cap(bureau: Bureau) -> None:
    """8 clients at once, one person, 100,000 each at level 1: the yearly basic inpatient cap (150,000) holds."""
    pid = bureau.person()
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def client(i: int) -> None:
        try:
            barrier.wait()
            submit(bureau.store, bill(f"X{i}", pid, date(2024, 6, 1), "100000", level=1))
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with bureau.store.transaction() as s:
        basic = ledger.balance(s, Account("reference-city", 2024, AccountKind.BASIC_POOLED_FUND))
        rows = s.execute(select(ClaimRow)).scalars().all()
        assert sum(r.split["basic"] for r in rows) == basic
    assert basic == 150_000_00
    assert ledger_by_claim(bureau.store) == fresh_totals(bureau.store, pid)


def test_uebmi_employee_contribution_goes_to_the_individual_account(bureau: Bureau) -> None:
    pid = bureau.person(InsuranceScheme.UEBMI_EMPLOYEE, wage="120000")
    with bureau.store.transaction() as s:
        assert ledger.balance(s, Account("reference-city", 2024, AccountKind.INDIVIDUAL_ACCOUNT, pid)) == -2400_00
        assert ledger.balance(s, Account("reference-city", 2024, AccountKind.CONTRIBUTION_INCOME, "employer")) == 0
        assert ledger.balance(s, Account("reference-city", 2024, AccountKind.BASIC_POOLED_FUND, "in:employer")) == -7200_00


def test_a_huiminbao_premium_paid_after_a_claim_covers_from_the_next_day_only(bureau: Bureau) -> None:
    """A retiree's cover is active at once (they owe no public contribution). Their Huiminbao premium, paid on
    2024-02-05 (inside the product's window), covers from 2024-02-06: the claim of 2024-02-01 is not settled again
    (Huiminbao never covers retroactively), a like claim of 2024-02-06 gets Huiminbao's share.
    Level 3, 400,000 class A each. H1: basic (400,000 - 800) x 83% = 331,336, capped at 250,000; the cap is
    reached at a base of 800 + ceil(250,000 / 0.83 to the fen) = 302,004.82, so 97,995.18 lies beyond it and the
    large-amount subsidy pays 90% of it = 88,195.66; Huiminbao 0; the retiree's individual account (the pool's
    yearly 720 credit) pays 720 of the personal part left. H2: the basic cap is used up, basic 0; the whole
    400,000 is beyond it, 90% = 360,000, but the subsidy's 400,000 yearly cap leaves 311,804.34; Huiminbao
    in-catalogue (400,000 - 311,804.34 - 20,000 deductible) x 80% = 54,556.53 (H1 did not count toward
    Huiminbao's deductible: it was not covered)."""
    from yibao.ops import contributions
    from yibao.ops.store import Contribution

    pid = bureau.person(InsuranceScheme.UEBMI_RETIREE, huiminbao=True, pay=False)
    first = submit(bureau.store, bill("H1", pid, date(2024, 2, 1), "400000", level=3))
    assert first["paid"]["huiminbao"] == "0.00"  # type: ignore[index]
    with bureau.store.transaction() as s:
        premium = s.execute(select(Contribution).where(Contribution.source == "huiminbao_premium")).scalar_one()
        contributions.record_payment(s, OFFICER, premium.id, premium.amount, "mobile", "hmb-1", date(2024, 2, 5))
    with bureau.store.transaction() as s:
        again = claim_view(claims.claim(s, "H1"))
        kinds = [e.kind for e, _ in ledger.entries(s, reference="claim:H1")]
        assert ledger.trial_balance(s).balanced
    assert again == first and kinds == ["claim"]  # not settled again
    on_the_day = submit(bureau.store, bill("H2", pid, date(2024, 2, 6), "400000", level=3))
    assert (first["paid"]["basic"], first["paid"]["large_amount_subsidy"], on_the_day["paid"]["basic"],  # type: ignore[index]
            on_the_day["paid"]["large_amount_subsidy"], on_the_day["paid"]["huiminbao"]) == (  # type: ignore[index]
        "250000.00", "88195.66", "0.00", "311804.34", "54556.53")
    assert first["paid"]["individual_account"] == "720.00"  # type: ignore[index]
    assert ledger_by_claim(bureau.store) == {"H1": 250_000_00 + 88_195_66 + 720_00, "H2": 311_804_34 + 54_556_53}


def test_a_claim_on_postgresql_is_one_locking_read_and_one_write(pg_only_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The common case costs two statements (the locked read, then every row in one write); a repeat of the same
    bill writes nothing more and returns the first result. Counted at the driver (what reaches the server),
    since the hot path runs its statements on the driver's cursor."""
    import psycopg
    from sqlalchemy import func

    from yibao.ops.store import AuditEvent, JournalEntry, Posting

    bureau = Bureau(pg_only_store)
    pid = bureau.person()
    seen: list[str] = []
    execute = psycopg.Cursor.execute

    def counting(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(query).split()[0])
        return execute(cursor, query, *args, **kwargs)

    submit(pg_only_store, bill("S0", bureau.person(), date(2024, 2, 1), "100"))  # the facility's registration: read once
    monkeypatch.setattr(psycopg.Cursor, "execute", counting)
    first = submit(pg_only_store, bill("S1", pid, date(2024, 3, 1), "10000"))
    assert seen == ["SELECT", "WITH"]
    monkeypatch.undo()

    def counts() -> list[int]:
        with pg_only_store.transaction() as s:
            return [s.execute(select(func.count()).select_from(t)).scalar_one() for t in (ClaimRow, JournalEntry, Posting, AuditEvent)]

    before = counts()
    assert submit(pg_only_store, bill("S1", pid, date(2024, 3, 1), "10000")) == first
    assert counts() == before
    with pg_only_store.transaction() as s:
        acc = s.execute(text("SELECT claims, data FROM accumulators WHERE person_id = :p"), {"p": pid}).one()
        assert acc.claims == 1 and acc.data["last"] == ["2024-03-01", "S1"]
        assert [e.kind for e, _ in ledger.entries(s, reference="claim:S1")] == ["claim"]


def test_a_claim_settled_on_the_common_path_is_logged_and_shown_as_its_stored_row(store: Store) -> None:
    """The common path writes the claim without an ORM object: its audit event's `after` and its API view are
    what the ORM row read back gives (apart from the database id, which the event never knew)."""
    from yibao.ops import audit

    bureau = Bureau(store)
    pid = bureau.person()
    shown = submit(store, bill("V1", pid, date(2024, 3, 1), "10000"))
    with store.transaction() as s:
        row = claims.claim(s, "V1")
        assert claim_view(row) == shown
        [event] = [e for e in audit.events(s, entity="claim", entity_id="V1")]
        stored = audit.snapshot(row)
        assert stored is not None and event.after is not None and list(event.after) == list(stored)
        # SQLite reads the time back without its zone; the written value is the same instant
        assert event.after["submitted_at"][:26] == stored["submitted_at"][:26]
        assert {**event.after, "submitted_at": None} == {**stored, "id": None, "submitted_at": None}
        settled = claims.SettledClaim(**{k: getattr(row, k) for k in claims.SettledClaim.__dataclass_fields__})
        assert settled.snapshot() == stored


def test_a_scheme_given_by_path_is_parsed_again_when_its_files_change(tmp_path: Path) -> None:
    """Built-in schemes are parsed once per process; a scheme folder named by path is re-read when it changes, so
    no worker keeps settling by a stale copy (the built-in one is package data and cannot change)."""
    import os
    import shutil

    from yibao.schemes import BUILTIN_DIR

    assert claims.scheme_named("reference-city") is claims.scheme_named("reference-city")
    folder = tmp_path / "my-city"
    shutil.copytree(BUILTIN_DIR / "reference-city", folder)
    first = claims.scheme_named(str(folder))
    assert claims.scheme_named(str(folder)) is first
    basic = folder / "basic.yaml"
    stat = basic.stat()
    basic.write_text(basic.read_text() + "\n")
    os.utime(basic, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again = claims.scheme_named(str(folder))
    assert again is not first and again.name == first.name


def test_settle_in_its_own_transaction_takes_every_path_of_submit(bureau: Bureau) -> None:
    """`claims.settle` (the API's path: an ORM session only when needed) gives what `submit` gives: common and
    late claims, a repeat, a reused key refused with nothing written, a person-year without accumulators."""
    from sqlalchemy import delete, func

    from yibao.ops.store import AccumulatorRow, JournalEntry

    store = bureau.store

    def settle(data: ClaimIn, key: str | None = None) -> dict[str, object]:
        return claims.settle(store.engine, FACILITY, f"H{data.facility_level}", data, key or data.claim_id, claim_view)

    pid = bureau.person()
    first = settle(bill("A", pid, date(2024, 3, 1), "60000", level=1))
    assert first == submit(store, bill("A", pid, date(2024, 3, 1), "60000", level=1))  # a repeat: the same claim
    assert settle(bill("A", pid, date(2024, 3, 1), "60000", level=1)) == first
    settle(bill("B", pid, date(2024, 5, 1), "80000", level=1))
    settle(bill("L", pid, date(2024, 2, 1), "50000", level=1))  # late: the year re-settled
    assert ledger_by_claim(store) == fresh_totals(store, pid)

    def rows() -> list[int]:
        with store.transaction() as s:
            return [s.execute(select(func.count()).select_from(t)).scalar_one() for t in (ClaimRow, JournalEntry, AuditEvent)]

    before = rows()
    with pytest.raises(YibaoError) as err:
        settle(bill("B2", pid, date(2024, 6, 1), "100", level=1), key="B")
    assert err.value.code == "claim.idempotency_key_reused" and rows() == before
    other = bureau.person()
    with store.transaction() as s:  # a person-year whose accumulator row is missing: made on the way
        s.execute(delete(AccumulatorRow).where(AccumulatorRow.person_id == other))
    assert settle(bill("O", other, date(2024, 3, 1), "10000"))["paid"]["basic"] == "7050.00"  # type: ignore[index]
