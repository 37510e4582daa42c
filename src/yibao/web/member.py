"""`/m/`: a member on their phone — e-card, enrolments and contributions (pay), claims with the per-layer split
and the explanation, household, mutual aid (membership, charges, claims, jury seats with a vote).

Every query is scoped to the signed-in member's own person id; a member never names another person here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from yibao.core.errors import YibaoError
from yibao.mutual_aid import periods
from yibao.mutual_aid import service as mutual_aid
from yibao.ops import cards, contributions, family, lists, registry
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound
from yibao.ops.privacy import mask_ric
from yibao.ops.store import utcnow
from yibao.web import session
from yibao.web.messages import N_, message, of_error
from yibao.web.render import in_store, redirect, render, secret, texts_of

router = APIRouter(prefix="/m")


def _member(request: Request) -> tuple[Principal, str]:
    who = session.signed_in(request, Role.MEMBER)
    if who.person_id is None:  # an admin has no card, contributions or claims of their own
        raise NotFound("this page is a member's own", code="person.not_found")
    return who, who.person_id


@dataclass(frozen=True)
class MemberView:
    person: Any
    masked_ric: str
    card: dict[str, str] | None
    enrolments: list[Any]
    contributions: list[Any]
    payable: frozenset[int]
    claims: list[Any]
    household: list[Any]
    memberships: list[dict[str, Any]]
    account: dict[str, Any]  # the individual account: balance, what may be spent (own + shared), movements


def _view(s: Session, card_secret: str, person_id: str) -> MemberView:
    person = registry.person(s, person_id)
    live = cards.live_card(s, person_id)
    card = None
    if live is not None:
        token = cards.token_of(card_secret, live)
        card = {"jti": live.jti, "token": token, "qr_svg": cards.qr_svg(token), "expires_at": live.expires_at.isoformat()}
    dues = contributions.of_person(s, person_id)
    payable = frozenset(c.id for c in dues if c.status == contributions.DUE and c.source in contributions.MEMBER_PAYS)
    memberships = []
    for row in mutual_aid.members_of(s, person_id=person_id):
        memberships.append({
            "member": row, "title": mutual_aid.plan_of(mutual_aid.plan_row(s, row.plan_id)).title,
            "charges": periods.member_charges(s, row.id),
            "claims": [mutual_aid.claim_view(s, c) for c in mutual_aid.claims_of(s, member_id=row.id)],
            "seats": mutual_aid.jury_seats(s, row.id),
        })
    return MemberView(
        person=person, masked_ric=mask_ric(person.ric), card=card, enrolments=registry.enrolments_of(s, person_id),
        contributions=dues, payable=payable, claims=lists.claims_of_person(s, person_id),
        household=[(p, registry.enrolment(s, p.person_id, utcnow().year)) for p in registry.household_members(s, person_id)],
        memberships=memberships, account=_account(s, person_id),
    )


def _account(s: Session, person_id: str) -> dict[str, Any]:
    shared = family.available(s, person_id, lock=False)
    return {"balance": shared[0][1], "available": sum(max(b, 0) for _, b in shared),
            "shared": [(h, b) for h, b in shared[1:]], "movements": family.movements(s, person_id, limit=50)}


def _page(request: Request, who: Principal, view: MemberView, *, status: int = 200, notice: str = "",
          errors: dict[str, str] | None = None) -> Response:
    texts = texts_of(request)
    return render(request, "member.html", status=status, who=who, title=texts.gettext("My insurance"), v=view,
                  notice=notice, errors=errors or {}, sandbox=request.app.state.payment_sandbox,
                  this_year=utcnow().year)


NOTICES = {"paid": N_("Payment received: the contribution is paid."), "failed": N_("The payment failed; nothing was charged."),
           "card": N_("Your e-card was refreshed."), "voted": N_("Your vote was recorded.")}


@router.get("/")
async def member_home(request: Request, done: str | None = None) -> Response:
    who, person_id = _member(request)
    view = await in_store(request, lambda s: _view(s, secret(request, "card_secret"), person_id))
    texts = texts_of(request)
    return _page(request, who, view, notice=texts.gettext(NOTICES[done]) if done in NOTICES else "")


@router.post("/card")
async def refresh_card(request: Request) -> Response:
    """Issue a fresh e-card (the old one stays valid until it expires, as the API's card issue does)."""
    who, person_id = _member(request)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    await in_store(request, lambda s: cards.issue(s, who.actor, secret(request, "card_secret"), person_id))
    return redirect("/m/?done=card#card")


@router.post("/contributions/{contribution_id}/pay")
async def start_payment(request: Request, contribution_id: int) -> Response:
    """Start paying a contribution the member owes, through the configured channel (the demo's sandbox)."""
    who, person_id = _member(request)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    owed = await in_store(request, lambda s: own_payable(s, person_id, contribution_id))
    if not request.app.state.payment_sandbox or not owed:
        view = await in_store(request, lambda s: _view(s, secret(request, "card_secret"), person_id))
        if owed:  # next to the contribution's own pay button
            return _page(request, who, view, errors={f"pay-{contribution_id}": message(texts, "web.no_channel")})
        return _page(request, who, view, errors={"pay": message(texts, "web.not_payable")})
    return redirect(f"/sandbox/pay/{contribution_id}")


def own_payable(s: Session, person_id: str, contribution_id: int) -> bool:
    """Whether the contribution is one of this person's own, still due and theirs to pay."""
    return contribution_id in {
        c.id for c in contributions.of_person(s, person_id)
        if c.status == contributions.DUE and c.source in contributions.MEMBER_PAYS
    }


@router.post("/jury/{claim_id}/vote")
async def vote(request: Request, claim_id: int) -> Response:
    """A seated juror's vote, cast by the member for one of their own memberships."""
    who, person_id = _member(request)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    choice = str(form.get("pays", ""))
    try:
        member_id = int(str(form.get("member_id", "")))
    except ValueError:
        member_id = 0

    def work(s: Session) -> None:
        own = {m.id for m in mutual_aid.members_of(s, person_id=person_id)}
        if member_id not in own:
            raise NotFound("no such membership", code="mutual_aid.not_a_juror")
        if choice not in ("yes", "no"):
            raise YibaoError("choose", code="web.choice")
        mutual_aid.cast_vote(s, who.actor, claim_id, member_id, choice == "yes", utcnow().date())

    try:
        await in_store(request, work)
    except YibaoError as exc:
        view = await in_store(request, lambda s: _view(s, secret(request, "card_secret"), person_id))
        return _page(request, who, view, errors={f"vote-{claim_id}": of_error(texts, exc)})
    return redirect("/m/?done=voted#mutual-aid")
