"""The insurer's books of a product in a region-year (`yibao.ops.insurer_books`): premiums written and earned,
claims paid and outstanding, expenses, loss and combined ratios, the loss a government-guided product's insurer
absorbs. An insurer sees its own products only (its account's `layer`: a product id, or `huiminbao` /
`commercial` for the products of that kind); admin and the auditor every product; another's book answers as a
product that does not exist."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from yibao.core.money import format_rate, format_yuan
from yibao.http.deps import require, store_of
from yibao.ops import insurer_books
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound
from yibao.ops.schemas import Identifier, Year

router = APIRouter(tags=["insurer"])
InsurerOrAuditor = Annotated[Principal, Depends(require(Role.INSURER, Role.AUDITOR))]


def may_see(who: Principal, product: str) -> bool:
    return who.role is not Role.INSURER or product in insurer_books.products_of_insurer(who.layer)


def books_view(books: insurer_books.Books) -> dict[str, Any]:
    def ratio(value: int | None) -> str | None:
        return None if value is None else format_rate(value)

    absorbed = books.absorbed
    return {
        "product": books.product, "region": books.region, "year": books.year, "as_of": books.as_of.isoformat(),
        "policies": books.policies, "in_force": books.in_force, "premiums_written": format_yuan(books.written),
        "premiums_received": format_yuan(books.received), "premiums_earned": format_yuan(books.earned),
        "premiums_unearned": format_yuan(books.unearned), "claims": books.claims,
        "claims_paid": format_yuan(books.claims_paid), "claims_outstanding": format_yuan(books.claims_outstanding),
        "claims_incurred": format_yuan(books.incurred), "expense_ratio": format_rate(books.expense_ratio),
        "expenses": format_yuan(books.expenses), "loss_ratio": ratio(books.loss_ratio),
        "combined_ratio": ratio(books.combined_ratio), "underwriting_result": format_yuan(books.result),
        "government_guided": books.government_guided,
        "absorbed_by_insurer": None if absorbed is None else format_yuan(absorbed),
    }


@router.get("/insurer/products/{product}/{region}/{year}")
def get_books(request: Request, product: Identifier, region: Identifier, year: Year, who: InsurerOrAuditor,
              as_of: Annotated[dt.date | None, Query(description="the day premiums are earned to (default today)")] = None,
              ) -> dict[str, Any]:
    """The product's books in the region-year, premiums earned to `as_of`."""
    if not may_see(who, product):
        raise NotFound(f"no product {product!r}", code="policy.unknown_product")
    with store_of(request).transaction() as s:
        return books_view(insurer_books.report(s, product, region, year, as_of or dt.date.today()))
