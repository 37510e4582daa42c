"""How fast the people's pages answer on the embedded SQLite store with the demo data: p50 and p95 per page.

    .venv/bin/python bench/pages.py [--persons 200] [--rounds 40]

Prepares the demo store (`yibao demo`'s, not timed) in a temporary folder, serves it with `yibao serve` in a
subprocess on loopback (one worker, the SQLite default), signs each role in over HTTP, then asks each page
`--rounds` times in turn (one client, keep-alive) and prints p50 / p95 of the whole answer (server work plus
loopback) per page, the budget's ratio (p95 / 300 ms), and, measured in the same run, each page's p95 over the
p95 of the API's `GET /me` (authentication and a JSON answer, no store query) — what the page costs beyond the
smallest request the same server answers.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BUDGET_MS = 300.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _sign_in(base: str, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert token is not None
    answer = client.post("/login", data={"csrf": token.group(1), "identifier": user, "password": password})
    assert answer.status_code == 303, answer.text
    return client


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()

    from yibao.ops.migrate import upgrade
    from yibao.ops.store import Store, make_engine
    from yibao.web.demo_store import prepare

    folder = Path(tempfile.mkdtemp(prefix="yibao-pages-bench-"))
    database = folder / "yibao.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    site = prepare(Store(engine), folder, persons=args.persons)
    engine.dispose()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "YIBAO_DATABASE_URL": f"sqlite:///{database}", "YIBAO_DATA_DIR": str(folder),
           "YIBAO_PAYMENT_SANDBOX": "1"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "yibao"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/public/mutual-aid/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.2)
        pages = {
            "member /m/": (site.logins["member"], "/m/"),
            "counter /counter/": ("desk-e2", "/counter/"),
            "bureau search": ("officer-east", "/bureau/?q=" + "张"),
            "bureau person": ("officer-east", f"/bureau/persons/{site.member_person_id}"),
            "bureau ledger": ("officer-east", "/bureau/ledger"),
            "platform /platform/": ("platform", "/platform/"),
            "public board": (None, "/public/mutual-aid/"),
            "landing /": (None, "/"),
            "API GET /me": ("officer-east", "/me"),
        }
        clients: dict[str | None, httpx.Client] = {None: httpx.Client(base_url=base, timeout=30)}
        bearer: dict[str, str] = {}
        for user, _ in pages.values():
            if user is not None and user not in clients:
                clients[user] = _sign_in(base, user, site.password)
                bearer[user] = clients[user].cookies["yibao_session"]
        timings: dict[str, list[float]] = {name: [] for name in pages}
        for round_ in range(args.rounds + 2):
            for name, (user, path) in pages.items():
                headers = {"Authorization": f"Bearer {bearer[user]}"} if path == "/me" and user else {}
                start = time.perf_counter()
                answer = clients[user].get(path, headers=headers)
                elapsed = (time.perf_counter() - start) * 1000
                assert answer.status_code == 200, (name, answer.status_code)
                if round_ >= 2:  # two warm-up rounds: templates compiled, caches filled
                    timings[name].append(elapsed)
        baseline = _percentile(timings["API GET /me"], 0.95)
        print(f"pages on SQLite, demo store of {args.persons} persons, {args.rounds} answers each (ms)")
        print(f"{'page':<22}{'p50':>8}{'p95':>8}{'p95/300ms':>11}{'p95/(GET /me)':>15}")
        worst = 0.0
        for name, values in timings.items():
            p50, p95 = _percentile(values, 0.5), _percentile(values, 0.95)
            if name != "API GET /me":
                worst = max(worst, p95)
            print(f"{name:<22}{p50:>8.1f}{p95:>8.1f}{p95 / BUDGET_MS:>11.2f}{p95 / baseline:>15.1f}")
        print(f"slowest page p95 {worst:.1f} ms: {'within' if worst < BUDGET_MS else 'OVER'} the {BUDGET_MS:.0f} ms budget")
        for client in clients.values():
            client.close()
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
