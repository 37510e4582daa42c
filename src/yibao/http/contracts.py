"""Serious-illness contract endpoints: a region-year's reconciliation read from the ledger, and posted once.

`POST /contracts/{contract}/reconciliation` reconciles the region-year from the
ledger and posts the contract's year-end entries (bureau officers of the region,
admin); `GET` shows it — as posted, or as the ledger stands if not yet posted —
to officers of the region, the serious-illness insurer, auditors and admin.
Contracts are the built-in ones by name (`yibao contracts list`); a contract file
is posted with `yibao contracts post --contract FILE`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from yibao.contracts import posting
from yibao.contracts.loader import builtin_contracts, load_contract
from yibao.contracts.model import Contract
from yibao.contracts.posting import ContractPosting
from yibao.contracts.reconcile import Reconciliation, reconciliation_figures
from yibao.core.money import format_yuan
from yibao.core.scheme import LayerKind
from yibao.http.deps import check_region, require, store_of
from yibao.ops import ledger
from yibao.ops.auth import Principal, Role
from yibao.ops.errors import Forbidden, NotFound
from yibao.ops.schemas import INT32_MAX, Identifier, Year

router = APIRouter(tags=["contracts"])

Officer = Annotated[Principal, Depends(require(Role.OFFICER))]
Reader = Annotated[Principal, Depends(require(Role.OFFICER, Role.INSURER, Role.AUDITOR))]


class ReconciliationIn(BaseModel):
    region: Identifier
    year: Year
    enrollees: int | None = Field(
        None, ge=0, le=INT32_MAX, description="enrollees the layer covers (default: the region-year's active enrolments it covers)"
    )


def _contract(name: str) -> Contract:
    """A built-in contract by name (never a path on the server)."""
    if name not in builtin_contracts():
        raise NotFound(f"no built-in contract {name!r} (built-in: {builtin_contracts()})", code="contracts.not_found")
    return load_contract(name)


def _check_reader(who: Principal, region: str) -> None:
    """Insurers see the serious-illness layer's contracts; officers their regions; auditors and admin all."""
    if who.role is Role.INSURER:
        if who.layer != LayerKind.SERIOUS_ILLNESS.value:
            raise Forbidden(f"{who.username} underwrites {who.layer}, not serious illness", code="auth.forbidden")
        return
    check_region(who, region)


def _view(s: Session, rec: Reconciliation, done: ContractPosting | None) -> dict[str, Any]:
    c, e = rec.contract, rec.experience
    fund, insurer = posting.fund_account(c), posting.insurer_account(c)
    movements = done.movements if done is not None else tuple(posting.year_end_movements(rec))
    ids: list[int | None] = list(done.entry_ids) if done is not None else [None] * len(movements)
    paid_now, _ = posting.serious_illness_payments(s, c.region, c.year)
    return {
        "contract": c.name,
        "mode": c.mode.value,
        "insurer": c.insurer,
        "region": c.region,
        "year": c.year,
        "posted": done is not None,
        "reference": posting.posting_reference(c),
        "region_year_posted_under": posting.posted_references(s, c.region, c.year),  # any contract's posting
        "enrollees": e.enrollees,
        "claims": e.claims,
        "figures": {key: format_yuan(value) for key, value in reconciliation_figures(rec).items()},
        "entries": [
            {"id": i, "debit": m.payer.code, "credit": m.payee.code, "amount": format_yuan(m.amount), "memo": m.memo}
            for i, m in zip(ids, movements, strict=True)
        ],
        "balances": {a.code: format_yuan(ledger.balance(s, a)) for a in (fund, insurer)},
        "claims_paid_in_ledger_now": format_yuan(paid_now),
    }


@router.post("/contracts/{contract}/reconciliation", status_code=201)
def post_reconciliation(request: Request, contract: Identifier, body: ReconciliationIn, who: Officer) -> dict[str, Any]:
    """Reconcile the region-year from the ledger and post the contract's year-end entries (once per region-year)."""
    check_region(who, body.region)
    chosen = _contract(contract)
    with store_of(request).transaction() as s:
        done = posting.post_year_end(s, who.actor, chosen, body.region, body.year, body.enrollees)
        return _view(s, done.reconciliation, done)


@router.get("/contracts/{contract}/reconciliation")
def get_reconciliation(
    request: Request,
    contract: Identifier,
    who: Reader,
    region: Annotated[Identifier, Query()],
    year: Annotated[Year, Query()],
    enrollees: Annotated[
        int | None, Query(ge=0, le=INT32_MAX, description="for a year not yet posted (default: the store's)")
    ] = None,
) -> dict[str, Any]:
    """The reconciliation as posted (`posted: true`), else as the ledger stands now; with the entries and the
    fund's and the insurer's balances. `claims_paid_in_ledger_now` differs from `figures.claims_paid` when claims
    changed after posting."""
    _check_reader(who, region)
    chosen = _contract(contract)
    with store_of(request).transaction() as s:
        done = posting.posted(s, chosen, region, year)
        rec = done.reconciliation if done is not None else posting.preview(s, chosen, region, year, enrollees)
        return _view(s, rec, done)
