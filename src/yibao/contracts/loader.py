"""Read a contract file (YAML): every parameter has a description, a unit, a reference and a value.

A parameter a mode does not use is refused, and every parameter a mode uses
must be written out, so a contract file states its whole arithmetic.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from yibao.contracts.model import DEFAULT_CONTRACTS, AdminCost, Contract, CooperationMode, Corridor
from yibao.core.errors import SchemeError, YibaoError
from yibao.core.money import RATE_SCALE, Fen, RatePpm
from yibao.schemes.loader import Node, money_value, rate_value, read_yaml

BUILTIN_DIR = Path(__file__).parent / "builtin"

COMMON = (
    "fund_admin_cost_per_enrollee",
    "fund_admin_cost_per_claim",
    "insurer_admin_cost_per_enrollee",
    "insurer_admin_cost_per_claim",
    "settlement_days",
    "staff_per_10k_claims",
    "low_profit_cap",
)
MODE_PARAMETERS: dict[CooperationMode, tuple[str, ...]] = {
    CooperationMode.FUND_MANAGEMENT: ("fee_per_enrollee", "fee_rate_of_claims", *COMMON),
    CooperationMode.INSURANCE_CONTRACT: (
        "premium_per_enrollee",
        "expense_allowance_rate",
        "profit_cap",
        "insurer_share_above_cap",
        "loss_band",
        "fund_share_beyond_band",
        *COMMON,
    ),
    CooperationMode.CO_INSURANCE: (
        "premium_per_enrollee",
        "fee_per_enrollee",
        "fee_rate_of_claims",
        "insurer_share",
        *COMMON,
    ),
}
UNITS: dict[str, str] = {
    "premium_per_enrollee": "yuan",
    "fee_per_enrollee": "yuan",
    "fee_rate_of_claims": "rate",
    "expense_allowance_rate": "rate",
    "profit_cap": "rate",
    "insurer_share_above_cap": "rate",
    "loss_band": "rate",
    "fund_share_beyond_band": "rate",
    "insurer_share": "rate",
    "fund_admin_cost_per_enrollee": "yuan",
    "fund_admin_cost_per_claim": "yuan",
    "insurer_admin_cost_per_enrollee": "yuan",
    "insurer_admin_cost_per_claim": "yuan",
    "settlement_days": "days",
    "staff_per_10k_claims": "staff",
    "low_profit_cap": "rate",
}
NULLABLE = frozenset({"profit_cap", "loss_band"})  # null = no cap / no band


class ContractError(YibaoError):
    code = "contracts.invalid"


class _Values:
    """The `parameters` mapping of a contract file, read one checked value at a time."""

    def __init__(self, node: Node, mode: CooperationMode) -> None:
        self.node, self.mode = node, mode
        wanted = MODE_PARAMETERS[mode]
        given = set(node.mapping())
        extra, missing = given - set(wanted), set(wanted) - given
        if extra:
            raise node.fail(f"only the parameters of mode {mode.value} {list(wanted)} (not used: {sorted(extra)})")
        if missing:
            raise node.fail(f"every parameter of mode {mode.value} written out (missing: {sorted(missing)})")

    def _value(self, name: str) -> Node:
        param = self.node.req(name)
        param.only("description", "unit", "reference", "value")
        param.req("description").text()
        param.req("reference").text()
        unit = param.req("unit")
        if unit.value != UNITS[name]:
            raise unit.fail(f"unit {UNITS[name]!r}")
        return param.req("value")

    def money(self, name: str) -> Fen:
        fen = money_value(self._value(name))
        assert fen is not None
        return fen

    def rate(self, name: str) -> RatePpm:
        return rate_value(self._value(name))

    def optional_rate(self, name: str) -> RatePpm | None:
        value = self._value(name)
        return None if value.value is None and name in NULLABLE else rate_value(value)

    def number(self, name: str) -> Decimal:
        value = self._value(name)
        if isinstance(value.value, bool) or not isinstance(value.value, int | Decimal) or value.value < 0:
            raise value.fail("a non-negative number")
        return Decimal(value.value)

    def get_money(self, name: str) -> Fen:
        return self.money(name) if name in MODE_PARAMETERS[self.mode] else 0

    def get_rate(self, name: str) -> RatePpm:
        return self.rate(name) if name in MODE_PARAMETERS[self.mode] else RatePpm(0)


def _corridor(values: _Values) -> Corridor | None:
    if values.mode is CooperationMode.INSURANCE_CONTRACT:
        return Corridor(
            profit_cap=values.optional_rate("profit_cap"),
            insurer_share_above_cap=values.rate("insurer_share_above_cap"),
            loss_band=values.optional_rate("loss_band"),
            insurer_share_beyond_band=RatePpm(RATE_SCALE - values.rate("fund_share_beyond_band")),
        )
    if values.mode is CooperationMode.CO_INSURANCE:
        # Pinggu: every yuan of surplus or deficit is split at the agreed ratio (no cap, no band).
        share = values.rate("insurer_share")
        return Corridor(RatePpm(0), share, RatePpm(0), share)
    return None


def contract_from_node(top: Node) -> Contract:
    top.only("contract", "title", "mode", "insurer", "region", "year", "reference", "parameters")
    mode = top.req("mode").enum(CooperationMode, [m.value for m in CooperationMode])
    values = _Values(top.req("parameters"), mode)
    return Contract(
        name=top.req("contract").text(),
        title=top.req("title").text(),
        mode=mode,
        insurer=top.req("insurer").text(),
        region=top.req("region").text(),
        year=top.req("year").integer(),
        reference=top.req("reference").text(),
        premium_per_enrollee=values.get_money("premium_per_enrollee"),
        fee_per_enrollee=values.get_money("fee_per_enrollee"),
        fee_rate_of_claims=values.get_rate("fee_rate_of_claims"),
        expense_allowance_rate=values.get_rate("expense_allowance_rate"),
        corridor=_corridor(values),
        fund_admin=AdminCost(values.money("fund_admin_cost_per_enrollee"), values.money("fund_admin_cost_per_claim")),
        insurer_admin=AdminCost(
            values.money("insurer_admin_cost_per_enrollee"), values.money("insurer_admin_cost_per_claim")
        ),
        settlement_days=values.number("settlement_days"),
        staff_per_10k_claims=values.number("staff_per_10k_claims"),
        low_profit_cap=values.rate("low_profit_cap"),
    )


def builtin_contracts() -> list[str]:
    return sorted(path.stem for path in BUILTIN_DIR.glob("*.yaml"))


def contract_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.exists():
        return path
    candidate = BUILTIN_DIR / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    raise ContractError(
        f"no contract file or built-in contract named {str(name_or_path)!r} (built-in: {builtin_contracts()})",
        code="contracts.not_found",
    )


def parse_contract(data: object, source: Path) -> Contract:
    """A contract from its YAML data; every error names the file and the key path."""
    try:
        return contract_from_node(Node(data, source))
    except SchemeError as exc:  # the YAML helpers speak of schemes; here it is a contract file
        raise ContractError(exc.message, code="contracts.invalid") from exc


def load_contract(name_or_path: str | Path) -> Contract:
    """A built-in contract by name (e.g. 'zhanjiang-insurance-contract') or a contract file."""
    path = contract_path(name_or_path)
    try:
        data = read_yaml(path)
    except SchemeError as exc:
        raise ContractError(exc.message, code="contracts.invalid") from exc
    return parse_contract(data, path)


def load_builtin_contracts() -> list[Contract]:
    """The built-in contract of each mode (DEFAULT_CONTRACTS order), then any other built-in file."""
    others = [name for name in builtin_contracts() if name not in DEFAULT_CONTRACTS]
    return [load_contract(name) for name in (*DEFAULT_CONTRACTS, *others)]
