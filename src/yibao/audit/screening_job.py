"""One screening run over files: read and validate, flag claims, profile facilities, write the results.

Outputs in the out folder (every file is written only after all input has been read and checked):

* `claims.csv`: `claim_id, reason, score, evidence` (evidence: a JSON object), ranked by reason then score;
* `facilities.csv`: one row per facility id (see `screening_facilities`), ranked by score; header only when
  the claims carry no `facility_id`;
* `metrics.csv`, with a truth folder: precision and recall per reason, and the facility model's AUPRC
  (row `facility_model`, column `auprc`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from yibao.audit.screening import ClaimScreening, Reason, ScreeningParameters, screen_claims, with_totals
from yibao.audit.screening_facilities import (
    FACILITY_COLUMNS,
    FacilityParameters,
    facility_features,
    score_facilities,
)
from yibao.audit.screening_input import read_screening_input
from yibao.audit.screening_metrics import claim_metrics, facility_auprc, read_truth
from yibao.tables import write_table


@dataclass(frozen=True)
class ScreeningResult:
    claims: int
    flags: pl.DataFrame
    facilities: pl.DataFrame
    rules_run: tuple[Reason, ...]
    notes: tuple[str, ...]  # keys of what could not be checked: no_discharge_date, no_facility_id
    metrics: pl.DataFrame | None = None
    auprc: float | None = None
    files: tuple[Path, ...] = field(default=())


def screen_tables(
    persons: pl.DataFrame,
    claims: pl.DataFrame,
    has_facility: bool,
    has_discharge: bool,
    params: ScreeningParameters,
    facility_params: FacilityParameters,
    on_step: Callable[[str], None] | None = None,
) -> tuple[ClaimScreening, pl.DataFrame, tuple[str, ...]]:
    notes = []
    bills = with_totals(claims, has_facility)
    screening = screen_claims(bills, persons, has_discharge, params)
    if not has_discharge:
        notes.append("no_discharge_date")
    if has_facility:
        if on_step is not None:
            on_step("profiling facilities")
        features = facility_features(bills, screening.z_scores, screening.flags["claim_id"].unique())
        facilities = score_facilities(features, facility_params)
    else:
        notes.append("no_facility_id")
        facilities = pl.DataFrame(schema={c: pl.String for c in FACILITY_COLUMNS})
    return screening, facilities, tuple(notes)


def run_screening(
    persons: str | Path,
    claims: str | Path,
    out: str | Path,
    params: ScreeningParameters | None = None,
    facility_params: FacilityParameters | None = None,
    truth: str | Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ScreeningResult:
    step = on_step or (lambda _text: None)
    step(f"reading {persons} and {claims}")
    data = read_screening_input(persons, claims)
    known = read_truth(truth) if truth is not None else None
    step(f"screening {data.claims.height:,} claims")
    screening, facilities, notes = screen_tables(
        data.persons, data.claims, data.has_facility, data.has_discharge,
        params or ScreeningParameters(), facility_params or FacilityParameters(), step,
    )  # fmt: skip
    del data
    metrics, auprc = None, None
    if known is not None:
        metrics = claim_metrics(screening.flags, known.claims, screening.rules_run)
        auprc = facility_auprc(facilities, known.facilities) if facilities.height else None
    out = Path(out)
    step(f"writing {out}")
    files = [out / "claims.csv", out / "facilities.csv"]
    write_table(screening.flags, files[0])
    write_table(facilities, files[1])
    if metrics is not None:
        files.append(out / "metrics.csv")
        auprc_row = pl.DataFrame(
            {"reason": ["facility_model"], "auprc": [auprc]}, schema={"reason": pl.String, "auprc": pl.Float64}
        )
        write_table(pl.concat([metrics, auprc_row], how="diagonal"), files[2])
    return ScreeningResult(
        claims=screening.z_scores.height,
        flags=screening.flags,
        facilities=facilities,
        rules_run=screening.rules_run,
        notes=notes,
        metrics=metrics,
        auprc=auprc,
        files=tuple(files),
    )
