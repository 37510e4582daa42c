"""A plan's closure on the pages without a browser: the platform desk offers the final period once a closure is
decided and closes the plan; the public board shows the decision, the offer and the closure statement, in Chinese
and in English."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from yibao.http.app import create_app
from yibao.mutual_aid import closing
from yibao.ops.auth import add_user
from yibao.ops.schemas import UserIn

sys.path.insert(0, str(Path(__file__).parents[1] / "ops"))
from ops_mutual_aid import PILOT, PLATFORM, Pool, migrated_sqlite
from test_ops_mutual_aid_closure import DECISION, OFFER

PASSWORD = "copper-lantern-harbour-41"


def test_platform_closes_a_plan_and_the_board_shows_it(tmp_path: Path) -> None:
    store = next(migrated_sqlite(tmp_path))
    pool = Pool(store, tmp_path)
    for _ in range(3):
        pool.join()
    with store.transaction() as s:
        add_user(s, PLATFORM, UserIn(username="desk", password=PASSWORD, role="platform"))
        closing.decide(s, PLATFORM, PILOT, DECISION, OFFER)
    app = create_app(store)
    app.state.mutual_aid_data = tmp_path / "data"
    with TestClient(app, follow_redirects=False) as client:
        client.cookies.set("yibao_lang", "en")
        board = client.get("/public/mutual-aid/").text
        assert "This plan is closing" in board and "million-medical" in board and DECISION.text_en in board
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
        assert token is not None
        assert client.post("/login", data={"csrf": token.group(1), "identifier": "desk", "password": PASSWORD}).status_code == 303
        desk = client.get("/platform/").text
        assert "Apportion the final period and close the plan" in desk
        bad = client.post(f"/platform/plans/{PILOT}/closure", data={"csrf": token.group(1), "notice_date": "2020-12-07"})
        assert bad.status_code == 200 and 'id="e-closure"' in bad.text  # before the decision: refused, shown
        done = client.post(f"/platform/plans/{PILOT}/closure", data={"csrf": token.group(1), "notice_date": "2021-01-21"})
        assert done.status_code == 303
        assert "closure disclosure is published" in client.get(done.headers["location"]).text
        board = client.get("/public/mutual-aid/").text
        assert "This plan is closed" in board and "The pool ends at zero." in board
        client.cookies.set("yibao_lang", "zh")
        board = client.get("/public/mutual-aid/").text
        assert "本计划已关闭" in board and DECISION.text_zh in board and "互助资金池余额为零" in board
    with store.transaction() as s:
        assert closing.closure_row(s, PILOT).closed_on == dt.datetime.now(dt.UTC).date()
    store.engine.dispose()
