"""The evaluation's HTML report (yibao.report: inline SVG, no network) and CSV tables."""

from __future__ import annotations

import csv
import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from yibao import report
from yibao.contracts.evaluation import SEED_RANKING, Study, dimension_drivers
from yibao.contracts.model import MODE_NAMES, Contract
from yibao.contracts.montecarlo import DIMENSIONS, Evaluation, results
from yibao.core.money import RATE_SCALE, RatePpm, format_rate, format_yuan

EVALUATION_COLUMNS = (
    "contract", "mode", "premium_per_enrollee", "fee_per_enrollee",
    "insurer_mean", "insurer_sd", "insurer_p_loss", "insurer_tail5",
    "fund_mean", "fund_sd", "fund_p_overrun", "fund_tail5", "risk_balance",
    "admin_cost_ratio", "fund_loading", "incentive",
    "settlement_days", "staff_per_10k_claims", "staff", "expected_margin", "p_low_profit",
)  # fmt: skip

# What moves each dimension in the model (the sensitivity screen shows which do so at the defaults).
DRIVER_NOTES: dict[str, str] = {
    "risk sharing": (
        "The co-insurance ratio splits every yuan of surplus and deficit, so at 50% the fund's and the insurer's "
        "results vary equally (balance 1). The contract's split depends on its corridor (profit cap, loss band, "
        "fund's share beyond the band) against the year-to-year volatility; fund management leaves all risk with the fund."
    ),
    "management cost": (
        "Only the admin cost parameters of each party (per enrollee and per claim): the model does not derive them. "
        "The defaults assume the insurer that bears the claims runs leanest and the bureau only supervises."
    ),
    "incentive effect": (
        "Structural: 0 under fund management (a fee on claims even makes it negative), the agreed share under "
        "co-insurance, and under the contract 100% inside the corridor, 0 above the profit cap and the insurer's "
        "share beyond the loss band. So the contract leads only while the year's balance stays mostly inside the "
        "corridor: the profit cap, the loss band, the expense allowance (where the priced balance sits) and the "
        "volatility of the book (city size, volume and cost shocks) drive it."
    ),
    "administrative efficiency": "Settlement days and staff per 10,000 claims are contract parameters, shown side by side.",
}

# The report's words in Chinese (`lang="zh"`); English is the text in the code.
ZH: dict[str, str] = {
    "Serious-illness cooperation modes — Monte Carlo evaluation": "大病保险合作模式——蒙特卡洛评估",
    "Fund management (Jiangyin), insurance contract (Zhanjiang), co-insurance joint office (Pinggu), as compared by a "
    "study of the three modes": "基金管理型（江阴）、保险合同型（湛江）、共保联办型（平谷），依三种模式的比较研究",
    "Set-up": "设定",
    "Best mode on each of the four dimensions": "四个维度上的最优模式",
    "The four dimensions side by side": "四个维度并列比较",
    "Risk: the insurer's yearly result": "风险：承保机构的年度结果",
    "What drives the ranking": "什么决定了排序",
    "Contracts as evaluated": "所评估的合同",
    "fund management (Jiangyin)": "基金管理型（江阴）",
    "insurance contract (Zhanjiang)": "保险合同型（湛江）",
    "co-insurance joint office (Pinggu)": "共保联办型（平谷）",
    "risk sharing": "风险分担",
    "management cost": "管理成本",
    "incentive effect": "激励效应",
    "administrative efficiency": "行政效率",
    "most even split of the year's risk (sd balance)": "年度风险分担最均衡（标准差平衡）",
    "lowest admin cost ratio": "管理费用率最低",
    "largest share of a claim-cost cut kept by the insurer": "承保机构保留的控费收益份额最大",
    "fewest settlement days (then fewest staff per 10k claims)": "结算天数最少（其次每万件人员最少）",
    "dimension": "维度", "best means": "最优的含义", "best here": "本次最优", "study": "研究结论", "agrees": "一致",
    "yes": "是", "no": "否", "measure": "指标", "contract": "合同", "parameter": "参数", "value": "取值",
    "The study's qualitative ranking is reproduced.": "复现了研究的定性排序。",
    "The study's ranking is NOT fully reproduced under these parameters.": "在这些参数下未能完全复现研究的排序。",
    "years": "年数",
    "insurer's yearly result, yuan per enrollee": "承保机构年度结果（元/参保人）",
    "score (1 = best)": "得分（1 = 最优）",
    "The four dimensions side by side (each scaled so the best mode scores 1).": "四个维度并列（各自缩放，使最优模式得1分）。",
    "Distribution of the insurer's result per mode over the simulated years (premiums as evaluated); the green band is "
    "a margin in [0, low-profit cap] of the contract's revenue.":
        "各模式下承保机构在模拟年份中的结果分布（按所评估的保费）；绿色区间为合同收入的 [0, 微利上限] 利润率。",
    "risk: balance of sd (fund vs insurer)": "风险：标准差平衡（基金对承保机构）",
    "risk: insurer sd (yuan)": "风险：承保机构标准差（元）",
    "risk: P(insurer loss)": "风险：承保机构亏损概率",
    "risk: insurer 5% tail (mean of worst 5%, yuan)": "风险：承保机构5%尾部（最差5%均值，元）",
    "risk: fund outlay sd (yuan)": "风险：基金支出标准差（元）",
    "risk: P(fund outlay > expected + 5%)": "风险：基金支出超预期5%的概率",
    "risk: fund 5% tail (expected − outlay, yuan)": "风险：基金5%尾部（预期 − 支出，元）",
    "management cost: admin cost / claims": "管理成本：管理费用 / 赔付",
    "management cost: fund's cost beyond claims / claims": "管理成本：基金赔付外成本 / 赔付",
    "incentive: share of a claim-cost cut kept": "激励：控费收益保留份额",
    "efficiency: settlement days": "效率：结算天数",
    "efficiency: staff per 10k claims": "效率：每万件人员",
    "efficiency: staff for the mean claims": "效率：平均赔付量所需人员",
    "insurer expected margin": "承保机构预期利润率",
    "P(margin in [0, low-profit cap]): breakeven and low profit": "利润率落在 [0, 微利上限] 的概率：保本微利",
    "premium / fee per enrollee (yuan)": "每参保人保费 / 管理费（元）",
    "premium per enrollee": "每参保人保费",
    "fee per enrollee / share of claims": "每参保人管理费 / 占赔付比例",
    "expense allowance": "费用补偿",
    "profit cap / insurer share above": "利润上限 / 超出部分承保机构份额",
    "loss band / insurer share beyond": "亏损区间 / 超出部分承保机构份额",
    "admin cost fund (per enrollee / per claim)": "基金管理费用（每参保人 / 每件）",
    "admin cost insurer (per enrollee / per claim)": "承保机构管理费用（每参保人 / 每件）",
    "none": "无",
}
DRIVER_NOTES_ZH: dict[str, str] = {
    "risk sharing": "共保比例按同一比例分担每一元结余和亏损，50%时基金与承保机构的结果波动相同（平衡为1）。保险合同型的分担取决于其风险调节区间"
                    "（利润上限、亏损区间、超出区间后基金的份额）与年度波动的关系；基金管理型的风险全部由基金承担。",
    "management cost": "仅取决于各方的管理费用参数（每参保人、每件）：模型不推导它们。默认值假定承担赔付的承保机构运营最精简，医保局只做监管。",
    "incentive effect": "由结构决定：基金管理型为0（按赔付收取管理费时甚至为负），共保联办型为约定份额，保险合同型在区间内为100%、利润上限以上为0、"
                        "亏损区间以外为承保机构的份额。因此只要年度结余多在区间内，保险合同型就领先：利润上限、亏损区间、费用补偿（定价结余所在位置）"
                        "和赔付的波动（城市规模、数量和费用冲击）决定它。",
    "administrative efficiency": "结算天数和每万件人员是合同参数，并列展示。",
}


def _t(text: str, lang: str) -> str:
    """`text` in the report's language (the English text is the key)."""
    return ZH.get(text, text) if lang == "zh" else text


def _yuan(value: float) -> str:
    return f"{value:,.0f}"


def _pct(value: float) -> str:
    return f"{value:.1%}"


def evaluation_rows(evaluations: Sequence[Evaluation]) -> list[list[object]]:
    rows: list[list[object]] = []
    for e in evaluations:
        c = e.contract
        rows.append([
            c.name, c.mode.value, format_yuan(c.premium_per_enrollee), format_yuan(c.fee_per_enrollee),
            round(e.insurer_mean, 2), round(e.insurer_sd, 2), round(e.insurer_p_loss, 4), round(e.insurer_tail5, 2),
            round(e.fund_mean, 2), round(e.fund_sd, 2), round(e.fund_p_overrun, 4), round(e.fund_tail5, 2),
            round(e.risk_balance, 4), round(e.admin_cost_ratio, 5), round(e.fund_loading, 5), round(e.incentive, 4),
            e.settlement_days, e.staff_per_10k_claims, round(e.staff, 2), round(e.expected_margin, 5),
            round(e.p_low_profit, 4),
        ])  # fmt: skip
    return rows


def write_csv(path: Path, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows(rows)


def year_rows(st: Study) -> tuple[list[str], list[list[object]]]:
    """Per simulated year: claims paid, claims, and each contract's insurer profit and fund outlay (exact yuan)."""
    per_contract = [results(e.contract, st.sims) for e in st.evaluations]
    headers = ["year", "claims_paid", "claims"]
    for e in st.evaluations:
        headers += [f"insurer_profit_{e.contract.mode.value}", f"fund_outlay_{e.contract.mode.value}"]
    rows: list[list[object]] = []
    for t in range(len(st.sims.claims_paid)):
        row: list[object] = [t + 1, format_yuan(int(st.sims.claims_paid[t])), int(st.sims.claims[t])]
        for r in per_contract:
            row += [format_yuan(int(r.insurer_profit[t])), format_yuan(int(r.fund_outlay[t]))]
        rows.append(row)
    return headers, rows


def _distribution_chart(evaluations: Sequence[Evaluation], enrollees: int, lang: str = "en") -> str:
    import matplotlib.pyplot as plt

    per_enrollee = [e.profit / max(enrollees, 1) for e in evaluations]
    low = min(float(p.min()) for p in per_enrollee)
    high = max(float(p.max()) for p in per_enrollee)
    bins = np.linspace(low, high if high > low else low + 1, 70)
    fig, axes = plt.subplots(len(evaluations), 1, figsize=(7.5, 1.5 + 1.3 * len(evaluations)), sharex=True)
    for i, (ax, e, values) in enumerate(zip(np.atleast_1d(axes), evaluations, per_enrollee, strict=True)):
        revenue = (e.contract.premium_per_enrollee + e.contract.fee_per_enrollee) / 100
        cap = e.contract.low_profit_cap / RATE_SCALE
        ax.axvspan(0, cap * revenue, color="#3a9d5d", alpha=0.12, linewidth=0)
        ax.hist(values, bins=bins, color=report.PALETTE[i])
        ax.axvline(0, color="#333", linewidth=0.8)
        ax.set_title(_t(MODE_NAMES[e.contract.mode], lang), fontsize=9, loc="left")
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_ylabel(_t("years", lang), fontsize=8)
    np.atleast_1d(axes)[-1].set_xlabel(_t("insurer's yearly result, yuan per enrollee", lang))
    fig.tight_layout()
    return report.figure(
        fig,
        _t("Distribution of the insurer's result per mode over the simulated years (premiums as evaluated); the "
           "green band is a margin in [0, low-profit cap] of the contract's revenue.", lang),
    )


def dimension_scores(evaluations: Sequence[Evaluation], lang: str = "en") -> dict[str, list[float]]:
    """Each dimension scaled to 0..1 (1 = best here) for the side-by-side chart."""
    admin = [e.admin_cost_ratio for e in evaluations]
    days = [e.settlement_days for e in evaluations]
    zh = lang == "zh"
    return {
        "风险分担\n（标准差平衡）" if zh else "risk sharing\n(sd balance)": [e.risk_balance for e in evaluations],
        "管理成本\n（费用率最低 = 1）" if zh else "management cost\n(lowest ratio = 1)": [
            min(admin) / a if a > 0 else 1.0 for a in admin
        ],
        "激励效应\n（保留份额）" if zh else "incentive effect\n(share kept)": [
            min(max(e.incentive, 0.0), 1.0) for e in evaluations
        ],
        "行政效率\n（天数最少 = 1）" if zh else "administrative efficiency\n(fewest days = 1)": [
            min(days) / d if d > 0 else 1.0 for d in days
        ],
    }


def _dimensions_chart(evaluations: Sequence[Evaluation], lang: str = "en") -> str:
    scores = dimension_scores(evaluations, lang)
    fig, ax = report.new_figure(7.5, 3.8)
    width = 0.8 / len(evaluations)
    x = np.arange(len(scores))
    for i, e in enumerate(evaluations):
        ax.bar(
            x + i * width,
            [s[i] for s in scores.values()],
            width,
            color=report.PALETTE[i],
            label=_t(MODE_NAMES[e.contract.mode], lang),
        )
    ax.set_xticks(x + width * (len(evaluations) - 1) / 2, list(scores), fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(_t("score (1 = best)", lang))
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    return report.figure(fig, _t("The four dimensions side by side (each scaled so the best mode scores 1).", lang))


def _parameter_rows(contract: Contract, lang: str = "en") -> list[list[object]]:
    def rate(value: RatePpm | None) -> str:
        return _t("none", lang) if value is None else format_rate(value)

    k = contract.corridor
    return [
        [contract.name, _t("premium per enrollee", lang), format_yuan(contract.premium_per_enrollee)],
        [contract.name, _t("fee per enrollee / share of claims", lang), f"{format_yuan(contract.fee_per_enrollee)} / {rate(contract.fee_rate_of_claims)}"],
        [contract.name, _t("expense allowance", lang), rate(contract.expense_allowance_rate)],
        [contract.name, _t("profit cap / insurer share above", lang), "–" if k is None else f"{rate(k.profit_cap)} / {rate(k.insurer_share_above_cap)}"],
        [contract.name, _t("loss band / insurer share beyond", lang), "–" if k is None else f"{rate(k.loss_band)} / {rate(k.insurer_share_beyond_band)}"],
        [contract.name, _t("admin cost fund (per enrollee / per claim)", lang), f"{format_yuan(contract.fund_admin.per_enrollee)} / {format_yuan(contract.fund_admin.per_claim)}"],
        [contract.name, _t("admin cost insurer (per enrollee / per claim)", lang), f"{format_yuan(contract.insurer_admin.per_enrollee)} / {format_yuan(contract.insurer_admin.per_claim)}"],
    ]  # fmt: skip


def html_report(st: Study, city: str, lang: str = "en") -> str:
    """The evaluation page in Chinese (`lang="zh"`) or English."""
    evs, s = st.evaluations, st.settings.shocks
    claims = st.sims.claims_paid / 100.0
    recomputed = int((st.book.payments(1.0) == st.book.paid).sum())
    zh = lang == "zh"
    mean_claims = claims.mean() / max(st.book.enrollees, 1)
    if zh:
        pricing = (
            "合同文件所写的保费与管理费" if st.settings.as_written
            else f"每个保费（基金管理型为管理费）按承保机构预期利润率 {st.settings.target_margin:.1%} 求得"
        )  # fmt: skip
        setup = report.paragraph(
            f"{city}：参保 {st.book.enrollees:,} 人，其中 {st.book.persons:,} 人有大病保险计算基数；模拟 {s.years:,} 年"
            f"（种子 {s.seed}）：赔付数量冲击标准差 {s.volume_sd:.1%}，费用冲击标准差 {s.cost_sd:.1%}，费用趋势 {s.cost_trend:.1%}；"
            f"激励按赔付费用下降 {s.claim_cut:.0%} 计算。定价：{pricing}。每参保人大病保险支付：均值 {mean_claims:.2f} 元，"
            f"变异系数 {claims.std() / claims.mean():.1%}。按计算基数重算年度规则，{st.book.persons:,} 人中 {recomputed:,} "
            f"人与结算支付分毫不差。"
        )
    else:
        pricing = (
            "premiums and fees as written in the contract files"
            if st.settings.as_written
            else f"each premium (fee under fund management) searched so the insurer's expected margin is {st.settings.target_margin:.1%}"
        )
        setup = report.paragraph(
            f"{city}: {st.book.enrollees:,} enrollees, {st.book.persons:,} with a serious-illness base; "
            f"{s.years:,} simulated years (seed {s.seed}): claim volume shock sd {s.volume_sd:.1%}, cost shock sd "
            f"{s.cost_sd:.1%}, cost trend {s.cost_trend:.1%}; incentive from a {s.claim_cut:.0%} cut in claim cost. "
            f"Pricing: {pricing}. Serious-illness payments per enrollee: mean {mean_claims:.2f} "
            f"yuan, coefficient of variation {claims.std() / claims.mean():.1%}. The yearly rule recomputed from the bases "
            f"gives the settled payment to the fen for {recomputed:,} of {st.book.persons:,} persons."
        )

    def mode(m: object) -> str:
        return _t(MODE_NAMES[m], lang)  # type: ignore[index]

    verdict_rows = [
        [_t(dim, lang), _t(DIMENSIONS[dim][0], lang), mode(st.best[dim]), mode(SEED_RANKING[dim]),
         _t("yes" if st.best[dim] is SEED_RANKING[dim] else "no", lang)]
        for dim in DIMENSIONS
    ]  # fmt: skip
    verdict = report.table([_t(h, lang) for h in ("dimension", "best means", "best here", "study", "agrees")], verdict_rows)
    verdict += report.paragraph(_t(
        "The study's qualitative ranking is reproduced."
        if st.reproduces_seed
        else "The study's ranking is NOT fully reproduced under these parameters.", lang
    ))  # fmt: skip
    side_rows = [
        ["risk: balance of sd (fund vs insurer)", *(f"{e.risk_balance:.3f}" for e in evs)],
        ["risk: insurer sd (yuan)", *(_yuan(e.insurer_sd) for e in evs)],
        ["risk: P(insurer loss)", *(_pct(e.insurer_p_loss) for e in evs)],
        ["risk: insurer 5% tail (mean of worst 5%, yuan)", *(_yuan(e.insurer_tail5) for e in evs)],
        ["risk: fund outlay sd (yuan)", *(_yuan(e.fund_sd) for e in evs)],
        ["risk: P(fund outlay > expected + 5%)", *(_pct(e.fund_p_overrun) for e in evs)],
        ["risk: fund 5% tail (expected − outlay, yuan)", *(_yuan(e.fund_tail5) for e in evs)],
        ["management cost: admin cost / claims", *(_pct(e.admin_cost_ratio) for e in evs)],
        ["management cost: fund's cost beyond claims / claims", *(_pct(e.fund_loading) for e in evs)],
        ["incentive: share of a claim-cost cut kept", *(_pct(e.incentive) for e in evs)],
        ["efficiency: settlement days", *(f"{e.settlement_days:g}" for e in evs)],
        ["efficiency: staff per 10k claims", *(f"{e.staff_per_10k_claims:g}" for e in evs)],
        ["efficiency: staff for the mean claims", *(f"{e.staff:.1f}" for e in evs)],
        ["insurer expected margin", *(_pct(e.expected_margin) for e in evs)],
        ["P(margin in [0, low-profit cap]): breakeven and low profit", *(_pct(e.p_low_profit) for e in evs)],
        ["premium / fee per enrollee (yuan)", *(f"{format_yuan(e.contract.premium_per_enrollee)} / {format_yuan(e.contract.fee_per_enrollee)}" for e in evs)],
    ]  # fmt: skip
    side_rows = [[_t(row[0], lang), *row[1:]] for row in side_rows]
    side = report.table([_t("measure", lang), *(mode(e.contract.mode) for e in evs)], side_rows)
    drivers = dimension_drivers(st.drivers, st.best)
    driver_html = ""
    for dim in DIMENSIONS:
        moved = drivers.get(dim, [])
        if zh:
            screened = (
                f" 单因素筛查（每个参数和冲击减半、加倍并重新定价，前 {min(500, s.years)} 年）："
                + ("；".join(moved) if moved else "没有单一变化改变最优模式") + "。"
                if st.drivers else ""
            )  # fmt: skip
        else:
            screened = (
                f" One-at-a-time screen (each parameter and shock halved and doubled, repriced, first "
                f"{min(500, s.years)} years): "
                + ("; ".join(moved) if moved else "no single change moves the best mode")
                + "."
                if st.drivers
                else ""
            )
        note = DRIVER_NOTES_ZH[dim] if zh else DRIVER_NOTES[dim]
        driver_html += f"<p class='note'><b>{html.escape(_t(dim, lang))}.</b> {html.escape(note + screened)}</p>"
    params = report.table(
        [_t(h, lang) for h in ("contract", "parameter", "value")],
        [r for e in evs for r in _parameter_rows(e.contract, lang)],
    )
    sections = [
        report.Section(_t("Set-up", lang), setup),
        report.Section(_t("Best mode on each of the four dimensions", lang), verdict + _dimensions_chart(evs, lang)),
        report.Section(_t("The four dimensions side by side", lang), side),
        report.Section(_t("Risk: the insurer's yearly result", lang), _distribution_chart(evs, st.book.enrollees, lang)),
        report.Section(_t("What drives the ranking", lang), driver_html),
        report.Section(_t("Contracts as evaluated", lang), params),
    ]
    return report.page(
        _t("Serious-illness cooperation modes — Monte Carlo evaluation", lang),
        _t("Fund management (Jiangyin), insurance contract (Zhanjiang), co-insurance joint office (Pinggu), as compared "
           "by a study of the three modes", lang),
        sections,
        lang,
    )


def write_study(st: Study, out: Path, city: str, lang: str = "en") -> dict[str, Path]:
    """report.html, evaluation.csv (one row per contract) and years.csv (one row per simulated year)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report": out / "report.html", "evaluation": out / "evaluation.csv", "years": out / "years.csv"}
    paths["report"].write_text(html_report(st, city, lang), encoding="utf-8")
    write_csv(paths["evaluation"], EVALUATION_COLUMNS, evaluation_rows(st.evaluations))
    headers, rows = year_rows(st)
    write_csv(paths["years"], headers, rows)
    return paths
