"""Fixtures of the operations service: a migrated store on SQLite and on PostgreSQL, and a small bureau."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ops_bureau import Bureau, pg_store

from yibao.ops.migrate import upgrade
from yibao.ops.store import Store, make_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same tests on both databases (PostgreSQL: a fresh schema per test)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'ops.sqlite3'}")
        upgrade(engine)
        yield Store(engine)
        engine.dispose()
    else:
        yield from pg_store(request.getfixturevalue("pg_url"))


@pytest.fixture()
def pg_only_store(pg_url: str) -> Iterator[Store]:
    yield from pg_store(pg_url)


@pytest.fixture()
def bureau(store: Store) -> Bureau:
    return Bureau(store)
