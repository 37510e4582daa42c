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
    individual, central, local, premium = _dues(bureau, pid)
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
        contributions.record_payment(s, OFFICER, central.id, 402_00, "bank", "treasury-1")
        contributions.record_payment(s, OFFICER, local.id, 268_00, "bank", "treasury-2")
        assert registry.enrolment(s, pid, 2024).status == "active"
        assert registry.enrolment(s, pid, 2024).huiminbao is False
        with pytest.raises(YibaoError) as err:  # Huiminbao 2024 was sold from 2023-11-01 to 2024-03-31
            contributions.record_payment(s, OFFICER, premium.id, 89_00, "mobile", "wx-late")
        assert err.value.code == "payment.outside_window"
        contributions.record_payment(s, OFFICER, premium.id, 89_00, "mobile", "wx-3", date(2024, 2, 10))
        assert registry.enrolment(s, pid, 2024).huiminbao is True
        assert registry.enrolment(s, pid, 2024).huiminbao_start == date(2024, 2, 11)  # the day after payment
        assert ledger.trial_balance(s).balanced
        with pytest.raises(YibaoError) as err:
            contributions.record_payment(s, OFFICER, premium.id, 89_00, "mobile", "wx-4", date(2024, 2, 10))
        assert err.value.code == "payment.already_paid"
        with pytest.raises(YibaoError) as err:
            contributions.record_payment(s, OFFICER, premium.id, 89_00, "pigeon", "wx-5", date(2024, 2, 10))
        assert err.value.code == "payment.channel"


def _member_receivable(person_id: str) -> ledger.Account:
    return ledger.Account("reference-city", 2024, ledger.AccountKind.MEMBER_RECEIVABLE, person_id)


def _source_receivable(source: str) -> ledger.Account:
    return ledger.Account("reference-city", 2024, ledger.AccountKind.CONTRIBUTION_RECEIVABLE, source)


def _fund(kind: str, source: str) -> ledger.Account:
    return ledger.Account("reference-city", 2024, ledger.AccountKind(kind), f"in:{source}")


def _income(source: str) -> ledger.Account:
    return ledger.Account("reference-city", 2024, ledger.AccountKind.CONTRIBUTION_INCOME, source)


def test_receivables_fall_due_and_payments_clear_them(bureau: Bureau) -> None:
    """Enrolment: the member owes their 400 and the premium, the government its 670 (402 central, 268 local), all
    recognised as income. Each payment moves its amount from the receivable to the channel's bank account, and its
    allocation from the income to the funds: 5% of a residents' contribution to serious-illness financing."""
    from yibao.core.model import InsuranceScheme

    pid = bureau.person(pay=False, huiminbao=True)
    individual, central, local, premium = _dues(bureau, pid)
    insurer = ledger.Account("reference-city", 2024, ledger.AccountKind.HUIMINBAO_INSURER)
    with bureau.store.transaction() as s:
        assert ledger.balance(s, _member_receivable(pid)) == 400_00 + 89_00
        assert ledger.balance(s, _source_receivable("government_subsidy_central")) == 402_00
        assert ledger.balance(s, _source_receivable("government_subsidy_local")) == 268_00
        assert ledger.balance(s, _income("individual")) == -400_00
        assert ledger.balance(s, _income("government_subsidy_local")) == -268_00
        assert ledger.balance(s, insurer) == -89_00
        contributions.record_payment(s, OFFICER, individual.id, 400_00, "counter", "c-1")
        assert ledger.balance(s, _member_receivable(pid)) == 89_00
        assert ledger.balance(s, ledger.Account("reference-city", 2024, ledger.AccountKind.BANK, "counter")) == 400_00
        assert ledger.balance(s, _income("individual")) == 0  # recognised when due, allocated when paid:
        assert ledger.balance(s, _fund("serious_illness", "individual")) == -20_00  # 5% of 400
        assert ledger.balance(s, _fund("basic_pooled_fund", "individual")) == -380_00
        contributions.record_payment(s, OFFICER, central.id, 402_00, "bank", "t-1")
        contributions.record_payment(s, OFFICER, local.id, 268_00, "bank", "t-1b")
        contributions.record_payment(s, OFFICER, premium.id, 89_00, "mobile", "m-1", date(2023, 12, 20))
        assert ledger.balance(s, _member_receivable(pid)) == 0
        assert ledger.balance(s, _source_receivable("government_subsidy_central")) == 0
        assert ledger.balance(s, _fund("serious_illness", "government_subsidy_central")) == -20_10  # 5% of 402
        assert ledger.balance(s, _fund("basic_pooled_fund", "government_subsidy_central")) == -381_90
        assert ledger.balance(s, _fund("serious_illness", "government_subsidy_local")) == -13_40  # 5% of 268
        assert ledger.balance(s, insurer) == -89_00  # the premium is the insurer's: not allocated
        assert registry.enrolment(s, pid, 2024).huiminbao_start == date(2024, 1, 1)  # paid before the year
        assert ledger.trial_balance(s).balanced and ledger.unbalanced_entries(s) == []
    # the employer owes its part, the employee theirs (credited to their individual account when paid)
    worker = bureau.person(InsuranceScheme.UEBMI_EMPLOYEE, wage="80000", pay=False)
    with bureau.store.transaction() as s:
        assert ledger.balance(s, _source_receivable("employer")) == 4800_00
        assert ledger.balance(s, _member_receivable(worker)) == 1600_00
        own = ledger.Account("reference-city", 2024, ledger.AccountKind.INDIVIDUAL_ACCOUNT, worker)
        assert ledger.balance(s, own) == 0  # nothing is credited before it is paid
    bureau.pay_all(worker)
    with bureau.store.transaction() as s:
        assert ledger.balance(s, _source_receivable("employer")) == 0
        assert ledger.balance(s, _member_receivable(worker)) == 0
        assert ledger.balance(s, own) == -1600_00
        assert ledger.balance(s, _fund("basic_pooled_fund", "employer")) == -4800_00  # all pooled since 2021


def test_an_over_payment_posts_nothing_and_a_cancelled_contribution_reverses_its_receivable(bureau: Bureau) -> None:
    pid = bureau.person(pay=False)
    individual, subsidy, _local = _dues(bureau, pid)
    counts = _counts(bureau)
    for amount, reference in ((400_01, "over"), (399_99, "under")):
        with pytest.raises(YibaoError) as err, bureau.store.transaction() as s:
            contributions.record_payment(s, OFFICER, individual.id, amount, "counter", reference)
        assert err.value.code == "payment.amount_mismatch"
    assert _counts(bureau) == counts  # refused whole: nothing posted, nothing audited
    with bureau.store.transaction() as s:
        contributions.record_payment(s, OFFICER, subsidy.id, 402_00, "bank", "t-2")
        with pytest.raises(YibaoError) as err:
            contributions.record_payment(s, OFFICER, subsidy.id, 402_00, "bank", "t-2-again")
        assert err.value.code == "payment.already_paid"  # a second payment of a paid contribution is refused
    with bureau.store.transaction() as s:
        cancelled = contributions.cancel(s, OFFICER, individual.id, "enrolled in another city")
        assert cancelled.status == "cancelled"
        assert ledger.balance(s, _member_receivable(pid)) == 0
        assert ledger.balance(s, _income("individual")) == 0  # the income recognised when due is reversed
        assert [e.kind for e, _ in ledger.entries(s, reference=f"contribution:{individual.id}")] == [
            "contribution_due", "contribution_cancelled"]
        assert registry.enrolment(s, pid, 2024).status == "pending"  # a cancelled contribution never counts as paid
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "contribution.cancelled")).scalars().all()
        assert [(e.before["status"], e.after["status"], e.after["reason"]) for e in events] == [
            ("due", "cancelled", "enrolled in another city")]
    for attempt in (
        lambda s: contributions.record_payment(s, OFFICER, individual.id, 400_00, "counter", "late"),
        lambda s: contributions.cancel(s, OFFICER, individual.id, "twice"),
        lambda s: contributions.cancel(s, OFFICER, subsidy.id, "already paid"),
    ):
        counts = _counts(bureau)
        with pytest.raises(YibaoError) as err, bureau.store.transaction() as s:
            attempt(s)
        assert err.value.code in {"payment.cancelled", "contribution.not_due"}
        assert _counts(bureau) == counts
    with bureau.store.transaction() as s:
        assert ledger.trial_balance(s).balanced and ledger.unbalanced_entries(s) == []


def test_donation(bureau: Bureau) -> None:
    with bureau.store.transaction() as s:
        gift = contributions.receive_donation(s, OFFICER, "reference-city", 2024, 5000_00, "bank", "gift-1")
        assert contributions.receive_donation(s, OFFICER, "reference-city", 2024, 5000_00, "bank", "gift-1").id == gift.id
        income = ledger.Account("reference-city", 2024, ledger.AccountKind.CONTRIBUTION_INCOME, "donation")
        assert ledger.balance(s, income) == 0  # received and allocated at once
        assert ledger.balance(s, _fund("assistance_fund", "donation")) == -5000_00
        assert [e.kind for e, _ in ledger.entries(s, reference=f"contribution:{gift.id}")] == [
            "contribution", "allocation"]  # never owed
        with pytest.raises(YibaoError) as err:
            contributions.cancel(s, OFFICER, gift.id, "a gift is not owed")
        assert err.value.code == "contribution.not_due"


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


def test_card_qr_png_decodes_back_to_the_token(bureau: Bureau) -> None:
    import io

    import zxingcpp
    from PIL import Image

    pid = bureau.person()
    with bureau.store.transaction() as s:
        card = cards.issue(s, OFFICER, ensure_secrets(s)["card_secret"], pid)
    png = cards.qr_png(card.token)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == image.height
    modules = image.width // 10 - 8  # 10 pixels a module, a quiet zone of 4 modules each side
    assert image.width % 10 == 0 and (modules - 17) % 4 == 0 and 21 <= modules <= 177  # a QR version's size
    # read as a cashier's scanner set to QR codes reads it: a scan for every symbology sometimes also finds a
    # Codabar "A07D" in the QR's modules (seen once in CI for a token of this shape), a reader's false positive
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [(r.format, r.text) for r in found] == [(zxingcpp.BarcodeFormat.QRCode, card.token)]


def test_concurrent_payments_activate_the_enrolment_once(bureau: Bureau) -> None:
    """The three contributions paid at the same moment, each notification delivered twice at once."""
    import threading

    pid = bureau.person(pay=False)
    dues = _dues(bureau, pid)
    secret = "a-shared-secret-of-some-length!!"
    bodies = [
        json.dumps({"out_trade_no": c.id, "transaction_id": f"wx-{c.id}", "total_fee": format_yuan(c.amount)}).encode()
        for c in dues
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

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
        for c in dues:
            posted = [e.kind for e, _ in ledger.entries(s, reference=f"contribution:{c.id}")]
            assert posted == ["contribution_due", "contribution", "allocation"]  # one payment each, allocated once
        assert ledger.balance(s, _member_receivable(pid)) == 0
