"""Serious-illness insurance contracts: cooperation modes, year-end reconciliation, Monte Carlo evaluation."""

from yibao.contracts.loader import builtin_contracts, load_builtin_contracts, load_contract
from yibao.contracts.model import AdminCost, Contract, CooperationMode, Corridor
from yibao.contracts.reconcile import (
    Entry,
    Reconciliation,
    YearExperience,
    ledger_entries,
    net_balances,
    reconcile,
)

__all__ = [
    "AdminCost",
    "Contract",
    "CooperationMode",
    "Corridor",
    "Entry",
    "Reconciliation",
    "YearExperience",
    "builtin_contracts",
    "ledger_entries",
    "load_builtin_contracts",
    "load_contract",
    "net_balances",
    "reconcile",
]
