"""A desk session lasts a working day: the page cookie's access token (15 minutes) is refreshed through the refresh
cookie, which rotates; logout revokes it; a reused, revoked or expired refresh token ends the session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.ops.ops_bureau import OFFICER, Bureau

from yibao.core.errors import CATALOGUE
from yibao.http.app import create_app
from yibao.ops import auth, sessions
from yibao.ops.auth import add_user
from yibao.ops.errors import Unauthenticated
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import UserIn
from yibao.ops.store import Store, User, make_engine, utcnow
from yibao.web.session import REFRESH_COOKIE, SESSION_COOKIE

PASSWORD = "copper-lantern-harbour-41"
ENDED_ZH = CATALOGUE["auth.bad_refresh"].zh


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{tmp_path / 'session.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    Bureau(store)
    with store.transaction() as s:
        add_user(s, OFFICER, UserIn(username="desk", password=PASSWORD, role="facility", facility_id="H2"))
    yield store
    engine.dispose()


def _client(store: Store, base: str = "http://testserver") -> TestClient:
    return TestClient(create_app(store), base_url=base, follow_redirects=False)


def _csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert found is not None
    return found.group(1)


def _sign_in(client: TestClient) -> str:
    token = _csrf(client)
    answer = client.post("/login", data={"csrf": token, "identifier": "desk", "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    return token


def _set_cookies(answer: object) -> dict[str, str]:
    """The cookies an answer sets (name -> the whole Set-Cookie header)."""
    headers = answer.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return {h.split("=", 1)[0]: h for h in headers}


def _expire_access(client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser's access cookie now holds a token that has expired (as 15 minutes after sign-in)."""
    secret = _secret(store)
    with monkeypatch.context() as moved, store.transaction() as s:
        moved.setattr(auth, "ACCESS_LIFETIME", timedelta(seconds=-60))
        user = s.execute(select(User).where(User.username == "desk")).scalar_one()
        _replace_cookie(client, SESSION_COOKIE, auth.access_token(secret, user))


def _replace_cookie(client: TestClient, name: str, value: str) -> None:
    """Set a cookie as the server would (same domain and path), in place of the one the client holds."""
    domain = next((c.domain for c in client.cookies.jar if c.name == name), "testserver.local")
    client.cookies.delete(name)
    client.cookies.set(name, value, domain=domain, path="/")


def _clock(monkeypatch: pytest.MonkeyPatch, moved: timedelta) -> None:
    real = utcnow()
    monkeypatch.setattr(sessions, "utcnow", lambda: real + moved)


def test_the_refresh_token_has_its_own_cookie_httponly_samesite_secure_over_https(store: Store) -> None:
    with _client(store, "https://testserver") as client:
        token = _csrf(client)
        answer = client.post("/login", data={"csrf": token, "identifier": "desk", "password": PASSWORD})
    cookies = _set_cookies(answer)
    refresh = cookies[REFRESH_COOKIE]
    assert "HttpOnly" in refresh and "SameSite=lax" in refresh and "Secure" in refresh and "Path=/" in refresh
    max_age = int(re.search(r"Max-Age=(\d+)", refresh).group(1))  # type: ignore[union-attr]
    assert sessions.REFRESH_LIFETIME - timedelta(minutes=1) < timedelta(seconds=max_age) <= sessions.REFRESH_LIFETIME
    assert "Max-Age=900" in cookies[SESSION_COOKIE]


def test_an_expired_access_token_is_refreshed_and_both_cookies_rotate(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with _client(store) as client:
        _sign_in(client)
        _expire_access(client, store, monkeypatch)
        first_access, first_refresh = client.cookies[SESSION_COOKIE], client.cookies[REFRESH_COOKIE]
        with pytest.raises(Unauthenticated):
            auth.authenticate(_secret(store), first_access)

        page = client.get("/counter/")
        assert page.status_code == 200 and 'name="csrf"' in page.text  # the page itself, no sign-in
        rotated = _set_cookies(page)
        assert SESSION_COOKIE in rotated and REFRESH_COOKIE in rotated
        assert client.cookies[SESSION_COOKIE] != first_access and client.cookies[REFRESH_COOKIE] != first_refresh

        # the new access token works on its own: no further refresh, no further rotation
        again = client.get("/counter/")
        assert again.status_code == 200 and REFRESH_COOKIE not in _set_cookies(again)

        # with the access cookie gone (the browser dropped it after 15 minutes) the refresh cookie still serves
        second_refresh = client.cookies[REFRESH_COOKIE]
        client.cookies.delete(SESSION_COOKIE)
        later = client.get("/counter/")
        assert later.status_code == 200 and client.cookies[REFRESH_COOKIE] != second_refresh


def test_a_reused_refresh_token_ends_the_session(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with _client(store) as client:
        _sign_in(client)
        _expire_access(client, store, monkeypatch)
        stolen = client.cookies[REFRESH_COOKIE]
        assert client.get("/counter/").status_code == 200  # rotated: `stolen` is used up
        rotated = client.cookies[REFRESH_COOKIE]

    with _client(store) as thief:
        _replace_cookie(thief, REFRESH_COOKIE, stolen)
        answer = thief.get("/counter/")
        assert answer.status_code == 303 and answer.headers["location"] == "/?next=/counter/&why=ended"
        cleared = _set_cookies(answer)
        assert 'Max-Age=0' in cleared[REFRESH_COOKIE] and 'Max-Age=0' in cleared[SESSION_COOKIE]
        assert ENDED_ZH in thief.get(answer.headers["location"]).text  # the catalogue's message at sign-in

    # the whole family is revoked: the rightful holder's rotated token ends too
    with pytest.raises(Unauthenticated):
        sessions.refresh(store, _secret(store), rotated)


def test_after_logout_the_old_refresh_cookie_no_longer_works(store: Store) -> None:
    with _client(store) as client:
        token = _sign_in(client)
        kept = client.cookies[REFRESH_COOKIE]
        answer = client.post("/logout", data={"csrf": token})
        assert answer.status_code == 303
        cleared = _set_cookies(answer)
        assert 'Max-Age=0' in cleared[REFRESH_COOKIE] and 'Max-Age=0' in cleared[SESSION_COOKIE]
    with _client(store) as copy:
        _replace_cookie(copy, REFRESH_COOKIE, kept)
        answer = copy.get("/counter/")
        assert answer.status_code == 303 and answer.headers["location"].endswith("why=ended")
    with pytest.raises(Unauthenticated):
        sessions.refresh(store, _secret(store), kept)


def test_past_the_working_day_the_session_ends_with_the_catalogue_message(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with _client(store) as client:
        _sign_in(client)
        _expire_access(client, store, monkeypatch)
        _clock(monkeypatch, sessions.REFRESH_LIFETIME + timedelta(minutes=1))
        client.cookies.set("yibao_lang", "en")
        landing = client.get("/")  # the sign-in page itself says why, and clears the dead cookies
        assert CATALOGUE["auth.bad_refresh"].en in landing.text and 'action="/login"' in landing.text
        assert REFRESH_COOKIE not in client.cookies


def test_a_changed_password_ends_other_sessions_but_not_this_one(store: Store) -> None:
    new = "violet-meadow-ferry-73"
    with _client(store) as other:
        _sign_in(other)
        other_refresh = other.cookies[REFRESH_COOKIE]
    with _client(store) as client:
        token = _sign_in(client)
        done = client.post("/password", data={"csrf": token, "current": PASSWORD, "new": new, "again": new})
        assert done.status_code == 200 and REFRESH_COOKIE in _set_cookies(done)
        sessions.refresh(store, _secret(store), client.cookies[REFRESH_COOKIE])  # this browser's session goes on
    with pytest.raises(Unauthenticated):
        sessions.refresh(store, _secret(store), other_refresh)


def _secret(store: Store) -> str:
    with store.transaction() as s:
        return auth.ensure_secrets(s)["token_secret"]

