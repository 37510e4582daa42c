"""Registry routes: regions, facilities, employers, households, persons, assistance, enrolments."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy import select

from yibao.core.errors import InputError
from yibao.core.money import format_yuan
from yibao.http.contributions import contribution_view
from yibao.http.deps import Admin, Officer, Reader, check_region, person_in_scope, store_of
from yibao.ops import audit, enrolment, registry
from yibao.ops.auth import Principal, Role
from yibao.ops.privacy import shown_ric
from yibao.ops.schemas import (
    AssistanceIn,
    EmployerIn,
    EnrolmentIn,
    FacilityIn,
    HouseholdIn,
    Identifier,
    PersonIn,
    RegionIn,
    Shape,
    Year,
)
from yibao.ops.store import AssistanceStatus, Contribution, Employer, Enrolment, Facility, Household, PersonRow, Region

router = APIRouter(tags=["registry"])


# --- views ---


def region_view(row: Region) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "scheme_name": row.scheme_name, "average_wage": format_yuan(row.average_wage)}


def facility_view(row: Facility) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "region": row.region, "level": row.level}


def employer_view(row: Employer) -> dict[str, Any]:
    return {"id": row.id, "uscc": row.uscc, "name": row.name, "region": row.region}


def household_view(row: Household) -> dict[str, Any]:
    return {"id": row.id, "region": row.region, "address": row.address}


def person_view(row: PersonRow, who: Principal) -> dict[str, Any]:
    view = audit.snapshot(row) or {}
    view["annual_income"] = format_yuan(row.annual_income)
    view["ric"] = shown_ric(who, row.person_id, row.region, row.ric)
    return view


def assistance_view(row: AssistanceStatus) -> dict[str, Any]:
    return {"id": row.id, "category": row.category, "valid_from": str(row.valid_from),
            "valid_to": row.valid_to and str(row.valid_to)}


def enrolment_view(row: Enrolment) -> dict[str, Any]:
    return {
        "id": row.id, "person_id": row.person_id, "year": row.year, "scheme": row.scheme, "status": row.status,
        "huiminbao": row.huiminbao, "wage_base": None if row.wage_base is None else format_yuan(row.wage_base),
        "cover_start": _day(row.cover_start), "cover_end": _day(row.cover_end),
        "huiminbao_start": _day(row.huiminbao_start), "consecutive_years": row.consecutive_years,
        "serious_illness_cap_raise": format_yuan(row.cap_raise or 0),
    }


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# --- routes ---


@router.post("/regions", status_code=201)
def post_region(request: Request, body: RegionIn, who: Admin) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return region_view(registry.add_region(s, who.actor, body))


class SchemeIn(Shape):
    scheme_name: Identifier = Field(description="a built-in scheme (`yibao schemes`)")


@router.put("/regions/{code}/scheme")
def put_region_scheme(request: Request, code: Annotated[Identifier, Path()], body: SchemeIn, who: Admin) -> dict[str, Any]:
    """Correct the scheme a region settles by (admin): later claims use it; settled claims keep theirs."""
    with store_of(request).transaction() as s:
        return region_view(registry.set_scheme(s, who.actor, code, body.scheme_name))


@router.get("/regions")
def get_regions(request: Request, who: Reader) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        rows = s.execute(select(Region).order_by(Region.code)).scalars()
        return [{"code": r.code, "name": r.name, "scheme_name": r.scheme_name} for r in rows]


@router.post("/facilities", status_code=201)
def post_facility(request: Request, body: FacilityIn, who: Officer) -> dict[str, Any]:
    check_region(who, body.region)
    with store_of(request).transaction() as s:
        return facility_view(registry.add_facility(s, who.actor, body))


@router.post("/employers", status_code=201)
def post_employer(request: Request, body: EmployerIn, who: Officer) -> dict[str, Any]:
    check_region(who, body.region)
    with store_of(request).transaction() as s:
        return employer_view(registry.add_employer(s, who.actor, body))


@router.post("/households", status_code=201)
def post_household(request: Request, body: HouseholdIn, who: Officer) -> dict[str, Any]:
    check_region(who, body.region)
    with store_of(request).transaction() as s:
        return household_view(registry.add_household(s, who.actor, body))


@router.post("/persons", status_code=201)
def post_person(request: Request, body: PersonIn, who: Officer) -> dict[str, Any]:
    check_region(who, body.region)
    with store_of(request).transaction() as s:
        return person_view(registry.add_person(s, who.actor, body), who)


@router.post("/persons/import")
async def post_person_import(request: Request, who: Officer, year: Annotated[Year, Query()]) -> dict[str, Any]:
    """Register (and enrol) every row of a CSV body (`text/csv`, UTF-8), or none; errors name each bad line."""
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file="upload.csv",
                         code="input.bad_file") from None

    def in_scope(region: str) -> bool:
        return who.role is not Role.OFFICER or region in who.regions

    def run() -> int:
        with store_of(request).transaction() as s:
            return enrolment.import_persons(s, who.actor, text, year, file_name="upload.csv", in_scope=in_scope)

    return {"imported": await run_in_threadpool(run)}


@router.get("/persons/{person_id}")
def get_person(request: Request, person_id: Identifier, who: Reader) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        return person_view(person_in_scope(s, who, person_id), who)


@router.post("/persons/{person_id}/assistance", status_code=201)
def post_assistance(request: Request, person_id: Identifier, body: AssistanceIn, who: Officer) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        return assistance_view(registry.add_assistance(s, who.actor, person_id, body))


@router.post("/persons/{person_id}/enrolments", status_code=201)
def post_enrolment(request: Request, person_id: Identifier, body: EnrolmentIn, who: Officer) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        row = enrolment.enrol(s, who.actor, person_id, body)
        due = s.execute(select(Contribution).where(Contribution.enrolment_id == row.id).order_by(Contribution.id)).scalars()
        return {**enrolment_view(row), "contributions": [contribution_view(c) for c in due]}


@router.get("/persons/{person_id}/enrolments")
def get_enrolments(request: Request, person_id: Identifier, who: Reader) -> list[dict[str, Any]]:
    with store_of(request).transaction() as s:
        person_in_scope(s, who, person_id)
        rows = s.execute(select(Enrolment).where(Enrolment.person_id == person_id).order_by(Enrolment.year)).scalars()
        return [enrolment_view(r) for r in rows]
