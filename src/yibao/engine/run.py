"""Settling a claims table with the batch path: chunks on threads, results in input order, memory reused.

The rule is yibao.core.batch.settle_sorted (one chunk in canonical order); this module
decides what runs where: the table's chunks (yibao.engine.table) are settled on one
thread per core, each chunk's payments written back into its claims' own rows, then
copied out to their columns in input order.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from yibao.core.batch import output_names, person_amounts_used, settle_sorted, uses_age
from yibao.core.rows import I64, ClaimColumns, ParameterTables
from yibao.core.rules import classify_bill
from yibao.core.scheme import Parameter, Scheme
from yibao.engine.table import ClaimTable, Partition, new_column, row_items
from yibao.engine.threads import map_on, run_on

# Rows settled together: person-aligned chunks small enough for their temporaries to stay in the CPU caches,
# and settled on every core (NumPy releases the GIL in its loops).
CHUNK_ROWS = 1 << 18
# rows of the input order worked on at a time where the work is row by row
_PIECE_ROWS = 1 << 16


def chunk_count(n: int, chunk_rows: int = CHUNK_ROWS) -> int:
    """How many chunks `n` claims are settled in."""
    return -(-n // chunk_rows)


def person_cuts(person: npt.NDArray[np.integer[Any]], partitions: int) -> list[tuple[int, int]]:
    """Consecutive runs [a, b) of rows sorted by person, about equal in size, cut only between persons."""
    n = len(person)
    cuts = [0]
    for i in range(1, partitions):
        cut = max(n * i // partitions, cuts[-1])
        while 0 < cut < n and person[cut] == person[cut - 1]:
            cut += 1
        cuts.append(min(cut, n))
    cuts.append(n)
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def settle_columns(
    scheme: Scheme,
    cols: ClaimColumns | ClaimTable,
    *,
    threads: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    reuse: bool = False,
) -> dict[str, I64]:
    """Settle every claim; returns total, preselfpay, in_policy, paid_<layer>..., out_of_pocket.

    `ClaimColumns` (rows in canonical order) give results in that order; a `ClaimTable` gives them in its input
    order: its rows are grouped into chunks of whole persons, and each chunk is put in canonical order, gathered,
    settled and written back on its own, so no sorted copy of the whole table is made. Chunks are settled on
    `threads` threads (default: one per core). `reuse`: the table's memory may hold results (it is then spent;
    the caller made it for this settlement)."""
    workers = max(1, threads or os.cpu_count() or 1)
    if isinstance(cols, ClaimTable):
        return _settle_table(scheme, cols, workers, chunk_rows, reuse)
    cols.check_order()
    n = len(cols)
    out = {name: new_column(n) for name in output_names(scheme)}
    chunks = person_cuts(cols.person, max(1, chunk_count(n, chunk_rows)))
    tables = ParameterTables()

    def settle_chunk(bounds: tuple[int, int]) -> None:
        a, b = bounds
        for name, values in settle_sorted(scheme, cols.rows(a, b), tables).items():
            out[name][a:b] = values

    run_on(settle_chunk, chunks, workers)
    return out


def _settle_table(scheme: Scheme, table: ClaimTable, workers: int, chunk_rows: int, reuse: bool) -> dict[str, I64]:
    """Each chunk writes its payments to its claims' own rows, side by side (a claim's row has been read by then;
    writing four columns at scattered rows costs about four times as much); afterwards, in input order, the
    payments are copied out to their columns, and the bill's split (when one pre-self-pay rate is in force for
    every claim) and what is left are made from the amounts as the frame holds them. With `reuse`, those four
    sums are written over the table's rows (read by then) instead of new memory."""
    table.check_unspent()
    n = len(table)
    same_rate = _one_rate(scheme.preselfpay_rate, table.day)
    names = output_names(scheme)
    layer_ids = list(scheme.layer_ids)
    side = layer_ids[:4]  # the payments written side by side into the claims' rows (4 x int64 = a row's 32 bytes)
    sums = ["total", "preselfpay", "in_policy", "out_of_pocket"]
    out: dict[str, I64] = {}
    reused = reuse and n > 0 and table.rows.flags.c_contiguous
    if reused:
        flat = table.rows.reshape(-1).view(np.int64)
        out |= {name: flat[k * n:(k + 1) * n] for k, name in enumerate(sums)}
        payments = flat.reshape(n, -1)  # a claim's payments in its own row (the row's other words unused)
    else:
        payments = new_column(n * len(side)).reshape(n, len(side))
    ages = uses_age(scheme)
    amounts = person_amounts_used(scheme)
    split = ["total", "preselfpay", "in_policy"]
    scattered = [f"paid_{i}" for i in layer_ids[4:]] + ([] if same_rate is not None else split)
    tables = ParameterTables()

    def settle_chunk(j: int) -> None:
        if partition.size(j) == 0:
            return
        chunk, rows = table.gather(partition.rows(j), ages, amounts)  # in canonical order by construction
        settled = settle_sorted(scheme, chunk, tables)
        if side:
            block = np.empty((len(rows), payments.shape[1]), dtype=np.int64)  # whole rows (unused words: never read)
            for k, layer_id in enumerate(side):
                block[:, k] = settled[f"paid_{layer_id}"]
            # a row as one item: np.put copies each whole (2-dimensional fancy indexing goes through NumPy's
            # general mapping: measured 4 times slower)
            np.put(row_items(payments), rows, row_items(block))
        for name in scattered:
            out[name][rows] = settled[name]

    def copy_out(bounds: tuple[int, int]) -> None:
        a, b = bounds
        block = payments[a:b, :len(side)]
        for k, layer_id in enumerate(side):
            out[f"paid_{layer_id}"][a:b] = block[:, k]

    def derive(bounds: tuple[int, int]) -> None:  # as settle_sorted makes them, in input order
        a, b = bounds
        if same_rate is not None:
            class_a, class_b, self_pay, special_drugs = (column.slice(a, b).astype(np.int64) for column in table.inputs)
            for name, values in zip(split, classify_bill(class_a, class_b, self_pay, special_drugs, same_rate),
                                    strict=True):
                out[name][a:b] = values
        left = out["out_of_pocket"][a:b]
        left[:] = out["total"][a:b]
        for layer_id in layer_ids:
            left -= out[f"paid_{layer_id}"][a:b]

    pieces = list(itertools.pairwise([*range(0, n, _PIECE_ROWS), n]))
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    try:
        # columns written at scattered rows are mapped first, on every core (a page fault per page while settling
        # costs more); the others are written in order
        out |= zip(scattered, map_on(pool, lambda _: new_column(n, populate=True), scattered), strict=True)
        out |= {name: new_column(n) for name in names if name not in out}
        count = chunk_count(n, chunk_rows)
        grouped = table.grouped
        partition = grouped if grouped is not None and grouped.count == count else Partition.of(
            table.person, len(table.birth), count, pool, workers
        )
        if reuse:
            table.spent = True  # given up for its memory: from here on its rows may be written over
        run_on(settle_chunk, list(range(partition.count)), workers, pool)
        run_on(copy_out, pieces, workers, pool)
        run_on(derive, pieces, workers, pool)
    finally:
        if pool is not None:
            pool.shutdown()
    return {name: out[name] for name in names}


def _one_rate(param: Parameter[Any], day: npt.NDArray[np.int32]) -> int | None:
    """The rate of an unkeyed parameter with one value in force on every day of `day`, else None."""
    if param.by is not None or len(param.values) != 1:
        return None
    since = np.datetime64(param.values[0][0], "D").astype(np.int64)
    if len(day) and int(day.min()) < since:
        return None
    return int(param.values[0][1][""])
