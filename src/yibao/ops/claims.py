"""Claims: a facility's bill settled through the region's scheme and posted to the ledger, in one transaction.

Concurrency: every change to a person-year first locks that person-year's
accumulator row (SELECT ... FOR UPDATE on PostgreSQL; SQLite transactions begin
IMMEDIATE, which serialises writers). So two bills of one person never settle
against the same remaining cap.

Late and corrected claims: a claim whose service date falls before an already
settled claim of the same person-year, a correction, or a reversal re-settles
the whole person-year in canonical order (`yibao.core.scalar.canonical_key`)
from fresh accumulators and posts only the differences as adjustment entries.
What the ledger holds per claim therefore always equals a fresh settlement of
the corrected year.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import Table, and_, bindparam, exists, insert, inspect, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from yibao.core.explain import explain
from yibao.core.model import CareType, Claim
from yibao.core.money import Fen, parse_yuan
from yibao.core.scalar import Settlement, YearAccumulators, canonical_key, settle_claim
from yibao.core.scheme import Scheme
from yibao.ops import account_spending, audit, ledger, one_stop, registry
from yibao.ops.account_spending import Spending
from yibao.ops.audit import Actor
from yibao.ops.driver_sql import run as _run
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.ledger import Account, AccountKind, Line
from yibao.ops.schemas import ClaimIn, CorrectionIn
from yibao.ops.store import AccumulatorRow, ClaimRow, PersonRow, utcnow

T = TypeVar("T")
BillT = TypeVar("BillT", ClaimIn, CorrectionIn)


def scheme_named(name: str) -> Scheme:
    """The scheme a region names, parsed once per process for each version of its files. A built-in scheme is
    package data and never changes while the service runs; a scheme given by path is parsed again as soon as its
    files change (path, size or modification time), so no worker keeps settling by a copy another has replaced."""
    from pathlib import Path

    from yibao.schemes import BUILTIN_DIR, scheme_path

    path = scheme_path(name)
    if not Path(name).is_absolute() and path == BUILTIN_DIR / name:  # a built-in scheme by its name
        return _parsed(name, ())
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return _parsed(name, tuple((str(f), st.st_mtime_ns, st.st_size) for f in files for st in (f.stat(),)))


@lru_cache(maxsize=32)
def _parsed(name: str, version: tuple[tuple[str, int, int], ...]) -> Scheme:
    from yibao.schemes import load_scheme

    return load_scheme(name)


def _insert(session: Session) -> Any:
    """The dialect's INSERT (both have ON CONFLICT DO NOTHING)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def lock_year(session: Session, person_id: str, year: int) -> AccumulatorRow:
    """The person-year's accumulator row (enrolment creates it; made here if missing), locked until the
    transaction ends."""
    query = (
        select(AccumulatorRow)
        .where(AccumulatorRow.person_id == person_id, AccumulatorRow.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = session.execute(query).scalar_one_or_none()
    if found is not None:
        return found
    registry.person(session, person_id)
    values = {"person_id": person_id, "year": year, "data": {"year": year}, "claims": 0}
    session.execute(_insert(session)(AccumulatorRow).values(**values).on_conflict_do_nothing())
    return session.execute(query).scalar_one()


@lru_cache(maxsize=1)
def _lock_insured_query() -> Any:
    return (
        registry.insured_query()
        .add_columns(AccumulatorRow.data, account_spending.shared_with(PersonRow.person_id), one_stop.holds_policy())
        .join(AccumulatorRow, and_(AccumulatorRow.person_id == PersonRow.person_id, AccumulatorRow.year == bindparam("year")))
        .with_for_update(of=AccumulatorRow)
    )


_CLAIMS = cast(Table, ClaimRow.__table__)
_LOGGED = tuple(a.key for a in inspect(ClaimRow).column_attrs if a.key not in audit.NOT_LOGGED)


@dataclass(slots=True)
class SettledClaim:
    """A claim the common path settled and wrote: the claims row's columns as plain values (the row is written
    with one INSERT; building an ORM object for it would cost more than writing it)."""

    claim_id: str
    facility_id: str
    idempotency_key: str
    person_id: str
    service_date: date
    region: str
    facility_level: int
    care_type: str
    class_a: Fen
    class_b: Fen
    self_pay: Fen
    special_drugs: Fen
    diagnosis: str
    status: str
    scheme_name: str
    split: dict[str, Any]
    out_of_pocket: Fen
    explanation: dict[str, Any]
    submitted_at: datetime
    id: int | None = None  # the database's; not read back (an ORM row not yet flushed has none either)

    def snapshot(self) -> dict[str, Any]:
        """What `audit.snapshot` makes of the same claim as an ORM row (same keys, same order)."""
        return audit.plain({key: getattr(self, key) for key in _LOGGED})


AnyClaim = ClaimRow | SettledClaim


@lru_cache(maxsize=2)
def _claim_insert(dialect: str) -> Any:
    """INSERT a claim unless its id or idempotency key exists, returning its id (built once per dialect)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(_CLAIMS).on_conflict_do_nothing().returning(_CLAIMS.c.id)


class _Unit:
    """A claim's transaction: its connection, and an ORM session on that connection, made only when a path needs
    one (a late claim, a repeat, a person-year without accumulators, SQLite): the common claim on PostgreSQL
    is two statements on the connection, and an ORM session costs more CPU than both."""

    def __init__(self, connection: Connection, session: Session | None = None) -> None:
        self.connection = connection
        self._session = session
        self.made: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self.made = Session(bind=self.connection, expire_on_commit=False)
        return self._session

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name


def _lock_insured(unit: _Unit, person_id: str, day: date) -> tuple[dict[str, Any], registry.Insured, bool, bool]:
    """Lock the person-year's accumulators and read them, the insured person, whether a member shares an individual
    account with them and whether they hold a policy in force that day, in one statement."""
    connection = unit.connection
    params = registry.insured_params(person_id, day)
    if connection.dialect.name == "postgresql":
        found: Any = _run(connection, _lock_insured_query(), params)
    else:  # plain rows, none of the ORM's result machinery (the columns are all plain)
        found = connection.execute(_lock_insured_query(), params).first()
    if found is None:  # no accumulator row yet (or no such person): make it, then read as usual
        acc_row = lock_year(unit.session, person_id, day.year)
        return dict(acc_row.data), registry.insured(unit.session, person_id, day), True, True
    return (found[registry.INSURED_COLUMNS], registry.insured_from(found, person_id, day),
            bool(found[registry.INSURED_COLUMNS + 1]), bool(found[registry.INSURED_COLUMNS + 2]))


def _position(service_date: date, claim_id: str) -> list[str]:
    """A claim's place in canonical order within its person-year (kept in the accumulator row as `last`)."""
    return [service_date.isoformat(), claim_id]


def _remember(acc: YearAccumulators, last: list[str] | None) -> dict[str, Any]:
    data = acc.to_dict()
    if last is not None:
        data["last"] = last
    return data


def core_claim(row: AnyClaim) -> Claim:
    return Claim(
        claim_id=row.claim_id, person_id=row.person_id, service_date=row.service_date, region=row.region,
        facility_level=row.facility_level, care_type=CareType(row.care_type), class_a=row.class_a,
        class_b=row.class_b, self_pay=row.self_pay, special_drugs=row.special_drugs, diagnosis=row.diagnosis,
    )


def _bill(data: ClaimIn | CorrectionIn) -> dict[str, Any]:
    return {
        "service_date": data.service_date,
        "facility_level": data.facility_level,
        "care_type": data.care_type.value,
        "class_a": parse_yuan(data.amount_class_a),
        "class_b": parse_yuan(data.amount_class_b),
        "self_pay": parse_yuan(data.amount_self_pay),
        "special_drugs": parse_yuan(data.amount_special_drugs),
        "diagnosis": data.diagnosis,
    }


def _same_request(row: ClaimRow, data: ClaimIn) -> bool:
    wanted = {"claim_id": data.claim_id, "person_id": data.person_id, "region": data.region, **_bill(data)}
    return all(getattr(row, k) == v for k, v in wanted.items())


def _difference(
    scheme: Scheme, row: AnyClaim, insured_region: str, old: dict[str, Fen], new: dict[str, Fen],
    spending: Spending | None = None,
) -> list[Line]:
    """What each layer's fund owes the facility for this claim, as the change from `old` to `new`; an individual
    account layer's change is drawn from (or refunded to) the member's and sharing relatives' accounts."""
    year = row.service_date.year
    lines = []
    for layer_id in sorted(set(old) | set(new)):
        change = new.get(layer_id, 0) - old.get(layer_id, 0)
        account = one_stop.layer_account(scheme, layer_id, insured_region, year)
        if account.kind is AccountKind.INDIVIDUAL_ACCOUNT and change and spending is not None:
            lines += spending.lines(row.claim_id, year, change)
            continue
        lines.append(Line(account, change))
    owed = sum(line.amount for line in lines)
    lines.append(Line(Account(insured_region, year, AccountKind.FACILITY_PAYABLE, row.facility_id), -owed))
    return lines


def _entry_text(row: AnyClaim, kind: str) -> tuple[str, str]:
    """An entry's reference and description for this claim."""
    return f"claim:{row.claim_id}", f"{kind} of claim {row.claim_id}"


def _post_difference(
    session: Session, actor: Actor, scheme: Scheme, row: ClaimRow, insured_region: str,
    old: dict[str, Fen], new: dict[str, Fen], kind: str, spending: Spending | None = None,
) -> None:
    """Post the change of what each layer's fund owes the facility for this claim."""
    lines = _difference(scheme, row, insured_region, old, new, spending)
    ledger.post(session, actor, kind, *_entry_text(row, kind), lines)


def _explanations(settlement: Settlement, scheme: Scheme) -> dict[str, Any]:
    return {lang: explain(settlement, scheme, lang).to_dict() for lang in ("en", "zh")}


def _store(row: AnyClaim, settlement: Settlement, scheme: Scheme) -> None:
    row.split = {layer.layer_id: layer.paid for layer in settlement.layers}
    row.out_of_pocket = settlement.psn_part_amt
    row.explanation = _explanations(settlement, scheme)


def _earlier(session: Session, facility_id: str, data: ClaimIn, idempotency_key: str) -> ClaimRow | None:
    """The claim this submission repeats (same facility and key, same bill); a clash of ids is refused."""
    clashes = session.execute(
        select(ClaimRow).where(
            or_(
                and_(ClaimRow.facility_id == facility_id, ClaimRow.idempotency_key == idempotency_key),
                ClaimRow.claim_id == data.claim_id,
            )
        )
    ).scalars().all()
    for earlier in clashes:
        if earlier.facility_id == facility_id and earlier.idempotency_key == idempotency_key:
            if not _same_request(earlier, data):
                raise Conflict("this idempotency key was used for a different bill", code="claim.idempotency_key_reused")
            return earlier
    if clashes:
        raise Conflict(f"claim {data.claim_id} exists", code="claim.exists")
    return None


def submit(session: Session, actor: Actor, facility_id: str, data: ClaimIn, idempotency_key: str) -> AnyClaim:
    """Settle a facility's bill (or return the claim an earlier submission with this key created)."""
    return _submit(_Unit(session.connection(), session), actor, facility_id, data, idempotency_key)


def settle(
    engine: Engine, actor: Actor, facility_id: str, data: ClaimIn, idempotency_key: str, show: Callable[[AnyClaim], T]
) -> T:
    """`submit` in a transaction of its own on one of the engine's connections, committed on success and rolled
    back on any error; the claim as `show` makes it, while its transaction is open. What the API's claims route
    runs: no ORM session unless the claim needs one (see `_Unit`); the same statements, locks and rows as `submit`."""
    with engine.begin() as connection:  # SQLite: BEGIN IMMEDIATE (make_engine), as for every transaction
        unit = _Unit(connection)
        try:
            shown = show(_submit(unit, actor, facility_id, data, idempotency_key))
            if unit.made is not None:
                unit.made.flush()
        finally:
            if unit.made is not None:
                unit.made.close()
    return shown


def as_registered(data: BillT, level: int, region: str | None = None) -> BillT:
    """The bill with the facility's registered level (and region): the facility's registration decides its rates
    and whether the care is out of area, never what the bill states; a bill that states otherwise is refused."""
    stated_region = getattr(data, "region", None)
    if data.facility_level not in (None, level) or stated_region not in (None, region):
        raise Rejected(
            f"the bill states level {data.facility_level} / region {stated_region!r}; the facility is registered at "
            f"level {level} in {region!r}", code="claim.facility_mismatch",
        )
    changes: dict[str, Any] = {"facility_level": level}
    if region is not None:
        changes["region"] = region
    return data.model_copy(update=changes)


def presettle(engine: Engine, actor: Actor, facility_id: str, data: ClaimIn, show: Callable[[AnyClaim], T]) -> T:
    """Pre-settlement (预结算): what settling the bill now would pay, and its explanation, with nothing stored.
    It runs `settle`'s own path (the same locks, accumulators and arithmetic, a late claim's re-settlement too)
    in a transaction that is always rolled back, so the figures are the ones the confirmed claim gets."""
    with engine.connect() as connection:
        transaction = connection.begin()
        unit = _Unit(connection)
        try:
            row = _submit(unit, actor, facility_id, data, f"presettle:{data.claim_id}")
            shown = show(row)
        finally:
            if unit.made is not None:
                unit.made.close()
            transaction.rollback()
    return shown


def _submit(unit: _Unit, actor: Actor, facility_id: str, data: ClaimIn, idempotency_key: str) -> AnyClaim:
    data = as_registered(data, *registry.registration(unit.connection, facility_id))
    acc_data, who, shared, holds = _lock_insured(unit, data.person_id, data.service_date)
    scheme, person = one_stop.cover(unit.session, scheme_named(who.scheme_name), who.person, data.service_date, holds)
    columns = {
        "claim_id": data.claim_id, "facility_id": facility_id, "idempotency_key": idempotency_key,
        "person_id": data.person_id, "region": data.region, "status": "settled", "scheme_name": scheme.name,
        "split": {}, "out_of_pocket": 0, "explanation": {}, "submitted_at": utcnow(), **_bill(data),
    }
    position = _position(data.service_date, data.claim_id)
    last = acc_data.get("last")
    if last is not None and position < list(last):  # a late claim: earlier than one already settled
        session = unit.session
        earlier = _earlier(session, facility_id, data, idempotency_key)
        if earlier is not None:
            return earlier
        row = ClaimRow(**columns)
        session.add(row)
        session.flush()
        acc_row = lock_year(session, data.person_id, data.service_date.year)  # locked already: the row itself
        _resettle_year(session, actor, scheme, registry.person(session, data.person_id), acc_row)
        acc_row.claims += 1
    else:
        settled = SettledClaim(**columns)
        acc = YearAccumulators.from_dict(acc_data)
        accounts = account_spending.spending(unit.connection, scheme, data.person_id, who.person.region,
                                             needed=shared or who.person.scheme in account_spending.ACCOUNT_SCHEMES)
        person = person if accounts is None else accounts.person(person, account_spending.drawn(scheme, acc))
        settlement = settle_claim(scheme, person, core_claim(settled), acc)
        _store(settled, settlement, scheme)
        # the common case: the claim, its entry, the audit event and the accumulators, written together; the
        # claim's INSERT detects a repeat (the unique claim id / idempotency key) and then nothing is written
        lines = ledger.checked(f"claim:{settled.claim_id}",
                               _difference(scheme, settled, who.person.region, {}, settled.split, accounts))
        writes = _Writes(
            claim={c.key: getattr(settled, c.key) for c in _CLAIMS.c if c.key != "id"},
            entry=ledger.entry_values(actor, "claim", *_entry_text(settled, "claim")),
            lines=lines,
            event=audit.event_values(actor, "claim.settled", "claim", settled.claim_id, None, settled.snapshot()),
            accumulators={"p_person": data.person_id, "p_year": data.service_date.year,
                          "p_data": _remember(settlement.accumulators, position)},
        )
        if not _write(unit, writes):
            earlier = _earlier(unit.session, facility_id, data, idempotency_key)
            if earlier is None:
                raise Conflict(f"claim {data.claim_id} was submitted concurrently; retry", code="claim.exists")
            return earlier
        return settled
    audit.record(session, actor, "claim.settled", "claim", row.claim_id, None, audit.snapshot(row))
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class _Writes:
    """The rows a newly settled claim adds: itself, its ledger entry (if it pays anything), its audit event, and
    the new accumulators of its person-year."""

    claim: dict[str, Any]
    entry: dict[str, Any]
    lines: list[Line]
    event: dict[str, Any]
    accumulators: dict[str, Any]


def _write(unit: _Unit, writes: _Writes) -> bool:
    """Write a settled claim's rows; False (and nothing written) if its id or idempotency key exists.
    PostgreSQL takes them as one statement (one round trip); SQLite, in-process, one statement each."""
    dialect = unit.dialect
    if dialect == "postgresql":
        statement = _pg_write_statement(len(writes.lines))
        params = {**{f"c_{k}": v for k, v in writes.claim.items()}, **{f"e_{k}": v for k, v in writes.entry.items()},
                  **{f"a_{k}": v for k, v in writes.event.items()}, **writes.accumulators}
        for i, posting in enumerate(ledger.posting_values(None, writes.lines)):
            params.update({f"p{i}_{k}": v for k, v in posting.items() if k != "entry_id"})
        return _run(unit.connection, statement, params) is not None
    session = unit.session
    if session.execute(_claim_insert(dialect), writes.claim).first() is None:
        return False
    if writes.lines:
        ledger.write(session, writes.entry, writes.lines)
    session.execute(audit.INSERT, writes.event)
    session.execute(_ACCUMULATOR_UPDATE, writes.accumulators)
    return True


@lru_cache(maxsize=16)
def _pg_write_statement(postings: int) -> Any:
    """WITH c AS (INSERT claim ON CONFLICT DO NOTHING RETURNING id), e AS (INSERT entry SELECT ... FROM c),
    p AS (INSERT postings SELECT ... FROM e), a AS (INSERT audit event SELECT ... FROM c),
    u AS (UPDATE accumulators ... WHERE EXISTS c) SELECT id FROM c -- for `postings` lines (built once each)."""
    entries, posting_table, events = ledger.ENTRIES, ledger.POSTINGS, audit.EVENTS

    def params(table: Table, prefix: str, skip: tuple[str, ...] = ("id",)) -> list[Any]:
        return [bindparam(f"{prefix}{c.key}", type_=c.type) for c in table.c if c.key not in skip]

    def columns(table: Table, skip: tuple[str, ...] = ("id",)) -> list[str]:
        return [c.key for c in table.c if c.key not in skip]

    claim = (
        pg_insert(_CLAIMS).values(dict(zip(columns(_CLAIMS), params(_CLAIMS, "c_"), strict=True)))
        .on_conflict_do_nothing().returning(_CLAIMS.c.id).cte("c")
    )
    ctes: list[Any] = []
    if postings:
        entry = (
            insert(entries).from_select(columns(entries), select(*params(entries, "e_")).select_from(claim))
            .returning(entries.c.id).cte("e")
        )
        rows = [
            select(entry.c.id, *[bindparam(f"p{i}_{k}", type_=posting_table.c[k].type) for k in columns(posting_table, ("id", "entry_id"))])
            for i in range(postings)
        ]
        ctes += [entry, insert(posting_table).from_select(
            ["entry_id", *columns(posting_table, ("id", "entry_id"))], union_all(*rows) if postings > 1 else rows[0],
        ).cte("p")]
    ctes.append(insert(events).from_select(columns(events), select(*params(events, "a_")).select_from(claim)).cte("a"))
    ctes.append(_ACCUMULATOR_UPDATE.where(exists(select(claim.c.id))).cte("u"))
    return select(claim.c.id).add_cte(*ctes)


_ACCUMULATORS = cast(Table, AccumulatorRow.__table__)
_ACCUMULATOR_UPDATE = (
    update(_ACCUMULATORS)
    .where(_ACCUMULATORS.c.person_id == bindparam("p_person"), _ACCUMULATORS.c.year == bindparam("p_year"))
    .values(data=bindparam("p_data", type_=_ACCUMULATORS.c.data.type), claims=_ACCUMULATORS.c.claims + 1)
)


def _resettle_year(session: Session, actor: Actor, scheme: Scheme, who: PersonRow, acc_row: AccumulatorRow) -> None:
    """Settle the person-year again in canonical order; post each claim's change as an adjustment."""
    year = acc_row.year
    rows = session.execute(
        select(ClaimRow).where(
            ClaimRow.person_id == who.person_id,
            ClaimRow.status == "settled",
            ClaimRow.service_date >= date(year, 1, 1),
            ClaimRow.service_date <= date(year, 12, 31),
        )
    ).scalars().all()
    acc = YearAccumulators(year=year)
    last: list[str] | None = None
    # the accounts may give the year what they hold now plus what the year's claims hold of them (module
    # yibao.ops.account_spending); refunds are posted before new draws, so no balance is ever short in between
    accounts = account_spending.spending(session, scheme, who.person_id, who.region)
    held = account_spending.held_by_claims(scheme, [row.split for row in rows])
    changed: list[tuple[ClaimRow, Scheme, dict[str, Fen], dict[str, Fen], dict[str, Any] | None]] = []
    for row in sorted(rows, key=lambda r: canonical_key(core_claim(r))):
        last = _position(row.service_date, row.claim_id)
        day = row.service_date
        # the scheme the claim settles under: with the one-stop products the person holds that day (yibao.ops.one_stop)
        row_scheme, person = one_stop.cover(session, scheme, registry.core_person(session, who, day), day)
        person = person if accounts is None else accounts.person(person, held)
        settlement = settle_claim(row_scheme, person, core_claim(row), acc)
        acc = settlement.accumulators
        old = dict(row.split)
        if old != {layer.layer_id: layer.paid for layer in settlement.layers}:
            changed.append((row, row_scheme, old, {layer.layer_id: layer.paid for layer in settlement.layers},
                            audit.snapshot(row) if old else None))
            _store(row, settlement, row_scheme)
        elif row.out_of_pocket != settlement.psn_part_amt or not row.explanation or _explanations(settlement, row_scheme) != row.explanation:
            # no layer pays differently, yet the bill changed (e.g. more self-pay): out-of-pocket and explanation
            # are stored again with it; nothing is posted, since no fund owes the facility anything more
            _store(row, settlement, row_scheme)
    refunds_first = sorted(changed, key=lambda c: account_spending.held_by_claims(scheme, [c[3]])
                           - account_spending.held_by_claims(scheme, [c[2]]) >= 0)
    for row, row_scheme, old, new, before in refunds_first:
        _post_difference(session, actor, row_scheme, row, who.region, old, new, "adjustment" if old else "claim", accounts)
        if before is not None:
            session.flush()
            audit.record(session, actor, "claim.resettled", "claim", row.claim_id, before, audit.snapshot(row))
    acc_row.data = _remember(acc, last)


def resettle(session: Session, actor: Actor, person_id: str, year: int) -> None:
    """Re-settle a person-year after the person's cover for it changed (the Huiminbao premium was paid: the
    cover is the year's, as the rules core sees it); only the differences are posted."""
    who = registry.person(session, person_id)
    acc_row = lock_year(session, person_id, year)
    if acc_row.claims:
        _resettle_year(session, actor, scheme_named(registry.region(session, who.region).scheme_name), who, acc_row)


def claim(session: Session, claim_id: str) -> ClaimRow:
    row = session.execute(select(ClaimRow).where(ClaimRow.claim_id == claim_id)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no claim {claim_id}", code="claim.not_found")
    return row


def _locked(session: Session, claim_id: str) -> tuple[ClaimRow, PersonRow, AccumulatorRow, Scheme]:
    row = claim(session, claim_id)
    who = registry.person(session, row.person_id)
    acc_row = lock_year(session, who.person_id, row.service_date.year)
    session.refresh(row)
    return row, who, acc_row, scheme_named(row.scheme_name)


def reverse(session: Session, actor: Actor, claim_id: str, reason: str | None = None) -> ClaimRow:
    """Withdraw a settled claim: its payments are reversed and the rest of its year re-settled. A reason, when
    given, is kept in the audit event."""
    row, who, acc_row, scheme = _locked(session, claim_id)
    if row.status != "settled":
        raise Conflict(f"claim {claim_id} is already {row.status}", code="claim.not_settled")
    before = audit.snapshot(row)
    accounts = account_spending.spending(session, scheme, who.person_id, who.region)
    _post_difference(session, actor, scheme, row, who.region, dict(row.split), {}, "reversal", accounts)
    row.status, row.split, row.out_of_pocket = "reversed", {}, 0
    session.flush()
    _resettle_year(session, actor, scheme, who, acc_row)
    session.flush()
    audit.record(session, actor, "claim.reversed", "claim", claim_id, before, _with_reason(audit.snapshot(row), reason))
    return row


def _with_reason(snapshot: dict[str, Any] | None, reason: str | None) -> dict[str, Any] | None:
    return snapshot if reason is None else {**(snapshot or {}), "reason": reason}


def correct(session: Session, actor: Actor, claim_id: str, data: CorrectionIn, reason: str | None = None) -> ClaimRow:
    """Replace a settled claim's bill; the person-year is re-settled and only the differences posted (a reason,
    when given, is kept in the audit event)."""
    row, who, acc_row, scheme = _locked(session, claim_id)
    if row.status != "settled":
        raise Conflict(f"claim {claim_id} is {row.status}", code="claim.not_settled")
    if data.service_date.year != row.service_date.year:
        raise Rejected("a correction cannot move a claim to another year; reverse it and submit anew", code="claim.year_change")
    before = audit.snapshot(row)
    data = as_registered(data, registry.facility(session, row.facility_id).level)
    for key, value in _bill(data).items():
        setattr(row, key, value)
    session.flush()
    _resettle_year(session, actor, scheme, who, acc_row)
    session.flush()
    audit.record(session, actor, "claim.corrected", "claim", claim_id, before, _with_reason(audit.snapshot(row), reason))
    return row
