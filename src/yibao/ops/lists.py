"""The list and search queries the pages need: claims, persons, facilities, employers (users: `yibao.ops.users`).

Each takes the caller's scope as plain values (regions None = every region) and a page (limit, offset), and
returns the page's rows with the total count of the query. Out of scope rows are filtered out by the query
itself, so a record outside the caller's scope looks exactly as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from stdnum.cn import ric as stdnum_ric

from yibao.ops.errors import Rejected
from yibao.ops.store import ClaimRow, Employer, Facility, PersonRow

Row = TypeVar("Row")
MAX_LIMIT = 200  # rows per page
MAX_OFFSET = 1_000_000


@dataclass(frozen=True, slots=True)
class Page(Generic[Row]):
    rows: Sequence[Row]
    total: int
    limit: int
    offset: int

    def body(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"items": items, "total": self.total, "limit": self.limit, "offset": self.offset}


def page(session: Session, query: Select[Any], limit: int, offset: int) -> Page[Any]:
    """One page of `query` (already ordered) and the total count of its rows."""
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = session.execute(query.limit(limit).offset(offset)).scalars().all()
    return Page(rows, int(total), limit, offset)


def claims(
    session: Session, *, facility_id: str | None = None, regions: Sequence[str] | None = None,
    date_from: date | None = None, date_to: date | None = None, person_id: str | None = None,
    status: str | None = None, limit: int = 50, offset: int = 0,
) -> Page[ClaimRow]:
    """Claims, newest service date first: of one facility and/or of persons registered in `regions`."""
    if date_from is not None and date_to is not None and date_to < date_from:
        raise Rejected(f"the date range ends ({date_to}) before it begins ({date_from})", code="list.bad_range")
    query = select(ClaimRow)
    if facility_id is not None:
        query = query.where(ClaimRow.facility_id == facility_id)
    if regions is not None:
        query = query.join(PersonRow, PersonRow.person_id == ClaimRow.person_id).where(PersonRow.region.in_(regions))
    if date_from is not None:
        query = query.where(ClaimRow.service_date >= date_from)
    if date_to is not None:
        query = query.where(ClaimRow.service_date <= date_to)
    if person_id is not None:
        query = query.where(ClaimRow.person_id == person_id.strip())
    if status is not None:
        query = query.where(ClaimRow.status == status)
    return page(session, query.order_by(ClaimRow.service_date.desc(), ClaimRow.claim_id), limit, offset)


def persons(
    session: Session, *, regions: Sequence[str] | None, name: str | None = None, ric: str | None = None,
    household_id: int | None = None, region: str | None = None, limit: int = 50, offset: int = 0,
) -> Page[PersonRow]:
    """Persons in `regions` by part of the name (case-insensitive), by identity number (whole), by household."""
    query = select(PersonRow)
    if regions is not None:
        query = query.where(PersonRow.region.in_(regions))
    if region is not None:
        query = query.where(PersonRow.region == region)
    if name:
        query = query.where(func.lower(PersonRow.name).contains(name.strip().lower(), autoescape=True))
    if ric:
        query = query.where(PersonRow.ric == stdnum_ric.compact(ric).upper())
    if household_id is not None:
        query = query.where(PersonRow.household_id == household_id)
    return page(session, query.order_by(PersonRow.person_id), limit, offset)


def facilities(
    session: Session, *, region: str | None = None, level: int | None = None, name: str | None = None,
    facility_id: str | None = None, limit: int = 50, offset: int = 0,
) -> Page[Facility]:
    query = select(Facility)
    if facility_id is not None:
        query = query.where(Facility.id == facility_id)
    if region is not None:
        query = query.where(Facility.region == region)
    if level is not None:
        query = query.where(Facility.level == level)
    if name:
        query = query.where(func.lower(Facility.name).contains(name.strip().lower(), autoescape=True))
    return page(session, query.order_by(Facility.id), limit, offset)


def employers(
    session: Session, *, regions: Sequence[str] | None, region: str | None = None, name: str | None = None,
    uscc: str | None = None, limit: int = 50, offset: int = 0,
) -> Page[Employer]:
    query = select(Employer)
    if regions is not None:
        query = query.where(Employer.region.in_(regions))
    if region is not None:
        query = query.where(Employer.region == region)
    if name:
        query = query.where(func.lower(Employer.name).contains(name.strip().lower(), autoescape=True))
    if uscc:
        query = query.where(Employer.uscc == uscc.strip().upper())
    return page(session, query.order_by(Employer.id), limit, offset)


def facility_claims(session: Session, facility_id: str, day: date) -> list[ClaimRow]:
    """The claims a facility submitted for a service day, newest first (the counter's list of the day)."""
    return list(session.execute(
        select(ClaimRow).where(ClaimRow.facility_id == facility_id, ClaimRow.service_date == day)
        .order_by(ClaimRow.id.desc())
    ).scalars())


def claims_of_person(session: Session, person_id: str) -> list[ClaimRow]:
    """A person's claims, newest service date first."""
    return list(session.execute(
        select(ClaimRow).where(ClaimRow.person_id == person_id).order_by(ClaimRow.service_date.desc(), ClaimRow.claim_id.desc())
    ).scalars())
