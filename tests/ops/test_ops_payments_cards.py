"""Contributions: the signed, idempotent payment notification. Cards: forgery, expiry, revocation, QR."""

from __future__ import annotations

import json
from datetime import date, timedelta

import jwt
import pytest
from ops_bureau import OFFICER, Bureau
from sqlalchemy import func, select

from yibao.core.errors import YibaoError
from yibao.core.money import format_yuan
from yibao.ops import cards, contributions, ledger, registry
from yibao.ops.auth import ensure_secrets
from yibao.ops.store import AuditEvent, Contribution, Posting


def _dues(bureau: Bureau, person_id: str) -> list[Contribution]:
    with bureau.store.transaction() as s:
        enrolment = registry.enrolment(s, person_id, 2024)
        return list(s.execute(select(Contribution).where(Contribution.enrolment_id == enrolment.id).order_by(Contribution.id)).scalars())


def _notify(bureau: Bureau, secret: str, body: bytes, signature: str | None) -> Contribution:
    with bureau.store.transaction() as s:
        return contributions.notification(s, secret, body, signature)


def _counts(bureau: Bureau) -> tuple[int, int]:
    with bureau.store.transaction() as s:
        return (
            s.execute(select(func.count()).select_from(Posting)).scalar_one(),
            s.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        )


def test_payment_notification_signature_idempotency_and_mismatch(bureau: Bureau) -> None:
    pid = bureau.person(pay=False, huiminbao=True)
    individual, subsidy, premium = _dues(bureau, pid)
    secret = "s3cret"
    body = json.dumps({"out_trade_no": individual.id, "transaction_id": "wx-1", "total_fee": "400.00", "channel": "mobile"}).encode()
    for bad in (None, "00" * 32, contributions.sign("other", body)):
        with pytest.raises(YibaoError) as err:
            _notify(bureau, secret, body, bad)
        assert err.value.code == "payment.bad_signature"
    wrong = json.dumps({"out_trade_no": individual.id, "transaction_id": "wx-2", "total_fee": "399.99"}).encode()
    with pytest.raises(YibaoError) as err:
        _notify(bureau, secret, wrong, contributions.sign(secret, wrong))
    assert err.value.code == "payment.amount_mismatch"
    paid = _notify(bureau, secret, body, contributions.sign(secret, body))
    assert paid.status == "paid" and paid.channel == "mobile"
    counts = _counts(bureau)
    again = _notify(bureau, secret, body, contributions.sign(secret, body))  # a repeated notification
    assert again.id == paid.id and _counts(bureau) == counts  # changes nothing
    with bureau.store.transaction() as s:
        assert registry.enrolment(s, pid, 2024).status == "pending"  # the subsidy is still due
        contributions.record_payment(s, OFFICER, subsidy.id, 670_00, "bank", "treasury-1")
        assert registry.enrolment(s, pid, 2024).status == "active"
        assert registry.enrolment(s, pid, 2024).huiminbao is False
        contributions.record_payment(s, OFFICER, premium.id, 89_00, "mobile", "wx-3")
        assert registry.enrolment(s, pid, 2024).huiminbao is True
        assert ledger.trial_balance(s).balanced
        with pytest.raises(YibaoError) as err:
            contributions.record_payment(s, OFFICER, premium.id, 89_00, "mobile", "wx-4")
        assert err.value.code == "payment.already_paid"
        with pytest.raises(YibaoError) as err:
            contributions.record_payment(s, OFFICER, premium.id, 89_00, "pigeon", "wx-5")
        assert err.value.code == "payment.channel"


def test_donation(bureau: Bureau) -> None:
    with bureau.store.transaction() as s:
        gift = contributions.receive_donation(s, OFFICER, "reference-city", 2024, 5000_00, "bank", "gift-1")
        assert contributions.receive_donation(s, OFFICER, "reference-city", 2024, 5000_00, "bank", "gift-1").id == gift.id
        income = ledger.Account("reference-city", 2024, ledger.AccountKind.CONTRIBUTION_INCOME, "donation")
        assert ledger.balance(s, income) == -5000_00


def test_card_verify_forged_expired_revoked(bureau: Bureau) -> None:
    pid = bureau.person()
    with bureau.store.transaction() as s:
        secret = ensure_secrets(s)["card_secret"]
        card = cards.issue(s, OFFICER, secret, pid)
    with bureau.store.transaction() as s:
        holder = cards.verify(s, secret, card.token, date(2024, 5, 1))
        assert (holder.person_id, holder.scheme, holder.enrolment_status) == (pid, "urrbmi", "active")
        claims = jwt.decode(card.token, options={"verify_signature": False})
        forged = jwt.encode({**claims, "sub": "P9999"}, "a-guessed-key-that-is-long-enough-for-hs256", algorithm="HS256")
        tampered = card.token[:-2] + ("AA" if not card.token.endswith("AA") else "BB")
        for token in (forged, tampered, "not-a-token"):
            with pytest.raises(YibaoError) as err:
                cards.verify(s, secret, token)
            assert err.value.code == "card.invalid"
        short = cards.issue(s, OFFICER, secret, pid, lifetime=timedelta(seconds=-1))
        with pytest.raises(YibaoError) as err:
            cards.verify(s, secret, short.token)
        assert err.value.code == "card.expired"
        cards.revoke(s, OFFICER, card.jti)
        with pytest.raises(YibaoError) as err:
            cards.verify(s, secret, card.token)
        assert err.value.code == "card.revoked"
    svg = cards.qr_svg(card.token)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<path" in svg


def test_concurrent_payments_activate_the_enrolment_once(bureau: Bureau) -> None:
    """Both contributions paid at the same moment, each notification delivered twice at once."""
    import threading

    pid = bureau.person(pay=False)
    individual, subsidy = _dues(bureau, pid)
    secret = "a-shared-secret-of-some-length!!"
    bodies = [
        json.dumps({"out_trade_no": c.id, "transaction_id": f"wx-{c.id}", "total_fee": format_yuan(c.amount)}).encode()
        for c in (individual, subsidy)
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def deliver(body: bytes) -> None:
        try:
            barrier.wait()
            _notify(bureau, secret, body, contributions.sign(secret, body))
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with bureau.store.transaction() as s:
        assert registry.enrolment(s, pid, 2024).status == "active"
        assert len(ledger.entries(s, reference=f"contribution:{individual.id}")) == 1
        assert len(ledger.entries(s, reference=f"contribution:{subsidy.id}")) == 1
