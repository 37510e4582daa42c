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


PAGE_WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Public notice {notice_date} — {plan}",
        "subtitle": "Mutual-aid apportionment disclosure (公示); member identities masked",
        "headline": "{cases} cases, aid {aid} yuan plus management fee {management_fee} yuan, shared by "
                    "{members_protected} members protected at 0:00 of {notice_date}: {per_member_charge} yuan each, "
                    "deducted on {deduction_date}.",
        "period": "This period",
        "cases": "Cases",
        "figures": ["figure", "value"],
        "cases_header": ["case", "member", "age", "illness", "diagnosed", "aid (yuan)"],
    },
    "zh": {
        "title": "{notice_date} 公示 — {plan}",
        "subtitle": "互助分摊公示；成员身份已脱敏",
        "headline": "本期 {cases} 个案件，互助金 {aid} 元，管理费 {management_fee} 元，由 {notice_date} 零时处于保障中的 "
                    "{members_protected} 名成员分摊：每人 {per_member_charge} 元，于 {deduction_date} 扣款。",
        "period": "本期分摊",
        "cases": "案件",
        "figures": ["项目", "数值"],
        "cases_header": ["案件编号", "成员", "年龄", "疾病", "确诊日期", "互助金（元）"],
        "plan": "计划", "notice_date": "公示日", "deduction_date": "扣款日",
        "aid": "互助金（元）", "management_fee": "管理费（元）", "surplus_in": "上期结余（元）",
        "members_protected": "分摊成员数", "per_member_charge": "人均分摊（元）", "collected": "实收（元）",
        "case_cap_shortfall": "单案上限缺口（元）", "year_cap_shortfall": "年度上限缺口（元）",
        "rounding_difference": "取整差额（元）", "surplus_out": "本期结余（元）",
    },
}


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

    def to_html(self, lang: str = "zh") -> str:
        """The public page in Chinese (`lang="zh"`, for members) or English."""
        from yibao.report import Section, page, paragraph, table

        t = self.totals()
        words = PAGE_WORDS["zh" if lang == "zh" else "en"]
        headline = paragraph(words["headline"].format(**t))
        figures = table(words["figures"], [[words.get(k, k.replace("_", " ")), v] for k, v in t.items()])
        rows = [[r[k] for k in ("case_id", "member", "age", "illness", "diagnosis_date", "aid")] for r in self.case_rows()]
        cases = table(words["cases_header"], rows)
        return page(
            words["title"].format(**t),
            words["subtitle"],
            [Section(words["period"], headline + figures), Section(words["cases"], cases)],
            lang,
        )

    def write(self, out_dir: Path, lang: str = "zh") -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = f"disclosure-{self.summary.notice_date.isoformat()}"
        paths = []
        for suffix, text in ((".json", self.to_json()), (".csv", self.to_csv()), (".html", self.to_html(lang))):
            path = out_dir / f"{stem}{suffix}"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        return paths
