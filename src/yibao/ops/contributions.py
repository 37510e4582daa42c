"""Contributions: what each enrolment owes, by source; payments through channels; the signed payment callback;
the allocation of every payment to the funds (`yibao.ops.allocation`), in the same transaction.

Figures are the region-year's contribution rules (`contributions.yaml` of the region's scheme, read by
`yibao.schemes.contributions`): residents owe an individual part (medical assistance paying all or a share of it,
by the category in force on the enrolment's due date) and the government its subsidy, split into a central and a
local share; UEBMI employees owe an employer and an employee part of their wage base (the wage clamped to a band of
the local average wage); retirees pay nothing and receive a yearly credit to their individual account.

The ledger recognises what an enrolment owes when it falls due: the payer's receivable is debited against the
income account (`fall_due`): the member's own part and the Huiminbao premium are receivable from the member
(`member_receivable`, sub = person), the employer's part, the government subsidy and the assistance-paid part from
that source (`contribution_receivable`, sub = source). A payment moves the amount from the receivable to the
channel's bank account, and its allocation moves it from the income to the funds; a cancelled contribution reverses
its receivable. A donation (or lottery income, or a budget transfer to medical assistance) is never owed, so its
payment credits income directly, allocated to the assistance fund at once.

When an enrolment becomes active its cover dates are set (`yibao.ops.cover`): the window and the waiting period
decide when public cover starts; Huiminbao covers from the day after its premium is paid (in its window), never
retroactively, so claims settled earlier are not settled again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.model import AssistanceCategory, InsuranceScheme
from yibao.core.money import Fen, apply_rate, format_yuan, parse_yuan
from yibao.ops import allocation, audit, cover, ledger, policy_premiums
from yibao.ops.allocation import Source as ContributionSource
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.store import Contribution, Enrolment, JournalEntry, Region, utcnow
from yibao.schemes.contributions import ContributionRules, load_contributions, resolve

PAYMENT_GATEWAY = Actor("payment-gateway", "system")


class Channel(StrEnum):
    BANK = "bank"
    MOBILE = "mobile"
    COUNTER = "counter"
    ACCOUNT = "account"  # a UEBMI member's individual account (family sharing: yibao.ops.family), never a callback


def rules_of(session: Session, region: str, year: int) -> ContributionRules:
    """The contribution rules in force for a region's year: from its scheme's contributions file. The local average
    wage is the file's figure for the region when it names one, else the one the bureau registered for the region
    (`Region.average_wage`, what the Twin check reads too) rather than the file's `default`."""
    found = session.get(Region, region)
    if found is None:
        raise NotFound(f"no region {region!r}", code="region.not_found")
    schedule = load_contributions(found.scheme_name)
    rules = resolve(schedule, region, year)
    if schedule.names_region("employees.average_wage", date(year, 1, 1), region):
        return rules
    return dataclasses.replace(rules, average_wage=found.average_wage)


def dues(
    scheme: InsuranceScheme,
    category: AssistanceCategory,
    huiminbao: bool,
    base: Fen | None,
    rules: ContributionRules,
) -> list[tuple[ContributionSource, Fen]]:
    """The contributions an enrolment owes for its year (parts of nothing left out). `base` is a UEBMI employee's
    contribution base (`rules.contribution_base(wage)`)."""
    owed: list[tuple[ContributionSource, Fen]] = []
    if scheme is InsuranceScheme.URRBMI:
        assisted = rules.assistance_paid(category)
        central, local, _residue = rules.subsidy_split()
        owed += [
            (ContributionSource.ASSISTANCE, assisted),
            (ContributionSource.INDIVIDUAL, rules.resident_individual - assisted),
            (ContributionSource.GOVERNMENT_SUBSIDY_CENTRAL, central),
            (ContributionSource.GOVERNMENT_SUBSIDY_LOCAL, local),
        ]
    elif scheme is InsuranceScheme.UEBMI_EMPLOYEE:
        if base is None:
            raise Rejected("a UEBMI employee's enrolment needs the yearly wage", code="enrolment.wage_missing")
        owed += [
            (ContributionSource.EMPLOYER, apply_rate(rules.employer_rate, base)),
            (ContributionSource.INDIVIDUAL, apply_rate(rules.employee_rate, base)),
        ]
    if huiminbao:
        owed.append((ContributionSource.HUIMINBAO_PREMIUM, rules.huiminbao_premium))
    return [(source, amount) for source, amount in owed if amount > 0]


# The sources a member pays themself; every other source owes its own part (employer, government, assistance).
MEMBER_PAYS = frozenset({ContributionSource.INDIVIDUAL, ContributionSource.HUIMINBAO_PREMIUM,
                         ContributionSource.PREMIUM_MEMBER})
# the parts of a resident's own contribution (whoever pays them): their payment day decides the window
OWN_CONTRIBUTION = frozenset({ContributionSource.INDIVIDUAL.value, ContributionSource.ASSISTANCE.value})
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
        [Line(receivable, contribution.amount), Line(allocation.income_account(contribution), -contribution.amount)],
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


def paid_day(contribution: Contribution) -> date | None:
    """The day a contribution was paid (the payment's date as recorded, UTC)."""
    return None if contribution.paid_at is None else contribution.paid_at.astimezone(UTC).date()


def record_payment(
    session: Session, actor: Actor, contribution_id: int, amount: Fen, channel: str, reference: str,
    paid_on: date | None = None, paid_from: Account | None = None,
) -> Contribution:
    """Mark a contribution paid, post it and allocate it to the funds. Idempotent on the payment reference: a repeat
    changes nothing. `paid_on` is the day the payer paid when it is not today (a bank statement's value date): it
    decides the enrolment window. `paid_from` (channel `account` only) is the individual account debited in place
    of the channel's bank account (family sharing, yibao.ops.family)."""
    paying = _channel(channel)
    if (paying is Channel.ACCOUNT) != (paid_from is not None):
        raise Rejected("a payment from an individual account is made through family sharing, not a channel",
                       code="payment.channel")
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
    at = utcnow() if paid_on is None else datetime(paid_on.year, paid_on.month, paid_on.day, tzinfo=UTC)
    # a voluntary product's premium part (yibao.ops.policy_premiums) clears to the insurer, not to the funds: the
    # scheme's contribution rules and the allocation do not apply to it
    premium = contribution.source in policy_premiums.PREMIUM_SOURCES
    rules = None if premium else rules_of(session, contribution.region, contribution.year)
    if rules is not None and contribution.source == ContributionSource.HUIMINBAO_PREMIUM:
        opens, closes = rules.huiminbao_window.dates(contribution.year)
        if not opens <= at.date() <= closes:
            raise Rejected(
                f"Huiminbao for {contribution.year} is sold from {opens} to {closes}; paid on {at.date()}",
                code="payment.outside_window",
            )
    before = audit.snapshot(contribution)
    contribution.status, contribution.channel = PAID, paying.value
    contribution.payment_reference, contribution.paid_at = reference, at
    bank = paid_from or Account(contribution.region, contribution.year, AccountKind.BANK, paying.value)
    if enrolment is not None and _recognised(session, contribution):
        cleared = receivable_account(contribution, enrolment.person_id)  # the receivable is settled
    elif premium:  # a policy's premium part: its holder's (or its source's) receivable is settled
        cleared = receivable_account(contribution, policy_premiums.policy_of(session, contribution).person_id)
    else:
        cleared = allocation.income_account(contribution)  # nothing was owed (a donation): income at once
    ledger.post(
        session, actor, PAYMENT_ENTRY, _reference(contribution),
        f"{contribution.source} contribution paid by {paying.value} ({reference})",
        [Line(bank, amount), Line(cleared, -amount)],
    )
    if rules is not None:
        allocation.allocate(session, actor, contribution, enrolment, rules)
    session.flush()
    audit.record(session, actor, "contribution.paid", "contribution", contribution.id, before, audit.snapshot(contribution))
    if enrolment is not None and rules is not None:
        _update_enrolment(session, actor, enrolment, rules)
    if premium:
        policy_premiums.premium_paid(session, actor, contribution)
    return contribution


def of_person(session: Session, person_id: str) -> list[Contribution]:
    """Every contribution of a person's enrolments, in the order they fell due."""
    return list(session.execute(
        select(Contribution).join(Enrolment, Contribution.enrolment_id == Enrolment.id)
        .where(Enrolment.person_id == person_id).order_by(Contribution.id)
    ).scalars())


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
            [Line(allocation.income_account(contribution), contribution.amount),
             Line(receivable_account(contribution, enrolment.person_id), -contribution.amount)],
        )
    session.flush()
    audit.record(session, actor, "contribution.cancelled", "contribution", contribution.id, before,
                 {**(audit.snapshot(contribution) or {}), "reason": reason})
    _update_enrolment(session, actor, enrolment, rules_of(session, contribution.region, contribution.year))
    return contribution


def _update_enrolment(session: Session, actor: Actor, enrolment: Enrolment, rules: ContributionRules) -> None:
    """Active once every public contribution of the year is paid, with its cover dates set then (window, waiting
    period, continuity); Huiminbao cover from the day after its premium is paid. Claims settled before are never
    settled again: cover is not retroactive."""
    owed = session.execute(select(Contribution).where(Contribution.enrolment_id == enrolment.id)).scalars().all()
    public = [c for c in owed if c.source != ContributionSource.HUIMINBAO_PREMIUM]
    public_paid = all(c.status == PAID for c in public)
    premium = next((c for c in owed if c.status == PAID and c.source == ContributionSource.HUIMINBAO_PREMIUM), None)
    status = "active" if public_paid else "pending"
    if (status, premium is not None) == (enrolment.status, enrolment.huiminbao):
        return
    before = audit.snapshot(enrolment)
    if status == "active" and enrolment.status != "active":
        activate(session, enrolment, rules, [c for c in public if c.source in OWN_CONTRIBUTION])
    enrolment.status, enrolment.huiminbao = status, premium is not None
    if premium is not None and enrolment.huiminbao_start is None:
        day = paid_day(premium)
        enrolment.huiminbao_start = None if day is None else cover.huiminbao_start(enrolment.year, day, rules)
    session.flush()
    audit.record(session, actor, "enrolment.updated", "enrolment", enrolment.id, before, audit.snapshot(enrolment))


def activate(session: Session, enrolment: Enrolment, rules: ContributionRules, own: list[Contribution]) -> None:
    """Set an enrolment's cover dates and continuity as it becomes active: `own` are the member's own
    contributions (paid by them or by medical assistance), whose last payment day decides the window."""
    days = [day for day in (paid_day(c) for c in own) if day is not None]
    enrolment.cover_start, enrolment.cover_end = cover.public_cover(session, enrolment, rules, max(days) if days else None)
    enrolment.consecutive_years, enrolment.cap_raise = cover.cap_raise(session, enrolment, rules)


def receive_transfer(
    session: Session, actor: Actor, region: str, year: int, amount: Fen, channel: str, reference: str,
    source: ContributionSource = ContributionSource.DONATION,
) -> Contribution:
    """Money nobody owed — a donation, lottery income, a budget transfer to medical assistance — recorded as a
    contribution due and paid at once, allocated to the assistance fund."""
    if source not in allocation.TRANSFER_SOURCES:
        raise Rejected(f"{source} is not received as a transfer", code="contribution.not_a_transfer")
    seen = session.execute(select(Contribution).where(Contribution.payment_reference == reference)).scalar_one_or_none()
    if seen is not None:
        if seen.source != source or seen.amount != amount:
            raise Conflict(f"payment reference {reference!r} was already used", code="payment.reference_reused")
        return seen
    row = Contribution(region=region, year=year, source=source.value, amount=amount, status=DUE)
    audit.added(session, actor, "contribution.created", "contribution", row)
    return record_payment(session, actor, row.id, amount, channel, reference)


def receive_donation(
    session: Session, actor: Actor, region: str, year: int, amount: Fen, channel: str, reference: str
) -> Contribution:
    """A donation to the region's funds (the assistance fund)."""
    return receive_transfer(session, actor, region, year, amount, channel, reference, ContributionSource.DONATION)


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
