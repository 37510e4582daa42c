"""The store's tables of the audit's follow-up: the claim review queue and the Twin check's cases. Made by the
migrations, like every table (yibao.ops.store)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.ops.store import Base

# --- claim review queue (issue 19): flags of `yibao audit claims` awaiting a reviewer's decision ----------------


class ReviewFlag(Base):
    """A claim flagged by screening for one reason (yibao.audit.screening.Reason) and its review decision."""

    __tablename__ = "review_flags"
    __table_args__ = (
        UniqueConstraint("claim_id", "reason"),
        Index("ix_review_flags_status_region", "status", "region"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id"))
    reason: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)  # the rule's score, not money
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    region: Mapped[str] = mapped_column(String(64))  # the claim's region: officers see their regions' flags
    run: Mapped[str] = mapped_column(String(64))  # the screening run that raised it (its day range)
    flagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # yibao.ops.review_queue.FlagStatus
    sampled: Mapped[bool] = mapped_column(Boolean, default=False)  # drawn for review by `sample`
    decision_reason: Mapped[str | None] = mapped_column(String(400))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- the Twin check's cases (issue 19): an officer's case per flagged employer (yibao.ops.twin_cases) --------------


class TwinCase(Base):
    """A flagged employer's case for a year: its flagged workers and arrears, then the inspection's outcome."""

    __tablename__ = "twin_cases"
    __table_args__ = (UniqueConstraint("employer_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"))
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    year: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # yibao.ops.twin_cases.CaseStatus
    arrears: Mapped[int] = mapped_column(BigInteger)  # contributions due on the shortfalls, fen
    late_fee: Mapped[int] = mapped_column(BigInteger)  # fen
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_by: Mapped[str] = mapped_column(String(64))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(64))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))  # the receivable, when confirmed


class TwinCaseWorker(Base):
    """One flagged observation of a case, as the Twin check wrote it, and the person enrolled from it."""

    __tablename__ = "twin_case_workers"
    __table_args__ = (UniqueConstraint("case_id", "inspection_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("twin_cases.id"), index=True)
    inspection_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # uninsured_worker | under_declared_base
    person_id: Mapped[str | None] = mapped_column(String(64))  # the registry person matched, if any
    ric: Mapped[str] = mapped_column(String(18), default="")  # as observed (may be missing or invalid)
    name: Mapped[str] = mapped_column(String(200), default="")
    monthly_wage: Mapped[int] = mapped_column(BigInteger)
    monthly_shortfall: Mapped[int] = mapped_column(BigInteger)
    months: Mapped[int]
    contributions_due: Mapped[int] = mapped_column(BigInteger)
    late_fee: Mapped[int] = mapped_column(BigInteger)
    enrolled_person_id: Mapped[str | None] = mapped_column(ForeignKey("persons.person_id"))
