"""`/`: sign in (user name or identity number + password), the pages of one's role, sign out, change password,
and the language switch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from yibao.core.errors import YibaoError
from yibao.ops import auth, sessions, users
from yibao.web import session
from yibao.web.i18n import LANG_COOKIE, Lang
from yibao.web.messages import message, of_error
from yibao.web.render import ROLE_PAGES, in_store, local_path, redirect, render, secret, store_of, texts_of

NEW_PASSWORD_CODES = ("auth.weak_password", "auth.password_reused")  # errors about the new password, not the current

router = APIRouter()


@router.get("/")
def landing(request: Request, next: str | None = None, why: str = "") -> Response:
    texts = texts_of(request)
    # a session whose refresh token no longer works (revoked, reused, past the working day) says so at sign-in
    ended = why == "ended" or session.session_ended(request)
    notice = message(texts, session.ENDED_CODE) if ended else None
    return render(request, "landing.html", title=texts.gettext("yibao — medical security"),
                  next=local_path(next, ""), errors={}, identifier="", notice=notice)


@router.post("/login")
async def post_login(request: Request) -> Response:
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    identifier, password = str(form.get("identifier", "")), str(form.get("password", ""))
    goal = local_path(str(form.get("next", "")), "")
    texts = texts_of(request)

    address = request.client.host if request.client else None
    try:
        if not identifier.strip() or not password:
            raise YibaoError("empty", code="web.required")
        username: str = await in_store(request, lambda s: auth.username_for(s, identifier))
        # the service's login: throttled per account and client address, as POST /auth/login
        tokens = await run_in_threadpool(sessions.login, store_of(request), secret(request, "token_secret"),
                                         username, password, address)
    except YibaoError as exc:
        field = "identifier" if exc.code == "web.required" and not identifier.strip() else "password"
        return render(request, "landing.html", title=texts.gettext("yibao — medical security"), next=goal,
                      errors={field: of_error(texts, exc)}, identifier=identifier)
    who = auth.authenticate(secret(request, "token_secret"), tokens.access_token)
    pages = [path for path, _ in ROLE_PAGES.get(who.role, ())]
    response = redirect(goal or (pages[0] if len(pages) == 1 else "/"))
    session.sign_in(request, response, tokens)
    return response


@router.post("/logout")
async def post_logout(request: Request) -> Response:
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    await session.end_session(request)  # the refresh token is revoked: a copy of the cookie no longer works
    response = redirect("/")
    session.sign_out(request, response)
    return response


@router.get("/password")
def password_page(request: Request) -> Response:
    who = session.signed_in(request)
    return render(request, "password.html", who=who, title=texts_of(request).gettext("Change password"),
                  errors={}, done=False)


@router.post("/password")
async def post_password(request: Request) -> Response:
    who = session.signed_in(request)
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    texts = texts_of(request)
    current, new, again = (str(form.get(k, "")) for k in ("current", "new", "again"))
    errors: dict[str, Any] = {}
    if new != again:
        errors["again"] = message(texts, "web.password_mismatch")
    if not errors:
        address = request.client.host if request.client else None
        try:  # the service's password rule and throttle, as for POST /me/password
            await run_in_threadpool(users.change_password, store_of(request), who.username, current, new, address)
        except YibaoError as exc:
            errors["new" if exc.code in NEW_PASSWORD_CODES else "current"] = of_error(texts, exc)
    # the change ends every session of the account (other browsers included); this one goes on with new tokens
    tokens = None if errors else await run_in_threadpool(
        sessions.login, store_of(request), secret(request, "token_secret"), who.username, new, address)
    response = render(request, "password.html", who=who,
                      title=texts.gettext("Change password"), errors=errors, done=not errors)
    if tokens is not None:
        session.sign_in(request, response, tokens)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    response = redirect(local_path(next))
    if code in (Lang.ZH.value, Lang.EN.value):
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True,
                            secure=request.url.scheme == "https", path="/")
    return response
