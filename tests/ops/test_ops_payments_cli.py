"""`yibao payments statements | batch | confirm | year-end` on a SQLite store: the March of
test_ops_hospital_payments, by command."""

from __future__ import annotations

from pathlib import Path

import pytest
from ops_bureau import Bureau
from ops_payments import BANK_ACCOUNT, Clock, march
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.core.errors import YibaoError
from yibao.ops import ledger
from yibao.ops.migrate import upgrade
from yibao.ops.store import Store, make_engine


def test_statement_batch_confirm_and_year_end_by_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'pay.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    bureau = Bureau(Store(engine))
    clock = Clock()
    monkeypatch.setattr(ledger, "utcnow", clock)
    march(bureau, clock)
    engine.dispose()
    runner = CliRunner()
    assert runner.invoke(app, ["payments", "bank-account", "H2", BANK_ACCOUNT, "--database-url", url]).exit_code == 0

    def run(*args: str) -> str:
        result = runner.invoke(app, ["payments", *args, "--database-url", url], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    out = run("statements", "--region", "reference-city", "--month", "2024-03", "--on", "2024-04-01", "--lang", "en")
    assert "H2" in out and "10350.00" in out and "517.50" in out and "9832.50" in out
    assert "2024 basic_pooled_fund 10350.00" in out
    bank = tmp_path / "out" / "batch-2024-03.csv"
    out = run("batch", "--region", "reference-city", "--month", "2024-03", "--out", str(bank), "--on", "2024-04-01")
    assert "PB-reference-city-2024-03-1" in out and "1 笔" in out and "9832.50" in out
    assert bank.read_text(encoding="utf-8").splitlines()[1] == (
        f"PB-reference-city-2024-03-1,1,H2,Hospital 2,{BANK_ACCOUNT},9832.50,CNY,PB-reference-city-2024-03-1/1,"
        "医保基金拨付 2024-03月度结算")
    lines = bank.read_text(encoding="utf-8").splitlines()
    confirmation = tmp_path / "bank-reply.csv"
    confirmation.write_text(f"{lines[0]},status,reason\n{lines[1]},paid,\n", encoding="utf-8")
    assert "已支付 1 笔（9832.50 元）" in run("confirm", str(confirmation))
    assert "0 lines paid (0.00 yuan), 0 failed, 1 already confirmed" in run("confirm", str(confirmation), "--lang", "en")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{lines[0]},status,reason\n{lines[1].replace('9832.50', '9999.00')},paid,\n", encoding="utf-8")
    result = runner.invoke(app, ["payments", "confirm", str(bad), "--database-url", url])
    assert isinstance(result.exception, YibaoError) and result.exception.code == "payments.confirmation_mismatch"
    assert str(result.exception).startswith(f"{bad}, line 2, column 'amount'")
    out = run("year-end", "--region", "reference-city", "--year", "2024", "--keep", "H2=100.00:考核扣减", "--on", "2025-01-02",
              "--lang", "en")
    assert "417.50" in out and "100.00" in out and "考核扣减" in out
    out = run("batch", "--region", "reference-city", "--month", "2024-12", "--out", str(tmp_path / "dec.csv"), "--on", "2025-01-02")
    assert "417.50" in out
    result = runner.invoke(app, ["payments", "year-end", "--region", "reference-city", "--year", "2024", "--keep", "H2=x",
                                 "--database-url", url])
    assert isinstance(result.exception, YibaoError) and result.exception.code == "input.bad_option"
