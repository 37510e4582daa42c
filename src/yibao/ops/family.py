"""Individual accounts (个人账户) and family sharing (家庭共济) in operations.

A UEBMI member's individual account is `region:year:individual_account:<person_id>` in the ledger, one account per
year in the member's registered region; it is a liability to the member: credited (negative postings) when money
comes in, debited (positive postings) when it is spent. Its balance now is minus the sum of its postings over
every year, and it never goes below zero.

Since the 2021 reform (国办发〔2021〕14号) a member may let registered close relatives (spouse, parents, children)
use their account: for the relative's personal part at settlement, and for the relative's residents'
contribution. What the rules core is given as a person's `individual_account_balance` is what they may spend
now: their own account's balance plus the balances of the accounts of every member who registered them.

The order of spending (documented in docs/operations.md, "Individual accounts"): the person's own account first,
then the accounts of the members who registered them, in the order of registration. A refund (a claim reversed,
or re-settled to a smaller account payment) goes back to the accounts that paid that claim, in the reverse order.

Concurrency: whoever spends from accounts first locks the account holders' persons rows (SELECT ... FOR UPDATE)
in person-id order, then reads the balances; so two claims (or a claim and a contribution payment) never spend
the same balance twice, and locks are always taken in one order.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.core.model import InsuranceScheme
from yibao.core.money import Fen
from yibao.ops import audit, registry
from yibao.ops.account_spending import draw
from yibao.ops.allocation import Source
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, fen_sum
from yibao.ops.schemas import YEAR_MAX, YEAR_MIN
from yibao.ops.store import Contribution, Enrolment, JournalEntry, PersonRow, Posting, utcnow
from yibao.ops.store_family import FamilyRelative

UEBMI = (InsuranceScheme.UEBMI_EMPLOYEE.value, InsuranceScheme.UEBMI_RETIREE.value)


class Relation(StrEnum):
    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"


def account(person: PersonRow, year: int) -> Account:
    """The person's individual account of a year (in their registered region)."""
    return Account(person.region, year, AccountKind.INDIVIDUAL_ACCOUNT, person.person_id)


def account_codes(person: PersonRow) -> list[str]:
    """Every year's account code of the person (the ledger's index finds each)."""
    return [account(person, year).code for year in range(YEAR_MIN, YEAR_MAX + 1)]


def balance(session: Session, person_id: str) -> Fen:
    """The person's individual account balance now (fen): minus the sum of its postings over every year."""
    person = registry.person(session, person_id)
    total = session.execute(select(fen_sum(session, Posting.amount)).where(Posting.account.in_(account_codes(person))))
    return -int(total.scalar_one())


def movements(session: Session, person_id: str, limit: int = 200) -> list[tuple[JournalEntry, Posting]]:
    """The account's postings with their entries, newest first (what the member's page lists)."""
    person = registry.person(session, person_id)
    query = (
        select(JournalEntry, Posting).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account.in_(account_codes(person))).order_by(Posting.id.desc()).limit(limit)
    )
    return [(e, p) for e, p in session.execute(query)]


def _has_uebmi(session: Session, person_id: str) -> bool:
    found = session.execute(
        select(Enrolment.id).where(Enrolment.person_id == person_id, Enrolment.scheme.in_(UEBMI)).limit(1)
    ).first()
    return found is not None


def register_relative(session: Session, actor: Actor, holder_id: str, relative_id: str, relation: str) -> FamilyRelative:
    """Register a close relative who may use the holder's individual account (家庭共济)."""
    try:
        kind = Relation(relation)
    except ValueError:
        raise Rejected(f"unknown relation {relation!r} (one of {', '.join(r.value for r in Relation)})",
                       code="family.relation") from None
    registry.person(session, holder_id)
    registry.person(session, relative_id)
    if holder_id == relative_id:
        raise Rejected("a member cannot register themself as their own relative", code="family.self")
    if not _has_uebmi(session, holder_id):
        raise Rejected(f"{holder_id} has no UEBMI enrolment, so no individual account to share",
                       code="family.no_account")
    seen = session.execute(select(FamilyRelative).where(
        FamilyRelative.holder_id == holder_id, FamilyRelative.relative_id == relative_id)).scalar_one_or_none()
    if seen is not None:
        raise Conflict(f"{relative_id} is already registered as {holder_id}'s {seen.relation}",
                       code="family.already_registered")
    row = FamilyRelative(holder_id=holder_id, relative_id=relative_id, relation=kind.value, registered_at=utcnow())
    audit.added(session, actor, "family.registered", "family_relative", row)
    return row


def relatives_of(session: Session, holder_id: str) -> list[FamilyRelative]:
    """The relatives a holder registered, in the order registered."""
    query = select(FamilyRelative).where(FamilyRelative.holder_id == holder_id).order_by(FamilyRelative.id)
    return list(session.execute(query).scalars())


def sharers(session: Session, person_id: str) -> list[str]:
    """The accounts a person may spend, in the order they are spent: their own, then the holders who registered
    them (in the order of registration)."""
    query = select(FamilyRelative.holder_id).where(FamilyRelative.relative_id == person_id).order_by(FamilyRelative.id)
    return [person_id, *[h for h in session.execute(query).scalars() if h != person_id]]


def lock_holders(session: Session, person_ids: Sequence[str]) -> None:
    """Lock the account holders' persons rows, in person-id order (module docstring)."""
    session.execute(
        select(PersonRow.person_id).where(PersonRow.person_id.in_(sorted(set(person_ids))))
        .order_by(PersonRow.person_id).with_for_update()
    ).all()


def available(session: Session, person_id: str, *, lock: bool = True) -> list[tuple[str, Fen]]:
    """(holder, balance now) of each account the person may spend, in spending order; locks them first (unless
    only shown: `lock=False`)."""
    holders = sharers(session, person_id)
    if lock:
        lock_holders(session, holders)
    return [(holder, balance(session, holder)) for holder in holders]


def pay_relative_contribution(session: Session, actor: Actor, holder_id: str, contribution_id: int) -> Contribution:
    """Pay a registered relative's residents' contribution (their own part, still due) from the holder's individual
    account, through the contributions service (channel `account`: the holder's account is debited in place of a
    bank account)."""
    from yibao.ops import contributions

    contribution = session.get(Contribution, contribution_id)
    if contribution is None or contribution.enrolment_id is None:
        raise NotFound(f"no contribution {contribution_id}", code="contribution.not_found")
    enrolment = session.get(Enrolment, contribution.enrolment_id)
    assert enrolment is not None
    relatives = {r.relative_id for r in relatives_of(session, holder_id)}
    if enrolment.person_id not in relatives:
        raise Rejected(f"{enrolment.person_id} is not a registered relative of {holder_id}", code="family.not_relative")
    if enrolment.scheme != InsuranceScheme.URRBMI.value or contribution.source != Source.INDIVIDUAL.value:
        raise Rejected("only a relative's own residents' contribution can be paid from an individual account",
                       code="family.not_resident_contribution")
    if contribution.status != contributions.DUE:
        raise Conflict(f"contribution {contribution_id} is {contribution.status}, not due", code="contribution.not_due")
    lock_holders(session, [holder_id])
    draw([(holder_id, balance(session, holder_id))], contribution.amount)
    holder = registry.person(session, holder_id)
    return contributions.record_payment(
        session, actor, contribution_id, contribution.amount, contributions.Channel.ACCOUNT.value,
        f"account:{holder_id}:{contribution_id}", paid_from=account(holder, contribution.year),
    )
