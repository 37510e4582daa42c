"""Public disclosure of a period (公示): cases with masked identity, amounts, members, per-member charge.

Written as JSON (machine-readable), CSV (one row per case) and a self-contained HTML page.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yibao.core.money import format_yuan
from yibao.mutual_aid.apportion import ApportionmentSummary, ApprovedCase


def mask_name(name: str) -> str:
    """张三丰 -> 张*丰, 张三 -> 张*, Li Ming -> L*** M***: enough for members to recognise, not to identify."""
    name = name.strip()
    if not name:
        return "*"
    if " " in name:
        return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


@dataclass(frozen=True, slots=True)
class Disclosure:
    summary: ApportionmentSummary
    cases: tuple[ApprovedCase, ...]

    def case_rows(self) -> list[dict[str, str]]:
        return [
            {
                "case_id": c.case_id,
                "member": mask_name(c.member_name),
                "age": str(c.age),
                "illness": c.illness_name,
                "illness_code": c.illness_code,
                "diagnosis_date": c.diagnosis_date.isoformat(),
                "aid": format_yuan(c.aid),
            }
            for c in self.cases
        ]

    def totals(self) -> dict[str, str]:
        s = self.summary
        return {
            "plan": s.plan,
            "notice_date": s.notice_date.isoformat(),
            "deduction_date": s.deduction_date.isoformat(),
            "cases": str(s.cases),
            "aid": format_yuan(s.aid),
            "management_fee": format_yuan(s.fee),
            "surplus_in": format_yuan(s.surplus_in),
            "members_protected": str(s.members_protected),
            "per_member_charge": format_yuan(s.per_member_charge),
            "collected": format_yuan(s.collected),
            "case_cap_shortfall": format_yuan(s.case_cap_shortfall),
            "year_cap_shortfall": format_yuan(s.year_cap_shortfall),
            "rounding_difference": format_yuan(s.rounding_difference),
            "surplus_out": format_yuan(s.surplus_out),
        }

    def to_json(self) -> str:
        body: dict[str, Any] = {"period": self.totals(), "cases": self.case_rows()}
        return json.dumps(body, ensure_ascii=False, indent=2)

    def to_csv(self) -> str:
        buffer = io.StringIO()
        fields = ["case_id", "member", "age", "illness", "illness_code", "diagnosis_date", "aid"]
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.case_rows())
        return buffer.getvalue()

    def to_html(self) -> str:
        from yibao.report import Section, page, paragraph, table

        t = self.totals()
        headline = paragraph(
            f"{t['cases']} cases, aid {t['aid']} yuan plus management fee {t['management_fee']} yuan, shared by "
            f"{t['members_protected']} members protected at 0:00 of {t['notice_date']}: "
            f"{t['per_member_charge']} yuan each, deducted on {t['deduction_date']}."
        )
        figures = table(["figure", "value"], list(t.items()))
        rows = [[r[k] for k in ("case_id", "member", "age", "illness", "diagnosis_date", "aid")] for r in self.case_rows()]
        cases = table(["case", "member", "age", "illness", "diagnosed", "aid (yuan)"], rows)
        return page(
            f"Public notice {t['notice_date']} — {t['plan']}",
            "Mutual-aid apportionment disclosure (公示); member identities masked",
            [Section("This period", headline + figures), Section("Cases", cases)],
        )

    def write(self, out_dir: Path) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = f"disclosure-{self.summary.notice_date.isoformat()}"
        paths = []
        for suffix, text in ((".json", self.to_json()), (".csv", self.to_csv()), (".html", self.to_html())):
            path = out_dir / f"{stem}{suffix}"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        return paths
