"""Allocation of money received to the funds, in the same transaction as the payment (docs/operations.md, "Funds").

One entry of kind `allocation`, reference `contribution:<id>`, per contribution received: it debits the income the
contribution was recognised in (`region:year:contribution_income:<source>`) and credits the funds, each on the sub
`in:<source>`:

* a residents' (URRBMI) contribution — the member's own part, the assistance-paid part, the central and the local
  government subsidy — goes to `basic_pooled_fund:in:<source>` but for the share that finances serious-illness
  insurance, `serious_illness:in:<source>` (`residents.serious_illness_share`, rounded half-up per contribution);
* an employee's (UEBMI) own contribution goes to their individual account `individual_account:<person_id>` for
  `employees.employee_account_share` of it, the rest to `basic_pooled_fund:in:individual`; the employer's to
  `basic_pooled_fund:in:employer` but for `employees.employer_account_share` (0 since 国办发〔2021〕14号);
* donations, lottery income and budget transfers to medical assistance go to `assistance_fund:in:<source>`.

Each split rounds the named share half-up and gives the rest to the pooled fund, so the credits always sum to the
contribution. A Huiminbao premium is the insurer's (credited to it when due) and is not allocated.

A retiree's individual account receives a fixed yearly amount from the pool (`employees.retiree_account_credit`):
an entry of kind `retiree_account_credit`, reference `enrolment:<id>`, debiting `basic_pooled_fund:out:retiree_accounts`
and crediting `individual_account:<person_id>`, posted when the retiree is enrolled.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.orm import Session

from yibao.core.model import InsuranceScheme
from yibao.core.money import Fen, RatePpm, apply_rate
from yibao.ops import ledger
from yibao.ops.audit import Actor
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.store import Contribution, Enrolment
from yibao.schemes.contributions import ContributionRules

ALLOCATION_ENTRY = "allocation"
RETIREE_CREDIT_ENTRY = "retiree_account_credit"


class Source(StrEnum):
    """Where money comes from: a contribution's source, and the sub of the fund accounts it is allocated to."""

    INDIVIDUAL = "individual"
    EMPLOYER = "employer"
    GOVERNMENT_SUBSIDY = "government_subsidy"  # older rows, before the central/local split: allocated under this name
    GOVERNMENT_SUBSIDY_CENTRAL = "government_subsidy_central"
    GOVERNMENT_SUBSIDY_LOCAL = "government_subsidy_local"
    ASSISTANCE = "assistance"  # medical assistance pays (part of) a member's contribution
    DONATION = "donation"
    LOTTERY = "lottery"  # welfare-lottery public-welfare money for medical assistance
    ASSISTANCE_BUDGET = "assistance_budget"  # a budget transfer to the medical-assistance fund
    HUIMINBAO_PREMIUM = "huiminbao_premium"
    # a voluntary product's premium parts (yibao.ops.policy_premiums): the policyholder's, the government's, the
    # employer's; they clear to the insurer's premium account and are never allocated to the funds
    PREMIUM_MEMBER = "premium_member"
    PREMIUM_GOVERNMENT = "premium_government"
    PREMIUM_EMPLOYER = "premium_employer"


# money that nobody owes: received and allocated at once (to the assistance fund)
TRANSFER_SOURCES = frozenset({Source.DONATION, Source.LOTTERY, Source.ASSISTANCE_BUDGET})


def income_account(contribution: Contribution) -> Account:
    """Where a contribution is recognised: the insurer for a Huiminbao premium, else the source's income."""
    if contribution.source == Source.HUIMINBAO_PREMIUM:
        return Account(contribution.region, contribution.year, AccountKind.HUIMINBAO_INSURER)
    return Account(contribution.region, contribution.year, AccountKind.CONTRIBUTION_INCOME, contribution.source)


def fund(contribution: Contribution, kind: AccountKind) -> Account:
    return Account(contribution.region, contribution.year, kind, f"in:{contribution.source}")


def _split(amount: Fen, share: RatePpm) -> tuple[Fen, Fen]:
    """(round(share x amount), the rest)."""
    part = apply_rate(share, amount)
    return part, amount - part


def allocation_lines(contribution: Contribution, enrolment: Enrolment | None, rules: ContributionRules) -> list[Line]:
    """The allocation entry's lines for a contribution received (none for a Huiminbao premium)."""
    source, amount = Source(contribution.source), contribution.amount
    if source is Source.HUIMINBAO_PREMIUM:
        return []
    credits: list[tuple[Account, Fen]]
    if source in TRANSFER_SOURCES or enrolment is None:
        credits = [(fund(contribution, AccountKind.ASSISTANCE_FUND), amount)]
    elif enrolment.scheme in (InsuranceScheme.UEBMI_EMPLOYEE.value, InsuranceScheme.UEBMI_RETIREE.value):
        share = rules.employee_account_share if source is Source.INDIVIDUAL else rules.employer_account_share
        account, pooled = _split(amount, share)
        own = Account(contribution.region, contribution.year, AccountKind.INDIVIDUAL_ACCOUNT, enrolment.person_id)
        credits = [(own, account), (fund(contribution, AccountKind.BASIC_POOLED_FUND), pooled)]
    else:
        serious, pooled = _split(amount, rules.serious_illness_share)
        credits = [(fund(contribution, AccountKind.SERIOUS_ILLNESS), serious),
                   (fund(contribution, AccountKind.BASIC_POOLED_FUND), pooled)]
    return [Line(income_account(contribution), amount), *(Line(account, -fen) for account, fen in credits)]


def allocate(
    session: Session, actor: Actor, contribution: Contribution, enrolment: Enrolment | None, rules: ContributionRules,
) -> None:
    """Post the allocation of a contribution just received (in the payment's transaction)."""
    lines = allocation_lines(contribution, enrolment, rules)
    if lines:
        note = ""
        if contribution.source == Source.GOVERNMENT_SUBSIDY_LOCAL:
            residue = rules.subsidy_split()[2]
            note = f"; rounding residue of the central/local split {residue:+d} fen on the local share" if residue else ""
        ledger.post(
            session, actor, ALLOCATION_ENTRY, f"contribution:{contribution.id}",
            f"{contribution.source} contribution allocated to the funds{note}", lines,
        )


def credit_retiree_account(session: Session, actor: Actor, enrolment: Enrolment, region: str, rules: ContributionRules) -> None:
    """The pooled fund's fixed yearly credit to a retiree's individual account (国办发〔2021〕14号)."""
    amount = rules.retiree_account_credit
    ledger.post(
        session, actor, RETIREE_CREDIT_ENTRY, f"enrolment:{enrolment.id}",
        f"yearly individual-account credit of retiree {enrolment.person_id} ({enrolment.year})",
        [Line(Account(region, enrolment.year, AccountKind.BASIC_POOLED_FUND, "out:retiree_accounts"), amount),
         Line(Account(region, enrolment.year, AccountKind.INDIVIDUAL_ACCOUNT, enrolment.person_id), -amount)],
    )
