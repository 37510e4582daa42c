"""The policy lab report's revenue side: money in by source per scheme, each fund's result (income − outlay) under
the baseline and each reform, and what patients pay themselves in cash and from their individual accounts.

The figures come from yibao.lab.revenue (`Scenario.money`); the words of this section, in Chinese and English,
are here (`TEXT`), beside the section that uses them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from yibao import report as html_report
from yibao.lab.compare import Unit, change_text, value_text
from yibao.lab.metrics import ALL
from yibao.lab.report_charts import Scenario, layer_names, scheme_name
from yibao.lab.revenue import (
    ACCOUNT,
    CASH,
    CASH_AND_ACCOUNT,
    CONTRIBUTIONS_OUT,
    FUNDS,
    HUIMINBAO,
    PERSONAL_GROUPS,
    RETIREE_ACCOUNTS_OUT,
    revenue_group,
)

TEXT: dict[str, dict[str, str]] = {
    "money": {"en": "Money in and fund results", "zh": "基金收入与收支结果"},
    "money_none": {"en": "The scheme has no contribution rules (contributions.yaml): the revenue side is not shown.",
                   "zh": "该方案没有缴费规则（contributions.yaml），不显示收入部分。"},
    "money_intro": {
        "en": "Contributions and subsidies for the year, computed from the persons table and the contribution rules of "
              "{region} for {year} (every person enrolled all year, every contribution paid; an employee's wage is "
              "their annual income). Each fund's result is its income minus its outlays in each scenario; reforms "
              "change the outlays, not the income.",
        "zh": "全年缴费与补助，按人员表和{region}{year}年的缴费规则计算（每人全年参保、全部缴清；职工工资取其年收入）。"
              "各基金的收支结果为各情景下收入减支出；改革只改变支出，不改变收入。"},
    "revenue_title": {"en": "Money in by scheme and source", "zh": "按险种与来源的收入"},
    "funds_title": {"en": "Each fund's result (income − outlay)", "zh": "各基金收支结果（收入 − 支出）"},
    "personal_title": {"en": "What patients pay themselves: cash and individual accounts",
                       "zh": "患者自己支付的部分：现金与个人账户"},
    "scheme": {"en": "Scheme", "zh": "险种"},
    "source": {"en": "Source", "zh": "来源"},
    "payers": {"en": "Persons", "zh": "人数"},
    "amount": {"en": "Amount (yuan)", "zh": "金额（元）"},
    "share_of_revenue": {"en": "Share of money in", "zh": "占收入比例"},
    "total": {"en": "Total", "zh": "合计"},
    "fund": {"en": "Fund", "zh": "基金"},
    "income": {"en": "Income", "zh": "收入"},
    "outlay_of": {"en": "Outlay: {name}", "zh": "支出：{name}"},
    "result_of": {"en": "Result: {name}", "zh": "结果：{name}"},
    "result_change_of": {"en": "Change in result: {name}", "zh": "结果变化：{name}"},
    "payment": {"en": "Paid by patients", "zh": "患者支付"},
    "amount_of": {"en": "Amount: {name}", "zh": "金额：{name}"},
    "share_of": {"en": "Share of spending: {name}", "zh": "占总费用：{name}"},
    "huiminbao": {"en": "Huiminbao (a product)", "zh": "惠民保（商业产品）"},
    "source_individual": {"en": "Individual contribution", "zh": "个人缴费"},
    "source_assistance": {"en": "Paid by medical assistance", "zh": "医疗救助资助参保"},
    "source_government_subsidy_central": {"en": "Central government subsidy", "zh": "中央财政补助"},
    "source_government_subsidy_local": {"en": "Local government subsidy", "zh": "地方财政补助"},
    "source_employer": {"en": "Employer", "zh": "单位缴费"},
    "source_huiminbao_premium": {"en": "Huiminbao premiums", "zh": "惠民保保费"},
    "fund_urrbmi_pooled_fund": {"en": "Residents' pooled fund (URRBMI)", "zh": "城乡居民医保统筹基金"},
    "fund_uebmi_pooled_fund": {"en": "Employees' pooled fund (UEBMI)", "zh": "职工医保统筹基金"},
    "fund_serious_illness": {"en": "Serious-illness insurance", "zh": "大病保险"},
    "fund_assistance_fund": {"en": "Medical assistance fund", "zh": "医疗救助基金"},
    "fund_individual_accounts": {"en": "Individual accounts (UEBMI)", "zh": "职工医保个人账户"},
    "fund_huiminbao": {"en": "Huiminbao (the insurer)", "zh": "惠民保（保险公司）"},
    "personal_cash": {"en": "cash, net of individual accounts", "zh": "现金自付（已扣除个人账户支付）"},
    "personal_cash_not_netted": {"en": "cash (individual accounts not netted)", "zh": "现金自付（未扣除个人账户）"},
    "personal_individual_account": {"en": "paid from individual accounts", "zh": "个人账户支付"},
    "personal_cash_and_account": {"en": "cash and individual accounts", "zh": "现金与个人账户合计"},
    "funds_note": {
        "en": "Income by fund: the residents' contributions less the serious-illness share go to the residents' pooled "
              "fund; the employer's and employee's contributions less the account shares to the employees' pooled "
              "fund, whose outlays include the yearly credit to retirees' accounts ({retiree_credit} yuan in total). "
              "The assistance fund's outlays include the contributions it pays for its members "
              "({assisted} yuan); its income (budget, donations, lottery) is not in a persons table, so its result "
              "is what the budget must cover. Huiminbao is a commercial product: premiums against claims paid.",
        "zh": "各基金收入：居民缴费扣除大病保险部分进入居民医保统筹基金；单位和个人缴费扣除划入个人账户部分进入职工医保统筹基金，"
              "其支出含划入退休人员个人账户的金额（合计{retiree_credit}元）。医疗救助基金的支出含资助参保缴费（{assisted}元）；"
              "其收入（财政、捐赠、彩票公益金）不在人员表中，因此其结果即需财政弥补的数额。惠民保为商业产品：保费对比赔付。"},
    "accounts_netted": {
        "en": "Individual accounts are netted: the scheme's individual-account layer pays the personal part left within "
              "the catalogue from each member's balance ({opening} yuan at the start of the year), so out of pocket "
              "is the cash patients pay. Without netting, the share paid by patients would be {gross}; net of the "
              "accounts it is {net}.",
        "zh": "已扣除个人账户：方案的个人账户层从每位参保人的余额（年初合计{opening}元）支付目录内的个人负担，"
              "因此个人自付为患者支付的现金。不扣除个人账户时患者支付占比为{gross}；扣除后为{net}。"},
    "accounts_not_netted": {
        "en": "Individual accounts are NOT netted: {why} Out of pocket therefore counts what accounts would pay as "
              "patients' own money and overstates their cash ({gross} of spending).",
        "zh": "未扣除个人账户：{why}因此个人自付把本应由个人账户支付的部分也计为患者自付，高估了患者的现金支出（占总费用{gross}）。"},
    "why_no_layer": {"en": "the scheme has no individual-account layer.", "zh": "方案没有个人账户层。"},
    "why_no_balance": {"en": "the persons table carries no individual-account balances.",
                       "zh": "人员表没有个人账户余额。"},
    "out_contributions": {"en": "contributions paid for members", "zh": "资助参保缴费"},
    "out_retiree_accounts": {"en": "credits to retirees' accounts", "zh": "划入退休人员个人账户"},
}


def tr(key: str, lang: str, /, **values: object) -> str:
    return TEXT[key]["zh" if lang == "zh" else "en"].format(**values)


def _one_line(name: str, lang: str) -> str:
    return name.replace("\n", "" if lang == "zh" else " ")


def fund_name(fund: str, scenarios: Sequence[Scenario], lang: str) -> str:
    key = f"fund_{fund}"
    return tr(key, lang) if key in TEXT else layer_names(scenarios, lang).get(fund, fund)


def revenue_name(group: str, lang: str) -> str:
    """'urrbmi/government_subsidy_central' -> 'URRBMI residents: central government subsidy'."""
    scheme, _, source = group.partition("/")
    shown = tr("huiminbao", lang) if scheme == HUIMINBAO else _one_line(scheme_name(scheme, lang), lang)
    key = f"source_{source}"
    return f"{shown}{'：' if lang == 'zh' else ': '}{tr(key, lang) if key in TEXT else source}"


def accounts_netted(scenarios: Sequence[Scenario]) -> bool:
    return bool(scenarios[0].value("personal.accounts_netted", ALL))


def personal_name(group: str, scenarios: Sequence[Scenario], lang: str) -> str:
    if group == CASH and not accounts_netted(scenarios):
        return tr("personal_cash_not_netted", lang)
    return tr(f"personal_{group}", lang)


def group_label(metric: str, group: str, scenarios: Sequence[Scenario], lang: str) -> str | None:
    """The group's name for a revenue-side figure, or None for other metrics."""
    if metric.startswith("personal.") and group in PERSONAL_GROUPS:
        return personal_name(group, scenarios, lang)
    if metric.startswith("fund."):
        return fund_name(group, scenarios, lang)
    if metric in ("revenue.amount", "revenue.payers"):
        return revenue_name(group, lang)
    if metric == "revenue.total" and group != ALL:
        return tr("huiminbao", lang) if group == HUIMINBAO else _one_line(scheme_name(group, lang), lang)
    return None


def headline_money_keys(scenarios: Sequence[Scenario]) -> list[tuple[str, str]]:
    if scenarios[0].money is None:
        return []
    return [("personal.share", CASH), ("personal.share", CASH_AND_ACCOUNT)]


def fund_keys(scenarios: Sequence[Scenario]) -> list[str]:
    seen: list[str] = []
    for s in scenarios:
        if s.money is not None:
            seen += [f for f in s.money.results["fund"].to_list() if f not in seen]
    return [f for f in FUNDS if f in seen] + [f for f in seen if f not in FUNDS]


# --- the section ---------------------------------------------------------------------------------------------------


def _revenue_table(scenario: Scenario, lang: str) -> str:
    assert scenario.money is not None
    revenue = scenario.money.revenue
    whole = int(revenue["amount"].sum())
    rows = [
        [revenue_name(revenue_group(scheme, source), lang), value_text(Unit.COUNT, payers),
         value_text(Unit.YUAN, amount), value_text(Unit.SHARE, amount / whole if whole else None)]
        for scheme, source, payers, amount in revenue.iter_rows()
    ]  # fmt: skip
    rows.append([tr("total", lang), "", value_text(Unit.YUAN, whole), value_text(Unit.SHARE, 1.0 if whole else None)])
    headers = [f"{tr('scheme', lang)} / {tr('source', lang)}", tr("payers", lang), tr("amount", lang),
               tr("share_of_revenue", lang)]  # fmt: skip
    return html_report.table(headers, rows)


def _funds_table(scenarios: Sequence[Scenario], lang: str) -> str:
    """Income, the baseline's outlay and result, then each reform's result and its change (a reform's outlay is
    the income minus its result: not repeated, so the table stays narrow)."""
    with_money = [s for s in scenarios if s.money is not None]
    base = with_money[0]
    headers = [tr("fund", lang), tr("income", lang), tr("outlay_of", lang, name=base.short(lang)),
               tr("result_of", lang, name=base.short(lang))]  # fmt: skip
    for s in with_money[1:]:
        headers += [tr("result_of", lang, name=s.short(lang)), tr("result_change_of", lang, name=s.short(lang))]
    rows = []
    for fund in fund_keys(with_money):
        row = [
            fund_name(fund, scenarios, lang),
            value_text(Unit.YUAN, base.value("fund.income", fund)),
            value_text(Unit.YUAN, base.value("fund.outlay", fund)),
            value_text(Unit.YUAN, base.value("fund.result", fund)),
        ]
        for s in with_money[1:]:
            before, after = base.value("fund.result", fund), s.value("fund.result", fund)
            row.append(value_text(Unit.YUAN, after))
            row.append(change_text(Unit.YUAN, None if before is None or after is None else after - before))
        rows.append(row)
    return html_report.table(headers, rows)


def _personal_table(scenarios: Sequence[Scenario], lang: str) -> str:
    with_money = [s for s in scenarios if s.money is not None]
    headers = [tr("payment", lang)]
    for s in with_money:
        headers += [tr("amount_of", lang, name=s.short(lang)), tr("share_of", lang, name=s.short(lang))]
    rows = []
    for group in (CASH, ACCOUNT, CASH_AND_ACCOUNT):
        row = [personal_name(group, scenarios, lang)]
        for s in with_money:
            row += [value_text(Unit.YUAN, s.value("personal.amount", group)),
                    value_text(Unit.SHARE, s.value("personal.share", group))]  # fmt: skip
        rows.append(row)
    return html_report.table(headers, rows)


def _accounts_note(scenario: Scenario, lang: str) -> str:
    money = scenario.money
    assert money is not None
    p = money.personal
    gross = value_text(Unit.SHARE, p.cash_and_account / p.total_spending if p.total_spending else None)
    net = value_text(Unit.SHARE, p.cash / p.total_spending if p.total_spending else None)
    if p.accounts_netted:
        opening = value_text(Unit.YUAN, money.income.opening_account_balances or 0)
        return html_report.paragraph(tr("accounts_netted", lang, opening=opening, gross=gross, net=net))
    has_layer = "individual_account" in {layer.kind.value for layer in scenario.scheme.layers}
    why = tr("why_no_balance" if has_layer else "why_no_layer", lang)
    return html_report.paragraph(tr("accounts_not_netted", lang, why=why, gross=gross))


def money_section(scenarios: Sequence[Scenario], lang: str) -> html_report.Section:
    baseline = scenarios[0]
    money = baseline.money
    if money is None:
        return html_report.Section(tr("money", lang), html_report.paragraph(tr("money_none", lang)))
    scheme = baseline.scheme
    outlays = money.outlays
    note = tr(
        "funds_note", lang,
        retiree_credit=value_text(Unit.YUAN, outlays.get("uebmi_pooled_fund", {}).get(RETIREE_ACCOUNTS_OUT, 0)),
        assisted=value_text(Unit.YUAN, outlays.get("assistance_fund", {}).get(CONTRIBUTIONS_OUT, 0)),
    )  # fmt: skip
    body = (
        html_report.paragraph(tr("money_intro", lang, region=scheme.title.get(lang), year=scheme.year))
        + f"<h3>{html.escape(tr('revenue_title', lang))}</h3>"
        + _revenue_table(baseline, lang)
        + f"<h3>{html.escape(tr('funds_title', lang))}</h3>"
        + html_report.paragraph(note)
        + _funds_table(scenarios, lang)
        + f"<h3>{html.escape(tr('personal_title', lang))}</h3>"
        + _accounts_note(baseline, lang)
        + _personal_table(scenarios, lang)
    )
    return html_report.Section(tr("money", lang), body)
