"""Fixtures of the operations service: a PostgreSQL-only store and a small bureau (the store on both databases is
tests/conftest.py's `store`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ops_bureau import Bureau, pg_store

from yibao.ops.store import Store


@pytest.fixture()
def pg_only_store(pg_url: str) -> Iterator[Store]:
    yield from pg_store(pg_url)


@pytest.fixture()
def bureau(store: Store) -> Bureau:
    return Bureau(store)
