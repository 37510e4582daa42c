"""Hot-path statements on the driver's own cursor (PostgreSQL, psycopg): compiled by SQLAlchemy once per dialect,
prepared by the server. The claims path (yibao.ops.claims) runs its two statements per claim this way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection, Dialect


@dataclass(frozen=True, slots=True)
class _DriverStatement:
    """A statement compiled once for a dialect: its SQL, the values of its fixed parameters, and the bind
    processors of its typed ones (e.g. JSON), exactly as SQLAlchemy would apply them."""

    sql: str
    fixed: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out = {**self.fixed, **values}
        for name, process in self.processors.items():
            out[name] = process(out[name])
        return out


@lru_cache(maxsize=32)
def _driver_statement(statement: Any, dialect: Dialect) -> _DriverStatement:
    compiled = statement.compile(dialect=dialect)
    processors = {}
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
    return _DriverStatement(compiled.string, fixed, processors)


def run(connection: Connection, statement: Any, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Execute a hot-path statement in the connection's transaction on the driver's own cursor (PostgreSQL,
    psycopg; the statement is compiled by SQLAlchemy once and prepared by the server); its first row.
    SQLAlchemy's per-execution machinery (parameter processing, result wrapping) costs more than the
    round trip on this path; the SQL, the transaction and the locks are the same."""
    compiled = _driver_statement(statement, connection.dialect)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        row: tuple[Any, ...] | None = cursor.execute(compiled.sql, compiled.parameters(values), prepare=True).fetchone()
    finally:
        cursor.close()
    return row
