"""Contributions: what each enrolment owes, by source; payments through channels; the signed payment callback.

Figures are parameters (`ContributionRules`), defaults from domain.md: URRBMI 2024
individual 400 + government subsidy 670 yuan; UEBMI employer ~6% and employee 2%
of a wage base clamped to 60–300% of the local average wage; retirees pay nothing;
dibao and extreme-poor members' individual part is paid by medical assistance.

The ledger recognises what an enrolment owes when it falls due: the payer's
receivable is debited against the income account (`fall_due`): the member's own
part and the Huiminbao premium are receivable from the member (`member_receivable`,
sub = person), the employer's part, the government subsidy and the assistance-paid
part from that source (`contribution_receivable`, sub = source). A payment moves the
amount from the receivable to the channel's bank account; a cancelled contribution
reverses its receivable. A donation is never owed, so its payment credits income
directly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.model import AssistanceCategory, InsuranceScheme
from yibao.core.money import Fen, RatePpm, apply_rate, format_yuan, parse_yuan
from yibao.ops import audit, ledger, policy_premiums
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.store import Contribution, Enrolment, JournalEntry, utcnow

PAYMENT_GATEWAY = Actor("payment-gateway", "system")


class ContributionSource(StrEnum):
    INDIVIDUAL = "individual"
    EMPLOYER = "employer"
    GOVERNMENT_SUBSIDY = "government_subsidy"
    ASSISTANCE = "assistance"  # medical assistance pays the member's part
    DONATION = "donation"
    HUIMINBAO_PREMIUM = "huiminbao_premium"
    # a voluntary product's premium parts (yibao.ops.policy_premiums): the policyholder's, the government's, the employer's
    PREMIUM_MEMBER = "premium_member"
    PREMIUM_GOVERNMENT = "premium_government"
    PREMIUM_EMPLOYER = "premium_employer"


class Channel(StrEnum):
    BANK = "bank"
    MOBILE = "mobile"
    COUNTER = "counter"


@dataclass(frozen=True, slots=True)
class ContributionRules:
    resident_individual: Fen = 400_00
    resident_subsidy: Fen = 670_00
    employer_rate: RatePpm = 60_000  # type: ignore[assignment]
    employee_rate: RatePpm = 20_000  # type: ignore[assignment]
    base_floor: RatePpm = 600_000  # type: ignore[assignment]
    base_ceiling: RatePpm = 3_000_000  # type: ignore[assignment]
    huiminbao_premium: Fen = 89_00
    assisted: frozenset[AssistanceCategory] = field(
        default=frozenset({AssistanceCategory.DIBAO, AssistanceCategory.EXTREME_POOR})
    )


DEFAULT_RULES = ContributionRules()


def contribution_base(wage: Fen, average_wage: Fen, rules: ContributionRules = DEFAULT_RULES) -> Fen:
    """The wage clamped to [60%, 300%] of the local average wage (rounded half-up to the fen)."""
    floor = apply_rate(rules.base_floor, average_wage)
    ceiling = apply_rate(rules.base_ceiling, average_wage)
    return min(max(wage, floor), ceiling)


def dues(
    scheme: InsuranceScheme,
    category: AssistanceCategory,
    huiminbao: bool,
    base: Fen | None,
    rules: ContributionRules = DEFAULT_RULES,
) -> list[tuple[ContributionSource, Fen]]:
    """The contributions an enrolment owes for its year."""
    owed: list[tuple[ContributionSource, Fen]] = []
    if scheme is InsuranceScheme.URRBMI:
        payer = ContributionSource.ASSISTANCE if category in rules.assisted else ContributionSource.INDIVIDUAL
        owed += [(payer, rules.resident_individual), (ContributionSource.GOVERNMENT_SUBSIDY, rules.resident_subsidy)]
    elif scheme is InsuranceScheme.UEBMI_EMPLOYEE:
        if base is None:
            raise Rejected("a UEBMI employee's enrolment needs the yearly wage", code="enrolment.wage_missing")
        owed += [
            (ContributionSource.EMPLOYER, apply_rate(rules.employer_rate, base)),
            (ContributionSource.INDIVIDUAL, apply_rate(rules.employee_rate, base)),
        ]
    if huiminbao:
        owed.append((ContributionSource.HUIMINBAO_PREMIUM, rules.huiminbao_premium))
    return owed


def _credit_account(contribution: Contribution, enrolment: Enrolment | None) -> Account:
    source = ContributionSource(contribution.source)
    region, year = contribution.region, contribution.year
    if source is ContributionSource.HUIMINBAO_PREMIUM:
        return Account(region, year, AccountKind.HUIMINBAO_INSURER)
    employee = enrolment is not None and enrolment.scheme == InsuranceScheme.UEBMI_EMPLOYEE.value
    if source is ContributionSource.INDIVIDUAL and employee and enrolment is not None:
        # the UEBMI employee's own 2% goes to their individual account
        return Account(region, year, AccountKind.INDIVIDUAL_ACCOUNT, enrolment.person_id)
    return Account(region, year, AccountKind.CONTRIBUTION_INCOME, source.value)


# The sources a member pays themself; every other source owes its own part (employer, government, assistance).
MEMBER_PAYS = frozenset({ContributionSource.INDIVIDUAL, ContributionSource.HUIMINBAO_PREMIUM,
                         ContributionSource.PREMIUM_MEMBER})
DUE, PAID, CANCELLED = "due", "paid", "cancelled"
DUE_ENTRY, PAYMENT_ENTRY, CANCEL_ENTRY = "contribution_due", "contribution", "contribution_cancelled"


def receivable_account(contribution: Contribution, person_id: str) -> Account:
    """Whoever owes a contribution until it is paid: the member (sub = person) or the paying source."""
    source = ContributionSource(contribution.source)
    region, year = contribution.region, contribution.year
    if source in MEMBER_PAYS:
        return Account(region, year, AccountKind.MEMBER_RECEIVABLE, person_id)
    return Account(region, year, AccountKind.CONTRIBUTION_RECEIVABLE, source.value)


def _reference(contribution: Contribution) -> str:
    return f"contribution:{contribution.id}"


def fall_due(session: Session, actor: Actor, contribution: Contribution, enrolment: Enrolment) -> None:
    """Recognise an enrolment's contribution as owed: debit the payer's receivable, credit the income."""
    receivable = receivable_account(contribution, enrolment.person_id)
    ledger.post(
        session, actor, DUE_ENTRY, _reference(contribution),
        f"{contribution.source} contribution due for {enrolment.person_id} ({enrolment.year})",
        [Line(receivable, contribution.amount), Line(_credit_account(contribution, enrolment), -contribution.amount)],
    )


def _recognised(session: Session, contribution: Contribution) -> bool:
    """Whether this contribution's receivable was posted when it fell due (donations never owe anything)."""
    found = session.execute(
        select(JournalEntry.id).where(JournalEntry.reference == _reference(contribution), JournalEntry.kind == DUE_ENTRY)
    ).first()
    return found is not None


def _channel(text: str) -> Channel:
    try:
        return Channel(text)
    except ValueError:
        raise Rejected(f"unknown channel {text!r} (one of {', '.join(c.value for c in Channel)})", code="payment.channel") from None


def record_payment(
    session: Session, actor: Actor, contribution_id: int, amount: Fen, channel: str, reference: str
) -> Contribution:
    """Mark a contribution paid and post it. Idempotent on the payment reference: a repeat changes nothing."""
    paying = _channel(channel)
    seen = session.execute(select(Contribution).where(Contribution.payment_reference == reference)).scalar_one_or_none()
    if seen is not None:
        if seen.id != contribution_id or seen.amount != amount:
            raise Conflict(f"payment reference {reference!r} was already used for another payment", code="payment.reference_reused")
        return seen
    enrolment, contribution = _locked(session, contribution_id)
    if contribution.status == PAID:
        if contribution.payment_reference == reference and contribution.amount == amount:
            return contribution  # the same notification, delivered twice at once
        raise Conflict(f"contribution {contribution_id} is already paid", code="payment.already_paid")
    if contribution.status == CANCELLED:
        raise Conflict(f"contribution {contribution_id} was cancelled; nothing is owed", code="payment.cancelled")
    if amount != contribution.amount:
        # an over- or under-payment is refused whole: nothing is posted, the payer is refunded by the channel
        raise Rejected(
            f"amount {format_yuan(amount)} does not match the {format_yuan(contribution.amount)} due",
            code="payment.amount_mismatch",
        )
    before = audit.snapshot(contribution)
    contribution.status, contribution.channel = PAID, paying.value
    contribution.payment_reference, contribution.paid_at = reference, utcnow()
    bank = Account(contribution.region, contribution.year, AccountKind.BANK, paying.value)
    premium = contribution.source in policy_premiums.PREMIUM_SOURCES
    if enrolment is not None and _recognised(session, contribution):
        cleared = receivable_account(contribution, enrolment.person_id)  # the receivable is settled
    elif premium:  # a policy's premium part: its holder's (or its source's) receivable is settled
        cleared = receivable_account(contribution, policy_premiums.policy_of(session, contribution).person_id)
    else:
        cleared = _credit_account(contribution, enrolment)  # nothing was owed (a donation): income at once
    ledger.post(
        session, actor, PAYMENT_ENTRY, _reference(contribution),
        f"{contribution.source} contribution paid by {paying.value} ({reference})",
        [Line(bank, amount), Line(cleared, -amount)],
    )
    session.flush()
    audit.record(session, actor, "contribution.paid", "contribution", contribution.id, before, audit.snapshot(contribution))
    if enrolment is not None:
        _update_enrolment(session, actor, enrolment)
    if premium:
        policy_premiums.premium_paid(session, actor, contribution)
    return contribution


def of_person(session: Session, person_id: str) -> list[Contribution]:
    """Every contribution of a person's enrolments, in the order they fell due."""
    return list(session.execute(
        select(Contribution).join(Enrolment, Contribution.enrolment_id == Enrolment.id)
        .where(Enrolment.person_id == person_id).order_by(Contribution.id)
    ).scalars())


# what a member pays themselves (the rest is paid by an employer, the government or medical assistance)
MEMBER_PAYS = frozenset({ContributionSource.INDIVIDUAL.value, ContributionSource.HUIMINBAO_PREMIUM.value,
                         ContributionSource.PREMIUM_MEMBER.value})


def _locked(session: Session, contribution_id: int) -> tuple[Enrolment | None, Contribution]:
    """The contribution and its enrolment (None for a donation), both locked, the enrolment first: concurrent
    payments or cancellations of its contributions then see each other's."""
    found = session.get(Contribution, contribution_id)
    if found is None:
        raise NotFound(f"no contribution {contribution_id}", code="contribution.not_found")
    enrolment = None
    if found.enrolment_id is not None:
        enrolment = session.execute(
            select(Enrolment).where(Enrolment.id == found.enrolment_id).with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
    contribution = session.execute(
        select(Contribution).where(Contribution.id == contribution_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    return enrolment, contribution


def cancel(session: Session, actor: Actor, contribution_id: int, reason: str) -> Contribution:
    """Write off a contribution still due: its receivable is reversed against the income it was owed to.
    A paid contribution cannot be cancelled (a refund is another matter), and a cancelled one is never paid:
    it does not count as paid, so an enrolment with a cancelled public contribution stays pending."""
    enrolment, contribution = _locked(session, contribution_id)
    if enrolment is None:
        raise Conflict(f"contribution {contribution_id} is a donation, not a contribution due", code="contribution.not_due")
    if contribution.status != DUE:
        raise Conflict(f"contribution {contribution_id} is {contribution.status}, not due", code="contribution.not_due")
    before = audit.snapshot(contribution)
    contribution.status = CANCELLED
    if _recognised(session, contribution):
        ledger.post(
            session, actor, CANCEL_ENTRY, _reference(contribution),
            f"{contribution.source} contribution cancelled: {reason}",
            [Line(_credit_account(contribution, enrolment), contribution.amount),
             Line(receivable_account(contribution, enrolment.person_id), -contribution.amount)],
        )
    session.flush()
    audit.record(session, actor, "contribution.cancelled", "contribution", contribution.id, before,
                 {**(audit.snapshot(contribution) or {}), "reason": reason})
    _update_enrolment(session, actor, enrolment)
    return contribution


def _update_enrolment(session: Session, actor: Actor, enrolment: Enrolment) -> None:
    """Active once every public contribution of the year is paid; Huiminbao cover once its premium is."""
    owed = session.execute(select(Contribution).where(Contribution.enrolment_id == enrolment.id)).scalars().all()
    public_paid = all(c.status == PAID for c in owed if c.source != ContributionSource.HUIMINBAO_PREMIUM)
    premium_paid = any(c.status == PAID and c.source == ContributionSource.HUIMINBAO_PREMIUM for c in owed)
    status = "active" if public_paid else "pending"
    if (status, premium_paid) != (enrolment.status, enrolment.huiminbao):
        before = audit.snapshot(enrolment)
        cover_changed = enrolment.status == "active" and premium_paid != enrolment.huiminbao
        enrolment.status, enrolment.huiminbao = status, premium_paid
        session.flush()
        audit.record(session, actor, "enrolment.updated", "enrolment", enrolment.id, before, audit.snapshot(enrolment))
        if cover_changed:  # claims already settled this year without Huiminbao are settled again with it
            from yibao.ops import claims  # claims -> registry -> contributions: imported when needed

            claims.resettle(session, actor, enrolment.person_id, enrolment.year)


def receive_donation(
    session: Session, actor: Actor, region: str, year: int, amount: Fen, channel: str, reference: str
) -> Contribution:
    """A donation to the region's funds: recorded as a contribution due and paid at once."""
    seen = session.execute(select(Contribution).where(Contribution.payment_reference == reference)).scalar_one_or_none()
    if seen is not None:
        if seen.source != ContributionSource.DONATION or seen.amount != amount:
            raise Conflict(f"payment reference {reference!r} was already used", code="payment.reference_reused")
        return seen
    donation = Contribution(region=region, year=year, source=ContributionSource.DONATION.value, amount=amount, status=DUE)
    audit.added(session, actor, "contribution.created", "contribution", donation)
    return record_payment(session, actor, donation.id, amount, channel, reference)


# --- the mobile-payment notification (shaped like a WeChat Pay / Alipay callback) ---


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the raw body: the `X-Yibao-Signature` header of a notification."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification(session: Session, secret: str, body: bytes, signature: str | None) -> Contribution:
    """Verify and apply a payment notification: {out_trade_no, transaction_id, total_fee (yuan), channel}."""
    if not signature or not hmac.compare_digest(sign(secret, body), signature.strip().lower()):
        raise Rejected("the notification's signature does not verify", code="payment.bad_signature")
    try:
        data = json.loads(body)
        contribution_id = int(data["out_trade_no"])
        reference = str(data["transaction_id"])
        amount = parse_yuan(str(data["total_fee"]))
        channel = str(data.get("channel", Channel.MOBILE.value))
    except (ValueError, KeyError, TypeError) as exc:
        raise Rejected(f"malformed notification: {exc}", code="payment.malformed") from None
    return record_payment(session, PAYMENT_GATEWAY, contribution_id, amount, channel, reference)
