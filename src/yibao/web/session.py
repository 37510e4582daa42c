"""Who is signed in to the pages, and the CSRF check of every form.

A desk session lasts a working day: `yibao.ops.sessions.login` gives an access token (15 minutes; the same token
the API takes as a bearer token, checked by `authenticate`) and a refresh token (a working day). Each travels in
its own cookie, HttpOnly, SameSite=Lax, scoped to the site, and Secure when the page was served over HTTPS. When a
page request's access token has expired (or its cookie is gone), `keep_signed_in` refreshes it through
`sessions.refresh` before the page runs and sets both cookies again (rotation); a refresh token that is revoked,
used, or expired ends the session: both cookies are cleared and the person signs in again, told why. Forms carry a CSRF token bound to the browser: a random value in its own cookie, repeated in a hidden
field of every form; a POST whose field does not match is refused and changes nothing.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from yibao.core.errors import YibaoError
from yibao.ops import sessions
from yibao.ops.auth import ACCESS_LIFETIME, Principal, Role, authenticate
from yibao.ops.errors import Forbidden, Unauthenticated
from yibao.ops.sessions import Tokens
from yibao.ops.store import utcnow

SESSION_COOKIE = "yibao_session"
REFRESH_COOKIE = "yibao_refresh"
ENDED_CODE = "auth.bad_refresh"  # the catalogue's message when a refresh token no longer works
# what `keep_signed_in` leaves in the request's scope for `current` (the scope is shared with the page's handler)
_FRESH = "yibao.fresh_access"
_ENDED = "yibao.session_ended"
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


def sign_in(request: Request, response: Response, tokens: Tokens) -> None:
    """Both cookies of a session (at login and at each rotation); the refresh cookie lives as long as its token."""
    response.set_cookie(
        SESSION_COOKIE, tokens.access_token, max_age=int(ACCESS_LIFETIME.total_seconds()), httponly=True,
        samesite="lax", secure=_secure(request), path="/",
    )
    response.set_cookie(
        REFRESH_COOKIE, tokens.refresh_token, max_age=_seconds_until(tokens.refresh_expires_at), httponly=True,
        samesite="lax", secure=_secure(request), path="/",
    )


def _seconds_until(moment: datetime) -> int:
    return max(0, int((moment - utcnow()).total_seconds()))


def sign_out(request: Request, response: Response) -> None:
    for name in (SESSION_COOKIE, REFRESH_COOKIE):
        response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=_secure(request))


async def end_session(request: Request) -> None:
    """Revoke the session of this browser's refresh token (logout); no cookie, or an unknown token, changes nothing."""
    token = request.cookies.get(REFRESH_COOKIE)
    if token:
        await run_in_threadpool(sessions.logout, request.app.state.store, token)


def _verifies(request: Request, token: str | None) -> bool:
    if not token:
        return False
    try:
        authenticate(request.app.state.secrets["token_secret"], token)
    except Unauthenticated:
        return False
    return True


async def keep_signed_in(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Before a page runs: an expired (or missing) access token with a refresh cookie is refreshed, and both cookies
    are set again on the answer; a refresh token that no longer works clears both (the page then asks to sign in,
    saying why). Pages only: the API takes bearer tokens and refreshes through POST /auth/refresh."""
    from yibao.web import is_page

    refresh_token = request.cookies.get(REFRESH_COOKIE)
    if not is_page(request.url.path) or not refresh_token or _verifies(request, request.cookies.get(SESSION_COOKIE)):
        return await call_next(request)
    try:
        tokens: Tokens | None = await run_in_threadpool(
            sessions.refresh, request.app.state.store, request.app.state.secrets["token_secret"], refresh_token)
    except Unauthenticated:
        tokens = None
    if tokens is not None:
        request.scope[_FRESH] = tokens.access_token
    else:
        request.scope[_ENDED] = True
    response = await call_next(request)
    if tokens is not None:
        sign_in(request, response, tokens)
    elif not _signed_in_by_page(response):
        sign_out(request, response)
    return response


def _signed_in_by_page(response: Response) -> bool:
    """Whether the page itself signed someone in (a login posted with a dead refresh cookie): keep its cookies."""
    return any(value.startswith(f"{REFRESH_COOKIE}=".encode()) for name, value in response.raw_headers
               if name == b"set-cookie")


def session_ended(request: Request) -> bool:
    """Whether this request's refresh token no longer worked (the sign-in page says so)."""
    return bool(request.scope.get(_ENDED))


def current(request: Request) -> Principal | None:
    """The signed-in caller, or None (no cookie, or one that no longer verifies and could not be refreshed)."""
    token = request.scope.get(_FRESH) or request.cookies.get(SESSION_COOKIE)
    if not token or session_ended(request):
        return None
    try:
        return authenticate(request.app.state.secrets["token_secret"], token)
    except Unauthenticated:
        return None


def signed_in(request: Request, *roles: Role) -> Principal:
    """The caller, who must have one of `roles` (admin always may); else sign in / forbidden."""
    who = current(request)
    if who is None:
        if session_ended(request):
            raise SignInNeeded("the session has ended; sign in again", code=ENDED_CODE)
        raise SignInNeeded("sign in first", code="web.sign_in")
    if roles and who.role not in (*roles, Role.ADMIN):
        raise Forbidden(f"role {who.role.value} may not open this page", code="auth.forbidden")
    return who
