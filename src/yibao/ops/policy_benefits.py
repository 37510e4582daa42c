"""Benefits paid under policies afterwards, on the member's submission: a settled bill's indemnity (products not
settled at the counter), a stay's daily allowance, an event's lump sum (once per policy). The arithmetic is `yibao.products.benefits`; this module stores and posts it.

A submission the policy pays nothing for is refused with its reason and nothing is written. An accepted one is
owed to the member: debit `insurer_claims:<product>` (claims incurred), credit `benefit_payable:<product>`;
paying it through a channel (idempotent on the payment reference) debits the payable and credits the channel's
bank account. Claims outstanding are the payable's credit balance; claims paid its debits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.core.model import PolicyCover
from yibao.core.money import Fen, format_yuan
from yibao.core.scalar import YearAccumulators, canonical_key, settle_claim
from yibao.ops import audit, claims, ledger, policies, registry
from yibao.ops.audit import Actor
from yibao.ops.contributions import Channel
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.policy_premiums import ACTIVE, LAPSED
from yibao.ops.store import ClaimRow, utcnow
from yibao.ops.store_products import BenefitClaim, PolicyRow
from yibao.products import benefits
from yibao.products.model import EventKind
from yibao.products.settlement import with_products

DAILY_ALLOWANCE, LUMP_SUM, INDEMNITY = "daily_allowance", "lump_sum", "indemnity"
SUBMITTED, PAID = "submitted", "paid"
OWED_ENTRY, PAID_ENTRY = "benefit_owed", "benefit_paid"


def claims_account(row: PolicyRow) -> Account:
    return Account(row.region, row.year, AccountKind.INSURER_CLAIMS, row.product)


def payable_account(row: PolicyRow) -> Account:
    return Account(row.region, row.year, AccountKind.BENEFIT_PAYABLE, row.product)


def _owe(session: Session, actor: Actor, row: PolicyRow, claim: BenefitClaim) -> BenefitClaim:
    audit.added(session, actor, "benefit.submitted", "benefit_claim", claim)
    ledger.post(session, actor, OWED_ENTRY, f"benefit:{claim.id}",
                f"{claim.kind} under policy {row.id} ({row.product}) owed to {row.person_id}",
                [Line(claims_account(row), claim.amount), Line(payable_account(row), -claim.amount)])
    return claim


def _in_force_policy(session: Session, policy_id: int) -> PolicyRow:
    row = policies.policy(session, policy_id, lock=True)
    if row.status not in (ACTIVE, LAPSED):
        raise Rejected(f"policy {policy_id} is {row.status}: it pays nothing", code="benefit.not_covered")
    return row


def submit_stay(session: Session, actor: Actor, policy_id: int, admission: dt.date, discharge: dt.date,
                accident: bool = False) -> BenefitClaim:
    """A stay's daily allowance: the days [admission, discharge) in force and past the waiting period (unless an
    accident), at most what is left of the policy's `max_days` after its earlier stays."""
    row = _in_force_policy(session, policy_id)
    item = policies.product(row.product)
    if item.daily_allowance is None:
        raise Rejected(f"{item.id} pays no daily allowance", code="benefit.not_in_product")
    if discharge < admission:
        raise Rejected(f"discharge {discharge} before admission {admission}", code="benefit.bad_dates")
    before = session.execute(select(func.coalesce(func.sum(BenefitClaim.days), 0)).where(
        BenefitClaim.policy_id == policy_id, BenefitClaim.kind == DAILY_ALLOWANCE)).scalar_one()
    allowance = benefits.daily_allowance(policies.cover_of(row), item, admission, discharge,
                                         days_paid_before=int(before), accident=accident)
    if allowance.fen == 0:
        raise Rejected(f"no day of the stay {admission} to {discharge} is paid (out of force, in the waiting "
                       "period, or the policy's days used up)", code="benefit.nothing_due")
    return _owe(session, actor, row, BenefitClaim(
        policy_id=row.id, kind=DAILY_ALLOWANCE, day=admission, until=discharge, days=allowance.days,
        amount=allowance.fen, status=SUBMITTED, detail={"accident": accident}, submitted_at=utcnow()))


def submit_event(session: Session, actor: Actor, policy_id: int, lump_id: str, kind: str, day: dt.date,
                 diagnosis: str = "", grade: int | None = None) -> BenefitClaim:
    """A lump sum for an event (accidental death, a disability grade, a critical-illness diagnosis): at most once
    per policy."""
    row = _in_force_policy(session, policy_id)
    item = policies.product(row.product)
    if lump_id not in {lump.id for lump in item.lump_sums}:
        raise Rejected(f"{item.id} has no lump sum {lump_id!r} ({[s.id for s in item.lump_sums]})",
                       code="benefit.not_in_product")
    try:
        event_kind = EventKind(kind)
    except ValueError:
        raise Rejected(f"unknown event {kind!r} (one of {[e.value for e in EventKind]})",
                       code="benefit.bad_event") from None
    paid = set(session.execute(select(BenefitClaim.lump_sum).where(
        BenefitClaim.policy_id == policy_id, BenefitClaim.kind == LUMP_SUM)).scalars())
    if lump_id in paid:
        raise Conflict(f"lump sum {lump_id!r} of policy {policy_id} was already paid: once per policy",
                       code="benefit.lump_sum_paid")
    event = benefits.Event(row.person_id, day, event_kind, diagnosis, grade)
    fen = benefits.lump_sum(policies.cover_of(row), item, lump_id, event,
                            declared=tuple(row.declared.get("conditions", ())))
    if fen == 0:
        raise Rejected(f"the event does not earn {lump_id!r} (another event, out of force, in the waiting period, "
                       "not a listed diagnosis or grade, or an excluded condition)", code="benefit.nothing_due")
    return _owe(session, actor, row, BenefitClaim(
        policy_id=row.id, kind=LUMP_SUM, lump_sum=lump_id, day=day, amount=fen, status=SUBMITTED,
        detail={"event": event_kind.value, "diagnosis": diagnosis, "grade": grade}, submitted_at=utcnow()))


def indemnity_on(session: Session, row: PolicyRow, bill: ClaimRow) -> Fen:
    """What the product's indemnity layer pays on a settled bill of the holder: the holder's settled bills of the
    bill's year are settled again, in order, under the region's scheme followed by the product's layer, the
    holder carrying the policy (in force from start + waiting days); the layer's payment on this bill."""
    item = policies.product(row.product)
    cover = policies.cover_of(row)
    start = cover.start_date + dt.timedelta(days=item.window.waiting_days.at(cover.start_date))
    holder = registry.person(session, row.person_id)
    scheme = with_products(claims.scheme_named(registry.region(session, holder.region).scheme_name), [item])
    year = bill.service_date.year
    bills = session.execute(select(ClaimRow).where(
        ClaimRow.person_id == row.person_id, ClaimRow.status == "settled",
        ClaimRow.service_date >= dt.date(year, 1, 1), ClaimRow.service_date <= dt.date(year, 12, 31))).scalars()
    acc = YearAccumulators(year=year)
    layer_id = item.indemnity.id if item.indemnity is not None else ""
    for each in sorted(bills, key=lambda b: canonical_key(claims.core_claim(b))):
        person = registry.core_person(session, holder, each.service_date)
        person = dataclasses.replace(person, policies=(PolicyCover(item.id, start, cover.end_date),))
        settlement = settle_claim(scheme, person, claims.core_claim(each), acc)
        acc = settlement.accumulators
        if each.claim_id == bill.claim_id:
            return next(layer.paid for layer in settlement.layers if layer.layer_id == layer_id)
    return 0


def submit_indemnity(session: Session, actor: Actor, policy_id: int, claim_id: str) -> BenefitClaim:
    """A settled bill submitted afterwards to a product settled off the counter: its indemnity owed to the member
    (nothing for a bill whose diagnosis matches a declared condition the product excludes)."""
    row = _in_force_policy(session, policy_id)
    item = policies.product(row.product)
    if item.indemnity is None:
        raise Rejected(f"{item.id} has no indemnity benefit", code="benefit.not_in_product")
    if item.one_stop:
        raise Conflict(f"{item.id} is settled at the counter with the claim", code="benefit.one_stop")
    bill = session.execute(select(ClaimRow).where(ClaimRow.claim_id == claim_id)).scalar_one_or_none()
    if bill is None or bill.person_id != row.person_id or bill.status != "settled":
        raise Rejected(f"claim {claim_id!r} is not a settled claim of the policyholder", code="benefit.claim_not_yours")
    claimed = session.execute(select(BenefitClaim.id).where(
        BenefitClaim.policy_id == policy_id, BenefitClaim.claim_id == claim_id)).first()
    if claimed is not None:
        raise Conflict(f"claim {claim_id!r} was already submitted under policy {policy_id}",
                       code="benefit.already_claimed")
    excluded = benefits.excluded(item, bill.diagnosis, tuple(row.declared.get("conditions", ())))
    fen = 0 if excluded else indemnity_on(session, row, bill)
    if fen == 0:
        raise Rejected(f"the product pays nothing on claim {claim_id!r}", code="benefit.nothing_due")
    return _owe(session, actor, row, BenefitClaim(
        policy_id=row.id, kind=INDEMNITY, claim_id=claim_id, day=bill.service_date, amount=fen, status=SUBMITTED,
        detail={"diagnosis": bill.diagnosis}, submitted_at=utcnow()))


def benefit(session: Session, benefit_id: int, *, lock: bool = False) -> BenefitClaim:
    query = select(BenefitClaim).where(BenefitClaim.id == benefit_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = session.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no benefit claim {benefit_id}", code="benefit.not_found")
    return found


def pay(session: Session, actor: Actor, benefit_id: int, amount: Fen, channel: str, reference: str) -> BenefitClaim:
    """The insurer pays the member what a benefit claim owes, through a channel; a repeat of the same payment
    (reference) changes nothing."""
    seen = session.execute(select(BenefitClaim).where(BenefitClaim.payment_reference == reference)).scalar_one_or_none()
    if seen is not None:
        if seen.id != benefit_id or seen.amount != amount:
            raise Conflict(f"payment reference {reference!r} was already used", code="payment.reference_reused")
        return seen
    try:
        paying = Channel(channel)
    except ValueError:
        raise Rejected(f"unknown channel {channel!r}", code="payment.channel") from None
    claim = benefit(session, benefit_id, lock=True)
    if claim.status == PAID:
        raise Conflict(f"benefit claim {benefit_id} is already paid", code="payment.already_paid")
    if amount != claim.amount:
        raise Rejected(f"amount {format_yuan(amount)} does not match the {format_yuan(claim.amount)} owed",
                       code="payment.amount_mismatch")
    row = policies.policy(session, claim.policy_id)
    before = audit.snapshot(claim)
    claim.status, claim.channel, claim.payment_reference, claim.paid_at = PAID, paying.value, reference, utcnow()
    session.flush()
    ledger.post(session, actor, PAID_ENTRY, f"benefit:{claim.id}",
                f"{claim.kind} of policy {row.id} paid to {row.person_id} by {paying.value} ({reference})",
                [Line(payable_account(row), amount),
                 Line(Account(row.region, row.year, AccountKind.BANK, paying.value), -amount)])
    audit.record(session, actor, "benefit.paid", "benefit_claim", claim.id, before, audit.snapshot(claim))
    return claim


def of_policy(session: Session, policy_id: int) -> list[BenefitClaim]:
    return list(session.execute(
        select(BenefitClaim).where(BenefitClaim.policy_id == policy_id).order_by(BenefitClaim.id)).scalars())
