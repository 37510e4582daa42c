"""`/bureau/funds`: the fund report of a region-year (yibao.ops.funds) — an officer's regions, every region for an
auditor or admin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.ops import funds
from yibao.ops.store import utcnow
from yibao.web import session
from yibao.web.bureau import READERS, _all_regions, _regions
from yibao.web.messages import N_
from yibao.web.render import in_store, render, texts_of

router = APIRouter(prefix="/bureau")

# The words of the report's rows (a source or an outlay kind not named here is shown as stored)
LABELS = {
    "basic_pooled_fund": N_("Basic pooled fund"),
    "serious_illness": N_("Serious-illness financing"),
    "assistance_fund": N_("Assistance fund"),
    "individual_account": N_("Individual accounts (total)"),
    "individual": N_("Individual contributions"),
    "employer": N_("Employer contributions"),
    "government_subsidy_central": N_("Central government subsidy"),
    "government_subsidy_local": N_("Local government subsidy"),
    "assistance": N_("Assistance-paid contributions"),
    "donation": N_("Donations"),
    "lottery": N_("Lottery income"),
    "claims": N_("Claims settled"),
    "retiree_accounts": N_("Retirees' account credit"),
    "retiree_account_credit": N_("Credit from the pool (retirees)"),
    "assistance_budget": N_("Assistance budget transfers"),
    "government_subsidy": N_("Government subsidy"),
    "contribution": N_("Relatives' contributions paid"),
    "inpatient": N_("inpatient"),
    "outpatient": N_("outpatient"),
}


@router.get("/funds")
async def funds_page(request: Request, region: str = "", year: int | None = None) -> Response:
    """Per fund: income by source, outlays, the year's balance, the accumulated balance and the months covered."""
    who = session.signed_in(request, *READERS)
    regions = _regions(who)
    year = year or utcnow().year
    shown_regions = list(regions) if regions is not None else await in_store(request, _all_regions)
    region = region if region in shown_regions else (shown_regions[0] if shown_regions else "")
    report = await in_store(request, lambda s: funds.fund_report(s, region, year)) if region else None
    texts = texts_of(request)

    def label(key: str) -> str:
        return texts.gettext(LABELS[key]) if key in LABELS else key

    sources = sorted({s for f in report.funds for s in f.income}) if report else []
    kinds = sorted({(o.kind, o.care_type) for f in report.funds for o in f.outlays}) if report else []
    outlay_rows = [
        (label(kind) + (f" ({label(care)})" if care else ""),
         [sum(o.amount for o in f.outlays if (o.kind, o.care_type) == (kind, care)) for f in report.funds])
        for kind, care in kinds
    ] if report else []
    return render(request, "bureau_funds.html", who=who, title=texts.gettext("Funds"), regions=shown_regions,
                  region=region, year=year, report=report, fund_label=label, sources=sources, outlay_rows=outlay_rows)
