"""Synthetic labour inspections with known evasion, for measuring the Twin check (docs/audit.md).

One call makes four tables for a year: the employers (E), the registry of insured workers (W), what the
inspectors observed (I) and the truth (which observation is evasion, of which kind, and who it really is).
Amounts are integer fen here; `contract_*` turn them into the files' yuan.

What is planted, per observed worker (shares in `Mix`):
* insured correctly: a registry row at the employer, months paid, declared base = the expected base;
* `under_declared_base`: a registry row at the employer whose base is 40-85% of the expected one;
* `uninsured_worker`: absent from the registry, or insured only at another employer, or registered here
  with no month paid;
and the registry also holds insured workers the inspectors did not see (away that day).

Noise in what inspectors write down (`Noise`): the identity number missing, one digit changed, two
neighbouring digits swapped (either way the check digit then fails), a name written with another
character, and colleagues sharing a name and a birth date (different people, different numbers).
Generation is vectorised (NumPy, Polars); a seed gives the same tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from stdnum.cn import uscc as stdnum_uscc

from yibao.audit.identity import ric_check_char
from yibao.audit.twin_tables import contract_employers, contract_inspections, contract_workers
from yibao.tables import write_table

# Birth places: area codes stdnum accepts for every birth year 1950-2010 (Beijing, Tianjin, Shanghai districts).
AREA_CODES = ("110101", "110102", "110105", "110106", "110108", "120101", "310101", "310104", "310105", "310106")
# Common surnames (about the 40 most frequent, 2020 census order) and characters of given names.
SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余")
GIVEN = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉飞宇浩凯建国志文斌波宁欣雪梅琳晨阳")
# Another way to write a character of a given name (homophones or near forms), for name variants.
VARIANTS = dict(zip("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超华玉红鹏辉飞宇浩凯建国志文斌波宁雪梅琳晨阳",
                    "玮方纳民晶莉蔷垒君阳永燕洁鹃滔铭朝桦钰宏朋晖菲雨皓恺健帼智雯彬博凝薛玫林辰扬", strict=True))  # fmt: skip
# Regions of the inspected city with their average monthly wage (yuan; Qingdao districts, 2023 order of size).
REGIONS = (("qingdao-shinan", 9_800), ("qingdao-huangdao", 8_600), ("qingdao-pingdu", 6_400))
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FLOOR_PERCENT, CEILING_PERCENT = 60, 300  # the band of twin_rules.yaml, for planting bases (the check reads the file)


@dataclass(frozen=True)
class Mix:
    """Shares of observed workers by truth; the rest are insured correctly."""

    under_declared: float = 0.08
    absent: float = 0.05
    elsewhere: float = 0.02
    no_months: float = 0.01
    unseen_registry: float = 0.05  # registry rows of workers not observed, per observed worker


@dataclass(frozen=True)
class Noise:
    """Shares of observations with each kind of recording error."""

    missing_ric: float = 0.05
    changed_digit: float = 0.03
    swapped_digits: float = 0.02
    name_variant: float = 0.03
    shared_name_birthday: float = 0.01


@dataclass(frozen=True)
class Inspections:
    """Normalised tables (amounts in fen) and the truth, one row per observation."""

    employers: pl.DataFrame
    workers: pl.DataFrame
    inspections: pl.DataFrame
    truth: pl.DataFrame


@dataclass(frozen=True)
class _Plan:
    observations: int
    year: int
    seed: int
    mix: Mix = field(default_factory=Mix)
    noise: Noise = field(default_factory=Noise)


def _uscc(rng: np.random.Generator, n: int) -> list[str]:
    """Unified social credit codes: 9 (industry and commerce) 1 (enterprise), area, organisation code, check."""
    body = rng.integers(0, len(USCC_ALPHABET), size=(n, 9))
    alphabet = np.array(list(USCC_ALPHABET))
    org = ["".join(row) for row in alphabet[body]]
    first = [f"91370202{o}" for o in org]
    return [f + stdnum_uscc.calc_check_digit(f + "0") for f in first]


def _employers(rng: np.random.Generator, observations: int) -> tuple[pl.DataFrame, np.ndarray]:
    sizes = np.maximum(1, rng.geometric(1 / 25, size=max(1, observations // 20))).astype(np.int64)
    cum = np.cumsum(sizes)
    sizes = sizes[: int(np.searchsorted(cum, observations)) + 1]
    sizes[-1] -= int(sizes.sum()) - observations
    sizes = sizes[sizes > 0]
    n = len(sizes)
    codes = _uscc(rng, n)
    region = rng.integers(0, len(REGIONS), size=n)
    frame = pl.DataFrame(
        {
            "employer_uscc": codes,
            "employer_name": [f"青岛第{i + 1}企业有限公司" for i in range(n)],
            "region": [REGIONS[r][0] for r in region],
            "average_wage": np.array([REGIONS[r][1] * 100 for r in region], dtype=np.int64),
        }
    )
    return frame, np.repeat(np.arange(n), sizes)


def _names(rng: np.random.Generator, n: int) -> pl.Series:
    surname = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    first = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    second = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    two = rng.random(n) < 0.7
    return pl.Series(np.char.add(np.char.add(surname, first), np.where(two, second, "")), dtype=pl.String)


def _ids(prefix: str, start: int, n: int) -> pl.Series:
    return pl.select(pl.lit(prefix) + pl.int_range(start, start + n, dtype=pl.Int64).cast(pl.String).str.zfill(9)
                     ).to_series()  # fmt: skip


def _people(rng: np.random.Generator, n: int, year: int, copy_from: np.ndarray) -> pl.DataFrame:
    """n people of working age with valid, distinct identity numbers. Row i takes its name and birth date
    from row copy_from[i] (itself, or a colleague: a different person with the same name and birthday)."""
    born = (dt.date(year - 60, 1, 1) - dt.date(1970, 1, 1)).days + rng.integers(0, 42 * 365, n)
    male = rng.random(n) < 0.55
    frame = pl.DataFrame(
        {
            "birth_date": pl.Series(born[copy_from], dtype=pl.Int32).cast(pl.Date),
            "sex": np.where(male, "M", "F"),
            "area": np.array(AREA_CODES)[rng.integers(0, len(AREA_CODES), n)],
            "male": male,
            "name": _names(rng, n).gather(copy_from),
        }
    )
    # The order number: the person's rank among those of the same place and birthday, odd for men.
    rank = pl.int_range(pl.len()).over("area", "birth_date", "male")
    order = (rank * 2 + pl.col("male").cast(pl.Int64)).cast(pl.String).str.zfill(3)
    first17 = pl.concat_str(pl.col("area"), pl.col("birth_date").dt.strftime("%Y%m%d"), order)
    return frame.with_columns((first17 + ric_check_char(first17)).alias("ric")).drop("area", "male")


def _truth(rng: np.random.Generator, n: int, mix: Mix) -> np.ndarray:
    """0 insured, 1 under-declared, 2 absent, 3 insured elsewhere, 4 no months paid."""
    shares = [mix.under_declared, mix.absent, mix.elsewhere, mix.no_months]
    return rng.choice(5, size=n, p=[1 - sum(shares), *shares])


def _noisy_ric(rng: np.random.Generator, ric: pl.Series, noise: Noise) -> pl.Series:
    """The numbers as written down: right, missing, one digit changed, or two neighbours swapped."""
    n = len(ric)
    p_missing, p_changed, p_swapped = noise.missing_ric, noise.changed_digit, noise.swapped_digits
    kind = rng.choice(4, size=n, p=[1 - p_missing - p_changed - p_swapped, p_missing, p_changed, p_swapped])
    rows = np.flatnonzero(kind >= 2)
    chars = np.frombuffer("".join(ric.gather(rows).to_list()).encode("ascii"), dtype="S1").reshape(-1, 18).copy()
    digits = chars[:, :17].view(np.uint8) - ord("0")
    pos = rng.integers(0, 16, len(rows))
    at = np.arange(len(rows))
    changed = kind[rows] == 2
    digits[at[changed], pos[changed]] = (digits[at[changed], pos[changed]] + rng.integers(1, 10, changed.sum())) % 10
    swap = ~changed
    first, second = digits[at[swap], pos[swap]].copy(), digits[at[swap], pos[swap] + 1].copy()
    first = np.where(first == second, (first + 1) % 10, first)  # equal neighbours: a swap would change nothing
    digits[at[swap], pos[swap]] = second
    digits[at[swap], pos[swap] + 1] = first
    chars[:, :17] = (digits + ord("0")).view("S1")
    wrong = pl.Series(np.frombuffer(chars.tobytes(), dtype="S18").astype("U18"), dtype=pl.String)
    written = ric.scatter(rows, wrong) if len(rows) else ric.clone()
    return written.scatter(np.flatnonzero(kind == 1), "") if (kind == 1).any() else written


def _variant(name: str) -> str:
    for i in range(len(name) - 1, 0, -1):
        if name[i] in VARIANTS:
            return name[:i] + VARIANTS[name[i]] + name[i + 1 :]
    return name[0] + "晓" + name[1:]


def synthesize_inspections(
    observations: int, year: int, seed: int, mix: Mix | None = None, noise: Noise | None = None
) -> Inspections:
    """Employers, registry, inspections and truth for `observations` observed workers in `year`."""
    plan = _Plan(observations, year, seed, mix or Mix(), noise or Noise())
    rng = np.random.default_rng([seed, 19])
    employers, employer_of = _employers(rng, observations)
    n = observations
    unseen = int(n * plan.mix.unseen_registry)
    # Colleagues sharing a name and a birth date: row i copies both from row i-1 at the same employer.
    same_employer = np.r_[False, employer_of[1:] == employer_of[:-1]]
    twin = same_employer & (rng.random(n) < plan.noise.shared_name_birthday)
    copy_from = np.r_[np.where(twin, np.arange(n) - 1, np.arange(n)), np.arange(n, n + unseen)]
    people = _people(rng, n + unseen, year, copy_from).with_columns(_ids("W", 0, n + unseen).alias("person_id"))
    truth = _truth(rng, n, plan.mix)
    wage = _wages(rng, employers["average_wage"].to_numpy()[employer_of])
    inspections = _observations(rng, plan, employers, employer_of, people.head(n), wage)
    workers = _registry(rng, plan, employers, employer_of, people, wage, truth)
    kind = np.array(["none", "under_declared_base", "uninsured_worker", "uninsured_worker", "uninsured_worker"])
    reason = np.array(["", "base_below_band", "absent", "insured_elsewhere", "no_months_paid"])
    truth_frame = pl.DataFrame(
        {
            "inspection_id": inspections["inspection_id"],
            "kind": kind[truth],
            "reason": reason[truth],
            "person_id": people["person_id"].head(n),
            "shares_name_and_birthday": twin,
        }
    ).with_columns(pl.when(pl.Series(truth == 2)).then(None).otherwise(pl.col("person_id")).alias("person_id"))
    return Inspections(employers=employers, workers=workers, inspections=inspections, truth=truth_frame)


def _wages(rng: np.random.Generator, average: np.ndarray) -> np.ndarray:
    """Monthly wages in fen: log-normal around the region's average (some below the floor, a few above the ceiling)."""
    yuan = average / 100 * rng.lognormal(mean=-0.1, sigma=0.5, size=len(average))
    return (np.round(yuan) * 100).astype(np.int64)


def _expected(wage: np.ndarray, average: np.ndarray) -> np.ndarray:
    """The base the rules expect, in whole yuan inside the 60%-300% band (integer fen arithmetic)."""
    average = average.astype(np.int64)
    floor = -(-average * FLOOR_PERCENT // 10_000) * 100
    ceiling = average * CEILING_PERCENT // 10_000 * 100
    expected: np.ndarray = np.minimum(np.maximum(wage.astype(np.int64), floor), ceiling)
    return expected


def _observations(
    rng: np.random.Generator, plan: _Plan, employers: pl.DataFrame, employer_of: np.ndarray,
    people: pl.DataFrame, wage: np.ndarray,
) -> pl.DataFrame:  # fmt: skip
    n = plan.observations
    written = _noisy_ric(rng, people["ric"], plan.noise)
    variant = rng.random(n) < plan.noise.name_variant
    names = people["name"].to_list()
    for i in np.flatnonzero(variant):
        names[i] = _variant(names[i])
    day = rng.integers(0, 365, n)
    return pl.DataFrame(
        {
            "inspection_id": _ids("I", 0, n),
            "employer_uscc": employers["employer_uscc"].gather(employer_of),
            "inspected_on": pl.Series((dt.date(plan.year, 1, 1) - dt.date(1970, 1, 1)).days + day, dtype=pl.Int32).cast(
                pl.Date
            ),
            "ric": written,
            "name": pl.Series(names, dtype=pl.String),
            "birth_date": people["birth_date"],
            "sex": people["sex"],
            "monthly_wage": wage,
        }
    )


def _registry(
    rng: np.random.Generator, plan: _Plan, employers: pl.DataFrame, employer_of: np.ndarray,
    people: pl.DataFrame, wage: np.ndarray, truth: np.ndarray,
) -> pl.DataFrame:  # fmt: skip
    n = plan.observations
    average = employers["average_wage"].to_numpy()[employer_of]
    expected = _expected(wage, average)
    declared = np.where(truth == 1, np.floor(expected * rng.uniform(0.4, 0.85, n) / 100) * 100, expected)
    months = np.where(truth == 4, 0, rng.integers(1, 13, n))
    n_employers = employers.height
    other = (employer_of + rng.integers(1, max(2, n_employers), n)) % max(1, n_employers)
    unseen = people.height - n
    unseen_at = rng.integers(0, n_employers, unseen)
    unseen_average = employers["average_wage"].to_numpy()[unseen_at]
    at = np.r_[np.where(truth == 3, other, employer_of), unseen_at]
    declared = np.r_[declared, _expected(_wages(rng, unseen_average), unseen_average)]
    months = np.r_[months, rng.integers(1, 13, unseen)]
    keep = np.r_[truth != 2, np.ones(unseen, dtype=bool)]
    registry = people.with_columns(
        employers["employer_uscc"].gather(at).alias("employer_uscc"),
        employers["region"].gather(at).alias("region"),
        pl.Series("declared_base", declared.astype(np.int64)),
        pl.Series("months_paid", months.astype(np.int8)),
    ).filter(pl.Series(keep))
    return registry.select("person_id", "ric", "name", "birth_date", "sex", "employer_uscc", "region",
                           "declared_base", "months_paid")  # fmt: skip


def write_inspections(observations: int, year: int, seed: int, out_dir: str | Path, fmt: str = "parquet"
                      ) -> dict[str, Path]:  # fmt: skip
    """employers, workers, inspections and twin_truth files (`fmt` csv or parquet) in `out_dir`."""
    made = synthesize_inspections(observations, year, seed)
    out = Path(out_dir)
    tables = {
        "employers": contract_employers(made.employers),
        "workers": contract_workers(made.workers),
        "inspections": contract_inspections(made.inspections),
        "twin_truth": made.truth,
    }
    paths = {}
    for name, frame in tables.items():
        paths[name] = out / f"{name}.{fmt}"
        write_table(frame, paths[name])
    return paths


def score_flags(flags: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Precision and recall of the flags against the truth, per kind (flags and truth by inspection_id)."""
    rows = []
    for kind in ("uninsured_worker", "under_declared_base"):
        planted = truth.filter(pl.col("kind") == kind).select("inspection_id")
        found = flags.filter(pl.col("kind") == kind).select("inspection_id")
        hits = found.join(planted, on="inspection_id", how="semi").height
        rows.append((kind, planted.height, found.height, hits, hits / max(found.height, 1),
                     hits / max(planted.height, 1)))  # fmt: skip
    return pl.DataFrame(rows, orient="row", schema=["kind", "planted", "flagged", "correct", "precision", "recall"])
