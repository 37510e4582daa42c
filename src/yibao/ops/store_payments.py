"""The hospital-payment tables: monthly statements per facility, payment items, bank batches and their lines,
and the year-end quality-deposit decisions (see `yibao.ops.hospital_payments`).

Money columns are integer fen. A statement is made once per facility and month; each statement (or a deposit
release) makes payment items, per account year; a batch line pays the open items of one facility-year and is
confirmed once, paid or failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.ops.store import Base, UtcDateTime


class PaymentStatement(Base):
    """月度结算单: what the funds owe a facility for the claim entries posted in one month (local time)."""

    __tablename__ = "payment_statements"
    __table_args__ = (UniqueConstraint("region", "facility_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(64), index=True)  # the funds' region
    facility_id: Mapped[str] = mapped_column(ForeignKey("facilities.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    lines: Mapped[dict[str, Any]] = mapped_column()  # {"lines": [{year, fund, amount}], "years": {year: {...}}}
    claims: Mapped[int]  # distinct claims with an entry in the month
    owed: Mapped[int] = mapped_column(BigInteger)  # what the funds owe for the month (fen)
    withheld: Mapped[int] = mapped_column(BigInteger)  # quality deposit withheld (fen)
    payable: Mapped[int] = mapped_column(BigInteger)  # owed − withheld (fen)
    deposit_rate_ppm: Mapped[int]
    made_at: Mapped[datetime] = mapped_column(UtcDateTime())
    made_by: Mapped[str] = mapped_column(String(64))


class PaymentItem(Base):
    """Something to pay a facility on one account year: a statement's payable part, or a released deposit.
    Status open (to be batched), batched (on a line not yet confirmed), paid."""

    __tablename__ = "payment_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(64), index=True)
    facility_id: Mapped[str] = mapped_column(ForeignKey("facilities.id"), index=True)
    year: Mapped[int]  # the payable account's year
    month: Mapped[str] = mapped_column(String(7))  # first month whose batch may pay it
    kind: Mapped[str] = mapped_column(String(16))  # monthly | deposit_release
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("payment_statements.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("payment_lines.id"))


class PaymentBatch(Base):
    __tablename__ = "payment_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64), unique=True)
    region: Mapped[str] = mapped_column(String(64), index=True)
    month: Mapped[str] = mapped_column(String(7))
    total: Mapped[int] = mapped_column(BigInteger)
    made_at: Mapped[datetime] = mapped_column(UtcDateTime())
    made_by: Mapped[str] = mapped_column(String(64))


class PaymentLine(Base):
    """One transfer of a batch: status sent until the bank's confirmation says paid or failed (once)."""

    __tablename__ = "payment_lines"
    __table_args__ = (UniqueConstraint("batch_id", "line_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    line_no: Mapped[int]
    facility_id: Mapped[str] = mapped_column(ForeignKey("facilities.id"))
    payee_name: Mapped[str] = mapped_column(String(200))
    bank_account: Mapped[str] = mapped_column(String(64))
    year: Mapped[int]
    amount: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # sent | paid | failed
    reason: Mapped[str] = mapped_column(Text, default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DepositDecision(Base):
    """A year-end decision on a facility's quality deposit: released (to be paid) and kept (back to the fund)."""

    __tablename__ = "deposit_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int]
    facility_id: Mapped[str] = mapped_column(ForeignKey("facilities.id"))
    released: Mapped[int] = mapped_column(BigInteger)
    kept: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[str] = mapped_column(String(64))
