"""Serious-illness contract endpoints: year-end reconciliation posted to the ledger."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
