"""The Dask engine on a LocalCluster gives exactly the batch path's payments."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.helpers import assert_engines_agree, claims_frame, persons_frame, policies_frame
from tests.core.strategies import populations
from yibao.engine import settle_frame
from yibao.engine.dask import dask_client, settle_dask_frame
from yibao.schemes import load_scheme

pytestmark = pytest.mark.slow  # each module run starts a 2-worker Dask cluster


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
    batch = assert_engines_agree(scheme, persons, claims, dask_client=client, engines=("batch",))
    for partitions in (2, 7):
        assert settle_dask_frame(scheme, persons, claims, client=client, partitions=partitions).equals(batch)


@settings(max_examples=15, deadline=None)
@given(populations(max_persons=6, max_claims=40), st.integers(1, 5))
def test_dask_equals_batch_property(client, population, partitions) -> None:  # type: ignore[no-untyped-def]
    scheme = load_scheme("reference-city", ["si-threshold-halved"])
    people, bills = population
    persons, claims, policies = persons_frame(people), claims_frame(bills), policies_frame(people)
    # scalar = batch = Dask, with the persons' random cover dates and policies
    expected = assert_engines_agree(scheme, persons, claims, dask_client=client, policies=policies)
    got = settle_dask_frame(scheme, persons, claims, client=client, partitions=partitions, policies=policies)
    assert got.equals(expected)


def test_partitioned_dataset_settled_by_the_workers_equals_batch(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each worker reads its own persons/claims parts and writes its output part; together they are the batch
    path's output, in the dataset's order; one persons file for every part works too."""
    import polars as pl

    from yibao.engine.dask import settle_dask_dataset, write_dataset
    from yibao.lab.synth import synthesize
    from yibao.tables import settlement_output

    scheme = load_scheme("reference-city")
    city = synthesize(2500, 2024, 11)
    persons, claims = city.persons, city.claims.sort("service_date", maintain_order=True)  # arrival order
    expected = settlement_output(scheme, settle_frame(scheme, persons, claims, "batch"))
    data = write_dataset(persons, claims, tmp_path / "city", parts=3)
    results = settle_dask_dataset(scheme, data / "persons", data / "claims", tmp_path / "out", client=client)
    assert [Path(r.out).name for r in results] == [f"part-0000{i}.parquet" for i in range(3)]
    got = pl.concat([pl.read_parquet(r.out) for r in results])
    assert got.sort("claim_id").equals(expected.sort("claim_id"))
    assert sum(r.rows for r in results) == claims.height

    from yibao.tables import to_contract_persons, write_table

    write_table(to_contract_persons(persons), tmp_path / "persons.parquet")
    again = settle_dask_dataset(scheme, tmp_path / "persons.parquet", data / "claims", tmp_path / "out2", client=client)
    assert pl.concat([pl.read_parquet(r.out) for r in again]).equals(got)


def test_a_person_split_across_parts_is_refused(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from yibao.core.errors import InputError
    from yibao.engine.dask import settle_dask_dataset
    from yibao.lab.synth import synthesize
    from yibao.tables import to_contract_claims, to_contract_persons, write_table

    city = synthesize(300, 2024, 5)
    claims = to_contract_claims(city.claims)
    write_table(to_contract_persons(city.persons), tmp_path / "persons.parquet")
    half = claims.height // 2  # cuts through the middle of some person's claims
    write_table(claims.head(half), tmp_path / "claims" / "part-00000.parquet")
    write_table(claims.tail(claims.height - half), tmp_path / "claims" / "part-00001.parquet")
    split = claims["person_id"][half]
    assert claims["person_id"][half - 1] == split or claims["person_id"][half + 1] == split
    with pytest.raises(InputError, match=f"person {split} has claims in more than one part") as err:
        settle_dask_dataset(load_scheme("reference-city"), tmp_path / "persons.parquet", tmp_path / "claims",
                            tmp_path / "out", client=client)
    assert err.value.code == "input.not_partitioned"
    assert not list((tmp_path / "out").glob("*.parquet"))  # no output left that looks settled


def test_settle_command_on_a_partitioned_dataset(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import polars as pl
    from typer.testing import CliRunner

    from yibao.cli.main import app

    runner = CliRunner()
    made = runner.invoke(app, ["synth", "--people", "20001", "--seed", "4", "--parts", "2", "--out", str(tmp_path)])
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in (tmp_path / "claims").iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    one = runner.invoke(app, ["settle", "--scheme", "reference-city", "--persons", str(tmp_path / "persons"),
                              "--claims", str(tmp_path / "claims"), "--out", str(tmp_path / "one.parquet")])
    assert one.exit_code == 0, one.output
    dask = runner.invoke(app, ["settle", "--scheme", "reference-city", "--persons", str(tmp_path / "persons"),
                               "--claims", str(tmp_path / "claims"), "--out", str(tmp_path / "settled"),
                               "--engine", "dask"])
    assert dask.exit_code == 0, dask.output
    parts = pl.concat([pl.read_parquet(p) for p in sorted((tmp_path / "settled").glob("*.parquet"))])
    assert parts.equals(pl.read_parquet(tmp_path / "one.parquet"))
    # with policies: every worker takes its persons' policies; the same fen as one process
    people = pl.concat([pl.read_parquet(p) for p in sorted((tmp_path / "persons").glob("*.parquet"))])
    ids = people["person_id"].to_list()
    rows = [f"H{i},{pid},shanghai-huhuibao-2021,2024-0{1 + i % 6}-01,2024-12-31" for i, pid in enumerate(ids[::7])]
    rows += [f"M{i},{pid},huiminbao,2024-01-01,2024-0{1 + i % 9}-28" for i, pid in enumerate(ids[3::11])]
    (tmp_path / "policies.csv").write_text("policy_id,person_id,product,start_date,end_date\n" + "\n".join(rows) + "\n")
    common = ["settle", "--scheme", "reference-city", "--persons", str(tmp_path / "persons"), "--claims",
              str(tmp_path / "claims"), "--policies", str(tmp_path / "policies.csv")]
    one = runner.invoke(app, [*common, "--out", str(tmp_path / "one-p.parquet")])
    assert one.exit_code == 0, one.output
    dask = runner.invoke(app, [*common, "--out", str(tmp_path / "settled-p"), "--engine", "dask"])
    assert dask.exit_code == 0, dask.output
    parts = pl.concat([pl.read_parquet(p) for p in sorted((tmp_path / "settled-p").glob("*.parquet"))])
    expected = pl.read_parquet(tmp_path / "one-p.parquet")
    assert "paid_huhuibao" in expected.columns and expected["paid_huhuibao"].cast(pl.Float64).sum() > 0
    assert parts.equals(expected)
