"""From normalised Polars frames to the batch path's NumPy columns (the join of claims with persons)."""

from __future__ import annotations

import numpy as np
import polars as pl

from yibao.core.batch import ClaimColumns
from yibao.core.errors import InputError
from yibao.core.scheme import DIMENSION_KEYS, Dimension


def _codes(series: pl.Series, dim: Dimension) -> np.ndarray:
    """Key code = index into DIMENSION_KEYS[dim] (values were validated on reading)."""
    codes = pl.repeat(0, len(series), dtype=pl.Int8, eager=True)
    for i, key in enumerate(DIMENSION_KEYS[dim][1:], start=1):
        codes = codes + (series == key).cast(pl.Int8) * i
    return codes.to_numpy()


def _flag_codes(series: pl.Series) -> np.ndarray:
    # DIMENSION_KEYS of a flag is ("false", "true"): code 1 means true
    return series.cast(pl.Int8).to_numpy()


def joined_claims(persons: pl.DataFrame, claims: pl.DataFrame) -> pl.DataFrame:
    """The claims' keys (in their order) with the attributes of their person; refuses unknown persons.

    Amount columns stay in `claims` (same row order), so the join copies no money columns.
    """
    people = persons.select(
        pl.col("person_id"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_person"),
        pl.col("birth_date").alias("_birth"),
        pl.col("region").alias("_home"),
        pl.col("scheme"),
        pl.col("assistance_category"),
        pl.col("huiminbao"),
        pl.col("pre_existing"),
    )
    keys = claims.select("claim_id", "person_id", "service_date", "region", "facility_level", "care_type")
    joined = keys.join(people, on="person_id", how="left", maintain_order="left")
    missing = joined["_person"].is_null()
    if missing.any():
        row = int(missing.arg_true()[0])
        raise InputError(
            f"claim {claims['claim_id'][row]}: unknown person {claims['person_id'][row]}", code="input.unknown_person"
        )
    return joined


def canonical_order(joined: pl.DataFrame) -> np.ndarray:
    """Order by person, service date, then claim id; claim ids are compared only where the first two tie."""
    key = joined.select((pl.col("_person") * 1_000_000 + pl.col("service_date").cast(pl.Int64)).alias("k"))["k"]
    order = key.arg_sort().to_numpy().astype(np.int64)  # stable
    ordered = key.to_numpy()[order]
    ties = np.flatnonzero(ordered[1:] == ordered[:-1])
    if len(ties) == 0:
        return order
    tied_positions = np.unique(np.concatenate([ties, ties + 1]))
    rows = order[tied_positions]
    tied = pl.DataFrame({"k": ordered[tied_positions], "claim_id": joined["claim_id"].gather(rows), "row": rows})
    order[tied_positions] = tied.sort(["k", "claim_id"])["row"].to_numpy()
    return order


def claim_columns(persons: pl.DataFrame, claims: pl.DataFrame) -> ClaimColumns:
    joined = joined_claims(persons, claims)
    service, birth = pl.col("service_date"), pl.col("_birth")
    derived = joined.select(
        (
            service.dt.year().cast(pl.Int64)
            - birth.dt.year().cast(pl.Int64)
            - (
                (service.dt.month() < birth.dt.month())
                | ((service.dt.month() == birth.dt.month()) & (service.dt.day() < birth.dt.day()))
            ).cast(pl.Int64)
        ).alias("age"),
        (pl.col("region") != pl.col("_home")).alias("out_of_area"),
        (pl.col("facility_level").cast(pl.Int8) - 1).alias("level_code"),
    )
    order = canonical_order(joined)
    keys = {
        Dimension.FACILITY_LEVEL: derived["level_code"].to_numpy(),
        Dimension.CARE_TYPE: _codes(joined["care_type"], Dimension.CARE_TYPE),
        Dimension.SCHEME: _codes(joined["scheme"], Dimension.SCHEME),
        Dimension.ASSISTANCE_CATEGORY: _codes(joined["assistance_category"], Dimension.ASSISTANCE_CATEGORY),
        Dimension.PRE_EXISTING: _flag_codes(joined["pre_existing"]),
        Dimension.HUIMINBAO: _flag_codes(joined["huiminbao"]),
        Dimension.OUT_OF_AREA: _flag_codes(derived["out_of_area"]),
    }
    return ClaimColumns(
        person=joined["_person"].to_numpy(),
        day=joined["service_date"].to_numpy().astype("datetime64[D]"),
        age=derived["age"].to_numpy(),
        keys=keys,
        class_a=claims["class_a"].to_numpy(),
        class_b=claims["class_b"].to_numpy(),
        self_pay=claims["self_pay"].to_numpy(),
        special_drugs=claims["special_drugs"].to_numpy(),
        order=order.astype(np.int64),
    )
