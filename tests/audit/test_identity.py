"""The column-wise identity-number checks agree with python-stdnum, the reference, number by number."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from yibao.audit.identity import ric_valid, uscc_valid

AREAS = st.sampled_from(["110105", "310101", "370202", "999999", "440305"])


@st.composite
def numbers(draw: st.DrawFn) -> str:
    first = draw(AREAS) + f"{draw(st.integers(1900, 2030))}{draw(st.integers(0, 13)):02d}{draw(st.integers(0, 32)):02d}"
    first += f"{draw(st.integers(0, 999)):03d}"
    number = first + ric.calc_check_digit(first + "0")
    edit = draw(st.sampled_from(["none", "change", "swap", "truncate", "junk"]))
    at = draw(st.integers(0, 16))
    if edit == "change":
        number = number[:at] + draw(st.sampled_from("0123456789X")) + number[at + 1 :]
    elif edit == "swap":
        number = number[:at] + number[at + 1] + number[at] + number[at + 2 :]
    elif edit == "truncate":
        number = number[:at]
    elif edit == "junk":
        number = draw(st.text(max_size=20))
    return number


@settings(max_examples=60, deadline=None)
@given(st.lists(numbers(), min_size=1, max_size=40))
def test_ric_valid_is_stdnum(values: list[str]) -> None:
    assert ric_valid(pl.Series(values, dtype=pl.String)).to_list() == [ric.is_valid(v) for v in values]


def test_uscc_valid_is_stdnum() -> None:
    good = "91370202MA0000001" + uscc.calc_check_digit("91370202MA00000010")
    values = [good, good[:-1] + "0", "", "91370202", None]
    assert uscc_valid(pl.Series(values, dtype=pl.String)).to_list() == [True, uscc.is_valid(good[:-1] + "0"),
                                                                         False, False, False]  # fmt: skip


def test_ric_valid_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import yibao.audit.identity as identity

    values = [ric.calc_check_digit("11010519900101001" + "0") for _ in range(1)]
    good = "11010519900101001" + values[0]
    numbers = [good, good[:-1] + "0", "", good, "x"] * 5
    monkeypatch.setattr(identity, "CHUNK", 4)
    assert ric_valid(pl.Series(numbers)).to_list() == [ric.is_valid(n) for n in numbers]
