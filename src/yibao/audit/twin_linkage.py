"""Linking inspection observations to registry rows: the identity number first, then Splink.

1. **Exact**: an observation whose identity number is valid and in the registry is that person. If the
   person has rows at several employers, the row at the inspected employer is taken. Method `ric_exact`,
   score 1.
2. **Probabilistic** (method `splink`): every other observation — number missing, invalid (a changed
   digit or two swapped digits fail the check digit), or valid but not in the registry — is compared
   with registry rows by Splink (a Fellegi-Sunter model on DuckDB) on name, birth date, sex, employer
   and identity number. Candidate pairs come from two blocking rules: same birth date at the same
   employer (finds name variants), and same name and birth date anywhere (finds people insured at
   another employer). The score is Splink's match probability.

The model's m and u probabilities are fixed below, not trained: a record-linkage model trained by EM on
one inspection file would change its weights with every file, and the exact links show that these
figures fit (docs/audit.md). The identity number decides what a name cannot: a number one or two edits
from the registry's is a mistyped number (strong evidence for), two *valid* numbers that differ are two
people (strong evidence against) — which keeps colleagues with the same name and birthday apart.

Links are one-to-one: a registry row taken by an exact link cannot be taken again, and probabilistic
pairs are accepted best score first, each observation and each registry row at most once.
"""

from __future__ import annotations

import logging
import tempfile
from typing import Any

import polars as pl

from yibao.core.money import RATE_SCALE, RatePpm

DUCKDB_MEMORY = "2GB"  # the linkage's share of the 8 GB the check may use on ten million observations
EXACT = "ric_exact"
SPLINK = "splink"
NONE = "none"

# DuckDB's levenshtein counts UTF-8 bytes, not characters: a name written with one other Chinese character
# is "all but one character shared" (characters from string_split(name, '')).
ONE_CHARACTER_APART = (
    "len(list_intersect(string_split(\"name_l\", ''), string_split(\"name_r\", ''))) "
    '>= greatest(length("name_l"), length("name_r")) - 1'
)
# (label, SQL condition, m, u) per comparison, most specific level first; the last is the ELSE level.
NAME_LEVELS = (
    ("exact", '"name_l" = "name_r"', 0.90, 0.002),
    ("one character apart", ONE_CHARACTER_APART, 0.09, 0.02),
    ("different", "ELSE", 0.01, 0.978),
)
BIRTH_LEVELS = (
    ("exact", '"birth_date_l" = "birth_date_r"', 0.98, 0.0001),
    ("different", "ELSE", 0.02, 0.9999),
)
SEX_LEVELS = (
    ("exact", '"sex_l" = "sex_r"', 0.99, 0.5),
    ("different", "ELSE", 0.01, 0.5),
)
EMPLOYER_LEVELS = (
    ("same employer", '"employer_uscc_l" = "employer_uscc_r"', 0.85, 0.0001),
    ("other employer", "ELSE", 0.15, 0.9999),
)
RIC_LEVELS = (
    ("exact", '"ric_l" = "ric_r"', 0.60, 1e-9),
    ("one or two edits (mistyped)", 'damerau_levenshtein("ric_l", "ric_r") <= 2', 0.30, 1e-7),
    ("two valid numbers that differ", '"ric_ok_l" AND "ric_ok_r"', 1e-12, 0.9),
    ("different", "ELSE", 0.10, 0.1),
)
RIC_NULL = '"ric_l" IS NULL OR "ric_r" IS NULL'


def _comparison(column: str, levels: tuple[tuple[str, str, float, float], ...], null: str | None = None
                ) -> dict[str, Any]:  # fmt: skip
    null = null or f'"{column}_l" IS NULL OR "{column}_r" IS NULL'
    out: list[dict[str, Any]] = [{"sql_condition": null, "label_for_charts": "missing", "is_null_level": True}]
    for label, condition, m, u in levels:
        out.append({"sql_condition": condition, "label_for_charts": label, "m_probability": m, "u_probability": u})
    return {"output_column_name": column, "comparison_levels": out}


def splink_settings(registry_rows: int) -> dict[str, Any]:
    """Splink settings: blocking rules and the fixed model."""
    return {
        "link_type": "link_only",
        "unique_id_column_name": "uid",
        "probability_two_random_records_match": 1.0 / max(registry_rows, 2),
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": 'l."birth_date" = r."birth_date" AND l."employer_uscc" = r."employer_uscc"'},
            {"blocking_rule": 'l."name" = r."name" AND l."birth_date" = r."birth_date"'},
        ],
        "comparisons": [
            _comparison("name", NAME_LEVELS),
            _comparison("birth_date", BIRTH_LEVELS),
            _comparison("sex", SEX_LEVELS),
            _comparison("employer_uscc", EMPLOYER_LEVELS),
            _comparison("ric", RIC_LEVELS, RIC_NULL),
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def exact_links(observations: pl.DataFrame, registry: pl.DataFrame) -> pl.DataFrame:
    """obs (row number) -> reg (row number) by a valid identity number, the row at the inspected employer first."""
    obs = observations.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("obs"), "ric", "ric_valid",
                              "employer_uscc").filter(pl.col("ric_valid"))  # fmt: skip
    reg = registry.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("reg"), "ric",
                          pl.col("employer_uscc").alias("reg_employer"))  # fmt: skip
    pairs = obs.join(reg, on="ric", how="inner")
    return (
        pairs.sort("obs", pl.col("employer_uscc") != pl.col("reg_employer"), "reg")
        .unique("obs", keep="first", maintain_order=True)
        .unique("reg", keep="first", maintain_order=True)
        .select("obs", "reg")
    )


def _splink_pairs(left: pl.DataFrame, right: pl.DataFrame, registry_rows: int) -> pl.DataFrame:
    """Scored candidate pairs (obs, reg, score) from Splink on DuckDB."""
    import duckdb
    from splink import DuckDBAPI, Linker

    logging.getLogger("splink").setLevel(logging.ERROR)
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")  # beyond it DuckDB spills to disk
        con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/yibao-twin-duckdb'")
        db_api = DuckDBAPI(connection=con)
        left_sdf = db_api.register(left.to_arrow(), dataset_display_name="observations")
        right_sdf = db_api.register(right.to_arrow(), dataset_display_name="registry")
        linker = Linker([left_sdf, right_sdf], splink_settings(registry_rows), log_level=logging.WARNING)
        predicted = linker.inference.predict(threshold_match_probability=0.01, warning_mode="never")
        table = predicted.physical_name
        frame = pl.from_arrow(
            con.sql(
                f'SELECT source_dataset_l, uid_l, source_dataset_r, uid_r, match_probability FROM "{table}"'
            ).to_arrow_table()
        )
    finally:
        con.close()
    assert isinstance(frame, pl.DataFrame)
    left_is_obs = pl.col("source_dataset_l") == "observations"
    return frame.select(
        pl.when(left_is_obs).then(pl.col("uid_l")).otherwise(pl.col("uid_r")).cast(pl.Int64).alias("obs"),
        pl.when(left_is_obs).then(pl.col("uid_r")).otherwise(pl.col("uid_l")).cast(pl.Int64).alias("reg"),
        pl.col("match_probability").alias("score"),
    )


def _one_to_one(pairs: pl.DataFrame) -> pl.DataFrame:
    """Greedy assignment, best score first: a pair is kept when it is the best left for both its sides."""
    kept: list[pl.DataFrame] = []
    pairs = pairs.sort("score", "obs", "reg", descending=[True, False, False])
    while pairs.height:
        best = pairs.unique("obs", keep="first", maintain_order=True).unique("reg", keep="first", maintain_order=True)
        kept.append(best)
        pairs = pairs.join(best.select("obs"), on="obs", how="anti").join(best.select("reg"), on="reg", how="anti")
    if not kept:
        return pairs.select("obs", "reg", "score")
    return pl.concat(kept).select("obs", "reg", "score")


def _linkage_frame(frame: pl.DataFrame, uid: pl.Expr, ric_ok: pl.Expr) -> pl.DataFrame:
    return frame.select(
        uid.alias("uid"),
        pl.col("name"),
        pl.col("birth_date").cast(pl.String),
        pl.col("sex"),
        pl.col("employer_uscc"),
        pl.when(pl.col("ric") == "").then(None).otherwise(pl.col("ric")).alias("ric"),
        ric_ok.alias("ric_ok"),
    )


def link(observations: pl.DataFrame, registry: pl.DataFrame, threshold: RatePpm) -> pl.DataFrame:
    """One row per observation, in order: `reg` (registry row number, or null), `match` (method), `score`."""
    exact = exact_links(observations, registry)
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    rest = observations.with_columns(index.alias("obs")).join(exact.select("obs"), on="obs", how="anti")
    free = registry.with_columns(index.alias("reg")).join(exact.select("reg"), on="reg", how="anti")
    probable = pl.DataFrame(schema={"obs": pl.Int64, "reg": pl.Int64, "score": pl.Float64})
    if rest.height and free.height:
        left = _linkage_frame(rest, pl.col("obs"), pl.col("ric_valid"))
        right = _linkage_frame(free, pl.col("reg"), pl.lit(True))
        pairs = _splink_pairs(left, right, registry.height)
        pairs = pairs.filter(pl.col("score") * RATE_SCALE >= threshold)
        probable = _one_to_one(pairs)
    links = pl.concat([
        exact.with_columns(pl.lit(1.0).alias("score"), pl.lit(EXACT).alias("match")),
        probable.with_columns(pl.lit(SPLINK).alias("match")),
    ])  # fmt: skip
    return (
        observations.select(index.alias("obs"))
        .join(links, on="obs", how="left", maintain_order="left")
        .with_columns(pl.col("match").fill_null(NONE))
        .select("reg", "match", "score")
    )
