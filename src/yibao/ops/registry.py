"""The registry: regions, employers, households, facilities, persons, assistance categories, enrolment.

Identity numbers are checked with python-stdnum (`stdnum.cn.ric`, the GB 11643
checksum) and cross-checked with the birth date and sex they encode; employers'
unified social credit codes with `stdnum.cn.uscc`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Date, Integer, Select, and_, bindparam, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as NumberError

from yibao.core.model import AssistanceCategory, InsuranceScheme, Person, Sex
from yibao.core.money import parse_yuan
from yibao.ops import audit
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.schemas import (
    AssistanceIn,
    EmployerIn,
    FacilityIn,
    HouseholdIn,
    PersonIn,
    RegionIn,
)
from yibao.ops.store import (
    AssistanceStatus,
    Employer,
    Enrolment,
    Facility,
    Household,
    PersonRow,
    Region,
)


def check_ric(ric: str, birth_date: date | None = None, sex: Sex | None = None) -> tuple[str, date, Sex]:
    """The compact number, its birth date and sex (17th digit odd = male); a mismatch is refused."""
    try:
        number = stdnum_ric.validate(ric)
        born = stdnum_ric.get_birth_date(number)
    except NumberError as exc:
        raise Rejected(f"resident identity number {ric!r} is not valid: {exc}", code="person.bad_ric") from None
    encoded_sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
    if birth_date is not None and birth_date != born:
        raise Rejected(
            f"birth date {birth_date} does not match the identity number's {born}", code="person.birth_date_mismatch"
        )
    if sex is not None and sex != encoded_sex:
        raise Rejected(f"sex {sex.value} does not match the identity number's {encoded_sex.value}", code="person.sex_mismatch")
    return number, born, encoded_sex


def check_uscc(code: str) -> str:
    try:
        return str(stdnum_uscc.validate(code))
    except NumberError as exc:
        raise Rejected(f"unified social credit code {code!r} is not valid: {exc}", code="employer.bad_uscc") from None


def region(session: Session, code: str) -> Region:
    row = session.get(Region, code)
    if row is None:
        raise NotFound(f"no region {code!r}", code="region.not_found")
    return row


def person(session: Session, person_id: str) -> PersonRow:
    row = session.get(PersonRow, person_id)
    if row is None:
        raise NotFound(f"no person {person_id!r}", code="person.not_found")
    return row


def facility(session: Session, facility_id: str) -> Facility:
    row = session.get(Facility, facility_id)
    if row is None:
        raise NotFound(f"no facility {facility_id!r}", code="facility.not_found")
    return row


def created(session: Session, actor: Actor, entity: str, row: Any, key: str) -> None:
    audit.added(session, actor, f"{entity}.created", entity, row, key)


def builtin_scheme_names() -> list[str]:
    """The schemes a region may settle by: the built-in ones (`yibao schemes`), never a path on the server."""
    from yibao.schemes import BUILTIN_DIR

    return sorted(p.parent.name for p in BUILTIN_DIR.glob("*/scheme.yaml"))


def check_scheme_name(name: str) -> str:
    if name not in builtin_scheme_names():
        raise Rejected(f"no built-in scheme {name!r} (built-in: {', '.join(builtin_scheme_names())})",
                       code="region.unknown_scheme")
    return name


def add_region(session: Session, actor: Actor, data: RegionIn) -> Region:
    check_scheme_name(data.scheme_name)
    if session.get(Region, data.code) is not None:
        raise Conflict(f"region {data.code!r} exists", code="region.exists")
    row = Region(code=data.code, name=data.name, scheme_name=data.scheme_name, average_wage=parse_yuan(data.average_wage))
    created(session, actor, "region", row, "code")
    return row


def set_scheme(session: Session, actor: Actor, code: str, scheme_name: str) -> Region:
    """Correct the scheme a region settles by (a built-in one). Claims settled already keep what they were paid
    (each claim names its scheme); the region's later claims, corrections and re-settlements use the new one."""
    check_scheme_name(scheme_name)
    row = region(session, code)
    before = audit.snapshot(row)
    row.scheme_name = scheme_name
    session.flush()
    audit.record(session, actor, "region.scheme_changed", "region", code, before, audit.snapshot(row))
    return row


def add_employer(session: Session, actor: Actor, data: EmployerIn) -> Employer:
    code = check_uscc(data.uscc)
    region(session, data.region)
    if session.execute(select(Employer).where(Employer.uscc == code)).first() is not None:
        raise Conflict(f"employer {code} exists", code="employer.exists")
    row = Employer(uscc=code, name=data.name, region=data.region)
    created(session, actor, "employer", row, "id")
    return row


def add_household(session: Session, actor: Actor, data: HouseholdIn) -> Household:
    region(session, data.region)
    row = Household(region=data.region, address=data.address)
    created(session, actor, "household", row, "id")
    return row


def add_facility(session: Session, actor: Actor, data: FacilityIn) -> Facility:
    region(session, data.region)
    if session.get(Facility, data.id) is not None:
        raise Conflict(f"facility {data.id!r} exists", code="facility.exists")
    row = Facility(id=data.id, name=data.name, region=data.region, level=data.level, bank_account=data.bank_account)
    created(session, actor, "facility", row, "id")
    return row


def _person_row(session: Session, data: PersonIn) -> PersonRow:
    number, born, sex = check_ric(data.ric, data.birth_date, data.sex)
    region(session, data.region)
    employer_id = None
    if data.employer_uscc:
        code = check_uscc(data.employer_uscc)
        employer = session.execute(select(Employer).where(Employer.uscc == code)).scalar_one_or_none()
        if employer is None:
            raise NotFound(f"no employer {code}", code="employer.not_found")
        employer_id = employer.id
    if data.household_id is not None:
        if session.get(Household, data.household_id) is None:
            raise NotFound(f"no household {data.household_id!r}", code="household.not_found")
    clash = session.execute(
        select(PersonRow.person_id).where(or_(PersonRow.person_id == data.person_id, PersonRow.ric == number))
    ).first()
    if clash is not None:
        raise Conflict(f"person {data.person_id} or identity number {number} is already registered", code="person.exists")
    return PersonRow(
        person_id=data.person_id, ric=number, name=data.name, birth_date=born, sex=sex.value, region=data.region,
        household_id=data.household_id, employer_id=employer_id, pre_existing=data.pre_existing,
        annual_income=parse_yuan(data.annual_income),
    )


def add_person(session: Session, actor: Actor, data: PersonIn) -> PersonRow:
    row = _person_row(session, data)
    created(session, actor, "person", row, "person_id")
    return row


def add_assistance(session: Session, actor: Actor, person_id: str, data: AssistanceIn) -> AssistanceStatus:
    person(session, person_id)
    if data.valid_to is not None and data.valid_to < data.valid_from:
        raise Rejected("valid_to is before valid_from", code="assistance.bad_dates")
    row = AssistanceStatus(person_id=person_id, category=data.category.value, valid_from=data.valid_from, valid_to=data.valid_to)
    created(session, actor, "assistance", row, "id")
    return row


def assistance_on(session: Session, person_id: str, day: date) -> AssistanceCategory:
    """The category valid on `day` (the latest granted if several overlap), else none."""
    rows = session.execute(
        select(AssistanceStatus)
        .where(AssistanceStatus.person_id == person_id, AssistanceStatus.valid_from <= day)
        .where(or_(AssistanceStatus.valid_to.is_(None), AssistanceStatus.valid_to >= day))
        .order_by(AssistanceStatus.valid_from.desc(), AssistanceStatus.id.desc())
    ).scalars()
    first = next(iter(rows), None)
    return AssistanceCategory.NONE if first is None else AssistanceCategory(first.category)


def enrolment(session: Session, person_id: str, year: int) -> Enrolment | None:
    return session.execute(
        select(Enrolment).where(Enrolment.person_id == person_id, Enrolment.year == year)
    ).scalar_one_or_none()


def enrolments_of(session: Session, person_id: str) -> list[Enrolment]:
    """A person's enrolments, oldest year first."""
    return list(session.execute(select(Enrolment).where(Enrolment.person_id == person_id).order_by(Enrolment.year)).scalars())


def find_persons(session: Session, text: str, regions: Sequence[str] | None, limit: int = 50) -> list[PersonRow]:
    """Persons whose name contains `text`, whose identity number is `text`, or whose household number is `text`,
    only in `regions` (None: every region — an auditor or admin), by person id."""
    wanted = text.strip()
    if not wanted:
        return []
    matches = [PersonRow.name.contains(wanted, autoescape=True), PersonRow.ric == wanted.upper(),
               PersonRow.person_id == wanted]
    if wanted.isdigit():
        matches.append(PersonRow.household_id == int(wanted))
    query = select(PersonRow).where(or_(*matches)).order_by(PersonRow.person_id).limit(limit)
    if regions is not None:
        query = query.where(PersonRow.region.in_(list(regions)))
    return list(session.execute(query).scalars())


def assistance_of(session: Session, person_id: str) -> list[AssistanceStatus]:
    """Every assistance category a person was given, with its dates, oldest first."""
    return list(session.execute(
        select(AssistanceStatus).where(AssistanceStatus.person_id == person_id)
        .order_by(AssistanceStatus.valid_from, AssistanceStatus.id)
    ).scalars())


def household_members(session: Session, person_id: str) -> list[PersonRow]:
    """The other persons registered in the person's household (none without a household)."""
    own = person(session, person_id)
    if own.household_id is None:
        return []
    return list(session.execute(
        select(PersonRow).where(PersonRow.household_id == own.household_id, PersonRow.person_id != person_id)
        .order_by(PersonRow.person_id)
    ).scalars())


@dataclass(frozen=True, slots=True)
class Insured:
    """A registered person as the rules see them on a service day, and the scheme of their region."""

    person: Person
    scheme_name: str


@cache
def insured_query() -> Select[Any]:
    """The person, their region's scheme, the day's enrolment and assistance category, as one SELECT with
    parameters `person_id`, `day` and `year` (built once; callers may add columns, e.g. claims lock the
    person-year's accumulators in the same statement)."""
    day, year = bindparam("day", type_=Date), bindparam("year", type_=Integer)
    category = (
        select(AssistanceStatus.category)
        .where(AssistanceStatus.person_id == PersonRow.person_id, AssistanceStatus.valid_from <= day)
        .where(or_(AssistanceStatus.valid_to.is_(None), AssistanceStatus.valid_to >= day))
        .order_by(AssistanceStatus.valid_from.desc(), AssistanceStatus.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            Region.scheme_name, Enrolment.scheme, Enrolment.status, Enrolment.huiminbao, category,
            PersonRow.person_id, PersonRow.birth_date, PersonRow.sex, PersonRow.region, PersonRow.pre_existing,
            PersonRow.annual_income, Enrolment.cover_start, Enrolment.cover_end, Enrolment.huiminbao_start,
            Enrolment.cap_raise,
        )
        .join(Region, Region.code == PersonRow.region)
        .outerjoin(Enrolment, and_(Enrolment.person_id == PersonRow.person_id, Enrolment.year == year))
        .where(PersonRow.person_id == bindparam("person_id"))
    )


def insured_params(person_id: str, day: date) -> dict[str, Any]:
    return {"person_id": person_id, "day": day, "year": day.year}


INSURED_COLUMNS = 15  # the columns of `insured_query`; callers' added columns follow


def insured_from(found: Sequence[Any] | None, person_id: str, day: date) -> Insured:
    """The Insured from a row of `insured_query` (plain columns, no ORM objects: claims read it on every bill).
    Claims need an active enrolment."""
    if found is None:
        raise NotFound(f"no person {person_id!r}", code="person.not_found")
    (scheme_name, scheme, status, huiminbao, assistance, pid, born, sex, region, pre_existing, income,
     _cover_start, _cover_end, huiminbao_start, _cap_raise) = found[:INSURED_COLUMNS]
    if status != "active":
        raise Rejected(f"{person_id} has no active enrolment for {day.year}", code="enrolment.inactive")
    person = Person(
        person_id=pid,
        birth_date=born,
        sex=Sex(sex),
        region=region,
        scheme=InsuranceScheme(scheme),
        assistance_category=AssistanceCategory(assistance or AssistanceCategory.NONE.value),
        huiminbao=bool(huiminbao) and (huiminbao_start is None or huiminbao_start <= day),  # never retroactive
        pre_existing=pre_existing,
        annual_income=income,
    )
    return Insured(person, scheme_name)


def insured(session: Session, person_id: str, day: date) -> Insured:
    """The person as the rules see them on a service day, in one query."""
    return insured_from(session.execute(insured_query(), insured_params(person_id, day)).first(), person_id, day)


def core_person(session: Session, row: PersonRow, day: date) -> Person:
    """The rules core's view of a registered person on a service day; needs an active enrolment."""
    return insured(session, row.person_id, day).person


# A facility's registered level and region, by engine and facility id: registration is never changed once made
# (no route or command updates a facility), so a process reads each once, outside a claim's locks.
_REGISTRATIONS: dict[tuple[int, str], tuple[int, str]] = {}


def registration(connection: Connection, facility_id: str) -> tuple[int, str]:
    """The facility's registered level and region (what decides a claim's rates and whether it is out of area)."""
    key = (id(connection.engine), facility_id)
    found = _REGISTRATIONS.get(key)
    if found is None:
        row = connection.execute(select(Facility.level, Facility.region).where(Facility.id == facility_id)).first()
        if row is None:
            raise NotFound(f"no facility {facility_id!r}", code="facility.not_found")
        found = _REGISTRATIONS[key] = (int(row[0]), str(row[1]))
    return found
