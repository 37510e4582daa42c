"""Work spread over threads (NumPy and Polars release the GIL in their loops)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def map_on(pool: ThreadPoolExecutor | None, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """work(item) for each item, on the pool's threads when there is a pool."""
    return list(pool.map(work, items) if pool is not None else map(work, items))


def run_on(work: Callable[[Any], None], items: list[Any], workers: int, pool: ThreadPoolExecutor | None = None) -> None:
    """work(item) for each item on up to `workers` threads (the pool's, or a pool of its own); a worker's error is
    raised here."""
    if pool is None and min(workers, len(items)) > 1:
        with ThreadPoolExecutor(min(workers, len(items))) as own:
            run_on(work, items, workers, own)
    elif pool is None or len(items) <= 1:
        for item in items:
            work(item)
    else:
        list(pool.map(work, items))  # list() re-raises a chunk's error here
