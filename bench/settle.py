"""Benchmark of settlement: batch path vs scalar path vs Dask, against a NumPy floor, in one run.

    .venv/bin/python bench/settle.py                 # 10 million claims (about 1.5 million people)
    .venv/bin/python bench/settle.py --claims 1000000

On the same synthetic reference-city claims it measures, in this one run:
* the batch path (join with persons, canonical order, every layer) in claims per second;
* the scalar path on a sample of whole persons (so each person-year is complete);
* the Dask engine on a 2-worker LocalCluster (cluster start-up excluded), checked equal to batch;
* a floor: NumPy sorting the claims by person and date plus one cumulative sum per layer;
and prints their ratios and the batch path's peak memory per claim above the input table.
Timings are the best of --repeat runs because these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Console
from rich.progress import track
from rich.table import Table

from yibao.columns import claim_columns
from yibao.lab.synth import iter_city
from yibao.scale import dask_client, settle_dask_frame
from yibao.schemes import load_scheme
from yibao.tables import settle_frame

CLAIMS_PER_PERSON = 6.7  # what the synthetic city produces, to size the population


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def reset_peak() -> None:
    """Linux: writing 5 to clear_refs resets the peak resident set size (VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def best(run: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def floor(person: np.ndarray, day: np.ndarray, columns: list[np.ndarray], layers: int) -> None:
    order = np.lexsort((day, person))
    for i in range(layers):
        np.cumsum(columns[i % len(columns)][order])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=10_000_000, help="about this many claims")
    parser.add_argument("--scalar-sample", type=int, default=20_000, help="claims in the scalar path's sample")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    console = Console()
    scheme = load_scheme("reference-city")

    people = max(int(args.claims / CLAIMS_PER_PERSON), 100)
    persons_parts, claims_parts = [], []
    blocks = list(track(iter_city(people, 2024, args.seed), description=f"synthesising {people:,} people"))
    for block in blocks:
        persons_parts.append(block.persons)
        claims_parts.append(block.claims)
    del blocks
    persons, claims = pl.concat(persons_parts), pl.concat(claims_parts)
    del persons_parts, claims_parts
    gc.collect()
    n = claims.height
    console.print(f"{n:,} claims of {persons.height:,} people; input table {claims.estimated_size() / n:.0f} bytes/claim")

    # batch path, with its peak memory above the input tables
    base_rss = rss_kib("VmRSS")
    reset_peak()
    t0 = time.perf_counter()
    batch = settle_frame(scheme, persons, claims, "batch")
    first_batch = time.perf_counter() - t0
    peak_kib = rss_kib("VmHWM") - base_rss
    bytes_per_claim = peak_kib * 1024 / n
    del batch
    t_batch, batch = best(lambda: settle_frame(scheme, persons, claims, "batch"), args.repeat - 1) if args.repeat > 1 else (first_batch, settle_frame(scheme, persons, claims, "batch"))
    t_batch = min(t_batch, first_batch)
    assert isinstance(batch, pl.DataFrame)

    # floor over the same columns
    cols = claim_columns(persons, claims)
    amounts = [cols.class_a, cols.class_b, cols.self_pay, cols.special_drugs]
    t_floor, _ = best(lambda: floor(cols.person, cols.day, amounts, len(scheme.layers)), args.repeat)

    # scalar path on a sample of whole persons
    sample_people = claims["person_id"].unique(maintain_order=True).head(max(int(args.scalar_sample / CLAIMS_PER_PERSON), 1))
    sample = claims.filter(pl.col("person_id").is_in(sample_people.implode()))
    sample_persons = persons.filter(pl.col("person_id").is_in(sample_people.implode()))
    t_scalar, scalar = best(lambda: settle_frame(scheme, sample_persons, sample, "scalar"), 1)
    expected = batch.filter(pl.col("person_id").is_in(sample_people.implode()))
    assert isinstance(scalar, pl.DataFrame) and scalar.equals(expected), "scalar and batch differ"

    rows = [
        ("batch path", n, t_batch),
        ("scalar path (sample)", sample.height, t_scalar),
        ("floor: NumPy sort + cumsum per layer", n, t_floor),
    ]
    t_dask = None
    if not args.no_dask:
        with dask_client(workers=2) as client:
            # warm the workers (imports, first scheme transfer): cluster start-up is not what is measured
            settle_dask_frame(scheme, sample_persons, sample, client=client)
            t_dask, dask_result = best(lambda: settle_dask_frame(scheme, persons, claims, client=client), 1)
        assert isinstance(dask_result, pl.DataFrame) and dask_result.equals(batch), "Dask and batch differ"
        rows.insert(1, ("Dask engine, 2-worker LocalCluster", n, t_dask))

    table = Table(title=f"settlement benchmark — {n:,} claims, reference-city, {os.cpu_count()} cores")
    for col in ("path", "claims", "seconds", "claims/s"):
        table.add_column(col, justify="left" if col == "path" else "right")
    for name, count, seconds in rows:
        table.add_row(name, f"{count:,}", f"{seconds:.3f}", f"{count / seconds:,.0f}")
    console.print(table)
    batch_rate, scalar_rate = n / t_batch, sample.height / t_scalar
    console.print(f"batch / scalar speed:          {batch_rate / scalar_rate:,.0f}x   (target >= 100x)")
    console.print(f"batch time / floor time:       {t_batch / t_floor:.2f}x   (target <= 3x)")
    if t_dask is not None:
        console.print(f"Dask time / batch time:        {t_dask / t_batch:.2f}x   (target <= 1.5x; output identical: yes)")
    console.print(f"batch peak memory above input: {bytes_per_claim:.0f} bytes/claim   (target <= 200)")
    console.print("scalar sample equals batch to the fen: yes")


if __name__ == "__main__":
    main()
