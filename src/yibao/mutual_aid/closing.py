"""A plan's closure over the store: the decision, finishing (the final period, payouts, members removed, the
pool brought to zero, the closure disclosure), and members' answers to the conversion offer.

The rules are `yibao.mutual_aid.closure`. Each step is one transaction in the caller's session, audited; a
refusal writes nothing. Ledger accounts as for periods (region = plan id). The conversion policy is kept in
the closure's data (`mutual_aid_conversions`: policy id, product, dates, premium) with the product's
`Policy` record (`yibao.products.benefits.Policy`): the products have no policy store yet. The premium the
platform pays is posted Dr platform fee (the platform's money) / Cr commercial insurer (sub = product).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.money import Fen, format_yuan
from yibao.mutual_aid import closure, membership, periods
from yibao.mutual_aid.claims import ClaimStatus
from yibao.mutual_aid.closure import ClosureStatus, ConversionOffer, Decision
from yibao.mutual_aid.disclosure import mask_name
from yibao.mutual_aid.files import summary_record
from yibao.mutual_aid.membership import MemberStatus
from yibao.mutual_aid.service import (
    change_member,
    member_record,
    member_row,
    pay,
    plan_row,
    rules,
)
from yibao.ops import audit, ledger, registry
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.store import utcnow
from yibao.ops.store_mutual_aid import MutualAidClaim, MutualAidClosure, MutualAidConversion, MutualAidMember
from yibao.products.benefits import Policy, PolicyStatus, eligible, premium_fen
from yibao.products.loader import BUILTIN_DIR, load_product
from yibao.products.model import Product


def builtin_product(product_id: str) -> Product:
    """A built-in product by id (never a path: the service reads no file it is named)."""
    known = sorted(p.name for p in BUILTIN_DIR.iterdir() if (p / "product.yaml").exists())
    if product_id not in known:
        raise NotFound(f"no built-in product {product_id!r} (built-in: {known})", code="product.not_found")
    return load_product(product_id)


def closure_row(session: Session, plan_id: str, *, lock: bool = False) -> MutualAidClosure:
    query = select(MutualAidClosure).where(MutualAidClosure.plan_id == plan_id)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound(f"plan {plan_id!r} has no closure decided", code="mutual_aid.no_closure")
    return row


def decide(session: Session, actor: Actor, plan_id: str, decision: Decision,
           offer: ConversionOffer | None = None) -> MutualAidClosure:
    """Record the regulatory decision that ends a plan: from its date nobody joins and no claim is filed."""
    plan = plan_row(session, plan_id, lock=True)
    if session.execute(select(MutualAidClosure.id).where(MutualAidClosure.plan_id == plan_id)).first() is not None:
        raise Conflict(f"plan {plan_id} already has a closure decided", code="mutual_aid.closure_exists")
    if decision.decided_on < plan.in_force_from:
        raise Rejected(f"the decision of {decision.decided_on} is before the plan was in force ({plan.in_force_from})",
                       code="mutual_aid.closure_invalid")
    with rules():
        decision.check()
        if offer is not None:
            offer.check(decision.decided_on)
    if offer is not None:
        builtin_product(offer.product)
    row = MutualAidClosure(
        plan_id=plan_id, decided_on=decision.decided_on, reference=decision.reference, text_en=decision.text_en,
        text_zh=decision.text_zh, source=decision.source, offer=None if offer is None else offer.as_json(),
        status=ClosureStatus.CLOSING.value, final_notice_date=None, closed_on=None, disclosure=None,
        decided_at=utcnow(), actor=actor.name,
    )
    audit.added(session, actor, "mutual_aid.closure.decided", "mutual_aid_closure", row)
    return row


def decision_of(row: MutualAidClosure) -> Decision:
    return Decision(row.decided_on, row.reference, row.text_en, row.text_zh, row.source)


def offer_of(row: MutualAidClosure) -> ConversionOffer | None:
    return None if row.offer is None else ConversionOffer.from_json(row.offer)


def _claims(session: Session, plan_id: str) -> list[MutualAidClaim]:
    return list(session.execute(select(MutualAidClaim).where(MutualAidClaim.plan_id == plan_id)
                                .order_by(MutualAidClaim.id)).scalars())


def finish(session: Session, actor: Actor, plan_id: str, notice_date: dt.date, day: dt.date,
           data_dir: str | Path) -> MutualAidClosure:
    """Close the plan: apportion the final period (notice `notice_date`) among the members protected at its
    cut-off, pay every claim it (or an earlier period) funded, end every active membership (failed deductions
    written off), bring the pool to zero (a shortfall borne by the platform) and publish the closure disclosure."""
    row = closure_row(session, plan_id, lock=True)
    if row.status != ClosureStatus.CLOSING.value:
        raise Conflict(f"plan {plan_id} closed on {row.closed_on}", code="mutual_aid.plan_already_closed")
    if notice_date < row.decided_on or day < notice_date:
        raise Rejected(f"the final period {notice_date} must be on or after the decision ({row.decided_on}) and "
                       f"the closing day {day} on or after it", code="mutual_aid.closure_invalid")
    claims_before = _claims(session, plan_id)
    waiting = [str(c.id) for c in claims_before
               if c.status == ClaimStatus.NOTICED.value and c.apportioned_in is None
               and c.noticed_on is not None and c.noticed_on > notice_date]
    left = (*closure.pending((str(c.id), ClaimStatus(c.status)) for c in claims_before), *waiting)
    if left:
        raise Rejected(f"claims {', '.join(left)} of {plan_id} are not finished: investigate, review, notice, "
                       "decide or deny them first", code="mutual_aid.claims_pending")
    period = periods.apportion(session, actor, plan_id, notice_date, data_dir)
    paid: list[MutualAidClaim] = []
    for claim in _claims(session, plan_id):
        if claim.status == ClaimStatus.NOTICED.value and claim.apportioned_in is not None:
            paid.append(pay(session, actor, claim.id, day))
    active = list(session.execute(
        select(MutualAidMember).where(MutualAidMember.plan_id == plan_id,
                                      MutualAidMember.status == MemberStatus.ACTIVE.value)
        .order_by(MutualAidMember.id).with_for_update()).scalars())
    written_off: Fen = 0
    for member in active:
        amount = periods._write_off(session, actor, member, day)
        written_off += amount
        with rules():
            ended, _ = membership.close(member_record(member), day)
        change_member(session, actor, member, ended, "mutual_aid.member.closed", written_off=format_yuan(amount))
    balance = periods.pool_balance(session, plan_id)
    entry = closure.residual_entry(plan_id, balance)
    if entry is not None:
        ledger.post(session, actor, entry.kind, entry.reference, entry.description,
                    [Line(Account(plan_id, day.year, periods.ACCOUNT_KIND[line.account], line.sub), line.amount)
                     for line in entry.lines])
    residual = closure.residual_of(balance)
    # finished since the decision: paid or denied, the last step on or after the decision date
    finished = [c for c in _claims(session, plan_id) if c.status in (ClaimStatus.PAID.value, ClaimStatus.DENIED.value)
                and dt.date.fromisoformat(c.history[-1]["day"]) >= row.decided_on]
    summary = periods.disclosure_of(session, period).totals()
    offer = offer_of(row)
    texts = {lang: closure.statement(lang, plan=plan_id, decision=decision_of(row), closed_on=day, summary=summary,
                                     finished=len(finished), closed=len(active), residual=residual,
                                     residual_amount=balance, offer=offer) for lang in ("en", "zh")}
    before = audit.snapshot(row)
    row.status, row.final_notice_date, row.closed_on = ClosureStatus.CLOSED.value, notice_date, day
    row.disclosure = {
        "plan": plan_id, "closed_on": day.isoformat(),
        "decision": {"decided_on": row.decided_on.isoformat(), "reference": row.reference,
                     "text": {"en": row.text_en, "zh": row.text_zh}, "source": row.source},
        "statement": texts,
        "final_period": summary,
        "final_period_record": summary_record(periods.summary_of(period)),
        "claims_paid": [_claim_line(c) for c in paid],
        "claims_finished": [_claim_line(c) for c in finished],
        "members_closed": len(active), "written_off": format_yuan(written_off),
        "residual": {"kind": residual.value, "amount": format_yuan(abs(balance))},
        "offer": None if offer is None else offer.as_json(),
    }
    session.flush()
    audit.record(session, actor, "mutual_aid.closure.closed", "mutual_aid_closure", row.id, before, audit.snapshot(row))
    return row


def _claim_line(claim: MutualAidClaim) -> dict[str, Any]:
    return {"claim_id": claim.id, "member": mask_name(claim.member_name), "illness": claim.illness_name,
            "amount": format_yuan(claim.amount), "status": claim.status,
            "paid_on": claim.paid_on and claim.paid_on.isoformat()}


def closure_view(row: MutualAidClosure) -> dict[str, Any]:
    """What everyone sees: the decision, the offer, and once closed the closure disclosure (zh + en)."""
    return {
        "plan_id": row.plan_id, "status": row.status, "decided_on": row.decided_on.isoformat(),
        "reference": row.reference, "text": {"en": row.text_en, "zh": row.text_zh}, "source": row.source,
        "offer": row.offer, "final_notice_date": row.final_notice_date and row.final_notice_date.isoformat(),
        "closed_on": row.closed_on and row.closed_on.isoformat(), "disclosure": row.disclosure,
    }


def closures(session: Session) -> list[MutualAidClosure]:
    return list(session.execute(select(MutualAidClosure).order_by(MutualAidClosure.decided_on.desc())).scalars())


# --- the conversion offer --------------------------------------------------------------------------------------


def conversion_policy(offer: ConversionOffer, product: Product, member_id: int, person_id: str,
                      birth_date: dt.date) -> Policy:
    """The policy an acceptance gives: the offer's product from its start for its free years, at the premium of the
    member's age band at the start (which the platform pays)."""
    return Policy(f"conv-{member_id}", person_id, product.id, offer.policy_start, offer.policy_end(),
                  premium_fen(product, birth_date, offer.policy_start), PolicyStatus.ACTIVE)


def answer(session: Session, actor: Actor, member_id: int, accept: bool, day: dt.date) -> MutualAidConversion:
    """A member of a closing or closed plan accepts or declines the conversion offer (once, by its date)."""
    member = member_row(session, member_id, lock=True)
    row = closure_row(session, member.plan_id)
    offer = offer_of(row)
    if offer is None:
        raise Rejected(f"the closure of {member.plan_id} made no conversion offer", code="mutual_aid.no_offer")
    if day < row.decided_on or day > offer.accept_by:
        raise Rejected(f"the offer is open from {row.decided_on} to {offer.accept_by}", code="mutual_aid.offer_closed")
    if member.status not in (MemberStatus.ACTIVE.value, MemberStatus.CLOSED.value):
        raise Rejected(f"member {member_id} is {member.status}: the offer is to the members at closure",
                       code="mutual_aid.not_a_member")
    if session.execute(select(MutualAidConversion.id).where(MutualAidConversion.member_id == member_id)).first():
        raise Conflict(f"member {member_id} has already answered the offer", code="mutual_aid.already_answered")
    person = registry.person(session, member.person_id)
    product = builtin_product(offer.product)
    conversion = MutualAidConversion(closure_id=row.id, member_id=member_id, person_id=member.person_id,
                                     accepted=accept, day=day, policy_id=None, product=None, start_date=None,
                                     end_date=None, premium=0, actor=actor.name)
    if accept:
        # the offer is to the members as they were (a health declaration at joining): pre-existing is not asked again
        refusal = eligible(product, birth_date=person.birth_date, region=person.region, scheme="",
                           assistance_category="", pre_existing=False, start=offer.policy_start)
        if refusal is not None and refusal != "scheme":
            raise Rejected(f"member {member_id} may not hold {product.id} from {offer.policy_start}: {refusal}",
                           code="mutual_aid.offer_ineligible")
        policy = conversion_policy(offer, product, member_id, person.person_id, person.birth_date)
        conversion.policy_id, conversion.product = f"{member.plan_id[:40]}:{policy.policy_id}", policy.product
        conversion.start_date, conversion.end_date, conversion.premium = policy.start_date, policy.end_date, policy.premium_paid
        ledger.post(session, actor, "mutual_aid.conversion", f"{member.plan_id}:conversion:{member_id}",
                    f"free {offer.free_years}-year policy of {product.id} for member {member_id}: premium paid by the platform", [
                        Line(Account(member.plan_id, offer.policy_start.year, AccountKind.MUTUAL_AID_PLATFORM_FEE), policy.premium_paid),
                        Line(Account(member.plan_id, offer.policy_start.year, AccountKind.COMMERCIAL_INSURER, product.id),
                             -policy.premium_paid),
                    ])
    audit.added(session, actor, "mutual_aid.conversion.answered", "mutual_aid_conversion", conversion)
    return conversion


def conversion_view(row: MutualAidConversion) -> dict[str, Any]:
    return {"member_id": row.member_id, "person_id": row.person_id, "accepted": row.accepted, "day": row.day.isoformat(),
            "policy_id": row.policy_id, "product": row.product,
            "start_date": row.start_date and row.start_date.isoformat(),
            "end_date": row.end_date and row.end_date.isoformat(), "premium": format_yuan(row.premium),
            "premium_paid_by": "platform" if row.accepted else None}


def conversions(session: Session, plan_id: str) -> list[MutualAidConversion]:
    row = closure_row(session, plan_id)
    return list(session.execute(select(MutualAidConversion).where(MutualAidConversion.closure_id == row.id)
                                .order_by(MutualAidConversion.member_id)).scalars())
