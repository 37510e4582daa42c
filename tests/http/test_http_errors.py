"""Every error answer is the catalogue's JSON body, in the request's language; the OpenAPI document says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from yibao.core.errors import CATALOGUE
from yibao.http.app import create_app
from yibao.ops.migrate import upgrade
from yibao.ops.store import Store, make_engine


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    engine = make_engine(f"sqlite:///{tmp_path / 'errors.sqlite3'}")
    upgrade(engine)
    app = create_app(Store(engine))

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("root:x:0:0:root:/root:/bin/bash in /srv/yibao/secret.py line 7")

    yield TestClient(app, raise_server_exceptions=False)
    engine.dispose()


def test_unknown_address_is_json_in_chinese_by_default_and_english_on_request(client: TestClient) -> None:
    zh = client.get("/no/such/thing")
    assert zh.status_code == 404 and zh.headers["content-type"] == "application/json"
    assert zh.json() == {"code": "route.not_found", "message": CATALOGUE["route.not_found"].zh}
    en = client.get("/no/such/thing", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert en.json()["message"] == CATALOGUE["route.not_found"].en
    prefers_zh = client.get("/no/such/thing", headers={"Accept-Language": "en;q=0.3, zh-CN"})
    assert prefers_zh.json()["message"] == CATALOGUE["route.not_found"].zh


def test_405_keeps_its_allow_header(client: TestClient) -> None:
    r = client.delete("/auth/login")
    assert r.status_code == 405 and r.json()["code"] == "method.not_allowed"
    assert r.headers["allow"] == "POST"


def test_unauthenticated_and_invalid_requests(client: TestClient) -> None:
    r = client.get("/me", headers={"Accept-Language": "en"})
    assert r.status_code == 401 and r.json()["code"] == "auth.missing_token" and r.headers["www-authenticate"] == "Bearer"
    r = client.post("/auth/login", json={"username": 5})
    body = r.json()
    assert r.status_code == 422 and body["code"] == "request.invalid" and body["message"] == CATALOGUE["request.invalid"].zh
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "username"), ("body", "password")}


def test_an_unexpected_failure_shows_nothing_of_itself(client: TestClient) -> None:
    r = client.get("/boom")
    assert r.status_code == 500 and r.json() == {"code": "internal.error", "message": CATALOGUE["internal.error"].zh}
    assert "root" not in r.text and "secret" not in r.text and "Traceback" not in r.text


def test_openapi_declares_the_error_body_on_every_operation(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["ErrorBody"]["required"]) == {"code", "message"}
    error = {"$ref": "#/components/schemas/ErrorBody"}
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]
    assert len(operations) > 60
    for path, method, op in operations:
        for status in ("422", "default"):
            assert op["responses"][status]["content"]["application/json"]["schema"] == error, (method, path, status)
    assert "HTTPValidationError" not in str(document)
