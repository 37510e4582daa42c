"""Request and response shapes shared by the services and the HTTP API. Money is yuan text with two decimals."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yibao.core.model import AssistanceCategory, CareType, InsuranceScheme, Sex

# --- the constrained types every request is checked by, once, at the edge ---

MAX_YUAN_DIGITS = 8
"""An amount is at most 99,999,999.99 yuan (under 10^10 fen) — a bill's line, a payment, a wage, a donation.
A bill has four lines, so a person-year reaches 2^63 fen only after more than 200 million bills of the
maximum: every yearly sum, and every sum the ledger makes, stays inside 64-bit fen."""
Yuan = Annotated[str, Field(
    pattern=rf"^\d{{1,{MAX_YUAN_DIGITS}}}(\.\d{{1,2}})?$", max_length=MAX_YUAN_DIGITS + 3, examples=["1234.50"],
    description="yuan, at most two decimals, 0 to 99999999.99",
)]
YEAR_MIN, YEAR_MAX = 2000, 2100
Year = Annotated[int, Field(ge=YEAR_MIN, le=YEAR_MAX, description=f"a scheme year, {YEAR_MIN}–{YEAR_MAX}")]
INT32_MAX = 2**31 - 1  # the range of the store's Integer columns (row ids, counts)
RowId = Annotated[int, Field(ge=1, le=INT32_MAX, description="a record's number")]
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
_PRINTABLE = r"[^\x00-\x1f\x7f]"
_ID_PATTERN = rf"^[^\s\x00-\x1f\x7f](?:{_PRINTABLE}*[^\s\x00-\x1f\x7f])?$"
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_ID_PATTERN)]
"""A record's key (person, claim, facility, region, plan...): 1–64 characters, no control characters, no
space at either end (what is stored is what is looked up: a key is never normalised after its scope is checked)."""
Reference = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_ID_PATTERN)]
PlanId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9./_-]*$")]
"""A mutual-aid plan's id (its name, e.g. xianghubao-2020/senior)."""


_TEXT = r"^[^\x00-\x08\x0b-\x1f\x7f]*$"  # no NUL nor other control character but tab and newline
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Address = Annotated[str, StringConstraints(max_length=400, pattern=_TEXT)]
Note = Annotated[str, StringConstraints(max_length=2000, pattern=_TEXT)]
Uscc = Annotated[str, StringConstraints(min_length=18, max_length=18, pattern=r"^[0-9A-Z]{18}$")]
RicText = Annotated[str, StringConstraints(max_length=18, pattern=r"^[0-9Xx]*$")]  # as observed: may be empty or mistyped
ShortText = Annotated[str, StringConstraints(max_length=200, pattern=_TEXT)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=400, pattern=_TEXT)]
Summary = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=_TEXT)]
Diagnosis = Annotated[str, StringConstraints(max_length=16, pattern=r"^[^\x00-\x1f\x7f]*$")]
BankAccount = Annotated[str, StringConstraints(min_length=6, max_length=34, pattern=r"^[0-9A-Za-z-]+$")]
"""A bank account number (digits, letters, hyphens; 6–34 characters): written as it is into payment files."""
Channel = Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=_ID_PATTERN)]


class Shape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegionIn(Shape):
    code: Identifier
    name: Name
    scheme_name: Identifier = Field("reference-city", description="a built-in scheme (`yibao schemes`)")
    average_wage: Yuan = Field(description="local average yearly wage (UEBMI base band 60–300%)")


class EmployerIn(Shape):
    uscc: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=_ID_PATTERN)]
    name: Name
    region: Identifier


class HouseholdIn(Shape):
    region: Identifier
    address: Address = ""


class FacilityIn(Shape):
    id: Identifier
    name: Name
    region: Identifier
    level: int = Field(ge=1, le=3)
    bank_account: BankAccount | None = Field(None, description="the account the funds pay it to (payment batches)")


class PersonIn(Shape):
    person_id: Identifier
    ric: str = Field(max_length=32, description="resident identity number (18 characters, validated)")
    name: Name
    region: Identifier
    birth_date: date | None = Field(None, description="cross-checked against the identity number when given")
    sex: Sex | None = Field(None, description="cross-checked against the identity number when given")
    household_id: RowId | None = None
    employer_uscc: str | None = Field(None, max_length=32)
    pre_existing: bool = False
    annual_income: Yuan = "0"


class AssistanceIn(Shape):
    category: AssistanceCategory
    valid_from: date
    valid_to: date | None = None


class EnrolmentIn(Shape):
    year: Year
    scheme: InsuranceScheme
    huiminbao: bool = Field(False, description="also buy the city's Huiminbao for the year (premium due)")
    wage: Yuan | None = Field(None, description="UEBMI employee's yearly wage; clamped to 60–300% of the local average")


class PaymentIn(Shape):
    amount: Yuan
    channel: Channel
    reference: Reference
    paid_on: date | None = Field(None, description="the day the payer paid, when not today (a bank statement's value "
                                 "date): it decides the enrolment window")


class DonationIn(Shape):
    region: Identifier
    year: Year
    amount: Yuan
    channel: Channel
    reference: Reference
    source: Literal["donation", "lottery", "assistance_budget"] = Field(
        "donation", description="a donation, lottery income or a budget transfer: allocated to the assistance fund")


class BillIn(Shape):
    """The bill's own columns: what a correction replaces."""

    service_date: date
    facility_level: int | None = Field(
        None, ge=1, le=3, description="the facility's registered level; a bill that states another is refused"
    )
    care_type: CareType
    amount_class_a: Yuan = "0"
    amount_class_b: Yuan = "0"
    amount_self_pay: Yuan = "0"
    amount_special_drugs: Yuan = "0"
    diagnosis: Diagnosis = ""


class ClaimIn(BillIn):
    """A bill as a facility submits it (the claims table contract of architecture.md)."""

    claim_id: Identifier
    person_id: Identifier
    region: Identifier | None = Field(
        None, description="the facility's registered region; a bill that states another is refused"
    )


CorrectionIn = BillIn


class UserIn(Shape):
    username: Identifier
    password: str = Field(min_length=8, max_length=1024)
    role: str = Field(max_length=16)
    person_id: Identifier | None = None
    facility_id: Identifier | None = None
    regions: list[Identifier] = Field([], max_length=6, description="a bureau officer's regions (up to 6)")
    layer: str | None = Field(None, max_length=64)
