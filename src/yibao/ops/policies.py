"""Voluntary products in operations: selling a policy, its premium through the channels, cancelling and lapsing it.

A policy is sold for a person and a built-in product (`yibao.products`) on a sale day inside the product's sales
window, after its eligibility rules (age at the requested start, region, scheme of the start year's enrolment,
assistance category on the start day, health declaration, pre-existing conditions declined); a person may not hold
two policies of one product that overlap. Its term is one year from the requested start (start + 1 year - 1 day).

The premium (`benefits.premium_split`: the age band's premium at the start; the government's and employer's shares
rounded half-up, the member pays the rest) falls due as contributions (`ops.contributions`, sources
`premium_member|premium_government|premium_employer`), paid through the same channels and signed notification;
`ops.policy_premiums` activates the policy when the member's part is paid (never retroactively).

Ledger (accounts `region:year:kind:product`, region = the holder's, year = the product year): when the premium
falls due, the payers' receivables are debited and `insurer_premium:<product>` credited (premium written);
payments clear the receivables into the channel's bank account, as for contributions. Benefits: `ops.benefits`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.ops import audit, contributions, ledger, registry
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.one_stop import catalogue
from yibao.ops.policy_premiums import (
    ACTIVE,
    CANCELLED,
    LAPSED,
    PENDING,
    PREMIUM_EMPLOYER,
    PREMIUM_GOVERNMENT,
    PREMIUM_MEMBER,
    cover_start,
)
from yibao.ops.store import Contribution, utcnow
from yibao.ops.store_products import PolicyPremium, PolicyRow
from yibao.products import benefits
from yibao.products.model import Product

PREMIUM_DUE, PREMIUM_CANCELLED = contributions.DUE_ENTRY, contributions.CANCEL_ENTRY


def product(product_id: str) -> Product:
    found = catalogue().get(product_id)
    if found is None:
        raise NotFound(f"no product {product_id!r} (known: {sorted(catalogue())})", code="policy.unknown_product")
    return found


@dataclass(frozen=True, slots=True)
class Declaration:
    """The buyer's health declaration: a pre-existing condition, and the conditions (ICD-10 prefixes) declared."""

    pre_existing: bool = False
    conditions: tuple[str, ...] = ()


# benefits.eligible's reasons -> the catalogue's codes
INELIGIBLE = {"age.below": "policy.too_young", "age.above": "policy.too_old", "region": "policy.wrong_region",
              "scheme": "policy.wrong_scheme", "assistance_category": "policy.wrong_category",
              "pre_existing": "policy.pre_existing_declined"}


def term_end(start: dt.date) -> dt.date:
    """A policy runs one year: to the day before the start's anniversary (29 February: to 28 February)."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:
        anniversary = dt.date(start.year + 1, 3, 1)
    return anniversary - dt.timedelta(days=1)


def premium_account(policy: PolicyRow) -> Account:
    return Account(policy.region, policy.year, AccountKind.INSURER_PREMIUM, policy.product)


def _check_sale(session: Session, person_id: str, item: Product, start: dt.date, sale_day: dt.date,
                declaration: Declaration | None) -> None:
    person = registry.person(session, person_id)
    window = item.window
    if not window.opens <= sale_day <= window.closes:
        raise Rejected(f"{item.id} is sold from {window.opens} to {window.closes}, not on {sale_day}",
                       code="policy.outside_window")
    if item.eligibility.health_declaration and declaration is None:
        raise Rejected(f"{item.id} needs the buyer's health declaration", code="policy.declaration_missing")
    enrolled = registry.enrolment(session, person_id, start.year)
    reason = benefits.eligible(
        item, birth_date=person.birth_date, region=person.region, scheme=enrolled.scheme if enrolled else "",
        assistance_category=registry.assistance_on(session, person_id, start).value,
        pre_existing=person.pre_existing or (declaration is not None and declaration.pre_existing), start=start)
    if reason is not None:
        raise Rejected(f"person {person_id!r} may not buy {item.id}: {reason}", code=INELIGIBLE[reason])
    end = term_end(start)
    overlapping = session.execute(select(PolicyRow.id).where(
        PolicyRow.person_id == person_id, PolicyRow.product == item.id, PolicyRow.status.in_([PENDING, ACTIVE]),
        PolicyRow.start_date <= end, PolicyRow.end_date >= start)).first()
    if overlapping is not None:
        raise Conflict(f"person {person_id!r} already holds policy {overlapping[0]} of {item.id} over "
                       f"{start} to {end}", code="policy.overlap")


def sell(session: Session, actor: Actor, person_id: str, product_id: str, start: dt.date, sale_day: dt.date,
         declaration: Declaration | None = None) -> PolicyRow:
    """Sell a policy starting on `start` (one year): checked, its premium parts due; pending until the member's
    part is paid (active at once when the member owes nothing, from the day after the sale at the earliest)."""
    item = product(product_id)
    _check_sale(session, person_id, item, start, sale_day, declaration)
    person = registry.person(session, person_id)
    split = benefits.premium_split(item, person.birth_date, start)
    declared = declaration or Declaration()
    policy = PolicyRow(
        person_id=person_id, product=item.id, region=person.region, year=item.year, requested_start=start,
        start_date=start, end_date=term_end(start), premium=split.total, status=PENDING,
        declared={"pre_existing": declared.pre_existing, "conditions": list(declared.conditions)},
        sold_at=utcnow(), sold_by=actor.name, sale_day=sale_day)
    audit.added(session, actor, "policy.sold", "policy", policy)
    for source, amount in ((PREMIUM_MEMBER, split.member), (PREMIUM_GOVERNMENT, split.government),
                           (PREMIUM_EMPLOYER, split.employer)):
        if amount > 0:
            _fall_due(session, actor, policy, source, amount)
    if split.member == 0:
        policy.start_date = cover_start(start, sale_day)
        policy.status = ACTIVE
        session.flush()
    return policy


def _fall_due(session: Session, actor: Actor, policy: PolicyRow, source: str, amount: int) -> None:
    part = Contribution(region=policy.region, year=policy.year, source=source, amount=amount, status=contributions.DUE)
    audit.added(session, actor, "contribution.created", "contribution", part)
    session.add(PolicyPremium(contribution_id=part.id, policy_id=policy.id))
    session.flush()
    ledger.post(
        session, actor, PREMIUM_DUE, f"contribution:{part.id}",
        f"{source} of policy {policy.id} ({policy.product}) due for {policy.person_id}",
        [Line(contributions.receivable_account(part, policy.person_id), amount), Line(premium_account(policy), -amount)],
    )


def policy(session: Session, policy_id: int, *, lock: bool = False) -> PolicyRow:
    query = select(PolicyRow).where(PolicyRow.id == policy_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = session.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no policy {policy_id}", code="policy.not_found")
    return found


def premium_parts(session: Session, policy_id: int) -> list[Contribution]:
    return list(session.execute(
        select(Contribution).join(PolicyPremium, PolicyPremium.contribution_id == Contribution.id)
        .where(PolicyPremium.policy_id == policy_id).order_by(Contribution.id)).scalars())


def of_person(session: Session, person_id: str) -> list[PolicyRow]:
    return list(session.execute(
        select(PolicyRow).where(PolicyRow.person_id == person_id).order_by(PolicyRow.id)).scalars())


def cancel(session: Session, actor: Actor, policy_id: int, reason: str) -> PolicyRow:
    """A pending policy cancelled: its parts still due are written off (the premium written reversed); a part
    already paid (the government's, say) stays written: its refund is the channel's matter."""
    row = policy(session, policy_id, lock=True)
    if row.status != PENDING:
        raise Conflict(f"policy {policy_id} is {row.status}; only a pending policy is cancelled (lapse an active one)",
                       code="policy.not_pending")
    before = audit.snapshot(row)
    for part in premium_parts(session, policy_id):
        if part.status == contributions.DUE:
            part.status = contributions.CANCELLED
            ledger.post(session, actor, PREMIUM_CANCELLED, f"contribution:{part.id}",
                        f"{part.source} of policy {policy_id} cancelled: {reason}",
                        [Line(premium_account(row), part.amount),
                         Line(contributions.receivable_account(part, row.person_id), -part.amount)])
    row.status = CANCELLED
    session.flush()
    audit.record(session, actor, "policy.cancelled", "policy", row.id, before, {**(audit.snapshot(row) or {}),
                                                                               "reason": reason})
    return row


def lapse(session: Session, actor: Actor, policy_id: int, day: dt.date, reason: str) -> PolicyRow:
    """An active policy ends early: in force through the day before `day`; no premium is refunded (the
    insurer's books then hold it earned in full)."""
    row = policy(session, policy_id, lock=True)
    if row.status != ACTIVE:
        raise Conflict(f"policy {policy_id} is {row.status}; only an active policy lapses", code="policy.not_active")
    if not row.start_date < day <= row.end_date:
        raise Rejected(f"a lapse day between {row.start_date + dt.timedelta(days=1)} and {row.end_date}",
                       code="policy.bad_lapse_day")
    before = audit.snapshot(row)
    row.status, row.ended_on = LAPSED, day - dt.timedelta(days=1)
    session.flush()
    audit.record(session, actor, "policy.lapsed", "policy", row.id, before, {**(audit.snapshot(row) or {}),
                                                                            "reason": reason})
    return row


def cover_of(row: PolicyRow) -> benefits.Policy:
    """The policy as the benefit arithmetic sees it: in force from its start to its end (or its lapse), while
    active or lapsed; a pending or cancelled policy is never in force."""
    in_force = row.status in (ACTIVE, LAPSED)
    end = row.ended_on if row.status == LAPSED and row.ended_on is not None else row.end_date
    return benefits.Policy(str(row.id), row.person_id, row.product, row.start_date, end, row.premium,
                           benefits.PolicyStatus.ACTIVE if in_force else benefits.PolicyStatus.CANCELLED)
