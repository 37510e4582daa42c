"""E-insurance cards (医保电子凭证): signed, expiring, revocable tokens a facility presents, with a QR code.

A card is a JWT (HS256) naming the person and a card id (`jti`); the card row
records issue, expiry and revocation. Its QR code is drawn as SVG or PNG. Verification checks the signature, the
expiry, that the card was not revoked, and returns the member's enrolment.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import jwt
import qrcode  # type: ignore[import-untyped]
import qrcode.image.pil  # type: ignore[import-untyped]
import qrcode.image.svg  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from yibao.ops import audit, registry
from yibao.ops.audit import Actor
from yibao.ops.errors import NotFound, Rejected
from yibao.ops.store import Card, utcnow

CARD_AUDIENCE = "yibao:card"
DEFAULT_LIFETIME = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class IssuedCard:
    jti: str
    token: str
    expires_at: str


@dataclass(frozen=True, slots=True)
class CardHolder:
    person_id: str
    name: str
    region: str
    year: int
    scheme: str | None
    enrolment_status: str | None
    huiminbao: bool


def issue(session: Session, actor: Actor, secret: str, person_id: str, lifetime: timedelta = DEFAULT_LIFETIME) -> IssuedCard:
    registry.person(session, person_id)
    now = utcnow()
    card = Card(jti=uuid.uuid4().hex, person_id=person_id, issued_at=now, expires_at=now + lifetime)
    audit.added(session, actor, "card.issued", "card", card, key="jti")
    return IssuedCard(card.jti, token_of(secret, card), card.expires_at.isoformat())


def token_of(secret: str, card: Card) -> str:
    """The card's signed token (HS256 is deterministic: the same card always gives the same token)."""
    claims = {"sub": card.person_id, "jti": card.jti, "aud": CARD_AUDIENCE, "iat": card.issued_at, "exp": card.expires_at}
    return jwt.encode(claims, secret, algorithm="HS256")


def of_person(session: Session, person_id: str) -> list[Card]:
    """Every card issued to a person, newest first."""
    from sqlalchemy import select

    return list(session.execute(select(Card).where(Card.person_id == person_id).order_by(Card.issued_at.desc())).scalars())


def live_card(session: Session, person_id: str) -> Card | None:
    """The person's newest card that is neither expired nor revoked (what their phone shows), if any."""
    from sqlalchemy import select

    return session.execute(
        select(Card).where(Card.person_id == person_id, Card.revoked_at.is_(None), Card.expires_at > utcnow())
        .order_by(Card.issued_at.desc()).limit(1)
    ).scalar_one_or_none()


def revoke(session: Session, actor: Actor, jti: str) -> Card:
    card = session.get(Card, jti)
    if card is None:
        raise NotFound(f"no card {jti}", code="card.not_found")
    if card.revoked_at is None:
        before = audit.snapshot(card)
        card.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor, "card.revoked", "card", jti, before, audit.snapshot(card))
    return card


def verify(session: Session, secret: str, token: str, day: date | None = None) -> CardHolder:
    """The holder of a presented card and their enrolment for the year of `day`; forged/expired/revoked refused."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=CARD_AUDIENCE, options={"require": ["exp", "jti", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Rejected("the card has expired", code="card.expired") from None
    except jwt.InvalidTokenError:
        raise Rejected("the card's signature does not verify", code="card.invalid") from None
    card = session.get(Card, claims["jti"])
    if card is None or card.person_id != claims["sub"]:
        raise Rejected("unknown card", code="card.invalid")
    if card.revoked_at is not None:
        raise Rejected("the card was revoked", code="card.revoked")
    person = registry.person(session, card.person_id)
    year = (day or utcnow().date()).year
    cover = registry.enrolment(session, person.person_id, year)
    return CardHolder(
        person_id=person.person_id, name=person.name, region=person.region, year=year,
        scheme=None if cover is None else cover.scheme,
        enrolment_status=None if cover is None else cover.status,
        huiminbao=False if cover is None else cover.huiminbao,
    )


def qr_svg(token: str) -> str:
    """The card token as a QR code, an SVG document (no raster, no network)."""
    image = qrcode.make(token, image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def qr_png(token: str, box_size: int = 10) -> bytes:
    """The card token as a QR code, a black-and-white PNG (`box_size` pixels a module, a 4-module quiet zone),
    drawn by Pillow."""
    image = qrcode.make(token, image_factory=qrcode.image.pil.PilImage, box_size=box_size)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
