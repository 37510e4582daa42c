"""List and search routes for the pages: a facility's claims, persons, facilities, employers, users.

All paginated (`limit` at most 200, `offset`), all scoped: an officer sees only their regions' persons, claims and
employers, a facility only its own claims; a record out of scope is simply not listed, exactly as a missing one.
Identity numbers are masked for every caller but the officer in scope and the administrator.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from yibao.http.accounts import user_item
from yibao.http.claims import claim_view
from yibao.http.deps import caller, require, store_of
from yibao.ops import lists, users
from yibao.ops.auth import Principal, Role
from yibao.ops.privacy import shown_ric
from yibao.ops.store import Employer, Facility, PersonRow

router = APIRouter()
Reader = Annotated[Principal, Depends(caller)]
Admin = Annotated[Principal, Depends(require())]
Limit = Annotated[int, Query(ge=1, le=lists.MAX_LIMIT, description=f"rows per page (1 to {lists.MAX_LIMIT})")]
Offset = Annotated[int, Query(ge=0, le=lists.MAX_OFFSET, description="rows to skip")]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no NUL or other control characters (PostgreSQL refuses NUL in text)
Text = Annotated[str | None, Query(min_length=1, max_length=200, pattern=PRINTABLE)]
Id = Annotated[str | None, Query(min_length=1, max_length=64, pattern=PRINTABLE)]
ROW_ID_MAX = 2**31 - 1  # the integer primary keys' range


class PageOut(BaseModel):
    items: list[dict[str, Any]]
    total: int = Field(description="rows matching the query, over all pages")
    limit: int
    offset: int


def _regions(who: Principal) -> tuple[str, ...] | None:
    """The regions whose records `who` may list: None for every region (admin, auditor)."""
    return None if who.role in (Role.ADMIN, Role.AUDITOR) else who.regions


@router.get("/claims", tags=["claims"], response_model=PageOut)
def get_claims(
    request: Request, who: Annotated[Principal, Depends(require(Role.FACILITY, Role.OFFICER, Role.AUDITOR))],
    date_from: Annotated[date | None, Query(description="service date on or after")] = None,
    date_to: Annotated[date | None, Query(description="service date on or before")] = None,
    person_id: Id = None, status: Literal["settled", "reversed"] | None = None,
    facility_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=PRINTABLE,
                                             description="admin, auditor, officer")] = None,
    limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    """A facility's own claims (an officer: claims of persons of their regions), newest first."""
    if who.role is Role.FACILITY:
        facility_id = who.facility_id or ""
    with store_of(request).transaction() as s:
        found = lists.claims(
            s, facility_id=facility_id, regions=None if who.role is Role.FACILITY else _regions(who),
            date_from=date_from, date_to=date_to, person_id=person_id, status=status, limit=limit, offset=offset,
        )
        return found.body([claim_view(r) for r in found.rows])


def person_item(row: PersonRow, who: Principal) -> dict[str, Any]:
    return {
        "person_id": row.person_id, "name": row.name, "ric": shown_ric(who, row.person_id, row.region, row.ric),
        "birth_date": row.birth_date.isoformat(), "sex": row.sex, "region": row.region,
        "household_id": row.household_id, "employer_id": row.employer_id,
    }


@router.get("/persons", tags=["registry"], response_model=PageOut)
def get_persons(
    request: Request, who: Annotated[Principal, Depends(require(Role.OFFICER, Role.AUDITOR))],
    name: Annotated[str | None, Query(min_length=1, max_length=200, pattern=PRINTABLE, description="part of the name")] = None,
    ric: Annotated[str | None, Query(min_length=1, max_length=32, pattern=PRINTABLE, description="the whole identity number")] = None,
    household_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)] = None,
    region: Id = None, limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    """Persons of the caller's regions by name, identity number or household."""
    with store_of(request).transaction() as s:
        found = lists.persons(s, regions=_regions(who), name=name, ric=ric, household_id=household_id, region=region,
                              limit=limit, offset=offset)
        return found.body([person_item(r, who) for r in found.rows])


def facility_item(row: Facility) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "region": row.region, "level": row.level}


@router.get("/facilities", tags=["registry"], response_model=PageOut)
def get_facilities(
    request: Request, who: Reader, region: Id = None, level: Annotated[int | None, Query(ge=1, le=3)] = None,
    name: Text = None, limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    """The designated facilities (a public directory: id, name, region, level), to every caller."""
    with store_of(request).transaction() as s:
        found = lists.facilities(s, region=region, level=level, name=name, limit=limit, offset=offset)
        return found.body([facility_item(r) for r in found.rows])


def employer_item(row: Employer) -> dict[str, Any]:
    return {"id": row.id, "uscc": row.uscc, "name": row.name, "region": row.region}


@router.get("/employers", tags=["registry"], response_model=PageOut)
def get_employers(
    request: Request, who: Annotated[Principal, Depends(require(Role.OFFICER, Role.AUDITOR))],
    region: Id = None, name: Text = None, uscc: Annotated[str | None, Query(min_length=1, max_length=18, pattern=PRINTABLE)] = None,
    limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    """Employers of the caller's regions."""
    with store_of(request).transaction() as s:
        found = lists.employers(s, regions=_regions(who), region=region, name=name, uscc=uscc, limit=limit, offset=offset)
        return found.body([employer_item(r) for r in found.rows])


@router.get("/users", tags=["auth"], response_model=PageOut)
def get_users(
    request: Request, who: Admin, role: Annotated[str | None, Query(min_length=1, max_length=16, pattern=PRINTABLE)] = None,
    prefix: Annotated[str | None, Query(min_length=1, max_length=64, pattern=PRINTABLE, description="start of the user name")] = None,
    limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    """User accounts (administrator only)."""
    with store_of(request).transaction() as s:
        found = users.list_users(s, role=role, prefix=prefix, limit=limit, offset=offset)
        return found.body([user_item(r) for r in found.rows])


