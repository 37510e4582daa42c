"""Exact money and rates.

Money is integer fen inside yibao (1 yuan = 100 fen); files and APIs show yuan
with two decimals. Rates are exact decimals held as integer parts per million
(0.85 -> 850_000), so that `rate x amount` is an integer product and rounding
happens once, half-up to the fen, at the points the rules name.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import NewType, TypeVar

import numpy as np
import numpy.typing as npt

Fen = int
RatePpm = NewType("RatePpm", int)

FEN_PER_YUAN = 100
RATE_SCALE = 1_000_000  # a rate is held in millionths
MAX_RATE_DECIMALS = 6

# An amount of fen, or rates, for one claim (a Python int) or for many (an int64 array): the pieces of the rules
# (here and in yibao.core.rules) take either, so that the scalar and the batch paths compute with the same code.
Amount = TypeVar("Amount", int, npt.NDArray[np.int64])

_YUAN = re.compile(r"^(\d+)(?:\.(\d{1,2}))?$")


class MoneyFormatError(ValueError):
    """A text that is not an amount of yuan with at most two decimals."""


def parse_yuan(text: str) -> Fen:
    """'1234.5' -> 123450 fen. Rejects signs, exponents and more than two decimals."""
    match = _YUAN.match(text.strip())
    if match is None:
        raise MoneyFormatError(f"not a non-negative amount of yuan with at most two decimals: {text!r}")
    whole, frac = match.group(1), (match.group(2) or "")
    return int(whole) * FEN_PER_YUAN + int(frac.ljust(2, "0"))


def yuan_to_fen(value: int | str | Decimal) -> Fen:
    """Exact conversion of a yuan amount given as int, str or Decimal (never float)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyFormatError(f"money must not be given as {type(value).__name__}: {value!r}")
    if isinstance(value, int):
        return value * FEN_PER_YUAN
    dec = Decimal(value) if isinstance(value, str) else value
    fen = dec * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise MoneyFormatError(f"more than two decimals: {value}")
    return int(fen)


def format_yuan(fen: Fen) -> str:
    """123450 -> '1234.50'."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{part:02d}"


def parse_rate(value: int | str | Decimal) -> RatePpm:
    """'0.85' -> 850000. At most six decimals; exact or refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"a rate must be written as a decimal string or int, not {type(value).__name__}")
    try:
        dec = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal rate: {value!r}") from exc
    scaled = dec * RATE_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"a rate has at most {MAX_RATE_DECIMALS} decimals: {value}")
    return RatePpm(int(scaled))


def format_rate(rate: RatePpm) -> str:
    """850000 -> '85%'; 925000 -> '92.5%'."""
    pct = Decimal(rate) / (RATE_SCALE // 100)
    return f"{pct.normalize():f}%"


def round_half_up_div(numerator: Amount, denominator: int) -> Amount:
    """round(numerator / denominator) half-up, for numerator >= 0 and denominator > 0 (an int, or per claim)."""
    rounded: Amount = (2 * numerator + denominator) // (2 * denominator)
    return rounded


def apply_rate(rate: int | Amount, fen: Amount) -> Amount:
    """round(rate x amount) half-up to the fen — the one rounding point of a rate (an int, or per claim)."""
    product: Amount = rate * fen
    return round_half_up_div(product, RATE_SCALE)
