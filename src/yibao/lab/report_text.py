"""The policy lab report's words in Chinese and English: one table, so the two languages stay in step.

`tr(key, lang, **values)` gives a message; `metric_label(metric, lang)` a figure's name (the English
names are those of `yibao.lab.compare`, also used by the files and the console).
"""

from __future__ import annotations

from yibao.lab.compare import label
from yibao.lab.metrics import CHE_THRESHOLDS_PCT

TEXT: dict[str, dict[str, str]] = {
    "page_title": {"en": "yibao policy lab", "zh": "yibao 政策实验室"},
    "subtitle": {"en": "{scheme} ({name}, {year}) — baseline and {reforms}", "zh": "{scheme}（{name}，{year}年）— 基线与{reforms}"},
    "no_reform": {"en": "no reform", "zh": "无改革方案"},
    "baseline": {"en": "Baseline", "zh": "基线"},
    "baseline_short": {"en": "baseline", "zh": "基线"},
    "out_of_pocket": {"en": "Out of pocket", "zh": "个人自付"},
    "million_yuan": {"en": "million yuan", "zh": "百万元"},
    "thousand_yuan": {"en": "thousand yuan", "zh": "千元"},
    "yuan": {"en": "yuan", "zh": "元"},
    # charts
    "spending_axis": {"en": "Spending ({unit})", "zh": "医疗费用（{unit}）"},
    "stack_title": {"en": "Who pays the year's medical bills: payments by layer and out of pocket",
                    "zh": "全年医疗费用由谁支付：各层支付与个人自付"},
    "stack_legend": {"en": "Payer (in payment order)", "zh": "支付方（按支付顺序）"},
    "stack_caption": {"en": "Stacked bars: each layer's payments and the patients' out-of-pocket share, in {unit}; "
                            "labels give each payer's share of total spending. Right: the smaller layers on their own "
                            "scale.",
                      "zh": "堆积柱：各层支付与患者自付，单位{unit}；标签为各支付方占总费用的比例。右图：较小各层按各自刻度放大显示。"},
    "small_layers": {"en": "The smaller layers, enlarged", "zh": "较小各层（放大）"},
    "all_claims": {"en": "All\nclaims", "zh": "全部\n结算"},
    "facility_level": {"en": "Facility\nlevel {g}", "zh": "{g}级\n医疗机构"},
    "scheme_urrbmi": {"en": "URRBMI\nresidents", "zh": "城乡居民\n医保"},
    "scheme_uebmi_employee": {"en": "UEBMI\nemployees", "zh": "职工医保\n在职"},
    "scheme_uebmi_retiree": {"en": "UEBMI\nretirees", "zh": "职工医保\n退休"},
    "rate_total_title": {"en": "Share of total spending paid by the layers", "zh": "各层支付占总费用的比例"},
    "rate_in_policy_title": {"en": "Share of in-policy spending paid by the layers", "zh": "各层支付占政策范围内费用的比例"},
    "rate_axis": {"en": "Reimbursement rate", "zh": "实际报销比例"},
    "rate_xlabel": {"en": "Scheme of the patient / facility level of the claim", "zh": "患者参保类型 / 就诊机构级别"},
    "rate_suptitle": {"en": "Effective reimbursement rate by scheme and facility level", "zh": "按参保类型与机构级别的实际报销比例"},
    "rate_caption": {"en": "Payments of all layers as a percentage of spending: total (top) and in-policy (bottom).",
                     "zh": "各层支付占费用的百分比：总费用（上）与政策范围内费用（下）。"},
    "share_person_years": {"en": "Share of person-years", "zh": "人年占比"},
    "oop_band_xlabel": {"en": "Yearly out-of-pocket (yuan)", "zh": "年度个人自付（元）"},
    "oop_band_title": {"en": "How much people pay themselves in a year", "zh": "一年中个人自付多少"},
    "oop_axis": {"en": "OOP per person-year ({unit})", "zh": "每人年自付（{unit}）"},
    "percentile_xlabel": {"en": "Percentile of person-years", "zh": "人年百分位"},
    "heavy_tail": {"en": "The heavy tail", "zh": "重尾"},
    "oop_suptitle": {"en": "Out-of-pocket distribution (every person, with or without claims)",
                     "zh": "个人自付分布（全部人员，无论是否就医）"},
    "oop_caption": {"en": "Left: person-years by band of yearly out-of-pocket spending. Right: percentiles (nearest "
                          "rank) of yearly out-of-pocket spending.",
                    "zh": "左：按年度自付区间的人年分布。右：年度自付的百分位数（最近秩）。"},
    "q1_poorest": {"en": "Q1\npoorest", "zh": "Q1\n最低"},
    "q5_richest": {"en": "Q5\nrichest", "zh": "Q5\n最高"},
    "all": {"en": "All", "zh": "全体"},
    "mean": {"en": "mean", "zh": "均值"},
    "median": {"en": "median", "zh": "中位数"},
    "che_panel": {"en": "Out-of-pocket above {t}% of annual income", "zh": "自付超过年收入的{t}%"},
    "income_quintile": {"en": "Income quintile", "zh": "收入五分位组"},
    "che_suptitle": {"en": "Catastrophic health expenditure by income quintile (SDG 3.8.2 style)",
                     "zh": "按收入五分位的灾难性卫生支出（参照SDG 3.8.2）"},
    "che_caption": {"en": "Share of person-years whose yearly out-of-pocket spending exceeds 10% (left) and 25% "
                          "(right) of annual income.",
                    "zh": "年度自付超过年收入10%（左）和25%（右）的人年占比。"},
    "population_share": {"en": "Population share", "zh": "人口占比"},
    "benefit_axis": {"en": "Share of all payments received", "zh": "获得的支付占比"},
    "benefit_title": {"en": "Benefit incidence: who receives the payments of all layers", "zh": "受益归宿：谁获得了各层支付"},
    "benefit_caption": {"en": "Each quintile's share of all layers' payments; the red marks are its share of the "
                              "population (above the mark: the quintile receives more than its head count).",
                        "zh": "各五分位组获得的各层支付占比；红线为其人口占比（高于红线：该组获得的多于其人数占比）。"},
    "change_payments": {"en": "Change in payments ({unit})", "zh": "支付变化（{unit}）"},
    "change_who_pays": {"en": "Change in who pays", "zh": "支付方的变化"},
    "above_income": {"en": "> {t}% of income", "zh": "> 收入的{t}%"},
    "change_pp": {"en": "Change (percentage points)", "zh": "变化（百分点）"},
    "change_che": {"en": "Change in catastrophic spending", "zh": "灾难性支出的变化"},
    "against_baseline": {"en": "{reform} against the baseline", "zh": "{reform}与基线比较"},
    "delta_caption": {"en": "Reform minus baseline. Left: change in each payer's total, in {unit}. Right: change in "
                            "catastrophic spending incidence, in percentage points.",
                      "zh": "改革减基线。左：各支付方总额的变化（{unit}）。右：灾难性支出发生率的变化（百分点）。"},
    # tables
    "quintile_of": {"en": "{label}, quintile {q}", "zh": "{label}，{q}组"},
    "facility_level_of": {"en": "facility level {key}", "zh": "{key}级医疗机构"},
    "care_of": {"en": "{key} care", "zh": "{key}"},
    "change_of": {"en": "Change: {name}", "zh": "变化：{name}"},
    "quintile": {"en": "Quintile", "zh": "五分位组"},
    "income_range": {"en": "Income range (yuan)", "zh": "收入范围（元）"},
    "person_years": {"en": "Person-years", "zh": "人年"},
    "zero_income": {"en": "Zero income", "zh": "零收入"},
    "layer": {"en": "Layer", "zh": "层"},
    "enrollees": {"en": "Enrollees", "zh": "覆盖人数"},
    "per_enrollee": {"en": "Per enrollee-year: {name}", "zh": "每覆盖人年：{name}"},
    "per_capita": {"en": "Per capita-year: {name}", "zh": "每人年：{name}"},
    # the page
    "intro": {"en": "{persons} persons, {claims} claims, {person_years} person-years. Every scenario settles the "
                    "same claims of the same people; only the scheme differs.",
              "zh": "{persons}人，{claims}笔结算，{person_years}人年。各情景结算同一批人的同一批费用，只有方案不同。"},
    "at_a_glance": {"en": "At a glance", "zh": "概览"},
    "scenario": {"en": "Scenario", "zh": "情景"},
    "name": {"en": "Name (in the tables)", "zh": "名称（表中所用）"},
    "layers_order": {"en": "Layers in payment order", "zh": "各层（按支付顺序）"},
    "what_changes": {"en": "What changes", "zh": "改变了什么"},
    "figure": {"en": "Figure", "zh": "指标"},
    "who_pays": {"en": "Who pays: payments by layer", "zh": "由谁支付：各层支付"},
    "payer": {"en": "Payer", "zh": "支付方"},
    "rates": {"en": "Effective reimbursement rates", "zh": "实际报销比例"},
    "group": {"en": "Group", "zh": "分组"},
    "oop_distribution": {"en": "Out-of-pocket distribution", "zh": "个人自付分布"},
    "oop_first": {"en": "Person-year out-of-pocket", "zh": "每人年自付"},
    "che": {"en": "Catastrophic health expenditure by income quintile", "zh": "按收入五分位的灾难性卫生支出"},
    "benefit": {"en": "Benefit incidence by income quintile", "zh": "按收入五分位的受益归宿"},
    "outlays": {"en": "Fund outlays per enrollee", "zh": "每覆盖人的基金支出"},
    "outlays_note": {"en": "Each layer's payments divided by the persons it covers (those meeting its eligibility by "
                           "scheme, assistance category and Huiminbao enrolment) per year, and by the whole population.",
                     "zh": "各层每年的支付除以其覆盖人数（按参保类型、救助类别和惠民保参保确定的符合条件者），以及除以全体人口。"},
    "reform": {"en": "Reform: {title}", "zh": "改革方案：{title}"},
    "reform_col": {"en": "Reform", "zh": "改革"},
    "change": {"en": "Change", "zh": "变化"},
    "relative": {"en": "Relative", "zh": "相对变化"},
    "method": {"en": "Method and files", "zh": "方法与文件"},
    "files": {"en": "Files beside this page: {files}.", "zh": "与本页同目录的文件：{files}。"},
    "note_population": {
        "en": "Population: every person of the persons table in every calendar year that has claims (person-years); "
              "a person without claims counts with zero out-of-pocket spending.",
        "zh": "人群：人员表中的每个人在每个有结算的日历年各计一个人年；没有就医的人按自付为零计入。"},
    "note_quintiles": {
        "en": "Income quintiles: quintiles of annual income over all persons; equal incomes share a quintile (each "
              "person takes the lowest rank of their income), so quintiles can differ in size when many persons share "
              "an income.",
        "zh": "收入五分位：按全部人员的年收入分组；收入相同者归入同一组（取该收入的最低秩），因此许多人收入相同时各组人数可能不等。"},
    "note_che": {
        "en": "Catastrophic health expenditure: yearly out-of-pocket spending strictly above 10% or 25% of annual "
              "income (annual income stands in for the household consumption of SDG 3.8.2). A person with zero income "
              "is counted as catastrophic if they paid anything out of pocket; their number is shown in the table.",
        "zh": "灾难性卫生支出：年度自付严格高于年收入的10%或25%（以年收入代替SDG 3.8.2中的家庭消费）。零收入者只要有任何自付即计为灾难性支出；其人数见表。"},
    "note_rates": {
        "en": "Effective reimbursement rate: all layers' payments divided by total spending, or by in-policy spending "
              "(class A plus class B after the first-pay share). Because Huiminbao can pay outside the catalogue, the "
              "in-policy rate can exceed 100% for some groups.",
        "zh": "实际报销比例：各层支付合计除以总费用，或除以政策范围内费用（甲类加乙类扣除先行自付部分）。由于惠民保可支付目录外费用，部分分组的政策范围内报销比例可能超过100%。"},
    "note_money": {
        "en": "Percentiles are nearest-rank: amounts some person-year actually paid. Money is computed in exact fen and "
              "shown as yuan with two decimals; shares are percentages and their changes percentage points (pp).",
        "zh": "百分位数取最近秩，即某个人年实际支付的金额。金额按分精确计算，以两位小数的元显示；比例为百分数，其变化以百分点（pp）表示。"},
}

METRIC_ZH: dict[str, str] = {
    "population.persons": "人数",
    "population.person_years": "人年",
    "population.claims": "结算笔数",
    "spending.total": "医疗费用总额",
    "spending.in_policy": "政策范围内费用",
    "spending.self_pay": "全自费（目录外）",
    "spending.special_drugs": "特药",
    "spending.preselfpay": "乙类先行自付",
    "payment.amount": "支付",
    "payment.share": "占总费用比例",
    "payment.all_layers": "各层支付合计",
    "reimbursement.rate_total": "实际报销比例（占总费用）",
    "reimbursement.rate_in_policy": "实际报销比例（占政策范围内费用）",
    "oop.person_year": "每人年自付",
    "oop.band_share": "自付在该区间的人年占比（元）",
    **{f"che.{t}": f"灾难性支出（自付 > 收入的{t}%）" for t in CHE_THRESHOLDS_PCT},
    "che.zero_income": "零收入人年",
    "benefit.paid": "获得的支付",
    "benefit.share": "获得的支付占比",
    "outlay.enrollees": "覆盖人数",
    "outlay.per_enrollee": "每覆盖人年支出",
    "outlay.per_capita": "每人年支出",
    "revenue.amount": "收入",
    "revenue.payers": "缴费或被资助人数",
    "revenue.total": "收入合计",
    "fund.income": "基金收入",
    "fund.outlay": "基金支出",
    "fund.result": "基金收支结果（收入 − 支出）",
    "fund.opening_balance": "年初余额",
    "personal.amount": "患者支付",
    "personal.share": "患者支付占总费用比例",
    "personal.accounts_netted": "已扣除个人账户（1 = 是）",
}


def tr(key: str, lang: str, /, **values: object) -> str:
    return TEXT[key]["zh" if lang == "zh" else "en"].format(**values)


def metric_label(metric: str, lang: str) -> str:
    return METRIC_ZH.get(metric, label(metric)) if lang == "zh" else label(metric)
