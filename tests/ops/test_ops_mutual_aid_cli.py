"""`yibao mutual-aid ...` over the operations store: a platform operator's day from the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from ops_bureau import REGION, make_ric
from ops_mutual_aid import PILOT, PLATFORM, pilot_plan
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.core.errors import YibaoError
from yibao.ops import audit, ledger, registry
from yibao.ops.schemas import PersonIn, RegionIn
from yibao.ops.store import Store

runner = CliRunner(env={"COLUMNS": "220"})


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path / 'ma-cli.sqlite3'}"
        self.env = {"YIBAO_DATABASE_URL": self.url, "YIBAO_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "220"}
        assert runner.invoke(app, ["db", "upgrade", "--database-url", self.url]).exit_code == 0
        self.store = Store.open(self.url)
        with self.store.transaction() as s:
            registry.add_region(s, PLATFORM, RegionIn(code=REGION, name="City", average_wage="100000"))
            for i, (name, born) in enumerate([("王小明", dt.date(1990, 5, 1)), ("李四", dt.date(1990, 5, 1)),
                                              *((f"评审员{j}", dt.date(1980, 1, 1)) for j in range(4))], start=1):
                registry.add_person(s, PLATFORM, PersonIn(person_id=f"C{i}", ric=make_ric(born, 2 * i + 1), name=name,
                                                          region=REGION))

    def ok(self, *args: str) -> str:
        result = runner.invoke(app, ["mutual-aid", *args], env=self.env)
        assert result.exit_code == 0, f"{args}: {result.output} {result.exception!r}"
        return result.output

    def refused(self, *args: str) -> str:
        result = runner.invoke(app, ["mutual-aid", *args], env=self.env)
        assert isinstance(result.exception, YibaoError), (args, result.output, result.exception)
        return result.exception.code

    def audit(self) -> list[Any]:
        with self.store.transaction() as s:
            return audit.events(s, limit=5000)


@pytest.fixture()
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_a_platform_operators_day(cli: Cli, tmp_path: Path) -> None:
    assert "pilot-2020 in force" in cli.ok("launch", str(pilot_plan(tmp_path)), "--in-force-from", "2020-01-01")
    assert cli.refused("join", "--plan", PILOT, "--person", "C1", "--credit-score", "700", "--on", "2020-01-10") \
        == "mutual_aid.health_declaration"  # --healthy not declared
    for person in ("C1", "C2", "C3", "C4", "C5", "C6"):
        out = cli.ok("join", "--plan", PILOT, "--person", person, "--credit-score", "700", "--healthy", "--on", "2020-01-10")
        assert "protected from 2020-04-09" in out
    out = cli.ok("claim", "file", "1", "--illness", "C34.1", "--diagnosed", "2020-05-01", "--on", "2020-05-02")
    assert "Claim 1 — filed" in out and "6.00" in out
    cli.ok("claim", "investigate", "1", "--investigator", "Investigators Ltd", "--summary", "pathology confirms",
           "--supports", "--on", "2020-05-03")
    cli.ok("claim", "review", "1", "--approve", "--reason", "meets the definition", "--on", "2020-05-04")
    assert "noticed" in cli.ok("claim", "notice", "1", "--on", "2020-05-05")
    assert "王*明" in cli.ok("notices", "--plan", PILOT)
    assert cli.refused("claim", "pay", "1", "--on", "2020-05-06") == "mutual_aid.not_apportioned"
    out = cli.ok("apportion", "--db", "--plan", PILOT, "--notice-date", "2020-05-07")
    assert "per member charge" in out and "1.00" in out  # 6.48 over 6 members, capped at the 1.00 case cap
    assert "1.00" in cli.ok("apportion", "--db", "--plan", PILOT, "--notice-date", "2020-05-07")  # idempotent
    assert "deducted" in cli.ok("charges", "2")
    assert "paid" in cli.ok("claim", "pay", "1", "--on", "2020-05-14")
    out = cli.ok("disclose", "--db", "--plan", PILOT, "--notice-date", "2020-05-07", "--out", str(tmp_path / "public"))
    assert "published" in out and (tmp_path / "public" / "disclosure-2020-05-07.html").exists()
    assert "王小明" not in (tmp_path / "public" / "disclosure-2020-05-07.csv").read_text(encoding="utf-8")
    assert "2020-05-07" in cli.ok("periods", "--plan", PILOT)
    with cli.store.transaction() as s:
        tb = ledger.trial_balance(s, region=PILOT)
        assert tb.balanced and {r.kind: r.balance for r in tb.rows}["mutual_aid_pool"] == 48

    # a disputed rejection before a jury of three, from the command line
    cli.ok("claim", "file", "2", "--illness", "I21.0", "--diagnosed", "2020-06-01", "--on", "2020-06-02")
    cli.ok("claim", "investigate", "2", "--investigator", "inv", "--summary", "unclear", "--does-not-support",
           "--on", "2020-06-03")
    cli.ok("claim", "review", "2", "--reject", "--reason", "not confirmed", "--on", "2020-06-04")
    out = cli.ok("claim", "dispute", "2", "--by", "2", "--reason", "new report", "--seats", "4", "--seed", "3",
                 "--on", "2020-07-01")
    assert "Jury for claim 2" in out
    assert "1 to pay, 0 to refuse (3 needed)" in cli.ok("vote", "2", "--juror", "3", "--pay", "--on", "2020-07-02")
    assert cli.refused("vote", "2", "--juror", "3", "--refuse", "--on", "2020-07-02") == "mutual_aid.double_vote"
    assert cli.refused("claim", "verdict", "2", "--on", "2020-07-03") == "mutual_aid.jury_not_valid"
    cli.ok("vote", "2", "--juror", "4", "--refuse", "--on", "2020-07-02")
    cli.ok("vote", "2", "--juror", "5", "--refuse", "--on", "2020-07-02")
    out = cli.ok("claim", "verdict", "2", "--on", "2020-07-05")
    assert "denied" in out and "jury: verdict: 1 to pay, 2 to refuse" in out

    # deductions, the end-of-day run and a waiting-period refund
    cli.ok("deduction", "6", "--period", "2020-05-07", "--failed", "--on", "2020-05-14")
    assert "removed [6]" in cli.ok("daily-run", "--plan", PILOT, "--on", "2020-05-19")
    assert "refund 1.00 yuan" in cli.ok("waiting-period-end", "4", "--diagnosed", "2020-03-01", "--on", "2020-05-20")
    out = cli.ok("members", "--plan", PILOT)
    assert "removed" in out and "ended_in_waiting" in out and "paid_out" in out
    actors = {e.actor for e in cli.audit() if e.action.startswith("mutual_aid.")}
    assert len(actors) == 1 and actors.pop().startswith("cli:")


def test_apportion_needs_files_or_the_store(cli: Cli, tmp_path: Path) -> None:
    assert cli.refused("apportion", "--notice-date", "2020-05-07") == "cli.missing_options"
    assert cli.refused("apportion", "--db", "--notice-date", "2020-05-07", "--members", "m.parquet") \
        == "cli.conflicting_options"
    assert cli.refused("apportion", "--db", "--notice-date", "2020-05-07", "--surplus-in", "1") == "cli.conflicting_options"
    assert cli.refused("disclose", "--db") == "cli.missing_options"
    assert cli.refused("apportion", "--db", "--plan", "nope", "--notice-date", "2020-05-07") == "mutual_aid.plan_not_found"
