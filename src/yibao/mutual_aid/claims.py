"""The claims workflow as a state machine over frozen records.

filed → investigated (third-party findings) → reviewed: approved → public notice (masked identity)
→ paid; or reviewed: rejected / objected to on notice → disputed → member jury → paid or denied.
Each step checks the state it starts from and returns a new `Claim` whose `history` records
who did what and when (auditable); a wrong step raises `mutual_aid.claim_bad_transition`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from yibao.core.money import Fen, format_yuan
from yibao.mutual_aid.apportion import ApprovedCase
from yibao.mutual_aid.disclosure import mask_name
from yibao.mutual_aid.errors import MutualAidError
from yibao.mutual_aid.jury import Jury, Outcome, Verdict
from yibao.mutual_aid.membership import Member, MemberStatus
from yibao.mutual_aid.plan import Plan


class ClaimStatus(StrEnum):
    FILED = "filed"
    INVESTIGATED = "investigated"
    APPROVED = "approved"  # reviewed and approved, not yet on public notice
    REJECTED = "rejected"  # reviewed and rejected; the claimant may dispute
    NOTICED = "noticed"  # on public notice; members may object
    DISPUTED = "disputed"  # before a member jury
    PAID = "paid"
    DENIED = "denied"  # final refusal (by review without dispute, or by the jury)


@dataclass(frozen=True, slots=True)
class Step:
    """One line of a claim's audit trail."""

    day: dt.date
    actor: str
    status: ClaimStatus
    note: str


@dataclass(frozen=True, slots=True)
class Findings:
    investigator: str
    summary: str
    supports_claim: bool


@dataclass(frozen=True, slots=True)
class Claim:
    claim_id: str
    member_id: str
    member_name: str
    age_at_diagnosis: int
    illness_code: str
    illness_name: str
    diagnosis_date: dt.date
    amount: Fen
    status: ClaimStatus
    history: tuple[Step, ...]
    findings: Findings | None = None
    jury: Jury | None = None

    def as_case(self) -> ApprovedCase:
        """The claim as the apportionment sees it (only once approved for payment)."""
        if self.status not in (ClaimStatus.NOTICED, ClaimStatus.PAID):
            raise MutualAidError(f"claim {self.claim_id} is {self.status.value}, not approved", code="mutual_aid.claim_not_approved")
        return ApprovedCase(self.claim_id, self.member_name, self.age_at_diagnosis, self.illness_code,
                            self.illness_name, self.diagnosis_date, self.amount)


@dataclass(frozen=True, slots=True)
class PublicNotice:
    """What every member sees on the notice board: identity masked."""

    claim_id: str
    member: str
    age: int
    illness: str
    diagnosis_date: dt.date
    amount: str
    investigation: str


def _move(claim: Claim, allowed: tuple[ClaimStatus, ...], to: ClaimStatus, day: dt.date, actor: str, note: str, *,
          findings: Findings | None = None, jury: Jury | None = None) -> Claim:
    if claim.status not in allowed:
        raise MutualAidError(
            f"claim {claim.claim_id} is {claim.status.value}; moving to {to.value} needs "
            f"{' or '.join(s.value for s in allowed)}",
            code="mutual_aid.claim_bad_transition",
        )
    return dataclasses.replace(claim, status=to, history=(*claim.history, Step(day, actor, to, note)),
                               findings=findings or claim.findings, jury=jury or claim.jury)


def file_claim(plan: Plan, member: Member, *, claim_id: str, illness_code: str, diagnosis_date: dt.date,
               day: dt.date) -> Claim:
    """A protected member files for a covered illness; the lump sum follows the age at diagnosis."""
    if member.status is not MemberStatus.ACTIVE:
        raise MutualAidError(f"member {member.member_id} is {member.status.value}", code="mutual_aid.not_active")
    if diagnosis_date > day:
        raise MutualAidError("a diagnosis date cannot be in the future", code="mutual_aid.bad_date")
    if member.in_waiting_period(diagnosis_date) or diagnosis_date < member.joined_on:
        raise MutualAidError(
            f"diagnosed on {diagnosis_date}, before protection starts on {member.protection_start}: "
            "membership ends with a refund instead (membership.end_in_waiting_period)",
            code="mutual_aid.in_waiting_period",
        )
    illness = plan.covered_illness(illness_code)
    if illness is None:
        raise MutualAidError(f"{illness_code} is not an illness covered by {plan.name}", code="mutual_aid.not_covered")
    age = member.age_on(diagnosis_date)
    amount = plan.payout_at_age(age)
    if amount is None:
        raise MutualAidError(f"no payout at age {age} under {plan.name}", code="mutual_aid.age_not_covered")
    return Claim(
        claim_id=claim_id,
        member_id=member.member_id,
        member_name=member.name,
        age_at_diagnosis=age,
        illness_code=illness_code,
        illness_name=illness.name,
        diagnosis_date=diagnosis_date,
        amount=amount,
        status=ClaimStatus.FILED,
        history=(Step(day, member.member_id, ClaimStatus.FILED, f"{illness.name}, {format_yuan(amount)} yuan"),),
    )


def investigate(claim: Claim, findings: Findings, day: dt.date) -> Claim:
    verdict = "supports" if findings.supports_claim else "does not support"
    return _move(claim, (ClaimStatus.FILED,), ClaimStatus.INVESTIGATED, day, findings.investigator,
                 f"{verdict} the claim: {findings.summary}", findings=findings)


def review(claim: Claim, *, approve: bool, reviewer: str, reason: str, day: dt.date) -> Claim:
    to = ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED
    return _move(claim, (ClaimStatus.INVESTIGATED,), to, day, reviewer, reason)


def notice_of(claim: Claim) -> PublicNotice:
    """The claim as the notice board shows it: identity masked, the investigation's summary."""
    findings = claim.findings.summary if claim.findings else ""
    return PublicNotice(claim.claim_id, mask_name(claim.member_name), claim.age_at_diagnosis, claim.illness_name,
                        claim.diagnosis_date, format_yuan(claim.amount), findings)


def publish_notice(claim: Claim, day: dt.date, operator: str = "platform") -> tuple[Claim, PublicNotice]:
    noticed = _move(claim, (ClaimStatus.APPROVED,), ClaimStatus.NOTICED, day, operator, "public notice")
    return noticed, notice_of(claim)


def dispute(claim: Claim, jury: Jury, *, raised_by: str, reason: str, day: dt.date) -> Claim:
    """The claimant disputes a rejection, or a member objects to a claim on notice: a jury decides."""
    if claim.status is ClaimStatus.REJECTED and raised_by != claim.member_id:
        raise MutualAidError("only the claimant may dispute a rejection", code="mutual_aid.not_claimant")
    if jury.claim_id != claim.claim_id:
        raise MutualAidError("the jury is for another claim", code="mutual_aid.wrong_jury")
    return _move(claim, (ClaimStatus.REJECTED, ClaimStatus.NOTICED), ClaimStatus.DISPUTED, day, raised_by, reason,
                 jury=jury)


def decide(claim: Claim, jury: Jury, verdict: Verdict, day: dt.date) -> Claim:
    """Apply a closed jury's verdict: to pay puts the claim (back) on notice, to refuse denies it."""
    if jury.closed_on is None or verdict.outcome is Outcome.INVALID:
        raise MutualAidError("the jury has not reached a valid verdict", code="mutual_aid.jury_not_valid")
    note = f"verdict: {verdict.votes_to_pay} to pay, {verdict.votes_to_refuse} to refuse"
    to = ClaimStatus.NOTICED if verdict.outcome is Outcome.PAY else ClaimStatus.DENIED
    return _move(claim, (ClaimStatus.DISPUTED,), to, day, "jury", note, jury=jury)


def deny(claim: Claim, day: dt.date, actor: str = "platform") -> Claim:
    """A rejection the claimant did not dispute in time becomes final."""
    return _move(claim, (ClaimStatus.REJECTED,), ClaimStatus.DENIED, day, actor, "no dispute")


def pay(claim: Claim, day: dt.date, operator: str = "platform") -> Claim:
    return _move(claim, (ClaimStatus.NOTICED,), ClaimStatus.PAID, day, operator, f"paid {format_yuan(claim.amount)} yuan")
