"""Enrolment: a person enrolled for a scheme-year (the year's contributions fall due), and the bulk import of
persons that registers and enrols every row of a CSV, or none.

Kept apart from `registry` (who exists) because enrolling posts contributions: `claims` reads the registry,
`contributions` re-settles claims when a person's cover changes, and enrolment sits above them all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric as stdnum_ric

from yibao.core.errors import InputError, YibaoError
from yibao.core.model import AssistanceCategory, InsuranceScheme
from yibao.core.money import parse_yuan
from yibao.ops import allocation, contributions
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.registry import add_assistance, add_person, assistance_on, created, person
from yibao.ops.schemas import AssistanceIn, EnrolmentIn, PersonIn
from yibao.ops.store import AccumulatorRow, Contribution, Enrolment, utcnow


def enrol(
    session: Session,
    actor: Actor,
    person_id: str,
    data: EnrolmentIn,
    on: date | None = None,
) -> Enrolment:
    """Enrol a person for a scheme-year by the region-year's contribution rules; the year's contributions fall due
    (on `on`, today if not given, kept within the year: the assistance category in force that day
    decides what medical assistance pays). Active once they are paid; a retiree, who owes nothing, at once, with
    the pooled fund's yearly credit to their individual account."""
    who = person(session, person_id)
    if session.execute(select(Enrolment).where(Enrolment.person_id == person_id, Enrolment.year == data.year)).first():
        raise Conflict(f"{person_id} is already enrolled for {data.year}", code="enrolment.exists")
    rules = contributions.rules_of(session, who.region, data.year)
    base = None
    if data.scheme is InsuranceScheme.UEBMI_EMPLOYEE:
        if data.wage is None:
            raise Rejected("a UEBMI employee's enrolment needs the yearly wage", code="enrolment.wage_missing")
        base = rules.contribution_base(parse_yuan(data.wage))
    due_on = min(max(on or utcnow().date(), date(data.year, 1, 1)), date(data.year, 12, 31))
    category = assistance_on(session, person_id, due_on)
    owed = contributions.dues(data.scheme, category, data.huiminbao, base, rules)
    public_owed = any(source is not contributions.ContributionSource.HUIMINBAO_PREMIUM for source, _ in owed)
    row = Enrolment(
        person_id=person_id, year=data.year, scheme=data.scheme.value,
        status="pending" if public_owed else "active", huiminbao=False, wage_base=base, cap_raise=0,
    )
    if not public_owed:
        contributions.activate(session, row, rules, [])
    created(session, actor, "enrolment", row, "id")
    for source, amount in owed:
        due = Contribution(
            enrolment_id=row.id, region=who.region, year=data.year, source=source.value, amount=amount,
            status=contributions.DUE,
        )
        created(session, actor, "contribution", due, "id")
        contributions.fall_due(session, actor, due, row)
    if data.scheme is InsuranceScheme.UEBMI_RETIREE:
        allocation.credit_retiree_account(session, actor, row, who.region, rules)
    session.add(AccumulatorRow(person_id=person_id, year=data.year, data={"year": data.year}, claims=0))
    return row


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


def import_persons(
    session: Session, actor: Actor, text: str, year: int, file_name: str = "persons.csv",
    in_scope: Callable[[str], bool] | None = None,
) -> int:
    """Register (and enrol, where a `scheme` is given, for `year`) every row of a CSV, or none of them.
    `in_scope(region)` says whether the importer may register persons in a region: it is asked of each row's
    region as the row is read (the value stored, after normalising), and a region outside it is reported on
    its line exactly as a region that does not exist."""
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
                _import_row(session, actor, values, year, seen_ids, seen_rics, in_scope)
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
    session: Session, actor: Actor, values: dict[str, str], year: int, seen_ids: set[str], seen_rics: set[str],
    in_scope: Callable[[str], bool] | None,
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
    if in_scope is not None and not in_scope(data.region):
        raise NotFound(f"no region {data.region!r}", code="region.not_found")
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
