"""Identity numbers checked column-wise: the resident identity number (RIC) and the USCC of employers.

`python-stdnum` (`stdnum.cn.ric`, `stdnum.cn.uscc`) is the reference: a number is valid exactly when
stdnum says so. Calling it per row costs ~8 µs, too slow for ten million rows, so the check digit
(ISO 7064 MOD 11-2) and the birth date are computed on whole columns, and stdnum's birth-place rule is
asked once per distinct (area code, birth year). tests/audit/test_identity.py holds the two equal.
"""

from __future__ import annotations

import polars as pl
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

# ISO 7064 MOD 11-2 weights of the 17 digits: 2**(17 - i) mod 11.
_RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RIC_CHECK = "10X98765432"  # check character for (sum of weighted digits) mod 11


def ric_compact(values: pl.Expr) -> pl.Expr:
    """Text as stdnum compacts it: spaces and dashes removed, upper case."""
    return values.str.replace_all(r"[\s\-]", "").str.to_uppercase()


def _known_birth_place(pairs: pl.DataFrame) -> pl.Series:
    """stdnum's birth-place rule for each distinct (area, year)."""

    def known(area: str, year: int) -> bool:
        try:
            stdnum_ric.get_birth_place(f"{area}{year:04d}0101" + "0000")
        except Exception:  # stdnum raises InvalidComponent (or KeyError on odd codes): not a known place
            return False
        return True

    return pl.Series([known(a, y) for a, y in pairs.iter_rows()], dtype=pl.Boolean)


CHUNK = 1_000_000  # rows checked at a time: the digit columns of a chunk are made, summed and dropped


def ric_valid(numbers: pl.Series) -> pl.Series:
    """True where the number is a valid RIC (as `stdnum.cn.ric.is_valid`); null and empty are False."""
    if numbers.len() <= CHUNK:
        return _ric_valid(numbers)
    parts = [_ric_valid(numbers.slice(start, CHUNK)) for start in range(0, numbers.len(), CHUNK)]
    return pl.concat(parts).alias(numbers.name)


def _ric_valid(numbers: pl.Series) -> pl.Series:
    frame = pl.DataFrame({"n": numbers.cast(pl.String)}).with_columns(ric_compact(pl.col("n")).alias("n"))
    shaped = pl.col("n").str.contains(r"^\d{17}[\dX]$").fill_null(False)
    total = pl.sum_horizontal(
        [pl.col("n").str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(_RIC_WEIGHTS)]
    )
    check = pl.lit(_RIC_CHECK).str.slice(total % 11, 1)
    born = pl.col("n").str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    frame = frame.with_columns(
        (shaped & (pl.col("n").str.slice(17, 1) == check) & born.is_not_null()).fill_null(False).alias("ok"),
        pl.col("n").str.slice(0, 6).alias("area"),
        born.dt.year().alias("year"),
    )
    pairs = frame.filter(pl.col("ok")).select("area", "year").unique()
    places = pairs.with_columns(_known_birth_place(pairs).alias("place"))
    joined = frame.join(places, on=["area", "year"], how="left", maintain_order="left")
    return (joined["ok"] & joined["place"].fill_null(False)).alias(numbers.name)


def uscc_valid(codes: pl.Series) -> pl.Series:
    """True where the code is a valid unified social credit code (stdnum, once per distinct code)."""
    distinct = codes.cast(pl.String).unique().drop_nulls()
    valid = [c for c in distinct.to_list() if stdnum_uscc.is_valid(c)]
    return codes.cast(pl.String).is_in(pl.Series(valid, dtype=pl.String).implode()).fill_null(False).alias(codes.name)


def ric_check_char(first17: pl.Expr) -> pl.Expr:
    """The RIC check character of 17 digits (ISO 7064 MOD 11-2), for making numbers (synthetic data)."""
    total = pl.sum_horizontal([first17.str.slice(i, 1).cast(pl.Int32) * w for i, w in enumerate(_RIC_WEIGHTS)])
    return pl.lit(_RIC_CHECK).str.slice(total % 11, 1)
