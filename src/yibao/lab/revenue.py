"""The lab's money in and each fund's result: contributions and subsidies by source per scheme, computed from the
persons table and the region's contribution rules, allocated to the funds; each fund's income − outlay for a
settled scenario; and out of pocket with and without the individual accounts' payments.

Pure functions of normalised frames (yibao.tables) and the contribution rules of a region-year
(`yibao.schemes.contributions.ContributionRules`; anything with the same fields will do: `ContributionTerms`).
Amounts are integer fen; every rounding is `yibao.core.money.apply_rate` (half-up to the fen), applied per person
and source, as the operations service does for each contribution.

Conventions (docs/lab.md, "Money in and fund results"):

* Every person of the persons table is enrolled for the whole year and every contribution is paid.
* URRBMI residents owe the individual contribution; medical assistance pays its category's share of it
  (`assistance_paid`), the member the rest; the government subsidy is split into central and local shares.
  A share of each resident contribution (`serious_illness_share`) finances serious-illness insurance, the rest
  goes to the residents' pooled fund.
* UEBMI employees: employer's and employee's parts of the contribution base (the wage clamped to the floor and the
  ceiling); the wage is the person's `annual_income` (the persons table has no separate wage: a modelling choice).
  The account shares (`employee_account_share`, `employer_account_share`) go to the individual accounts, the rest
  to the employees' pooled fund. Retirees pay nothing; the pooled fund credits each retiree's account with
  `retiree_account_credit` (a transfer between funds: an outlay of the pool, income of the accounts).
* Huiminbao premiums are the insurer's income, not a public fund's; donations and lottery income do not occur in a
  synthetic population (the assistance fund's income is then nil and its result is what the budget must cover).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from yibao.core.model import AssistanceCategory, InsuranceScheme
from yibao.core.money import Fen, RatePpm, apply_rate
from yibao.core.scheme import Scheme
from yibao.lab.compare import Figure, Unit
from yibao.lab.metrics import ALL
from yibao.tables import paid_column

# sources of money in (the operations ledger's names: yibao.ops.contributions, the allocation interface)
INDIVIDUAL = "individual"
ASSISTANCE = "assistance"
SUBSIDY_CENTRAL = "government_subsidy_central"
SUBSIDY_LOCAL = "government_subsidy_local"
EMPLOYER = "employer"
HUIMINBAO_PREMIUM = "huiminbao_premium"
RETIREE_CREDIT = "retiree_account_credit"  # a transfer from the employees' pooled fund to retirees' accounts
SOURCES = (INDIVIDUAL, ASSISTANCE, SUBSIDY_CENTRAL, SUBSIDY_LOCAL, EMPLOYER, HUIMINBAO_PREMIUM)
HUIMINBAO = "huiminbao"  # the "scheme" of Huiminbao premiums in the revenue table (a product, not a public scheme)

# funds, in the order the report shows them
URRBMI_POOLED = "urrbmi_pooled_fund"
UEBMI_POOLED = "uebmi_pooled_fund"
SERIOUS_ILLNESS = "serious_illness"
ASSISTANCE_FUND = "assistance_fund"
INDIVIDUAL_ACCOUNTS = "individual_accounts"
HUIMINBAO_FUND = "huiminbao"
FUNDS = (URRBMI_POOLED, UEBMI_POOLED, SERIOUS_ILLNESS, ASSISTANCE_FUND, INDIVIDUAL_ACCOUNTS, HUIMINBAO_FUND)
# a layer's kind -> the fund that pays it ("basic" is split by the patient's scheme); other kinds pay from a fund of
# their own layer id, with no income in the lab
FUND_OF_KIND = {
    "serious_illness": SERIOUS_ILLNESS,
    "assistance": ASSISTANCE_FUND,
    "huiminbao": HUIMINBAO_FUND,
    "individual_account": INDIVIDUAL_ACCOUNTS,
    "large_amount_subsidy": UEBMI_POOLED,  # reference-city finances it from the employees' pool (local, check)
}
ACCOUNT_KIND = "individual_account"
ACCOUNT_BALANCE = "individual_account_balance"  # persons' optional column (fen), the balance at the start of the year
CONTRIBUTIONS_OUT = "contributions"  # outlay item: contributions assistance pays for its members
RETIREE_ACCOUNTS_OUT = "retiree_accounts"  # outlay item: the pool's yearly credit to retirees' accounts


class ContributionTerms(Protocol):
    """What the lab needs of a region-year's contribution rules (yibao.schemes.contributions.ContributionRules)."""

    @property
    def resident_individual(self) -> Fen: ...
    @property
    def resident_subsidy(self) -> Fen: ...
    @property
    def serious_illness_share(self) -> RatePpm: ...
    @property
    def employer_rate(self) -> RatePpm: ...
    @property
    def employee_rate(self) -> RatePpm: ...
    @property
    def employee_account_share(self) -> RatePpm: ...
    @property
    def employer_account_share(self) -> RatePpm: ...
    @property
    def retiree_account_credit(self) -> Fen: ...
    @property
    def huiminbao_premium(self) -> Fen: ...

    def contribution_base(self, wage: Fen) -> Fen: ...
    def subsidy_split(self) -> tuple[Fen, Fen, Fen]: ...
    def assistance_paid(self, category: AssistanceCategory) -> Fen: ...


MAX_WAGE_FEN = 10**13  # above any ceiling: contribution_base(MAX_WAGE_FEN) is the ceiling


def _int(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def person_contributions(persons: pl.DataFrame, rules: ContributionTerms) -> pl.DataFrame:
    """One row per person: what each source pays for them in the year and where it goes (fen).

    Columns: person_id, scheme, assistance_category, the sources (individual, assistance,
    government_subsidy_central, government_subsidy_local, employer, huiminbao_premium), retiree_account_credit
    and to_account (the year's credit to the person's individual account: an employee's account shares of the
    employee's and employer's parts, a retiree's credit from the pool).
    """
    n = persons.height
    scheme = persons["scheme"].to_numpy()
    category = persons["assistance_category"].to_numpy()
    resident = scheme == InsuranceScheme.URRBMI.value
    employee = scheme == InsuranceScheme.UEBMI_EMPLOYEE.value
    retiree = scheme == InsuranceScheme.UEBMI_RETIREE.value
    zero = np.zeros(n, dtype=np.int64)

    assisted = zero.copy()
    for cat in AssistanceCategory:
        assisted[resident & (category == cat.value)] = rules.assistance_paid(cat)
    individual = np.where(resident, rules.resident_individual - assisted, 0)
    central, local, _residue = rules.subsidy_split()
    subsidy_central = np.where(resident, central, 0)
    subsidy_local = np.where(resident, local, 0)

    floor, ceiling = rules.contribution_base(0), rules.contribution_base(MAX_WAGE_FEN)
    base = np.clip(_int(persons["annual_income"].to_numpy()), floor, ceiling)
    employer = np.where(employee, apply_rate(rules.employer_rate, base), 0)
    own = np.where(employee, apply_rate(rules.employee_rate, base), 0)
    individual = individual + own
    retiree_credit = np.where(retiree, rules.retiree_account_credit, 0)
    premium = np.where(persons["huiminbao"].to_numpy(), rules.huiminbao_premium, 0)

    employee_account = apply_rate(rules.employee_account_share, own) + apply_rate(rules.employer_account_share, employer)
    to_account = np.where(employee, employee_account, 0) + retiree_credit
    columns = {
        INDIVIDUAL: individual, ASSISTANCE: assisted, SUBSIDY_CENTRAL: subsidy_central, SUBSIDY_LOCAL: subsidy_local,
        EMPLOYER: employer, HUIMINBAO_PREMIUM: premium, RETIREE_CREDIT: retiree_credit,
        "to_account": to_account,
    }  # fmt: skip
    return persons.select("person_id", "scheme", "assistance_category").with_columns(
        [pl.Series(name, _int(values), dtype=pl.Int64) for name, values in columns.items()]
    )


def revenue_by_source(contributions: pl.DataFrame) -> pl.DataFrame:
    """scheme, source, payers (persons with a non-zero amount), amount (fen): every source of money in, per scheme,
    in a fixed order; Huiminbao premiums under the scheme "huiminbao". Sources that pay nothing are left out."""
    rows: list[tuple[str, str, int, int]] = []
    for scheme in InsuranceScheme:
        mine = contributions.filter(pl.col("scheme") == scheme.value)
        for source in SOURCES[:-1]:
            amounts = mine[source]
            if int(amounts.sum()):
                rows.append((scheme.value, source, int((amounts != 0).sum()), int(amounts.sum())))
    premiums = contributions[HUIMINBAO_PREMIUM]
    if int(premiums.sum()):
        rows.append((HUIMINBAO, HUIMINBAO_PREMIUM, int((premiums != 0).sum()), int(premiums.sum())))
    return pl.DataFrame(
        rows, orient="row", schema={"scheme": pl.String, "source": pl.String, "payers": pl.Int64, "amount": pl.Int64}
    )


@dataclass(frozen=True)
class FundIncome:
    """Each fund's income by source (fen), the same in every scenario (contributions do not depend on the layers)."""

    by_fund: Mapping[str, Mapping[str, int]]
    opening_account_balances: int | None  # sum of persons' individual_account_balance, None without the column

    def total(self, fund: str) -> int:
        return sum(self.by_fund.get(fund, {}).values())


def fund_income(persons: pl.DataFrame, contributions: pl.DataFrame, rules: ContributionTerms) -> FundIncome:
    """Each fund's income by source: every contribution allocated per person and source, rounded half-up to the
    fen, as the operations service allocates each payment (the parts of one contribution always sum to it)."""
    residents = contributions.filter(pl.col("scheme") == InsuranceScheme.URRBMI.value)
    employees = contributions.filter(pl.col("scheme") == InsuranceScheme.UEBMI_EMPLOYEE.value)
    pooled: dict[str, int] = {}
    serious: dict[str, int] = {}
    for source in (INDIVIDUAL, ASSISTANCE, SUBSIDY_CENTRAL, SUBSIDY_LOCAL):
        amounts = _int(residents[source].to_numpy())
        to_serious = int(apply_rate(rules.serious_illness_share, amounts).sum())
        pooled[source], serious[source] = int(amounts.sum()) - to_serious, to_serious
    employees_pooled: dict[str, int] = {}
    accounts: dict[str, int] = {}
    for source, share in ((EMPLOYER, rules.employer_account_share), (INDIVIDUAL, rules.employee_account_share)):
        amounts = _int(employees[source].to_numpy())
        to_account = int(apply_rate(share, amounts).sum())
        employees_pooled[source], accounts[source] = int(amounts.sum()) - to_account, to_account
    accounts[RETIREE_CREDIT] = int(contributions[RETIREE_CREDIT].sum())
    by_fund = {
        URRBMI_POOLED: pooled,
        UEBMI_POOLED: employees_pooled,
        SERIOUS_ILLNESS: serious,
        ASSISTANCE_FUND: {},
        INDIVIDUAL_ACCOUNTS: accounts,
        HUIMINBAO_FUND: {HUIMINBAO_PREMIUM: int(contributions[HUIMINBAO_PREMIUM].sum())},
    }
    kept = {fund: {s: v for s, v in sources.items() if v} for fund, sources in by_fund.items()}
    opening = int(persons[ACCOUNT_BALANCE].sum()) if ACCOUNT_BALANCE in persons.columns else None
    return FundIncome(kept, opening)


def fund_outlays(
    scheme: Scheme, persons: pl.DataFrame, settled: pl.DataFrame, contributions: pl.DataFrame
) -> dict[str, dict[str, int]]:
    """Each fund's outlays by item (a layer id, or `contributions` / `retiree_accounts`), fen, for one scenario."""
    out: dict[str, dict[str, int]] = {fund: {} for fund in FUNDS}
    with_scheme = settled.join(persons.select("person_id", "scheme"), on="person_id", how="left")
    for layer in scheme.layers:
        column = paid_column(layer.id)
        if column not in settled.columns:
            continue
        kind = layer.kind.value
        if kind == "basic":
            for fund, schemes in ((URRBMI_POOLED, [InsuranceScheme.URRBMI.value]),
                                  (UEBMI_POOLED, [InsuranceScheme.UEBMI_EMPLOYEE.value,
                                                  InsuranceScheme.UEBMI_RETIREE.value])):  # fmt: skip
                paid = int(with_scheme.filter(pl.col("scheme").is_in(schemes))[column].sum())
                out[fund][layer.id] = out[fund].get(layer.id, 0) + paid
            continue
        fund = FUND_OF_KIND.get(kind, layer.id)
        out.setdefault(fund, {})
        out[fund][layer.id] = out[fund].get(layer.id, 0) + int(settled[column].sum())
    out[ASSISTANCE_FUND][CONTRIBUTIONS_OUT] = int(contributions[ASSISTANCE].sum())
    out[UEBMI_POOLED][RETIREE_ACCOUNTS_OUT] = int(contributions[RETIREE_CREDIT].sum())
    return out


def fund_results(income: FundIncome, outlays: Mapping[str, Mapping[str, int]]) -> pl.DataFrame:
    """fund, income, outlay, result (= income − outlay), fen; the known funds first, then any other."""
    funds = [*FUNDS, *[f for f in outlays if f not in FUNDS]]
    rows = []
    for fund in funds:
        got, spent = income.total(fund), sum(outlays.get(fund, {}).values())
        rows.append((fund, got, spent, got - spent))
    return pl.DataFrame(
        rows, orient="row", schema={"fund": pl.String, "income": pl.Int64, "outlay": pl.Int64, "result": pl.Int64}
    )


# --- out of pocket with and without the individual accounts ------------------------------------------------------


def account_layers(scheme: Scheme) -> tuple[str, ...]:
    return tuple(layer.id for layer in scheme.layers if layer.kind.value == ACCOUNT_KIND)


@dataclass(frozen=True)
class PersonalPayments:
    """What patients pay themselves: cash at the counter, from their individual accounts, and both (fen)."""

    cash: int  # the settled out_of_pocket: net of the accounts' payments when the scheme has an account layer
    account: int  # the account layers' payments
    total_spending: int
    accounts_netted: bool  # the scheme spends accounts at settlement (an account layer) and some balance was given

    @property
    def cash_and_account(self) -> int:
        return self.cash + self.account


def personal_payments(scheme: Scheme, persons: pl.DataFrame, settled: pl.DataFrame) -> PersonalPayments:
    layers = [layer for layer in account_layers(scheme) if paid_column(layer) in settled.columns]
    account = int(settled.select([pl.col(paid_column(layer)).sum() for layer in layers]).sum_horizontal().item()) if (
        layers and settled.height
    ) else 0
    has_balances = ACCOUNT_BALANCE in persons.columns and int(persons[ACCOUNT_BALANCE].sum()) > 0
    return PersonalPayments(
        cash=int(settled["out_of_pocket"].sum()),
        account=account,
        total_spending=int(settled["total"].sum()),
        accounts_netted=bool(layers) and has_balances,
    )


@dataclass(frozen=True)
class MoneyIn:
    """A scenario's revenue side: money in by source, each fund's result, and personal payments."""

    revenue: pl.DataFrame  # revenue_by_source
    income: FundIncome
    outlays: Mapping[str, Mapping[str, int]]
    results: pl.DataFrame  # fund_results
    personal: PersonalPayments


def money_in(
    scheme: Scheme, persons: pl.DataFrame, settled: pl.DataFrame, rules: ContributionTerms | None
) -> MoneyIn | None:
    """The revenue side of a scenario, or None when the scheme has no contribution rules."""
    if rules is None:
        return None
    contributions = person_contributions(persons, rules)
    income = fund_income(persons, contributions, rules)
    outlays = fund_outlays(scheme, persons, settled, contributions)
    return MoneyIn(
        revenue_by_source(contributions),
        income,
        outlays,
        fund_results(income, outlays),
        personal_payments(scheme, persons, settled),
    )


def contribution_rules(scheme: str | Path, region: str, year: int) -> ContributionTerms | None:
    """The region-year's contribution rules from the scheme's contributions.yaml, or None if it has none."""
    from yibao.core.errors import SchemeError
    from yibao.schemes.contributions import rules_for

    try:
        return rules_for(scheme, region, year)
    except SchemeError as error:
        if error.code == "scheme.not_found":
            return None
        raise


# --- figures (yibao.lab.compare) ---------------------------------------------------------------------------------

CASH, ACCOUNT, CASH_AND_ACCOUNT = "cash", "individual_account", "cash_and_account"
PERSONAL_GROUPS = (CASH, ACCOUNT, CASH_AND_ACCOUNT)


def revenue_group(scheme: str, source: str) -> str:
    return f"{scheme}/{source}"


def money_figures(money: MoneyIn | None) -> list[Figure]:
    """The revenue side as figures: revenue.amount|payers (group scheme/source), revenue.total (group all and
    each scheme), fund.income|outlay|result (group: fund), fund.opening_balance (individual accounts),
    personal.amount|share (group cash, individual_account, cash_and_account) and personal.accounts_netted (1 or 0)."""
    if money is None:
        return []
    out: list[Figure] = []
    for scheme, source, payers, amount in money.revenue.iter_rows():
        group = revenue_group(scheme, source)
        out += [Figure("revenue.amount", group, Unit.YUAN, amount), Figure("revenue.payers", group, Unit.COUNT, payers)]
    totals = money.revenue.group_by("scheme", maintain_order=True).agg(pl.col("amount").sum())
    out += [Figure("revenue.total", scheme, Unit.YUAN, int(amount)) for scheme, amount in totals.iter_rows()]
    out.append(Figure("revenue.total", ALL, Unit.YUAN, int(money.revenue["amount"].sum())))
    for fund, income, outlay, result in money.results.iter_rows():
        out += [
            Figure("fund.income", fund, Unit.YUAN, income),
            Figure("fund.outlay", fund, Unit.YUAN, outlay),
            Figure("fund.result", fund, Unit.YUAN, result),
        ]
    if money.income.opening_account_balances is not None:
        out.append(Figure("fund.opening_balance", INDIVIDUAL_ACCOUNTS, Unit.YUAN, money.income.opening_account_balances))
    p = money.personal
    amounts = {CASH: p.cash, ACCOUNT: p.account, CASH_AND_ACCOUNT: p.cash_and_account}
    out += [Figure("personal.amount", g, Unit.YUAN, amounts[g]) for g in PERSONAL_GROUPS]
    out += [
        Figure("personal.share", g, Unit.SHARE, amounts[g] / p.total_spending if p.total_spending else None)
        for g in PERSONAL_GROUPS
    ]
    out.append(Figure("personal.accounts_netted", ALL, Unit.COUNT, int(p.accounts_netted)))
    return out
