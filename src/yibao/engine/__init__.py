"""The engines that settle whole claims tables with the rules core (yibao.core).

    frame.py    settle_frame: the dispatcher (batch, scalar, dask) on normalised frames
    build.py    the claims table's builder from frames (person-id join, codes, row layout filled)
    table.py    the claims table: row layout, grouping into chunks, canonical ordering
    run.py      settle_columns: chunks settled on threads, results in input order, memory reused
    threads.py  work spread over threads
    dask.py     the same on a Dask cluster, partitioned by person

The rule the batch path applies to each chunk is yibao.core.batch; the engines only
decide which rows go where and when.
"""

from yibao.engine.build import claim_table, person_rows
from yibao.engine.frame import Engine, settle_frame
from yibao.engine.run import settle_columns

__all__ = ["Engine", "claim_table", "person_rows", "settle_columns", "settle_frame"]
