"""A period's money movements as balanced double-entry lines, ready for the operations ledger.

Pure: no store. Member charges are one aggregate line per period (the per-member detail is
the Parquet dataset), so 100 million members post three entries, not 100 million rows.

    charges      Dr member charges (deducted)  collected   Cr mutual-aid pool
    fee          Dr mutual-aid pool            fee         Cr platform fee income
    aid          Dr mutual-aid pool            aid         Cr beneficiary payable (one line per case)

The pool's balance moves from the surplus brought in to the surplus carried out:
collected − fee − aid = surplus_out − surplus_in (apportion.ApportionmentSummary.check).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from yibao.core.money import Fen
from yibao.mutual_aid.apportion import ApportionmentSummary, ApprovedCase
from yibao.mutual_aid.errors import MutualAidError


class PoolAccount(StrEnum):
    MEMBER_CHARGES = "mutual_aid_member_charges"  # deducted from members' payment accounts
    POOL = "mutual_aid_pool"
    PLATFORM_FEE = "mutual_aid_platform_fee"
    BENEFICIARY_PAYABLE = "mutual_aid_beneficiary_payable"  # sub = case id


@dataclass(frozen=True, slots=True)
class PoolLine:
    account: PoolAccount
    amount: Fen  # debit positive, credit negative
    sub: str = ""


@dataclass(frozen=True, slots=True)
class PoolEntry:
    kind: str
    reference: str
    description: str
    lines: tuple[PoolLine, ...]

    def balanced(self) -> bool:
        return sum(line.amount for line in self.lines) == 0


def period_entries(summary: ApportionmentSummary, cases: Sequence[ApprovedCase]) -> tuple[PoolEntry, ...]:
    """The three balanced entries of a period (charges, fee, aid), referenced by the notice date."""
    if len(cases) != summary.cases or sum(c.aid for c in cases) != summary.aid:
        raise MutualAidError("the cases are not those the summary was apportioned from", code="mutual_aid.cases_mismatch")
    ref = f"{summary.plan}:{summary.notice_date.isoformat()}"
    entries = (
        PoolEntry("mutual_aid.charges", f"{ref}:charges",
                  f"member charges deducted {summary.deduction_date} ({summary.members_protected} members)",
                  (PoolLine(PoolAccount.MEMBER_CHARGES, summary.collected), PoolLine(PoolAccount.POOL, -summary.collected))),
        PoolEntry("mutual_aid.fee", f"{ref}:fee", "management fee to the platform",
                  (PoolLine(PoolAccount.POOL, summary.fee), PoolLine(PoolAccount.PLATFORM_FEE, -summary.fee))),
        PoolEntry("mutual_aid.aid", f"{ref}:aid", f"lump sums of {summary.cases} cases",
                  (PoolLine(PoolAccount.POOL, summary.aid),
                   *(PoolLine(PoolAccount.BENEFICIARY_PAYABLE, -c.aid, c.case_id) for c in cases))),
    )
    assert all(entry.balanced() for entry in entries)
    return entries


def pool_movement(entries: Sequence[PoolEntry]) -> Fen:
    """Net change of the pool's balance (credit-normal: money held is positive)."""
    return -sum(line.amount for entry in entries for line in entry.lines if line.account is PoolAccount.POOL)
