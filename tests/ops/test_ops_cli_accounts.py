"""`yibao users ...`, store commands without a database (`store.missing`, nothing created), and `yibao serve`
printing the first admin's password only once its port is bound (a busy port creates nothing)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from yibao.cli.main import app
from yibao.core.errors import YibaoError
from yibao.ops.store import Store

YIBAO = str(Path(sys.executable).with_name("yibao"))


def _run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([YIBAO, *args], input=stdin, capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "COLUMNS": "160", "YIBAO_DATABASE_URL": ""})


@pytest.mark.parametrize("command", [
    ["ledger", "trial-balance"], ["users", "list"], ["users", "disable", "x"], ["db", "current"],
    ["mutual-aid", "notices", "--plan", "p"], ["contracts", "post", "--contract", "pinggu-co-insurance", "--region", "r", "--year", "2024"],
])
def test_store_commands_without_a_database_say_so_in_one_line_and_create_nothing(tmp_path: Path, command: list[str]) -> None:
    result = _run(*command, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error (store.missing): ") and lines[0].endswith("; run yibao db upgrade")
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_the_schema_is_refused(tmp_path: Path) -> None:
    (tmp_path / "yibao.sqlite3").write_bytes(b"")
    result = _run("ledger", "trial-balance", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("error (store.missing): ") and "Traceback" not in result.stderr


def test_users_commands(store: Store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    if store.engine.dialect.name == "postgresql":  # the test's schema, as a URL the command can use
        with store.engine.connect() as conn:
            schema = conn.exec_driver_sql("SHOW search_path").scalar_one()
        url += f"?options=-csearch_path%3D{schema}"
    runner = CliRunner()
    env = {"YIBAO_DATABASE_URL": url, "COLUMNS": "160"}
    created = runner.invoke(app, ["users", "create", "desk", "--role", "officer", "--region", "nowhere", "--generate"], env=env)
    assert _code(created) == "region.not_found"
    from yibao.ops import registry
    from yibao.ops.audit import Actor
    from yibao.ops.schemas import RegionIn

    with store.transaction() as s:
        registry.add_region(s, Actor(), RegionIn(code="r1", name="R1", average_wage="100000"))
    created = runner.invoke(app, ["users", "create", "desk", "--role", "officer", "--region", "r1", "--generate"], env=env)
    assert created.exit_code == 0, created.output
    password = re.search(r"password (\S+) \(shown once\)", created.output)
    assert password is not None
    weak = runner.invoke(app, ["users", "create", "weak", "--role", "auditor"], input="12345678\n12345678\n", env=env)
    assert _code(weak) == "auth.weak_password"
    typed = runner.invoke(app, ["users", "create", "aud", "--role", "auditor"], input="lantern-orchid-quartz-9\n" * 2, env=env)
    assert typed.exit_code == 0, typed.output
    listed = runner.invoke(app, ["users", "list"], env=env)
    assert listed.exit_code == 0 and "desk" in listed.output and "r1" in listed.output and "aud" in listed.output
    from yibao.ops import sessions

    secret = "s" * 32
    tokens = sessions.login(store, secret, "aud", "lantern-orchid-quartz-9", None)
    reset = runner.invoke(app, ["users", "reset-password", "aud", "--generate"], env=env)
    assert reset.exit_code == 0, reset.output
    new = re.search(r"password (\S+) \(shown once\)", reset.output)
    assert new is not None
    sessions.login(store, secret, "aud", new.group(1), None)
    with pytest.raises(Exception) as ended:
        sessions.refresh(store, secret, tokens.refresh_token)
    assert getattr(ended.value, "code", "") == "auth.bad_refresh"
    assert runner.invoke(app, ["users", "disable", "aud"], env=env).exit_code == 0
    with pytest.raises(Exception) as refused:
        sessions.login(store, secret, "aud", new.group(1), None)
    assert getattr(refused.value, "code", "") == "auth.disabled"
    assert "disabled" in runner.invoke(app, ["users", "list", "--role", "auditor"], env=env).output
    missing = runner.invoke(app, ["users", "reset-password", "nobody", "--generate"], env=env)
    assert _code(missing) == "user.not_found"


def _code(result: Result) -> str:
    """The code of the YibaoError a command raised (`yibao`'s main prints it as one line; CliRunner keeps it)."""
    assert isinstance(result.exception, YibaoError), result.output
    return result.exception.code


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_on_a_busy_port_creates_nothing_then_prints_the_password_once_bound(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run("serve", "--database-url", url, "--port", str(port))
    assert result.returncode == 2 and result.stderr.startswith("error (serve.port_busy): ")
    assert "password" not in result.stdout and not (tmp_path / "serve.sqlite3").exists()
    port = _free_port()
    server = subprocess.Popen([YIBAO, "serve", "--database-url", url, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 60
        password = None
        while password is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            assert line, f"serve ended: {server.stderr.read() if server.stderr else ''}"
            found = re.search(r"admin user admin password (\S+) \(shown once\)", line)
            if found:
                password = found.group(1)
                with socket.create_connection(("127.0.0.1", port), timeout=5):
                    pass  # the port is listening when the password is printed
        assert password is not None
        for _ in range(100):
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/auth/login", json={"username": "admin", "password": password})
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["refresh_token"]
    finally:
        server.terminate()
        server.wait(30)
