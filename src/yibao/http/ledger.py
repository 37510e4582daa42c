"""Ledger routes: the trial balance and the journal, scoped to the caller's regions or layer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from yibao.core.money import format_yuan
from yibao.core.scheme import LayerKind
from yibao.http.deps import instant, require, store_of
from yibao.ops import ledger
from yibao.ops.auth import Principal, Role
from yibao.ops.ledger import LAYER_ACCOUNT, TrialBalance
from yibao.ops.schemas import Identifier, Reference, Year
from yibao.ops.store import JournalEntry, Posting

router = APIRouter(tags=["ledger"])


def trial_balance_view(tb: TrialBalance) -> dict[str, Any]:
    return {
        "accounts": [
            {"account": r.account, "kind": r.kind, "debit": format_yuan(r.debit), "credit": format_yuan(r.credit),
             "balance": format_yuan(r.balance)}
            for r in tb.rows
        ],
        "total_debit": format_yuan(tb.total_debit),
        "total_credit": format_yuan(tb.total_credit),
        "balanced": tb.balanced,
    }


def entry_view(entry: JournalEntry, postings: list[Posting]) -> dict[str, Any]:
    return {
        "id": entry.id, "posted_at": instant(entry.posted_at), "kind": entry.kind, "reference": entry.reference,
        "description": entry.description, "actor": entry.actor,
        "postings": [{"account": p.account, "amount": format_yuan(p.amount)} for p in postings],
    }


@router.get("/ledger/trial-balance")
def get_trial_balance(
    request: Request, who: Annotated[Principal, Depends(require(Role.OFFICER, Role.INSURER, Role.AUDITOR))],
    region: Identifier | None = None, year: Year | None = None,
) -> dict[str, Any]:
    """Debit and credit per account, derived from the postings. Officers see their regions, insurers what their
    layer paid (not how the bureau finances it: the fund's `in:<source>` accounts are left out)."""
    regions = list(who.regions) if who.role is Role.OFFICER else None
    kinds = None
    if who.role is Role.INSURER:
        kinds = [LAYER_ACCOUNT[LayerKind(who.layer)].value] if who.layer is not None else []
    with store_of(request).transaction() as s:
        balance = ledger.trial_balance(s, region=region, year=year, kinds=kinds, regions=regions)
    if who.role is Role.INSURER:
        balance = ledger.insurer_rows(balance)
    return trial_balance_view(balance)


@router.get("/ledger/entries")
def get_entries(
    request: Request, who: Annotated[Principal, Depends(require(Role.OFFICER, Role.AUDITOR))],
    reference: Reference | None = None, limit: int = Query(500, ge=1, le=5000),
) -> list[dict[str, Any]]:
    """Journal entries with their postings (e.g. `reference=claim:C1`)."""
    with store_of(request).transaction() as s:
        found = ledger.entries(s, reference=reference, limit=limit)
    return [
        entry_view(entry, list(postings)) for entry, postings in found
        if who.role is not Role.OFFICER or all(p.region in who.regions for p in postings)
    ]
