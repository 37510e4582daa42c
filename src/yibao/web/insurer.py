"""`/insurer/`: an insurer's desk page — its layer's figures per region-year, as the API gives them to insurers.

For each region-year with postings on its layer's fund: the trial balance rows of that fund (as
`GET /ledger/trial-balance` answers an insurer), and the claims the layer paid (net of reversals and corrections,
from the same account). The serious-illness insurer also sees its contracts reconciled (as
`GET /contracts/{contract}/reconciliation`). Nothing of another layer is read. Admin (who may open every page)
sees every layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.contracts.posting import layer_payments
from yibao.core.money import Fen
from yibao.core.scheme import LayerKind
from yibao.ops import ledger
from yibao.ops.auth import Principal, Role
from yibao.ops.ledger import LAYER_ACCOUNT, Account, TrialBalance
from yibao.ops.store import Posting
from yibao.web import session
from yibao.web.bureau import contracts_reconciled
from yibao.web.messages import N_
from yibao.web.render import in_store, render, texts_of

router = APIRouter(prefix="/insurer")

LAYER_NAMES: dict[LayerKind, str] = {
    LayerKind.BASIC: N_("Basic medical insurance"),
    LayerKind.SERIOUS_ILLNESS: N_("Serious-illness insurance"),
    LayerKind.ASSISTANCE: N_("Medical assistance"),
    LayerKind.HUIMINBAO: N_("Huiminbao (city inclusive insurance)"),
    LayerKind.COMMERCIAL: N_("Commercial health insurance"),
}


@dataclass(frozen=True, slots=True)
class RegionYear:
    """One region-year of a layer: its fund's trial balance rows and the claims the layer paid."""

    layer: LayerKind
    region: str
    year: int
    balance: TrialBalance
    claims_paid: Fen
    claims: int


def layers_of(who: Principal) -> list[LayerKind]:
    """The layers a caller's page shows: an insurer's own (none if its account names none); admin every layer."""
    if who.role is Role.INSURER:
        return [LayerKind(who.layer)] if who.layer in {k.value for k in LAYER_NAMES} else []
    return list(LAYER_NAMES)  # the layers with a fund page of their own (not the subsidy, nor members' accounts)


def region_years(s: Session, layer: LayerKind) -> list[RegionYear]:
    """Every region-year with postings on the layer's fund, newest year first."""
    kind = LAYER_ACCOUNT[layer].value
    found = s.execute(
        select(Posting.region, Posting.year).where(Posting.kind == kind).distinct()
        .order_by(Posting.year.desc(), Posting.region)
    ).all()
    shown = []
    for region, year in found:
        paid, claims = layer_payments(s, Account(region, year, LAYER_ACCOUNT[layer]))
        balance = ledger.trial_balance(s, region=region, year=year, kinds=[kind])
        shown.append(RegionYear(layer, region, year, balance, paid, claims))
    return shown


@router.get("/")
async def insurer_page(request: Request) -> Response:
    who = session.signed_in(request, Role.INSURER)
    layers = layers_of(who)

    def work(s: Session) -> tuple[list[tuple[LayerKind, list[RegionYear]]], list[object]]:
        figures = [(layer, region_years(s, layer)) for layer in layers]
        contracts = contracts_reconciled(s, None) if LayerKind.SERIOUS_ILLNESS in layers else []
        return figures, list(contracts)

    figures, contracts = await in_store(request, work)
    texts = texts_of(request)
    return render(request, "insurer.html", who=who, title=texts.gettext("Insurer's figures"), figures=figures,
                  contracts=contracts, layer_name=lambda kind: texts.gettext(LAYER_NAMES[kind]))
