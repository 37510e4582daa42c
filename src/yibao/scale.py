"""Scale-out on Dask: claims partitioned by person, each partition settled by the batch path.

A person's claims all land in one partition, so every partition is settled
exactly as one machine would settle it; the results are put back in input order
and are identical to the single-process batch path. With no scheduler address a
`LocalCluster` is started (one single-threaded worker process per core); with
`--scheduler tcp://HOST:8786` the same work goes to a real cluster.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl

from yibao.columns import claim_columns
from yibao.core.batch import I64, ClaimColumns, canonical_order, settle_columns
from yibao.core.scheme import Scheme


def person_slices(cols: ClaimColumns, partitions: int) -> list[I64]:
    """Row numbers of each partition: consecutive runs of the canonical order, cut only between persons."""
    order = canonical_order(cols)
    person = cols.person[order]
    n = len(order)
    cuts = [0]
    for i in range(1, partitions):
        cut = max(int(n * i / partitions), cuts[-1])
        while 0 < cut < n and person[cut] == person[cut - 1]:
            cut += 1
        cuts.append(min(cut, n))
    cuts.append(n)
    return [order[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def take(cols: ClaimColumns, rows: I64) -> ClaimColumns:
    """The columns of some rows, already in canonical order."""
    return ClaimColumns(
        person=cols.person[rows],
        day=cols.day[rows],
        age=cols.age[rows],
        keys={dim: codes[rows] for dim, codes in cols.keys.items()},
        class_a=cols.class_a[rows],
        class_b=cols.class_b[rows],
        self_pay=cols.self_pay[rows],
        special_drugs=cols.special_drugs[rows],
        order=np.arange(len(rows), dtype=np.int64),
    )


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    n = workers or max(os.cpu_count() or 1, 1)
    # one core per worker process: keep Polars' own thread pool from oversubscribing the machine
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    with (
        LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


def settle_dask_frame(
    scheme: Scheme,
    persons: pl.DataFrame,
    claims: pl.DataFrame,
    scheduler: str | None = None,
    client: Any = None,
    partitions: int | None = None,
) -> pl.DataFrame:
    """The settled frame (as `tables.settle_frame`), computed on a Dask cluster."""
    if client is None:
        with dask_client(scheduler) as own:
            return settle_dask_frame(scheme, persons, claims, client=own, partitions=partitions)
    workers = len(client.scheduler_info().get("workers", {})) or 1
    # Only NumPy columns travel to the workers: the join and the key codes are done once here.
    cols = claim_columns(persons, claims)
    slices = person_slices(cols, partitions or workers)
    scheme_future = client.scatter(scheme, broadcast=True)
    futures = [client.submit(settle_columns, scheme_future, take(cols, rows), pure=False) for rows in slices]
    names = ["total", "preselfpay", "in_policy", *[f"paid_{i}" for i in scheme.layer_ids], "out_of_pocket"]
    out = {name: np.zeros(claims.height, dtype=np.int64) for name in names}
    for rows, result in zip(slices, client.gather(futures), strict=True):
        for name in names:
            out[name][rows] = result[name]
    return claims.with_columns([pl.Series(name, out[name], dtype=pl.Int64) for name in names])
