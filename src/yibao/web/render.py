"""Templates (Jinja2, autoescaped) rendered in the caller's language, with what every page shares."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from yibao.core.explain import render_text, word
from yibao.ops.auth import Principal, Role
from yibao.ops.store import Store
from yibao.web import session
from yibao.web.i18n import LANG_COOKIE, Lang, Texts, choose
from yibao.web.messages import N_, label

T = TypeVar("T")

# the pages each role opens from the landing page and the header (path, message id)
ROLE_PAGES: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.MEMBER: (("/m/", N_("My insurance")),),
    Role.FACILITY: (("/counter/", N_("Hospital counter")),),
    Role.OFFICER: (("/bureau/", N_("Bureau single window")),),
    Role.AUDITOR: (("/bureau/", N_("Bureau single window")),),
    Role.PLATFORM_OPERATOR: (("/platform/", N_("Mutual-aid platform")),),
    Role.ADMIN: (("/bureau/", N_("Bureau single window")), ("/platform/", N_("Mutual-aid platform"))),
    Role.INSURER: (("/insurer/", N_("Insurer's figures")),),
}
PUBLIC_PAGES = (("/public/mutual-aid/", N_("Mutual-aid notice board")),)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("yibao.web", "templates"), autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True,
    )
    env.globals["explanation_text"] = render_text  # the core's one text layout, as the CLI and the API show it
    return env


def lang_of(request: Request) -> Lang:
    return choose(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def texts_of(request: Request) -> Texts:
    return Texts(lang_of(request))


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def secret(request: Request, name: str) -> str:
    value: str = request.app.state.secrets[name]
    return value


async def in_store(request: Request, work: Callable[[Any], T]) -> T:
    """Run `work(session)` in one store transaction on a worker thread (committed, or rolled back on error)."""

    def run() -> T:
        with store_of(request).transaction() as s:
            return work(s)

    return await run_in_threadpool(run)


def render(request: Request, template: str, *, status: int = 200, who: Principal | None = None,
           **context: Any) -> HTMLResponse:
    """A page. A form shown again with the errors next to its fields answers 200 like any page (the browser logs
    every 4xx document as a console error); the refusal itself is in the page, and nothing was stored."""
    texts = texts_of(request)
    who = who if who is not None else session.current(request)
    pages = ROLE_PAGES.get(who.role, ()) if who is not None else ()
    html = environment().get_template(template).render(
        request=request, lang=texts.lang, t=texts, _=texts.gettext, gettext=texts.gettext, yuan=texts.yuan,
        day=texts.day, moment=texts.moment, label=lambda code: label(texts, code),
        core_word=lambda key: word(key, texts.lang.core), csrf=session.csrf_token(request), csrf_field=session.CSRF_FIELD,
        who=who, role_pages=pages, public_pages=PUBLIC_PAGES, here=request.url.path,
        here_quoted=quote(request.url.path), **context,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    session.set_cookies(request, response)
    return response


def redirect(to: str) -> Response:
    """After a POST: see the result page (303, so a reload does not post again)."""
    return RedirectResponse(to, status_code=303)


def local_path(path: str | None, default: str = "/") -> str:
    """A path on this site only (a `next` given by a link is never an open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path
