"""Helpers of the operations tests: migrated stores on SQLite and PostgreSQL, and a small bureau."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import text
from stdnum.cn import ric as stdnum_ric

from yibao.core.model import InsuranceScheme
from yibao.ops import contributions, enrolment, registry
from yibao.ops.audit import Actor
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import EnrolmentIn, FacilityIn, PersonIn, RegionIn
from yibao.ops.store import Contribution, Store, make_engine

REGION = "reference-city"
OFFICER = Actor("officer", "officer")


def make_ric(birth: date, seq: int, area: str = "110101") -> str:
    """A valid 18-character resident identity number (seq odd = male)."""
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + stdnum_ric.calc_check_digit(body + "0")


def pg_store(pg_url: str) -> Iterator[Store]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(pg_url, pool_size=1)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    try:
        yield Store(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """A real uvicorn serving `app` on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class Bureau:
    """Shortcuts that set up a region, a facility and enrolled, paid-up persons."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seq = 0
        with store.transaction() as s:
            registry.add_region(s, OFFICER, RegionIn(code=REGION, name="Reference city", average_wage="100000"))
            for level in (1, 2, 3):
                registry.add_facility(s, OFFICER, FacilityIn(id=f"H{level}", name=f"Hospital {level}", region=REGION, level=level))

    def person(
        self,
        scheme: InsuranceScheme = InsuranceScheme.URRBMI,
        year: int = 2024,
        huiminbao: bool = False,
        wage: str | None = None,
        pay: bool = True,
    ) -> str:
        self.seq += 1
        person_id = f"P{self.seq:04d}"
        with self.store.transaction() as s:
            registry.add_person(
                s, OFFICER,
                PersonIn(person_id=person_id, ric=make_ric(date(1970, 1, 1), 2 * self.seq + 1), name=f"Member {self.seq}", region=REGION),
            )
            enrolment.enrol(s, OFFICER, person_id, EnrolmentIn(year=year, scheme=scheme, huiminbao=huiminbao, wage=wage))
        if pay:
            self.pay_all(person_id, date(year - 1, 12, 1))
        return person_id

    def pay_all(self, person_id: str, paid_on: date | None = None) -> None:
        """Pay every contribution due of the person, on `paid_on` (today if None): `person` pays on 1 December of
        the year before, inside the residents' and Huiminbao's windows, so cover runs from 1 January."""
        with self.store.transaction() as s:
            from sqlalchemy import select

            from yibao.ops.store import Enrolment

            due = s.execute(
                select(Contribution).join(Enrolment, Contribution.enrolment_id == Enrolment.id)
                .where(Enrolment.person_id == person_id, Contribution.status == "due")
            ).scalars().all()
            for c in due:
                contributions.record_payment(s, OFFICER, c.id, c.amount, "counter", f"ref-{person_id}-{c.id}", paid_on)

