"""Voluntary insurance products as data (small-value insurance, Huiminbao, private medical), policies and benefits."""

from __future__ import annotations

from yibao.products.loader import ProductError, builtin_products, load_product, read_product
from yibao.products.model import Product, ProductKind
from yibao.products.settlement import with_products

__all__ = ["Product", "ProductError", "ProductKind", "builtin_products", "load_product", "read_product", "with_products"]
