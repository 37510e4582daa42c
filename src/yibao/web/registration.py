"""`/bureau/register`: register persons, households, employers and facilities (an officer, in their regions, as
the API allows) and users (admin). Each form is the registry's or the users' service in one transaction; a
refusal is shown next to the field it concerns, in the user's language, and nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from yibao.core.errors import YibaoError
from yibao.http.deps import check_region
from yibao.ops import registry
from yibao.ops.auth import Principal, Role, add_user
from yibao.ops.schemas import EmployerIn, FacilityIn, HouseholdIn, PersonIn, UserIn
from yibao.ops.store import Region
from yibao.web import session
from yibao.web.messages import N_, field_errors, of_error
from yibao.web.render import in_store, redirect, render, texts_of

router = APIRouter(prefix="/bureau/register")

# which field a service's refusal concerns (the rest are shown at the top of the form)
FIELD_OF_CODE = {
    "person.bad_ric": "ric", "person.birth_date_mismatch": "ric", "person.sex_mismatch": "ric",
    "person.exists": "person_id", "household.not_found": "household_id", "employer.not_found": "employer_uscc",
    "employer.bad_uscc": "uscc", "employer.exists": "uscc", "facility.exists": "id", "user.exists": "username",
    "user.bad_role": "role", "user.person_missing": "person_id", "user.facility_missing": "facility_id",
    "user.regions_missing": "regions", "person.not_found": "person_id", "facility.not_found": "facility_id",
    "region.not_found": "region", "auth.out_of_scope": "region",
}
KINDS = ("person", "household", "employer", "facility", "user")
DONE = N_("Registered.")


def _regions(s: Session, who: Principal) -> list[str]:
    if who.role is Role.OFFICER:
        return list(who.regions)
    return list(s.execute(select(Region.code).order_by(Region.code)).scalars())


async def _page(request: Request, who: Principal, *, kind: str = "", errors: dict[str, str] | None = None,
                form: dict[str, Any] | None = None, done: str = "") -> Response:
    regions = await in_store(request, lambda s: _regions(s, who))
    texts = texts_of(request)
    return render(request, "bureau_register.html", who=who, title=texts.gettext("Register"), regions=regions,
                  kind=kind, errors=errors or {}, form=form or {}, done=texts.gettext(DONE) if done else "",
                  roles=[r.value for r in Role])


@router.get("")
async def register_page(request: Request, done: str = "") -> Response:
    who = session.signed_in(request, Role.OFFICER)
    return await _page(request, who, done=done)


def _values(form: FormData) -> dict[str, str]:
    return {k: str(v).strip() for k, v in form.items() if k != session.CSRF_FIELD}


def _shape(kind: str, values: dict[str, str]) -> BaseModel:
    optional = {k: v for k, v in values.items() if v != ""}
    if kind == "person":
        return PersonIn(**optional)  # type: ignore[arg-type]
    if kind == "household":
        return HouseholdIn(**optional)
    if kind == "employer":
        return EmployerIn(**optional)
    if kind == "facility":
        return FacilityIn(**optional)  # type: ignore[arg-type]
    regions = [r for r in optional.pop("regions", "").replace("，", ",").split(",") if r.strip()]
    return UserIn(**optional, regions=[r.strip() for r in regions])


ADD: dict[str, Callable[..., Any]] = {
    "person": registry.add_person, "household": registry.add_household, "employer": registry.add_employer,
    "facility": registry.add_facility, "user": add_user,
}


@router.post("/{kind}")
async def register(request: Request, kind: str) -> Response:
    who = session.signed_in(request, Role.OFFICER)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    values = _values(form)
    if kind not in KINDS:
        return await _page(request, who)
    if kind == "user" and who.role is not Role.ADMIN:
        return await _page(request, who, kind=kind, form=values,
                           errors={"page": of_error(texts, YibaoError("", code="auth.forbidden"))})

    def work(s: Session) -> None:
        data = _shape(kind, values)
        region = getattr(data, "region", None)
        if region is not None:
            check_region(who, region)
        ADD[kind](s, who.actor, data)

    try:
        await in_store(request, work)
    except ValidationError as exc:
        errors = {f"{kind}-{field}": text for field, text in field_errors(texts, exc).items()}
        return await _page(request, who, kind=kind, errors=errors, form=values)
    except YibaoError as exc:
        field = FIELD_OF_CODE.get(exc.code, "form")
        return await _page(request, who, kind=kind, errors={f"{kind}-{field}": of_error(texts, exc)}, form=values)
    return redirect(f"/bureau/register?done={kind}")
