"""A mutual-aid plan closes (issue 20): the decision stops joining and claiming, the two pending claims are
finished by the workflow, the final period is apportioned among the members at closure, members are removed,
the pool ends at zero, the closure disclosure is published, and members answer the conversion offer — every
figure by hand on the pilot plan (payout 6.00 yuan up to 39 and 3.00 from 40, fee 8%, case cap 1.00 yuan)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_mutual_aid import CLEAN, PILOT, PLATFORM, Pool, migrated_sqlite
from sqlalchemy import select
from test_ops_mutual_aid_service import code_of, postings

from yibao.mutual_aid import closing, periods, service
from yibao.mutual_aid.closure import ConversionOffer, Decision
from yibao.ops import ledger
from yibao.ops.store import Store
from yibao.ops.store_mutual_aid import MutualAidConversion, MutualAidMember

DECIDED = dt.date(2020, 12, 28)
FINAL = dt.date(2021, 1, 21)  # the last notice day; deducted (and closed) on 2021-01-28
CLOSE_DAY = dt.date(2021, 1, 28)
DECISION = Decision(DECIDED, "CBIRC rectification of online mutual aid; operator's notice of 2020-12-28",
                    "The plan stops on 2021-01-28; no new members or claims from today.",
                    "本计划于 2021-01-28 停止运行；即日起不再接受新成员和互助申请。",
                    "https://www.marketscreener.com/ (Reuters, 28 Dec 2021: Ant Group to close Xianghubao)")
OFFER = ConversionOffer("million-medical", policy_start=dt.date(2021, 1, 29), accept_by=dt.date(2021, 3, 31))


def _decide(store: Store, offer: ConversionOffer | None = OFFER) -> None:
    with store.transaction() as s:
        closing.decide(s, PLATFORM, PILOT, DECISION, offer)


def _finish(store: Store, pool: Pool) -> dict[str, object]:
    with store.transaction() as s:
        return closing.closure_view(closing.finish(s, PLATFORM, PILOT, FINAL, CLOSE_DAY, pool.data))


def test_a_closure_with_two_pending_claims_by_hand(store: Store, tmp_path: Path) -> None:
    pool = Pool(store, tmp_path)
    young = pool.join(name="王小明")  # 30 at diagnosis: 6.00
    older = pool.join(birth=dt.date(1980, 1, 1), name="李四")  # 40: 3.00
    others = [pool.join() for _ in range(2)] + [pool.join(birth=dt.date(1980, 1, 1)) for _ in range(2)]
    with store.transaction() as s:  # two claims filed before the decision, both still in the workflow
        a = service.file_claim(s, PLATFORM, young, "C34.1", dt.date(2020, 12, 1), dt.date(2020, 12, 2)).id
        service.investigate(s, PLATFORM, a, "Investigators Ltd", "pathology confirms", True, dt.date(2020, 12, 3))
        b = service.file_claim(s, PLATFORM, older, "I21.0", dt.date(2020, 12, 10), dt.date(2020, 12, 11)).id
    _decide(store)
    later = pool.person()
    assert code_of(store, service.join, PLATFORM, PILOT, later, DECIDED, CLEAN, credit_score=700) \
        == "mutual_aid.plan_closed"
    assert code_of(store, service.file_claim, PLATFORM, others[0], "C50.1", dt.date(2020, 12, 20), DECIDED) \
        == "mutual_aid.plan_closed"
    with store.transaction() as s:  # the day before the decision a person could still join
        assert service.join(s, PLATFORM, PILOT, later, DECIDED - dt.timedelta(days=1), CLEAN, credit_score=700).id
    assert code_of(store, closing.finish, PLATFORM, PILOT, FINAL, CLOSE_DAY, pool.data) == "mutual_aid.claims_pending"
    with store.transaction() as s:  # the workflow finishes them: A approved and noticed, B rejected then denied
        service.review(s, PLATFORM, a, True, "meets the definition", dt.date(2021, 1, 4))
        service.publish_notice(s, PLATFORM, a, dt.date(2021, 1, 5))
        service.investigate(s, PLATFORM, b, "Investigators Ltd", "ECG inconclusive", False, dt.date(2021, 1, 4))
        service.review(s, PLATFORM, b, False, "not confirmed", dt.date(2021, 1, 5))
    assert code_of(store, closing.finish, PLATFORM, PILOT, FINAL, CLOSE_DAY, pool.data) == "mutual_aid.claims_pending"
    with store.transaction() as s:
        service.deny(s, PLATFORM, b, dt.date(2021, 1, 19))

    view = _finish(store, pool)
    # By hand: one case, aid 6.00 + fee 0.48 = 6.48; 6 members protected at 0:00 of 21 January (the 7th joined on
    # 27 December is still waiting: shares nothing); 6.48 / 6 = 1.08 > case cap 1.00: each pays 1.00, collected
    # 6.00, case-cap shortfall 0.48, surplus out -0.48; the platform bears the 0.48 and the pool ends at zero.
    disclosure = view["disclosure"]
    assert isinstance(disclosure, dict)
    final = disclosure["final_period"]
    assert (final["cases"], final["aid"], final["management_fee"], final["members_protected"]) == ("1", "6.00", "0.48", "6")
    assert (final["per_member_charge"], final["collected"], final["case_cap_shortfall"], final["surplus_out"]) \
        == ("1.00", "6.00", "0.48", "-0.48")
    assert disclosure["residual"] == {"kind": "borne_by_platform", "amount": "0.48"}
    assert [(c["claim_id"], c["status"]) for c in disclosure["claims_finished"]] == [(a, "paid"), (b, "denied")]
    assert [c["member"] for c in disclosure["claims_paid"]] == ["王*明"]
    assert disclosure["members_closed"] == 6  # 李四 and the four others, and the one still waiting
    assert "0.48" in disclosure["statement"]["en"] and "平台承担缺口 0.48 元" in disclosure["statement"]["zh"]
    assert "million-medical" in disclosure["statement"]["en"] and "CBIRC" in disclosure["decision"]["reference"]
    with store.transaction() as s:
        statuses = {m.id: m.status for m in s.execute(select(MutualAidMember)).scalars()}
        assert statuses[young] == "paid_out" and {statuses[m] for m in statuses if m != young} == {"closed"}
        assert service.claim_row(s, a).paid_on == CLOSE_DAY
    assert postings(store, f"{PILOT}:closure:residual") == [(f"{PILOT}:2021:mutual_aid_platform_fee", 48),
                                                           (f"{PILOT}:2021:mutual_aid_pool", -48)]
    with store.transaction() as s:
        tb = ledger.trial_balance(s, region=PILOT)
        assert tb.balanced and not ledger.unbalanced_entries(s)
        balances = {r.kind: r.balance for r in tb.rows}
        assert periods.pool_balance(s, PILOT) == 0
    # the pool paid out everything it collected; the platform's 0.48 fee went to the shortfall
    assert balances == {"mutual_aid_member_charges": 0, "mutual_aid_pool": 0, "mutual_aid_platform_fee": 0,
                        "mutual_aid_beneficiary_payable": 0}
    assert code_of(store, closing.finish, PLATFORM, PILOT, FINAL, CLOSE_DAY, pool.data) == "mutual_aid.plan_already_closed"
    assert code_of(store, periods.apportion, PLATFORM, PILOT, dt.date(2021, 2, 7), pool.data) \
        == "mutual_aid.plan_already_closed"  # no period after the final one

    # the conversion offer: a free year of million-medical, the premium of the age band at 2021-01-29 paid by the
    # platform: 王小明 was paid out (not offered); member others[0] (born 1990-05-01, 30) accepts: 126 yuan;
    # others[2] (born 1980-01-01, 41) declines
    assert code_of(store, closing.answer, PLATFORM, young, True, dt.date(2021, 2, 1)) == "mutual_aid.not_a_member"
    with store.transaction() as s:
        yes = closing.conversion_view(closing.answer(s, PLATFORM, others[0], True, dt.date(2021, 2, 1)))
        no = closing.conversion_view(closing.answer(s, PLATFORM, others[2], False, dt.date(2021, 2, 2)))
    assert (yes["product"], yes["start_date"], yes["end_date"], yes["premium"]) == \
        ("million-medical", "2021-01-29", "2022-01-28", "126.00")
    assert yes["policy_id"] == f"{PILOT}:conv-{others[0]}" and yes["premium_paid_by"] == "platform"
    assert (no["accepted"], no["policy_id"], no["premium"]) == (False, None, "0.00")
    assert code_of(store, closing.answer, PLATFORM, others[0], False, dt.date(2021, 2, 3)) == "mutual_aid.already_answered"
    assert code_of(store, closing.answer, PLATFORM, others[1], True, dt.date(2021, 4, 1)) == "mutual_aid.offer_closed"
    assert postings(store, f"{PILOT}:conversion:{others[0]}") == [
        (f"{PILOT}:2021:mutual_aid_platform_fee", 12600), (f"{PILOT}:2021:commercial_insurer:million-medical", -12600)]
    with store.transaction() as s:
        assert [c.member_id for c in closing.conversions(s, PILOT)] == [others[0], others[2]]
        assert ledger.trial_balance(s, region=PILOT).balanced


def test_decision_and_offer_are_checked(store: Store, tmp_path: Path) -> None:
    Pool(store, tmp_path)
    bad_offer = ConversionOffer("no-such-product", dt.date(2021, 1, 29), dt.date(2021, 3, 31))
    assert code_of(store, closing.decide, PLATFORM, PILOT, DECISION, bad_offer) == "product.not_found"
    early = ConversionOffer("million-medical", dt.date(2020, 1, 29), dt.date(2021, 3, 31))
    assert code_of(store, closing.decide, PLATFORM, PILOT, DECISION, early) == "mutual_aid.closure_invalid"
    no_text = Decision(DECIDED, "ref", "text", " ")
    assert code_of(store, closing.decide, PLATFORM, PILOT, no_text, None) == "mutual_aid.closure_invalid"
    assert code_of(store, closing.decide, PLATFORM, "no-plan", DECISION, None) == "mutual_aid.plan_not_found"
    _decide(store, None)
    assert code_of(store, closing.decide, PLATFORM, PILOT, DECISION, None) == "mutual_aid.closure_exists"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=st.integers(2, 9), claims=st.lists(st.sampled_from(["paid", "denied", "waiting"]), min_size=0, max_size=4),
       cap=st.sampled_from(["1.00", "2.00", "188"]), failing=st.integers(0, 2), accept=st.integers(0, 3))
def test_pool_and_fees_balance_with_the_ledger_after_closure(members: int, claims: list[str], cap: str, failing: int,
                                                              accept: int) -> None:
    """Whatever the claims, caps and failed deductions: after closure the pool is zero, the trial balance is balanced,
    the platform's fee account = fees earned − shortfall borne + remainder not (a remainder goes to the members)
    − premiums paid, and the member charges account = collected − paid out − written off − returned."""
    with tempfile.TemporaryDirectory() as folder:
        store = next(migrated_sqlite(Path(folder)))
        pool = Pool(store, Path(folder), case_cap=cap)
        ids = [pool.join(birth=dt.date(1990 - 10 * (i % 2), 5, 1)) for i in range(members)]
        with store.transaction() as s:
            service.join(s, PLATFORM, PILOT, pool.person(), dt.date(2020, 12, 1), CLEAN, credit_score=700)
        if claims:
            pool.apportion(dt.date(2020, 11, 21))  # an earlier period, with nothing to share
        for i, outcome in enumerate(claims[: members]):
            with store.transaction() as s:
                claim = service.file_claim(s, PLATFORM, ids[i], "C34.1", dt.date(2020, 12, 1 + i), dt.date(2020, 12, 2 + i)).id
                service.investigate(s, PLATFORM, claim, "inv", "found", outcome != "denied", dt.date(2020, 12, 10))
                service.review(s, PLATFORM, claim, outcome != "denied", "r", dt.date(2020, 12, 11))
                if outcome == "denied":
                    service.deny(s, PLATFORM, claim, dt.date(2020, 12, 20))
                else:
                    service.publish_notice(s, PLATFORM, claim, dt.date(2020, 12, 12 if outcome == "paid" else 30))
        if claims and claims[0] == "paid":
            pool.apportion(dt.date(2020, 12, 21))
        for member in ids[len(claims):][:failing]:
            with store.transaction() as s:
                last = periods.periods_of(s, PILOT)
                if last and periods.member_charges(s, member) and periods.member_charges(s, member)[-1].charge:
                    periods.record_deduction(s, PLATFORM, member, last[-1].notice_date, last[-1].deduction_date, False)
        _decide(store)
        view = _finish(store, pool)
        for member in ids[members - accept:]:
            with store.transaction() as s:
                if service.member_row(s, member).status == "closed":
                    closing.answer(s, PLATFORM, member, True, dt.date(2021, 2, 1))
        with store.transaction() as s:
            tb = ledger.trial_balance(s, region=PILOT)
            balances: dict[str, int] = {}
            for r in tb.rows:  # one row per account: a kind has one per year
                balances[r.kind] = balances.get(r.kind, 0) + r.balance
            all_periods = periods.periods_of(s, PILOT)
            premiums = sum(c.premium for c in s.execute(select(MutualAidConversion)).scalars())
            paid = sum(c.amount for c in service.claims_of(s, plan_id=PILOT, status="paid"))
            assert tb.balanced and not ledger.unbalanced_entries(s)
            assert periods.pool_balance(s, PILOT) == 0
        disclosure = view["disclosure"]
        assert isinstance(disclosure, dict)
        residual = disclosure["residual"]
        amount = int(residual["amount"].replace(".", ""))
        borne = amount if residual["kind"] == "borne_by_platform" else 0
        returned = amount if residual["kind"] == "returned_to_members" else 0
        fees = sum(p.fee for p in all_periods)
        collected = sum(p.collected for p in all_periods)
        written_off = int(str(disclosure["written_off"]).replace(".", ""))
        # credit-normal accounts are negative in the trial balance (debit − credit)
        assert balances.get("mutual_aid_platform_fee", 0) == -fees + borne + premiums
        assert balances.get("mutual_aid_member_charges", 0) == collected - paid - written_off - returned
        assert balances.get("mutual_aid_pool", 0) == 0 and balances.get("mutual_aid_beneficiary_payable", 0) == 0
        assert balances.get("commercial_insurer", 0) == -premiums
        store.engine.dispose()
