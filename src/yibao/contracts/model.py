"""A serious-illness contract between a region's fund and an insurer, as data.

Three cooperation modes (the study of the Jiangyin, Zhanjiang and Pinggu modes): the fund manages and pays the
claims while the insurer earns a fee (Jiangyin, `fund_management`); the fund
buys cover with a premium and the insurer bears the claims under a profit cap
and a loss-sharing band (Zhanjiang, `insurance_contract`); or both run a joint
office and split surplus and deficit at a ratio (Pinggu, `co_insurance`).
Every figure is a named parameter with a unit and a reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from yibao.core.money import Fen, RatePpm


class CooperationMode(StrEnum):
    FUND_MANAGEMENT = "fund_management"  # 委托管理 (Jiangyin): the fund bears claims, the insurer earns a fee
    INSURANCE_CONTRACT = "insurance_contract"  # 保险合同 (Zhanjiang): premium to the insurer, which bears claims
    CO_INSURANCE = "co_insurance"  # 共保联办 (Pinggu): joint office, surplus and deficit shared at a ratio


# The built-in contract of each mode, in the order reports show them.
DEFAULT_CONTRACTS = ("jiangyin-fund-management", "zhanjiang-insurance-contract", "pinggu-co-insurance")

MODE_NAMES: dict[CooperationMode, str] = {
    CooperationMode.FUND_MANAGEMENT: "fund management (Jiangyin)",
    CooperationMode.INSURANCE_CONTRACT: "insurance contract (Zhanjiang)",
    CooperationMode.CO_INSURANCE: "co-insurance joint office (Pinggu)",
}


@dataclass(frozen=True, slots=True)
class Corridor:
    """How the balance `premium - expense allowance - claims` is split between insurer and fund.

    A surplus up to `profit_cap` (a share of the premium; None = no cap) stays with
    the insurer; above it the insurer keeps `insurer_share_above_cap` and the rest
    returns to the fund. A loss up to `loss_band` (a share of the premium; None =
    no band, the insurer bears it all) stays with the insurer; beyond it the
    insurer bears `insurer_share_beyond_band` and the fund compensates the rest.
    """

    profit_cap: RatePpm | None
    insurer_share_above_cap: RatePpm
    loss_band: RatePpm | None
    insurer_share_beyond_band: RatePpm


@dataclass(frozen=True, slots=True)
class AdminCost:
    """A party's own cost of running the layer: per enrollee plus per claim handled."""

    per_enrollee: Fen
    per_claim: Fen

    def amount(self, enrollees: int, claims: int) -> Fen:
        return self.per_enrollee * enrollees + self.per_claim * claims


@dataclass(frozen=True, slots=True)
class Contract:
    """One year's contract; fields a mode does not use are zero (the loader refuses them in the file)."""

    name: str
    title: str
    mode: CooperationMode
    insurer: str
    region: str
    year: int
    reference: str
    premium_per_enrollee: Fen
    fee_per_enrollee: Fen
    fee_rate_of_claims: RatePpm
    expense_allowance_rate: RatePpm
    corridor: Corridor | None  # None under fund management (no premium, no balance to split)
    fund_admin: AdminCost
    insurer_admin: AdminCost
    settlement_days: Decimal  # days from discharge to payment of the serious-illness share
    staff_per_10k_claims: Decimal  # staff of both parties per 10,000 claims handled
    low_profit_cap: RatePpm  # "breakeven and low profit" (保本微利): the margin band [0, cap] judged
