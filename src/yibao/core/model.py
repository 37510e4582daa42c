"""The records settlement works on: persons, claims, and their closed vocabularies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yibao.core.money import Fen


class InsuranceScheme(StrEnum):
    UEBMI_EMPLOYEE = "uebmi_employee"
    UEBMI_RETIREE = "uebmi_retiree"
    URRBMI = "urrbmi"


class AssistanceCategory(StrEnum):
    NONE = "none"
    EXTREME_POOR = "extreme_poor"
    DIBAO = "dibao"
    LOW_INCOME = "low_income"


class CareType(StrEnum):
    INPATIENT = "inpatient"
    OUTPATIENT = "outpatient"


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"


FACILITY_LEVELS = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class PolicyCover:
    """A policy a person holds: `product` in force from `start` to `end`, both days inclusive.

    `product` names what a private layer pays for (`yibao.core.scheme.Layer.product_id`): a product's id (for
    example `shanghai-huhuibao-2021`) or, for a scheme's own Huiminbao or commercial layer, that layer's id. A
    person never holds two policies of the same product that overlap (`yibao.products.policies.read_policies`
    and the batch path refuse them)."""

    product: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Person:
    person_id: str
    birth_date: date
    sex: Sex
    region: str
    scheme: InsuranceScheme
    assistance_category: AssistanceCategory
    huiminbao: bool
    pre_existing: bool
    annual_income: Fen
    # public cover (basic, serious illness, assistance...) runs from cover_start to cover_end, both inclusive;
    # None: open at that end (no dates: covered every day, as before cover dates existed)
    cover_start: date | None = None
    cover_end: date | None = None
    # the private products held (Huiminbao, commercial): a private layer pays only under a policy in force
    policies: tuple[PolicyCover, ...] = ()


@dataclass(frozen=True, slots=True)
class Claim:
    claim_id: str
    person_id: str
    service_date: date
    region: str
    facility_level: int
    care_type: CareType
    class_a: Fen
    class_b: Fen
    self_pay: Fen
    special_drugs: Fen
    diagnosis: str = ""

    @property
    def total(self) -> Fen:
        return self.class_a + self.class_b + self.self_pay + self.special_drugs


def age_on(birth: date, day: date) -> int:
    """Completed years of age on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
