"""The Twin check on synthetic inspections: precision and recall per flag kind, time and peak memory.

    .venv/bin/python bench/twin.py [--observations 200000] [--seed 1] [--keep DIR [--reuse]]

Writes synthetic employers, workers, inspections and the truth as Parquet (not timed; `yibao synth
--inspections` makes the same files), then runs `yibao audit twin` on them in a child process, timed,
its peak resident memory read from the kernel (ru_maxrss of the child). The floor, in the same run: the
child's own start plus reading the three tables and joining observations to the registry on the
identity number alone (no validation, no Splink, no rules) — what any check must at least do. Prints the
ratio of the check to that floor, and precision and recall of each flag kind against the planted truth.
Targets (issue 19): >= 0.95 each; 200,000 observations under 60 s, 10,000,000 under 10 minutes and 8 GB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

FLOOR = """
import sys, polars as pl
w = pl.read_parquet(sys.argv[1]); i = pl.read_parquet(sys.argv[2]); e = pl.read_parquet(sys.argv[3])
print(i.join(w, on="ric", how="left").height)
"""


def _child(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident GB of one child process (its own rusage, from wait4)."""
    started = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{args[0]} failed with exit code {child.returncode}")
    return elapsed, usage.ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--keep", type=Path, default=None, help="write the files here and keep them")
    parser.add_argument("--reuse", action="store_true", help="with --keep: use the files already there (same options)")
    opts = parser.parse_args()
    from yibao.lab.synth_inspections import score_flags, write_inspections

    with tempfile.TemporaryDirectory(prefix="twin-bench-") as tmp:
        folder = opts.keep or Path(tmp)
        started = time.perf_counter()
        names = ("employers", "workers", "inspections", "twin_truth")
        files = {name: folder / f"{name}.parquet" for name in names}
        if not (opts.reuse and all(f.exists() for f in files.values())):
            files = write_inspections(opts.observations, opts.year, opts.seed, folder, "parquet")
        made = time.perf_counter() - started
        registry = pl.scan_parquet(files["workers"]).select(pl.len()).collect().item()
        print(f"synthetic: {opts.observations:,} observations, {registry:,} registry rows ({made:.1f} s, not timed)")
        yibao = str(Path(sys.executable).with_name("yibao"))
        out = folder / "twin"
        floor_s, floor_gb = _child([sys.executable, "-c", FLOOR, str(files["workers"]), str(files["inspections"]),
                                    str(files["employers"])])  # fmt: skip
        check_s, check_gb = _child([yibao, "audit", "twin", "--workers", str(files["workers"]),
                                    "--inspections", str(files["inspections"]), "--employers", str(files["employers"]),
                                    "--year", str(opts.year), "--out", str(out), "--format", "parquet"])  # fmt: skip
        scores = score_flags(pl.read_parquet(out / "flags.parquet"), pl.read_parquet(files["twin_truth"]))
    cores = os.cpu_count()
    print(f"floor (read the tables, join on the identity number): {floor_s:.1f} s, peak {floor_gb:.2f} GB")
    print(f"yibao audit twin: {check_s:.1f} s, peak {check_gb:.2f} GB, {opts.observations / check_s:,.0f} "
          f"observations/s on {cores} cores; {check_s / floor_s:.1f} x the floor")  # fmt: skip
    with pl.Config(tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True, float_precision=4):
        print(scores)
    ok = scores.select((pl.col("precision") >= 0.95) & (pl.col("recall") >= 0.95)).to_series().all()
    limit = 60 if opts.observations <= 200_000 else 600
    print(f"targets: precision and recall >= 0.95 {'met' if ok else 'NOT met'}; "
          f"time < {limit} s {'met' if check_s < limit else 'NOT met'}; peak < 8 GB "
          f"{'met' if check_gb < 8 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
