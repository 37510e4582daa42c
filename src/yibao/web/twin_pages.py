"""`/bureau/twin/`: cases of the Twin contribution-evasion check (yibao.ops.twin_cases, docs/audit.md).

An officer of the employer's region opens a case from the Twin check's flags file (`yibao audit twin`'s
flags.csv: the employer's rows are taken), records the inspection's outcome — confirmed, explained or dismissed,
with a note — sees the receivable posted on confirmation, and registers and enrols an uninsured worker of a
confirmed case. Auditors (and admin) read every region's cases; a case outside an officer's regions is answered as
missing. A refusal is shown next to the field it concerns, in the user's language, and nothing is stored."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from yibao.core.errors import YibaoError
from yibao.core.money import parse_yuan
from yibao.http.deps import check_region
from yibao.ops import twin_cases
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound
from yibao.ops.schemas import PersonIn
from yibao.ops.store import Employer, utcnow
from yibao.ops.store_audit import TwinCase
from yibao.ops.twin_cases import CaseStatus, FlaggedWorker
from yibao.web import session
from yibao.web.messages import N_, field_errors, message, of_error
from yibao.web.render import in_store, redirect, render, texts_of

router = APIRouter(prefix="/bureau/twin")
READERS = (Role.OFFICER, Role.AUDITOR, Role.ADMIN)
ACTORS = (Role.OFFICER, Role.ADMIN)
MAX_FILE = 5 * 1024 * 1024  # bytes of a flags file (10,000 rows of flags.csv are well under 2 MB)
COLUMNS = ("inspection_id", "employer_uscc", "kind", "person_id", "observed_wage", "monthly_shortfall", "months",
           "contributions_due", "late_fee")
OPTIONAL = ("ric", "name")  # the observed identity, when the inspection file's rows are joined in

# statuses and flag kinds as a person reads them
LABELS = {
    "open": N_("open"), "confirmed": N_("evasion confirmed"), "explained": N_("explained"),
    "dismissed": N_("dismissed"), "uninsured_worker": N_("uninsured worker"),
    "under_declared_base": N_("under-declared base"),
}
DONE = {
    "opened": N_("The case was opened."),
    "outcome": N_("The outcome was recorded."),
    "enrolled": N_("The worker was enrolled; the year's contributions fall due."),
}
# which field of the open form a service's refusal concerns
OPEN_FIELD = {"employer.not_found": "employer_uscc", "twin.case_exists": "employer_uscc"}
ENROL_FIELD = {"person.bad_ric": "ric", "person.birth_date_mismatch": "ric", "person.sex_mismatch": "ric",
               "person.exists": "person_id"}


class FlagsFileError(Exception):
    """A flags file that cannot be read: the catalogue's code, and where (line, column) when a row is at fault."""

    def __init__(self, code: str, line: int = 0, column: str = "") -> None:
        super().__init__(code)
        self.code, self.line, self.column = code, line, column


def _scope(who: Principal) -> tuple[str, ...] | None:
    return who.regions if who.role is Role.OFFICER else None


def _text(form: FormData, key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def read_flags(data: bytes, uscc: str) -> list[FlaggedWorker]:
    """The rows of a flags.csv for one employer; a missing column or a malformed row names its line and column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FlagsFileError("web.flags_file") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise FlagsFileError("web.flags_file", 1, missing[0])
    flags = []
    for row in reader:
        line = reader.line_num
        if (row.get("employer_uscc") or "").strip() != uscc:
            continue
        for column in ("observed_wage", "monthly_shortfall", "contributions_due", "late_fee"):
            try:
                parse_yuan((row[column] or "").strip())
            except ValueError:
                raise FlagsFileError("twin.bad_amount", line, column) from None
        try:
            months = int((row["months"] or "").strip())
        except ValueError:
            raise FlagsFileError("twin.bad_months", line, "months") from None
        flags.append(FlaggedWorker(
            inspection_id=(row["inspection_id"] or "").strip(), kind=(row["kind"] or "").strip(),
            person_id=(row["person_id"] or "").strip() or None, observed_wage=row["observed_wage"].strip(),
            monthly_shortfall=row["monthly_shortfall"].strip(), months=months,
            contributions_due=row["contributions_due"].strip(), late_fee=row["late_fee"].strip(),
            ric=(row.get("ric") or "").strip()[:18], name=(row.get("name") or "").strip()[:200],
        ))  # fmt: skip
    return flags


def _cases(s: Session, who: Principal) -> list[dict[str, Any]]:
    return [twin_cases.view(s, row) for row in twin_cases.cases(s, _scope(who))]


async def _list_page(request: Request, who: Principal, *, errors: dict[str, str] | None = None,
                     form: dict[str, Any] | None = None, done: str = "") -> Response:
    shown = await in_store(request, lambda s: _cases(s, who))
    texts = texts_of(request)
    return render(request, "twin_cases.html", who=who, title=texts.gettext("Twin check cases"), cases=shown,
                  errors=errors or {}, form=form or {}, done=texts.gettext(DONE[done]) if done in DONE else "",
                  may_act=who.role in ACTORS, this_year=utcnow().year, status_label=_labeller(request))


def _labeller(request: Request) -> Any:
    texts = texts_of(request)
    return lambda code: texts.gettext(LABELS[code]) if code in LABELS else str(code)


@router.get("/")
async def cases_page(request: Request, done: str = "") -> Response:
    who = session.signed_in(request, *READERS)
    return await _list_page(request, who, done=done)


@router.post("/cases")
async def open_case(request: Request) -> Response:
    """Open a case for an employer of the officer's regions from the Twin check's flags file."""
    who = session.signed_in(request, *ACTORS)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    uscc, year_text, upload = _text(form, "employer_uscc"), _text(form, "year"), form.get("flags")
    shown = {"employer_uscc": uscc, "year": year_text}
    errors: dict[str, str] = {}
    if not uscc:
        errors["open-employer_uscc"] = message(texts, "web.required")
    if not year_text.isdigit() or not 2000 <= int(year_text) <= 2100:
        errors["open-year"] = message(texts, "web.required" if not year_text else "web.invalid")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["open-flags"] = message(texts, "web.required")
    if errors:
        return await _list_page(request, who, errors=errors, form=shown)
    assert isinstance(upload, UploadFile)
    data = await upload.read(MAX_FILE + 1)
    try:
        if len(data) > MAX_FILE:
            raise FlagsFileError("web.flags_file")
        flags = read_flags(data, uscc)
    except FlagsFileError as exc:
        text = message(texts, exc.code)
        if exc.line:
            text = texts.gettext("{error} (line {line}, column {column})", error=text, line=exc.line,
                                 column=exc.column)
        return await _list_page(request, who, errors={"open-flags": text}, form=shown)

    def run(s: Session) -> int:
        employer = twin_cases.employer_of(s, uscc)
        check_region(who, employer.region, NotFound(f"no employer {uscc!r}", code="employer.not_found"))
        return twin_cases.open_case(s, who.actor, uscc, int(year_text), flags).id

    try:
        case_id = await in_store(request, run)
    except YibaoError as exc:
        field = OPEN_FIELD.get(exc.code, "flags")
        return await _list_page(request, who, errors={f"open-{field}": of_error(texts, exc)}, form=shown)
    return redirect(f"/bureau/twin/cases/{case_id}?done=opened")


def _case(s: Session, who: Principal, case_id: int) -> TwinCase:
    """A case of the caller's regions; one outside them (or a number no row can have) is answered as missing."""
    if not 0 < case_id < 2**63:
        raise NotFound(f"no Twin case {case_id}", code="twin.case_not_found")
    row = twin_cases.case(s, case_id)
    check_region(who, row.region, NotFound(f"no Twin case {case_id}", code="twin.case_not_found"))
    return row


def _dossier(s: Session, who: Principal, case_id: int) -> dict[str, Any]:
    row = _case(s, who, case_id)
    employer = s.get_one(Employer, row.employer_id)
    rics = {w.inspection_id: w.ric for w in twin_cases.workers(s, row.id)}  # as observed, to register a worker
    return {"case": twin_cases.view(s, row), "row": row, "employer": employer, "rics": rics}


async def _case_page(request: Request, who: Principal, case_id: int, *, errors: dict[str, str] | None = None,
                     form: dict[str, Any] | None = None, done: str = "", failed: str = "") -> Response:
    dossier = await in_store(request, lambda s: _dossier(s, who, case_id))
    texts = texts_of(request)
    title = texts.gettext("Twin case {id}: {employer}", id=case_id, employer=dossier["employer"].name)
    return render(request, "twin_case.html", who=who, title=title, errors=errors or {}, form=form or {},
                  done=texts.gettext(DONE[done]) if done in DONE else "", may_act=who.role in ACTORS,
                  failed=failed,
                  status_label=_labeller(request), outcomes=[o.value for o in twin_cases.OUTCOMES], **dossier)


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: int, done: str = "") -> Response:
    who = session.signed_in(request, *READERS)
    return await _case_page(request, who, case_id, done=done)


@router.post("/cases/{case_id}/outcome")
async def record_outcome(request: Request, case_id: int) -> Response:
    who = session.signed_in(request, *ACTORS)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    outcome, note = _text(form, "outcome"), _text(form, "note")
    if outcome not in {o.value for o in twin_cases.OUTCOMES}:
        return await _case_page(request, who, case_id, errors={"outcome-outcome": message(texts, "web.choice")},
                                form=dict(form))

    def run(s: Session) -> None:
        _case(s, who, case_id)
        twin_cases.record_outcome(s, who.actor, case_id, CaseStatus(outcome), note[:2000])

    try:
        await in_store(request, run)
    except YibaoError as exc:
        return await _case_page(request, who, case_id, errors={"outcome-outcome": of_error(texts, exc)},
                                form=dict(form))
    return redirect(f"/bureau/twin/cases/{case_id}?done=outcome")


@router.post("/cases/{case_id}/workers/{inspection_id}/enrolment")
async def enrol_worker(request: Request, case_id: int, inspection_id: str) -> Response:
    """Register (when the registry does not know them) and enrol an uninsured worker of a confirmed case."""
    who = session.signed_in(request, *ACTORS)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    key = f"enrol-{inspection_id}"

    def run(s: Session) -> None:
        row = _case(s, who, case_id)
        person = None
        if "person_id" in form:  # a worker the registry does not know: the form registers them
            person = PersonIn.model_validate({"person_id": _text(form, "person_id"), "ric": _text(form, "ric"),
                                              "name": _text(form, "name"), "region": row.region})
        twin_cases.enrol_worker(s, who.actor, case_id, inspection_id, person)

    try:
        await in_store(request, run)
    except ValidationError as exc:
        errors = {f"{key}-{k}": v for k, v in field_errors(texts, exc).items()}
        return await _case_page(request, who, case_id, errors=errors, form=dict(form),
                                failed=inspection_id)
    except YibaoError as exc:
        field = ENROL_FIELD.get(exc.code, "form")
        return await _case_page(request, who, case_id, errors={f"{key}-{field}": of_error(texts, exc)},
                                form=dict(form), failed=inspection_id)
    return redirect(f"/bureau/twin/cases/{case_id}?done=enrolled")
