"""Read a policies file (`policy_id, person_id, product, start_date, end_date`; CSV or Parquet).

Errors name the file, the line (CSV; the row for Parquet) and the column: an unknown person or
product, a bad or reversed date, a repeated policy id, and two policies of the same product for
the same person that overlap. Nothing is returned unless every row is good. The premium paid is
the product's premium at the policy start for the person's age then (`benefits.premium_fen`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from yibao.core.errors import InputError
from yibao.products.benefits import Policy, PolicyStatus, premium_fen
from yibao.products.model import Product
from yibao.tables import Source, read_raw

POLICY_COLUMNS = ("policy_id", "person_id", "product", "start_date", "end_date")


def _date(text: object, src: Source, row: int, column: str) -> dt.date:
    if isinstance(text, dt.date) and not isinstance(text, dt.datetime):
        return text
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise src.fail(row, column, f"{text!r} is not a date such as 2021-06-01") from None


def read_policies(path: str | Path, birth_dates: Mapping[str, dt.date], products: Mapping[str, Product],
                  own: Iterable[str] = ()) -> list[Policy]:
    """The policies of a file, checked against the persons (id -> birth date) and the products (id -> product).
    `own`: further product ids a policy may name, a scheme's own private layers (`settlement.own_products`;
    no product file: their premium is not known here and is recorded as 0)."""
    frame, src = read_raw(path)
    return policies_of(frame, src, birth_dates, products, own)


def policies_of(frame: pl.DataFrame, src: Source, birth_dates: Mapping[str, dt.date],
                products: Mapping[str, Product], own: Iterable[str] = ()) -> list[Policy]:
    """`read_policies` on a table already read (`src` names it in errors)."""
    own_ids = frozenset(own)
    missing = [c for c in POLICY_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{src.name}, line 1: missing column(s) {missing}; expected columns {list(POLICY_COLUMNS)}",
                         code="input.missing_column")
    policies: list[Policy] = []
    seen: set[str] = set()
    for row, record in enumerate(frame.select(POLICY_COLUMNS).iter_rows(named=True)):
        policy_id = str(record["policy_id"] or "").strip()
        if not policy_id:
            raise src.fail(row, "policy_id", "an empty policy id")
        if policy_id in seen:
            raise src.fail(row, "policy_id", f"policy {policy_id!r} appears twice", code="input.duplicate")
        seen.add(policy_id)
        person_id = str(record["person_id"] or "").strip()
        if person_id not in birth_dates:
            raise src.fail(row, "person_id", f"unknown person {person_id!r} (not in the persons table)",
                           code="input.unknown_person")
        product_id = str(record["product"] or "").strip()
        product = products.get(product_id)
        if product is None and product_id not in own_ids:
            raise src.fail(row, "product", f"unknown product {product_id!r} (known: {sorted({*products, *own_ids})})",
                           code="input.unknown_product")
        start = _date(record["start_date"], src, row, "start_date")
        end = _date(record["end_date"], src, row, "end_date")
        if end < start:
            raise src.fail(row, "end_date", f"end {end} before start {start}")
        premium = 0 if product is None else premium_fen(product, birth_dates[person_id], start)
        policies.append(Policy(policy_id, person_id, product_id, start, end, premium, PolicyStatus.ACTIVE))
    _check_overlaps(policies, src)
    return policies


def _check_overlaps(policies: list[Policy], src: Source) -> None:
    order = sorted(range(len(policies)), key=lambda i: (policies[i].person_id, policies[i].product,
                                                        policies[i].start_date, i))
    for before, after in itertools.pairwise(order):
        first, second = policies[before], policies[after]
        if (first.person_id, first.product) == (second.person_id, second.product) and \
                second.start_date <= first.end_date:
            row = max(before, after)
            other = policies[min(before, after)]
            raise src.fail(row, "start_date",
                           f"policy {policies[row].policy_id!r} of {second.product!r} for person {second.person_id!r} "
                           f"overlaps policy {other.policy_id!r} ({first.start_date} to {first.end_date})",
                           code="input.overlapping_policies")
