"""Cases of the Twin check in the operations service: one per flagged employer and year (docs/audit.md).

An officer opens a case with the employer's flagged observations as `yibao audit twin` wrote them
(flags.csv rows), records the inspection's outcome — confirmed, explained or dismissed — and, for
confirmed evasion, the employer's arrears and late fee are posted as a receivable from the employer:

    debit  region:year:contribution_receivable:employer:<USCC>   arrears + late fee
    credit region:year:contribution_income:employer_arrears       arrears
    credit region:year:contribution_income:late_fee               late fee

Workers found uninsured in a confirmed case are registered (if the registry does not know them) and
enrolled as UEBMI employees of the employer from the case, their yearly wage the observed monthly wage × 12.
Every change is audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.model import InsuranceScheme
from yibao.core.money import Fen, format_yuan, parse_yuan
from yibao.ops import audit, enrolment, ledger, registry
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.schemas import EnrolmentIn, PersonIn
from yibao.ops.store import Employer, utcnow
from yibao.ops.store_audit import TwinCase, TwinCaseWorker

ENTRY_KIND = "twin_arrears"
UNINSURED = "uninsured_worker"
UNDER_DECLARED = "under_declared_base"


class CaseStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    EXPLAINED = "explained"
    DISMISSED = "dismissed"


OUTCOMES = (CaseStatus.CONFIRMED, CaseStatus.EXPLAINED, CaseStatus.DISMISSED)


@dataclass(frozen=True, slots=True)
class FlaggedWorker:
    """One row of flags.csv (amounts in yuan text, as the file has them), plus the observed identity."""

    inspection_id: str
    kind: str
    person_id: str | None
    observed_wage: str
    monthly_shortfall: str
    months: int
    contributions_due: str
    late_fee: str
    ric: str = ""
    name: str = ""


def _fen(value: str, what: str) -> Fen:
    try:
        return parse_yuan(value)
    except ValueError:
        raise Rejected(f"{what}: {value!r} is not an amount in yuan", code="twin.bad_amount") from None


def _worker_row(flag: FlaggedWorker) -> TwinCaseWorker:
    if flag.kind not in (UNINSURED, UNDER_DECLARED):
        raise Rejected(f"{flag.inspection_id}: kind {flag.kind!r} is not a Twin flag", code="twin.bad_kind")
    if not 0 <= flag.months <= 12:
        raise Rejected(f"{flag.inspection_id}: months {flag.months} is not 0 to 12", code="twin.bad_months")
    return TwinCaseWorker(
        inspection_id=flag.inspection_id, kind=flag.kind, person_id=flag.person_id or None, ric=flag.ric,
        name=flag.name, monthly_wage=_fen(flag.observed_wage, "observed_wage"),
        monthly_shortfall=_fen(flag.monthly_shortfall, "monthly_shortfall"), months=flag.months,
        contributions_due=_fen(flag.contributions_due, "contributions_due"), late_fee=_fen(flag.late_fee, "late_fee"),
    )  # fmt: skip


def employer_not_found(uscc: str) -> NotFound:
    """The answer for an employer the registry does not know — and for one outside the caller's regions, alike."""
    return NotFound(f"no employer {uscc!r} in the registry", code="employer.not_found")


def case_not_found(case_id: int) -> NotFound:
    """The answer for a case that does not exist — and for one outside the caller's regions, alike."""
    return NotFound(f"no Twin case {case_id}", code="twin.case_not_found")


def employer_of(session: Session, uscc: str) -> Employer:
    row = session.execute(select(Employer).where(Employer.uscc == uscc)).scalar_one_or_none()
    if row is None:
        raise employer_not_found(uscc)
    return row


def open_case(session: Session, actor: Actor, uscc: str, year: int, flags: list[FlaggedWorker]) -> TwinCase:
    """A case for the employer's flagged observations of `year` (one case per employer and year)."""
    employer = employer_of(session, uscc)
    if not flags:
        raise Rejected("a case needs at least one flagged observation", code="twin.no_flags")
    if session.execute(select(TwinCase).where(TwinCase.employer_id == employer.id, TwinCase.year == year)).first():
        raise Conflict(f"{uscc} already has a case for {year}", code="twin.case_exists")
    workers = [_worker_row(f) for f in flags]
    if len({w.inspection_id for w in workers}) != len(workers):
        raise Rejected("an inspection_id appears twice", code="twin.duplicate_flag")
    case = TwinCase(
        employer_id=employer.id, region=employer.region, year=year, status=CaseStatus.OPEN.value,
        arrears=sum(w.contributions_due for w in workers), late_fee=sum(w.late_fee for w in workers),
        opened_at=utcnow(), opened_by=actor.name, outcome_note="",
    )  # fmt: skip
    audit.added(session, actor, "twin_case.opened", "twin_case", case)
    for worker in workers:
        worker.case_id = case.id
        session.add(worker)
    session.flush()
    return case


def case(session: Session, case_id: int) -> TwinCase:
    row = session.get(TwinCase, case_id)
    if row is None:
        raise case_not_found(case_id)
    return row


def cases(session: Session, regions: Sequence[str] | None = None, limit: int = 200) -> list[TwinCase]:
    """The newest cases first, of `regions` (None: every region)."""
    query = select(TwinCase)
    if regions is not None:
        query = query.where(TwinCase.region.in_(list(regions)))
    return list(session.execute(query.order_by(TwinCase.id.desc()).limit(limit)).scalars())


def workers(session: Session, case_id: int) -> list[TwinCaseWorker]:
    query = select(TwinCaseWorker).where(TwinCaseWorker.case_id == case_id).order_by(TwinCaseWorker.inspection_id)
    return list(session.execute(query).scalars())


def receivable_lines(row: TwinCase, uscc: str) -> list[Line]:
    """The receivable from the employer for confirmed evasion: arrears and late fee."""
    return [
        Line(Account(row.region, row.year, AccountKind.CONTRIBUTION_RECEIVABLE, f"employer:{uscc}"),
             row.arrears + row.late_fee),
        Line(Account(row.region, row.year, AccountKind.CONTRIBUTION_INCOME, "employer_arrears"), -row.arrears),
        Line(Account(row.region, row.year, AccountKind.CONTRIBUTION_INCOME, "late_fee"), -row.late_fee),
    ]  # fmt: skip


def record_outcome(session: Session, actor: Actor, case_id: int, outcome: CaseStatus, note: str) -> TwinCase:
    """Close an open case with the inspection's outcome; confirmed evasion posts the receivable."""
    row = case(session, case_id)
    if outcome not in OUTCOMES:
        raise Rejected(f"an outcome is one of {[o.value for o in OUTCOMES]}", code="twin.bad_outcome")
    if row.status != CaseStatus.OPEN.value:
        raise Conflict(f"case {case_id} is already {row.status}", code="twin.case_closed")
    before = audit.snapshot(row)
    row.status, row.outcome_note, row.closed_at, row.closed_by = outcome.value, note, utcnow(), actor.name
    if outcome is CaseStatus.CONFIRMED:
        uscc = session.get_one(Employer, row.employer_id).uscc
        description = f"Twin case {row.id}: contributions evaded by {uscc} in {row.year} and the late fee"
        row.entry_id = ledger.post(session, actor, ENTRY_KIND, f"twin_case:{row.id}", description,
                                   receivable_lines(row, uscc))  # fmt: skip
    session.flush()
    audit.record(session, actor, f"twin_case.{outcome.value}", "twin_case", row.id, before, audit.snapshot(row))
    return row


def enrol_worker(
    session: Session, actor: Actor, case_id: int, inspection_id: str, person: PersonIn | None
) -> TwinCaseWorker:
    """Enrol an uninsured worker of a confirmed case as a UEBMI employee of the employer for the case's year.

    A worker the registry knows (matched by the check) is enrolled as that person; otherwise `person` registers
    them first (identity number, name, region; the employer is the case's)."""
    row = case(session, case_id)
    if row.status != CaseStatus.CONFIRMED.value:
        raise Conflict(f"case {case_id} is {row.status}; workers are enrolled from confirmed cases",
                       code="twin.case_not_confirmed")  # fmt: skip
    worker = session.execute(
        select(TwinCaseWorker).where(TwinCaseWorker.case_id == case_id, TwinCaseWorker.inspection_id == inspection_id)
    ).scalar_one_or_none()
    if worker is None:
        raise NotFound(f"case {case_id} has no observation {inspection_id!r}", code="twin.worker_not_found")
    if worker.kind != UNINSURED:
        raise Rejected(f"{inspection_id} is {worker.kind}, not an uninsured worker", code="twin.not_uninsured")
    if worker.enrolled_person_id is not None:
        raise Conflict(f"{inspection_id} was enrolled as {worker.enrolled_person_id}", code="twin.already_enrolled")
    employer = session.get_one(Employer, row.employer_id)
    person_id = worker.person_id
    if person_id is None:
        if person is None:
            raise Rejected("this worker is not in the registry: give the person to register", code="twin.person_needed")
        person_id = registry.add_person(session, actor, person.model_copy(update={"employer_uscc": employer.uscc})).person_id
    else:
        known = registry.person(session, person_id)
        before = audit.snapshot(known)
        known.employer_id = employer.id
        session.flush()
        audit.record(session, actor, "person.employer_set", "person", person_id, before, audit.snapshot(known))
    yearly = format_yuan(worker.monthly_wage * 12)
    enrolment.enrol(session, actor, person_id,
                   EnrolmentIn(year=row.year, scheme=InsuranceScheme.UEBMI_EMPLOYEE, wage=yearly))  # fmt: skip
    before = audit.snapshot(worker)
    worker.enrolled_person_id = person_id
    session.flush()
    audit.record(session, actor, "twin_case.worker_enrolled", "twin_case_worker", worker.id, before,
                 audit.snapshot(worker))  # fmt: skip
    return worker


def view(session: Session, row: TwinCase) -> dict[str, object]:
    """A case as the API shows it (yuan with two decimals)."""
    employer = session.get_one(Employer, row.employer_id)
    return {
        "id": row.id, "employer_uscc": employer.uscc, "employer_name": employer.name, "region": row.region,
        "year": row.year, "status": row.status, "arrears": format_yuan(row.arrears),
        "late_fee": format_yuan(row.late_fee), "receivable": format_yuan(row.arrears + row.late_fee),
        "outcome_note": row.outcome_note, "entry_id": row.entry_id,
        "workers": [
            {
                "inspection_id": w.inspection_id, "kind": w.kind, "person_id": w.person_id, "name": w.name,
                "monthly_wage": format_yuan(w.monthly_wage), "monthly_shortfall": format_yuan(w.monthly_shortfall),
                "months": w.months, "contributions_due": format_yuan(w.contributions_due),
                "late_fee": format_yuan(w.late_fee), "enrolled_person_id": w.enrolled_person_id,
            }
            for w in workers(session, row.id)
        ],
    }  # fmt: skip

