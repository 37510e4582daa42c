"""Monte Carlo over many simulated years of the same city, and the four dimensions per mode
(administrative efficiency, management cost, risk sharing, incentive effect).

Each simulated year draws, in a fixed order from one seeded generator:
* a claim-volume factor v (lognormal, mean 1) and the number of persons with serious-illness
  spending n ~ Poisson(v × persons in the book), resampled with replacement from the book;
* a cost factor k = (1 + trend) × a lognormal shock of mean 1.
The layer's payments follow exactly from the yearly rule (book.payments). The same year with
every bill 1% cheaper (same persons, same claims) gives the incentive effect: the share of the
saving in payments that the insurer keeps. Every contract is reconciled on the same years
(common random numbers), so modes and premiums are compared on identical experience.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from yibao.contracts.book import SeriousIllnessBook
from yibao.contracts.model import Contract, CooperationMode
from yibao.contracts.reconcile import Reconciliation, YearExperience, reconcile
from yibao.core.errors import YibaoError
from yibao.core.money import RATE_SCALE, Fen

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Shocks:
    """The documented defaults of `yibao contracts evaluate` (each is an option there)."""

    years: int = 2000
    seed: int = 2024
    volume_sd: float = 0.02  # sd of the log claim-volume factor (year-to-year change in who falls seriously ill)
    cost_sd: float = 0.02  # sd of the log cost factor (prices, technology)
    cost_trend: float = 0.0  # expected cost growth from the experience year to the contract year
    claim_cut: float = 0.01  # the cut in claim cost whose saving the incentive measure follows

    def __post_init__(self) -> None:
        if self.years < 1 or self.volume_sd < 0 or self.cost_sd < 0 or not 0 < self.claim_cut < 1:
            raise YibaoError("years >= 1, shocks >= 0 and 0 < claim cut < 1 are needed", code="contracts.bad_shocks")


@dataclass(frozen=True)
class SimulatedYears:
    enrollees: int
    claims_paid: I64  # per simulated year, fen
    claims: I64  # claims handled per year
    claims_paid_cut: I64  # the same years with every bill cheaper by the claim cut
    shocks: Shocks

    def experience(self, year: int, *, cut: bool = False) -> YearExperience:
        paid = self.claims_paid_cut if cut else self.claims_paid
        return YearExperience(self.enrollees, int(paid[year]), int(self.claims[year]))


def simulate(book: SeriousIllnessBook, shocks: Shocks, progress: Callable[[int], None] | None = None) -> SimulatedYears:
    """Simulated years of the city's serious-illness payments (deterministic for `shocks.seed`).

    All shocks are drawn first, so the persons who can be paid in some year (base x the largest
    cost factor above their deductible) are known; resampling only them, with the Poisson count
    thinned to their share, has the same distribution as resampling everyone (the others pay 0).
    """
    if book.persons == 0:
        raise YibaoError("the book has no person with a serious-illness base to resample", code="contracts.empty_book")
    rng = np.random.default_rng(shocks.seed)
    z_volume, z_cost = rng.standard_normal(shocks.years), rng.standard_normal(shocks.years)
    volume = np.exp(shocks.volume_sd * z_volume - shocks.volume_sd**2 / 2)
    cost = (1 + shocks.cost_trend) * np.exp(shocks.cost_sd * z_cost - shocks.cost_sd**2 / 2)
    payable = np.flatnonzero(book.payments(float(cost.max())) > 0)
    paid, claims, paid_cut = (np.zeros(shocks.years, dtype=np.int64) for _ in range(3))
    for year in range(shocks.years):
        if len(payable) == 0:  # nobody's base reaches a deductible even at the highest cost factor
            continue
        rows = payable[rng.integers(0, len(payable), size=rng.poisson(volume[year] * len(payable)))]
        payments = book.payments(float(cost[year]), rows)
        paid[year] = payments.sum()
        claims[year] = book.claims_handled(payments, rows)
        paid_cut[year] = book.payments(float(cost[year]) * (1 - shocks.claim_cut), rows).sum()
        if progress is not None:
            progress(year)
    return SimulatedYears(book.enrollees, paid, claims, paid_cut, shocks)


# --- the four dimensions --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Results:
    """Per simulated year, in fen, one contract's reconciliation (and the same year after the claim cut)."""

    insurer_profit: I64
    insurer_revenue: I64
    fund_outlay: I64
    fund_admin_cost: I64
    insurer_admin_cost: I64
    claims_paid: I64
    insurer_profit_cut: I64
    claims_paid_cut: I64


def _column(recs: Sequence[Reconciliation], value: Callable[[Reconciliation], Fen]) -> I64:
    return np.array([value(r) for r in recs], dtype=np.int64)


def results(contract: Contract, sims: SimulatedYears) -> Results:
    years = range(len(sims.claims_paid))
    recs = [reconcile(contract, sims.experience(t)) for t in years]
    cut = [reconcile(contract, sims.experience(t, cut=True)) for t in years]
    return Results(
        insurer_profit=_column(recs, lambda r: r.insurer_profit),
        insurer_revenue=_column(recs, lambda r: r.insurer_revenue),
        fund_outlay=_column(recs, lambda r: r.fund_outlay),
        fund_admin_cost=_column(recs, lambda r: r.fund_admin_cost),
        insurer_admin_cost=_column(recs, lambda r: r.insurer_admin_cost),
        claims_paid=sims.claims_paid,
        insurer_profit_cut=_column(cut, lambda r: r.insurer_profit),
        claims_paid_cut=sims.claims_paid_cut,
    )


def tail_mean(values: F64, share: float = 0.05) -> float:
    """Mean of the worst (lowest) `share` of the values: the 5% tail (expected shortfall)."""
    count = max(1, int(np.ceil(share * len(values))))
    return float(np.sort(values)[:count].mean())


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One contract on the four dimensions (statistics are floats in yuan or shares)."""

    contract: Contract
    # risk sharing
    insurer_mean: float
    insurer_sd: float
    insurer_p_loss: float
    insurer_tail5: float  # mean of the worst 5% of the insurer's results
    fund_mean: float  # mean fund outlay
    fund_sd: float
    fund_p_overrun: float  # P(fund outlay > its expected outlay by more than the tolerance)
    fund_tail5: float  # mean of the worst 5% of the fund's result (expected outlay − outlay)
    risk_balance: float  # min(sd fund, sd insurer) / max(...): 1 = the year's risk split evenly
    # management cost
    admin_cost_ratio: float  # (fund + insurer admin cost) / claims paid
    fund_loading: float  # (fund outlay + fund admin − claims) / claims: what the layer costs the fund beyond claims
    # incentive effect
    incentive: float  # share of the saving from a cut in claim cost that the insurer keeps
    # administrative efficiency (parameters of the contract, side by side)
    settlement_days: float
    staff_per_10k_claims: float
    staff: float  # staff for the mean number of claims
    # breakeven and low profit
    expected_margin: float  # E[profit] / E[revenue]
    p_low_profit: float  # P(0 <= margin <= low-profit cap)
    profit: F64  # the insurer's yearly results in yuan (for the distribution chart)


def _ratio(part: float, whole: float) -> float:
    """part / whole, NaN when nothing was paid (no claims in any simulated year)."""
    return part / whole if whole else float("nan")


OVERRUN_TOLERANCE = 0.05  # a fund "overrun" is an outlay more than 5% above its expected outlay


def evaluate_contract(contract: Contract, sims: SimulatedYears) -> Evaluation:
    r = results(contract, sims)
    profit = r.insurer_profit / 100.0
    outlay = r.fund_outlay / 100.0
    revenue = r.insurer_revenue / 100.0
    fund_result = outlay.mean() - outlay
    saving = float((r.claims_paid - r.claims_paid_cut).sum())
    margin = np.divide(profit, revenue, out=np.full(len(profit), np.nan), where=revenue > 0)
    cap = contract.low_profit_cap / RATE_SCALE
    sd_i, sd_f = float(profit.std()), float(outlay.std())
    claims_mean = float(sims.claims.mean())
    return Evaluation(
        contract=contract,
        insurer_mean=float(profit.mean()),
        insurer_sd=sd_i,
        insurer_p_loss=float((r.insurer_profit < 0).mean()),
        insurer_tail5=tail_mean(profit),
        fund_mean=float(outlay.mean()),
        fund_sd=sd_f,
        fund_p_overrun=float((outlay > outlay.mean() * (1 + OVERRUN_TOLERANCE)).mean()),
        fund_tail5=tail_mean(fund_result),
        risk_balance=min(sd_i, sd_f) / max(sd_i, sd_f) if max(sd_i, sd_f) > 0 else 1.0,
        admin_cost_ratio=_ratio(float((r.fund_admin_cost + r.insurer_admin_cost).sum()), float(r.claims_paid.sum())),
        fund_loading=_ratio(
            float((r.fund_outlay + r.fund_admin_cost - r.claims_paid).sum()), float(r.claims_paid.sum())
        ),
        incentive=float((r.insurer_profit_cut - r.insurer_profit).sum()) / saving if saving else 0.0,
        settlement_days=float(contract.settlement_days),
        staff_per_10k_claims=float(contract.staff_per_10k_claims),
        staff=float(contract.staff_per_10k_claims) * claims_mean / 10_000,
        expected_margin=float(r.insurer_profit.sum() / r.insurer_revenue.sum()) if r.insurer_revenue.sum() else 0.0,
        p_low_profit=float(((margin >= 0) & (margin <= cap)).mean()),
        profit=profit,
    )


# --- which mode is best on each dimension ---------------------------------------------------------------

DIMENSIONS: dict[str, tuple[str, Callable[[Evaluation], float]]] = {
    # name: (what "best" means, score where higher is better)
    "risk sharing": ("most even split of the year's risk (sd balance)", lambda e: e.risk_balance),
    "management cost": ("lowest admin cost ratio", lambda e: -e.admin_cost_ratio),
    "incentive effect": ("largest share of a claim-cost cut kept by the insurer", lambda e: e.incentive),
    "administrative efficiency": (
        "fewest settlement days (then fewest staff per 10k claims)",
        lambda e: -(e.settlement_days + e.staff_per_10k_claims / 1000),
    ),
}


def ranking(evaluations: Sequence[Evaluation]) -> dict[str, CooperationMode]:
    """The best mode on each dimension."""
    return {name: max(evaluations, key=score).contract.mode for name, (_, score) in DIMENSIONS.items()}


# --- searching the design space -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchResult:
    contract: Contract  # with the premium (or fee) found
    parameter: str  # premium_per_enrollee or fee_per_enrollee
    per_enrollee: Fen
    target_margin: float
    expected_margin: float
    insurer_p_loss: float
    p_low_profit: float
    steps: int


def priced_parameter(contract: Contract) -> str:
    return "fee_per_enrollee" if contract.mode is CooperationMode.FUND_MANAGEMENT else "premium_per_enrollee"


def _excess_profit(contract: Contract, sims: SimulatedYears, target: float) -> float:
    """E[profit] − target × E[revenue] over the simulated years (increasing in the premium or fee)."""
    recs = [reconcile(contract, sims.experience(t)) for t in range(len(sims.claims_paid))]
    return float(sum(r.insurer_profit for r in recs)) - target * float(sum(r.insurer_revenue for r in recs))


def search_price(contract: Contract, sims: SimulatedYears, target_margin: float) -> SearchResult:
    """The smallest premium (or fee) per enrollee, in fen, at which the insurer's expected margin reaches the target.

    Bisection over whole fen on the same simulated years for every candidate (common random numbers).
    """
    field = priced_parameter(contract)

    def priced(fen: Fen) -> Contract:
        if field == "fee_per_enrollee":
            return replace(contract, fee_per_enrollee=fen)
        return replace(contract, premium_per_enrollee=fen)

    low, high, steps = 0, max(getattr(contract, field), 100), 0
    if _excess_profit(priced(0), sims, target_margin) >= 0:
        high = 0
    while _excess_profit(priced(high), sims, target_margin) < 0:
        low, high, steps = high, high * 2, steps + 1
        if high > 10**9:  # ten million yuan per enrollee: the target cannot be reached by price
            raise YibaoError(
                f"no {field} reaches an expected margin of {target_margin:.2%} under {contract.name} "
                "(a profit cap below the target bounds the margin)",
                code="contracts.target_unreachable",
            )
    while high - low > 1:
        middle = (low + high) // 2
        steps += 1
        if _excess_profit(priced(middle), sims, target_margin) >= 0:
            high = middle
        else:
            low = middle
    found = priced(high)
    evaluation = evaluate_contract(found, sims)
    return SearchResult(
        contract=found,
        parameter=field,
        per_enrollee=high,
        target_margin=target_margin,
        expected_margin=evaluation.expected_margin,
        insurer_p_loss=evaluation.insurer_p_loss,
        p_low_profit=evaluation.p_low_profit,
        steps=steps,
    )
