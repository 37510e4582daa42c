"""The store's tables of voluntary products in operations (issue 20): policies sold, the premium parts they owe
(contributions, paid through the contributions' channels and callback) and the benefits claimed under them.
Made by the migrations, like every table (yibao.ops.store)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.ops.store import Base, UtcDateTime


class PolicyRow(Base):
    """A policy of a product held by a person: `pending` until the member's part of the premium is paid, then
    `active` from `start_date` (the later of the requested start and the day after payment) to `end_date`
    inclusive; `cancelled` (never in force) or `lapsed` (ended early, from `end_date`)."""

    __tablename__ = "policies"
    __table_args__ = (Index("ix_policies_person_product", "person_id", "product"),
                      Index("ix_policies_product_region_year", "product", "region", "year"))
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"))
    product: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"))  # the person's region: the books' region
    year: Mapped[int]  # the product year: the books' year
    requested_start: Mapped[date] = mapped_column(Date)
    start_date: Mapped[date] = mapped_column(Date)  # cover from (moved to the day after payment if later)
    end_date: Mapped[date] = mapped_column(Date)  # inclusive
    premium: Mapped[int] = mapped_column(BigInteger)  # fen, the whole premium (member + government + employer)
    status: Mapped[str] = mapped_column(String(16))  # pending | active | cancelled | lapsed
    ended_on: Mapped[date | None] = mapped_column(Date)  # lapsed: the last day in force
    declared: Mapped[dict[str, Any]] = mapped_column(JSON)  # health declaration {pre_existing, conditions}
    sold_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sold_by: Mapped[str] = mapped_column(String(64))
    sale_day: Mapped[date] = mapped_column(Date)  # the day of sale (inside the product's window)


class PolicyPremium(Base):
    """A premium part owed for a policy: the contribution (source `premium_member|premium_government|
    premium_employer`) that is paid through the channels like any contribution."""

    __tablename__ = "policy_premiums"
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id"), primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)


class BenefitClaim(Base):
    """A benefit claimed under a policy after the event: a settled claim's indemnity, a stay's daily allowance or an
    event's lump sum. `submitted` (the amount is owed to the member), then `paid` through a channel."""

    __tablename__ = "benefit_claims"
    # a lump sum is paid once per policy, a settled bill claimed once per policy (NULLs never collide)
    __table_args__ = (Index("ix_benefit_claims_policy", "policy_id", "kind"),
                      UniqueConstraint("policy_id", "lump_sum"), UniqueConstraint("policy_id", "claim_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    kind: Mapped[str] = mapped_column(String(32))  # indemnity | daily_allowance | lump_sum
    lump_sum: Mapped[str | None] = mapped_column(String(64))  # the product's lump-sum id
    claim_id: Mapped[str | None] = mapped_column(ForeignKey("claims.claim_id"))  # the settled bill (indemnity)
    day: Mapped[date] = mapped_column(Date)  # event day, admission, or the bill's service date
    until: Mapped[date | None] = mapped_column(Date)  # discharge (daily allowance)
    days: Mapped[int] = mapped_column(default=0)  # days paid (daily allowance)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen owed to the member
    status: Mapped[str] = mapped_column(String(16))  # submitted | paid
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)  # the event (kind, diagnosis, grade)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    channel: Mapped[str | None] = mapped_column(String(16))
    payment_reference: Mapped[str | None] = mapped_column(String(128), unique=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
