"""The operations store as the Twin check's registry (W) and employers (E) tables: a read-only query.

W: one row per person with an employer and a UEBMI employee enrolment in the year. The store keeps
yearly figures, the Twin check monthly ones: `declared_base` is the enrolment's yearly wage base / 12
(half-up to the fen); `months_paid` is 12 when the employer's contribution for the year is paid and 0
while it is due (the store records one yearly contribution per source).
E: every employer with its region's average wage / 12 (the region keeps the yearly average).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from yibao.core.model import InsuranceScheme
from yibao.core.money import round_half_up_div
from yibao.ops.contributions import PAID, ContributionSource
from yibao.ops.store import Contribution, Employer, Enrolment, PersonRow, Region

MONTHS = 12
WORKER_SCHEMA = {
    "person_id": pl.String, "ric": pl.String, "name": pl.String, "birth_date": pl.Date, "sex": pl.String,
    "employer_uscc": pl.String, "region": pl.String, "declared_base": pl.Int64, "months_paid": pl.Int8,
}  # fmt: skip
EMPLOYER_SCHEMA = {
    "employer_uscc": pl.String,
    "employer_name": pl.String,
    "region": pl.String,
    "average_wage": pl.Int64,
}


def export_workers(session: Session, year: int) -> pl.DataFrame:
    """Insured workers of `year` as the Twin check's W table (normalised: amounts in fen), by person_id."""
    employer_paid = and_(
        Contribution.enrolment_id == Enrolment.id,
        Contribution.source == ContributionSource.EMPLOYER.value,
        Contribution.status == PAID,
    )
    rows = session.execute(
        select(
            PersonRow.person_id, PersonRow.ric, PersonRow.name, PersonRow.birth_date, PersonRow.sex,
            Employer.uscc, PersonRow.region, Enrolment.wage_base, Contribution.id,
        )
        .join(Employer, PersonRow.employer_id == Employer.id)
        .join(Enrolment, and_(Enrolment.person_id == PersonRow.person_id, Enrolment.year == year,
                              Enrolment.scheme == InsuranceScheme.UEBMI_EMPLOYEE.value))
        .outerjoin(Contribution, employer_paid)
        .order_by(PersonRow.person_id)
    ).all()  # fmt: skip
    records = [
        (pid, ric, name, born, sex, uscc, region, round_half_up_div(base or 0, MONTHS), MONTHS if paid else 0)
        for pid, ric, name, born, sex, uscc, region, base, paid in rows
    ]
    return pl.DataFrame(records, schema=WORKER_SCHEMA, orient="row")


def export_employers(session: Session) -> pl.DataFrame:
    """Every employer with its region's average monthly wage, as the Twin check's E table (fen)."""
    rows = session.execute(
        select(Employer.uscc, Employer.name, Employer.region, Region.average_wage)
        .join(Region, Employer.region == Region.code)
        .order_by(Employer.uscc)
    ).all()
    records = [(uscc, name, region, round_half_up_div(wage, MONTHS)) for uscc, name, region, wage in rows]
    return pl.DataFrame(records, schema=EMPLOYER_SCHEMA, orient="row")
