"""The insurer's books of a product in a region-year: premiums written and earned, claims paid and outstanding,
expenses, loss and combined ratios, and for a government-guided product the loss the insurer absorbs.

Figures, in fen (region = the holders' region, year = the product year):
* written: the premium parts of its policies not written off (`insurer_premium:<product>`'s credit balance);
* earned on a day D (named rounding `earned_premium`): per policy in force, premium x days of cover elapsed by D
  / days of its term, rounded half-up to the fen; a lapsed policy's premium is earned in full from its lapse (no
  refund); pending and cancelled policies earn nothing;
* claims paid: benefits paid to members (the benefit claims) and what the product's layer paid at the counter
  (one-stop: the claims' entries on `insurer_claims:<product>`, net of reversals and corrections);
* claims incurred = paid + outstanding (benefits owed to members and not yet paid);
* expenses = expense ratio (product data) x written, rounded half-up;
* loss ratio = incurred / earned; combined ratio = (incurred + expenses) / earned (parts per million, half-up);
* underwriting result = earned - incurred - expenses; absorbed (huiminbao and small-value products, which insurers
  run at a loss for the government's guidance and local lock-in, seed 000) = the loss, when the result is negative.

`from_ledger` recomputes written, incurred, paid and outstanding from the journal alone: the property is that
they equal the report's (the insurer's accounts balance with the ledger).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from yibao.core.money import RATE_SCALE, Fen, RatePpm, apply_rate, format_rate, format_yuan, round_half_up_div
from yibao.ops import ledger, policies
from yibao.ops.contributions import CANCELLED as PART_CANCELLED
from yibao.ops.contributions import PAID as PART_PAID
from yibao.ops.ledger import AccountKind
from yibao.ops.one_stop import catalogue
from yibao.ops.policy_benefits import OWED_ENTRY, PAID, SUBMITTED
from yibao.ops.policy_premiums import ACTIVE, CANCELLED, LAPSED
from yibao.ops.store import Contribution, JournalEntry, Posting, Region
from yibao.ops.store_products import BenefitClaim, PolicyPremium, PolicyRow
from yibao.products.benefits import in_force
from yibao.products.model import ProductKind

GOVERNMENT_GUIDED = frozenset({ProductKind.HUIMINBAO, ProductKind.SMALL_VALUE})


@dataclass(frozen=True, slots=True)
class Books:
    product: str
    region: str
    year: int
    as_of: dt.date
    policies: int  # sold and not cancelled
    in_force: int  # in force on as_of
    written: Fen
    received: Fen  # premium parts paid
    earned: Fen
    claims_paid: Fen
    claims_outstanding: Fen
    claims: int  # benefit claims accepted
    expense_ratio: RatePpm
    expenses: Fen
    government_guided: bool

    @property
    def unearned(self) -> Fen:
        return self.written - self.earned

    @property
    def incurred(self) -> Fen:
        return self.claims_paid + self.claims_outstanding

    @property
    def loss_ratio(self) -> RatePpm | None:
        return None if self.earned == 0 else RatePpm(round_half_up_div(self.incurred * RATE_SCALE, self.earned))

    @property
    def combined_ratio(self) -> RatePpm | None:
        if self.earned == 0:
            return None
        return RatePpm(round_half_up_div((self.incurred + self.expenses) * RATE_SCALE, self.earned))

    @property
    def result(self) -> Fen:
        return self.earned - self.incurred - self.expenses

    @property
    def absorbed(self) -> Fen | None:
        """The loss a government-guided product's insurer absorbs (None for a private product)."""
        return max(-self.result, 0) if self.government_guided else None


def earned_premium(premium: Fen, start: dt.date, end: dt.date, ended_on: dt.date | None, as_of: dt.date) -> Fen:
    """Pro rata by days of cover elapsed (rounding point `earned_premium`: half-up to the fen, per policy)."""
    if ended_on is not None and as_of > ended_on:
        return premium  # lapsed: nothing refunded, the whole premium is earned
    term = (end - start).days + 1
    elapsed = min(max((as_of - start).days + 1, 0), term)
    return round_half_up_div(premium * elapsed, term)


def _check_region(session: Session, region: str) -> None:
    from yibao.ops.errors import NotFound

    if session.get(Region, region) is None:
        raise NotFound(f"no region {region!r}", code="region.not_found")


def report(session: Session, product_id: str, region: str, year: int, as_of: dt.date) -> Books:
    item = policies.product(product_id)
    _check_region(session, region)
    rows = list(session.execute(select(PolicyRow).where(
        PolicyRow.product == product_id, PolicyRow.region == region, PolicyRow.year == year)).scalars())
    ids = [r.id for r in rows]
    parts = list(session.execute(select(Contribution).join(PolicyPremium, PolicyPremium.contribution_id == Contribution.id)
                                 .where(PolicyPremium.policy_id.in_(ids))).scalars())
    claims = list(session.execute(select(BenefitClaim).where(BenefitClaim.policy_id.in_(ids))).scalars())
    at_counter, counter_claims = one_stop_paid(session, product_id, region, year)
    earning = [r for r in rows if r.status in (ACTIVE, LAPSED)]
    written = sum(p.amount for p in parts if p.status != PART_CANCELLED)
    ratio = item.expense_ratio.at(dt.date(year, 12, 31)) if item.expense_ratio is not None else RatePpm(0)
    return Books(
        product=product_id, region=region, year=year, as_of=as_of,
        policies=sum(1 for r in rows if r.status != CANCELLED),
        in_force=sum(1 for r in earning if in_force(policies.cover_of(r), as_of)),
        written=written, received=sum(p.amount for p in parts if p.status == PART_PAID),
        earned=sum(earned_premium(r.premium, r.start_date, r.end_date,
                                  r.ended_on if r.status == LAPSED else None, as_of) for r in earning),
        claims_paid=sum(c.amount for c in claims if c.status == PAID) + at_counter,
        claims_outstanding=sum(c.amount for c in claims if c.status == SUBMITTED),
        claims=len(claims) + counter_claims, expense_ratio=ratio, expenses=apply_rate(ratio, written),
        government_guided=item.kind in GOVERNMENT_GUIDED,
    )


def as_json(books: Books) -> dict[str, Any]:
    """The books as the API and `yibao insurer report --json` give them: yuan with two decimals, ratios as
    percentages (None when nothing is earned), absorbed None for a private product."""
    def ratio(value: RatePpm | None) -> str | None:
        return None if value is None else format_rate(value)

    absorbed = books.absorbed
    return {
        "product": books.product, "region": books.region, "year": books.year, "as_of": books.as_of.isoformat(),
        "policies": books.policies, "in_force": books.in_force, "premiums_written": format_yuan(books.written),
        "premiums_received": format_yuan(books.received), "premiums_earned": format_yuan(books.earned),
        "premiums_unearned": format_yuan(books.unearned), "claims": books.claims,
        "claims_paid": format_yuan(books.claims_paid), "claims_outstanding": format_yuan(books.claims_outstanding),
        "claims_incurred": format_yuan(books.incurred), "expense_ratio": format_rate(books.expense_ratio),
        "expenses": format_yuan(books.expenses), "loss_ratio": ratio(books.loss_ratio),
        "combined_ratio": ratio(books.combined_ratio), "underwriting_result": format_yuan(books.result),
        "government_guided": books.government_guided,
        "absorbed_by_insurer": None if absorbed is None else format_yuan(absorbed),
    }


@dataclass(frozen=True, slots=True)
class LedgerFigures:
    written: Fen
    incurred: Fen
    paid: Fen
    outstanding: Fen


def from_ledger(session: Session, product_id: str, region: str, year: int) -> LedgerFigures:
    """The book's figures from the journal alone (accounts `region:year:kind:product`)."""
    def account(kind: AccountKind) -> str:
        return ledger.Account(region, year, kind, product_id).code

    debit = ledger.fen_sum(session, case((Posting.amount > 0, Posting.amount), else_=0))
    total = ledger.fen_sum(session, Posting.amount)
    sums = {account: (int(d), int(t)) for account, d, t in session.execute(
        select(Posting.account, debit, total).where(Posting.account.in_(
            [account(k) for k in (AccountKind.INSURER_PREMIUM, AccountKind.INSURER_CLAIMS, AccountKind.BENEFIT_PAYABLE)]))
        .group_by(Posting.account))}
    premium = sums.get(account(AccountKind.INSURER_PREMIUM), (0, 0))
    incurred = sums.get(account(AccountKind.INSURER_CLAIMS), (0, 0))
    payable = sums.get(account(AccountKind.BENEFIT_PAYABLE), (0, 0))
    # paid: benefits paid to members (the payable's debits) and one-stop payments owed to facilities
    return LedgerFigures(written=-premium[1], incurred=incurred[1], paid=incurred[1] + payable[1],
                         outstanding=-payable[1])


def one_stop_paid(session: Session, product_id: str, region: str, year: int) -> tuple[Fen, int]:
    """What the product's layer paid at the counter (claims' entries on its claims account) and on how many
    claims (net of reversals and corrections)."""
    code = ledger.Account(region, year, AccountKind.INSURER_CLAIMS, product_id).code
    found = session.execute(
        select(JournalEntry.reference, ledger.fen_sum(session, Posting.amount))
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account == code, JournalEntry.kind != OWED_ENTRY).group_by(JournalEntry.reference)).all()
    return sum(int(total) for _, total in found), sum(1 for _, total in found if int(total) != 0)


def products_of_insurer(layer: str | None) -> list[str]:
    """The products an insurer's account may see: its `layer` names a product id, or a layer kind whose products
    it underwrites (`huiminbao`: the Huiminbao products; `commercial`: the small-value and private products)."""
    kinds = {"huiminbao": {ProductKind.HUIMINBAO}, "commercial": {ProductKind.SMALL_VALUE, ProductKind.PRIVATE_MEDICAL}}
    return sorted(p.id for p in catalogue().values()
                  if p.id == layer or p.kind in kinds.get(layer or "", set()))


def region_years(session: Session, product_id: str) -> list[tuple[str, int]]:
    """The region-years in which a product has policies, newest first."""
    found = session.execute(select(PolicyRow.region, PolicyRow.year).where(PolicyRow.product == product_id)
                            .distinct().order_by(PolicyRow.year.desc(), PolicyRow.region))
    return [(region, int(year)) for region, year in found]
