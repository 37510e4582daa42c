"""`/bureau/`: the single window of a bureau officer (their regions only), read by an auditor, all of it by admin —
find a person, one page per person across every scheme with the officer's actions (enrol, assistance category,
counter payment, card issue / revoke, claim reversal), the ledger's trial balance and each account's entries for
a region-year, and the audit log (auditor, admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from yibao.core.errors import YibaoError
from yibao.http.deps import check_region
from yibao.mutual_aid import service as mutual_aid
from yibao.ops import audit, cards, claims, contributions, enrolment, ledger, lists, registry
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound
from yibao.ops.privacy import mask_ric
from yibao.ops.schemas import AssistanceIn, EnrolmentIn
from yibao.ops.store import Card, Contribution, PersonRow, utcnow
from yibao.web import session
from yibao.web.messages import N_, field_errors, of_error
from yibao.web.render import in_store, redirect, render, secret, texts_of

router = APIRouter(prefix="/bureau")
READERS = (Role.OFFICER, Role.AUDITOR)


def _regions(who: Principal) -> tuple[str, ...] | None:
    """The regions a caller's searches cover: an officer's own; auditor and admin every region (None)."""
    return who.regions if who.role is Role.OFFICER else None


def _person(s: Session, who: Principal, person_id: str) -> PersonRow:
    """A person in the caller's regions; one outside them is answered as missing (nothing is learnt)."""
    row = registry.person(s, person_id)
    regions = _regions(who)
    if regions is not None and row.region not in regions:
        raise NotFound(f"no person {person_id!r}", code="person.not_found")
    return row


@router.get("/")
async def search(request: Request, q: str = "") -> Response:
    who = session.signed_in(request, *READERS)
    found = await in_store(request, lambda s: registry.find_persons(s, q, _regions(who))) if q.strip() else []
    texts = texts_of(request)
    return render(request, "bureau_search.html", who=who, title=texts.gettext("Bureau single window"), q=q,
                  found=[(p, mask_ric(p.ric)) for p in found], searched=bool(q.strip()))


def _dossier(s: Session, who: Principal, person_id: str) -> dict[str, Any]:
    person = _person(s, who, person_id)
    members = mutual_aid.members_of(s, person_id=person_id)
    return {
        "person": person, "masked_ric": mask_ric(person.ric),
        "household": registry.household_members(s, person_id),
        "enrolments": registry.enrolments_of(s, person_id),
        "contributions": contributions.of_person(s, person_id),
        "assistance": registry.assistance_of(s, person_id),
        "cards": cards.of_person(s, person_id), "now": utcnow(),
        "claims": lists.claims_of_person(s, person_id),
        "memberships": [(m, [mutual_aid.claim_view(s, c) for c in mutual_aid.claims_of(s, member_id=m.id)]) for m in members],
    }


async def _person_page(request: Request, who: Principal, person_id: str, *, errors: dict[str, str] | None = None,
                       notice: str = "", form: dict[str, Any] | None = None, issued: str = "") -> Response:
    dossier = await in_store(request, lambda s: _dossier(s, who, person_id))
    texts = texts_of(request)
    return render(request, "bureau_person.html", who=who, title=dossier["person"].name, errors=errors or {},
                  notice=notice, form=form or {}, issued=issued, may_act=who.role in (Role.OFFICER, Role.ADMIN),
                  this_year=utcnow().year, texts=texts, **dossier)


@router.get("/persons/{person_id}")
async def person_page(request: Request, person_id: str, done: str = "") -> Response:
    who = session.signed_in(request, *READERS)
    texts = texts_of(request)
    return await _person_page(request, who, person_id, notice=texts.gettext(DONE[done]) if done in DONE else "")


DONE = {
    "enrolled": N_("The person was enrolled; the year's contributions fall due."),
    "assistance": N_("The assistance category was recorded."),
    "paid": N_("The payment was recorded."),
    "card": N_("A card was issued."),
    "revoked": N_("The card was revoked."),
    "reversed": N_("The claim was reversed."),
}


async def _act(request: Request, person_id: str, action: str, work: Any, *, field: str) -> Response:
    """Run an officer's action on a person in one transaction; on a refusal the page shows the message next to
    the action's field and nothing was stored."""
    who = session.signed_in(request, Role.OFFICER)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)

    def run(s: Session) -> None:
        check_region(who, _person(s, who, person_id).region)
        work(s, who, form)

    try:
        await in_store(request, run)
    except ValidationError as exc:
        errors = {f"{action}-{k}": v for k, v in field_errors(texts, exc).items()}
        return await _person_page(request, who, person_id, errors=errors, form=dict(form))
    except YibaoError as exc:
        return await _person_page(request, who, person_id, errors={f"{action}-{field}": of_error(texts, exc)},
                                  form=dict(form))
    return redirect(f"/bureau/persons/{person_id}?done={DONE_KEYS[action]}")


DONE_KEYS = {"enrol": "enrolled", "assistance": "assistance", "pay": "paid", "card": "card", "revoke": "revoked",
             "reverse": "reversed"}


def _text(form: FormData, key: str) -> str:
    return str(form.get(key, "")).strip()


@router.post("/persons/{person_id}/enrolments")
async def enrol(request: Request, person_id: str) -> Response:
    def work(s: Session, who: Principal, form: FormData) -> None:
        data = EnrolmentIn(year=_text(form, "year"), scheme=_text(form, "scheme"),  # type: ignore[arg-type]
                           huiminbao=form.get("huiminbao") == "on", wage=_text(form, "wage") or None)
        enrolment.enrol(s, who.actor, person_id, data)

    return await _act(request, person_id, "enrol", work, field="year")


@router.post("/persons/{person_id}/assistance")
async def assistance(request: Request, person_id: str) -> Response:
    def work(s: Session, who: Principal, form: FormData) -> None:
        data = AssistanceIn(category=_text(form, "category"), valid_from=_text(form, "valid_from"),  # type: ignore[arg-type]
                            valid_to=_text(form, "valid_to") or None)  # type: ignore[arg-type]
        registry.add_assistance(s, who.actor, person_id, data)

    return await _act(request, person_id, "assistance", work, field="valid_from")


@router.post("/persons/{person_id}/contributions/{contribution_id}/payment")
async def counter_payment(request: Request, person_id: str, contribution_id: int) -> Response:
    """A payment received at the bureau's counter: the amount due, under the receipt's reference."""

    def work(s: Session, who: Principal, form: FormData) -> None:
        due = s.get(Contribution, contribution_id)
        if due is None or due.id not in {c.id for c in contributions.of_person(s, person_id)}:
            raise NotFound(f"no contribution {contribution_id}", code="contribution.not_found")
        reference = _text(form, "reference")
        if not reference:
            raise YibaoError("reference", code="web.required")
        contributions.record_payment(s, who.actor, contribution_id, due.amount, contributions.Channel.COUNTER.value,
                                     reference)

    return await _act(request, person_id, "pay", work, field=str(contribution_id))


@router.post("/persons/{person_id}/cards")
async def issue_card(request: Request, person_id: str) -> Response:
    def work(s: Session, who: Principal, form: FormData) -> None:
        cards.issue(s, who.actor, secret(request, "card_secret"), person_id)

    return await _act(request, person_id, "card", work, field="issue")


@router.post("/persons/{person_id}/cards/{jti}/revoke")
async def revoke_card(request: Request, person_id: str, jti: str) -> Response:
    def work(s: Session, who: Principal, form: FormData) -> None:
        card = s.get(Card, jti)
        if card is None or card.person_id != person_id:
            raise NotFound(f"no card {jti}", code="card.not_found")
        cards.revoke(s, who.actor, jti)

    return await _act(request, person_id, "revoke", work, field=jti)


@router.post("/persons/{person_id}/claims/{claim_id}/reverse")
async def reverse_claim(request: Request, person_id: str, claim_id: str) -> Response:
    def work(s: Session, who: Principal, form: FormData) -> None:
        if claims.claim(s, claim_id).person_id != person_id:
            raise NotFound(f"no claim {claim_id}", code="claim.not_found")
        reason = _text(form, "reason")
        if not reason:
            raise YibaoError("reason", code="web.reason_required")
        claims.reverse(s, who.actor, claim_id, reason)

    return await _act(request, person_id, "reverse", work, field=claim_id)


@router.get("/ledger")
async def ledger_page(request: Request, region: str = "", year: int | None = None, account: str = "") -> Response:
    """The trial balance of a region-year (the caller's regions), and one account's entries when asked."""
    who = session.signed_in(request, *READERS)
    regions = _regions(who)
    year = year or utcnow().year
    shown_regions = list(regions) if regions is not None else await in_store(request, _all_regions)
    region = region if region in shown_regions else (shown_regions[0] if shown_regions else "")

    def work(s: Session) -> tuple[Any, list[Any]]:
        balance = ledger.trial_balance(s, region=region, year=year)
        rows = []
        if account and any(r.account == account for r in balance.rows):
            rows = ledger.postings_of(s, account)
        return balance, rows

    balance, postings = await in_store(request, work)
    texts = texts_of(request)
    return render(request, "bureau_ledger.html", who=who, title=texts.gettext("Ledger"), regions=shown_regions,
                  region=region, year=year, balance=balance, account=account, postings=postings)


def _all_regions(s: Session) -> list[str]:
    from sqlalchemy import select

    from yibao.ops.store import Region

    return list(s.execute(select(Region.code).order_by(Region.code)).scalars())


@router.get("/audit")
async def audit_page(request: Request, entity: str = "", entity_id: str = "") -> Response:
    who = session.signed_in(request, Role.AUDITOR)
    events = await in_store(request, lambda s: audit.events(s, entity or None, entity_id or None, limit=200, newest_first=True))
    texts = texts_of(request)
    return render(request, "bureau_audit.html", who=who, title=texts.gettext("Audit log"), events=events,
                  entity=entity, entity_id=entity_id)



def contracts_reconciled(s: Session, regions: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """The built-in serious-illness contracts of `regions` (None: all), each reconciled as posted, or else as the
    ledger stands now (`yibao.contracts.posting`: nothing written). The insurer's page shows them too."""
    from yibao.contracts import posting
    from yibao.contracts.loader import builtin_contracts, load_contract
    from yibao.contracts.reconcile import FIGURES, reconciliation_figures

    known = set(_all_regions(s))  # a built-in contract of a region this store does not run is not shown
    shown = []
    for name in builtin_contracts():
        contract = load_contract(name)
        if contract.region not in known or (regions is not None and contract.region not in regions):
            continue
        done = posting.posted(s, contract, contract.region, contract.year)
        rec = done.reconciliation if done is not None else posting.preview(s, contract, contract.region, contract.year)
        figures = reconciliation_figures(rec)
        shown.append({"contract": contract, "posted": done is not None, "enrollees": rec.experience.enrollees,
                      "claims": rec.experience.claims, "figures": [(key, figures[key]) for key, _ in FIGURES]})
    return shown


@router.get("/contracts")
async def contracts_page(request: Request) -> Response:
    who = session.signed_in(request, *READERS)
    shown = await in_store(request, lambda s: contracts_reconciled(s, _regions(who)))
    texts = texts_of(request)
    return render(request, "bureau_contracts.html", who=who, title=texts.gettext("Serious-illness contracts"),
                  contracts=shown)
