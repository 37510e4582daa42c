"""The insurer's books of a product in a region-year (`yibao.ops.insurer_books`): premiums written and earned,
claims paid and outstanding, expenses, loss and combined ratios, the loss a government-guided product's insurer
absorbs. An insurer sees its own products only (its account's `layer`: a product id, or `huiminbao` /
`commercial` for the products of that kind); admin and the auditor every product; another's book answers as a
product that does not exist."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from yibao.http.deps import require, store_of
from yibao.ops import insurer_books
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import NotFound
from yibao.ops.schemas import Identifier, Year

router = APIRouter(tags=["insurer"])
InsurerOrAuditor = Annotated[Principal, Depends(require(Role.INSURER, Role.AUDITOR))]


def may_see(who: Principal, product: str) -> bool:
    return who.role is not Role.INSURER or product in insurer_books.products_of_insurer(who.layer)


@router.get("/insurer/products/{product}/{region}/{year}")
def get_books(request: Request, product: Identifier, region: Identifier, year: Year, who: InsurerOrAuditor,
              as_of: Annotated[dt.date | None, Query(description="the day premiums are earned to (default today)")] = None,
              ) -> dict[str, Any]:
    """The product's books in the region-year, premiums earned to `as_of`."""
    if not may_see(who, product):
        raise NotFound(f"no product {product!r}", code="policy.unknown_product")
    with store_of(request).transaction() as s:
        return insurer_books.as_json(insurer_books.report(s, product, region, year, as_of or dt.date.today()))
