"""What a person reads when the service refuses something: the error's stable code -> its message in the page's
language from the one error catalogue (`yibao.core.errors.CATALOGUE`), as the API answers it; the pages' own codes
(`web.*`: a form field left empty, an amount mistyped...) are in that catalogue too. A code not in it falls back to
a general sentence that names the code, never the service's internal message (which may name records or files)."""

from __future__ import annotations

from pydantic import ValidationError

from yibao.core.errors import CATALOGUE, YibaoError
from yibao.web.i18n import Texts

# Texts here are message ids: the `N_` marker lets Babel's extractor find them (pybabel extract -k N_).


def N_(message: str) -> str:
    return message


FALLBACK = N_("The request was refused ({code}).")


def message(texts: Texts, code: str) -> str:
    kind = CATALOGUE.get(code)
    return kind.message(texts.lang.core) if kind is not None else texts.gettext(FALLBACK, code=code)


def of_error(texts: Texts, exc: YibaoError) -> str:
    return message(texts, exc.code)


VALIDATION_CODES = {
    "missing": "web.required",
    "string_too_short": "web.required",
    "string_pattern_mismatch": "web.amount",
    "date_from_datetime_parsing": "web.date",
    "date_parsing": "web.date",
    "date_from_datetime_inexact": "web.date",
    "enum": "web.choice",
    "literal_error": "web.choice",
}


def field_errors(texts: Texts, exc: ValidationError) -> dict[str, str]:
    """Each invalid field of a form (the model's field name) with the message to show next to it."""
    found: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        found.setdefault(field, message(texts, VALIDATION_CODES.get(error["type"], "web.invalid")))
    return found


# the service's closed sets (schemes, statuses, payers, care types...) as a person reads them
LABELS: dict[str, str] = {
    "uebmi_employee": N_("Employee insurance (UEBMI)"),
    "uebmi_retiree": N_("Employee insurance, retired (UEBMI)"),
    "urrbmi": N_("Resident insurance (URRBMI)"),
    "pending": N_("pending"),
    "active": N_("active"),
    "due": N_("due"),
    "paid": N_("paid"),
    "cancelled": N_("cancelled"),
    "settled": N_("settled"),
    "reversed": N_("reversed"),
    "individual": N_("you"),
    "employer": N_("employer"),
    "government_subsidy": N_("government subsidy"),
    "government_subsidy_central": N_("government subsidy (central)"),
    "government_subsidy_local": N_("government subsidy (local)"),
    "lottery": N_("lottery income"),
    "assistance_budget": N_("budget transfer to medical assistance"),
    "assistance": N_("medical assistance"),
    "donation": N_("donation"),
    "huiminbao_premium": N_("Huiminbao premium (you)"),
    "inpatient": N_("inpatient"),
    "outpatient": N_("outpatient"),
    "aged_out": N_("aged out"),
    "ended_in_waiting": N_("ended in the waiting period"),
    "paid_out": N_("paid out"),
    "left": N_("left"),
    "removed": N_("removed"),
    "filed": N_("filed"),
    "investigated": N_("investigated"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "noticed": N_("on public notice"),
    "disputed": N_("before a member jury"),
    "denied": N_("denied"),
    "deducted": N_("deducted"),
    "dibao": N_("minimum living allowance (dibao)"),
    "extreme_poor": N_("extreme poverty"),
    "low_income": N_("low income"),
    "none": N_("none"),
    # cooperation modes and reconciliation figures of serious-illness contracts (yibao.contracts)
    "insurance_contract": N_("insurance contract"),
    "co_insurance": N_("co-insurance"),
    "fund_management": N_("fund management (entrusted)"),
    "claims_paid": N_("claims paid"),
    "premium": N_("premium"),
    "fee": N_("fee"),
    "expense_allowance": N_("expense allowance"),
    "balance": N_("balance (premium − allowance − claims)"),
    "surplus_refund": N_("surplus refund to the fund"),
    "loss_compensation": N_("loss compensation from the fund"),
    "claims_borne_by_fund": N_("claims borne by the fund"),
    "claims_borne_by_insurer": N_("claims borne by the insurer"),
    "insurer_income": N_("insurer income"),
    "insurer_admin_cost": N_("insurer admin cost"),
    "insurer_profit": N_("insurer profit"),
    "fund_outlay": N_("fund outlay"),
    "fund_admin_cost": N_("fund admin cost"),
    "fund_total_cost": N_("fund total cost"),
    "failed": N_("failed"),
    "recovered": N_("recovered"),
    "written_off": N_("written off"),
}


def label(texts: Texts, code: object) -> str:
    text = LABELS.get(str(code))
    return texts.gettext(text) if text is not None else str(code)
