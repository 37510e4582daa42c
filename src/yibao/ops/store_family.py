"""The store's table of family sharing (家庭共济): the close relatives a UEBMI member lets use their individual
account. Made by the migrations, like every table (yibao.ops.store)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.ops.store import Base, UtcDateTime


class FamilyRelative(Base):
    """A close relative (spouse, parent, child) registered by an account holder: the relative may use the
    holder's individual account for their personal part at settlement and for their residents' contribution."""

    __tablename__ = "family_relatives"
    __table_args__ = (UniqueConstraint("holder_id", "relative_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"), index=True)
    relative_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"), index=True)
    relation: Mapped[str] = mapped_column(String(16))  # yibao.ops.family.Relation
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime())
