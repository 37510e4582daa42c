"""Accounts: strong passwords, changing one's own, throttled logins, rotating refresh tokens, disabled users,
masked identity numbers (issue 15 part B). On SQLite and PostgreSQL (the `store` fixture)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from ops_bureau import make_ric
from sqlalchemy import select, update
from test_ops_api import REGION, Api

from yibao.http.app import create_app
from yibao.ops import registry, sessions, users
from yibao.ops.audit import Actor
from yibao.ops.auth import add_user, first_admin
from yibao.ops.errors import Rejected
from yibao.ops.passwords import check_password
from yibao.ops.privacy import mask_ric
from yibao.ops.schemas import PersonIn, RegionIn, UserIn
from yibao.ops.store import LoginThrottle, RefreshToken, Store, utcnow

STRONG = "desk-harbour-violet-42"


class Desk(Api):
    """Only what the account tests need (set up through the services: quicker than `Api`'s whole bureau): the admin,
    an officer of the region, an auditor, an insurer and a member with their person, each logged in."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.app = create_app(store)
        self.client = TestClient(self.app, raise_server_exceptions=True)
        with store.transaction() as s:
            creds = first_admin(s)
            registry.add_region(s, Actor(), RegionIn(code=REGION, name="Reference city", average_wage="100000"))
            registry.add_person(s, Actor("officer", "officer"), PersonIn(
                person_id="P1", ric=make_ric(date(1980, 5, 1), 3), name="Member 1", region=REGION))
            for name, fields in (("officer", {"role": "officer", "regions": [REGION]}), ("auditor", {"role": "auditor"}),
                                 ("insurer", {"role": "insurer", "layer": "serious_illness"}),
                                 ("member", {"role": "member", "person_id": "P1"})):
                add_user(s, Actor(), UserIn(username=name, password=STRONG, **fields))
        assert creds is not None
        self.persons = {"member": "P1"}
        self.tokens = {"admin": self.login(*creds), **{n: self.login(n, STRONG) for n in ("officer", "auditor", "insurer", "member")}}


@pytest.fixture()
def api(store: Store) -> Api:
    return Desk(store)


def login(api: Api, username: str, password: str) -> object:
    return api.client.post("/auth/login", json={"username": username, "password": password})


@pytest.mark.parametrize("weak", ["12345678", "password123", "aaaaaaaaaaaa", "officer-2024", "short"])
def test_weak_passwords_are_refused_with_a_code(weak: str) -> None:
    with pytest.raises(Rejected) as refused:
        check_password(weak, "officer")
    assert refused.value.code == "auth.weak_password"
    check_password("correct horse battery staple", "officer")  # a passphrase passes


def test_creating_a_user_with_12345678_is_refused_and_writes_nothing(api: Api) -> None:
    r = api.request("admin", "POST", "/users", json={"username": "weak", "password": "12345678", "role": "auditor"})
    assert r.status_code == 422 and r.json()["code"] == "auth.weak_password"
    assert all(u["username"] != "weak" for u in api.call("admin", "GET", "/users", params={"limit": 200})["items"])
    with api.store.transaction() as s, pytest.raises(Rejected):
        add_user(s, Actor(), UserIn(username="weak2", password="12345678", role="auditor"))


def test_change_own_password(api: Api) -> None:
    tokens = login(api, "auditor", STRONG).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    wrong = api.client.post("/me/password", headers=headers, json={"current_password": "nope", "new_password": "x"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "auth.wrong_password"
    weak = api.client.post("/me/password", headers=headers, json={"current_password": STRONG, "new_password": "12345678"})
    assert weak.status_code == 422 and weak.json()["code"] == "auth.weak_password"
    same = api.client.post("/me/password", headers=headers, json={"current_password": STRONG, "new_password": STRONG})
    assert same.status_code == 422 and same.json()["code"] == "auth.password_reused"
    done = api.client.post("/me/password", headers=headers, json={"current_password": STRONG, "new_password": "lantern-orchid-quartz-9"})
    assert done.status_code == 204, done.text
    assert login(api, "auditor", STRONG).status_code == 401
    assert login(api, "auditor", "lantern-orchid-quartz-9").status_code == 200
    # the sessions opened with the old password are over
    r = api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "auth.bad_refresh"
    for _ in range(sessions.ACCOUNT_LIMIT):  # guessing the current password with a stolen token is throttled
        api.client.post("/me/password", headers=headers, json={"current_password": "guess", "new_password": "x"})
    r = api.client.post("/me/password", headers=headers, json={"current_password": "lantern-orchid-quartz-9", "new_password": STRONG})
    assert r.status_code == 429 and r.json()["code"] == "auth.throttled" and r.headers["Retry-After"]
    events = api.call("admin", "GET", "/audit", params={"entity": "user", "entity_id": "auditor"})
    assert "user.password_changed" in {e["action"] for e in events}
    assert all("password" not in str(e["after"]) for e in events)


def test_login_is_throttled_per_account(api: Api) -> None:
    for _ in range(sessions.ACCOUNT_LIMIT):
        assert login(api, "auditor", "wrong password").status_code == 401
    r = login(api, "auditor", STRONG)  # even the right password, until the window ends
    assert r.status_code == 429 and r.json()["code"] == "auth.throttled"
    assert 0 < int(r.headers["Retry-After"]) <= sessions.WINDOW.total_seconds()
    assert login(api, "insurer", STRONG).status_code == 200  # another account from the same address is not
    with api.store.transaction() as s:  # the window has passed
        s.execute(update(LoginThrottle).values(since=utcnow() - sessions.WINDOW - timedelta(seconds=1)))
    assert login(api, "auditor", "wrong again").status_code == 401  # a new window begins, counting 1
    with api.store.transaction() as s:
        row = s.get(LoginThrottle, "user:auditor")
        assert row is not None and row.failures == 1 and sessions._utc(row.since) > utcnow() - timedelta(minutes=1)
        s.add(LoginThrottle(key="addr:192.0.2.7", failures=3, since=utcnow() - timedelta(days=2)))  # long over
    assert login(api, "auditor", STRONG).status_code == 200
    with api.store.transaction() as s:  # a login clears the account's count (not the address's) and ended ones
        assert s.execute(select(LoginThrottle.key)).scalars().all() == ["addr:testclient"]


def test_login_is_throttled_per_client_address(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessions, "ADDRESS_LIMIT", 6)  # fewer password checks; the rule is the same
    for i in range(sessions.ADDRESS_LIMIT):
        assert login(api, f"nobody-{i}", "guess").status_code == 401
    r = login(api, "insurer", STRONG)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    other_worker = TestClient(create_app(api.store))  # another process over the same store counts the same
    r = other_worker.post("/auth/login", json={"username": "insurer", "password": STRONG})
    assert r.status_code == 429 and r.json()["code"] == "auth.throttled"
    with api.store.transaction() as s:
        counts = dict(s.execute(select(LoginThrottle.key, LoginThrottle.failures)).all())
    assert counts["addr:testclient"] == sessions.ADDRESS_LIMIT  # TestClient's peer address


def test_refresh_tokens_rotate_and_a_replay_ends_the_session(api: Api) -> None:
    first = login(api, "auditor", STRONG).json()
    assert first["expires_in"] == 900 and first["refresh_token"].count(".") == 1
    second = api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"] and body["refresh_expires_at"] == first["refresh_expires_at"]
    me = api.client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == "auditor"
    replay = api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["code"] == "auth.bad_refresh"
    # the replay revoked the family: the token handed out by the rotation is dead too
    assert api.client.post("/auth/refresh", json={"refresh_token": body["refresh_token"]}).status_code == 401
    with api.store.transaction() as s:  # only hashes are stored
        stored = s.execute(select(RefreshToken.secret_hash)).scalars().all()
    assert all(first["refresh_token"].split(".")[1] not in h for h in stored) and all(len(h) == 64 for h in stored)


def test_a_session_lasts_a_working_day_and_logout_ends_it(api: Api) -> None:
    tokens = login(api, "auditor", STRONG).json()
    with api.store.transaction() as s:
        row = s.get(RefreshToken, tokens["refresh_token"].split(".")[0])
        assert row is not None
        lifetime = sessions._utc(row.expires_at) - sessions._utc(row.issued_at)
    assert timedelta(hours=8) <= lifetime <= timedelta(hours=13)
    assert api.client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    r = api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401
    assert api.client.post("/auth/logout", json={"refresh_token": "not.a-token"}).status_code == 204
    later = login(api, "auditor", STRONG).json()
    with api.store.transaction() as s:  # the working day is over
        s.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert api.client.post("/auth/refresh", json={"refresh_token": later["refresh_token"]}).status_code == 401
    forged = later["refresh_token"].split(".")[0] + ".forged"
    assert api.client.post("/auth/refresh", json={"refresh_token": forged}).status_code == 401


def test_a_disabled_user_can_neither_log_in_nor_refresh(api: Api) -> None:
    tokens = login(api, "insurer", STRONG).json()
    with api.store.transaction() as s:
        users.disable(s, Actor("admin", "admin"), "insurer")
    r = login(api, "insurer", STRONG)
    assert r.status_code == 403 and r.json()["code"] == "auth.disabled"
    assert login(api, "insurer", "wrong password").json()["code"] == "auth.bad_credentials"  # no oracle without it
    assert api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    listed = api.call("admin", "GET", "/users", params={"role": "insurer"})["items"]
    assert [u["username"] for u in listed] == ["insurer"] and listed[0]["disabled_at"]


def test_identity_numbers_are_masked_except_for_those_who_need_them(api: Api) -> None:
    member = api.persons["member"]
    full = api.call("officer", "GET", f"/persons/{member}")["ric"]
    assert len(full) == 18 and "*" not in full
    assert api.call("member", "GET", f"/persons/{member}")["ric"] == full
    assert api.call("admin", "GET", f"/persons/{member}")["ric"] == full
    masked = api.call("auditor", "GET", f"/persons/{member}")["ric"]
    assert masked == mask_ric(full) == full[:6] + "********" + full[-4:]
    assert api.call("auditor", "GET", "/persons", params={"ric": full})["items"][0]["ric"] == masked
    assert api.call("officer", "GET", "/persons", params={"ric": full})["items"][0]["ric"] == full
    events = api.call("auditor", "GET", "/audit", params={"entity": "person", "entity_id": member})
    assert events and all(e["after"]["ric"] == masked for e in events if e["after"] and "ric" in e["after"])
    assert full not in api.request("auditor", "GET", "/audit", params={"limit": 5000}).text


def test_mask_ric() -> None:
    assert mask_ric("110101199001011234") == "110101********1234"
    assert mask_ric("11010119900101123X") == "110101********123X"
    assert mask_ric("12345") == "*****"


def test_migration_0004_down_and_up_keeps_the_users(store: Store) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from yibao.ops.migrate import alembic_config, current, upgrade

    with store.transaction() as s:
        add_user(s, Actor(), UserIn(username="keeper", password=STRONG, role="auditor"))
    with store.engine.begin() as conn:
        config = alembic_config(store.engine)
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    tables = set(inspect(store.engine).get_table_names())
    assert current(store.engine) == "0003" and not {"refresh_tokens", "login_throttle"} & tables
    assert "disabled_at" not in {c["name"] for c in inspect(store.engine).get_columns("users")}
    upgrade(store.engine, "0004")
    assert current(store.engine) == "0004"
    tokens = sessions.login(store, "k" * 32, "keeper", STRONG, "10.0.0.1")
    assert sessions.refresh(store, "k" * 32, tokens.refresh_token).access_token


def test_odd_values_are_refused_without_a_server_error(api: Api) -> None:
    """NUL bytes (PostgreSQL refuses them in text), overlong or non-hex token ids: a 4xx with a code, never a 5xx."""
    for username in ("ad\x00min", "x" * 5000, "\x1b[31m"):
        r = login(api, username, STRONG)
        assert r.status_code == 401 and r.json()["code"] == "auth.bad_credentials"
    for token in ("\x00" * 32 + ".x", "g" * 32 + ".x", "a" * 32 + ".\x00", "."):
        r = api.client.post("/auth/refresh", json={"refresh_token": token})
        assert r.status_code == 401 and r.json()["code"] == "auth.bad_refresh", token
    for path, params in (("/persons", {"name": "a\x00b"}), ("/persons", {"ric": "\x00"}), ("/claims", {"person_id": "\x00"}),
                         ("/users", {"prefix": "\x00"}), ("/employers", {"uscc": "\x7f"}), ("/facilities", {"name": "\x00"})):
        r = api.request("admin", "GET", path, params=params)
        assert r.status_code == 422 and r.json()["code"] == "request.invalid", (path, params)


def test_an_administrator_resets_a_password_and_disables_a_user_over_http(api: Api) -> None:
    tokens = login(api, "insurer", STRONG).json()
    for role in ("officer", "auditor", "insurer"):
        assert api.request(role, "POST", "/users/insurer/disable").status_code == 403
    r = api.request("admin", "POST", "/users/insurer/password", json={"new_password": "12345678"})
    assert r.status_code == 422 and r.json()["code"] == "auth.weak_password"
    generated = api.call("admin", "POST", "/users/insurer/password", json={})
    assert generated["username"] == "insurer" and len(generated["password"]) >= 16
    assert api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert login(api, "insurer", generated["password"]).status_code == 200
    chosen = api.call("admin", "POST", "/users/insurer/password", json={"new_password": "lantern-orchid-quartz-9"})
    assert chosen["password"] is None and login(api, "insurer", "lantern-orchid-quartz-9").status_code == 200
    assert api.call("admin", "POST", "/users/insurer/disable")["disabled_at"]
    assert login(api, "insurer", "lantern-orchid-quartz-9").json()["code"] == "auth.disabled"
    r = api.request("admin", "POST", "/users/nobody/disable")
    assert r.status_code == 404 and r.json()["code"] == "user.not_found"
    actions = [e["action"] for e in api.call("admin", "GET", "/audit", params={"entity": "user", "entity_id": "insurer"})]
    assert actions.count("user.password_reset") == 2 and "user.disabled" in actions
