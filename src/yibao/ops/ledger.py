"""The double-entry ledger: accounts per region and year, append-only balanced entries, derived balances.

A posting's amount is in fen, debit positive and credit negative; every entry's
postings sum to zero. Balances are sums of postings, never stored. Account codes
are `region:year:kind` or `region:year:kind:sub` (sub = facility, person, source
or channel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, case, func, insert, select
from sqlalchemy.orm import Session

from yibao.core.money import Fen
from yibao.core.scheme import LayerKind
from yibao.ops.audit import Actor
from yibao.ops.errors import Rejected
from yibao.ops.store import JournalEntry, Posting, utcnow


class AccountKind(StrEnum):
    BANK = "bank"  # money received through a channel, awaiting transfer to the funds
    CONTRIBUTION_INCOME = "contribution_income"  # sub = source
    BASIC_POOLED_FUND = "basic_pooled_fund"
    INDIVIDUAL_ACCOUNT = "individual_account"  # UEBMI individual accounts, sub = person
    SERIOUS_ILLNESS = "serious_illness"
    ASSISTANCE_FUND = "assistance_fund"
    HUIMINBAO_INSURER = "huiminbao_insurer"
    COMMERCIAL_INSURER = "commercial_insurer"
    FACILITY_PAYABLE = "facility_payable"  # sub = facility
    QUALITY_DEPOSIT = "quality_deposit"  # sub = facility: withheld from monthly payments until year end
    MEMBER_RECEIVABLE = "member_receivable"  # sub = person: contributions due from a member, not yet paid
    CONTRIBUTION_RECEIVABLE = "contribution_receivable"  # sub = source: due from an employer, the government or assistance
    SERIOUS_ILLNESS_INSURER = "serious_illness_insurer"  # sub = insurer: the contracted insurer's side of the layer
    MUTUAL_AID_MEMBER_CHARGES = "mutual_aid_member_charges"  # region = plan id; deducted from members
    MUTUAL_AID_POOL = "mutual_aid_pool"
    MUTUAL_AID_PLATFORM_FEE = "mutual_aid_platform_fee"
    MUTUAL_AID_BENEFICIARY_PAYABLE = "mutual_aid_beneficiary_payable"  # sub = case id
    # voluntary products (yibao.ops.policies), region = the holder's, year = the product year, sub = product id
    INSURER_PREMIUM = "insurer_premium"  # credited with the premium written when a policy's premium falls due
    INSURER_CLAIMS = "insurer_claims"  # debited with each benefit owed to a policyholder (claims incurred)
    BENEFIT_PAYABLE = "benefit_payable"  # what the insurer owes policyholders: credit when owed, debit when paid


# Which fund bears a layer's payments, by the layer's kind (scheme data names the kind).
LAYER_ACCOUNT: dict[LayerKind, AccountKind] = {
    LayerKind.BASIC: AccountKind.BASIC_POOLED_FUND,
    LayerKind.SERIOUS_ILLNESS: AccountKind.SERIOUS_ILLNESS,
    LayerKind.ASSISTANCE: AccountKind.ASSISTANCE_FUND,
    LayerKind.HUIMINBAO: AccountKind.HUIMINBAO_INSURER,
    LayerKind.COMMERCIAL: AccountKind.COMMERCIAL_INSURER,
    # the large-amount subsidy is paid from the employees' pooled fund here (a fund of its own is the funds' work);
    # an individual account pays from the member's own account (ops passes no balance yet: it pays nothing)
    LayerKind.LARGE_AMOUNT_SUBSIDY: AccountKind.BASIC_POOLED_FUND,
    LayerKind.INDIVIDUAL_ACCOUNT: AccountKind.INDIVIDUAL_ACCOUNT,
}


@dataclass(frozen=True, slots=True)
class Account:
    region: str
    year: int
    kind: AccountKind
    sub: str = ""

    @property
    def code(self) -> str:
        base = f"{self.region}:{self.year}:{self.kind.value}"
        return f"{base}:{self.sub}" if self.sub else base


@dataclass(frozen=True, slots=True)
class Line:
    account: Account
    amount: Fen  # debit positive, credit negative


# Core statements on the tables (not the ORM's bulk INSERT): entries and postings are never loaded back as objects
ENTRIES = cast(Table, JournalEntry.__table__)
POSTINGS = cast(Table, Posting.__table__)
ENTRY_INSERT = insert(ENTRIES).returning(ENTRIES.c.id)
POSTING_INSERT = insert(POSTINGS)


def checked(reference: str, lines: Sequence[Line]) -> list[Line]:
    """The lines of one entry as it will be written: lines of zero dropped, amounts integer fen, summing to zero."""
    lines = [line for line in lines if line.amount != 0]
    for line in lines:
        if not isinstance(line.amount, int) or isinstance(line.amount, bool):
            raise Rejected(f"posting amount must be integer fen, got {line.amount!r}", code="ledger.not_fen")
    total = sum(line.amount for line in lines)
    if total != 0:
        raise Rejected(f"entry {reference!r} does not balance: debits − credits = {total} fen", code="ledger.unbalanced")
    return lines


def entry_values(actor: Actor, kind: str, reference: str, description: str) -> dict[str, object]:
    """The journal_entries row of an entry (its id is the database's)."""
    return {"posted_at": utcnow(), "kind": kind, "reference": reference, "description": description, "actor": actor.name}


def posting_values(entry_id: int | None, lines: Sequence[Line]) -> list[dict[str, object]]:
    """The postings rows of an entry's (checked) lines."""
    return [
        {
            "entry_id": entry_id,
            "account": line.account.code,
            "region": line.account.region,
            "year": line.account.year,
            "kind": line.account.kind.value,
            "amount": line.amount,
        }
        for line in lines
    ]


def post(
    session: Session, actor: Actor, kind: str, reference: str, description: str, lines: Sequence[Line]
) -> int | None:
    """Append one balanced entry in the caller's transaction and return its id; lines of zero are dropped and
    an entry of nothing is not written."""
    lines = checked(reference, lines)
    if not lines:
        return None
    return write(session, entry_values(actor, kind, reference, description), lines)


def write(session: Session, entry: dict[str, object], lines: Sequence[Line]) -> int:
    """Insert an entry row and its checked lines; its id."""
    entry_id = int(session.execute(ENTRY_INSERT, entry).scalar_one())
    session.execute(POSTING_INSERT, posting_values(entry_id, lines))
    return entry_id


@dataclass(frozen=True, slots=True)
class BalanceRow:
    account: str
    kind: str
    debit: Fen
    credit: Fen

    @property
    def balance(self) -> Fen:
        return self.debit - self.credit


@dataclass(frozen=True, slots=True)
class TrialBalance:
    rows: tuple[BalanceRow, ...]

    @property
    def total_debit(self) -> Fen:
        return sum(r.debit for r in self.rows)

    @property
    def total_credit(self) -> Fen:
        return sum(r.credit for r in self.rows)

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit


def insurer_rows(balance: TrialBalance) -> TrialBalance:
    """What an insurer sees of its layer's fund: what the layer paid, not how the bureau finances the fund (the
    fund's `in:<source>` allocation accounts are left out)."""
    return TrialBalance(tuple(row for row in balance.rows if ":in:" not in row.account))


def fen_sum(session: Session, amounts: Any) -> Any:
    """SUM of fen that no stored value can make fail: PostgreSQL sums a bigint as numeric; on SQLite, whose
    `sum` raises "integer overflow" beyond 64 bits, the store's exact aggregate (decimal text). Read with int()."""
    if session.get_bind().dialect.name == "sqlite":
        return func.coalesce(func.exact_sum(amounts), 0)  # NULL over no rows, as SUM
    return func.coalesce(func.sum(amounts), 0)


def trial_balance(
    session: Session,
    region: str | None = None,
    year: int | None = None,
    kinds: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
) -> TrialBalance:
    """Debit and credit totals per account, derived from the postings (optionally filtered)."""
    debit = fen_sum(session, case((Posting.amount > 0, Posting.amount), else_=0))
    credit = fen_sum(session, case((Posting.amount < 0, -Posting.amount), else_=0))
    query = select(Posting.account, Posting.kind, debit, credit).group_by(Posting.account, Posting.kind)
    if region is not None:
        query = query.where(Posting.region == region)
    if regions is not None:
        query = query.where(Posting.region.in_(list(regions)))
    if year is not None:
        query = query.where(Posting.year == year)
    if kinds is not None:
        query = query.where(Posting.kind.in_(list(kinds)))
    rows = tuple(
        BalanceRow(account, kind, int(d), int(c))
        for account, kind, d, c in session.execute(query.order_by(Posting.account))
    )
    return TrialBalance(rows)


def postings_of(session: Session, account: str, limit: int = 500) -> list[tuple[JournalEntry, Posting]]:
    """An account's postings with their entries, oldest first (a fund's entries for its region-year)."""
    query = (
        select(JournalEntry, Posting).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account == account).order_by(Posting.id).limit(limit)
    )
    return [(entry, posting) for entry, posting in session.execute(query).tuples()]


def owed_to_facility(session: Session, facility_id: str) -> list[tuple[str, int, Fen]]:
    """What the funds owe a facility, per region and year: the credit balance of its payable accounts."""
    query = (
        select(Posting.region, Posting.year, func.coalesce(func.sum(Posting.amount), 0))
        .where(Posting.kind == AccountKind.FACILITY_PAYABLE.value, Posting.account.endswith(f":{facility_id}", autoescape=True))
        .group_by(Posting.region, Posting.year).order_by(Posting.year, Posting.region)
    )
    return [(region, int(year), -int(total)) for region, year, total in session.execute(query)]


def balance(session: Session, account: Account) -> Fen:
    total = session.execute(select(fen_sum(session, Posting.amount)).where(Posting.account == account.code))
    return int(total.scalar_one())


def unbalanced_entries(session: Session) -> list[int]:
    """Ids of entries whose postings do not sum to zero (always empty; checked by tests and `trial-balance`)."""
    query = select(Posting.entry_id).group_by(Posting.entry_id).having(func.sum(Posting.amount) != 0)
    return [int(i) for i in session.execute(query).scalars()]


def entries(session: Session, reference: str | None = None, limit: int = 500) -> list[tuple[JournalEntry, list[Posting]]]:
    query = select(JournalEntry).order_by(JournalEntry.id)
    if reference is not None:
        query = query.where(JournalEntry.reference == reference)
    found = list(session.execute(query.limit(limit)).scalars())
    postings = session.execute(
        select(Posting).where(Posting.entry_id.in_([e.id for e in found])).order_by(Posting.id)
    ).scalars()
    by_entry: dict[int, list[Posting]] = {e.id: [] for e in found}
    for p in postings:
        by_entry[p.entry_id].append(p)
    return [(e, by_entry[e.id]) for e in found]
