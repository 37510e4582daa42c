"""The store: SQLAlchemy 2 models, engines and transactions.

SQLite file by default, PostgreSQL by URL (`YIBAO_DATABASE_URL`). The schema is
made by Alembic migrations (`yibao.ops.migrations`), never by `create_all`.
Money columns are integer fen (BigInteger). Journal postings and audit events
are append-only: the migration installs triggers refusing UPDATE and DELETE.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic_core import to_json
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    make_url,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

DEFAULT_SQLITE_FILE = "yibao.sqlite3"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment stored with its time zone and always read back aware, in UTC: SQLite keeps no offset, so its
    values come back naive; without this a moment would be shown with an offset when written and without one
    when read again (an idempotent repeat)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {int: Integer, str: String(200), dict[str, Any]: JSON}


class Setting(Base):
    """Service-wide values created on first run (the token signing secret)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Region(Base):
    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str]
    scheme_name: Mapped[str] = mapped_column(String(200))  # the built-in scheme or file its claims are settled by
    average_wage: Mapped[int] = mapped_column(BigInteger)  # local average yearly wage, fen (UEBMI base band)


class Employer(Base):
    __tablename__ = "employers"
    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str]
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"))


class Household(Base):
    __tablename__ = "households"
    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    address: Mapped[str] = mapped_column(String(400), default="")


class PersonRow(Base):
    __tablename__ = "persons"
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ric: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str]
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"))
    pre_existing: Mapped[bool] = mapped_column(Boolean, default=False)
    annual_income: Mapped[int] = mapped_column(BigInteger, default=0)


class AssistanceStatus(Base):
    """An assistance category (dibao, extreme poor, low income) valid from a date until another (inclusive)."""

    __tablename__ = "assistance_statuses"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class Enrolment(Base):
    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("person_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"))
    year: Mapped[int]
    scheme: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending | active
    huiminbao: Mapped[bool] = mapped_column(Boolean, default=False)  # premium paid for the year
    wage_base: Mapped[int | None] = mapped_column(BigInteger)  # UEBMI contribution base after the 60-300% band
    # the public cover's first and last day, set when the enrolment becomes active (window, waiting period)
    cover_start: Mapped[date | None] = mapped_column(Date)
    cover_end: Mapped[date | None] = mapped_column(Date)
    huiminbao_start: Mapped[date | None] = mapped_column(Date)  # Huiminbao covers from the day after its premium
    consecutive_years: Mapped[int | None] = mapped_column(Integer)  # insured years in a row, this one counted
    cap_raise: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # serious-illness cap raise, fen


class Contribution(Base):
    """A contribution due for an enrolment (or a donation), paid once through a channel."""

    __tablename__ = "contributions"
    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id"), index=True)
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    year: Mapped[int]
    source: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # due | paid
    channel: Mapped[str | None] = mapped_column(String(16))
    payment_reference: Mapped[str | None] = mapped_column(String(128), unique=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Card(Base):
    __tablename__ = "cards"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Facility(Base):
    __tablename__ = "facilities"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str]
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    level: Mapped[int]
    bank_account: Mapped[str | None] = mapped_column(String(64))  # where the funds pay it (hospital payments)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("persons.person_id"))
    facility_id: Mapped[str | None] = mapped_column(ForeignKey("facilities.id"))
    regions: Mapped[str] = mapped_column(String(400), default="")  # comma-separated, bureau officers
    layer: Mapped[str | None] = mapped_column(String(64))  # the layer an insurer underwrites
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # set: may no longer log in


class RefreshToken(Base):
    """A refresh token (`<id>.<secret>`): only the SHA-256 of its secret is kept. Each use rotates it (a new one of
    the same `family`, this one marked used); a used one presented again revokes the whole family."""

    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the family's: login + a working day
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginThrottle(Base):
    """Failed logins of one key (`user:<name>` or `addr:<client address>`) in the window that began at `since`."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int]
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccumulatorRow(Base):
    """A person-year's settlement accumulators; the row claims lock (SELECT ... FOR UPDATE)."""

    __tablename__ = "accumulators"
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    claims: Mapped[int] = mapped_column(default=0)


class ClaimRow(Base):
    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("facility_id", "idempotency_key"),
        Index("ix_claims_person_date", "person_id", "service_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(64), unique=True)
    facility_id: Mapped[str] = mapped_column(ForeignKey("facilities.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"))
    service_date: Mapped[date] = mapped_column(Date)
    region: Mapped[str] = mapped_column(String(64))
    facility_level: Mapped[int]
    care_type: Mapped[str] = mapped_column(String(16))
    class_a: Mapped[int] = mapped_column(BigInteger)
    class_b: Mapped[int] = mapped_column(BigInteger)
    self_pay: Mapped[int] = mapped_column(BigInteger)
    special_drugs: Mapped[int] = mapped_column(BigInteger)
    diagnosis: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16))  # settled | reversed
    scheme_name: Mapped[str] = mapped_column(String(200))
    split: Mapped[dict[str, Any]] = mapped_column(JSON)  # layer id -> fen paid (what the ledger holds)
    out_of_pocket: Mapped[int] = mapped_column(BigInteger)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(128), index=True)
    description: Mapped[str] = mapped_column(String(400))
    actor: Mapped[str] = mapped_column(String(64))


class Posting(Base):
    """One line of an entry: debit positive, credit negative; an entry's postings sum to zero."""

    __tablename__ = "postings"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account: Mapped[str] = mapped_column(String(200), index=True)
    region: Mapped[str] = mapped_column(String(64))
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(128))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


APPEND_ONLY_TABLES = ("journal_entries", "postings", "audit_events")


def database_url(url: str | None = None) -> str:
    """The URL given, else YIBAO_DATABASE_URL, else a SQLite file in the working directory."""
    if url:
        return url
    env = os.environ.get("YIBAO_DATABASE_URL")
    if env:
        return env
    return f"sqlite:///{Path(DEFAULT_SQLITE_FILE).resolve()}"


class ExactSum:
    """SQLite's `exact_sum(x)`: the sum of integers as decimal text, never an "integer overflow" (SQLite's
    `sum` fails beyond 64 bits; PostgreSQL's `sum` of a bigint is a numeric and never does)."""

    def __init__(self) -> None:
        self.total = 0

    def step(self, value: int | None) -> None:
        if value is not None:
            self.total += int(value)

    def finalize(self) -> str:
        return str(self.total)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine; SQLite transactions begin IMMEDIATE so that writers are serialised (our row lock there)."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # let us issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
            dbapi_connection.create_aggregate("exact_sum", 1, ExactSum)

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("json_serializer", json_text)
    return create_engine(url, **kwargs)


def json_text(value: Any) -> bytes:
    """JSON columns' text on PostgreSQL: pydantic-core's serialiser (compact, UTF-8), several times faster than
    the standard library's on the claims' explanations; the same JSON values (psycopg takes the bytes)."""
    return to_json(value)


class Store:
    """An engine and its session factory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        return cls(make_engine(url))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error (nothing half-written)."""
        with self.sessions.begin() as session:
            yield session

    @classmethod
    def existing(cls, url: str | None = None) -> Store:
        """The store at `url` (as `open`), refused with `store.missing` unless it exists and is migrated: a command
        that reads or writes the store never creates an empty SQLite file."""
        from yibao.ops.errors import StoreMissing

        url = database_url(url)
        hint = "; run yibao db upgrade"
        if url.startswith("sqlite"):
            path = make_url(url).database
            if not path or path == ":memory:" or not Path(path).is_file():
                raise StoreMissing(f"no operations database at {path or url}{hint}")
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                migrated = inspect(conn).has_table("alembic_version")
        except OperationalError as exc:
            engine.dispose()
            raise StoreMissing(f"cannot open the operations database {make_url(url).render_as_string()}: "
                               f"{str(exc.orig).strip().splitlines()[0]}{hint}") from None
        if not migrated:
            engine.dispose()
            raise StoreMissing(f"the database {make_url(url).render_as_string()} has no operations schema{hint}")
        return cls(engine)
