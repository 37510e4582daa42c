"""Individual accounts spent at settlement (yibao.ops.claims), with family sharing (yibao.ops.family).

The rules core pays a layer of kind `individual_account` up to a yearly cap that is the person's
`individual_account_balance`. Operations gives it what the person may spend now — their own account's balance
plus the balances of the accounts of every member who registered them as a close relative — plus what the layer
has already drawn in the claim's year (the core counts the year's payments against the cap), so that the claim can
take exactly what the accounts hold now and never more.

The layer's payment is posted in the settlement's transaction, from the accounts in spending order (own first,
then the sharing members' in the order they registered the person): each account's share debits
`<holder's region>:<service year>:individual_account:<holder>`. A payment that falls (a claim reversed, corrected
or re-settled) is refunded to the accounts that paid that claim, in the reverse order. Before reading balances the
holders' persons rows are locked in person-id order (yibao.ops.family), so concurrent claims of relatives never
spend one balance twice; should the accounts hold less than the core decided (a scheme with two parts capped by
the balance, say), the claim is refused (`family.insufficient_balance`), never posted into a negative balance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from yibao.core.model import InsuranceScheme, Person
from yibao.core.money import Fen, format_yuan
from yibao.core.scalar import YearAccumulators
from yibao.core.scheme import LayerKind, Scheme
from yibao.ops.errors import Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.schemas import YEAR_MAX, YEAR_MIN
from yibao.ops.store import JournalEntry, PersonRow, Posting
from yibao.ops.store_family import FamilyRelative

Executor = Connection | Session
ACCOUNT_SCHEMES = frozenset({InsuranceScheme.UEBMI_EMPLOYEE, InsuranceScheme.UEBMI_RETIREE})  # who has an account


def account_layers(scheme: Scheme) -> list[str]:
    return [layer.id for layer in scheme.layers if layer.kind is LayerKind.INDIVIDUAL_ACCOUNT]


@dataclass(slots=True)
class Spending:
    """The accounts a claimant may spend (holder, region, balance now), in spending order, locked."""

    executor: Executor
    accounts: list[tuple[str, str, Fen]]

    @property
    def total(self) -> Fen:
        return sum(max(held, 0) for _, _, held in self.accounts)

    def person(self, person: Person, drawn_this_year: Fen) -> Person:
        """The claimant as the core sees them: balance = what the accounts hold now + what the year drew."""
        return replace(person, individual_account_balance=self.total + drawn_this_year)

    def lines(self, claim_id: str, year: int, change: Fen) -> list[Line]:
        """The account postings of a change in the layer's payment on a claim (debit: spent; credit: refunded)."""
        if change > 0:
            fresh = [(h, balance_of(self.executor, h, r)) for h, r, _ in self.accounts]
            regions = {h: r for h, r, _ in self.accounts}
            return [Line(Account(regions[h], year, AccountKind.INDIVIDUAL_ACCOUNT, h), take)
                    for h, take in draw(fresh, change)]
        if change < 0:
            paid = paid_by_account(self.executor, claim_id)
            order = [Account(r, year, AccountKind.INDIVIDUAL_ACCOUNT, h).code for h, r, _ in self.accounts]
            codes = [c for c in paid if c not in order] + list(reversed(order))
            lines, left = [], -change
            for code in codes:
                back = min(paid.get(code, 0), left)
                if back > 0:
                    region, year_text, _, holder = code.split(":", 3)
                    lines.append(Line(Account(region, int(year_text), AccountKind.INDIVIDUAL_ACCOUNT, holder), -back))
                    left -= back
            if left:
                raise AssertionError(f"claim {claim_id}: the accounts paid {-change - left} fen, less than refunded")
            return lines
        return []


def draw(accounts: Sequence[tuple[str, Fen]], amount: Fen) -> list[tuple[str, Fen]]:
    """Take `amount` from the accounts in their order, each at most its balance: (holder, fen) per account used.
    Refused if the accounts hold less than the amount (so no balance goes negative)."""
    if amount < 0:
        raise ValueError("draw takes a non-negative amount")
    taken: list[tuple[str, Fen]] = []
    left = amount
    for holder, held in accounts:
        take = min(max(held, 0), left)
        if take:
            taken.append((holder, take))
            left -= take
    if left:
        raise Rejected(f"the individual accounts hold {format_yuan(amount - left)}, less than {format_yuan(amount)}",
                       code="family.insufficient_balance")
    return taken


def codes(holder: str, region: str) -> list[str]:
    return [Account(region, year, AccountKind.INDIVIDUAL_ACCOUNT, holder).code for year in range(YEAR_MIN, YEAR_MAX + 1)]


def balance_of(executor: Executor, holder: str, region: str) -> Fen:
    total = executor.execute(select(_sum(executor, Posting.amount))
                             .where(Posting.account.in_(codes(holder, region)))).scalar_one()
    return -int(total)


def _sum(executor: Executor, amounts: Any) -> Any:
    """`ledger.fen_sum` on a Session or a Connection (SQLite's exact aggregate there, PostgreSQL's sum)."""
    dialect = executor.get_bind().dialect.name if isinstance(executor, Session) else executor.dialect.name
    return func.coalesce(func.exact_sum(amounts) if dialect == "sqlite" else func.sum(amounts), 0)


def paid_by_account(executor: Executor, claim_id: str) -> dict[str, Fen]:
    """What each individual account has paid (net) on a claim, from the ledger."""
    query = (
        select(Posting.account, _sum(executor, Posting.amount))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.reference == f"claim:{claim_id}", Posting.kind == AccountKind.INDIVIDUAL_ACCOUNT.value)
        .group_by(Posting.account)
    )
    return {account: int(total) for account, total in executor.execute(query) if int(total) > 0}


def shared_with(person_id: Any) -> Any:
    """SQL: whether any member shares their individual account with the person (the claims' locked read carries
    it, so a claimant who has neither an account nor anyone sharing costs no statement more)."""
    return exists(select(FamilyRelative.id).where(FamilyRelative.relative_id == person_id)).label("account_shared")


def spending(executor: Executor, scheme: Scheme, person_id: str, region: str, *, needed: bool = True) -> Spending | None:
    """The claimant's accounts, locked, or None when the scheme has no individual-account layer or the claimant
    needs none (`needed` false: not a UEBMI member and nobody shares an account with them — a resident's own
    account left from earlier employment is then not spent; see docs/funds.md)."""
    if not account_layers(scheme) or not needed:
        return None
    holders = executor.execute(
        select(FamilyRelative.holder_id, PersonRow.region).join(PersonRow, PersonRow.person_id == FamilyRelative.holder_id)
        .where(FamilyRelative.relative_id == person_id).order_by(FamilyRelative.id)
    ).all()
    order = [(person_id, region), *[(h, r) for h, r in holders if h != person_id]]
    executor.execute(
        select(PersonRow.person_id).where(PersonRow.person_id.in_(sorted({h for h, _ in order})))
        .order_by(PersonRow.person_id).with_for_update()
    ).all()
    return Spending(executor, [(h, r, balance_of(executor, h, r)) for h, r in order])


def drawn(scheme: Scheme, accumulators: YearAccumulators) -> Fen:
    """What the year's claims have drawn against the account layer's cap so far (the core's running total)."""
    layers = set(account_layers(scheme))
    return sum(totals.raw for key, totals in accumulators.parts.items() if key.split(".", 1)[0] in layers)


def held_by_claims(scheme: Scheme, splits: list[Mapping[str, Any]]) -> Fen:
    """What the ledger holds as the account layer's payments on a person-year's settled claims."""
    layers = account_layers(scheme)
    return sum(int(split.get(layer, 0)) for split in splits for layer in layers)
