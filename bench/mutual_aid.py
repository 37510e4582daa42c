"""Benchmark: one mutual-aid apportionment period over 100,000,000 members.

    .venv/bin/python bench/mutual_aid.py [--members N] [--cases N] [--out DIR]

Times `apportion_period` (exact cohort arithmetic, per-case and per-year caps, fen
rounding, carried amounts) plus writing the per-member charges as a Parquet dataset and
the summary record, then a NumPy floor in the same run: the same per-member charge
vector computed in one shot from the cohort charges and written as raw binary
(`ndarray.tofile`). Prints seconds, peak resident memory and the ratio. Targets at
100M members: < 60 s and < 8 GB peak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from yibao.mutual_aid.apportion import ApprovedCase, MemberColumns, apportion_period
from yibao.mutual_aid.calendar import day_number, period_of
from yibao.mutual_aid.files import write_charges, write_summary
from yibao.mutual_aid.plan import load_plan

NOTICE = dt.date(2020, 4, 21)


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is KiB on Linux


def synthetic_members(n: int, seed: int) -> MemberColumns:
    """Members joined over two years; ~3% still in their waiting period; yearly charges so far up to the cap."""
    rng = np.random.default_rng(seed)
    cutoff = day_number(NOTICE)
    joined = rng.integers(cutoff - 730, cutoff + 1, size=n, dtype=np.int32)
    starts = joined + np.int32(90)
    charged = rng.integers(0, 188_01, size=n, dtype=np.int64)
    return MemberColumns(np.arange(n, dtype=np.int64), starts, charged)


def synthetic_cases(count: int, seed: int) -> list[ApprovedCase]:
    rng = np.random.default_rng(seed + 1)
    cases = []
    for i in range(count):
        age = int(rng.integers(0, 60))
        aid = 300_000_00 if age <= 39 else 100_000_00
        diagnosed = NOTICE - dt.timedelta(days=int(rng.integers(1, 60)))
        cases.append(ApprovedCase(f"case-{i}", "张三丰", age, "C", "Malignant neoplasm", diagnosed, aid))
    return cases


def numpy_floor(members: MemberColumns, cases: list[ApprovedCase], cohort_charge: np.ndarray, year_cap: int,
                out: Path) -> np.ndarray:
    days = np.array(sorted({day_number(c.diagnosis_date) for c in cases}), dtype=np.int64)
    cohort = np.searchsorted(days, members.protection_start, side="left")
    due = np.where(members.protection_start <= day_number(NOTICE), cohort_charge[cohort], 0)
    charges = np.minimum(due, np.maximum(year_cap - members.charged_this_year, 0))
    members.member_id.tofile(out / "floor-member-id.bin")
    charges.tofile(out / "floor-charge.bin")
    return charges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000_000)
    parser.add_argument("--cases", type=int, default=3_000)
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args()
    plan = load_plan("xianghubao-2020")
    period = period_of(plan, NOTICE)
    out = args.out or Path(tempfile.mkdtemp(prefix="yibao-bench-mutual-aid-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        members = synthetic_members(args.members, args.seed)
        cases = synthetic_cases(args.cases, args.seed)
        print(f"members {args.members:,}  cases {args.cases:,}  (data built, peak so far {peak_gb():.2f} GB)")

        start = time.perf_counter()
        result = apportion_period(plan, period, cases, members)
        computed = time.perf_counter() - start
        write_charges(out / "charges", members.member_id, result.charges)
        write_summary(out / "summary.json", result.summary)
        ours = time.perf_counter() - start
        ours_peak = peak_gb()
        s = result.summary
        print(f"yibao apportion: {ours:.2f} s (compute {computed:.2f} s, Parquet write {ours - computed:.2f} s), "
              f"peak {ours_peak:.2f} GB")
        print(f"  protected {s.members_protected:,}, per-member charge {s.per_member_charge / 100:.2f} yuan, "
              f"{len(s.cohorts)} cohorts, collected {s.collected / 100:,.2f} yuan, carried {s.surplus_out / 100:,.2f}")

        cohort_charge = np.zeros(len({c.diagnosis_date for c in cases}) + 1, dtype=np.int64)
        days = sorted({day_number(c.diagnosis_date) for c in cases})
        for cohort in s.cohorts:
            k = len(days) if cohort.pays_from is None else days.index(day_number(cohort.pays_from))
            cohort_charge[k] = cohort.charge
        start = time.perf_counter()
        floor_charges = numpy_floor(members, cases, cohort_charge, plan.year_cap, out)
        floor = time.perf_counter() - start
        assert np.array_equal(floor_charges, result.charges), "floor and yibao disagree"
        print(f"NumPy floor (same vector, raw binary write): {floor:.2f} s, peak (whole run) {peak_gb():.2f} GB")
        print(f"ratio yibao / floor: {ours / floor:.2f}")
        ok = ours < 60 and ours_peak < 8
        print(f"targets (< 60 s, < 8 GB): {'met' if ok else 'NOT met'}")
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
