"""Helpers of the hospital-payment tests: the ledger's clock set by the test, bills, and March by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.ops.ops_bureau import OFFICER, REGION, Bureau

from yibao.ops import claims, ledger
from yibao.ops.audit import Actor
from yibao.ops.ledger import Account, AccountKind
from yibao.ops.schemas import ClaimIn, CorrectionIn
from yibao.ops.store import Facility

FACILITY = Actor("h2", "facility")
BANK_ACCOUNT = "6222020200001234567"


class Clock:
    """The ledger's clock, set by the test: entries are posted at the moment it says."""

    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def bill(claim_id: str, person_id: str, day: date, class_a: str) -> ClaimIn:
    return ClaimIn(claim_id=claim_id, person_id=person_id, service_date=day, region=REGION,
                   facility_level=2, care_type="inpatient", amount_class_a=class_a)  # type: ignore[arg-type]


def correction(day: date, class_a: str) -> CorrectionIn:
    return CorrectionIn(service_date=day, facility_level=2, care_type="inpatient", amount_class_a=class_a)  # type: ignore[arg-type]


def with_bank_account(bureau: Bureau, facility_id: str = "H2") -> None:
    with bureau.store.transaction() as s:
        s.get_one(Facility, facility_id).bank_account = BANK_ACCOUNT


def balance(bureau: Bureau, kind: AccountKind, sub: str = "H2", year: int = 2024) -> int:
    with bureau.store.transaction() as s:
        return ledger.balance(s, Account(REGION, year, kind, sub))


def at(clock: Clock, when: str) -> None:
    clock.now = datetime.fromisoformat(when).replace(tzinfo=UTC)


def march(bureau: Bureau, clock: Clock) -> list[str]:
    """Three claims at H2 (level 2: deductible 600, 75%), one reversed and one corrected, all posted in March."""
    p1, p2, p3 = bureau.person(), bureau.person(), bureau.person()
    at(clock, "2024-03-05T02:00")
    with bureau.store.transaction() as s:
        claims.submit(s, FACILITY, "H2", bill("C1", p1, date(2024, 3, 5), "10000"), "C1")  # 0.75 × 9,400 = 7,050
        claims.submit(s, FACILITY, "H2", bill("C2", p2, date(2024, 3, 6), "4000"), "C2")  # 0.75 × 3,400 = 2,550
        claims.submit(s, FACILITY, "H2", bill("C3", p3, date(2024, 3, 7), "2000"), "C3")  # 0.75 × 1,400 = 1,050
    at(clock, "2024-03-20T02:00")
    with bureau.store.transaction() as s:
        claims.reverse(s, OFFICER, "C3")  # −1,050
    at(clock, "2024-03-31T15:59:59")  # 23:59:59 on 31 March in China: still March
    with bureau.store.transaction() as s:
        claims.correct(s, OFFICER, "C2", correction(date(2024, 3, 6), "5000"))  # 0.75 × 4,400 = 3,300: +750
    return [p1, p2, p3]
