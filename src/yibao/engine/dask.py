"""Scale-out on Dask: claims partitioned by person, each partition settled by the batch path.

A person's claims all land in one partition, so every partition is settled exactly as
one machine would settle it, and the results are identical to the single-process batch
path. Two ways in:

* a **partitioned Parquet dataset** (`write_dataset` makes one): a folder `claims/` of
  part files and either a folder `persons/` with a part of the same name for each (the
  persons of that part) or one persons file. Each worker reads its own parts, settles
  them and writes its output part next to the others; nothing but file names and a
  little bookkeeping travels through the client. This is the way for data bigger than
  one machine, on a real cluster with a shared file system.
* **frames in memory** (`settle_dask_frame`): the client joins and sorts once, then
  ships each partition's NumPy columns to a worker and puts the results back in order.

With no scheduler address a `LocalCluster` is started (one single-threaded worker
process per core); with `--scheduler tcp://HOST:8786` the same work goes to a real
cluster.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from yibao.core.batch import output_names
from yibao.core.errors import InputError
from yibao.core.scheme import Scheme
from yibao.engine.build import claim_table, person_rows, settle_batch
from yibao.engine.run import settle_columns
from yibao.tables import (
    read_claims,
    read_persons,
    settlement_output,
    to_contract_claims,
    to_contract_persons,
    write_table,
)

PART = "part-{:05d}.parquet"


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    n = workers or max(os.cpu_count() or 1, 1)
    # one core per worker process: keep Polars' own thread pool from oversubscribing the machine
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    with (
        LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,  # type: ignore[no-untyped-call]
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


def _worker_count(client: Any) -> int:
    return len(client.scheduler_info().get("workers", {})) or 1


def settle_dask_frame(
    scheme: Scheme,
    persons: pl.DataFrame,
    claims: pl.DataFrame,
    scheduler: str | None = None,
    client: Any = None,
    partitions: int | None = None,
    policies: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The settled frame (as `yibao.engine.settle_frame`), computed on a Dask cluster."""
    if client is None:
        with dask_client(scheduler) as own:
            return settle_dask_frame(scheme, persons, claims, client=own, partitions=partitions, policies=policies)
    # Only NumPy columns travel to the workers: the join and the sort are done once here (the persons' cover
    # dates and policies go with each group's columns).
    table = claim_table(persons, claims, policies)
    # groups of whole persons in canonical order, and their input rows in that order
    groups = [table.sorted(rows) for rows in table.chunks(partitions or _worker_count(client))]
    scheme_future = client.scatter(scheme, broadcast=True, hash=False)
    # one thread per task: a Dask worker's threads are its unit of parallelism
    # the slices travel as data, not inside the task graph
    slices = client.scatter([columns for columns, _ in groups], hash=False) if groups else []
    futures = [client.submit(settle_columns, scheme_future, part, threads=1, pure=False) for part in slices]
    del slices
    names = output_names(scheme)
    out = {name: np.zeros(claims.height, dtype=np.int64) for name in names}
    for (_, rows), future in zip(groups, futures, strict=True):
        result = future.result()  # back to the input rows the sorted ones came from
        for name in names:
            out[name][rows] = result[name]
        future.release()
    return claims.with_columns([pl.Series(name, out[name], dtype=pl.Int64) for name in names])


# --- partitioned Parquet datasets ---------------------------------------------------------------------------


def write_dataset(persons: pl.DataFrame, claims: pl.DataFrame, out_dir: str | Path, parts: int) -> Path:
    """Write normalised frames as a dataset partitioned by person: persons/part-N and claims/part-N hold the
    same persons (runs of the persons table's order); each claims part keeps the claims' input order."""
    out = Path(out_dir)
    rows = person_rows(persons, claims)
    bounds = np.linspace(0, persons.height, parts + 1).astype(np.int64)
    part_of_claim = np.searchsorted(bounds, rows, side="right") - 1
    contract_persons, contract_claims = to_contract_persons(persons), to_contract_claims(claims)
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        name = PART.format(i)
        write_table(contract_persons.slice(int(a), int(b - a)), out / "persons" / name)
        write_table(contract_claims.filter(pl.Series(part_of_claim == i)), out / "claims" / name)
    return out


@dataclass(frozen=True)
class PartResult:
    """What a worker sends back for one part: its output file, row count and person ids (to check the
    partitioning), and the totals of its money columns in fen."""

    out: str
    rows: int
    person_ids: pl.Series
    sums: dict[str, int]


def settle_part(scheme: Scheme, persons_path: str, claims_path: str, out_path: str) -> PartResult:
    """One part, on a worker: read (with the usual file/line/column checks), settle, write the output part."""
    persons = read_persons(persons_path)
    claims = read_claims(claims_path, persons, scheme)
    settled = settle_batch(scheme, persons, claims, threads=1)
    write_table(settlement_output(scheme, settled), out_path)
    money = ["total", *[f"paid_{i}" for i in scheme.layer_ids], "out_of_pocket"]
    sums = {name: int(value or 0) for name, value in settled.select(money).sum().row(0, named=True).items()}
    return PartResult(out_path, settled.height, claims["person_id"].unique(), sums)


def dataset_parts(persons: str | Path, claims: str | Path) -> list[tuple[str, str]]:
    """(persons file, claims file) of every part: persons/<part> when persons is a folder, else the one file."""
    claims_dir, persons_path = Path(claims), Path(persons)
    files = sorted(p for p in claims_dir.glob("*.parquet") if not p.name.startswith("."))
    if not claims_dir.is_dir() or not files:
        raise InputError(f"{claims}: a partitioned dataset is a folder of .parquet files", code="input.no_parts")
    pairs = []
    for file in files:
        own = persons_path / file.name if persons_path.is_dir() else persons_path
        if not own.exists():
            raise InputError(f"{own}: no persons part for {file}", code="input.no_parts")
        pairs.append((str(own), str(file)))
    return pairs


def settle_dask_dataset(
    scheme: Scheme,
    persons: str | Path,
    claims: str | Path,
    out_dir: str | Path,
    scheduler: str | None = None,
    client: Any = None,
) -> list[PartResult]:
    """Settle a dataset partitioned by person: each worker reads its parts and writes out_dir/<part name>.

    Refuses (after the fact, writing nothing more) a dataset where one person's claims are in two parts,
    since each part's yearly accumulators would then start from zero."""
    if client is None:
        with dask_client(scheduler) as own:
            return settle_dask_dataset(scheme, persons, claims, out_dir, client=own)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pairs = dataset_parts(persons, claims)
    scheme_future = client.scatter(scheme, broadcast=True, hash=False)
    futures = [
        client.submit(settle_part, scheme_future, p, c, str(out / Path(c).name), pure=False) for p, c in pairs
    ]
    results: list[PartResult] = client.gather(futures)
    _check_partitioned(results, [c for _, c in pairs])
    return results


def _check_partitioned(results: Sequence[PartResult], names: Sequence[str]) -> None:
    ids = pl.concat([r.person_ids for r in results])
    if ids.n_unique() == len(ids):
        return
    twice = ids.filter(ids.is_duplicated())[0]
    where = [name for name, r in zip(names, results, strict=True) if (r.person_ids == twice).any()]
    for r in results:
        Path(r.out).unlink(missing_ok=True)
    raise InputError(
        f"person {twice} has claims in more than one part ({', '.join(where)}): partition the claims by person",
        code="input.not_partitioned",
    )
