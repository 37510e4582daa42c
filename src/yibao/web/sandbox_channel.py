"""`/sandbox/pay/{id}`: the demo's payment channel, clearly marked 沙箱 / SANDBOX.

It stands where a mobile-payment provider's page would: the member completes or fails the payment there, and on
completion the channel sends the provider's signed callback (HMAC-SHA256 of the body under the shared payment
secret) to the payment-notify service, `yibao.ops.contributions.notification` — the same verification and
posting as `POST /payments/notify`. Only on when the app was installed with the sandbox (never in production),
and only for the signed-in member's own contribution due.
"""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from yibao.core.money import format_yuan
from yibao.ops import contributions
from yibao.ops.errors import NotFound
from yibao.ops.store import Contribution
from yibao.web import session
from yibao.web.member import _member, own_payable
from yibao.web.render import in_store, redirect, render, secret, texts_of

router = APIRouter(prefix="/sandbox")


def _owed(s: Session, person_id: str, contribution_id: int) -> Contribution:
    found = s.get(Contribution, contribution_id)
    if found is None or not own_payable(s, person_id, contribution_id):
        raise NotFound(f"no contribution {contribution_id} due", code="contribution.not_found")
    return found


def _require_sandbox(request: Request) -> None:
    if not request.app.state.payment_sandbox:
        raise NotFound("no sandbox channel here", code="web.not_found")


@router.get("/pay/{contribution_id}")
async def sandbox_page(request: Request, contribution_id: int) -> Response:
    _require_sandbox(request)
    who, person_id = _member(request)
    owed = await in_store(request, lambda s: _owed(s, person_id, contribution_id))
    texts = texts_of(request)
    return render(request, "sandbox.html", who=who, title=texts.gettext("Sandbox payment channel"), owed=owed)


@router.post("/pay/{contribution_id}")
async def sandbox_result(request: Request, contribution_id: int) -> Response:
    _require_sandbox(request)
    _, person_id = _member(request)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    if form.get("outcome") != "complete":
        return redirect("/m/?done=failed#contributions")
    payment_secret = secret(request, "payment_secret")

    def work(s: Session) -> None:
        owed = _owed(s, person_id, contribution_id)
        body = json.dumps({
            "out_trade_no": owed.id, "transaction_id": f"sandbox-{uuid.uuid4().hex}",
            "total_fee": format_yuan(owed.amount), "channel": contributions.Channel.MOBILE.value,
        }).encode()
        contributions.notification(s, payment_secret, body, contributions.sign(payment_secret, body))

    await in_store(request, work)
    return redirect("/m/?done=paid#contributions")
