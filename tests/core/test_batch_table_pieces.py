"""The batch path reads a claims table as the Parquet reader leaves it: columns in many chunks, rows in any order."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.core.batch import Pieces
from yibao.lab.synth import synthesize
from yibao.schemes import load_scheme
from yibao.tables import settle_frame


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 12), max_size=8), st.data())
def test_pieces_take_equals_a_take_from_the_joined_column(sizes: list[int], data: st.DataObject) -> None:
    parts = [np.arange(size, dtype=np.int64) * 10 + i for i, size in enumerate(sizes)]
    joined = np.concatenate([np.zeros(0, dtype=np.int64), *parts])
    pieces = Pieces.of(parts)
    assert len(pieces) == len(joined)
    rows = np.array(sorted(data.draw(st.lists(st.integers(0, max(len(joined) - 1, 0)), max_size=30)
                                      if len(joined) else st.just([]))), dtype=np.intp)
    assert pieces.take(rows).tolist() == joined[rows].tolist()
    bounds = pieces.bounds()
    for a, b in itertools.pairwise(bounds):
        assert pieces.view(a, b).tolist() == joined[a:b].tolist()
    if len(parts) > 1 and len(parts[0]) and len(parts[1]):
        with pytest.raises(ValueError):
            pieces.view(0, len(parts[0]) + 1)


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
