"""The operations CLI: `yibao db upgrade`, `yibao db current`, `yibao ledger trial-balance`."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from ops_bureau import Bureau
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.ops.store import Store, make_engine


def _single_head(url: str) -> str:
    """The one head of the migrations (two heads would mean two unchained revisions)."""

    from yibao.ops.migrate import alembic_config

    engine = make_engine(url)
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    engine.dispose()
    assert len(heads) == 1, heads
    return heads[0]


def test_db_upgrade_then_trial_balance(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    runner = CliRunner()
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    head = _single_head(url)
    assert f"at revision {head}" in result.output
    assert runner.invoke(app, ["db", "current", "--database-url", url]).output.strip() == head
    engine = make_engine(url)
    Bureau(Store(engine)).person()  # 400 + 670 yuan of contributions posted
    engine.dispose()
    result = runner.invoke(app, ["ledger", "trial-balance", "--database-url", url, "--region", "reference-city"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "reference-city:2024:contribution_income:individual" in result.output
    assert "1070.00" in result.output and "balanced" in result.output
