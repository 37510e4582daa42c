"""`/public/mutual-aid/`: the mutual-aid notice board, open to everyone without signing in — the plans in force,
the claims on public notice (identity masked by the rules: `yibao.mutual_aid.claims.notice_of`), each period's
apportionment and its published disclosure, and a plan's closure (the decision, the conversion offer, the closure
disclosure in the page's language). Phone-first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.mutual_aid import closing, periods
from yibao.mutual_aid import service as mutual_aid
from yibao.ops.errors import NotFound
from yibao.ops.store_mutual_aid import MutualAidClosure, MutualAidPlan
from yibao.web.render import in_store, render, texts_of

router = APIRouter(prefix="/public/mutual-aid")


def board(s: Session) -> list[dict[str, Any]]:
    plans = []
    for row in s.execute(select(MutualAidPlan).order_by(MutualAidPlan.id)).scalars():
        shown_periods = []
        for period in reversed(periods.periods_of(s, row.id)):
            try:
                _, disclosure = periods.published_disclosure(s, row.id, period.notice_date)
                cases: list[dict[str, str]] | None = disclosure.case_rows()
            except NotFound:
                cases = None
            shown_periods.append({"summary": periods.period_view(period), "cases": cases})
        closure = s.execute(select(MutualAidClosure).where(MutualAidClosure.plan_id == row.id)).scalar_one_or_none()
        plans.append({"plan": mutual_aid.plan_view(row), "title": mutual_aid.plan_of(row).title,
                      "notices": mutual_aid.notices(s, row.id),
                      "periods": shown_periods,
                      "closure": None if closure is None else closing.closure_view(closure)})
    return plans


@router.get("/")
async def notice_board(request: Request) -> Response:
    plans = await in_store(request, board)
    return render(request, "public.html", title=texts_of(request).gettext("Mutual-aid notice board"), plans=plans)
