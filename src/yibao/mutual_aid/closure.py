"""A plan closes: the regulatory decision, the final period, the pool's residual, the conversion offer, and
the closure's public disclosure (pure: no store; the operations are in `yibao.mutual_aid.closing`).

The rules, as Xiang Hu Bao's closure applied them (announced 2021-12-28 after the CBIRC's 2020–2021
rectification of online mutual aid; stopped 2022-01-28 — seed 003_3fdc6e31a3a4e44c.txt tells the sector's
fall; Reuters, 28 Dec 2021, "China's Ant Group to close crowdfunded medical aid service"):

* From the decision date nobody joins and no claim is filed (`mutual_aid.plan_closed`).
* Claims filed before it are finished by the ordinary workflow (investigated, reviewed, noticed or rejected,
  disputed before a jury, denied): the plan cannot close while one is pending (`PENDING`).
* The final period is apportioned as any period, over the members protected at its notice cut-off, and funds
  the claims on notice; they are paid, then every membership still active ends (`closed`) and failed
  deductions that will now never be retried are written off.
* The pool must end at zero: a shortfall (the case or year cap, write-offs) is borne by the platform — "existing
  members will no longer bear claims settlement costs" (Ant, Dec 2021) — and a positive remainder is returned
  to the members (one aggregate entry, like a refund).
* An optional conversion offer (Waterdrop offered its members a free one-year commercial medical policy when
  it closed in March 2021, seed 003): a built-in product of `yibao.products`, the free years, and who pays the
  premium (the platform). Each member accepts or declines once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from yibao.core.money import Fen, format_yuan
from yibao.mutual_aid.claims import ClaimStatus
from yibao.mutual_aid.errors import MutualAidError
from yibao.mutual_aid.postings import PoolAccount, PoolEntry, PoolLine

# Claims that must reach a final state (paid, denied) or be on notice before the final period.
PENDING = frozenset({ClaimStatus.FILED, ClaimStatus.INVESTIGATED, ClaimStatus.APPROVED, ClaimStatus.REJECTED,
                     ClaimStatus.DISPUTED})


class ClosureStatus(StrEnum):
    CLOSING = "closing"  # decided: no new members or claims; pending claims being finished
    CLOSED = "closed"  # the final period apportioned, claims paid, members removed, disclosure published


class Residual(StrEnum):
    NONE = "none"
    BORNE_BY_PLATFORM = "borne_by_platform"
    RETURNED_TO_MEMBERS = "returned_to_members"


@dataclass(frozen=True, slots=True)
class Decision:
    """The regulatory decision that ends a plan, as published (text in both languages, and where it was)."""

    decided_on: dt.date  # no new members or claims from this day
    reference: str  # e.g. the regulator's or the platform's notice
    text_en: str
    text_zh: str
    source: str = ""  # a public source (address)

    def check(self) -> None:
        if not self.reference.strip() or not self.text_en.strip() or not self.text_zh.strip():
            raise MutualAidError("a closure decision needs its reference and its text in English and Chinese",
                                 code="mutual_aid.closure_invalid")


@dataclass(frozen=True, slots=True)
class ConversionOffer:
    """The offer into a commercial product: `free_years` years from `policy_start`, the premium paid by the platform."""

    product: str  # a built-in product of yibao.products
    policy_start: dt.date
    accept_by: dt.date
    free_years: int = 1
    premium_paid_by: str = "platform"

    def check(self, decided_on: dt.date) -> None:
        if self.free_years < 1 or self.free_years > 5:
            raise MutualAidError(f"free years {self.free_years} not within 1..5", code="mutual_aid.closure_invalid")
        if self.premium_paid_by != "platform":
            raise MutualAidError("only an offer whose premium the platform pays is modelled (premium_paid_by: platform)",
                                 code="mutual_aid.closure_invalid")
        if self.accept_by < decided_on or self.policy_start < decided_on:
            raise MutualAidError(f"the offer's dates ({self.policy_start}, accept by {self.accept_by}) are before the "
                                 f"decision of {decided_on}", code="mutual_aid.closure_invalid")

    def policy_end(self) -> dt.date:
        """The last day of the free cover: `free_years` years from the start, the day before the anniversary."""
        start = self.policy_start
        try:
            anniversary = start.replace(year=start.year + self.free_years)
        except ValueError:  # 29 February
            anniversary = dt.date(start.year + self.free_years, 3, 1)
        return anniversary - dt.timedelta(days=1)

    def as_json(self) -> dict[str, Any]:
        return {"product": self.product, "policy_start": self.policy_start.isoformat(),
                "accept_by": self.accept_by.isoformat(), "free_years": self.free_years,
                "premium_paid_by": self.premium_paid_by, "policy_end": self.policy_end().isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConversionOffer:
        return cls(data["product"], dt.date.fromisoformat(data["policy_start"]), dt.date.fromisoformat(data["accept_by"]),
                   int(data["free_years"]), str(data["premium_paid_by"]))


def refuse_after_decision(plan: str, decided_on: dt.date | None, day: dt.date, what: str) -> None:
    """No new members or claims from the decision date."""
    if decided_on is not None and day >= decided_on:
        raise MutualAidError(f"plan {plan} is closing by the decision of {decided_on}: no {what} from that day",
                             code="mutual_aid.plan_closed")


def pending(claims: Iterable[tuple[str, ClaimStatus]]) -> tuple[str, ...]:
    """The claims (ids) still in the workflow: the plan cannot close before they are finished."""
    return tuple(claim_id for claim_id, status in claims if status in PENDING)


def residual_of(pool_balance: Fen) -> Residual:
    if pool_balance < 0:
        return Residual.BORNE_BY_PLATFORM
    return Residual.RETURNED_TO_MEMBERS if pool_balance > 0 else Residual.NONE


def residual_entry(plan: str, pool_balance: Fen) -> PoolEntry | None:
    """The entry that brings the pool to zero at closure (credit-normal balance: money held is positive).

    A shortfall: Dr platform fee (the platform bears it) / Cr pool. A remainder: Dr pool / Cr member charges."""
    kind = residual_of(pool_balance)
    if kind is Residual.NONE:
        return None
    if kind is Residual.BORNE_BY_PLATFORM:
        lines = (PoolLine(PoolAccount.PLATFORM_FEE, -pool_balance), PoolLine(PoolAccount.POOL, pool_balance))
        text = f"closure: shortfall of {format_yuan(-pool_balance)} yuan borne by the platform"
    else:
        lines = (PoolLine(PoolAccount.POOL, pool_balance), PoolLine(PoolAccount.MEMBER_CHARGES, -pool_balance))
        text = f"closure: remainder of {format_yuan(pool_balance)} yuan returned to the members"
    entry = PoolEntry("mutual_aid.closure", f"{plan}:closure:residual", text, lines)
    assert entry.balanced()
    return entry


STATEMENT = {
    "en": "{plan} closed on {closed_on} by the decision of {decided_on} ({reference}). The final period of "
          "{notice_date} shared {cases} cases ({aid} yuan of aid and {fee} yuan of fee) among the {members} members "
          "protected at its cut-off: {charge} yuan each. {finished} claims were finished, {closed} memberships ended. "
          "{residual}{offer}",
    "zh": "{plan} 依据 {decided_on} 的决定（{reference}）于 {closed_on} 关闭。{notice_date} 最后一期：{cases} 个案件"
          "（互助金 {aid} 元，管理费 {fee} 元）由截止时处于保障中的 {members} 名成员分摊，每人 {charge} 元。"
          "完成处理的案件 {finished} 件，结束成员资格 {closed} 人。{residual}{offer}",
}
RESIDUAL_TEXT = {
    Residual.NONE: {"en": "The pool ends at zero.", "zh": "互助资金池余额为零。"},
    Residual.BORNE_BY_PLATFORM: {"en": "The platform bears the shortfall of {amount} yuan.",
                                 "zh": "平台承担缺口 {amount} 元。"},
    Residual.RETURNED_TO_MEMBERS: {"en": "The remainder of {amount} yuan is returned to the members.",
                                   "zh": "结余 {amount} 元退还成员。"},
}
OFFER_TEXT = {
    "en": " Members may take a free {years}-year policy of {product} from {start} to {end} (the platform pays "
          "the premium); answer by {accept_by}.",
    "zh": " 成员可免费获得 {product} 保单 {years} 年（{start} 至 {end}，保费由平台支付），请于 {accept_by} 前答复。",
}


def statement(lang: str, *, plan: str, decision: Decision, closed_on: dt.date, summary: dict[str, Any],
              finished: int, closed: int, residual: Residual, residual_amount: Fen,
              offer: ConversionOffer | None) -> str:
    """The closure notice in one language (en, zh), from the figures (amounts in yuan text in `summary`)."""
    offer_text = "" if offer is None else OFFER_TEXT[lang].format(
        years=offer.free_years, product=offer.product, start=offer.policy_start, end=offer.policy_end(),
        accept_by=offer.accept_by)
    return STATEMENT[lang].format(
        plan=plan, closed_on=closed_on, decided_on=decision.decided_on, reference=decision.reference,
        notice_date=summary["notice_date"], cases=summary["cases"], aid=summary["aid"], fee=summary["management_fee"],
        members=summary["members_protected"], charge=summary["per_member_charge"], finished=finished, closed=closed,
        residual=RESIDUAL_TEXT[residual][lang].format(amount=format_yuan(abs(residual_amount))), offer=offer_text,
    )
