"""Who is signed in to the pages, and the CSRF check of every form.

The session cookie carries the signed access token `yibao.ops.auth.login` issues (the same token the API takes
as a bearer token, checked by `authenticate`), HttpOnly, SameSite=Lax, and Secure when the page was served over
HTTPS. Forms carry a CSRF token bound to the browser: a random value in its own cookie, repeated in a hidden
field of every form; a POST whose field does not match is refused and changes nothing.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

from yibao.core.errors import YibaoError
from yibao.ops.auth import ACCESS_LIFETIME, Principal, Role, authenticate
from yibao.ops.errors import Forbidden, Unauthenticated

SESSION_COOKIE = "yibao_session"
CSRF_COOKIE = "yibao_csrf"
CSRF_FIELD = "csrf"


class CsrfRefused(YibaoError):
    code = "web.csrf"


class SignInNeeded(YibaoError):
    """No valid session: the page answers with the login form (the next page remembered)."""

    code = "web.sign_in"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_token(request: Request) -> str:
    """This browser's CSRF token (made on its first page; `set_cookies` stores it)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


def set_cookies(request: Request, response: Response) -> None:
    """Store a CSRF token made while rendering this answer."""
    made = getattr(request.state, "new_csrf", None)
    if made:
        response.set_cookie(CSRF_COOKIE, made, httponly=True, samesite="lax", secure=_secure(request), path="/")


def check_csrf(request: Request, submitted: object) -> None:
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not isinstance(submitted, str) or not hmac.compare_digest(expected, submitted):
        raise CsrfRefused("the form's security token is missing or stale; reload the page", code="web.csrf")


def sign_in(request: Request, response: Response, access_token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, access_token, max_age=int(ACCESS_LIFETIME.total_seconds()), httponly=True, samesite="lax",
        secure=_secure(request), path="/",
    )


def sign_out(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))


def current(request: Request) -> Principal | None:
    """The signed-in caller, or None (no cookie, or one that no longer verifies)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return authenticate(request.app.state.secrets["token_secret"], token)
    except Unauthenticated:
        return None


def signed_in(request: Request, *roles: Role) -> Principal:
    """The caller, who must have one of `roles` (admin always may); else sign in / forbidden."""
    who = current(request)
    if who is None:
        raise SignInNeeded("sign in first", code="web.sign_in")
    if roles and who.role not in (*roles, Role.ADMIN):
        raise Forbidden(f"role {who.role.value} may not open this page", code="auth.forbidden")
    return who
