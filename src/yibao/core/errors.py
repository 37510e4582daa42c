"""Errors a user can see, each with a stable code (openIMIS-style message keys), and the one catalogue of
those codes: for each, the HTTP status it answers with and a message in zh-CN and en.

The catalogue lives here, in the rules core, because every layer raises these errors: the core itself
(schemes, inputs), the services and the HTTP layer. Outer layers read it (the API's error bodies, the
`yibao errors` command that writes docs/operations.md's table); the core imports nothing outside itself.
A raise site names its code (`code="claim.not_found"`) and may add an English `message` with the
particulars; tests/test_error_catalogue.py fails on any code raised in the source that is not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Lang = Literal["zh", "en"]


@dataclass(frozen=True, slots=True)
class ErrorKind:
    """What a code means to a person: the HTTP status it answers with and its message in each language."""

    status: int
    en: str
    zh: str

    def message(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


CATALOGUE: Mapping[str, ErrorKind] = {
    "yibao.error": ErrorKind(400, "The request was refused", "请求被拒绝"),
    "request.invalid": ErrorKind(422, "The request is not valid", "请求内容不符合要求"),
    "request.bad": ErrorKind(400, "The request is malformed", "请求格式错误"),
    "route.not_found": ErrorKind(404, "No such address", "没有这个地址"),
    "method.not_allowed": ErrorKind(405, "This method is not allowed here", "此地址不支持该请求方法"),
    "internal.error": ErrorKind(500, "An unexpected error occurred; nothing was changed", "发生意外错误，未做任何更改"),
    "store.conflict": ErrorKind(409, "A concurrent request changed the same record; retry", "另一请求同时修改了同一记录，请重试"),
    "auth.missing_token": ErrorKind(401, "Log in first", "请先登录"),
    "auth.bad_credentials": ErrorKind(401, "Wrong user name or password", "用户名或密码错误"),
    "auth.expired": ErrorKind(401, "The access token has expired; log in again", "访问令牌已过期，请重新登录"),
    "auth.invalid_token": ErrorKind(401, "Invalid access token", "访问令牌无效"),
    "auth.unauthenticated": ErrorKind(401, "Not logged in", "未登录"),
    "auth.forbidden": ErrorKind(403, "Your role may not do this", "您的角色无权执行此操作"),
    "auth.out_of_scope": ErrorKind(403, "Outside your scope", "超出您的管辖范围"),
    "auth.weak_password": ErrorKind(422, "The password is too weak", "密码强度不足"),
    "auth.password_reused": ErrorKind(422, "The new password equals the current one", "新密码不能与当前密码相同"),
    "auth.wrong_password": ErrorKind(403, "The current password is wrong", "当前密码错误"),
    "auth.throttled": ErrorKind(429, "Too many failed logins; retry after the time given", "登录失败次数过多，请稍后再试"),
    "auth.disabled": ErrorKind(403, "This account is disabled", "该账户已停用"),
    "auth.bad_refresh": ErrorKind(401, "The refresh token is invalid, used, expired or revoked; log in again",
                                  "刷新令牌无效、已使用、已过期或已撤销，请重新登录"),
    "user.not_found": ErrorKind(404, "No such user", "没有该用户"),
    "list.bad_range": ErrorKind(422, "The date range ends before it begins", "日期范围的结束早于开始"),
    "store.missing": ErrorKind(503, "No operations database here; run yibao db upgrade", "此处没有业务数据库；请运行 yibao db upgrade"),
    "serve.port_busy": ErrorKind(503, "Cannot listen on the port: another process uses it", "无法监听该端口：已被其他进程占用"),
    "serve.cannot_listen": ErrorKind(503, "Cannot listen on the host and port given", "无法在指定的地址和端口上监听"),
    "user.bad_role": ErrorKind(422, "Unknown role", "未知的角色"),
    "user.person_missing": ErrorKind(422, "A member user names the person", "参保人用户须指明本人"),
    "user.facility_missing": ErrorKind(422, "A facility user names the facility", "医疗机构用户须指明机构"),
    "user.regions_missing": ErrorKind(422, "A bureau officer is scoped to one or more regions", "经办人员须指定一个或多个统筹区"),
    "user.layer_missing": ErrorKind(422, "An insurer user names the layer it underwrites", "保险公司用户须指明承保层次"),
    "user.bad_layer": ErrorKind(422, "Unknown layer kind", "未知的保障层次"),
    "user.exists": ErrorKind(409, "The user exists", "用户已存在"),
    "region.exists": ErrorKind(409, "The region exists", "统筹区已存在"),
    "region.not_found": ErrorKind(404, "No such region", "统筹区不存在"),
    "region.unknown_scheme": ErrorKind(422, "No built-in scheme by that name", "没有该名称的内置方案"),
    "facility.exists": ErrorKind(409, "The facility exists", "医疗机构已存在"),
    "facility.not_found": ErrorKind(404, "No such facility", "医疗机构不存在"),
    "employer.bad_uscc": ErrorKind(422, "The unified social credit code is not valid", "统一社会信用代码无效"),
    "employer.exists": ErrorKind(409, "The employer exists", "用人单位已存在"),
    "employer.not_found": ErrorKind(404, "No such employer", "用人单位不存在"),
    "household.not_found": ErrorKind(404, "No such household", "家庭户不存在"),
    "person.bad_ric": ErrorKind(422, "The resident identity number is not valid", "居民身份证号码无效"),
    "person.birth_date_mismatch": ErrorKind(422, "The birth date does not match the identity number", "出生日期与身份证号码不符"),
    "person.sex_mismatch": ErrorKind(422, "The sex does not match the identity number", "性别与身份证号码不符"),
    "person.exists": ErrorKind(409, "The person or identity number is already registered", "该人员或身份证号码已登记"),
    "person.not_found": ErrorKind(404, "No such person", "人员不存在"),
    "assistance.bad_dates": ErrorKind(422, "The end date is before the start date", "截止日期早于起始日期"),
    "enrolment.exists": ErrorKind(409, "Already enrolled for the year", "该年度已参保"),
    "enrolment.inactive": ErrorKind(422, "No active enrolment for the year", "该年度无有效参保"),
    "enrolment.wage_missing": ErrorKind(422, "A UEBMI employee's enrolment needs the yearly wage", "职工医保参保须提供年工资"),
    "import.invalid": ErrorKind(422, "Bad rows; nothing was imported", "存在错误行，未导入任何数据"),
    "import.duplicate": ErrorKind(422, "A person appears twice in the file", "文件中同一人员出现两次"),
    "contribution.not_found": ErrorKind(404, "No such contribution", "缴费记录不存在"),
    "contribution.not_due": ErrorKind(409, "The contribution is not due", "该笔缴费不在应缴状态"),
    "payment.already_paid": ErrorKind(409, "Already paid", "已缴费"),
    "payment.amount_mismatch": ErrorKind(422, "The amount does not match what is due", "金额与应缴金额不符"),
    "payment.bad_signature": ErrorKind(422, "The notification's signature does not verify", "通知签名验证失败"),
    "payment.cancelled": ErrorKind(409, "The contribution was cancelled; nothing is owed", "该笔缴费已撤销，无需缴纳"),
    "payment.channel": ErrorKind(422, "Unknown payment channel", "未知的缴费渠道"),
    "payment.malformed": ErrorKind(422, "Malformed payment notification", "支付通知格式错误"),
    "payment.reference_reused": ErrorKind(409, "The payment reference was already used", "支付流水号已被使用"),
    "card.not_found": ErrorKind(404, "No such card", "医保电子凭证不存在"),
    "card.expired": ErrorKind(422, "The card has expired", "医保电子凭证已过期"),
    "card.invalid": ErrorKind(422, "The card is not valid", "医保电子凭证无效"),
    "card.revoked": ErrorKind(422, "The card was revoked", "医保电子凭证已作废"),
    "claim.exists": ErrorKind(409, "The claim exists", "结算单已存在"),
    "claim.idempotency_key_reused": ErrorKind(409, "This idempotency key was used for a different bill", "该幂等键已用于另一张账单"),
    "claim.not_found": ErrorKind(404, "No such claim", "结算单不存在"),
    "claim.not_settled": ErrorKind(409, "The claim is not settled", "结算单不处于已结算状态"),
    "claim.year_change": ErrorKind(422, "A correction cannot move a claim to another year", "更正不能把结算单移到另一年度"),
    "claim.facility_mismatch": ErrorKind(422, "The bill's facility level or region differs from the facility's registration", "账单的机构等级或统筹区与机构登记不符"),
    "ledger.not_fen": ErrorKind(422, "A posting amount must be integer fen", "记账金额必须为整数分"),
    "ledger.unbalanced": ErrorKind(422, "The entry does not balance", "分录借贷不平衡"),
    "scheme.invalid": ErrorKind(422, "The scheme cannot be used", "方案无法使用"),
    "scheme.not_found": ErrorKind(422, "No such scheme or reform", "方案或改革方案不存在"),
    "scheme.bad_yaml": ErrorKind(422, "The scheme file is not valid YAML", "方案文件不是有效的 YAML"),
    "scheme.no_age": ErrorKind(422, "A condition with an age limit needs the claimant's age", "含年龄条件的规则需要参保人年龄"),
    "scheme.bad_base": ErrorKind(422, "A layer's base refers to a layer that is not earlier", "某层次的计算基数引用了非前序层次"),
    "scheme.duplicate_layer": ErrorKind(422, "A layer appears twice", "层次重复"),
    "scheme.duplicate_part": ErrorKind(422, "A layer has duplicate parts", "层次内部分重复"),
    "scheme.no_value": ErrorKind(422, "No parameter value in force on that day", "该日无生效的参数值"),
    "scheme.unknown_layer": ErrorKind(422, "The scheme has no such layer", "方案中没有该层次"),
    "batch.not_sorted": ErrorKind(422, "Claim columns must be sorted by person and service date", "结算数据须按人员和就诊日期排序"),
    "batch.table_spent": ErrorKind(422, "This claims table was already settled with reuse", "该结算表已被复用结算"),
    "input.invalid": ErrorKind(422, "Bad input data", "输入数据有误"),
    "input.bad_file": ErrorKind(422, "Not a readable file", "文件无法读取"),
    "input.bad_option": ErrorKind(422, "Options that do not fit together", "选项组合无效"),
    "input.bad_output": ErrorKind(422, "Not a usable output path", "输出路径不可用"),
    "input.duplicate": ErrorKind(422, "A value appears twice", "值重复出现"),
    "input.missing": ErrorKind(422, "A required option is missing", "缺少必需的选项"),
    "input.missing_column": ErrorKind(422, "A column is missing", "缺少列"),
    "input.negative_amount": ErrorKind(422, "A claim has a negative amount", "结算单金额为负"),
    "input.no_output": ErrorKind(422, "No output was asked for", "未指定输出"),
    "input.not_a_folder": ErrorKind(422, "A file was given where a folder is wanted", "此处应为文件夹，给出的是文件"),
    "input.not_a_file": ErrorKind(422, "A folder was given where a file is wanted", "此处应为文件，给出的是文件夹"),
    "input.missing_file": ErrorKind(422, "No such file", "文件不存在"),
    "input.unknown_product": ErrorKind(422, "A policy names an unknown person or product", "保单中的人员或产品不存在"),
    "input.overlapping_policies": ErrorKind(422, "Two policies of the same product overlap", "同一产品的两张保单期间重叠"),
    "product.invalid": ErrorKind(422, "The product file cannot be used", "产品文件无法使用"),
    "product.not_found": ErrorKind(422, "No such product", "产品不存在"),
    "product.no_indemnity": ErrorKind(422, "The product has no indemnity benefit to model", "该产品没有可建模的费用补偿责任"),
    "input.no_parts": ErrorKind(422, "No parts in the partitioned dataset", "分区数据集中没有分区文件"),
    "input.not_found": ErrorKind(422, "No such file", "文件不存在"),
    "input.not_partitioned": ErrorKind(422, "The claims are not partitioned by person", "结算单未按人员分区"),
    "input.out_of_scheme": ErrorKind(422, "A value outside the scheme", "超出方案范围的值"),
    "input.too_large": ErrorKind(422, "A person-year's bills exceed what the batch path holds exactly", "个人年度费用超出批量路径的精确范围"),
    "input.unknown_claim": ErrorKind(422, "No such claim in the claims table", "结算表中没有该结算单"),
    "input.unknown_person": ErrorKind(422, "A claim names an unknown person", "结算单引用了未知人员"),
    "cli.conflicting_options": ErrorKind(422, "Options that exclude each other", "互斥的选项"),
    "cli.missing_options": ErrorKind(422, "Required options are missing", "缺少必需的选项"),
    "synth.invalid": ErrorKind(422, "The synthetic population cannot be made with these arguments", "无法按这些参数生成合成人口"),
    "contracts.invalid": ErrorKind(422, "The contract cannot be used", "合同无法使用"),
    "contracts.not_found": ErrorKind(404, "No such built-in contract", "没有该内置合同"),
    "contracts.already_posted": ErrorKind(409, "The contract is already posted for the region-year", "该合同已为该统筹区年度入账"),
    "contracts.year_already_posted": ErrorKind(409, "The region-year is already reconciled under another contract", "该统筹区年度已按另一合同结算"),
    "contracts.changed_since_posting": ErrorKind(409, "The contract no longer gives the figures posted", "合同已不再得出已入账的数字"),
    "contracts.bad_book": ErrorKind(422, "The book is not valid", "业务数据无效"),
    "contracts.bad_experience": ErrorKind(422, "Enrollees, claims paid and claims must not be negative", "参保人数、赔付金额和赔案数不能为负"),
    "contracts.bad_shocks": ErrorKind(422, "The shocks are not valid", "冲击参数无效"),
    "contracts.empty_book": ErrorKind(422, "The book has no person with a serious-illness base", "业务数据中没有大病保险基数人员"),
    "contracts.name_too_long": ErrorKind(422, "The posting reference is too long", "入账参考号过长"),
    "contracts.no_serious_illness_layer": ErrorKind(422, "The region's scheme has no serious-illness layer", "统筹区方案没有大病保险层次"),
    "contracts.nothing_to_post": ErrorKind(422, "Nothing to post for the region-year", "该统筹区年度无可入账内容"),
    "contracts.region_year_mismatch": ErrorKind(422, "The contract is for another region-year", "合同属于另一统筹区年度"),
    "contracts.target_unreachable": ErrorKind(422, "No value reaches the target margin", "没有取值能达到目标利润率"),
    "contracts.unsupported_layer": ErrorKind(422, "The contract's layer is not supported", "不支持该合同的保障层次"),
    "contracts.which_year": ErrorKind(422, "The claims cover several years: name the contract year", "结算单跨多个年度，请指明合同年度"),
    "mutual_aid.refused": ErrorKind(422, "The mutual-aid operation is refused", "互助操作被拒绝"),
    "mutual_aid.plan_invalid": ErrorKind(422, "The plan cannot be used", "互助计划无法使用"),
    "mutual_aid.plan_not_found": ErrorKind(404, "No such mutual-aid plan", "互助计划不存在"),
    "mutual_aid.plan_exists": ErrorKind(409, "The plan is already in force", "互助计划已生效"),
    "mutual_aid.plan_not_in_force": ErrorKind(422, "The plan is not yet in force", "互助计划尚未生效"),
    "mutual_aid.member_not_found": ErrorKind(404, "No such mutual-aid member", "互助成员不存在"),
    "mutual_aid.member_missing": ErrorKind(422, "Name the member", "请指明成员"),
    "mutual_aid.already_member": ErrorKind(409, "Already a member of the plan", "已是该计划成员"),
    "mutual_aid.not_a_member": ErrorKind(422, "Not an active member of the plan", "不是该计划的有效成员"),
    "mutual_aid.not_active": ErrorKind(422, "The membership is not active", "成员资格未生效"),
    "mutual_aid.age_not_eligible": ErrorKind(422, "Age outside the plan's joining ages", "年龄不在计划的加入年龄范围内"),
    "mutual_aid.age_not_covered": ErrorKind(422, "No payout at this age", "该年龄无给付"),
    "mutual_aid.health_declaration": ErrorKind(422, "The health declaration names a listed illness or treatment", "健康告知中有所列疾病或治疗"),
    "mutual_aid.credit_gate": ErrorKind(422, "The credit score is below the gate", "信用分低于准入门槛"),
    "mutual_aid.already_charged": ErrorKind(422, "Already charged for the period", "本期已分摊"),
    "mutual_aid.period_out_of_order": ErrorKind(422, "The period is before the last one", "该期早于最近一期"),
    "mutual_aid.over_year_cap": ErrorKind(422, "The charge would pass the yearly cap", "分摊将超过年度上限"),
    "mutual_aid.no_failed_deduction": ErrorKind(422, "No failed deduction to recover", "没有可补扣的失败扣款"),
    "mutual_aid.already_failed": ErrorKind(422, "The deduction already failed", "扣款已记为失败"),
    "mutual_aid.nothing_due": ErrorKind(422, "Nothing is owed for the period", "本期无应缴金额"),
    "mutual_aid.not_in_waiting_period": ErrorKind(422, "Not inside the waiting period", "不在等待期内"),
    "mutual_aid.in_waiting_period": ErrorKind(422, "Diagnosed before protection starts", "确诊日期早于保障开始日"),
    "mutual_aid.not_covered": ErrorKind(422, "Not an illness the plan covers", "不属于计划保障的疾病"),
    "mutual_aid.bad_date": ErrorKind(422, "A diagnosis date cannot be in the future", "确诊日期不能晚于今天"),
    "mutual_aid.claim_not_found": ErrorKind(404, "No such mutual-aid claim", "互助案件不存在"),
    "mutual_aid.claim_exists": ErrorKind(409, "The member already has a claim that is not denied", "该成员已有未被拒绝的案件"),
    "mutual_aid.claim_bad_transition": ErrorKind(422, "The claim cannot move to that step now", "案件当前不能进入该步骤"),
    "mutual_aid.claim_not_approved": ErrorKind(422, "The claim is not approved", "案件未获批准"),
    "mutual_aid.not_apportioned": ErrorKind(422, "The claim's period is not yet apportioned", "案件所属期尚未分摊"),
    "mutual_aid.already_apportioned": ErrorKind(422, "The claim was already funded", "案件已完成分摊"),
    "mutual_aid.not_claimant": ErrorKind(422, "Only the claimant may dispute a rejection", "只有申请人可对拒赔提出异议"),
    "mutual_aid.no_open_jury": ErrorKind(422, "The claim has no open jury", "案件没有进行中的评议团"),
    "mutual_aid.not_a_juror": ErrorKind(422, "Not seated on the jury", "不是该评议团成员"),
    "mutual_aid.juror_ineligible": ErrorKind(422, "The member may not sit on the jury", "该成员不能担任评议员"),
    "mutual_aid.jury_closed": ErrorKind(422, "The jury is closed", "评议已结束"),
    "mutual_aid.jury_not_valid": ErrorKind(422, "The jury has no valid verdict yet", "评议尚未形成有效结论"),
    "mutual_aid.double_vote": ErrorKind(422, "Already voted", "已投过票"),
    "mutual_aid.wrong_jury": ErrorKind(422, "The jury is for another claim", "评议团属于另一案件"),
    "mutual_aid.too_few_jurors": ErrorKind(422, "Too few eligible jurors", "合格评议员不足"),
    "mutual_aid.too_few_seats": ErrorKind(422, "Too few seats to reach a verdict", "评议席位不足以形成结论"),
    "mutual_aid.not_a_notice_day": ErrorKind(422, "Not a notice day of the plan", "不是计划的公示日"),
    "mutual_aid.period_not_found": ErrorKind(404, "No such apportioned period", "该分摊期不存在"),
    "mutual_aid.not_published": ErrorKind(404, "The disclosure is not published", "信息披露尚未发布"),
    "mutual_aid.no_members_protected": ErrorKind(422, "No member is protected on the notice day", "公示日没有处于保障中的成员"),
    "mutual_aid.bad_amount": ErrorKind(422, "Not a valid amount", "金额无效"),
    "mutual_aid.bad_case": ErrorKind(422, "Not a valid case row", "案件行无效"),
    "mutual_aid.bad_members": ErrorKind(422, "Not a valid members table", "成员表无效"),
    "mutual_aid.bad_summary": ErrorKind(422, "Not an apportionment summary", "不是分摊汇总"),
    "mutual_aid.cases_mismatch": ErrorKind(422, "The cases are not those the summary was apportioned from", "案件与分摊汇总不一致"),
    "mutual_aid.duplicate_case": ErrorKind(422, "A case appears twice", "案件重复"),
    "mutual_aid.duplicate_member": ErrorKind(422, "A member appears twice", "成员重复"),
    "mutual_aid.no_charges": ErrorKind(422, "No per-member charges dataset", "没有成员分摊数据"),
    "mutual_aid.no_file": ErrorKind(422, "No such file", "文件不存在"),
    "ops.not_found": ErrorKind(404, "Not found", "未找到"),
    "review.bad_range": ErrorKind(422, "The day range ends before it starts", "日期范围的结束早于开始"),
    "review.bad_reason": ErrorKind(422, "Unknown screening reason code", "未知的筛查原因代码"),
    "review.not_found": ErrorKind(404, "No such review flag", "没有这个审核标记"),
    "review.already_decided": ErrorKind(409, "The flag was already decided", "该标记已有审核结论"),
    "review.reason_required": ErrorKind(422, "Rejecting a flag needs a reason", "驳回标记需要填写理由"),
    "review.bad_sample": ErrorKind(422, "A sample needs at least one flag", "抽样至少需要一个标记"),
    "twin.bad_amount": ErrorKind(422, "Not an amount in yuan", "不是以元为单位的金额"),
    "twin.bad_kind": ErrorKind(422, "Not a Twin flag kind", "不是双随机比对的标记类型"),
    "twin.bad_months": ErrorKind(422, "Months must be 0 to 12", "月数应在 0 到 12 之间"),
    "twin.no_flags": ErrorKind(422, "A case needs at least one flagged observation", "立案至少需要一条标记的核查记录"),
    "twin.case_exists": ErrorKind(409, "The employer already has a case for that year", "该单位当年已立案"),
    "twin.duplicate_flag": ErrorKind(422, "An inspection id appears twice", "核查记录编号重复"),
    "twin.case_not_found": ErrorKind(404, "No such Twin case", "没有这个稽核案件"),
    "twin.bad_outcome": ErrorKind(422, "Not a case outcome", "不是有效的结案结论"),
    "twin.case_closed": ErrorKind(409, "The case is already closed", "该案件已结案"),
    "twin.case_not_confirmed": ErrorKind(409, "Workers are enrolled from confirmed cases only", "只有确认的案件才能为职工办理参保"),
    "twin.worker_not_found": ErrorKind(404, "The case has no such observation", "该案件没有这条核查记录"),
    "twin.not_uninsured": ErrorKind(422, "This worker was not found uninsured", "该职工并非未参保"),
    "twin.already_enrolled": ErrorKind(409, "This worker was already enrolled", "该职工已办理参保"),
    "twin.person_needed": ErrorKind(422, "The worker is not in the registry: give the person to register",
                                    "该职工不在登记库中，请提供登记信息"),
    "web.sign_in": ErrorKind(401, "Please sign in.", "请先登录。"),
    "web.csrf": ErrorKind(403, "The form has expired. Reload the page and try again.", "表单已过期，请刷新页面后重试。"),
    "web.required": ErrorKind(422, "This field is required.", "此项必填。"),
    "web.amount": ErrorKind(422, "Enter an amount in yuan with at most two decimals, e.g. 1234.50.",
                            "请输入以元为单位、最多两位小数的金额，例如 1234.50。"),
    "web.date": ErrorKind(422, "Enter a date as YYYY-MM-DD.", "请按 年-月-日（YYYY-MM-DD）输入日期。"),
    "web.choice": ErrorKind(422, "Choose one of the options.", "请选择一项。"),
    "web.invalid": ErrorKind(422, "This value is not valid.", "此值无效。"),
    "web.password_mismatch": ErrorKind(422, "The two new passwords differ.", "两次输入的新密码不一致。"),
    "web.payment_failed": ErrorKind(422, "The payment failed; nothing was charged.", "支付失败，未扣款。"),
    "web.no_channel": ErrorKind(422, "No payment channel is configured.", "未配置支付渠道。"),
    "web.not_payable": ErrorKind(422, "This contribution is not yours to pay, or is not due.", "此笔缴费不由您缴纳，或当前无需缴纳。"),
    "web.reason_required": ErrorKind(422, "Give a reason.", "请填写原因。"),
    "web.flags_file": ErrorKind(422, "Not a flags file of the Twin check (flags.csv): a column is missing or the file is unreadable or too large.",
                                "不是双随机比对的标记文件（flags.csv）：缺少列，或文件无法读取、过大。"),
    "web.not_found": ErrorKind(404, "This page does not exist.", "页面不存在。"),
    "ops.conflict": ErrorKind(409, "Conflicts with the current state", "与当前状态冲突"),
    "ops.rejected": ErrorKind(422, "Refused by the rules", "被规则拒绝"),
    # --- hospital payments (h8-payments: monthly statements, quality deposit, bank batches, confirmations) ---
    "payments.bad_month": ErrorKind(422, "A month is written YYYY-MM, e.g. 2025-03.", "月份应写作 YYYY-MM，例如 2025-03。"),
    "payments.month_open": ErrorKind(409, "The month has not ended; its statement is made once it has.",
                                     "该月尚未结束，月末之后才能生成月度结算单。"),
    "payments.year_open": ErrorKind(409, "The year has not ended; its quality deposit is decided after it.",
                                    "该年度尚未结束，年度结束后才能处理质量保证金。"),
    "payments.no_parameters": ErrorKind(422, "The region's scheme folder has no payment parameters (payments.yaml).",
                                        "该统筹区的方案目录中没有结算参数文件（payments.yaml）。"),
    "payments.nothing_to_pay": ErrorKind(409, "Nothing to pay: no open payable with a bank account.",
                                         "没有待拨付款项：无未支付的应付款或医疗机构未登记银行账户。"),
    "payments.batch_not_found": ErrorKind(404, "No such payment batch.", "无此拨付批次。"),
    "payments.already_confirmed": ErrorKind(409, "This payment line was already confirmed otherwise.",
                                            "该拨付明细已按其他状态确认。"),
    "payments.keep_exceeds": ErrorKind(422, "The amount kept exceeds the facility's quality deposit.",
                                       "扣留金额超过该医疗机构的质量保证金。"),
    "payments.reason_required": ErrorKind(422, "Keeping part of a quality deposit needs a reason.",
                                          "扣留质量保证金须说明理由。"),
    "payments.confirmation_invalid": ErrorKind(422, "Not a confirmation file of the payment-batch layout.",
                                               "不是拨付批次格式的银行回盘文件。"),
    "payments.confirmation_mismatch": ErrorKind(422, "The confirmation differs from the line as sent.",
                                                "回盘内容与发出的拨付明细不一致。"),
    "payments.unknown_batch": ErrorKind(422, "The confirmation names an unknown payment batch.", "回盘文件中的批次不存在。"),
    "payments.unknown_line": ErrorKind(422, "The confirmation names an unknown line of the batch.", "回盘文件中的明细行不存在。"),
    "payments.bad_status": ErrorKind(422, "A line's status is paid or failed (with the bank's reason).",
                                     "明细状态应为 paid（已支付）或 failed（失败，并注明银行原因）。"),
    # money in: contribution rules, windows, allocation to the funds (issue 18)
    "payment.outside_window": ErrorKind(422, "Paid outside the product's sales window", "不在该产品的投保期内缴费"),
    "contribution.not_a_transfer": ErrorKind(422, "Only donations, lottery income and budget transfers are received this way",
                                             "只有捐赠、彩票公益金和财政转移资金可按此方式收取"),
    # mutual aid's closure and conversion offer (issue 20, yibao.mutual_aid.closure / closing)
    "mutual_aid.plan_closed": ErrorKind(422, "The plan is closing: no new members or claims", "该计划正在关闭：不再接受新成员或新申请"),
    "mutual_aid.closure_invalid": ErrorKind(422, "The closure or its offer is not valid", "关闭决定或转换要约无效"),
    "mutual_aid.closure_exists": ErrorKind(409, "The plan already has a closure decided", "该计划已有关闭决定"),
    "mutual_aid.no_closure": ErrorKind(404, "The plan has no closure decided", "该计划没有关闭决定"),
    "mutual_aid.plan_already_closed": ErrorKind(409, "The plan is already closed", "该计划已关闭"),
    "mutual_aid.claims_pending": ErrorKind(422, "Claims are still pending: finish them first", "仍有未处理完的互助申请，请先处理"),
    "mutual_aid.no_offer": ErrorKind(422, "The closure made no conversion offer", "该关闭决定未提供转换要约"),
    "mutual_aid.offer_closed": ErrorKind(422, "The conversion offer is not open on that day", "转换要约在该日不开放"),
    "mutual_aid.already_answered": ErrorKind(409, "The member has already answered the offer", "该成员已答复转换要约"),
    "mutual_aid.offer_ineligible": ErrorKind(422, "The member may not hold the offered product", "该成员不符合所提供产品的投保条件"),
    # --- individual accounts and family sharing (h4-funds; yibao.ops.family) ---
    "family.relation": ErrorKind(422, "A relative is a spouse, parent or child.", "共济亲属应为配偶、父母或子女。"),
    "family.self": ErrorKind(422, "A member cannot register themself as a relative.", "参保人不能将本人登记为共济亲属。"),
    "family.no_account": ErrorKind(422, "Only a UEBMI member has an individual account to share.",
                                   "只有职工医保参保人才有可共济的个人账户。"),
    "family.already_registered": ErrorKind(409, "This relative is already registered.", "该亲属已登记为共济亲属。"),
    "family.not_relative": ErrorKind(422, "The person is not a registered relative of the account holder.",
                                     "该人员不是账户持有人登记的共济亲属。"),
    "family.not_resident_contribution": ErrorKind(
        422, "Only a relative's own residents' contribution can be paid from an individual account.",
        "个人账户只能缴纳共济亲属本人的居民医保个人缴费。"),
    "family.insufficient_balance": ErrorKind(409, "The individual accounts do not hold enough.", "个人账户余额不足。"),
    # --- voluntary products in operations: policies, their benefits, the insurer's books (issue 20, h6-insurer) ---
    "policy.unknown_product": ErrorKind(404, "No such product", "产品不存在"),
    "policy.not_found": ErrorKind(404, "No such policy", "保单不存在"),
    "policy.outside_window": ErrorKind(422, "The product is not sold on that day (outside its sales window)", "该日不在产品的销售期内"),
    "policy.declaration_missing": ErrorKind(422, "The product needs the buyer's health declaration", "该产品须填写健康告知"),
    "policy.too_young": ErrorKind(422, "Below the product's minimum age at the policy start", "保单起期时未达产品最低投保年龄"),
    "policy.too_old": ErrorKind(422, "Above the product's maximum age at the policy start", "保单起期时超过产品最高投保年龄"),
    "policy.wrong_region": ErrorKind(422, "The product is not sold in the person's region", "该产品不在此人所在地区销售"),
    "policy.wrong_scheme": ErrorKind(422, "The person's basic insurance does not qualify for the product", "此人的基本医保险种不符合投保条件"),
    "policy.wrong_category": ErrorKind(422, "The person's assistance category does not qualify for the product", "此人的救助类别不符合投保条件"),
    "policy.pre_existing_declined": ErrorKind(422, "The product does not insure a person with a pre-existing condition", "该产品不承保有既往症者"),
    "policy.overlap": ErrorKind(409, "The person already holds a policy of the product over those dates", "此人在该期间已持有该产品的保单"),
    "policy.not_pending": ErrorKind(409, "Only a pending policy can be cancelled", "只有待生效的保单可以撤销"),
    "policy.not_active": ErrorKind(409, "Only an active policy can lapse", "只有有效保单可以终止"),
    "policy.bad_lapse_day": ErrorKind(422, "The lapse day is outside the policy's term", "终止日期不在保单期间内"),
    "policy.expired": ErrorKind(409, "The policy's term is over: a payment now buys no cover (refused)", "保单期间已过，现在缴费无法获得保障（已拒绝）"),
    "benefit.not_found": ErrorKind(404, "No such benefit claim", "理赔申请不存在"),
    "benefit.not_covered": ErrorKind(422, "The policy is not in force: it pays nothing", "保单未生效，不予赔付"),
    "benefit.not_in_product": ErrorKind(422, "The product has no such benefit", "该产品没有此项保险责任"),
    "benefit.bad_dates": ErrorKind(422, "Discharge before admission", "出院日期早于入院日期"),
    "benefit.bad_event": ErrorKind(422, "Unknown kind of event", "未知的事件类型"),
    "benefit.lump_sum_paid": ErrorKind(409, "This lump sum was already paid under the policy (once per policy)", "该保单的此项定额给付已赔付（每张保单仅一次）"),
    "benefit.nothing_due": ErrorKind(422, "The policy pays nothing for this", "保单对此不予赔付"),
    "benefit.one_stop": ErrorKind(409, "The product's indemnity is settled at the counter with the claim, not afterwards", "该产品的费用补偿已在医院一站式结算，无需事后申请"),
    "benefit.already_claimed": ErrorKind(409, "This settled claim was already submitted under the policy", "该结算单据已在此保单下申请过"),
    "benefit.claim_not_yours": ErrorKind(422, "The settled claim is not the policyholder's, or not settled", "该结算单据不属于投保人或未结算"),
}


def kind_of(code: str) -> ErrorKind:
    """The catalogue's entry for `code` (a code not listed is a defect the catalogue test catches; it is
    shown as the generic refusal rather than failing again while reporting an error)."""
    return CATALOGUE.get(code) or CATALOGUE["yibao.error"]


class YibaoError(Exception):
    """Base of every error yibao reports to a person; `code` is stable, `message` is human."""

    code = "yibao.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class SchemeError(YibaoError):
    """A scheme or reform that cannot be used: names the file, the key path and what was expected."""

    code = "scheme.invalid"


class InputError(YibaoError):
    """Bad input data: names the file, the line (or row) and the column."""

    code = "input.invalid"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        code: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                file,
                f"line {line}" if line is not None else None,
                f"column {column!r}" if column is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message, code=code)
        self.file, self.line, self.column = file, line, column


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table (docs/operations.md holds this text; `yibao errors` prints it)."""
    lines = ["| code | HTTP | message (en) | 说明 (zh-CN) |", "|---|---|---|---|"]
    lines += [f"| `{code}` | {kind.status} | {kind.en} | {kind.zh} |" for code, kind in sorted(CATALOGUE.items())]
    return "\n".join(lines) + "\n"
