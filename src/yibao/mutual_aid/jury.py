"""The member jury (评审团) for a disputed claim: eligible jurors, one vote each, a valid majority decides.

Rules (相互宝评审团规则 2019, plan `jury`): jurors are members aged at least 18 who have been members
for at least 30 days; each votes once; the verdict is valid with at least `min_votes`
votes and pays when the share voting to pay is *above* the majority (so a tie refuses).
Every vote is kept in the record, so the verdict can be recounted by an auditor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from yibao.core.money import RATE_SCALE, RatePpm
from yibao.mutual_aid.errors import MutualAidError
from yibao.mutual_aid.membership import Member
from yibao.mutual_aid.plan import Plan


class Outcome(StrEnum):
    PAY = "pay"
    REFUSE = "refuse"
    INVALID = "invalid"  # fewer votes than the minimum


@dataclass(frozen=True, slots=True)
class Vote:
    juror_id: str
    pays: bool
    day: dt.date


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    votes_to_pay: int
    votes_to_refuse: int


@dataclass(frozen=True, slots=True)
class Jury:
    claim_id: str
    claimant_id: str
    opened_on: dt.date
    min_votes: int
    majority: RatePpm
    juror_min_age: int
    juror_min_membership_days: int
    votes: tuple[Vote, ...] = ()
    closed_on: dt.date | None = None

    def verdict(self) -> Verdict:
        to_pay = sum(1 for v in self.votes if v.pays)
        total = len(self.votes)
        if total < self.min_votes:
            return Verdict(Outcome.INVALID, to_pay, total - to_pay)
        pays = to_pay * RATE_SCALE > self.majority * total  # strictly more than the majority share
        return Verdict(Outcome.PAY if pays else Outcome.REFUSE, to_pay, total - to_pay)


def open_jury(plan: Plan, claim_id: str, claimant_id: str, day: dt.date) -> Jury:
    return Jury(
        claim_id=claim_id,
        claimant_id=claimant_id,
        opened_on=day,
        min_votes=plan.jury_min_votes,
        majority=plan.jury_majority,
        juror_min_age=plan.juror_min_age,
        juror_min_membership_days=plan.juror_min_membership_days,
    )


def ineligibility(jury: Jury, juror: Member, day: dt.date) -> str | None:
    """Why `juror` may not sit on this jury on `day`, or None."""
    if juror.member_id == jury.claimant_id:
        return "the claimant cannot judge their own claim"
    if juror.ended_on is not None:
        return f"{juror.member_id} is no longer a member"
    if juror.age_on(day) < jury.juror_min_age:
        return f"{juror.member_id} is under {jury.juror_min_age}"
    if (day - juror.joined_on).days < jury.juror_min_membership_days:
        return f"{juror.member_id} has been a member fewer than {jury.juror_min_membership_days} days"
    return None


def cast_vote(jury: Jury, juror: Member, pays: bool, day: dt.date) -> Jury:
    """Record one juror's vote; refuses closed juries, ineligible jurors and second votes."""
    if jury.closed_on is not None:
        raise MutualAidError(f"the jury for claim {jury.claim_id} closed on {jury.closed_on}", code="mutual_aid.jury_closed")
    reason = ineligibility(jury, juror, day)
    if reason is not None:
        raise MutualAidError(reason, code="mutual_aid.juror_ineligible")
    if any(v.juror_id == juror.member_id for v in jury.votes):
        raise MutualAidError(f"{juror.member_id} has already voted on claim {jury.claim_id}", code="mutual_aid.double_vote")
    return dataclasses.replace(jury, votes=(*jury.votes, Vote(juror.member_id, pays, day)))


def close(jury: Jury, day: dt.date) -> tuple[Jury, Verdict]:
    """Close voting; an invalid verdict (too few votes) is refused so the jury can run longer."""
    verdict = jury.verdict()
    if verdict.outcome is Outcome.INVALID:
        raise MutualAidError(
            f"only {len(jury.votes)} votes for claim {jury.claim_id}; at least {jury.min_votes} are needed",
            code="mutual_aid.jury_not_valid",
        )
    return dataclasses.replace(jury, closed_on=day), verdict


def eligible_jurors(
    plan: Plan, birth_days: npt.NDArray[np.int32], joined_days: npt.NDArray[np.int32], active: npt.NDArray[np.bool_],
    day_number: int,
) -> npt.NDArray[np.bool_]:
    """Column-wise eligibility over all members (day numbers): ≥ 18 years old (by 365.25-day years, conservative
    by a day at most around birthdays — the scalar `ineligibility` check is final when the vote is cast)."""
    old_enough = (day_number - birth_days) >= int(plan.juror_min_age * 365.25) + 1
    long_enough = (day_number - joined_days) >= plan.juror_min_membership_days
    return active & old_enough & long_enough


def draw_jurors(eligible: npt.NDArray[np.bool_], count: int, seed: int) -> npt.NDArray[np.int64]:
    """Positions of `count` jurors drawn without replacement from the eligible members (reproducible by seed)."""
    candidates = np.flatnonzero(eligible)
    if len(candidates) < count:
        raise MutualAidError(f"only {len(candidates)} eligible jurors for {count} seats", code="mutual_aid.too_few_jurors")
    return np.sort(np.random.default_rng(seed).choice(candidates, size=count, replace=False)).astype(np.int64)
