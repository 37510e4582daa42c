"""The store's tables of online mutual aid (yibao.mutual_aid): plans in force, members, claims, juries, periods,
disclosures. Made by the migrations, like every table (yibao.ops.store)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.ops.store import Base, UtcDateTime

# --- online mutual aid (issue 5): plans in force, members, claims, juries, periods, disclosures ------------------
# The rules are pure (yibao.mutual_aid); these rows persist their records. A period's per-member charges are a
# Parquet dataset (`MutualAidPeriod.charges_path`), never one row per member.


class MutualAidPlan(Base):
    """A mutual-aid plan in force on this platform; `id` is the plan's name (e.g. xianghubao-2020/senior)."""

    __tablename__ = "mutual_aid_plans"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(400))  # a built-in plan's name, or `uploaded` (see definition)
    definition: Mapped[str | None] = mapped_column(Text)  # the YAML text of a plan uploaded as such
    variant: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str]
    in_force_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MutualAidMember(Base):
    """One membership of a registered person in a plan (rejoining after leaving is a new membership)."""

    __tablename__ = "mutual_aid_members"
    __table_args__ = (
        Index("ix_mutual_aid_members_plan_status", "plan_id", "status"),
        Index(
            "uq_mutual_aid_members_active_person", "plan_id", "person_id", unique=True,
            sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("mutual_aid_plans.id"))
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"), index=True)
    name: Mapped[str]
    birth_date: Mapped[date] = mapped_column(Date)
    joined_on: Mapped[date] = mapped_column(Date)
    protection_start: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # yibao.mutual_aid.membership.MemberStatus
    ended_on: Mapped[date | None] = mapped_column(Date)
    credit_score: Mapped[int]
    credit_threshold: Mapped[int]
    deduction_failed_since: Mapped[date | None] = mapped_column(Date)


class MutualAidDeductionFailure(Base):
    """A period's deduction that failed for a member: recovered on a retry, or written off when they are removed."""

    __tablename__ = "mutual_aid_deduction_failures"
    __table_args__ = (UniqueConstraint("member_id", "notice_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("mutual_aid_members.id"))
    notice_date: Mapped[date] = mapped_column(Date)
    failed_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    resolution: Mapped[str | None] = mapped_column(String(16))  # recovered | written_off
    resolved_on: Mapped[date | None] = mapped_column(Date)


class MutualAidClaim(Base):
    """A claim for the lump sum and its workflow state; `history` is the pure record's audit trail."""

    __tablename__ = "mutual_aid_claims"
    __table_args__ = (Index("ix_mutual_aid_claims_plan_status", "plan_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("mutual_aid_plans.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("mutual_aid_members.id"), index=True)
    member_name: Mapped[str]
    age_at_diagnosis: Mapped[int]
    illness_code: Mapped[str] = mapped_column(String(16))
    illness_name: Mapped[str]
    diagnosis_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # yibao.mutual_aid.claims.ClaimStatus
    filed_on: Mapped[date] = mapped_column(Date)
    findings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    notice: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the public notice as published (identity masked)
    noticed_on: Mapped[date | None] = mapped_column(Date)
    apportioned_in: Mapped[date | None] = mapped_column(Date)  # notice date of the period that funded it
    paid_on: Mapped[date | None] = mapped_column(Date)


class MutualAidJury(Base):
    """A member jury for a disputed claim, with the plan's jury figures as they were when it opened."""

    __tablename__ = "mutual_aid_juries"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("mutual_aid_claims.id"), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    raised_by: Mapped[int] = mapped_column(ForeignKey("mutual_aid_members.id"))
    reason: Mapped[str] = mapped_column(String(400))
    seats: Mapped[int]
    seed: Mapped[int] = mapped_column(BigInteger)  # the draw is reproducible from it
    min_votes: Mapped[int]
    majority: Mapped[int]  # parts per million
    juror_min_age: Mapped[int]
    juror_min_membership_days: Mapped[int]
    closed_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(16))
    votes_to_pay: Mapped[int | None]
    votes_to_refuse: Mapped[int | None]


class MutualAidJuror(Base):
    __tablename__ = "mutual_aid_jurors"
    __table_args__ = (UniqueConstraint("jury_id", "member_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    jury_id: Mapped[int] = mapped_column(ForeignKey("mutual_aid_juries.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("mutual_aid_members.id"), index=True)


class MutualAidVote(Base):
    """One juror's vote; the unique constraint refuses a second vote even from concurrent requests."""

    __tablename__ = "mutual_aid_votes"
    __table_args__ = (UniqueConstraint("jury_id", "member_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    jury_id: Mapped[int] = mapped_column(ForeignKey("mutual_aid_juries.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("mutual_aid_members.id"))
    pays: Mapped[bool] = mapped_column(Boolean)
    day: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))


class MutualAidPeriod(Base):
    """One apportioned period: the summary (yibao.mutual_aid.apportion.ApportionmentSummary, fen) and where the
    per-member charges are (a Parquet dataset: member_id, charge, charged_this_year)."""

    __tablename__ = "mutual_aid_periods"
    __table_args__ = (UniqueConstraint("plan_id", "notice_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("mutual_aid_plans.id"))
    notice_date: Mapped[date] = mapped_column(Date)
    deduction_date: Mapped[date] = mapped_column(Date)
    cases: Mapped[int]
    aid: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    surplus_in: Mapped[int] = mapped_column(BigInteger)
    need: Mapped[int] = mapped_column(BigInteger)
    members: Mapped[int] = mapped_column(BigInteger)
    members_protected: Mapped[int] = mapped_column(BigInteger)
    per_member_charge: Mapped[int] = mapped_column(BigInteger)
    case_cap_shortfall: Mapped[int] = mapped_column(BigInteger)
    year_cap_shortfall: Mapped[int] = mapped_column(BigInteger)
    rounding_difference: Mapped[int] = mapped_column(BigInteger)
    collected: Mapped[int] = mapped_column(BigInteger)
    surplus_out: Mapped[int] = mapped_column(BigInteger)
    members_at_year_cap: Mapped[int] = mapped_column(BigInteger)
    cohorts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    charges_path: Mapped[str] = mapped_column(String(1000))
    apportioned_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))


class MutualAidDisclosure(Base):
    """A period's public disclosure as published (公示): totals and cases with masked identity."""

    __tablename__ = "mutual_aid_disclosures"
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("mutual_aid_periods.id"), unique=True)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


# --- a plan's closure (issue 20): the regulatory decision, the final period, the conversion offer -------------


class MutualAidClosure(Base):
    """A plan's closure (yibao.mutual_aid.closure): decided (closing), then closed with its public disclosure."""

    __tablename__ = "mutual_aid_closures"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("mutual_aid_plans.id"), unique=True)
    decided_on: Mapped[date] = mapped_column(Date)  # no new members or claims from this day
    reference: Mapped[str] = mapped_column(String(400))
    text_en: Mapped[str] = mapped_column(Text)
    text_zh: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(1000))
    offer: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # closure.ConversionOffer.as_json()
    status: Mapped[str] = mapped_column(String(16))  # closure.ClosureStatus
    final_notice_date: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    disclosure: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the closure disclosure as published (zh + en)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))


class MutualAidConversion(Base):
    """A member's answer to the conversion offer; an acceptance holds the policy (premium paid by the platform)."""

    __tablename__ = "mutual_aid_conversions"
    id: Mapped[int] = mapped_column(primary_key=True)
    closure_id: Mapped[int] = mapped_column(ForeignKey("mutual_aid_closures.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("mutual_aid_members.id"), unique=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"))
    accepted: Mapped[bool] = mapped_column(Boolean)
    day: Mapped[date] = mapped_column(Date)
    policy_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    product: Mapped[str | None] = mapped_column(String(64))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    premium: Mapped[int] = mapped_column(BigInteger)  # fen; paid by the platform
    actor: Mapped[str] = mapped_column(String(64))
