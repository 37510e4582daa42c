"""The evaluation study behind `yibao contracts evaluate`: price, simulate, score, and find the drivers.

Modes are compared at equal footing: by default each contract's premium (or, under fund
management, its fee) is first set by `search_price` so the insurer's expected margin is the
same target (2%) on the same simulated years; `as_written` keeps the files' prices. The
drivers of the ranking are found one parameter at a time: each parameter of each contract
(and each shock) is halved and doubled, the contract repriced, and a dimension whose best
mode changes names that parameter as a driver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from yibao.contracts.book import SeriousIllnessBook
from yibao.contracts.model import AdminCost, Contract, CooperationMode, Corridor
from yibao.contracts.montecarlo import (
    DIMENSIONS,
    Evaluation,
    Shocks,
    SimulatedYears,
    evaluate_contract,
    ranking,
    search_price,
    simulate,
)
from yibao.core.money import RATE_SCALE, RatePpm

# The qualitative finding of the study of the three cooperation modes of commercial insurers in serious-illness insurance (Jiangyin, Zhanjiang, Pinggu),
# as the best mode on each dimension it names.
SEED_RANKING: dict[str, CooperationMode] = {
    "risk sharing": CooperationMode.CO_INSURANCE,
    "management cost": CooperationMode.INSURANCE_CONTRACT,
    "incentive effect": CooperationMode.INSURANCE_CONTRACT,
    "administrative efficiency": CooperationMode.CO_INSURANCE,
}
DEFAULT_TARGET_MARGIN = 0.02
SENSITIVITY_YEARS = 500  # the drivers are screened on the first simulated years (same seed)


@dataclass(frozen=True, slots=True)
class Settings:
    shocks: Shocks = field(default_factory=Shocks)
    target_margin: float = DEFAULT_TARGET_MARGIN
    as_written: bool = False  # True: evaluate the files' premiums and fees as they are
    sensitivity: bool = True


@dataclass(frozen=True, slots=True)
class Driver:
    """A one-at-a-time change and the best mode of each dimension after it."""

    contract: str  # contract name, or "shocks"
    parameter: str
    factor: float
    best: dict[str, CooperationMode]

    def changed(self, baseline: dict[str, CooperationMode]) -> list[str]:
        return [dim for dim, mode in self.best.items() if baseline.get(dim) is not mode]


@dataclass(frozen=True)
class Study:
    evaluations: list[Evaluation]
    best: dict[str, CooperationMode]
    sims: SimulatedYears
    book: SeriousIllnessBook
    settings: Settings
    drivers: list[Driver]

    @property
    def reproduces_seed(self) -> bool:
        return all(self.best[dim] is mode for dim, mode in SEED_RANKING.items())


def priced(contracts: Sequence[Contract], sims: SimulatedYears, settings: Settings) -> list[Contract]:
    if settings.as_written:
        return list(contracts)
    return [search_price(c, sims, settings.target_margin).contract for c in contracts]


def evaluate_all(contracts: Sequence[Contract], sims: SimulatedYears, settings: Settings) -> list[Evaluation]:
    return [evaluate_contract(c, sims) for c in priced(contracts, sims, settings)]


# --- one-at-a-time changes ----------------------------------------------------------------------------


def _scaled(rate: RatePpm, factor: float) -> RatePpm:
    return RatePpm(min(RATE_SCALE, round(rate * factor)))


def _scaled_or_none(rate: RatePpm | None, factor: float) -> RatePpm | None:
    return None if rate is None else _scaled(rate, factor)


Change = Callable[[Contract, float], Contract]


def _corridor_change(edit: Callable[[Corridor, float], Corridor]) -> Change:
    def change(c: Contract, factor: float) -> Contract:
        assert c.corridor is not None
        return replace(c, corridor=edit(c.corridor, factor))

    return change


def _co_insurance_share(k: Corridor, f: float) -> Corridor:
    share = _scaled(k.insurer_share_above_cap, f)  # one ratio for surplus and deficit
    return Corridor(RatePpm(0), share, RatePpm(0), share)


CONTRACT_CHANGES: tuple[tuple[str, Change], ...] = (
    ("expense_allowance_rate", lambda c, f: replace(c, expense_allowance_rate=_scaled(c.expense_allowance_rate, f))),
    ("profit_cap", _corridor_change(lambda k, f: replace(k, profit_cap=_scaled_or_none(k.profit_cap, f)))),
    ("loss_band", _corridor_change(lambda k, f: replace(k, loss_band=_scaled_or_none(k.loss_band, f)))),
    (
        "insurer_share_beyond_band",
        _corridor_change(lambda k, f: replace(k, insurer_share_beyond_band=_scaled(k.insurer_share_beyond_band, f))),
    ),
)
CO_INSURANCE_CHANGES: tuple[tuple[str, Change], ...] = (("insurer_share", _corridor_change(_co_insurance_share)),)
COMMON_CHANGES: tuple[tuple[str, Change], ...] = (
    ("fund_admin_cost_per_enrollee", lambda c, f: replace(c, fund_admin=_scaled_admin(c.fund_admin, f, 1.0))),
    ("fund_admin_cost_per_claim", lambda c, f: replace(c, fund_admin=_scaled_admin(c.fund_admin, 1.0, f))),
    ("insurer_admin_cost_per_enrollee", lambda c, f: replace(c, insurer_admin=_scaled_admin(c.insurer_admin, f, 1.0))),
    ("insurer_admin_cost_per_claim", lambda c, f: replace(c, insurer_admin=_scaled_admin(c.insurer_admin, 1.0, f))),
    ("settlement_days", lambda c, f: replace(c, settlement_days=c.settlement_days * Decimal(str(f)))),
)


def _scaled_admin(cost: AdminCost, per_enrollee: float, per_claim: float) -> AdminCost:
    return AdminCost(round(cost.per_enrollee * per_enrollee), round(cost.per_claim * per_claim))


def _changes(contract: Contract) -> tuple[tuple[str, Change], ...]:
    """The contract's parameters that a study varies, each with how to scale it."""
    if contract.mode is CooperationMode.INSURANCE_CONTRACT:
        return CONTRACT_CHANGES + COMMON_CHANGES
    if contract.mode is CooperationMode.CO_INSURANCE:
        return CO_INSURANCE_CHANGES + COMMON_CHANGES
    return COMMON_CHANGES


def _first_years(sims: SimulatedYears, years: int) -> SimulatedYears:
    return replace(
        sims,
        claims_paid=sims.claims_paid[:years],
        claims=sims.claims[:years],
        claims_paid_cut=sims.claims_paid_cut[:years],
    )


def find_drivers(
    contracts: Sequence[Contract], book: SeriousIllnessBook, sims: SimulatedYears, settings: Settings,
    progress: Callable[[], None] | None = None,
) -> list[Driver]:  # fmt: skip
    """Halve and double each parameter (and each shock); record the best mode of each dimension after it."""
    screen = _first_years(sims, min(SENSITIVITY_YEARS, len(sims.claims_paid)))
    drivers: list[Driver] = []
    for index, contract in enumerate(contracts):
        for name, change in _changes(contract):
            for factor in (0.5, 2.0):
                varied = [change(c, factor) if i == index else c for i, c in enumerate(contracts)]
                best = ranking(evaluate_all(varied, screen, settings))
                drivers.append(Driver(contract.name, name, factor, best))
                if progress:
                    progress()
    for shock in ("volume_sd", "cost_sd"):
        for factor in (0.5, 2.0):
            shocks = replace(
                settings.shocks, years=len(screen.claims_paid), **{shock: getattr(settings.shocks, shock) * factor}
            )
            best = ranking(evaluate_all(contracts, simulate(book, shocks), settings))
            drivers.append(Driver("shocks", shock, factor, best))
            if progress:
                progress()
    return drivers


def driver_count(contracts: Sequence[Contract]) -> int:
    return sum(2 * len(_changes(c)) for c in contracts) + 4


def study(
    contracts: Sequence[Contract], book: SeriousIllnessBook, settings: Settings,
    progress: Callable[[], None] | None = None,
) -> Study:  # fmt: skip
    sims = simulate(book, settings.shocks)
    evaluations = evaluate_all(contracts, sims, settings)
    drivers = find_drivers(contracts, book, sims, settings, progress) if settings.sensitivity else []
    return Study(evaluations, ranking(evaluations), sims, book, settings, drivers)


def dimension_drivers(drivers: Sequence[Driver], baseline: dict[str, CooperationMode]) -> dict[str, list[str]]:
    """For each dimension, the changes (e.g. 'zhanjiang: profit_cap ×0.5 → co_insurance') that move its best mode."""
    found: dict[str, list[str]] = {dim: [] for dim in DIMENSIONS}
    for driver in drivers:
        for dim in driver.changed(baseline):
            found[dim].append(f"{driver.contract}: {driver.parameter} ×{driver.factor:g} → {driver.best[dim].value}")
    return found
