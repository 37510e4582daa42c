"""`/`: sign in (user name or identity number + password), the pages of one's role, sign out, change password,
and the language switch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from yibao.core.errors import YibaoError
from yibao.ops import auth
from yibao.web import session
from yibao.web.i18n import LANG_COOKIE, Lang
from yibao.web.messages import message, of_error
from yibao.web.render import ROLE_PAGES, in_store, local_path, redirect, render, secret, texts_of

router = APIRouter()


@router.get("/")
def landing(request: Request, next: str | None = None) -> Response:
    texts = texts_of(request)
    return render(request, "landing.html", title=texts.gettext("yibao — medical security"),
                  next=local_path(next, ""), errors={}, identifier="")


@router.post("/login")
async def post_login(request: Request) -> Response:
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
    identifier, password = str(form.get("identifier", "")), str(form.get("password", ""))
    goal = local_path(str(form.get("next", "")), "")
    texts = texts_of(request)

    def work(s: Session) -> str:
        return auth.login(s, secret(request, "token_secret"), auth.username_for(s, identifier), password)

    try:
        if not identifier.strip() or not password:
            raise YibaoError("empty", code="web.required")
        token = await in_store(request, work)
    except YibaoError as exc:
        field = "identifier" if exc.code == "web.required" and not identifier.strip() else "password"
        return render(request, "landing.html", title=texts.gettext("yibao — medical security"), next=goal,
                      errors={field: of_error(texts, exc)}, identifier=identifier)
    who = auth.authenticate(secret(request, "token_secret"), token)
    pages = [path for path, _ in ROLE_PAGES.get(who.role, ())]
    response = redirect(goal or (pages[0] if len(pages) == 1 else "/"))
    session.sign_in(request, response, token)
    return response


@router.post("/logout")
async def post_logout(request: Request) -> Response:
    form = await request.form()
    session.check_csrf(request, form.get(session.CSRF_FIELD))
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
    if len(new) < 8:
        errors["new"] = message(texts, "web.password_short")
    elif new != again:
        errors["again"] = message(texts, "web.password_mismatch")
    if not errors:
        try:
            await in_store(request, lambda s: auth.change_password(s, who.actor, who.username, current, new))
        except YibaoError as exc:
            errors["current"] = of_error(texts, exc)
    return render(request, "password.html", who=who,
                  title=texts.gettext("Change password"), errors=errors, done=not errors)


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    response = redirect(local_path(next))
    if code in (Lang.ZH.value, Lang.EN.value):
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True,
                            secure=request.url.scheme == "https", path="/")
    return response
