"""Mutual-aid operations over the store (SQLite and PostgreSQL): membership, the claims workflow, member juries,
apportionment posted to the ledger, deductions, refunds — every figure checkable by hand on the pilot plan
(payout 6.00 yuan up to age 39, fee 8%, case cap 1.00 yuan)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from ops_mutual_aid import CLEAN, JOIN_DAY, PILOT, PLATFORM, Pool, migrated_sqlite
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from yibao.core.errors import YibaoError
from yibao.mutual_aid import periods, service
from yibao.mutual_aid.membership import HealthDeclaration
from yibao.ops import audit, ledger
from yibao.ops.errors import Rejected
from yibao.ops.store import AuditEvent, JournalEntry, Store
from yibao.ops.store_mutual_aid import MutualAidClaim, MutualAidJuror, MutualAidPeriod, MutualAidVote

MAY7, MAY21 = dt.date(2020, 5, 7), dt.date(2020, 5, 21)


def code_of(store: Store, call: object, *args: object, **kwargs: object) -> str:
    """The refusal's code; and the refused transaction wrote nothing (not even an audit event)."""
    with store.transaction() as s:
        events_before = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    with pytest.raises(YibaoError) as err, store.transaction() as s:
        call(s, *args, **kwargs)  # type: ignore[operator]
    with store.transaction() as s:
        assert s.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == events_before
    return err.value.code


def postings(store: Store, reference: str) -> list[tuple[str, int]]:
    with store.transaction() as s:
        return [(p.account, p.amount) for _, ps in ledger.entries(s, reference=reference) for p in ps]


def pool_of(store: Store) -> int:
    with store.transaction() as s:
        return periods.pool_balance(s, PILOT)


def test_migrations_match_the_models(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from yibao.ops import store_audit, store_family, store_mutual_aid, store_payments, store_products  # noqa: F401
    from yibao.ops.store import Base

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_filed_to_paid_with_the_period_posted_to_the_ledger(store: Store, tmp_path: Path) -> None:
    pool = Pool(store, tmp_path)
    claimant = pool.join(name="王小明")
    others = [pool.join(birth=dt.date(1980, 1, 1)) for _ in range(9)]
    waiting = pool.join(day=dt.date(2020, 4, 20))  # protected only from 2020-07-19: shares nothing on 7 May
    claim = pool.approved_on_notice(claimant)
    with store.transaction() as s:
        row = s.get(MutualAidClaim, claim)
        assert row is not None and row.status == "noticed" and row.amount == 600
        assert row.notice is not None and row.notice["member"] == "王*明" and row.notice["amount"] == "6.00"
        assert [h["status"] for h in row.history] == ["filed", "investigated", "approved", "noticed"]
        assert [n["claim_id"] for n in service.notices(s, PILOT)] == [str(claim)]
    assert code_of(store, service.pay, PLATFORM, claim, dt.date(2020, 5, 6)) == "mutual_aid.not_apportioned"

    summary = pool.apportion(MAY7)
    # aid 6.00 + fee 0.48 over 10 protected members = 6.48 fen each -> 0.65; 2 fen left in the pool
    assert (summary["members"], summary["members_protected"], summary["per_member_charge"]) == (11, 10, "0.65")
    assert (summary["collected"], summary["rounding_difference"], summary["surplus_out"]) == ("6.50", "0.02", "0.02")
    ref = f"{PILOT}:2020-05-07"
    assert postings(store, f"{ref}:charges") == [(f"{PILOT}:2020:mutual_aid_member_charges", 650),
                                                 (f"{PILOT}:2020:mutual_aid_pool", -650)]
    assert postings(store, f"{ref}:fee") == [(f"{PILOT}:2020:mutual_aid_pool", 48),
                                             (f"{PILOT}:2020:mutual_aid_platform_fee", -48)]
    assert postings(store, f"{ref}:aid") == [(f"{PILOT}:2020:mutual_aid_pool", 600),
                                             (f"{PILOT}:2020:mutual_aid_beneficiary_payable:{claim}", -600)]
    assert pool_of(store) == 2
    with store.transaction() as s:
        charges = {m: periods.member_charges(s, m) for m in (claimant, others[0], waiting)}
    assert [c.charge for c in charges[claimant]] == [65] and [c.charge for c in charges[waiting]] == [0]
    assert charges[others[0]][0].charged_this_year == 65

    assert code_of(store, service.file_claim, PLATFORM, claimant, "I21.0", dt.date(2020, 5, 2), dt.date(2020, 5, 8)) \
        == "mutual_aid.claim_exists"  # one lump sum per membership
    assert code_of(store, service.dispute, PLATFORM, claim, others[0], "objection", dt.date(2020, 5, 8), 3, 1) \
        == "mutual_aid.already_apportioned"  # objections close when the period is apportioned
    with store.transaction() as s:
        paid = service.pay(s, PLATFORM, claim, dt.date(2020, 5, 14))
        assert (paid.status, paid.paid_on) == ("paid", dt.date(2020, 5, 14))
        assert service.member_row(s, claimant).status == "paid_out"
        body = periods.publish_disclosure(s, PLATFORM, PILOT, MAY7).body
    assert postings(store, f"{PILOT}:payout:{claim}") == [(f"{PILOT}:2020:mutual_aid_beneficiary_payable:{claim}", 600),
                                                         (f"{PILOT}:2020:mutual_aid_member_charges", -600)]
    assert body["period"]["per_member_charge"] == "0.65" and body["cases"][0]["member"] == "王*明"
    with store.transaction() as s:
        tb = ledger.trial_balance(s, region=PILOT)
        assert tb.balanced and not ledger.unbalanced_entries(s)
        balances = {r.kind: r.balance for r in tb.rows}
    assert balances == {"mutual_aid_member_charges": 50, "mutual_aid_pool": -2, "mutual_aid_platform_fee": -48,
                        "mutual_aid_beneficiary_payable": 0}
    # the next period carries the 2 fen: nothing to charge, the surplus stays
    assert pool.apportion(MAY21)["collected"] == "0.00" and pool_of(store) == 2


def test_every_change_is_audited_with_before_and_after(store: Store, tmp_path: Path) -> None:
    pool = Pool(store, tmp_path)
    member = pool.join()
    with store.transaction() as s:
        service.leave(s, PLATFORM, member, dt.date(2020, 2, 1))
    with store.transaction() as s:
        events = audit.events(s, entity="mutual_aid_member", entity_id=str(member))
        assert [e.action for e in events] == ["mutual_aid.member.joined", "mutual_aid.member.left"]
        assert events[0].before is None and events[0].after is not None and events[0].after["status"] == "active"
        assert events[1].before is not None and events[1].after is not None
        assert (events[1].before["status"], events[1].after["status"], events[1].after["ended_on"]) == \
            ("active", "left", "2020-02-01")
        assert {e.actor for e in events} == {PLATFORM.name}


def test_joining_refusals_write_nothing(store: Store, tmp_path: Path) -> None:
    pool = Pool(store, tmp_path)
    adult, too_old = pool.person(), pool.person(birth=dt.date(1955, 1, 1))
    assert code_of(store, service.join, PLATFORM, PILOT, adult, dt.date(2019, 12, 1), CLEAN, 700) \
        == "mutual_aid.plan_not_in_force"
    assert code_of(store, service.join, PLATFORM, PILOT, adult, JOIN_DAY, CLEAN, 600) == "mutual_aid.credit_gate"
    assert code_of(store, service.join, PLATFORM, PILOT, adult, JOIN_DAY, HealthDeclaration(True, False), 700) \
        == "mutual_aid.health_declaration"
    assert code_of(store, service.join, PLATFORM, PILOT, too_old, JOIN_DAY, CLEAN, 700) == "mutual_aid.age_not_eligible"
    assert code_of(store, service.join, PLATFORM, "nope", adult, JOIN_DAY, CLEAN, 700) == "mutual_aid.plan_not_found"
    with store.transaction() as s:
        row = service.join(s, PLATFORM, PILOT, adult, JOIN_DAY, CLEAN, 600, credit_threshold=550)  # the caller's gate
        assert row.protection_start == dt.date(2020, 4, 9)
    assert code_of(store, service.join, PLATFORM, PILOT, adult, JOIN_DAY, CLEAN, 700) == "mutual_aid.already_member"


def _jury_pool(store: Store, tmp_path: Path) -> tuple[Pool, int, int, list[int], int, int]:
    """A claimant whose claim was rejected, four eligible adults, a child and a newcomer (both ineligible)."""
    pool = Pool(store, tmp_path)
    claimant = pool.join()
    adults = [pool.join(birth=dt.date(1985, 3, 3)) for _ in range(4)]
    child = pool.join(birth=dt.date(2010, 1, 1))
    newcomer = pool.join(birth=dt.date(1985, 3, 3), day=dt.date(2020, 6, 20))  # 11 days a member on 1 July
    with store.transaction() as s:
        claim = service.file_claim(s, PLATFORM, claimant, "C50.9", dt.date(2020, 6, 1), dt.date(2020, 6, 2))
        service.investigate(s, PLATFORM, claim.id, "inv-co", "stage unclear", False, dt.date(2020, 6, 10))
        service.review(s, PLATFORM, claim.id, False, "not severe enough", dt.date(2020, 6, 12))
        claim_id = claim.id
    return pool, claimant, claim_id, adults, child, newcomer


JULY1 = dt.date(2020, 7, 1)


def test_jury_drawn_from_eligible_members_one_vote_each(store: Store, tmp_path: Path) -> None:
    _, claimant, claim, adults, child, newcomer = _jury_pool(store, tmp_path)
    assert code_of(store, service.dispute, PLATFORM, claim, adults[0], "", JULY1, 4, 7) == "mutual_aid.not_claimant"
    assert code_of(store, service.dispute, PLATFORM, claim, claimant, "", JULY1, 2, 7) == "mutual_aid.too_few_seats"
    assert code_of(store, service.dispute, PLATFORM, claim, claimant, "", JULY1, 5, 7) == "mutual_aid.too_few_jurors"
    with store.transaction() as s:
        jury = service.dispute(s, PLATFORM, claim, claimant, "pathology report attached", JULY1, seats=4, seed=7)
        seated = set(s.execute(select(MutualAidJuror.member_id).where(MutualAidJuror.jury_id == jury.id)).scalars())
    assert seated == set(adults)  # never the claimant, the child or the newcomer
    for outsider in (child, newcomer, claimant):
        assert code_of(store, service.cast_vote, PLATFORM, claim, outsider, True, JULY1) == "mutual_aid.not_a_juror"
    with store.transaction() as s:
        service.leave(s, PLATFORM, adults[3], dt.date(2020, 7, 2))
    assert code_of(store, service.cast_vote, PLATFORM, claim, adults[3], True, dt.date(2020, 7, 3)) \
        == "mutual_aid.juror_ineligible"  # no longer a member when voting
    with store.transaction() as s:
        service.cast_vote(s, PLATFORM, claim, adults[0], True, JULY1)
    assert code_of(store, service.cast_vote, PLATFORM, claim, adults[0], False, JULY1) == "mutual_aid.double_vote"
    assert code_of(store, service.close_jury, PLATFORM, claim, dt.date(2020, 7, 5)) == "mutual_aid.jury_not_valid"
    with pytest.raises(IntegrityError), store.transaction() as s:  # the database refuses a second vote too
        s.add(MutualAidVote(jury_id=jury.id, member_id=adults[0], pays=False, day=JULY1, recorded_by="sql"))
        s.flush()
    with store.transaction() as s:
        service.cast_vote(s, PLATFORM, claim, adults[1], True, JULY1)
        service.cast_vote(s, PLATFORM, claim, adults[2], False, JULY1)
        decided = service.close_jury(s, PLATFORM, claim, dt.date(2020, 7, 5))
        assert decided.status == "noticed" and decided.notice is not None  # 2 of 3 > 50%: back on notice, to be paid
        assert "2 to pay, 1 to refuse" in decided.history[-1]["note"]
        view = service.claim_view(s, decided)["jury"]
        assert (view["votes_to_pay"], view["votes_to_refuse"], view["outcome"]) == (2, 1, "pay")
        votes = audit.events(s, entity="mutual_aid_vote")
        assert len(votes) == 3 and all(e.after and e.after["recorded_by"] == PLATFORM.name for e in votes)
    assert code_of(store, service.cast_vote, PLATFORM, claim, adults[2], True, JULY1) == "mutual_aid.no_open_jury"


@pytest.mark.parametrize(("to_pay", "to_refuse", "status"), [(2, 1, "noticed"), (2, 2, "denied"), (0, 3, "denied")])
def test_verdict_thresholds(sqlite_store: Store, tmp_path: Path, to_pay: int, to_refuse: int, status: str) -> None:
    _, claimant, claim, adults, _, _ = _jury_pool(sqlite_store, tmp_path)
    with sqlite_store.transaction() as s:
        service.dispute(s, PLATFORM, claim, claimant, "appeal", JULY1, seats=4, seed=1)
        for i, juror in enumerate(adults[: to_pay + to_refuse]):
            service.cast_vote(s, PLATFORM, claim, juror, i < to_pay, JULY1)
        assert service.close_jury(s, PLATFORM, claim, dt.date(2020, 7, 5)).status == status


@pytest.fixture()
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    yield from migrated_sqlite(tmp_path)


def test_diagnosis_in_the_waiting_period_ends_membership_with_a_refund(store: Store, tmp_path: Path) -> None:
    pool = Pool(store, tmp_path)
    members = [pool.join() for _ in range(10)]
    waiting_case = members[-1]  # diagnosed on 1 March, inside the waiting period (protected from 9 April)
    pool.approved_on_notice(members[0])
    pool.apportion(MAY7)  # every member pays 0.65
    assert code_of(store, service.file_claim, PLATFORM, waiting_case, "C34.1", dt.date(2020, 3, 1),
                   dt.date(2020, 5, 15)) == "mutual_aid.in_waiting_period"
    assert code_of(store, periods.end_in_waiting_period, PLATFORM, waiting_case, dt.date(2020, 4, 10),
                   dt.date(2020, 5, 20)) == "mutual_aid.not_in_waiting_period"
    with store.transaction() as s:
        row, refund = periods.end_in_waiting_period(s, PLATFORM, waiting_case, dt.date(2020, 3, 1), dt.date(2020, 5, 20))
        assert (row.status, refund) == ("ended_in_waiting", 65)
    assert postings(store, f"{PILOT}:refund:{waiting_case}") == [(f"{PILOT}:2020:mutual_aid_pool", 65),
                                                                 (f"{PILOT}:2020:mutual_aid_member_charges", -65)]
    assert pool_of(store) == 2 - 65
    # the refund is owed by the pool: the next period collects it from the 9 members left, 7 fen each
    summary = pool.apportion(MAY21)
    assert (summary["surplus_in"], summary["members_protected"], summary["per_member_charge"]) == ("-0.63", 9, "0.07")
    assert summary["surplus_out"] == "0.00"


def test_failed_deductions_retried_then_the_member_is_removed(store: Store, tmp_path: Path) -> None:
    pool = Pool(store, tmp_path)
    members = [pool.join() for _ in range(10)]
    failing, recovering = members[1], members[2]
    old = pool.join(birth=dt.date(1960, 5, 10))  # 60 on 10 May 2020: ages out
    pool.approved_on_notice(members[0])
    assert pool.apportion(MAY7)["per_member_charge"] == "0.59"  # 6.48 / 11 members; 1 fen left in the pool
    fourteenth = dt.date(2020, 5, 14)
    with store.transaction() as s:
        periods.record_deduction(s, PLATFORM, failing, MAY7, fourteenth, succeeded=False)
        periods.record_deduction(s, PLATFORM, recovering, MAY7, fourteenth, succeeded=False)
    assert code_of(store, periods.record_deduction, PLATFORM, failing, MAY7, fourteenth, False) == "mutual_aid.already_failed"
    assert code_of(store, periods.record_deduction, PLATFORM, members[3], MAY7, fourteenth, True) \
        == "mutual_aid.no_failed_deduction"
    with store.transaction() as s:
        periods.record_deduction(s, PLATFORM, recovering, MAY7, dt.date(2020, 5, 16), succeeded=True)
        run = periods.daily_run(s, PLATFORM, PILOT, dt.date(2020, 5, 18))  # 4 days of retries: not yet
        assert (run.removed, run.aged_out) == ((), (old,))
    with store.transaction() as s:
        run = periods.daily_run(s, PLATFORM, PILOT, dt.date(2020, 5, 19))  # 5 days: removed
        assert (run.removed, run.aged_out, run.written_off) == ((failing,), (), 59)
        assert service.member_row(s, recovering).status == "active"
        assert [c.deduction for c in periods.member_charges(s, failing)] == ["written_off"]
        assert [c.deduction for c in periods.member_charges(s, recovering)] == ["recovered"]
    assert postings(store, f"{PILOT}:write-off:{failing}:2020-05-07") == [
        (f"{PILOT}:2020:mutual_aid_pool", 59), (f"{PILOT}:2020:mutual_aid_member_charges", -59)]
    assert pool_of(store) == 1 - 59


def test_year_cap_counted_across_periods_and_reset_in_january(sqlite_store: Store, tmp_path: Path) -> None:
    pool = Pool(sqlite_store, tmp_path, year_cap="1.00")
    members = [pool.join() for _ in range(10)]
    pool.approved_on_notice(members[0])
    assert pool.apportion(MAY7)["per_member_charge"] == "0.65"
    pool.approved_on_notice(members[1], diagnosed=dt.date(2020, 5, 10), noticed=dt.date(2020, 5, 15))
    second = pool.apportion(MAY21)  # (6.48 - 0.02) / 10 -> 0.65 each, but only 0.35 left under the 1.00 cap
    assert (second["per_member_charge"], second["collected"], second["year_cap_shortfall"]) == ("0.65", "3.50", "3.00")
    assert second["members_at_year_cap"] == 10
    third = pool.apportion(dt.date(2020, 6, 7))  # the 2.96 owed cannot be collected this year
    assert (third["surplus_in"], third["collected"], third["year_cap_shortfall"]) == ("-2.96", "0.00", "3.00")
    january = pool.apportion(dt.date(2021, 1, 7))
    assert (january["per_member_charge"], january["collected"], january["surplus_out"]) == ("0.30", "3.00", "0.04")
    with sqlite_store.transaction() as s:
        assert [(c.charge, c.charged_this_year) for c in periods.member_charges(s, members[5])] == \
            [(65, 65), (35, 100), (0, 100), (30, 30)]


def test_apportionment_is_idempotent_and_in_period_order(store: Store, tmp_path: Path) -> None:
    pool = Pool(store, tmp_path)
    members = [pool.join() for _ in range(3)]
    pool.approved_on_notice(members[0])
    first = pool.apportion(MAY7)
    with store.transaction() as s:
        entries = s.execute(select(func.count()).select_from(JournalEntry)).scalar_one()
    assert pool.apportion(MAY7) == first
    with store.transaction() as s:
        assert s.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == entries
        assert s.execute(select(func.count()).select_from(MutualAidPeriod)).scalar_one() == 1
    assert len(list((pool.data / "mutual-aid" / PILOT).iterdir())) == 1
    pool.apportion(dt.date(2020, 6, 7))
    assert code_of(store, periods.apportion, PLATFORM, PILOT, MAY21, pool.data) == "mutual_aid.period_out_of_order"
    assert code_of(store, periods.apportion, PLATFORM, PILOT, dt.date(2020, 6, 8), pool.data) == "mutual_aid.not_a_notice_day"


def test_apportionment_rolls_back_entirely_on_error(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pool = Pool(store, tmp_path)
    members = [pool.join() for _ in range(3)]
    claim = pool.approved_on_notice(members[0])
    real_post = ledger.post
    calls: list[str] = []

    def failing_post(*args: object, **kwargs: object) -> int | None:
        calls.append(str(args[3]))
        if len(calls) == 3:  # the aid entry, after the charges and the fee were posted
            raise Rejected("ledger unavailable", code="test.ledger_down")
        return real_post(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "post", failing_post)
    assert code_of(store, periods.apportion, PLATFORM, PILOT, MAY7, pool.data) == "test.ledger_down"
    with store.transaction() as s:
        assert s.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(MutualAidPeriod)).scalar_one() == 0
        assert s.get(MutualAidClaim, claim).apportioned_in is None  # type: ignore[union-attr]
    assert not any((pool.data / "mutual-aid" / PILOT).iterdir())  # the charges dataset was removed
    monkeypatch.setattr(ledger, "post", real_post)
    summary = pool.apportion(MAY7)  # 6.48 over 3 members is 2.16 each: the 1.00 case cap binds
    assert (summary["collected"], summary["case_cap_shortfall"]) == ("3.00", "3.48")
