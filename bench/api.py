"""Claims settled per second over HTTP on loopback against PostgreSQL, and the ratio to a plain-SQL floor.

    .venv/bin/python bench/api.py [--claims 4000] [--clients 8] [--persons 800] [--workers 2]

Runs `yibao serve --workers 2` in a subprocess on a fresh PostgreSQL schema (YIBAO_DATABASE_URL or the
local server), registers and enrols persons directly (not timed), then 8 client threads POST
claims (each its own Idempotency-Key) over keep-alive HTTP (a minimal HTTP/1.1 client: the clients
share the 2 cores with the service). Two server workers by default: what a deployment on two cores
runs (`--workers 1` for one process). The floor: the very rows those
claims wrote (claim, journal entries, postings, audit event, accumulator update) inserted into a
second fresh schema with plain SQL, one transaction per claim, by the same number of threads.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REGION = "reference-city"


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def in_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def make_schema(url: str) -> str:
    from yibao.ops.migrate import upgrade
    from yibao.ops.store import make_engine

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain(url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    engine = make_engine(in_schema(url, schema))
    upgrade(engine)
    engine.dispose()
    return schema


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(plain(url), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def ric(seq: int) -> str:
    from stdnum.cn import ric as stdnum_ric

    body = f"110101{date(1960, 1, 1) + timedelta(days=seq):%Y%m%d}{seq % 1000:03d}"
    return body + stdnum_ric.calc_check_digit(body + "0")


def populate(url: str, persons: int) -> list[str]:
    """A region, a facility user and `persons` enrolled, paid-up members (written directly, not timed)."""
    from yibao.core.model import InsuranceScheme
    from yibao.ops import auth, contributions, enrolment, registry
    from yibao.ops.audit import Actor
    from yibao.ops.schemas import EnrolmentIn, FacilityIn, PersonIn, RegionIn, UserIn
    from yibao.ops.store import Contribution, Store

    actor = Actor("bench", "admin")
    store = Store.open(url)
    with store.transaction() as s:
        registry.add_region(s, actor, RegionIn(code=REGION, name="Reference city", average_wage="100000"))
        registry.add_facility(s, actor, FacilityIn(id="H2", name="District hospital", region=REGION, level=2))
        auth.add_user(s, actor, UserIn(username="facility", password="bench-password", role="facility", facility_id="H2"))
        auth.add_user(s, actor, UserIn(username="admin", password="bench-password", role="admin"))
    ids = []
    schemes = list(InsuranceScheme)
    with store.transaction() as s:
        for i in range(persons):
            pid = f"P{i:06d}"
            registry.add_person(s, actor, PersonIn(person_id=pid, ric=ric(i), name=f"Member {i}", region=REGION))
            scheme = schemes[i % 3]
            wage = "90000" if scheme is InsuranceScheme.UEBMI_EMPLOYEE else None
            enrolled = enrolment.enrol(s, actor, pid, EnrolmentIn(year=2024, scheme=scheme, huiminbao=i % 4 == 0, wage=wage))
            s.flush()
            for due in s.query(Contribution).filter(Contribution.enrolment_id == enrolled.id).all():
                contributions.record_payment(s, actor, due.id, due.amount, "bank", f"pay-{due.id}")
            ids.append(pid)
    store.engine.dispose()
    return ids


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[str]:
    yibao = os.path.join(os.path.dirname(sys.executable), "yibao")
    proc = subprocess.Popen(
        [yibao, "serve", "--database-url", url, "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"server did not start: {proc.stdout.read() if proc.stdout else ''}")


def bill(n: int, person_id: str, claims: int) -> dict[str, Any]:
    day = date(2024, 1, 1) + timedelta(days=n * 365 // claims)
    inpatient = n % 5 == 0
    return {
        "claim_id": f"B{n:07d}", "person_id": person_id, "service_date": day.isoformat(), "region": REGION,
        "facility_level": 2, "care_type": "inpatient" if inpatient else "outpatient",
        "amount_class_a": f"{(n * 7919) % 30000 + 50}.{n % 100:02d}" if inpatient else f"{n % 300 + 20}.50",
        "amount_class_b": f"{(n * 104729) % 8000}.00" if inpatient else "0",
        "amount_self_pay": f"{n % 900}.00",
    }


def timed(work: Callable[[int], None], threads: int, barrier: threading.Barrier) -> float:
    """Seconds from the moment all `threads` running `work(k)` are ready (they wait on `barrier`) until all end."""
    running = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in running:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in running:
        t.join()
    return time.perf_counter() - start


class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads the answer by its Content-Length: a real
    request and response on the wire, without `http.client`'s cost (its header parsing through the `email`
    package costs about as much CPU as a third of the service's own HTTP handling). The bench's clients share
    the machine with the service, so their CPU is the service's loss."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host.encode()
        self.sock = socket.create_connection((host, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host.decode()}\r\n{lines}Content-Length: {len(body)}\r\n\r\n"
        self.sock.sendall(head.encode() + body)
        status = int(self.reader.readline().split(b" ", 2)[1])
        length = None
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise SystemExit(f"answer without Content-Length (status {status})")
        return status, self.reader.read(length)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def run_clients(base: str, token: str, persons: list[str], first: int, claims: int, clients: int, total: int) -> float:
    """POST claims number first..first+claims-1 (of `total`, dated in that order) from `clients` threads; seconds.
    Each client is one keep-alive connection; each claim its own JSON body and Idempotency-Key."""
    failures: list[str] = []
    barrier = threading.Barrier(clients + 1)
    host, port = base.removeprefix("http://").split(":")

    def client(k: int) -> None:
        conn = Connection(host, int(port))
        barrier.wait()
        for n in range(first + k, first + claims, clients):
            body = bill(n, persons[n % len(persons)], total)
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": body["claim_id"], "Content-Type": "application/json"}
            status, text = conn.post("/claims", headers, json.dumps(body).encode())
            if status != 201:
                failures.append(f"{status} {text[:200]!r}")
        conn.close()

    elapsed = timed(client, clients, barrier)
    if failures:
        raise SystemExit(f"{len(failures)} claims failed, first: {failures[0]}")
    return elapsed


def written_rows(url: str, schema: str) -> list[dict[str, Any]]:
    """Per claim, every row the service wrote for it."""
    with psycopg.connect(plain(url)) as conn:
        conn.execute(f"SET search_path TO {schema}")
        cols = [d for d in conn.execute("SELECT * FROM claims LIMIT 0").description or []]
        claim_cols = [c.name for c in cols if c.name != "id"]
        claims = conn.execute(f"SELECT {', '.join(claim_cols)} FROM claims ORDER BY id").fetchall()
        entries: dict[str, list[tuple[Any, ...]]] = {}
        postings: dict[str, list[tuple[Any, ...]]] = {}
        for entry_id, posted_at, kind, reference, description, actor in conn.execute(
            "SELECT id, posted_at, kind, reference, description, actor FROM journal_entries WHERE reference LIKE 'claim:%'"
        ):
            entries.setdefault(reference, []).append((entry_id, posted_at, kind, reference, description, actor))
        for entry_id, account, region, year, kind, amount, reference in conn.execute(
            "SELECT p.entry_id, p.account, p.region, p.year, p.kind, p.amount, e.reference FROM postings p "
            "JOIN journal_entries e ON e.id = p.entry_id WHERE e.reference LIKE 'claim:%'"
        ):
            postings.setdefault(reference, []).append((entry_id, account, region, year, kind, amount))
        audits = {
            row[3]: row for row in conn.execute(
                "SELECT at, actor, action, entity_id, before, after FROM audit_events WHERE entity = 'claim'"
            )
        }
    out = []
    for claim in claims:
        record = dict(zip(claim_cols, claim, strict=True))
        ref = f"claim:{record['claim_id']}"
        out.append({"claim": record, "entries": entries.get(ref, []), "postings": postings.get(ref, []),
                    "audit": audits[record["claim_id"]]})
    return out


def floor(url: str, schema: str, source: str, rows: list[dict[str, Any]], clients: int) -> float:
    """The same rows inserted with plain SQL, one transaction per claim, by `clients` threads."""
    with psycopg.connect(plain(url), autocommit=True) as conn:
        for table in ("regions", "facilities", "persons", "enrolments", "accumulators"):
            conn.execute(f"INSERT INTO {schema}.{table} SELECT * FROM {source}.{table}")
    barrier = threading.Barrier(clients + 1)

    def worker(k: int) -> None:
        with psycopg.connect(plain(url)) as conn:
            conn.execute(f"SET search_path TO {schema}")
            conn.commit()
            barrier.wait()
            for item in rows[k::clients]:
                claim = dict(item["claim"])
                claim["split"], claim["explanation"] = Jsonb(claim["split"]), Jsonb(claim["explanation"])
                with conn.transaction():
                    conn.execute(
                        "SELECT data FROM accumulators WHERE person_id = %s AND year = 2024 FOR UPDATE",
                        (claim["person_id"],),
                    )
                    conn.execute(
                        f"INSERT INTO claims ({', '.join(claim)}) VALUES ({', '.join(['%s'] * len(claim))})",
                        list(claim.values()),
                    )
                    ids = {}
                    for entry_id, posted_at, kind, reference, description, actor in item["entries"]:
                        ids[entry_id] = conn.execute(
                            "INSERT INTO journal_entries (posted_at, kind, reference, description, actor) "
                            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                            (posted_at, kind, reference, description, actor),
                        ).fetchone()[0]  # type: ignore[index]
                    for entry_id, account, region, year, kind, amount in item["postings"]:
                        conn.execute(
                            "INSERT INTO postings (entry_id, account, region, year, kind, amount) VALUES (%s, %s, %s, %s, %s, %s)",
                            (ids[entry_id], account, region, year, kind, amount),
                        )
                    at, actor, action, entity_id, before, after = item["audit"]
                    conn.execute(
                        "INSERT INTO audit_events (at, actor, action, entity, entity_id, before, after) "
                        "VALUES (%s, %s, %s, 'claim', %s, %s, %s)",
                        (at, actor, action, entity_id, Jsonb(before), Jsonb(after)),
                    )
                    conn.execute(
                        "UPDATE accumulators SET claims = claims + 1 WHERE person_id = %s AND year = 2024",
                        (claim["person_id"],),
                    )

    return timed(worker, clients, barrier)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--persons", type=int, default=800)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    args = parser.parse_args()
    url = os.environ.get("YIBAO_DATABASE_URL", DEFAULT_PG)
    if not url.startswith("postgresql"):
        raise SystemExit("bench/api.py measures PostgreSQL: set YIBAO_DATABASE_URL=postgresql+psycopg://...")
    service_schema, floor_schema = make_schema(url), make_schema(url)
    server = None
    try:
        print(f"populating {args.persons} enrolled persons ...", flush=True)
        persons = populate(in_schema(url, service_schema), args.persons)
        server = start_server(in_schema(url, service_schema), args.port, args.workers)
        base = f"http://127.0.0.1:{args.port}"
        token = httpx.post(f"{base}/auth/login", json={"username": "facility", "password": "bench-password"}).json()["access_token"]
        warm = 50
        total = warm + args.claims  # one sequence of service dates: the timed claims come after the warm-up's
        run_clients(base, token, persons, 0, warm, 2, total)  # warm-up (connections, scheme cache), not timed
        seconds = run_clients(base, token, persons, warm, args.claims, args.clients, total)
        rate = args.claims / seconds
        tb = httpx.get(f"{base}/ledger/trial-balance", headers={"Authorization": f"Bearer {_admin_token(base)}"}).json()
        rows = written_rows(url, service_schema)
        floor_seconds = floor(url, floor_schema, service_schema, rows[warm:], args.clients)
        print(f"claims settled over HTTP : {args.claims} by {args.clients} clients in {seconds:.2f} s = {rate:.0f} claims/s")
        print(f"plain-SQL floor          : same rows, one transaction per claim, {floor_seconds:.2f} s = {args.claims / floor_seconds:.0f} claims/s")
        print(f"ratio service / floor    : {seconds / floor_seconds:.2f}x")
        print(f"ledger balanced          : {tb['balanced']} (debits {tb['total_debit']} = credits {tb['total_credit']} yuan)")
        print(f"target 300 claims/s      : {'met' if rate >= 300 else 'NOT met'}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        drop_schema(url, service_schema)
        drop_schema(url, floor_schema)


def _admin_token(base: str) -> str:
    return str(httpx.post(f"{base}/auth/login", json={"username": "admin", "password": "bench-password"}).json()["access_token"])


if __name__ == "__main__":
    sys.exit(main())

