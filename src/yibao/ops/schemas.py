"""Request and response shapes shared by the services and the HTTP API. Money is yuan text with two decimals."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from yibao.core.model import AssistanceCategory, CareType, InsuranceScheme, Sex

Yuan = Annotated[str, Field(pattern=r"^\d+(\.\d{1,2})?$", examples=["1234.50"], description="yuan, two decimals")]


class Shape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegionIn(Shape):
    code: str = Field(min_length=1, max_length=64)
    name: str
    scheme_name: str = "reference-city"
    average_wage: Yuan = Field(description="local average yearly wage (UEBMI base band 60–300%)")


class EmployerIn(Shape):
    uscc: str
    name: str
    region: str


class HouseholdIn(Shape):
    region: str
    address: str = ""


class FacilityIn(Shape):
    id: str = Field(min_length=1, max_length=64)
    name: str
    region: str
    level: int = Field(ge=1, le=3)


class PersonIn(Shape):
    person_id: str = Field(min_length=1, max_length=64)
    ric: str = Field(description="resident identity number (18 characters, validated)")
    name: str
    region: str
    birth_date: date | None = Field(None, description="cross-checked against the identity number when given")
    sex: Sex | None = Field(None, description="cross-checked against the identity number when given")
    household_id: int | None = None
    employer_uscc: str | None = None
    pre_existing: bool = False
    annual_income: Yuan = "0"


class AssistanceIn(Shape):
    category: AssistanceCategory
    valid_from: date
    valid_to: date | None = None


class EnrolmentIn(Shape):
    year: int = Field(ge=2000, le=2100)
    scheme: InsuranceScheme
    huiminbao: bool = Field(False, description="also buy the city's Huiminbao for the year (premium due)")
    wage: Yuan | None = Field(None, description="UEBMI employee's yearly wage; clamped to 60–300% of the local average")


class PaymentIn(Shape):
    amount: Yuan
    channel: str
    reference: str = Field(min_length=1, max_length=128)


class DonationIn(Shape):
    region: str
    year: int
    amount: Yuan
    channel: str
    reference: str = Field(min_length=1, max_length=128)


class BillIn(Shape):
    """The bill's own columns: what a correction replaces."""

    service_date: date
    facility_level: int = Field(ge=1, le=3)
    care_type: CareType
    amount_class_a: Yuan = "0"
    amount_class_b: Yuan = "0"
    amount_self_pay: Yuan = "0"
    amount_special_drugs: Yuan = "0"
    diagnosis: str = ""


class ClaimIn(BillIn):
    """A bill as a facility submits it (the claims table contract of architecture.md)."""

    claim_id: str = Field(min_length=1, max_length=64)
    person_id: str
    region: str


CorrectionIn = BillIn


class UserIn(Shape):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8)
    role: str
    person_id: str | None = None
    facility_id: str | None = None
    regions: list[str] = []
    layer: str | None = None
