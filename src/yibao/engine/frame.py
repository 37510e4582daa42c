"""The one dispatcher: a whole claims table settled by the engine asked for (batch, scalar or dask)."""

from __future__ import annotations

from typing import Literal

import polars as pl

from yibao.core.scalar import settle_claims
from yibao.core.scheme import Scheme
from yibao.engine.build import settle_batch
from yibao.tables import claims_records, paid_column, persons_records

Engine = Literal["batch", "scalar", "dask"]


def settle_frame(
    scheme: Scheme,
    persons: pl.DataFrame,
    claims: pl.DataFrame,
    engine: Engine = "batch",
    scheduler: str | None = None,
    threads: int | None = None,
    policies: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Settle every claim (normalised frames); the settled frame keeps the claims' order: the claims plus total,
    preselfpay, in_policy, one paid_<layer> per layer and out_of_pocket (Int64 fen). The batch path uses
    `threads` threads (default: one per core). The persons may carry cover dates (`cover_start`, `cover_end`)
    and hold `policies` (person_id, product, start_date, end_date: yibao.tables.normalise_policies)."""
    if engine == "scalar":
        return _settle_scalar(scheme, persons, claims, policies)
    if engine == "dask":
        from yibao.engine.dask import settle_dask_frame  # Dask is imported only when asked for

        return settle_dask_frame(scheme, persons, claims, scheduler=scheduler, policies=policies)
    return settle_batch(scheme, persons, claims, threads, policies)


def _settle_scalar(scheme: Scheme, persons: pl.DataFrame, claims: pl.DataFrame, policies: pl.DataFrame | None
                   ) -> pl.DataFrame:
    settled = settle_claims(scheme, persons_records(persons, policies), claims_records(claims))
    columns: dict[str, list[int]] = {
        "total": [s.medfee_sumamt for s in settled],
        "preselfpay": [s.preselfpay_amt for s in settled],
        "in_policy": [s.inscp_scp_amt for s in settled],
    }
    for i, layer_id in enumerate(scheme.layer_ids):
        columns[paid_column(layer_id)] = [s.layers[i].paid for s in settled]
    columns["out_of_pocket"] = [s.psn_part_amt for s in settled]
    return claims.with_columns([pl.Series(name, values, dtype=pl.Int64) for name, values in columns.items()])
