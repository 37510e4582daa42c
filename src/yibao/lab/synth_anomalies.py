"""Known anomalies in a synthetic city, and the truth to measure claim screening against (`yibao synth --anomalies`).

The city of `yibao.lab.synth` is extended, block by block, with the optional screening columns and with
anomalies whose kind is recorded (docs/audit.md, "Claim screening"):

* facilities: every bill gets a `facility_id`. The city has one primary facility per `FACILITY_PEOPLE[1]`
  persons, one secondary per `FACILITY_PEOPLE[2]`, one tertiary per `FACILITY_PEOPLE[3]`; other regions have
  `OTHER_REGION_FACILITIES` of each level. A person goes to "their" facility of a level with probability
  `HOME_FACILITY_SHARE`, else to any of that region and level.
* stays: inpatient bills get a `discharge_date`; length of stay is gamma-distributed around `STAY_DAYS` of the
  level (NHC statistical bulletin 2023: 9.0 days on average in hospitals) and cut at the person's next
  admission, so ordinary stays never overlap.
* cover: newborns of the year are covered from birth, `NEW_ENROLMENT_SHARE` of the others enrol during the year
  (before their first bill), deaths follow `DEATH_RATE_BY_AGE` (after the last bill), and
  `REMOVAL_SHARE` leave the scheme (after the last bill).

Anomalies (shares are `AnomalyRates`): a bill sent twice (half exact copies, half with class A changed by up
to 1%) -> `duplicate_bill`; a second admission elsewhere inside a stay -> `overlapping_stay`; a bill up to
30 days after death or removal or before enrolment -> `outside_cover`; a bill inflated to 30-100 times its
peer group's median -> `implausible_amount`. A share of the city's facilities get a distorted profile (kind:
`upcoding` all amounts x1.8-2.6, `phantom_visits` 60% more outpatient bills of their patients, `long_stays`
stays x2.5); their bills are not counted as anomalous claims. Random draws come from their own generator per
block, so a seed still gives the same city.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from yibao.audit.screening import Reason
from yibao.lab.synth import (
    DEFAULT_REGION,
    OTHER_REGIONS,
    City,
    CityFiles,
    CityWriter,
    OutputFormat,
    iter_city,
)

FACILITY_PEOPLE = {1: 1_500, 2: 8_000, 3: 20_000}  # persons per facility of the city, by level
OTHER_REGION_FACILITIES = 3
HOME_FACILITY_SHARE = 0.7
STAY_DAYS = {1: 7.0, 2: 8.5, 3: 10.0}  # mean length of stay, days
STAY_SHAPE = 2.0
NEW_ENROLMENT_SHARE = 0.03
REMOVAL_SHARE = 0.01
DEATH_RATE_BY_AGE = ((60, 0.002), (80, 0.02), (200, 0.08))  # (below age, yearly probability)
FACILITY_KINDS = ("upcoding", "phantom_visits", "long_stays")
ANOMALY_SPAWN = 0xA5  # spawn key of the anomaly generators: independent of the city's own draws


@dataclass(frozen=True)
class AnomalyRates:
    duplicate: float = 0.002  # share of bills sent twice
    overlap: float = 0.02  # share of stays of two days or more given an admission elsewhere inside them
    outside_cover: float = 0.0005  # share of bills (as extra bills outside a person's cover)
    implausible: float = 0.001  # share of bills inflated
    facility: float = 0.05  # share of the city's facilities with a distorted profile


def facility_register(people: int, region: str, seed: int, rates: AnomalyRates) -> pl.DataFrame:
    """facility_id, region, facility_level, anomalous, kind: every facility of the city and of other regions."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(ANOMALY_SPAWN, 0)))
    rows = []
    for level, per in FACILITY_PEOPLE.items():
        count = max(1, math.ceil(people / per))
        anomalous = rng.random(count) < rates.facility
        if count >= 5 and rates.facility > 0 and not anomalous.any():
            anomalous[rng.integers(count)] = True
        kinds = rng.integers(len(FACILITY_KINDS), size=count)
        for k in range(count):
            kind = FACILITY_KINDS[kinds[k]] if anomalous[k] else ""
            rows.append((f"{region}-L{level}-{k:04d}", region, level, bool(anomalous[k]), kind))
    for other in OTHER_REGIONS:
        if other != region:
            for level in FACILITY_PEOPLE:
                rows += [(f"{other}-L{level}-{k:04d}", other, level, False, "") for k in range(OTHER_REGION_FACILITIES)]
    return pl.DataFrame(
        rows, schema=["facility_id", "region", "facility_level", "anomalous", "kind"], orient="row"
    ).with_columns(pl.col("facility_level").cast(pl.Int8))


def _assign_facilities(rng: np.random.Generator, claims: pl.DataFrame, register: pl.DataFrame) -> pl.Series:
    counts = register.group_by("region", "facility_level").len()
    keyed = claims.select("person_id", "region", "facility_level").join(
        counts, on=["region", "facility_level"], how="left"
    )
    n = keyed["len"].to_numpy().astype(np.int64)
    person = keyed["person_id"].str.slice(1).cast(pl.Int64).to_numpy()
    level = keyed["facility_level"].to_numpy().astype(np.int64)
    home = (person * 7919 + level * 104_729) % n
    index = np.where(rng.random(len(n)) < HOME_FACILITY_SHARE, home, rng.integers(0, 1 << 30, len(n)) % n)
    ids = keyed["region"] + "-L" + keyed["facility_level"].cast(pl.String) + "-"
    return (ids + pl.Series(index).cast(pl.String).str.zfill(4)).alias("facility_id")


def _discharge(rng: np.random.Generator, claims: pl.DataFrame, long_stay: np.ndarray) -> pl.Series:
    """Length of stay for inpatient bills (x2.5 at long-stay facilities), cut at the person's next admission."""
    level = claims["facility_level"].to_numpy().astype(np.int64)
    mean = np.array([0.0, *STAY_DAYS.values()])[level] * np.where(long_stay, 2.5, 1.0)
    days = np.maximum(1, np.rint(rng.gamma(STAY_SHAPE, mean / STAY_SHAPE))).astype(np.int64)
    stays = claims.select("person_id", "service_date", "care_type", "claim_id").with_columns(
        days=pl.Series(days), row=pl.int_range(pl.len())
    )
    inpatient = stays.filter(pl.col("care_type") == "inpatient").sort("person_id", "service_date", "claim_id")
    next_admission = pl.col("service_date").shift(-1).over("person_id")
    inpatient = inpatient.with_columns(
        pl.min_horizontal(pl.col("service_date") + pl.duration(days=pl.col("days")), next_admission).alias("end")
    )
    return (
        stays.select("row")
        .join(inpatient.select("row", "end"), on="row", how="left")
        .sort("row")["end"]
        .alias("discharge_date")
    )


def _cover(rng: np.random.Generator, persons: pl.DataFrame, claims: pl.DataFrame, year: int) -> pl.DataFrame:
    """cover_from, cover_until, death_date for the persons, consistent with their own bills."""
    start, end = np.datetime64(f"{year}-01-01", "D"), np.datetime64(f"{year}-12-31", "D")
    span = claims.group_by("person_id").agg(
        pl.col("service_date").min().alias("first"),
        pl.max_horizontal("service_date", "discharge_date").max().alias("last"),  # alive until the last discharge
    )
    people = persons.select("person_id", "birth_date").join(span, on="person_id", how="left")
    n = people.height
    birth = people["birth_date"].to_numpy().astype("datetime64[D]")
    first = people["first"].fill_null(pl.date(year, 12, 31)).to_numpy().astype("datetime64[D]")
    last = people["last"].fill_null(pl.date(year, 1, 1)).to_numpy().astype("datetime64[D]")
    day = start + rng.integers(0, int((end - start).astype(int)) + 1, n)
    age = (start - birth).astype(int) // 365
    bounds = np.array([b for b, _ in DEATH_RATE_BY_AGE])
    death_p = np.array([p for _, p in DEATH_RATE_BY_AGE])[np.searchsorted(bounds, age, side="right")]
    dies = rng.random(n) < death_p
    leaves = ~dies & (rng.random(n) < REMOVAL_SHARE)
    newborn = birth >= start
    enrols = ~newborn & (rng.random(n) < NEW_ENROLMENT_SHARE)
    cover_from = np.where(newborn, birth, np.where(enrols, np.minimum(day, first), np.datetime64("NaT")))
    later = np.maximum(np.maximum(day, last), birth)
    return persons.with_columns(
        pl.Series("cover_from", cover_from, dtype=pl.Date),
        pl.Series("cover_until", np.where(leaves, later, np.datetime64("NaT")), dtype=pl.Date),
        pl.Series("death_date", np.where(dies, later, np.datetime64("NaT")), dtype=pl.Date),
    )


AMOUNTS = ("class_a", "class_b", "self_pay", "special_drugs")


def _scaled(frame: pl.DataFrame, factor: np.ndarray) -> pl.DataFrame:
    """Amounts times a factor, rounded to the fen where the scaled figure becomes a bill."""
    return frame.with_columns([pl.Series(c, np.rint(frame[c].to_numpy() * factor).astype(np.int64)) for c in AMOUNTS])


def _pick(rng: np.random.Generator, candidates: np.ndarray, share: float) -> np.ndarray:
    count = min(len(candidates), int(rng.binomial(len(candidates), min(share, 1.0)))) if len(candidates) else 0
    return np.sort(rng.choice(candidates, size=count, replace=False)) if count else np.zeros(0, dtype=np.int64)


def _shift_days(dates: pl.Series, days: np.ndarray) -> pl.Series:
    return pl.Series(dates.name, dates.to_numpy().astype("datetime64[D]") + days, dtype=pl.Date)


def _facility_distortions(rng: np.random.Generator, claims: pl.DataFrame, kinds: pl.Series, year: int) -> pl.DataFrame:
    """Upcoding and phantom visits at the distorted facilities (long stays are drawn with the discharge dates)."""
    factor = np.where(kinds == "upcoding", rng.uniform(1.8, 2.6), 1.0)  # one draw per bill is fine: all inflated
    claims = _scaled(claims, factor)
    phantom = np.flatnonzero((kinds == "phantom_visits").to_numpy() & (claims["care_type"] == "outpatient").to_numpy())
    copies = phantom[rng.random(len(phantom)) < 0.6]
    if not len(copies):
        return claims
    extra = _scaled(claims[copies], rng.uniform(0.7, 1.3, len(copies)))
    start, end = np.datetime64(f"{year}-01-01", "D"), np.datetime64(f"{year}-12-31", "D")
    shift = rng.integers(1, 21, len(copies)) * rng.choice(np.array([-1, 1]), len(copies))  # another day
    days = extra["service_date"].to_numpy().astype("datetime64[D]") + shift
    extra = extra.with_columns(pl.Series("service_date", np.clip(days, start, end), dtype=pl.Date))
    return pl.concat([claims, extra.with_columns(pl.lit(None, dtype=pl.String).alias("claim_id"))])


def _duplicates(rng: np.random.Generator, claims: pl.DataFrame, rows: np.ndarray) -> pl.DataFrame:
    copies = claims[rows]
    near = rng.random(len(rows)) < 0.5
    change = np.where(near, 1 + rng.uniform(-0.01, 0.01, len(rows)), 1.0)
    return copies.with_columns(pl.Series("class_a", np.rint(copies["class_a"].to_numpy() * change).astype(np.int64)))


def _overlaps(rng: np.random.Generator, claims: pl.DataFrame, rows: np.ndarray, register: pl.DataFrame) -> pl.DataFrame:
    stays = claims[rows]
    length = (stays["discharge_date"] - stays["service_date"]).dt.total_days().to_numpy()
    admission = stays["service_date"].to_numpy().astype("datetime64[D]") + rng.integers(1, length)
    discharge = np.minimum(
        admission + rng.integers(1, 6, len(rows)), stays["discharge_date"].to_numpy().astype("datetime64[D]")
    )
    inpatient = np.flatnonzero((claims["care_type"] == "inpatient").to_numpy())
    template = claims[rng.choice(inpatient, size=len(rows))]
    # Another facility of the same region: the person is said to be in two hospitals at once.
    numbered = register.select(
        "region", "facility_id", "facility_level", pl.int_range(pl.len()).over("region").alias("k")
    )
    own = stays.select("region", "facility_id").join(numbered, on=["region", "facility_id"], how="left")
    others = own.join(numbered.group_by("region").len("n"), on="region", how="left")
    j = rng.integers(0, 1 << 30, len(rows)) % np.maximum(others["n"].to_numpy() - 1, 1)
    j = np.where(j >= others["k"].to_numpy(), j + 1, j)
    chosen = (
        others.select("region")
        .with_columns(pl.Series("k", j), pl.int_range(pl.len()).alias("row"))
        .join(numbered.rename({"facility_id": "other", "facility_level": "level"}), on=["region", "k"], how="left")
        .sort("row")
    )
    return stays.with_columns(
        pl.Series("service_date", admission, dtype=pl.Date),
        pl.Series("discharge_date", discharge, dtype=pl.Date),
        chosen["other"].alias("facility_id"),
        chosen["level"].cast(pl.Int8).alias("facility_level"),
        *[template[c] for c in (*AMOUNTS, "diagnosis")],
    )


def _outside_cover(
    rng: np.random.Generator, claims: pl.DataFrame, persons: pl.DataFrame, normal: np.ndarray, year: int, share: float
) -> pl.DataFrame:
    """Bills up to 30 days after death (else removal), or before enrolment, inside the year."""
    start, end = np.datetime64(f"{year}-01-01", "D"), np.datetime64(f"{year}-12-31", "D")
    gap = rng.integers(1, 31, persons.height)

    def days(column: str) -> np.ndarray:
        return persons[column].to_numpy().astype("datetime64[D]")

    after_death, after_removal, before = days("death_date") + gap, days("cover_until") + gap, days("cover_from") - gap
    date = np.where(~np.isnat(after_death), after_death, np.where(~np.isnat(after_removal), after_removal, before))
    eligible = np.flatnonzero(~np.isnat(date) & (date >= start) & (date <= end))
    outpatient = normal[(claims["care_type"].gather(normal) == "outpatient").to_numpy()]
    count = min(len(eligible), int(rng.binomial(claims.height, share))) if len(outpatient) else 0
    people = np.sort(rng.choice(eligible, size=count, replace=False))
    template = claims[rng.choice(outpatient, size=count)] if count else claims.clear()
    return template.with_columns(
        persons["person_id"].gather(people).alias("person_id"),
        pl.Series("service_date", date[people], dtype=pl.Date),
        pl.lit(None, dtype=pl.Date).alias("discharge_date"),
    )


def _implausible(rng: np.random.Generator, claims: pl.DataFrame, candidates: np.ndarray, share: float) -> np.ndarray:
    """Rows to inflate (in peer groups of 30 bills or more), and the factor for each row of the block."""
    peer = ["diagnosis", "facility_level", "care_type"]
    total = pl.sum_horizontal(AMOUNTS)
    stats = claims.select(*peer, total.alias("total")).with_columns(
        pl.col("total").median().over(peer).alias("median"), pl.len().over(peer).alias("peers")
    )
    usable = candidates[
        (stats["peers"].gather(candidates) >= 30).to_numpy() & (stats["total"].gather(candidates) > 0).to_numpy()
    ]
    rows = _pick(rng, usable, share)
    factor = np.ones(claims.height)
    target = stats["median"].gather(rows).to_numpy() * rng.uniform(30, 100, len(rows))
    factor[rows] = target / stats["total"].gather(rows).to_numpy()
    return factor


def _with_ids(claims: pl.DataFrame) -> pl.DataFrame:
    """Added bills (claim_id null) numbered after each person's own bills, as the city numbers them."""
    own = claims.filter(pl.col("claim_id").is_not_null()).group_by("person_id").len("own")
    added = claims.filter(pl.col("claim_id").is_null()).join(own, on="person_id", how="left")
    number = pl.col("own").fill_null(0) + pl.int_range(1, pl.len() + 1).over("person_id")
    added = added.with_columns(
        (pl.col("person_id") + "-" + number.cast(pl.String).str.zfill(3)).alias("claim_id")
    ).drop("own")
    return pl.concat([claims.filter(pl.col("claim_id").is_not_null()), added]).sort("person_id", "claim_id")


@dataclass(frozen=True)
class AnomalousCity:
    """A block with the screening columns; `truth` is claim_id, reason for its anomalous bills."""

    city: City
    truth: pl.DataFrame


def inject_block(
    city: City, block: int, year: int, seed: int, register: pl.DataFrame, rates: AnomalyRates
) -> AnomalousCity:
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(ANOMALY_SPAWN, 1, block)))
    claims = city.claims.with_columns(_assign_facilities(rng, city.claims, register))
    kinds = claims.select("facility_id").join(register.select("facility_id", "kind"), on="facility_id", how="left")
    kind = kinds["kind"].fill_null("")
    claims = claims.with_columns(_discharge(rng, claims, (kind == "long_stays").to_numpy()))
    claims = _facility_distortions(rng, claims, kind, year).with_columns(pl.lit(None, dtype=pl.String).alias("truth"))
    persons = _cover(rng, city.persons, claims, year)
    n = claims.height
    normal = np.flatnonzero(claims["claim_id"].is_not_null().to_numpy() & (np.arange(n) < len(kind)))
    normal = normal[(kind.gather(normal) == "").to_numpy()]
    duplicate_rows = _pick(rng, normal, rates.duplicate)
    free = np.setdiff1d(normal, duplicate_rows)
    stay_days = (claims["discharge_date"] - claims["service_date"]).dt.total_days().fill_null(0).to_numpy()
    overlap_rows = _pick(rng, free[stay_days[free] >= 2], rates.overlap)
    free = np.setdiff1d(free, overlap_rows)
    factor = _implausible(rng, claims, free, rates.implausible)
    added = [
        _duplicates(rng, claims, duplicate_rows).with_columns(pl.lit(Reason.DUPLICATE_BILL.value).alias("truth")),
        _overlaps(rng, claims, overlap_rows, register).with_columns(
            pl.lit(Reason.OVERLAPPING_STAY.value).alias("truth")
        ),
        _outside_cover(rng, claims, persons, free, year, rates.outside_cover).with_columns(
            pl.lit(Reason.OUTSIDE_COVER.value).alias("truth")
        ),
    ]
    inflated = factor != 1.0
    claims = _scaled(claims, factor).with_columns(
        pl.when(pl.Series(inflated))
        .then(pl.lit(Reason.IMPLAUSIBLE_AMOUNT.value))
        .otherwise(pl.col("truth"))
        .alias("truth")
    )
    new = pl.concat([a.with_columns(pl.lit(None, dtype=pl.String).alias("claim_id")) for a in added])
    claims = _with_ids(pl.concat([claims, new.select(claims.columns)]))
    truth = claims.filter(pl.col("truth").is_not_null()).select("claim_id", pl.col("truth").alias("reason"))
    return AnomalousCity(City(persons, claims.drop("truth")), truth)


TRUTH_CLAIMS = "truth_claims.csv"
TRUTH_FACILITIES = "truth_facilities.csv"


class _ScreeningCityWriter(CityWriter):
    """The contract's tables plus the screening columns (claims: facility_id, discharge_date; persons: cover)."""

    def write(self, city: City) -> None:
        from yibao.lab.synth import contract_claims, contract_persons

        persons = contract_persons(city.persons).with_columns(city.persons.select(COVER_COLUMNS))
        claims = contract_claims(city.claims).with_columns(city.claims.select("facility_id", "discharge_date"))
        self._persons.write(persons)
        self._claims.write(claims)
        self.people += city.persons.height
        self.claim_count += city.claims.height


COVER_COLUMNS = ("cover_from", "cover_until", "death_date")


def iter_anomalous_city(
    people: int,
    year: int,
    seed: int,
    register: pl.DataFrame,
    region: str = DEFAULT_REGION,
    rates: AnomalyRates | None = None,
) -> Iterator[AnomalousCity]:
    """The city block by block, with the screening columns and anomalies (facilities from `register`)."""
    rates = rates or AnomalyRates()
    for block, city in enumerate(iter_city(people, year, seed, region)):
        yield inject_block(city, block, year, seed, register, rates)


def write_anomalous_city(
    people: int,
    year: int,
    seed: int,
    out_dir: str | Path,
    fmt: OutputFormat | str = OutputFormat.PARQUET,
    region: str = DEFAULT_REGION,
    rates: AnomalyRates | None = None,
    on_block: Callable[[City], None] | None = None,
) -> CityFiles:
    """The city with screening columns and injected anomalies, and truth_claims.csv / truth_facilities.csv."""
    from yibao.tables import write_table

    rates = rates or AnomalyRates()
    register = facility_register(people, region, seed, rates)
    out = Path(out_dir)
    truths: list[pl.DataFrame] = []
    with _ScreeningCityWriter(out, fmt) as writer:
        for anomalous in iter_anomalous_city(people, year, seed, register, region, rates):
            if on_block is not None:
                on_block(anomalous.city)
            writer.write(anomalous.city)
            truths.append(anomalous.truth)
    write_table(pl.concat(truths), out / TRUTH_CLAIMS)
    write_table(register.sort("facility_id"), out / TRUTH_FACILITIES)
    return writer.files()


def synthesize_anomalous(
    people: int, year: int, seed: int, region: str = DEFAULT_REGION, rates: AnomalyRates | None = None
) -> tuple[City, pl.DataFrame, pl.DataFrame]:
    """The whole city in memory: (city with screening columns, truth claims, facility register)."""
    rates = rates or AnomalyRates()
    register = facility_register(people, region, seed, rates)
    blocks = list(iter_anomalous_city(people, year, seed, register, region, rates))
    city = City(pl.concat([b.city.persons for b in blocks]), pl.concat([b.city.claims for b in blocks]))
    return city, pl.concat([b.truth for b in blocks]), register
