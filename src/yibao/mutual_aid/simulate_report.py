"""The simulator's self-contained HTML report: calibration, out-of-sample check, levers, charts."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from yibao.mutual_aid.simulate import (
    AGE_BANDS,
    PUBLISHED_COST_2019,
    PUBLISHED_COST_2021,
    PUBLISHED_LAST_PERIOD_YUAN,
    PUBLISHED_MEMBERS_2021,
    PUBLISHED_MEMBERS_AFTER_7_DAYS,
    PUBLISHED_MEMBERS_NOV_2019,
    Assumptions,
    SimulationResult,
)
from yibao.report import PALETTE, Section, figure, new_figure, page, paragraph, series_style, table

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Mutual aid simulator — rise and death spiral", "zh": "网络互助模拟——兴起与死亡螺旋"},
    "subtitle": {"en": "yibao mutual-aid simulate · Xiang Hu Bao as the reference", "zh": "yibao mutual-aid simulate · 以相互宝为参照"},
    "not_within": {"en": "not within the horizon", "zh": "模拟期内未出现"},
    "members_7d": {"en": "members 7 days after launch (in sample)", "zh": "上线7天成员数（样本内）"},
    "members_nov_2019": {"en": "members November 2019 (in sample)", "zh": "2019年11月成员数（样本内）"},
    "cost_2019": {"en": "cost per member 2019, yuan (in sample)", "zh": "2019年人均分摊，元（样本内）"},
    "cost_2020": {"en": "cost per member 2020, yuan (out of sample)", "zh": "2020年人均分摊，元（样本外）"},
    "cost_2021": {"en": "cost per member 2021, yuan (out of sample)", "zh": "2021年人均分摊，元（样本外）"},
    "members_2021": {"en": "members end of 2021 (out of sample)", "zh": "2021年末成员数（样本外）"},
    "closure": {"en": "annualised cost at the closure, January 2022 (last period 7.4 yuan per half-month)",
                "zh": "2022年1月关停时的年化分摊（最后一期每半月7.4元）"},
    "published_calibration": {"en": "published (calibration)", "zh": "公布数据（校准）"},
    "published_2021": {"en": "published 2021 (out of sample)", "zh": "2021年公布数据（样本外）"},
    "members_axis": {"en": "members (millions)", "zh": "成员（百万）"},
    "members_caption": {"en": "Members month by month, by lever; dots: published figures",
                        "zh": "各方案逐月成员数；圆点：公布数据"},
    "cost_line": {"en": "baseline cost per member per year", "zh": "基准方案年人均分摊"},
    "cost_axis": {"en": "yuan per member per year", "zh": "元/人/年"},
    "cost_caption": {"en": "Annualised cost per member (12 × mean monthly charge of 3 months) by lever; diamonds: "
                           "published yearly cost (2019 in sample, 2021 out of sample); dotted: yearly cap",
                     "zh": "各方案年化人均分摊（12 × 近3个月月均分摊）；菱形：公布的年度分摊（2019年样本内，2021年样本外）；点线：年度上限"},
    "share_axis": {"en": "% of members", "zh": "成员占比（%）"},
    "age_caption": {"en": "Age mix of the baseline pool", "zh": "基准方案成员年龄结构"},
    "cases_axis": {"en": "cases approved per month", "zh": "每月获批案例数"},
    "risk_axis": {"en": "mean risk multiplier (adverse selection)", "zh": "平均风险系数（逆向选择）"},
    "claims_caption": {"en": "Baseline claims per month, and the pool's mean risk rising as the healthy leave",
                       "zh": "基准方案每月案例数，以及健康成员退出后风险池平均风险的上升"},
    "intro": {"en": "Plan {plan}. Month by month from {start} to {end}. Calibrated only to Xiang Hu Bao 2018–2019 "
                    "(10M members in 7 days, 100M by November 2019, 29.17 yuan per member in 2019); 2020–2021 are "
                    "predictions compared with the published ~91 yuan and ~75M members. Calibrated: launch pulse "
                    "{pulse}M joiners, Bass innovation {innovation} per month, incidence {incidence} × the "
                    "insured-lives table.",
              "zh": "计划 {plan}，按月模拟 {start} 至 {end}。仅用相互宝2018–2019年数据校准（7天1000万成员，2019年11月1亿成员，"
                    "2019年人均分摊29.17元）；2020–2021年为预测，与公布的约91元、约7500万成员比较。校准结果：上线脉冲 "
                    "{pulse}百万人加入，Bass创新系数每月 {innovation}，发病率为寿险业经验表的 {incidence} 倍。"},
    "spiral": {"en": "Baseline: the death spiral (six months of falling members and rising cost) starts {onset}; "
                     "the pool becomes unsustainable (caps leave promised aid unfunded) {unsustainable}.",
               "zh": "基准方案：死亡螺旋（成员连续六个月减少、分摊上升）开始于 {onset}；"
                     "资金池不可持续（上限导致承诺的互助金无法足额筹集）始于 {unsustainable}。"},
    "calibration": {"en": "Calibration and out-of-sample check", "zh": "校准与样本外检验"},
    "figure": {"en": "figure", "zh": "指标"},
    "published": {"en": "published", "zh": "公布值"},
    "model": {"en": "model", "zh": "模型"},
    "members": {"en": "Members", "zh": "成员"},
    "cost": {"en": "Cost per member", "zh": "人均分摊"},
    "claims": {"en": "Claims and adverse selection", "zh": "案例与逆向选择"},
    "age_mix": {"en": "Age mix", "zh": "年龄结构"},
    "levers": {"en": "Levers", "zh": "调节方案"},
    "lever": {"en": "lever", "zh": "方案"},
    "cost_y": {"en": "cost {y}", "zh": "{y}年分摊"},
    "members_end": {"en": "members end {y}", "zh": "{y}年末成员"},
    "spiral_onset": {"en": "spiral onset", "zh": "螺旋开始"},
    "unsustainable": {"en": "unsustainable", "zh": "不可持续"},
    "assumptions": {"en": "Assumptions (documented, not calibrated)", "zh": "假设（有记录，未校准）"},
    "assumption": {"en": "assumption", "zh": "假设"},
    "value": {"en": "value", "zh": "取值"},
    "hazard": {"en": "Leaving hazard per month: h = base_leave + β[sensitivity] × annualised cost seen (yuan/year). "
                     "Incidence: CII 2006–2010 critical illness table × risk multiplier × select factor "
                     "1 − (1 − select_start)·exp(−tenure / select_months) × calibrated scale.",
               "zh": "每月退出率：h = base_leave + β[敏感度] × 所见年化分摊（元/年）。发病率：中国人身保险业重大疾病经验发生率表"
                     "（2006–2010）× 风险系数 × 选择因子 1 − (1 − select_start)·exp(−入会时长 / select_months) × 校准系数。"},
}


def tr(key: str, lang: str, /, **values: object) -> str:
    return TEXT[key]["zh" if lang == "zh" else "en"].format(**values)





def _m(x: float) -> str:
    return "—" if math.isnan(x) else f"{x / 1e6:.1f}M"


def _y(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.2f}"


def _when(result: SimulationResult, which: str, lang: str = "en") -> str:
    day = getattr(result, which)
    return day.strftime("%Y-%m") if day else tr("not_within", lang)


def calibration_rows(base: SimulationResult, lang: str = "en") -> list[list[str]]:
    return [
        [tr("members_7d", lang), _m(PUBLISHED_MEMBERS_AFTER_7_DAYS), _m(base.members_after_7_days)],
        [tr("members_nov_2019", lang), _m(PUBLISHED_MEMBERS_NOV_2019), _m(base.members_on(2019, 11))],
        [tr("cost_2019", lang), _y(PUBLISHED_COST_2019), _y(base.cost_per_member(2019))],
        [tr("cost_2020", lang), "—", _y(base.cost_per_member(2020))],
        [tr("cost_2021", lang), f"~{PUBLISHED_COST_2021:.0f}", _y(base.cost_per_member(2021))],
        [tr("members_2021", lang), f"~{_m(PUBLISHED_MEMBERS_2021)}", _m(base.members_at_end(2021))],
        [tr("closure", lang), f"~{PUBLISHED_LAST_PERIOD_YUAN * 24:.0f}", _y(_annualised_on(base, 2022, 1))],
    ]


def _annualised_on(result: SimulationResult, year: int, month: int) -> float:
    return next((m.annualised_yuan for m in result.months if (m.start.year, m.start.month) == (year, month)),
                float("nan"))


def lever_rows(results: Sequence[SimulationResult], lang: str = "en") -> list[list[str]]:
    return [
        [r.levers.label(lang), _y(r.cost_per_member(2019)), _y(r.cost_per_member(2021)), _y(r.cost_per_member(2023)),
         _m(r.members_at_end(2021)), _m(r.members_at_end(2023)), _when(r, "spiral_onset", lang),
         _when(r, "unsustainable_month", lang)]
        for r in results
    ]


def _year_axis(ax: Any) -> None:
    """One tick a year, labelled by the year only (month ticks ran into each other)."""
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))


def _legend_below(ax: object, count: int) -> None:
    """The legend under the plot, where it cannot cover a line."""
    ax.legend(fontsize=7, ncol=2 if count > 3 else count, loc="upper center", bbox_to_anchor=(0.5, -0.12),  # type: ignore[attr-defined]
              frameon=False)


def _members_chart(results: Sequence[SimulationResult], lang: str) -> str:
    fig, ax = new_figure(7.5, 4.2)
    for i, r in enumerate(results):
        ax.plot([m.start for m in r.months], [m.members / 1e6 for m in r.months], **series_style(i),
                lw=2.2 if i == 0 else 1.3, label=r.levers.label(lang))
    base = results[0]
    nov_2019 = next((m.start for m in base.months if (m.start.year, m.start.month) == (2019, 11)), base.months[0].start)
    published = [(base.months[0].start, PUBLISHED_MEMBERS_AFTER_7_DAYS), (nov_2019, PUBLISHED_MEMBERS_NOV_2019)]
    ax.scatter([d for d, _ in published], [v / 1e6 for _, v in published], color="black", zorder=5,
               label=tr("published_calibration", lang))
    late = next((m.start for m in base.months if (m.start.year, m.start.month) == (2021, 12)), None)
    if late:
        ax.scatter([late], [PUBLISHED_MEMBERS_2021 / 1e6], marker="x", s=70, color="black", zorder=5,
                   label=tr("published_2021", lang))
    ax.set_ylabel(tr("members_axis", lang))
    _legend_below(ax, len(results) + 2)
    _year_axis(ax)
    return figure(fig, tr("members_caption", lang))


def _cost_chart(results: Sequence[SimulationResult], lang: str) -> str:
    fig, ax = new_figure(7.5, 4.2)
    for i, r in enumerate(results):
        ax.plot([m.start for m in r.months], [m.annualised_yuan for m in r.months], **series_style(i),
                lw=2.2 if i == 0 else 1.3, label=r.levers.label(lang))
    base = results[0]
    years = sorted({m.start.year for m in base.months})
    ax.step([base.months[0].start.replace(year=y, month=1) for y in years],
            [base.cost_per_member(y) for y in years], where="post", color="black", lw=1, ls="--",
            label=tr("cost_line", lang))
    for year, value in ((2019, PUBLISHED_COST_2019), (2021, PUBLISHED_COST_2021)):
        ax.scatter([base.months[0].start.replace(year=year, month=7)], [value], color="black", marker="D", zorder=5)
    ax.axhline(base.year_cap_yuan, color="#c0392b", lw=0.8, ls=":")
    ax.set_ylabel(tr("cost_axis", lang))
    _legend_below(ax, len(results) + 1)
    _year_axis(ax)
    return figure(fig, tr("cost_caption", lang))


def _age_mix_chart(base: SimulationResult, lang: str) -> str:
    fig, ax = new_figure()
    days = [m.start for m in base.months]
    shares = list(zip(*(m.age_mix for m in base.months), strict=True))
    labels = [f"{lo}–{hi}" for lo, hi in AGE_BANDS]
    keep = [i for i, s in enumerate(shares) if max(s) > 0]
    ax.stackplot(days, [[100 * x for x in shares[i]] for i in keep], labels=[labels[i] for i in keep],
                 colors=[PALETTE[i] for i in keep], alpha=0.85)
    ax.set_ylabel(tr("share_axis", lang))
    _legend_below(ax, len(keep))
    _year_axis(ax)
    return figure(fig, tr("age_caption", lang))


def _claims_chart(base: SimulationResult, lang: str) -> str:
    fig, ax = new_figure()
    ax.bar([m.start for m in base.months], [m.cases for m in base.months], width=25, color=PALETTE[0])
    ax.set_ylabel(tr("cases_axis", lang))
    ax2 = ax.twinx()
    ax2.plot([m.start for m in base.months], [m.mean_risk for m in base.months], color=PALETTE[1])
    ax2.set_ylabel(tr("risk_axis", lang))
    _year_axis(ax)
    return figure(fig, tr("claims_caption", lang))


def simulation_report(results: Sequence[SimulationResult], assumptions: Assumptions, lang: str = "en") -> str:
    """The report in Chinese (`lang="zh"`) or English; lever labels too; assumption names stay as in the code."""
    base = results[0]
    cal = base.calibration
    intro = paragraph(tr(
        "intro", lang, plan=base.plan, start=f"{base.months[0].start:%Y-%m}", end=f"{base.months[-1].start:%Y-%m}",
        pulse=f"{cal.launch_joiners / 1e6:.2f}", innovation=f"{cal.innovation:.4f}",
        incidence=f"{cal.incidence_scale:.3f}",
    ))
    spiral = paragraph(tr(
        "spiral", lang, onset=_when(base, "spiral_onset", lang), unsustainable=_when(base, "unsustainable_month", lang)
    ))
    assumption_rows = [[f.name, str(getattr(assumptions, f.name))] for f in dataclasses.fields(assumptions)]
    lever_headers = [tr("lever", lang), *[tr("cost_y", lang, y=y) for y in (2019, 2021, 2023)],
                     *[tr("members_end", lang, y=y) for y in (2021, 2023)], tr("spiral_onset", lang),
                     tr("unsustainable", lang)]  # fmt: skip
    return page(
        tr("title", lang),
        tr("subtitle", lang),
        [
            Section(tr("calibration", lang), intro + table(
                [tr("figure", lang), tr("published", lang), tr("model", lang)], calibration_rows(base, lang))),
            Section(tr("members", lang), _members_chart(results, lang)),
            Section(tr("cost", lang), spiral + _cost_chart(results, lang)),
            Section(tr("claims", lang), _claims_chart(base, lang)),
            Section(tr("age_mix", lang), _age_mix_chart(base, lang)),
            Section(tr("levers", lang), table(lever_headers, lever_rows(results, lang))),
            Section(tr("assumptions", lang), table([tr("assumption", lang), tr("value", lang)], assumption_rows)
                    + paragraph(tr("hazard", lang))),
        ],
        lang,
    )
