"""The Dask engine on a LocalCluster gives exactly the batch path's payments."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.helpers import claims_frame, persons_frame
from tests.core.strategies import populations
from yibao.scale import dask_client, settle_dask_frame
from yibao.schemes import load_scheme
from yibao.tables import settle_frame


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    with dask_client(workers=2) as c:
        yield c


def test_dask_equals_batch_on_a_synthetic_city(client) -> None:  # type: ignore[no-untyped-def]
    from yibao.lab.synth import synthesize

    scheme = load_scheme("reference-city")
    city = synthesize(3000, 2024, 7)
    persons, claims = city.persons, city.claims
    assert claims.height > 10_000
    batch = settle_frame(scheme, persons, claims, "batch")
    for partitions in (1, 2, 7):
        assert settle_dask_frame(scheme, persons, claims, client=client, partitions=partitions).equals(batch)


@settings(max_examples=15, deadline=None)
@given(populations(max_persons=6, max_claims=40), st.integers(1, 5))
def test_dask_equals_batch_property(client, population, partitions) -> None:  # type: ignore[no-untyped-def]
    scheme = load_scheme("reference-city", ["si-threshold-halved"])
    people, bills = population
    persons, claims = persons_frame(people), claims_frame(bills)
    expected = settle_frame(scheme, persons, claims, "batch")
    got = settle_dask_frame(scheme, persons, claims, client=client, partitions=partitions)
    assert got.equals(expected)
