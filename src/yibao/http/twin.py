"""Twin check cases (docs/audit.md): an officer opens a case per flagged employer, records the outcome, and
enrols the uninsured workers of a confirmed case. Officers act in their regions; auditors read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from yibao.http.deps import check_region, require, store_of
from yibao.ops import twin_cases
from yibao.ops.auth import Principal, Role
from yibao.ops.schemas import Identifier, Note, PersonIn, RicText, RowId, ShortText, Uscc, Year, Yuan
from yibao.ops.store_audit import TwinCase
from yibao.ops.twin_cases import CaseStatus, FlaggedWorker

router = APIRouter(tags=["audit"])

Officer = Annotated[Principal, Depends(require(Role.OFFICER))]
Reader = Annotated[Principal, Depends(require(Role.OFFICER, Role.AUDITOR))]


class FlagIn(BaseModel):
    """A row of `yibao audit twin`'s flags.csv for the employer, with the observed identity if known."""

    inspection_id: Identifier
    kind: Identifier
    person_id: Identifier | None = None
    observed_wage: Yuan
    monthly_shortfall: Yuan
    months: int = Field(ge=0, le=12)
    contributions_due: Yuan
    late_fee: Yuan
    ric: RicText = ""
    name: ShortText = ""


class CaseIn(BaseModel):
    employer_uscc: Uscc
    year: Year
    flags: list[FlagIn] = Field(min_length=1, max_length=10_000)


class OutcomeIn(BaseModel):
    outcome: CaseStatus = Field(description="confirmed, explained or dismissed")
    note: Note = ""


class EnrolIn(BaseModel):
    person: PersonIn | None = Field(None, description="to register a worker the registry does not know")


def _case(s: Session, who: Principal, case_id: int) -> TwinCase:
    """The case, if in the caller's regions; else the same 404 as for a case that does not exist."""
    row = twin_cases.case(s, case_id)
    check_region(who, row.region, twin_cases.case_not_found(case_id))
    return row


@router.post("/audit/twin/cases", status_code=201)
def open_case(request: Request, body: CaseIn, who: Officer) -> dict[str, Any]:
    """Open a case for an employer's flagged observations of a year."""
    with store_of(request).transaction() as s:
        employer = twin_cases.employer_of(s, body.employer_uscc)
        check_region(who, employer.region, twin_cases.employer_not_found(body.employer_uscc))
        flags = [FlaggedWorker(**f.model_dump()) for f in body.flags]
        return twin_cases.view(s, twin_cases.open_case(s, who.actor, body.employer_uscc, body.year, flags))


@router.get("/audit/twin/cases/{case_id}")
def get_case(request: Request, case_id: RowId, who: Reader) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        row = _case(s, who, case_id)
        return twin_cases.view(s, row)


@router.post("/audit/twin/cases/{case_id}/outcome")
def record_outcome(request: Request, case_id: RowId, body: OutcomeIn, who: Officer) -> dict[str, Any]:
    """Confirmed, explained or dismissed; confirmed evasion posts the arrears and late fee as a receivable."""
    with store_of(request).transaction() as s:
        _case(s, who, case_id)
        return twin_cases.view(s, twin_cases.record_outcome(s, who.actor, case_id, body.outcome, body.note))


@router.post("/audit/twin/cases/{case_id}/workers/{inspection_id}/enrolment", status_code=201)
def enrol_worker(request: Request, case_id: RowId, inspection_id: Identifier, body: EnrolIn, who: Officer) -> dict[str, Any]:
    """Register (if needed) and enrol an uninsured worker of a confirmed case."""
    with store_of(request).transaction() as s:
        _case(s, who, case_id)
        twin_cases.enrol_worker(s, who.actor, case_id, inspection_id, body.person)
        return twin_cases.view(s, twin_cases.case(s, case_id))
