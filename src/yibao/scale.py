"""Scale-out on Dask: claims partitioned by person, each partition settled by the batch path.

A person's claims all land in one partition, so every partition is settled
exactly as one machine would settle it; the results are put back in input order
and are identical to the single-process batch path. With no scheduler address a
`LocalCluster` is started (one single-threaded worker process per core); with
`--scheduler tcp://HOST:8786` the same work goes to a real cluster.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl

from yibao.core.scheme import Scheme

ROW = "_row"


def settle_partition(scheme: Scheme, persons: pl.DataFrame, claims: pl.DataFrame) -> pl.DataFrame:
    """What a worker does: the batch path on one partition (claims keep their `_row` numbers)."""
    from yibao.columns import claim_columns
    from yibao.core.batch import settle_columns

    result = settle_columns(scheme, claim_columns(persons, claims.drop(ROW)))
    return pl.DataFrame({ROW: claims[ROW], **{k: pl.Series(k, v, dtype=pl.Int64) for k, v in result.items()}})


def partition_by_person(
    persons: pl.DataFrame, claims: pl.DataFrame, partitions: int
) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    """Split both tables by a hash of person_id, so each person's claims stay together."""
    part = pl.col("person_id").hash(seed=20240101) % partitions
    people = persons.with_columns(part.alias("_part"))
    bills = claims.with_row_index(ROW).with_columns(part.alias("_part"))
    return [
        (
            people.filter(pl.col("_part") == i).drop("_part"),
            bills.filter(pl.col("_part") == i).drop("_part"),
        )
        for i in range(partitions)
    ]


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
    pieces = partition_by_person(persons, claims, partitions or workers)
    scheme_future = client.scatter(scheme, broadcast=True)
    futures = [client.submit(settle_partition, scheme_future, p, c, pure=False) for p, c in pieces if c.height]
    results = client.gather(futures)
    columns = ["total", "preselfpay", "in_policy", *[f"paid_{i}" for i in scheme.layer_ids], "out_of_pocket"]
    if not results:
        return claims.with_columns([pl.lit(0, dtype=pl.Int64).alias(c) for c in columns]).head(0)
    settled = pl.concat(results).sort(ROW)
    return claims.with_columns([settled[c] for c in columns])
