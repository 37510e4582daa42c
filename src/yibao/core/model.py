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
    # Amounts a yearly cap may come from (scheme data: `cap: {person: ...}` or `raise: ...`; PersonAmount):
    # the UEBMI individual account's balance available at the start of the year (own, plus what relatives share
    # with the person under family sharing, as operations passes it), and the raise of the serious-illness yearly
    # cap earned by continuous enrolment (国办发〔2024〕38号; operations computes it from enrolment history).
    individual_account_balance: Fen = 0
    serious_illness_cap_raise: Fen = 0


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
