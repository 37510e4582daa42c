"""A policy's premium parts as contributions: who owes each part, and what paying the member's part does.

The premium of a policy falls due as contributions (`ops.contributions`, sources `premium_member`,
`premium_government`, `premium_employer`), so it is paid through the same channels, counter payments and signed
payment notification as every contribution. This module is what `contributions.record_payment` calls for them
(it imports only the store, so the contributions module does not depend on the policies service):

* the member's part is receivable from the member (`member_receivable`, sub = person), the others from their
  source (`contribution_receivable`, sub = source), as for contributions;
* when the member's part is paid, the policy becomes `active` from the later of its requested start and the day
  after payment (UTC date of the payment): cover is never retroactive. The government's and employer's parts are
  owed by them and do not hold up the cover.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.ops import audit
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict
from yibao.ops.store import Contribution, utcnow
from yibao.ops.store_products import PolicyPremium, PolicyRow

PREMIUM_MEMBER, PREMIUM_GOVERNMENT, PREMIUM_EMPLOYER = "premium_member", "premium_government", "premium_employer"
PREMIUM_SOURCES = frozenset({PREMIUM_MEMBER, PREMIUM_GOVERNMENT, PREMIUM_EMPLOYER})
PENDING, ACTIVE, CANCELLED, LAPSED = "pending", "active", "cancelled", "lapsed"


def policy_of(session: Session, contribution: Contribution) -> PolicyRow:
    """The policy a premium part is owed for (locked: its payment and a cancellation see each other's)."""
    policy_id = session.execute(
        select(PolicyPremium.policy_id).where(PolicyPremium.contribution_id == contribution.id)
    ).scalar_one()
    return session.execute(
        select(PolicyRow).where(PolicyRow.id == policy_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def cover_start(requested: date, paid_on: date) -> date:
    """Cover starts on the later of the requested start and the day after the member's payment."""
    return max(requested, paid_on + timedelta(days=1))


def premium_paid(session: Session, actor: Actor, contribution: Contribution) -> None:
    """The member's part paid: a pending policy becomes active (its start moved to the day after payment if
    later); its end stays as sold. A payment after the policy's last day is refused (`policy.expired`)."""
    if contribution.source != PREMIUM_MEMBER:
        return
    policy = policy_of(session, contribution)
    if policy.status != PENDING:
        return
    paid_on = (contribution.paid_at or utcnow()).date()
    start = cover_start(policy.requested_start, paid_on)
    if start > policy.end_date:  # the whole payment is refused (rolled back): no cover would be left to buy
        raise Conflict(f"policy {policy.id} ends on {policy.end_date}: a payment on {paid_on} buys no cover",
                       code="policy.expired")
    before = audit.snapshot(policy)
    policy.start_date, policy.status = start, ACTIVE
    session.flush()
    audit.record(session, actor, "policy.activated", "policy", policy.id, before, audit.snapshot(policy))
