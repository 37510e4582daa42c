"""Year-end reconciliation of a serious-illness contract, exact in fen, and its ledger entries.

Given the year's serious-illness payments (the claims the layer paid) and the
number of enrollees, each mode settles who bore what:

* fund management: the fund pays the claims and a fee (per enrollee + a share of claims);
* insurance contract: the fund pays the premium; the insurer pays the claims; the balance
  `premium − expense allowance − claims` above the profit cap returns to the fund, and a
  loss beyond the band is shared (the fund compensates its share);
* co-insurance: the fund pays premium and fee; the balance `premium − claims` is split at
  the agreed ratio, both ways.

Rounding points: each rate is applied once, half-up, with `apply_rate` (fee on claims,
allowance, cap, band, the insurer's share of an excess).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from yibao.contracts.model import Contract, CooperationMode, Corridor
from yibao.core.errors import YibaoError
from yibao.core.money import Fen, apply_rate, format_yuan


@dataclass(frozen=True, slots=True)
class YearExperience:
    """What the layer paid in the contract year: the input of reconciliation."""

    enrollees: int  # residents covered by the layer (URRBMI enrollees)
    claims_paid: Fen  # the year's serious-illness payments
    claims: int  # claims with a serious-illness payment (drives per-claim admin cost)

    def __post_init__(self) -> None:
        if self.enrollees < 0 or self.claims_paid < 0 or self.claims < 0:
            raise YibaoError("enrollees, claims paid and claims must not be negative", code="contracts.bad_experience")


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Each party's result for the year; every amount in fen."""

    contract: Contract
    experience: YearExperience
    premium: Fen  # fund -> insurer (or the joint account)
    fee: Fen  # fund -> insurer
    expense_allowance: Fen  # part of the premium recognised as the insurer's expense before the corridor
    balance: Fen  # premium − allowance − claims: what the corridor splits (0 under fund management)
    surplus_refund: Fen  # insurer -> fund
    loss_compensation: Fen  # fund -> insurer
    claims_borne_by_fund: Fen
    claims_borne_by_insurer: Fen
    fund_admin_cost: Fen
    insurer_admin_cost: Fen

    @property
    def insurer_revenue(self) -> Fen:
        """Premium and fee: the contract's gross income for the insurer, before the corridor."""
        return self.premium + self.fee

    @property
    def insurer_income(self) -> Fen:
        """What the insurer receives net of the corridor: premium + fee + compensation − refund."""
        return self.premium + self.fee + self.loss_compensation - self.surplus_refund

    @property
    def insurer_profit(self) -> Fen:
        return self.insurer_income - self.claims_borne_by_insurer - self.insurer_admin_cost

    @property
    def fund_outlay(self) -> Fen:
        """Money leaving the fund for the layer: premium, fee, compensation and claims it pays, less refunds."""
        return self.insurer_income + self.claims_borne_by_fund

    @property
    def fund_total_cost(self) -> Fen:
        return self.fund_outlay + self.fund_admin_cost


def corridor_transfers(corridor: Corridor, premium: Fen, balance: Fen) -> tuple[Fen, Fen]:
    """(surplus refund to the fund, loss compensation from the fund) for a year's balance."""
    if balance >= 0:
        if corridor.profit_cap is None:
            return 0, 0
        excess = balance - apply_rate(corridor.profit_cap, premium)
        if excess <= 0:
            return 0, 0
        return excess - apply_rate(corridor.insurer_share_above_cap, excess), 0
    if corridor.loss_band is None:
        return 0, 0
    excess = -balance - apply_rate(corridor.loss_band, premium)
    if excess <= 0:
        return 0, 0
    return 0, excess - apply_rate(corridor.insurer_share_beyond_band, excess)


def reconcile(contract: Contract, year: YearExperience) -> Reconciliation:
    """Each party's result for the year under `contract`."""
    fee = contract.fee_per_enrollee * year.enrollees + apply_rate(contract.fee_rate_of_claims, year.claims_paid)
    fund_admin = contract.fund_admin.amount(year.enrollees, year.claims)
    insurer_admin = contract.insurer_admin.amount(year.enrollees, year.claims)
    if contract.mode is CooperationMode.FUND_MANAGEMENT or contract.corridor is None:
        return Reconciliation(
            contract, year, premium=0, fee=fee, expense_allowance=0, balance=0,
            surplus_refund=0, loss_compensation=0,
            claims_borne_by_fund=year.claims_paid, claims_borne_by_insurer=0,
            fund_admin_cost=fund_admin, insurer_admin_cost=insurer_admin,
        )  # fmt: skip
    premium = contract.premium_per_enrollee * year.enrollees
    allowance = apply_rate(contract.expense_allowance_rate, premium)
    balance = premium - allowance - year.claims_paid
    refund, compensation = corridor_transfers(contract.corridor, premium, balance)
    return Reconciliation(
        contract, year, premium=premium, fee=fee, expense_allowance=allowance, balance=balance,
        surplus_refund=refund, loss_compensation=compensation,
        claims_borne_by_fund=0, claims_borne_by_insurer=year.claims_paid,
        fund_admin_cost=fund_admin, insurer_admin_cost=insurer_admin,
    )  # fmt: skip


# --- ledger ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One balanced movement: `amount` fen from the `credit` account to the `debit` account."""

    debit: str
    credit: str
    amount: Fen
    memo: str


@dataclass(frozen=True, slots=True)
class ContractAccounts:
    """Account codes in the operations ledger's form `region:year:kind[:sub]`."""

    fund: str
    insurer: str
    facilities: str

    @classmethod
    def of(cls, contract: Contract) -> ContractAccounts:
        prefix = f"{contract.region}:{contract.year}"
        return cls(
            fund=f"{prefix}:serious_illness",
            insurer=f"{prefix}:serious_illness_insurer:{insurer_key(contract)}",
            facilities=f"{prefix}:facility_payable",
        )


def insurer_key(contract: Contract) -> str:
    """The insurer as an account's sub-code: lower case, runs of other characters as one hyphen."""
    return re.sub(r"[^0-9a-z]+", "-", contract.insurer.lower()).strip("-")


@dataclass(frozen=True, slots=True)
class Memos:
    """What each movement of the year is called (in ledger entries, here and in the operations ledger)."""

    premium: str
    fee: str
    claims_borne_by_fund: str
    claims_borne_by_insurer: str
    surplus_refund: str
    loss_compensation: str

    @classmethod
    def of(cls, rec: Reconciliation) -> Memos:
        name = rec.contract.name
        shared = rec.contract.mode is CooperationMode.CO_INSURANCE
        refund = "fund's share of the surplus" if shared else "surplus above the profit cap returned"
        compensation = "fund's share of the deficit" if shared else "fund's share of the loss beyond the band"
        return cls(
            premium=f"{name}: premium for {rec.experience.enrollees} enrollees",
            fee=f"{name}: management fee",
            claims_borne_by_fund=f"{name}: serious-illness claims borne by the fund",
            claims_borne_by_insurer=f"{name}: serious-illness claims borne by the insurer",
            surplus_refund=f"{name}: {refund}",
            loss_compensation=f"{name}: {compensation}",
        )


def ledger_entries(rec: Reconciliation) -> list[Entry]:
    """The year's contract movements as balanced entries (zero amounts left out).

    Each party's own admin cost is its own expense, not a movement between the parties,
    so it is reported by `reconcile` but not posted here.
    """
    acc, memo = ContractAccounts.of(rec.contract), Memos.of(rec)
    entries = [
        Entry(acc.insurer, acc.fund, rec.premium, memo.premium),
        Entry(acc.insurer, acc.fund, rec.fee, memo.fee),
        Entry(acc.facilities, acc.fund, rec.claims_borne_by_fund, memo.claims_borne_by_fund),
        Entry(acc.facilities, acc.insurer, rec.claims_borne_by_insurer, memo.claims_borne_by_insurer),
        Entry(acc.fund, acc.insurer, rec.surplus_refund, memo.surplus_refund),
        Entry(acc.insurer, acc.fund, rec.loss_compensation, memo.loss_compensation),
    ]
    return [entry for entry in entries if entry.amount != 0]


def net_balances(entries: Iterable[Entry]) -> dict[str, Fen]:
    """Per account: debits − credits (money received − money given). The values always sum to zero."""
    net: dict[str, Fen] = defaultdict(int)
    for entry in entries:
        net[entry.debit] += entry.amount
        net[entry.credit] -= entry.amount
    return dict(net)


# Each party's result by a stable key (JSON, CSV) and the label tables show it under; money in fen.
FIGURES: tuple[tuple[str, str], ...] = (
    ("claims_paid", "claims paid"),
    ("premium", "premium"),
    ("fee", "fee"),
    ("expense_allowance", "expense allowance"),
    ("balance", "balance (premium − allowance − claims)"),
    ("surplus_refund", "surplus refund to the fund"),
    ("loss_compensation", "loss compensation from the fund"),
    ("claims_borne_by_fund", "claims borne by the fund"),
    ("claims_borne_by_insurer", "claims borne by the insurer"),
    ("insurer_income", "insurer income"),
    ("insurer_admin_cost", "insurer admin cost"),
    ("insurer_profit", "insurer profit"),
    ("fund_outlay", "fund outlay"),
    ("fund_admin_cost", "fund admin cost"),
    ("fund_total_cost", "fund total cost"),
)


def reconciliation_figures(rec: Reconciliation) -> dict[str, Fen]:
    """Every money figure of the reconciliation by its key (`FIGURES`), in fen."""
    return {key: rec.experience.claims_paid if key == "claims_paid" else getattr(rec, key) for key, _ in FIGURES}


def reconciliation_rows(rec: Reconciliation) -> list[tuple[str, str]]:
    """The reconciliation as (item, value) rows for tables and CSV; money in yuan with two decimals."""
    counts = [("enrollees", rec.experience.enrollees), ("claims", rec.experience.claims)]
    money = reconciliation_figures(rec)
    return [(item, str(n)) for item, n in counts] + [(label, format_yuan(money[key])) for key, label in FIGURES]
