"""A voluntary insurance product as data: who may buy it, what it costs, what it pays.

Products sit beside the schemes: their indemnity benefits use the scheme's layer
anatomy (`yibao.core.scheme.Layer`: base, deductible, rates, caps), and every figure
is a dated `Parameter` with a unit and a reference, read by the schemes' loader.
The benefit kinds an indemnity layer cannot express are here: a fixed daily
hospital allowance and lump sums for listed events, each paid to the member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yibao.core.money import Fen, RatePpm
from yibao.core.scheme import Layer, Names, Parameter


class ProductKind(StrEnum):
    SMALL_VALUE = "small_value"  # 小额保险: rural / low-income, premium largely subsidised
    HUIMINBAO = "huiminbao"  # 惠民保: city-guided, flat premium, no underwriting
    PRIVATE_MEDICAL = "private_medical"  # 百万医疗: underwritten, age-rated


class PreExisting(StrEnum):
    """How a product treats a pre-existing condition (既往症)."""

    COVERED = "covered"  # paid like any other condition
    REDUCED = "reduced"  # paid at the lower rates the indemnity parts key by `pre_existing`
    EXCLUDED = "excluded"  # nothing paid for a declared condition (health declaration)
    DECLINED = "declined"  # a person with a pre-existing condition may not buy


class EventKind(StrEnum):
    ACCIDENTAL_DEATH = "accidental_death"
    DISABILITY = "disability"
    CRITICAL_ILLNESS = "critical_illness"


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Who may buy. Empty sets mean any; ages are inclusive, at the policy start."""

    min_age: int | None = None
    max_age: int | None = None
    regions: frozenset[str] = frozenset()
    schemes: frozenset[str] = frozenset()
    assistance_categories: frozenset[str] = frozenset()
    health_declaration: bool = False
    pre_existing: PreExisting = PreExisting.COVERED


@dataclass(frozen=True, slots=True)
class AgeBand:
    """From `from_age` (inclusive, at the policy start) until the next band, the premium is `premium`."""

    from_age: int
    premium: Fen


@dataclass(frozen=True, slots=True)
class Premium:
    """Premium by age band (one band from age 0 is a flat premium) and the payers' shares of it."""

    bands: Parameter[tuple[AgeBand, ...]]
    government_share: Parameter[RatePpm]
    employer_share: Parameter[RatePpm]


@dataclass(frozen=True, slots=True)
class Window:
    """Sales window of the product year and the waiting period (days) after a policy starts."""

    opens: date
    closes: date
    waiting_days: Parameter[int]
    reference: str


@dataclass(frozen=True, slots=True)
class DailyAllowance:
    """A fixed amount per day of inpatient stay in force, up to `max_days` a policy."""

    amount: Parameter[Fen]
    max_days: Parameter[int]


@dataclass(frozen=True, slots=True)
class LumpSum:
    """A sum paid once per policy for a listed event.

    Critical illness: a diagnosis whose ICD-10 code starts with a listed prefix.
    Disability: the sum times the share of the disability grade (grade 1 first).
    """

    id: str
    name: Names
    event: EventKind
    amount: Parameter[Fen]
    icd10_prefixes: tuple[str, ...] = ()
    grade_shares: Parameter[tuple[RatePpm, ...]] | None = None


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    title: Names
    kind: ProductKind
    insurer: str
    region: str
    year: int
    reference: str
    eligibility: Eligibility
    premium: Premium
    window: Window
    indemnity: Layer | None = None
    special_drugs: tuple[str, ...] = ()
    daily_allowance: DailyAllowance | None = None
    lump_sums: tuple[LumpSum, ...] = ()
    description: str = ""
    # settled at the hospital's counter with the public layers (一站式结算), else claimed from the insurer afterwards
    one_stop: bool = False
    # the insurer's expenses as a share of premiums written (the books' expense and combined ratios)
    expense_ratio: Parameter[RatePpm] | None = None

    def lump_sum(self, lump_id: str) -> LumpSum:
        for item in self.lump_sums:
            if item.id == lump_id:
                return item
        raise KeyError(lump_id)

    @property
    def benefit_kinds(self) -> tuple[str, ...]:
        kinds = []
        if self.indemnity is not None:
            kinds.append("indemnity")
        if self.daily_allowance is not None:
            kinds.append("daily_allowance")
        kinds.extend(sorted({f"lump_sum:{s.event.value}" for s in self.lump_sums}))
        return tuple(kinds)
