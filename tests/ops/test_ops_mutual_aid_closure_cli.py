"""`yibao mutual-aid close ...`: the decision, a refused join, finishing with the pending claim paid, the closure
disclosure printed in both languages, a member's answer to the offer."""

from __future__ import annotations

from pathlib import Path

from ops_mutual_aid import PILOT, pilot_plan
from test_ops_mutual_aid_cli import Cli

from yibao.ops import ledger


def test_close_a_plan_from_the_command_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.ok("launch", str(pilot_plan(tmp_path)), "--in-force-from", "2020-01-01")
    for person in ("C1", "C2", "C3"):
        cli.ok("join", "--plan", PILOT, "--person", person, "--credit-score", "700", "--healthy", "--on", "2020-01-10")
    cli.ok("claim", "file", "1", "--illness", "C34.1", "--diagnosed", "2020-12-01", "--on", "2020-12-02")
    cli.ok("close", "decide", "--plan", PILOT, "--decided-on", "2020-12-28", "--reference", "CBIRC rectification",
           "--text-en", "The plan stops on 2021-01-28.", "--text-zh", "本计划于 2021-01-28 停止运行。",
           "--offer-product", "million-medical", "--policy-start", "2021-01-29", "--accept-by", "2021-03-31")
    assert cli.refused("join", "--plan", PILOT, "--person", "C4", "--credit-score", "700", "--healthy",
                       "--on", "2020-12-28") == "mutual_aid.plan_closed"
    assert cli.refused("close", "finish", "--plan", PILOT, "--notice-date", "2021-01-21", "--on", "2021-01-28") \
        == "mutual_aid.claims_pending"
    cli.ok("claim", "investigate", "1", "--investigator", "Inv Ltd", "--summary", "confirmed", "--supports", "--on", "2021-01-03")
    cli.ok("claim", "review", "1", "--approve", "--reason", "ok", "--on", "2021-01-04")
    cli.ok("claim", "notice", "1", "--on", "2021-01-05")
    out = cli.ok("close", "finish", "--plan", PILOT, "--notice-date", "2021-01-21", "--on", "2021-01-28")
    # 6.00 + 0.48 over 3 members = 2.16 each, above the 1.00 case cap: 3.00 collected, 3.48 borne by the platform
    assert "borne_by_platform 3.48" in out and "平台承担缺口 3.48 元" in out and "members closed: 2" in out
    out = cli.ok("close", "answer", "2", "--accept", "--on", "2021-02-01")
    assert "million-medical" in out and "126.00" in out
    assert "conv-2" in cli.ok("close", "conversions", "--plan", PILOT)
    assert "closed" in cli.ok("close", "show", "--plan", PILOT)
    with cli.store.transaction() as s:
        assert ledger.trial_balance(s, region=PILOT).balanced
