"""One-stop settlement of products' indemnity at the counter (一站式结算) for policyholders in force.

A product whose data says `one_stop: {value: true}` and that has an indemnity benefit is settled with the claim:
when the person holds an active (or lapsed) policy of it in force on the service date and past the waiting
period (illness: from start + waiting days), the claim is settled under the region's scheme followed by the
product's indemnity layer (`yibao.products.with_products`), and the person carries the policy as a
`PolicyCover` (so the layer pays only policyholders in force: `yibao.core.scalar.cover_gap`). Other claims are
settled exactly as before. The layer's payment is posted to the insurer's claims account of the product
(`region:<product year>:insurer_claims:<product>`) instead of a fund, owed to the facility like the others.

The product's yearly deductible and caps accumulate per calendar year of service, as the scheme's layers do
(a product year that is not a calendar year is not yet accumulated per policy year).

This module reads only the store's tables and the products (no other service): the claims service uses it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cache
from typing import Any

from sqlalchemy import Date, bindparam, exists, literal_column, select
from sqlalchemy.orm import Session

from yibao.core.model import Person, PolicyCover
from yibao.core.scheme import Scheme
from yibao.ops.ledger import LAYER_ACCOUNT, Account, AccountKind
from yibao.ops.store import PersonRow
from yibao.ops.store_products import PolicyRow
from yibao.products.loader import builtin_products
from yibao.products.model import Product
from yibao.products.settlement import with_products

IN_FORCE_STATUSES = ("active", "lapsed")


@cache
def catalogue() -> dict[str, Product]:
    """The built-in products by id (read once)."""
    return {p.id: p for p in builtin_products()}


def one_stop_products() -> dict[str, Product]:
    return {pid: p for pid, p in catalogue().items() if p.one_stop and p.indemnity is not None}


def covers(session: Session, person_id: str, day: dt.date) -> list[tuple[Product, PolicyCover]]:
    """The person's one-stop policies in force on `day` and past their waiting period, with their products."""
    products = one_stop_products()
    if not products:
        return []
    rows = session.execute(select(PolicyRow).where(
        PolicyRow.person_id == person_id, PolicyRow.product.in_(sorted(products)),
        PolicyRow.status.in_(IN_FORCE_STATUSES), PolicyRow.start_date <= day, PolicyRow.end_date >= day)).scalars()
    found = []
    for row in rows:
        item = products[row.product]
        start = row.start_date + dt.timedelta(days=item.window.waiting_days.at(row.start_date))
        end = row.ended_on if row.status == "lapsed" and row.ended_on is not None else row.end_date
        if start <= day <= end:
            found.append((item, PolicyCover(item.id, start, end)))
    return found


_SCHEMES: dict[tuple[int, tuple[str, ...]], tuple[Scheme, Scheme]] = {}  # (scheme id, products) -> (scheme, with them)


def holds_policy() -> Any:
    """A column for the claims' one locking read (parameters `person_id` via the persons row, `day`): whether the
    person holds any policy in force that day; only then are their one-stop policies looked up."""
    day = bindparam("day", type_=Date)
    statuses: list[Any] = [literal_column(f"'{status}'") for status in IN_FORCE_STATUSES]  # constants: no parameters
    return exists().where(PolicyRow.person_id == PersonRow.person_id, PolicyRow.status.in_(statuses),
                          PolicyRow.start_date <= day, PolicyRow.end_date >= day)


def cover(session: Session, scheme: Scheme, person: Person, day: dt.date, holds: bool = True) -> tuple[Scheme, Person]:
    """The scheme and person a claim on `day` is settled with: unchanged, or with the one-stop products the
    person holds in force (their layers appended, their policies carried). `holds` False: known to hold none."""
    held = covers(session, person.person_id, day) if holds else []
    if not held:
        return scheme, person
    ids = tuple(item.id for item, _ in held)
    key = (id(scheme), ids)
    made = _SCHEMES.get(key)
    if made is None or made[0] is not scheme:
        made = _SCHEMES[key] = (scheme, with_products(scheme, [item for item, _ in held]))
    return made[1], dataclasses.replace(person, policies=(*person.policies, *(c for _, c in held)))


def layer_account(scheme: Scheme, layer_id: str, region: str, year: int) -> Account:
    """The account a layer's payment on a claim of `year` is posted to: a one-stop product's claims account
    (its product year), else the fund of the layer's kind."""
    for item in one_stop_products().values():
        if item.indemnity is not None and item.indemnity.id == layer_id and layer_id not in scheme.layer_ids:
            return Account(region, item.year, AccountKind.INSURER_CLAIMS, item.id)
    layer = scheme.layer(layer_id)
    if layer.product is not None and layer.product in catalogue():
        return Account(region, catalogue()[layer.product].year, AccountKind.INSURER_CLAIMS, layer.product)
    return Account(region, year, LAYER_ACCOUNT[layer.kind])
