"""The registry: regions, employers, households, facilities, persons, assistance categories, enrolment.

Identity numbers are checked with python-stdnum (`stdnum.cn.ric`, the GB 11643
checksum) and cross-checked with the birth date and sex they encode; employers'
unified social credit codes with `stdnum.cn.uscc`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Date, Integer, Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as NumberError

from yibao.core.errors import InputError, YibaoError
from yibao.core.model import AssistanceCategory, InsuranceScheme, Person, Sex
from yibao.core.money import parse_yuan
from yibao.ops import audit, contributions
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.schemas import (
    AssistanceIn,
    EmployerIn,
    EnrolmentIn,
    FacilityIn,
    HouseholdIn,
    PersonIn,
    RegionIn,
)
from yibao.ops.store import (
    AccumulatorRow,
    AssistanceStatus,
    Contribution,
    Employer,
    Enrolment,
    Facility,
    Household,
    PersonRow,
    Region,
)

_Row = TypeVar("_Row")


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


def _get(session: Session, model: type[_Row], key: object, what: str) -> _Row:
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"no {what} {key!r}", code=f"{what}.not_found")
    return row


def region(session: Session, code: str) -> Region:
    return _get(session, Region, code, "region")


def person(session: Session, person_id: str) -> PersonRow:
    return _get(session, PersonRow, person_id, "person")


def facility(session: Session, facility_id: str) -> Facility:
    return _get(session, Facility, facility_id, "facility")


def _created(session: Session, actor: Actor, entity: str, row: Any, key: str) -> None:
    audit.added(session, actor, f"{entity}.created", entity, row, key)


def add_region(session: Session, actor: Actor, data: RegionIn) -> Region:
    if session.get(Region, data.code) is not None:
        raise Conflict(f"region {data.code!r} exists", code="region.exists")
    row = Region(code=data.code, name=data.name, scheme_name=data.scheme_name, average_wage=parse_yuan(data.average_wage))
    _created(session, actor, "region", row, "code")
    return row


def add_employer(session: Session, actor: Actor, data: EmployerIn) -> Employer:
    code = check_uscc(data.uscc)
    region(session, data.region)
    if session.execute(select(Employer).where(Employer.uscc == code)).first() is not None:
        raise Conflict(f"employer {code} exists", code="employer.exists")
    row = Employer(uscc=code, name=data.name, region=data.region)
    _created(session, actor, "employer", row, "id")
    return row


def add_household(session: Session, actor: Actor, data: HouseholdIn) -> Household:
    region(session, data.region)
    row = Household(region=data.region, address=data.address)
    _created(session, actor, "household", row, "id")
    return row


def add_facility(session: Session, actor: Actor, data: FacilityIn) -> Facility:
    region(session, data.region)
    if session.get(Facility, data.id) is not None:
        raise Conflict(f"facility {data.id!r} exists", code="facility.exists")
    row = Facility(id=data.id, name=data.name, region=data.region, level=data.level)
    _created(session, actor, "facility", row, "id")
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
        _get(session, Household, data.household_id, "household")
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
    _created(session, actor, "person", row, "person_id")
    return row


def add_assistance(session: Session, actor: Actor, person_id: str, data: AssistanceIn) -> AssistanceStatus:
    person(session, person_id)
    if data.valid_to is not None and data.valid_to < data.valid_from:
        raise Rejected("valid_to is before valid_from", code="assistance.bad_dates")
    row = AssistanceStatus(person_id=person_id, category=data.category.value, valid_from=data.valid_from, valid_to=data.valid_to)
    _created(session, actor, "assistance", row, "id")
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


def enrol(
    session: Session,
    actor: Actor,
    person_id: str,
    data: EnrolmentIn,
    rules: contributions.ContributionRules = contributions.DEFAULT_RULES,
) -> Enrolment:
    """Enrol a person for a scheme-year; the year's contributions fall due. Active once they are paid."""
    who = person(session, person_id)
    if session.execute(select(Enrolment).where(Enrolment.person_id == person_id, Enrolment.year == data.year)).first():
        raise Conflict(f"{person_id} is already enrolled for {data.year}", code="enrolment.exists")
    base = None
    if data.scheme is InsuranceScheme.UEBMI_EMPLOYEE:
        if data.wage is None:
            raise Rejected("a UEBMI employee's enrolment needs the yearly wage", code="enrolment.wage_missing")
        base = contributions.contribution_base(parse_yuan(data.wage), region(session, who.region).average_wage, rules)
    category = assistance_on(session, person_id, date(data.year, 1, 1))
    owed = contributions.dues(data.scheme, category, data.huiminbao, base, rules)
    public_owed = any(source is not contributions.ContributionSource.HUIMINBAO_PREMIUM for source, _ in owed)
    row = Enrolment(
        person_id=person_id, year=data.year, scheme=data.scheme.value,
        status="pending" if public_owed else "active", huiminbao=False, wage_base=base,
    )
    _created(session, actor, "enrolment", row, "id")
    for source, amount in owed:
        due = Contribution(
            enrolment_id=row.id, region=who.region, year=data.year, source=source.value, amount=amount,
            status=contributions.DUE,
        )
        _created(session, actor, "contribution", due, "id")
        contributions.fall_due(session, actor, due, row)
    session.add(AccumulatorRow(person_id=person_id, year=data.year, data={"year": data.year}, claims=0))
    return row


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
            PersonRow.annual_income,
        )
        .join(Region, Region.code == PersonRow.region)
        .outerjoin(Enrolment, and_(Enrolment.person_id == PersonRow.person_id, Enrolment.year == year))
        .where(PersonRow.person_id == bindparam("person_id"))
    )


def insured_params(person_id: str, day: date) -> dict[str, Any]:
    return {"person_id": person_id, "day": day, "year": day.year}


INSURED_COLUMNS = 11  # the columns of `insured_query`; callers' added columns follow


def insured_from(found: Sequence[Any] | None, person_id: str, day: date) -> Insured:
    """The Insured from a row of `insured_query` (plain columns, no ORM objects: claims read it on every bill).
    Claims need an active enrolment."""
    if found is None:
        raise NotFound(f"no person {person_id!r}", code="person.not_found")
    scheme_name, scheme, status, huiminbao, assistance, pid, born, sex, region, pre_existing, income = (
        found[:INSURED_COLUMNS]
    )
    if status != "active":
        raise Rejected(f"{person_id} has no active enrolment for {day.year}", code="enrolment.inactive")
    person = Person(
        person_id=pid,
        birth_date=born,
        sex=Sex(sex),
        region=region,
        scheme=InsuranceScheme(scheme),
        assistance_category=AssistanceCategory(assistance or AssistanceCategory.NONE.value),
        huiminbao=bool(huiminbao),
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


# --- bulk import ---

IMPORT_REQUIRED = ("person_id", "ric", "name", "region")
IMPORT_OPTIONAL = (
    "birth_date", "sex", "household_id", "employer_uscc", "pre_existing", "annual_income",
    "assistance_category", "scheme", "huiminbao", "wage",
)


class ImportRejected(YibaoError):
    """Every bad row of an import, each with its line number; nothing was written."""

    code = "import.invalid"

    def __init__(self, errors: list[InputError]) -> None:
        shown = "; ".join(e.message for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} bad row(s), nothing imported: {shown}{more}")
        self.errors = errors


def _flag(text: str) -> bool:
    low = text.strip().lower()
    if low in {"true", "1", "yes"}:
        return True
    if low in {"", "false", "0", "no"}:
        return False
    raise ValueError(f"not true/false: {text!r}")


def import_persons(session: Session, actor: Actor, text: str, year: int, file_name: str = "persons.csv") -> int:
    """Register (and enrol, where a `scheme` is given, for `year`) every row of a CSV, or none of them."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in IMPORT_REQUIRED if c not in header]
    if missing:
        raise ImportRejected([InputError(f"missing column(s) {', '.join(missing)}", file=file_name, line=1)])
    unknown = [c for c in header if c not in IMPORT_REQUIRED + IMPORT_OPTIONAL]
    if unknown:
        raise ImportRejected([InputError(f"unknown column(s) {', '.join(unknown)}", file=file_name, line=1)])
    errors: list[InputError] = []
    seen_ids: set[str] = set()
    seen_rics: set[str] = set()
    count = 0
    for raw in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        try:
            with session.begin_nested():  # a bad row leaves nothing behind; the batch fails as a whole below
                _import_row(session, actor, values, year, seen_ids, seen_rics)
            count += 1
        except ValidationError as exc:
            first = exc.errors()[0]
            column = str(first["loc"][0]) if first["loc"] else None
            errors.append(InputError(first["msg"], file=file_name, line=line, column=column))
        except YibaoError as exc:
            errors.append(InputError(exc.message, file=file_name, line=line, code=exc.code))
        except ValueError as exc:
            errors.append(InputError(str(exc), file=file_name, line=line))
    if errors:
        raise ImportRejected(errors)
    return count


def _import_row(
    session: Session, actor: Actor, values: dict[str, str], year: int, seen_ids: set[str], seen_rics: set[str]
) -> None:
    optional: Callable[[str], str | None] = lambda key: values.get(key) or None  # noqa: E731
    data = PersonIn(
        person_id=values["person_id"],
        ric=values["ric"],
        name=values["name"],
        region=values["region"],
        birth_date=optional("birth_date"),  # type: ignore[arg-type]
        sex=optional("sex"),  # type: ignore[arg-type]
        household_id=optional("household_id"),  # type: ignore[arg-type]
        employer_uscc=optional("employer_uscc"),
        pre_existing=_flag(values.get("pre_existing", "")),
        annual_income=values.get("annual_income") or "0",
    )
    number = stdnum_ric.compact(data.ric)
    if data.person_id in seen_ids or number in seen_rics:
        raise Rejected(f"person {data.person_id} / identity number {number} appears twice in the file", code="import.duplicate")
    seen_ids.add(data.person_id)
    seen_rics.add(number)
    add_person(session, actor, data)
    category = AssistanceCategory(values.get("assistance_category") or "none")
    if category is not AssistanceCategory.NONE:
        add_assistance(session, actor, data.person_id, AssistanceIn(category=category, valid_from=date(year, 1, 1)))
    if values.get("scheme"):
        enrol(
            session, actor, data.person_id,
            EnrolmentIn(
                year=year, scheme=InsuranceScheme(values["scheme"]), huiminbao=_flag(values.get("huiminbao", "")),
                wage=optional("wage"),
            ),
        )
