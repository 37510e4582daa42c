"""`/bureau/payments/` without a browser: an officer makes March's statements and a batch, downloads the bank
file, uploads a bad confirmation (refused naming line and column, nothing posted) then the good one, decides the
deposit at year end; another region's officer sees nothing of it; the counter shows owed / withheld / paid per
month. In both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.ops.ops_bureau import OFFICER, Bureau
from tests.ops.ops_payments import BANK_ACCOUNT, Clock, march, with_bank_account

from yibao.core.errors import CATALOGUE
from yibao.http.app import create_app
from yibao.ops import ledger, registry
from yibao.ops.auth import add_user
from yibao.ops.ledger import Account, AccountKind
from yibao.ops.migrate import upgrade
from yibao.ops.schemas import RegionIn, UserIn
from yibao.ops.store import Store, make_engine
from yibao.web.i18n import Lang, Texts

PASSWORD = "copper-lantern-harbour-41"


def _client(store: Store) -> TestClient:
    return TestClient(create_app(store), follow_redirects=False)


def _sign_in(client: TestClient, who: str, lang: str = "zh") -> str:
    client.cookies.set("yibao_lang", lang)
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert found is not None
    answer = client.post("/login", data={"csrf": found.group(1), "identifier": who, "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    return found.group(1)


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'pages.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    bureau = Bureau(store)
    with_bank_account(bureau)
    clock = Clock()
    monkeypatch.setattr(ledger, "utcnow", clock)
    march(bureau, clock)
    monkeypatch.undo()
    with store.transaction() as s:
        registry.add_region(s, OFFICER, RegionIn(code="elsewhere", name="Elsewhere", average_wage="90000"))
        add_user(s, OFFICER, UserIn(username="o-ref", password=PASSWORD, role="officer", regions=["reference-city"]))
        add_user(s, OFFICER, UserIn(username="o-else", password=PASSWORD, role="officer", regions=["elsewhere"]))
        add_user(s, OFFICER, UserIn(username="desk-h2", password=PASSWORD, role="facility", facility_id="H2"))
    return store


def _payable(store: Store) -> int:
    with store.transaction() as s:
        return ledger.balance(s, Account("reference-city", 2024, AccountKind.FACILITY_PAYABLE, "H2"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_statements_batch_confirmation_and_year_end_on_the_page(store: Store, lang: str) -> None:
    zh = lang == "zh"
    with _client(store) as client:
        token = _sign_in(client, "o-ref", lang)
        page = client.get("/bureau/payments/").text
        assert ("医疗机构结算拨付" if zh else "Paying hospitals") in page
        bad = client.post("/bureau/payments/statements", data={"csrf": token, "region": "reference-city", "month": "2024-3"})
        assert re.search(r'id="e-month"[^>]*>' + re.escape(CATALOGUE["payments.bad_month"].message(lang)) + "<", bad.text)
        made = client.post("/bureau/payments/batches", data={"csrf": token, "region": "reference-city", "month": "2024-03"})
        assert made.headers["location"] == "/bureau/payments/?region=reference-city&done=batch"
        page = client.get(made.headers["location"]).text
        row = page.split('data-statement="2024-03/H2"')[1].split("</tr>")[0]
        texts = Texts(Lang.ZH if zh else Lang.EN)
        assert texts.yuan(1_035_000) in row and texts.yuan(51_750) in row and texts.yuan(983_250) in row
        batch_id = "PB-reference-city-2024-03-1"
        text = client.get(f"/bureau/payments/batches/{batch_id}/file").text
        assert text.splitlines()[1].startswith(f"{batch_id},1,H2,Hospital 2,{BANK_ACCOUNT},9832.50,CNY,")
        header, line = text.splitlines()
        reply = f"{header},status,reason\n{line},paid,\n"
        wrong = client.post("/bureau/payments/confirmations", data={"csrf": token, "region": "reference-city"},
                            files={"confirmation": ("reply.csv", reply.replace("9832.50", "9832.00"), "text/csv")})
        shown = re.search(r'id="e-confirmation"[^>]*>([^<]*)<', wrong.text)
        assert shown is not None and CATALOGUE["payments.confirmation_mismatch"].message(lang) in shown.group(1)
        assert ("第 2 行" in shown.group(1) and "amount" in shown.group(1)) if zh else "(line 2, column amount)" in shown.group(1)
        assert _payable(store) == -983_250  # nothing posted
        done = client.post("/bureau/payments/confirmations", data={"csrf": token, "region": "reference-city"},
                           files={"confirmation": ("reply.csv", reply.encode("utf-8"), "text/csv")})
        assert 'id="confirmation-result"' in done.text and ("已支付 1 笔" if zh else "1 lines paid") in done.text
        assert _payable(store) == 0
        kept = client.post("/bureau/payments/year-end", data={
            "csrf": token, "region": "reference-city", "year": "2024", "keep_facility": "H2", "keep_amount": "600",
            "keep_reason": "考核扣减"})
        assert 'id="e-keep_amount"' in kept.text  # more than the 517.50 held
        released = client.post("/bureau/payments/year-end", data={
            "csrf": token, "region": "reference-city", "year": "2024", "keep_facility": "H2", "keep_amount": "100",
            "keep_reason": "考核扣减"})
        assert released.status_code == 303
    assert _payable(store) == -41_750  # 517.50 − 100 released, to be paid
    with _client(store) as client:
        token = _sign_in(client, "o-else", lang)
        page = client.get("/bureau/payments/?region=reference-city").text
        assert "data-statement=" not in page and "data-line=" not in page
        assert client.get(f"/bureau/payments/batches/{batch_id}/file").status_code == 404
        refused = client.post("/bureau/payments/confirmations", data={"csrf": token, "region": "elsewhere"},
                              files={"confirmation": ("reply.csv", reply, "text/csv")})
        assert CATALOGUE["payments.unknown_batch"].message(lang) in refused.text
    with _client(store) as client:
        _sign_in(client, "desk-h2", lang)
        counter = client.get("/counter/").text
        row = counter.split('data-month="2024-03"')[1].split("</tr>")[0]
        cells = re.findall(r'<td class="num">([^<]*)</td>', row)
        texts = Texts(Lang.ZH if zh else Lang.EN)
        assert cells == [texts.yuan(fen) for fen in (1_035_000, 51_750, 983_250, 0)]
        assert client.get("/bureau/payments/").status_code in (303, 403)
