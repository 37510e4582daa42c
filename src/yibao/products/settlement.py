"""Products in settlement: their indemnity layers appended to a scheme, and the policies that make them pay.

A product's indemnity (`Product.indemnity`, a layer in the scheme's anatomy) is settled after the scheme's
layers, as a layer of its own whose `product` is the product's id: it pays a claim only when the person holds a
policy of that product in force on the service date (`yibao.core.scalar.cover_gap`; the batch path's mask is
`yibao.core.rows.Chunk.in_force`). Its output column is `paid_<indemnity layer id>` (for example
`paid_huhuibao`). Products without an indemnity (daily allowances and lump sums only) add no layer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

import polars as pl

from yibao.core.errors import SchemeError
from yibao.core.model import PolicyCover
from yibao.core.scheme import Layer, Scheme
from yibao.products.benefits import Policy, PolicyStatus
from yibao.products.model import Product

POLICY_FRAME = {"person_id": pl.String, "product": pl.String, "start_date": pl.Date, "end_date": pl.Date}


def product_layer(product: Product) -> Layer | None:
    """The product's indemnity as a layer that pays its policyholders only (None: no indemnity)."""
    if product.indemnity is None:
        return None
    return dataclasses.replace(product.indemnity, product=product.id)


def with_products(scheme: Scheme, products: Iterable[Product]) -> Scheme:
    """The scheme with the products' indemnity layers settled after its own layers, in the order given.

    Refused (SchemeError): a product whose indemnity layer id is already a layer of the scheme, or whose base
    names a layer the scheme lacks."""
    layers = tuple(layer for product in products if (layer := product_layer(product)) is not None)
    taken = set(scheme.layer_ids)
    for layer in layers:
        if layer.id in taken:
            raise SchemeError(f"product {layer.product!r}: its indemnity layer id {layer.id!r} is already a layer "
                              f"of scheme {scheme.name!r}", code="scheme.duplicate_layer")
        taken.add(layer.id)
    return scheme.with_layers(layers)


def own_products(scheme: Scheme) -> tuple[str, ...]:
    """The products a scheme's own private layers stand for (their layer ids): what a policy may name besides
    the built-in products, and what the `huiminbao` flag holds for the whole year."""
    return tuple(layer.id for layer in scheme.layers if layer.shorthand)


def named_products(policies: Sequence[Policy], scheme: Scheme, products: Mapping[str, Product]) -> list[Product]:
    """The products the policies name that are not the scheme's own, by id (to append with `with_products`)."""
    own = set(own_products(scheme))
    return [products[pid] for pid in sorted({p.product for p in policies} - own)]


def policies_frame(policies: Iterable[Policy]) -> pl.DataFrame:
    """The policies in force (active ones) as the engines take them: person_id, product, start_date, end_date."""
    active = [p for p in policies if p.status is PolicyStatus.ACTIVE]
    return pl.DataFrame(
        {
            "person_id": [p.person_id for p in active],
            "product": [p.product for p in active],
            "start_date": [p.start_date for p in active],
            "end_date": [p.end_date for p in active],
        },
        schema=POLICY_FRAME,
    )


def covers(policies: Iterable[Policy]) -> dict[str, tuple[PolicyCover, ...]]:
    """Each person's active policies as the rules core holds them (`Person.policies`)."""
    held: dict[str, list[PolicyCover]] = {}
    for p in policies:
        if p.status is PolicyStatus.ACTIVE:
            held.setdefault(p.person_id, []).append(PolicyCover(p.product, p.start_date, p.end_date))
    return {pid: tuple(sorted(items, key=lambda c: (c.product, c.start))) for pid, items in held.items()}
