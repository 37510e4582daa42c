"""The fund report (基金收支报告): per fund of a region-year, income by source, outlays by kind and care type, the
year's balance, the accumulated balance (累计结存) and the months of outlays it covers (累计结存可支付月数).

Everything is derived from the ledger's postings (never stored), so the report of a year equals a fresh
computation from the entries. The funds and the accounts they are held on (docs/operations.md, "Funds"):

* basic pooled fund (统筹基金) `region:year:basic_pooled_fund`, serious-illness financing (大病保险资金)
  `region:year:serious_illness`, assistance fund (医疗救助基金) `region:year:assistance_fund`: income allocated
  from contributions credits `…:<fund>:in:<source>`; transfers out of a fund other than claims debit
  `…:<fund>:out:<purpose>` (e.g. `basic_pooled_fund:out:retiree_accounts`, the retirees' yearly account credit);
  settlement debits the fund's account without sub, with the entry's reference `claim:<id>`;
* individual accounts (个人账户), in total: `region:year:individual_account:<person_id>`; a member's account is a
  liability to them: credited when money comes in, debited when it is spent.

Each posting on a fund's accounts is classified once (`_classify`), so income − outlays = the year's balance
exactly: `in:<source>` → income from that source; `out:<purpose>` → outlay for that purpose; an entry referencing
`claim:<id>` → outlay on claims of that claim's care type (net of reversals and corrections); any other posting
→ income (a credit) named by the contribution's source for a `contribution:<id>` entry, else by the entry's kind,
or outlay (a debit) named by the entry's kind (e.g. a serious-illness contract's premium).

Months covered (累计结存可支付月数) = accumulated balance ÷ average monthly outlay of the year, the average monthly
outlay being the year's outlays ÷ 12 (the definition of the national statistical bulletins and of 人社部发〔2009〕67号,
which asks pooled funds to hold 6–9 months); given to one decimal, rounded half-up; none when the year has no
outlay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy import String, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session

from yibao.core.money import Fen, format_yuan
from yibao.ops.ledger import AccountKind, fen_sum
from yibao.ops.store import ClaimRow, Contribution, JournalEntry, Posting

MONTHS_PER_YEAR = 12
CLAIMS = "claims"  # the outlay kind of settled claims (by care type)


class Fund(StrEnum):
    BASIC_POOLED_FUND = AccountKind.BASIC_POOLED_FUND.value
    SERIOUS_ILLNESS = AccountKind.SERIOUS_ILLNESS.value
    ASSISTANCE_FUND = AccountKind.ASSISTANCE_FUND.value
    INDIVIDUAL_ACCOUNTS = AccountKind.INDIVIDUAL_ACCOUNT.value


FUND_KINDS = tuple(f.value for f in Fund)


@dataclass(frozen=True, slots=True)
class Outlay:
    """What a fund paid out for one purpose (`claims` for settled claims, by care type)."""

    kind: str
    care_type: str  # "" unless kind is `claims`
    amount: Fen


@dataclass(frozen=True, slots=True)
class FundYear:
    fund: Fund
    income: dict[str, Fen]  # source -> fen
    outlays: tuple[Outlay, ...]
    accumulated: Fen  # 累计结存: balance of every year up to and including this one

    @property
    def total_income(self) -> Fen:
        return sum(self.income.values())

    @property
    def total_outlay(self) -> Fen:
        return sum(o.amount for o in self.outlays)

    @property
    def balance(self) -> Fen:
        """The year's balance (当期结存): income − outlays."""
        return self.total_income - self.total_outlay

    @property
    def monthly_outlay(self) -> Decimal:
        return Decimal(self.total_outlay) / MONTHS_PER_YEAR

    @property
    def months_covered(self) -> Decimal | None:
        """累计结存可支付月数: accumulated ÷ (outlays ÷ 12), one decimal, half-up; None without outlays."""
        if self.total_outlay <= 0:
            return None
        months = Decimal(self.accumulated * MONTHS_PER_YEAR) / Decimal(self.total_outlay)
        return months.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class FundReport:
    region: str
    year: int
    funds: tuple[FundYear, ...] = field(default_factory=tuple)

    def fund(self, fund: Fund) -> FundYear:
        return next(f for f in self.funds if f.fund is fund)


@dataclass(frozen=True, slots=True)
class Movement:
    """One posting on a fund's accounts as the report sees it (also what tests recompute from)."""

    kind: str  # the account's kind (the fund)
    sub: str  # the account's sub (after the kind), "" for the fund's own account
    amount: Fen  # debit positive
    entry_kind: str
    reference: str
    care_type: str | None  # the claim's, for an entry referencing `claim:<id>`
    source: str | None  # the contribution's, for an entry referencing `contribution:<id>`


def classify(fund: Fund, sub: str, amount: Fen, entry_kind: str, reference: str,
             care_type: str | None, source: str | None) -> tuple[str, str, str, Fen]:
    """("income" | "outlay", label, care type, fen) of one posting on a fund's accounts (module docstring)."""
    if fund is not Fund.INDIVIDUAL_ACCOUNTS and sub.startswith("in:"):
        return "income", sub[3:], "", -amount
    if fund is not Fund.INDIVIDUAL_ACCOUNTS and sub.startswith("out:"):
        return "outlay", sub[4:], "", amount
    if reference.startswith("claim:"):
        return "outlay", CLAIMS, care_type or "", amount
    if amount < 0:
        return "income", source or entry_kind, "", -amount
    return "outlay", entry_kind, "", amount


def report_from(region: str, year: int, movements: Iterable[tuple[Movement, int]]) -> FundReport:
    """The report from (movement, count) pairs: movements of the year (count 1 each or aggregated) and, for the
    accumulated balance, the movements of every year up to it (see `fund_report`)."""
    income: dict[Fund, dict[str, Fen]] = {f: defaultdict(int) for f in Fund}
    outlays: dict[Fund, dict[tuple[str, str], Fen]] = {f: defaultdict(int) for f in Fund}
    for movement, _ in movements:
        fund = Fund(movement.kind)
        side, label, care, amount = classify(fund, movement.sub, movement.amount, movement.entry_kind,
                                             movement.reference, movement.care_type, movement.source)
        if side == "income":
            income[fund][label] += amount
        else:
            outlays[fund][(label, care)] += amount
    return FundReport(region, year, tuple(
        FundYear(f, dict(sorted(income[f].items())),
                 tuple(Outlay(k, c, a) for (k, c), a in sorted(outlays[f].items())), 0)
        for f in Fund
    ))


def fund_report(session: Session, region: str, year: int) -> FundReport:
    """The fund report of a region-year, aggregated in the database."""
    claim_ref = literal("claim:") + ClaimRow.claim_id
    contribution_ref = literal("contribution:") + cast(Contribution.id, String)
    prefix_len = func.length(Posting.region) + func.length(cast(Posting.year, String)) + func.length(Posting.kind) + 3
    sub = func.substr(Posting.account, prefix_len + 1)
    individual = Posting.kind == Fund.INDIVIDUAL_ACCOUNTS.value
    # individual accounts are per person: their sub (the person) is not a label, so it is not grouped by
    sub_label = case((individual, ""), else_=sub)
    is_claim = JournalEntry.reference.startswith("claim:")
    sign = case((Posting.amount < 0, -1), else_=1)
    claim_mark = case((is_claim, "claim:"), else_="")
    amount = fen_sum(session, Posting.amount)
    query = (
        select(Posting.kind, sub_label, JournalEntry.kind, claim_mark,
               ClaimRow.care_type, Contribution.source, sign, amount)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .outerjoin(ClaimRow, and_(is_claim, claim_ref == JournalEntry.reference))
        .outerjoin(Contribution, and_(JournalEntry.reference.startswith("contribution:"),
                                      contribution_ref == JournalEntry.reference))
        .where(Posting.region == region, Posting.year == year, Posting.kind.in_(FUND_KINDS))
        .group_by(Posting.kind, sub_label, JournalEntry.kind, claim_mark,
                  ClaimRow.care_type, Contribution.source, sign)
    )
    movements = [
        (Movement(kind, subtext or "", int(total), entry_kind, reference, care_type, source), 1)
        for kind, subtext, entry_kind, reference, care_type, source, _sign, total in session.execute(query)
    ]
    report = report_from(region, year, movements)
    return with_accumulated(report, accumulated_balances(session, region, year))


def accumulated_balances(session: Session, region: str, year: int) -> dict[Fund, Fen]:
    """累计结存 per fund: the balance of its accounts over every year up to `year` (credits − debits)."""
    query = (
        select(Posting.kind, fen_sum(session, Posting.amount))
        .where(Posting.region == region, Posting.year <= year, Posting.kind.in_(FUND_KINDS))
        .group_by(Posting.kind)
    )
    found = {Fund(kind): -int(total) for kind, total in session.execute(query)}
    return {f: found.get(f, 0) for f in Fund}


def with_accumulated(report: FundReport, accumulated: dict[Fund, Fen]) -> FundReport:
    return FundReport(report.region, report.year, tuple(
        FundYear(f.fund, f.income, f.outlays, accumulated[f.fund]) for f in report.funds
    ))


def plain(report: FundReport) -> dict[str, object]:
    """The report as plain values, amounts in yuan with two decimals (the API's and `--json`'s shape)."""
    money = format_yuan
    return {
        "region": report.region,
        "year": report.year,
        "funds": [
            {
                "fund": f.fund.value,
                "income": {source: money(amount) for source, amount in f.income.items()},
                "total_income": money(f.total_income),
                "outlays": [{"kind": o.kind, "care_type": o.care_type or None, "amount": money(o.amount)}
                            for o in f.outlays],
                "total_outlay": money(f.total_outlay),
                "balance": money(f.balance),
                "accumulated_balance": money(f.accumulated),
                "months_covered": None if f.months_covered is None else str(f.months_covered),
            }
            for f in report.funds
        ],
    }
