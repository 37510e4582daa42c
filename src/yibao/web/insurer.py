"""`/insurer/`: an insurer's desk page — its layer's figures per region-year, as the API gives them to insurers.

For each region-year with postings on its layer's fund: the trial balance rows of that fund (as
`GET /ledger/trial-balance` answers an insurer), and the claims the layer paid (net of reversals and corrections,
from the same account). The serious-illness insurer also sees its contracts reconciled (as
`GET /contracts/{contract}/reconciliation`). Nothing of another layer is read. Below, the books of the voluntary
products the insurer underwrites (`yibao.ops.insurer_books`, as `GET /insurer/products/{product}/{region}/{year}`
gives them), per region-year with policies. Admin (who may open every page) sees every layer and product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.contracts.posting import layer_payments
from yibao.core.money import Fen, format_rate
from yibao.core.scheme import LayerKind
from yibao.ops import insurer_books, ledger
from yibao.ops.auth import Principal, Role
from yibao.ops.ledger import LAYER_ACCOUNT, Account, TrialBalance
from yibao.ops.one_stop import catalogue
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
        balance = ledger.insurer_rows(ledger.trial_balance(s, region=region, year=year, kinds=[kind]))
        shown.append(RegionYear(layer, region, year, balance, paid, claims))
    return shown


def products_of(who: Principal) -> list[str]:
    """The voluntary products whose books a caller's page shows: an insurer's own (`insurer_books.
    products_of_insurer`, as the API decides); admin every product."""
    if who.role is Role.INSURER:
        return insurer_books.products_of_insurer(who.layer)
    return sorted(catalogue())


def product_books(s: Session, products: list[str], today: date) -> list[tuple[str, list[insurer_books.Books]]]:
    """Each product's books per region-year with policies (as `GET /insurer/products/...` gives them), earned to
    today or to the end of the product year if that is past."""
    shown = []
    for product in products:
        books = [insurer_books.report(s, product, region, year, min(today, date(year + 1, 12, 31)))
                 for region, year in insurer_books.region_years(s, product)]
        shown.append((product, books))
    return shown


@router.get("/")
async def insurer_page(request: Request) -> Response:
    who = session.signed_in(request, Role.INSURER)
    layers = layers_of(who)
    products = products_of(who)

    def work(s: Session) -> tuple[list[tuple[LayerKind, list[RegionYear]]], list[object], list[Any]]:
        figures = [(layer, region_years(s, layer)) for layer in layers]
        contracts = contracts_reconciled(s, None) if LayerKind.SERIOUS_ILLNESS in layers else []
        return figures, list(contracts), product_books(s, products, date.today())

    figures, contracts, books = await in_store(request, work)
    texts = texts_of(request)
    titles = {pid: catalogue()[pid].title.get(texts.lang.value) for pid in products}
    return render(request, "insurer.html", who=who, title=texts.gettext("Insurer's figures"), figures=figures,
                  contracts=contracts, layer_name=lambda kind: texts.gettext(LAYER_NAMES[kind]), books=books,
                  product_title=titles.get, percent=format_rate)
