"""Membership, claims and jury as pure records: every refusal has a stable code."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.mutual_aid import claims, jury, membership
from yibao.mutual_aid.calendar import day_number, period_of
from yibao.mutual_aid.errors import MutualAidError
from yibao.mutual_aid.membership import EventKind, HealthDeclaration, MemberStatus
from yibao.mutual_aid.plan import load_plan

PLAN = load_plan("xianghubao-2020")
CLEAN = HealthDeclaration(no_listed_illness=True, no_current_treatment=True)
JOIN_DAY = dt.date(2020, 1, 10)


def new_member(member_id: str = "m1", birth: dt.date = dt.date(1990, 5, 1), day: dt.date = JOIN_DAY,
               name: str = "王小明") -> membership.Member:
    member, events = membership.join(PLAN, member_id=member_id, name=name, birth_date=birth, day=day,
                                     declaration=CLEAN, credit_score=700)
    assert [e.kind for e in events] == [EventKind.JOINED]
    return member


def code_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(MutualAidError) as err:
        call(*args, **kwargs)  # type: ignore[operator]
    return err.value.code


def test_join_gates() -> None:
    member = new_member()
    assert member.protection_start == dt.date(2020, 4, 9)  # 90 days
    assert member.in_waiting_period(dt.date(2020, 4, 8)) and member.is_protected(dt.date(2020, 4, 9))
    kwargs = {"member_id": "x", "name": "x", "day": JOIN_DAY, "credit_score": 700}
    assert code_of(membership.join, PLAN, birth_date=dt.date(1960, 1, 1), declaration=CLEAN, **kwargs) \
        == "mutual_aid.age_not_eligible"
    assert code_of(membership.join, PLAN, birth_date=JOIN_DAY - dt.timedelta(days=10), declaration=CLEAN, **kwargs) \
        == "mutual_aid.age_not_eligible"
    assert code_of(membership.join, PLAN, birth_date=dt.date(1990, 1, 1),
                   declaration=HealthDeclaration(False, True), **kwargs) == "mutual_aid.health_declaration"
    kwargs["credit_score"] = 600
    assert code_of(membership.join, PLAN, birth_date=dt.date(1990, 1, 1), declaration=CLEAN, **kwargs) \
        == "mutual_aid.credit_gate"
    # the caller sets the threshold
    membership.join(PLAN, birth_date=dt.date(1990, 1, 1), declaration=CLEAN, credit_threshold=550, **kwargs)


def test_charges_once_per_period_and_within_year_cap() -> None:
    member = new_member()
    period = period_of(PLAN, dt.date(2020, 5, 7))
    member, events = membership.charge(PLAN, member, period, 3_50)
    assert (member.charged_this_year, events[0].amount) == (3_50, 3_50)
    assert code_of(membership.charge, PLAN, member, period, 1) == "mutual_aid.already_charged"
    later = period_of(PLAN, dt.date(2020, 5, 21))
    assert code_of(membership.charge, PLAN, member, later, 188_00 - 3_50 + 1) == "mutual_aid.over_year_cap"
    member, _ = membership.charge(PLAN, member, later, 188_00 - 3_50)
    assert code_of(membership.charge, PLAN, member, period_of(PLAN, dt.date(2020, 4, 21)), 0) \
        == "mutual_aid.period_out_of_order"
    next_year = period_of(PLAN, dt.date(2021, 1, 7))
    member, _ = membership.charge(PLAN, member, next_year, 5_00)  # the yearly cap starts again
    assert (member.charged_this_year, member.paid_total) == (5_00, 193_00)


def test_failed_deduction_retried_five_days_then_removed() -> None:
    member = new_member()
    period = period_of(PLAN, dt.date(2020, 5, 7))
    member, _ = membership.deduction_failed(member, period, dt.date(2020, 5, 14))
    assert membership.settle_retries(PLAN, member, dt.date(2020, 5, 18))[0].status is MemberStatus.ACTIVE
    removed, events = membership.settle_retries(PLAN, member, dt.date(2020, 5, 19))
    assert removed.status is MemberStatus.REMOVED and events[0].kind is EventKind.REMOVED
    # a successful deduction inside the retry days clears the failure
    recovered, _ = membership.charge(PLAN, member, period, 2_00)
    assert membership.settle_retries(PLAN, recovered, dt.date(2020, 6, 1))[0].status is MemberStatus.ACTIVE


def test_leave_and_age_out() -> None:
    member = new_member(birth=dt.date(1960, 3, 1), day=dt.date(2020, 1, 10))
    assert membership.age_out(PLAN, member, dt.date(2020, 2, 29))[0].status is MemberStatus.ACTIVE
    aged, events = membership.age_out(PLAN, member, dt.date(2020, 3, 1))
    assert aged.status is MemberStatus.AGED_OUT and events[0].detail == "age 60"
    left, _ = membership.leave(new_member(), dt.date(2020, 2, 1))
    assert left.status is MemberStatus.LEFT
    assert code_of(membership.leave, left, dt.date(2020, 2, 2)) == "mutual_aid.not_active"


def test_diagnosis_in_waiting_period_ends_with_refund() -> None:
    member = new_member()
    assert code_of(claims.file_claim, PLAN, member, claim_id="c1", illness_code="C50.9",
                   diagnosis_date=dt.date(2020, 3, 1), day=dt.date(2020, 5, 1)) == "mutual_aid.in_waiting_period"
    member, _ = membership.charge(PLAN, member, period_of(PLAN, dt.date(2020, 4, 21)), 4_20)
    ended, events = membership.end_in_waiting_period(member, dt.date(2020, 3, 1), dt.date(2020, 5, 1))
    assert ended.status is MemberStatus.ENDED_IN_WAITING
    assert [(e.kind, e.amount) for e in events] == [(EventKind.ENDED_IN_WAITING, 0), (EventKind.REFUNDED, 4_20)]


def approved_claim(member: membership.Member, age_birth: dt.date | None = None) -> claims.Claim:
    claim = claims.file_claim(PLAN, member, claim_id="c1", illness_code="I21.0",
                              diagnosis_date=dt.date(2020, 6, 1), day=dt.date(2020, 6, 5))
    claim = claims.investigate(claim, claims.Findings("inv-co", "hospital records confirm AMI", True),
                               dt.date(2020, 6, 10))
    return claims.review(claim, approve=True, reviewer="reviewer-1", reason="meets the definition",
                         day=dt.date(2020, 6, 12))


def test_claim_happy_path_with_masked_notice() -> None:
    member = new_member()
    claim = approved_claim(member)
    assert claim.amount == 300_000_00 and claim.age_at_diagnosis == 30
    claim, notice = claims.publish_notice(claim, dt.date(2020, 6, 21))
    assert notice.member == "王*明" and notice.amount == "300000.00"
    assert claim.as_case().aid == 300_000_00
    claim = claims.pay(claim, dt.date(2020, 6, 28))
    assert [s.status for s in claim.history] == [claims.ClaimStatus.FILED, claims.ClaimStatus.INVESTIGATED,
                                                 claims.ClaimStatus.APPROVED, claims.ClaimStatus.NOTICED,
                                                 claims.ClaimStatus.PAID]
    older = new_member("m2", birth=dt.date(1975, 1, 1))
    assert approved_claim(older).amount == 100_000_00  # 45 at diagnosis


def test_claim_bad_transitions_and_cover() -> None:
    member = new_member()
    filed = claims.file_claim(PLAN, member, claim_id="c1", illness_code="I21.0",
                              diagnosis_date=dt.date(2020, 6, 1), day=dt.date(2020, 6, 5))
    assert code_of(claims.pay, filed, dt.date(2020, 6, 6)) == "mutual_aid.claim_bad_transition"
    assert code_of(claims.review, filed, approve=True, reviewer="r", reason="", day=dt.date(2020, 6, 6)) \
        == "mutual_aid.claim_bad_transition"
    assert code_of(claims.file_claim, PLAN, member, claim_id="c2", illness_code="J18.9",
                   diagnosis_date=dt.date(2020, 6, 1), day=dt.date(2020, 6, 5)) == "mutual_aid.not_covered"
    assert code_of(filed.as_case) == "mutual_aid.claim_not_approved"


def jurors(n: int, day: dt.date = JOIN_DAY) -> list[membership.Member]:
    return [new_member(f"j{i}", birth=dt.date(1985, 1, 1), day=day) for i in range(n)]


def small_jury_plan(min_votes: int = 3) -> object:
    return dataclasses.replace(PLAN, jury_min_votes=min_votes)


def test_jury_refuses_ineligible_and_double_votes() -> None:
    day = dt.date(2020, 7, 1)
    panel = jury.open_jury(small_jury_plan(), "c1", "m1", day)
    child = new_member("kid", birth=dt.date(2005, 1, 1))
    newcomer = new_member("new", day=dt.date(2020, 6, 15))
    claimant = new_member("m1")
    for juror in (child, newcomer, claimant):
        assert code_of(jury.cast_vote, panel, juror, True, day) == "mutual_aid.juror_ineligible"
    left, _ = membership.leave(new_member("gone"), dt.date(2020, 6, 1))
    assert code_of(jury.cast_vote, panel, left, True, day) == "mutual_aid.juror_ineligible"
    j0 = jurors(1)[0]
    panel = jury.cast_vote(panel, j0, True, day)
    assert code_of(jury.cast_vote, panel, j0, False, day) == "mutual_aid.double_vote"
    assert code_of(jury.close, panel, day) == "mutual_aid.jury_not_valid"  # 1 vote < 3


@pytest.mark.parametrize(("for_", "against", "outcome"), [
    (2, 1, jury.Outcome.PAY), (2, 2, jury.Outcome.REFUSE), (1, 3, jury.Outcome.REFUSE), (1, 1, jury.Outcome.INVALID),
])
def test_jury_thresholds(for_: int, against: int, outcome: jury.Outcome) -> None:
    day = dt.date(2020, 7, 1)
    panel = jury.open_jury(small_jury_plan(3), "c1", "m1", day)
    for i, juror in enumerate(jurors(for_ + against)):
        panel = jury.cast_vote(panel, juror, i < for_, day)
    assert panel.verdict().outcome is outcome


def test_published_jury_minimum_of_1000_votes() -> None:
    day = dt.date(2020, 7, 1)
    panel = jury.open_jury(PLAN, "c1", "m1", day)
    votes = tuple(jury.Vote(f"j{i}", i < 500, day) for i in range(999))
    assert dataclasses.replace(panel, votes=votes).verdict().outcome is jury.Outcome.INVALID
    votes += (jury.Vote("j999", True, day),)
    assert dataclasses.replace(panel, votes=votes).verdict() == jury.Verdict(jury.Outcome.PAY, 501, 499)


def test_disputed_rejection_paid_after_jury() -> None:
    day = dt.date(2020, 7, 1)
    member = new_member()
    claim = claims.file_claim(PLAN, member, claim_id="c1", illness_code="C34.1",
                              diagnosis_date=dt.date(2020, 6, 1), day=dt.date(2020, 6, 5))
    claim = claims.investigate(claim, claims.Findings("inv-co", "stage unclear", False), dt.date(2020, 6, 10))
    claim = claims.review(claim, approve=False, reviewer="r1", reason="not severe enough", day=dt.date(2020, 6, 12))
    panel = jury.open_jury(small_jury_plan(3), claim.claim_id, member.member_id, day)
    assert code_of(claims.dispute, claim, panel, raised_by="someone-else", reason="", day=day) == "mutual_aid.not_claimant"
    claim = claims.dispute(claim, panel, raised_by=member.member_id, reason="pathology report attached", day=day)
    for i, juror in enumerate(jurors(3)):
        panel = jury.cast_vote(panel, juror, i != 0, day)
    closed, verdict = jury.close(panel, dt.date(2020, 7, 5))
    assert code_of(jury.cast_vote, closed, jurors(4)[3], True, day) == "mutual_aid.jury_closed"
    claim = claims.decide(claim, closed, verdict, dt.date(2020, 7, 5))
    claim = claims.pay(claim, dt.date(2020, 7, 14))
    assert claim.status is claims.ClaimStatus.PAID and claim.jury is not None and len(claim.jury.votes) == 3
    assert "2 to pay, 1 to refuse" in claim.history[-2].note


def test_column_wise_juror_draw() -> None:
    day = day_number(dt.date(2020, 7, 1))
    births = np.array([day - 20 * 366, day - 17 * 365, day - 40 * 366, day - 30 * 366], dtype=np.int32)
    joined = np.array([day - 100, day - 100, day - 10, day - 31], dtype=np.int32)
    active = np.array([True, True, True, True])
    eligible = jury.eligible_jurors(PLAN, births, joined, active, day)
    assert eligible.tolist() == [True, False, False, True]
    assert jury.draw_jurors(eligible, 2, seed=1).tolist() == [0, 3]
    assert code_of(jury.draw_jurors, eligible, 3, seed=1) == "mutual_aid.too_few_jurors"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 47), st.integers(0, 90_00)), max_size=40))
def test_never_charged_twice_for_a_period_nor_past_the_year_cap(attempts: list[tuple[int, int]]) -> None:
    from yibao.mutual_aid.calendar import periods_between

    periods = periods_between(PLAN, dt.date(2020, 1, 1), dt.date(2021, 12, 31))
    member = new_member()
    accepted: list[tuple[str, int]] = []
    for index, amount in attempts:
        period = periods[index]
        try:
            member, events = membership.charge(PLAN, member, period, amount)
        except MutualAidError as err:
            assert err.code in {"mutual_aid.already_charged", "mutual_aid.over_year_cap", "mutual_aid.period_out_of_order"}
            continue
        accepted.append((period.key, events[0].amount))
    keys = [key for key, _ in accepted]
    assert len(keys) == len(set(keys))
    for year in (2020, 2021):
        assert sum(amount for key, amount in accepted if key.startswith(str(year))) <= PLAN.year_cap
    assert member.paid_total == sum(amount for _, amount in accepted)
