"""The password rule: at least 10 characters and a zxcvbn strength score of 3 of 4 or more.

zxcvbn (Dropbox's estimator, pinned) scores a password by the guesses an attacker needs, knowing common passwords,
dictionary words, names, keyboard walks, dates and repeats; "12345678" scores 0. The user name (and any other value
given) counts as known to the attacker. Passwords are never logged or echoed.
"""

from __future__ import annotations

from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # no type information shipped

from yibao.ops.errors import Rejected

MIN_LENGTH = 10
MAX_LENGTH = 128  # zxcvbn's matching grows quickly with length; a passphrase fits in 128 characters
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection from offline slow-hash scenario"


def check_password(password: str, *known: str | None) -> None:
    """Refuse (code `auth.weak_password`) a password that is too short, too long or too easy to guess."""
    if len(password) < MIN_LENGTH:
        raise Rejected(f"the password is too weak: use at least {MIN_LENGTH} characters", code="auth.weak_password")
    if len(password) > MAX_LENGTH:
        raise Rejected(f"the password is too long: at most {MAX_LENGTH} characters", code="auth.weak_password")
    result = zxcvbn(password, user_inputs=[k for k in known if k])
    score = int(result["score"])
    if score < MIN_SCORE:
        feedback = result.get("feedback") or {}
        hints = " ".join(h for h in [feedback.get("warning") or "", *(feedback.get("suggestions") or [])] if h)
        raise Rejected(
            f"the password is too weak (strength {score} of 4, at least {MIN_SCORE} needed)" + (f": {hints}" if hints else ""),
            code="auth.weak_password",
        )
