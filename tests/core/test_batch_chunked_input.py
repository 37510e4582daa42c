"""The batch path reads a claims table as the Parquet reader leaves it: columns in many chunks, rows in any order."""

from __future__ import annotations

import itertools

import polars as pl

from yibao.lab.synth import synthesize
from yibao.schemes import load_scheme
from yibao.tables import settle_frame


def test_a_claims_table_in_many_chunks_and_shuffled_settles_as_one_chunk() -> None:
    scheme = load_scheme("reference-city")
    city = synthesize(400, 2024, 11)
    claims = city.claims.sample(fraction=1.0, shuffle=True, seed=5)  # rows in no order
    expected = settle_frame(scheme, city.persons, claims.rechunk(), "batch")
    cuts = [0, 1, 2, 700, 701, 1500, claims.height]
    chunked = pl.concat([claims.slice(a, b - a) for a, b in itertools.pairwise(cuts)], rechunk=False)
    assert chunked["class_a"].n_chunks() == len(cuts) - 1
    assert settle_frame(scheme, city.persons, chunked, "batch").equals(expected)
    # and the scalar path agrees
    assert settle_frame(scheme, city.persons, claims, "scalar").equals(expected)
