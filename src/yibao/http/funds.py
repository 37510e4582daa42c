"""Fund report routes: per fund of a region-year, income by source, outlays, balance, accumulated balance and the
months of outlays it covers (yibao.ops.funds). Officers of the region, auditors and admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from yibao.http.deps import check_region, require, store_of
from yibao.ops import funds, registry
from yibao.ops.auth import Principal, Role
from yibao.ops.schemas import YEAR_MAX, YEAR_MIN

router = APIRouter(tags=["funds"])


@router.get("/funds/{region}/{year}")
def get_fund_report(
    request: Request, region: Annotated[str, Path(min_length=1, max_length=64)],
    year: Annotated[int, Path(ge=YEAR_MIN, le=YEAR_MAX)],
    who: Annotated[Principal, Depends(require(Role.OFFICER, Role.AUDITOR))],
) -> dict[str, Any]:
    """The fund report of a region-year, derived from the ledger (amounts in yuan; `months_covered` is
    累计结存可支付月数, one decimal, null when the year has no outlay)."""
    check_region(who, region)
    with store_of(request).transaction() as s:
        registry.region(s, region)
        return funds.plain(funds.fund_report(s, region, year))
