"""A serious-illness contract's year-end reconciliation, read from and posted to the operations ledger.

Accounts of the region-year (operations ledger: debit positive, credit negative;
a party that pays is debited, the party paid is credited, so a debit balance is
what an account has paid out):

* `S` = `region:year:serious_illness` — the fund's serious-illness layer;
* `I` = `region:year:serious_illness_insurer:<insurer>` — the contracted insurer (`insurer_key`);
* `H` = `region:year:facility_payable:<facility>` — what the bureau owes each hospital.

**During the year** every settled claim posts its serious-illness share `c` as
`Dr S c / Cr H c` (`yibao.ops.claims`; corrections and reversals post differences
the same way). So before the year end, with `C = Σc` (the year's serious-illness
payments): `bal S = C`, `Σ bal H = −C`, `bal I = 0`.

**The reconciliation** (`yibao.contracts.reconcile`) of `C` gives premium `P`,
fee `F`, surplus refund `R` (insurer → fund), loss compensation `L` (fund →
insurer) and the split `C = C_fund + C_ins` of who bears the claims. The balances
each party should end the year with are its net outlay:

    bal S = fund outlay                  = P + F + L − R + C_fund
    bal I = −(insurer income − C_ins)    = C_ins − (P + F + L − R)
    Σ bal H = −C                         (the hospitals are owed what the claims posted, no more)

**The year-end entries** post only what the claims have not already posted —
the difference between those targets and the balances above — one balanced
entry per movement, all of kind `contract` and reference
`contract:<region>:<year>:<contract>`:

    premium                          Dr S P       Cr I P
    management fee                   Dr S F       Cr I F
    claims borne by the insurer      Dr I C_ins   Cr S C_ins   (the fund paid the hospitals for them)
    surplus refund                   Dr I R       Cr S R
    loss compensation                Dr S L       Cr I L

Then `bal S = C + P + F − C_ins − R + L = P + F + L − R + C_fund` (as `C − C_ins =
C_fund`), `bal I = −P − F + C_ins + R − L`, and `H` is untouched: every target
holds and `bal S + bal I + Σ bal H = 0`. Claims the fund bears (`C_fund`: fund
management) need no entry — they are on `S` already. Each party's own admin cost
is its own expense, reported by the reconciliation and not posted. The same
result as the cash-flow view of `ledger_entries` with every sign turned (what a
party received there is what it paid out here), less the hospital payments the
claims have already booked; a test checks the two agree.

The year's figures come from the store: `C` is every posting on `S` except the
contract's own entries, the claims are the references whose net payment on `S`
is positive, and the enrollees are the region-year's active enrolments in the
schemes the region's serious-illness layer covers (unless given).

Posting is one transaction: the region's row is locked (PostgreSQL; SQLite
serialises writers), a second posting for the region-year is refused
(`contracts.already_posted`, or `contracts.year_already_posted` for another
contract, because the year's claims can be borne only once), the entries and an
audit event (`contract.posted`, with the year's figures) are written together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yibao.contracts.model import Contract
from yibao.contracts.reconcile import (
    Memos,
    Reconciliation,
    YearExperience,
    insurer_key,
    reconcile,
    reconciliation_figures,
)
from yibao.core.money import Fen
from yibao.core.scheme import Dimension, LayerKind
from yibao.ops import audit, ledger, registry
from yibao.ops.audit import Actor
from yibao.ops.claims import scheme_named
from yibao.ops.errors import Conflict, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.store import Enrolment, JournalEntry, PersonRow, Posting, Region

CONTRACT_KIND = "contract"  # the journal-entry kind of every year-end contract movement
POSTED_ACTION = "contract.posted"  # the audit action of a posting (entity "contract", id = the reference)
_REFERENCE_LENGTH = 128  # JournalEntry.reference


@dataclass(frozen=True, slots=True)
class Movement:
    """One year-end movement: `payer` is debited (its outlay grows), `payee` credited."""

    payer: Account
    payee: Account
    amount: Fen
    memo: str

    @property
    def lines(self) -> tuple[Line, Line]:
        return Line(self.payer, self.amount), Line(self.payee, -self.amount)


@dataclass(frozen=True, slots=True)
class ContractPosting:
    """A reconciliation posted to the ledger: the journal entries written, one per movement."""

    reconciliation: Reconciliation
    reference: str
    entry_ids: tuple[int, ...]
    movements: tuple[Movement, ...]


def fund_account(contract: Contract) -> Account:
    return Account(contract.region, contract.year, AccountKind.SERIOUS_ILLNESS)


def insurer_account(contract: Contract) -> Account:
    return Account(contract.region, contract.year, AccountKind.SERIOUS_ILLNESS_INSURER, insurer_key(contract))


def posting_reference(contract: Contract) -> str:
    return f"{CONTRACT_KIND}:{contract.region}:{contract.year}:{contract.name}"


def year_end_movements(rec: Reconciliation) -> list[Movement]:
    """The movements the year end posts (module docstring), zero amounts left out."""
    fund, insurer, memo = fund_account(rec.contract), insurer_account(rec.contract), Memos.of(rec)
    movements = [
        Movement(fund, insurer, rec.premium, memo.premium),
        Movement(fund, insurer, rec.fee, memo.fee),
        Movement(insurer, fund, rec.claims_borne_by_insurer, memo.claims_borne_by_insurer),
        Movement(insurer, fund, rec.surplus_refund, memo.surplus_refund),
        Movement(fund, insurer, rec.loss_compensation, memo.loss_compensation),
    ]
    return [m for m in movements if m.amount != 0]


# --- the year's figures from the store ------------------------------------------------------------------


def _check_region_year(contract: Contract, region: str, year: int) -> None:
    if (contract.region, contract.year) != (region, year):
        raise Rejected(
            f"contract {contract.name!r} is for {contract.region} {contract.year}, not {region} {year} "
            "(write a contract file for that region and year)",
            code="contracts.region_year_mismatch",
        )


def covered_schemes(session: Session, region: str) -> frozenset[str] | None:
    """The insurance schemes the region's serious-illness layer covers (None: every scheme)."""
    scheme = scheme_named(registry.region(session, region).scheme_name)
    parts = [part for layer in scheme.layers if layer.kind is LayerKind.SERIOUS_ILLNESS for part in layer.parts]
    if not parts:
        raise Rejected(
            f"the scheme {scheme.name!r} of region {region!r} has no serious-illness layer",
            code="contracts.no_serious_illness_layer",
        )
    keys = [part.when.keys.get(Dimension.SCHEME) for part in parts]
    return None if any(k is None for k in keys) else frozenset().union(*(k for k in keys if k is not None))


def covered_enrollees(session: Session, region: str, year: int) -> int:
    """Active enrolments of the region-year in the schemes its serious-illness layer covers."""
    schemes = covered_schemes(session, region)
    query = (
        select(func.count())
        .select_from(Enrolment)
        .join(PersonRow, PersonRow.person_id == Enrolment.person_id)
        .where(PersonRow.region == region, Enrolment.year == year, Enrolment.status == "active")
    )
    if schemes is not None:
        query = query.where(Enrolment.scheme.in_(sorted(schemes)))
    return int(session.execute(query).scalar_one())


def serious_illness_payments(session: Session, region: str, year: int) -> tuple[Fen, int]:
    """(the year's serious-illness payments, claims with a payment), from the ledger's layer account."""
    return layer_payments(session, Account(region, year, AccountKind.SERIOUS_ILLNESS))


def layer_payments(session: Session, fund: Account) -> tuple[Fen, int]:
    """(claims paid from a layer's fund account for its region-year, net of reversals and corrections; claims with
    a payment), from the ledger: only the entries of claims (`yibao.ops.claims` references them `claim:<id>`), so
    neither a contract's year-end movements nor premiums credited to the fund count."""
    per_reference = (
        select(func.sum(Posting.amount).label("paid"))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Posting.account == fund.code)
        .where(JournalEntry.reference.like("claim:%"))
        .where(JournalEntry.kind != CONTRACT_KIND)
        .group_by(JournalEntry.reference)
        .subquery()
    )
    paid = func.coalesce(func.sum(per_reference.c.paid), 0)
    claims = func.coalesce(func.sum(case((per_reference.c.paid > 0, 1), else_=0)), 0)
    total, count = session.execute(select(paid, claims)).one()
    return int(total), int(count)


def ledger_experience(session: Session, region: str, year: int, enrollees: int | None = None) -> YearExperience:
    """The region-year as reconciliation reads it from the operations store."""
    registry.region(session, region)
    paid, claims = serious_illness_payments(session, region, year)
    count = covered_enrollees(session, region, year) if enrollees is None else enrollees
    return YearExperience(enrollees=count, claims_paid=paid, claims=claims)


def preview(
    session: Session, contract: Contract, region: str, year: int, enrollees: int | None = None
) -> Reconciliation:
    """The reconciliation of the region-year as the ledger stands (nothing written)."""
    _check_region_year(contract, region, year)
    return reconcile(contract, ledger_experience(session, region, year, enrollees))


# --- posting --------------------------------------------------------------------------------------------


def posted_references(session: Session, region: str, year: int) -> list[str]:
    """References of the contract postings already in the region-year's ledger."""
    query = (
        select(JournalEntry.reference)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(JournalEntry.kind == CONTRACT_KIND, Posting.region == region, Posting.year == year)
        .distinct()
        .order_by(JournalEntry.reference)
    )
    return list(session.execute(query).scalars())


def _refuse_repeat(session: Session, contract: Contract, region: str, year: int) -> None:
    reference = posting_reference(contract)
    found = posted_references(session, region, year)
    if reference in found:
        raise Conflict(
            f"contract {contract.name!r} is already posted for {region} {year} (entries {reference!r})",
            code="contracts.already_posted",
        )
    if found:
        raise Conflict(
            f"{region} {year} is already reconciled under {found[0]!r}; the year's claims can be borne only once",
            code="contracts.year_already_posted",
        )


def post_year_end(
    session: Session, actor: Actor, contract: Contract, region: str, year: int, enrollees: int | None = None
) -> ContractPosting:
    """Reconcile the region-year from the ledger and post the contract's movements, in the caller's transaction."""
    _check_region_year(contract, region, year)
    reference = posting_reference(contract)
    if len(reference) > _REFERENCE_LENGTH:
        raise Rejected(
            f"the posting reference {reference!r} is longer than {_REFERENCE_LENGTH} characters (shorten the name)",
            code="contracts.name_too_long",
        )
    lock = select(Region).where(Region.code == region).with_for_update(key_share=True)  # FOR NO KEY UPDATE
    if session.execute(lock).scalar_one_or_none() is None:
        registry.region(session, region)  # raises region.not_found
    _refuse_repeat(session, contract, region, year)
    rec = reconcile(contract, ledger_experience(session, region, year, enrollees))
    movements = year_end_movements(rec)
    if not movements:
        raise Rejected(
            f"nothing to post for {region} {year}: no enrollees, no claims, no premium or fee",
            code="contracts.nothing_to_post",
        )
    entry_ids = tuple(_post(session, actor, reference, movement) for movement in movements)
    audit.record(session, actor, POSTED_ACTION, "contract", reference, None, _audit_record(rec, entry_ids))
    return ContractPosting(rec, reference, entry_ids, tuple(movements))


def _post(session: Session, actor: Actor, reference: str, movement: Movement) -> int:
    entry_id = ledger.post(session, actor, CONTRACT_KIND, reference, movement.memo, movement.lines)
    assert entry_id is not None  # movements are never zero
    return entry_id


def _audit_record(rec: Reconciliation, entry_ids: Sequence[int]) -> dict[str, object]:
    c, e = rec.contract, rec.experience
    return {
        "contract": c.name,
        "mode": c.mode.value,
        "insurer": c.insurer,
        "region": c.region,
        "year": c.year,
        "enrollees": e.enrollees,
        "claims": e.claims,
        "figures": reconciliation_figures(rec),
        "entries": list(entry_ids),
    }


def posted(session: Session, contract: Contract, region: str, year: int) -> ContractPosting | None:
    """The contract's posting for the region-year as recorded (None if not posted)."""
    _check_region_year(contract, region, year)
    reference = posting_reference(contract)
    events = [e for e in audit.events(session, "contract", reference) if e.action == POSTED_ACTION]
    if not events or events[-1].after is None:
        return None
    record = events[-1].after
    experience = YearExperience(
        enrollees=int(record["enrollees"]),
        claims_paid=int(record["figures"]["claims_paid"]),
        claims=int(record["claims"]),
    )
    rec = reconcile(contract, experience)
    if reconciliation_figures(rec) != record["figures"]:
        raise Conflict(
            f"contract {contract.name!r} no longer gives the figures posted for {region} {year} "
            "(its parameters changed after posting)",
            code="contracts.changed_since_posting",
        )
    return ContractPosting(rec, reference, tuple(int(i) for i in record["entries"]), tuple(year_end_movements(rec)))
