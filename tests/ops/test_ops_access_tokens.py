"""Access-token verification (PyJWT's decode on every request): it accepts the tokens `login` issues while valid
and refuses forged, tampered, unsigned, other-algorithm, wrong-audience, not-yet-valid and expiry-less ones."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from yibao.ops.auth import ACCESS_AUDIENCE, Role, authenticate
from yibao.ops.errors import Unauthenticated

SECRET = "s" * 64


def token(claims: dict[str, Any], secret: str = SECRET, **kwargs: Any) -> str:
    return jwt.encode(claims, secret, algorithm=kwargs.pop("algorithm", "HS256"), **kwargs)


def good(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "h2", "aud": ACCESS_AUDIENCE, "iat": now, "exp": now + 900, "role": "facility",
            "person_id": None, "facility_id": "H2", "regions": [], "layer": None, **extra}


def pyjwt_accepts(value: str) -> bool:
    try:
        jwt.decode(value, SECRET, algorithms=["HS256"], audience=ACCESS_AUDIENCE)
    except jwt.InvalidTokenError:
        return False
    return True


def code_of(value: str) -> str | None:
    try:
        authenticate(SECRET, value)
    except Unauthenticated as exc:
        return exc.code
    return None


def test_a_valid_token_names_its_caller() -> None:
    who = authenticate(SECRET, token(good()))
    assert (who.username, who.role, who.facility_id, who.regions) == ("h2", Role.FACILITY, "H2", ())
    assert authenticate(SECRET, token(good(aud=["other", ACCESS_AUDIENCE]))).username == "h2"


def _tampered() -> str:
    header, payload, signature = token(good()).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "role": "admin"}).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _unsigned() -> str:
    return jwt.encode(good(), None, algorithm="none")  # type: ignore[arg-type]


REFUSED = {
    "forged key": lambda: token(good(), "x" * 64),
    "tampered payload": _tampered,
    "alg none": _unsigned,
    "HS512": lambda: token(good(), algorithm="HS512"),
    "wrong audience": lambda: token(good(aud="someone-else")),
    "no audience": lambda: token({k: v for k, v in good().items() if k != "aud"}),
    "issued in the future": lambda: token(good(iat=int(time.time()) + 3600)),
    "not yet valid": lambda: token(good(nbf=int(time.time()) + 3600)),
    "text expiry": lambda: token(good(exp="soon")),
    "no expiry": lambda: token({k: v for k, v in good().items() if k != "exp"}),
    "two segments": lambda: token(good()).rsplit(".", 1)[0],
    "garbage": lambda: "not-a-token",
    "not ascii": lambda: token(good()) + "é",
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_invalid_tokens_are_refused(case: str) -> None:
    value = REFUSED[case]()
    assert code_of(value) == "auth.invalid_token"
    if case != "no expiry":  # required of our tokens; PyJWT alone would take one without
        assert not pyjwt_accepts(value)


def test_expired_tokens_are_refused_as_expired() -> None:
    past = int(time.time()) - 1000
    value = token(good(iat=past - 900, exp=past))
    assert code_of(value) == "auth.expired" and not pyjwt_accepts(value)
    assert code_of(token(good(exp=int(time.time())))) == "auth.expired"  # expiry is exclusive, as PyJWT's
