"""Take-up of a voluntary product and of a mutual-aid plan, year by year, and the insurer's repricing spiral.

Model (docs/products.md has the full account, parameters and sources):

* Risk. The city's claims are settled with `yibao.settle` under the scheme's public layers followed by
  the product's indemnity layer (its own terms; the scheme's flag-driven Huiminbao layer is left out):
  a person's out-of-pocket after the public layers and what the product would pay them, in fen.
* Choice (binary logit). Each eligible person buys the product in year t with probability
  p = 1 / (1 + exp(-V)), V = b0 + b_value·ln(E / P_t) + b_burden·(100·P_t / income) + b_pre·pre_existing
  + b_age·age/10 + b_oop·ln(1 + oop/1000 yuan) + b_renew·member(t-1), where E is the expected benefit of the
  person's risk cell (10-year age band × pre-existing status), blended for last year's members with their
  own benefit of that year (experience), and P_t the premium; a seeded uniform draw a year decides. Joining the mutual-aid plan is a second logit (income, rural (URRBMI) status, out-of-pocket,
  age, renewal, and holding the product).
* Insurer. Claims paid = the buyers' benefits times the calibrated cost level; loss ratio = paid / premium;
  next premiums = this year's x loss ratio / target loss ratio (a price index on every age band, within ±30% a
  year), rounded to the yuan. Members who
  leave change the pool, and with it the next loss ratio and premium (the spiral).
* Calibration: b0 to the first year's take-up, the cost level to the first year's loss ratio (Shanghai
  Huhuibao 2021), the mutual-aid intercept to Xiang Hu Bao's members; the other coefficients are stated
  assumptions, never tuned to the held-out figures.

Money is integer fen (premiums, claims paid); probabilities and the cost level (parts per million) are not money.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import polars as pl

from yibao.core.money import format_yuan, round_half_up_div
from yibao.core.scheme import Scheme
from yibao.products.benefits import age_on
from yibao.products.loader import ProductError
from yibao.products.model import PreExisting, Product

PUBLIC_KINDS = ("basic", "serious_illness", "assistance")
AGE_BANDS = ((0, "0-17"), (18, "18-39"), (40, "40-59"), (60, "60-74"), (75, "75+"))
PPM = 1_000_000


@dataclass(frozen=True)
class Choice:
    """Coefficients of the product's logit (see docs/products.md for each one's basis)."""

    intercept: float = 0.0  # calibrated
    value: float = 0.6  # ln(expected benefit / premium)
    burden: float = -0.35  # premium as % of income
    pre_existing: float = 0.4
    age_decade: float = 0.08
    own_oop: float = 0.25  # ln(1 + own out-of-pocket / 1000 yuan)
    renew: float = 0.5  # held the product last year (inertia, renewal reminders)
    experience: float = 0.5  # weight a member gives their own last-year benefit in the expected benefit


@dataclass(frozen=True)
class MutualAidChoice:
    """Coefficients of joining the mutual-aid plan (Xiang Hu Bao-like; ages up to 59, health declaration)."""

    intercept: float = 0.0  # calibrated
    log_income: float = -0.6  # ln(income / median income)
    rural: float = 0.5  # URRBMI member (rural / small towns)
    own_oop: float = 0.15
    age_decade: float = -0.1
    renew: float = 2.0
    holds_product: float = -0.3  # substitute
    max_age: int = 59


@dataclass(frozen=True)
class Targets:
    """Calibration targets (first year), with their sources."""

    takeup: float = 0.385  # Shanghai Huhuibao 2021: 7.39M of the eligible
    loss_ratio: float = 0.88  # about 750M paid of 850M premium
    mutual_aid_share: float = 100e6 / 1_412e6  # Xiang Hu Bao > 100M members (seed 003) / population 2020


@dataclass(frozen=True)
class Settings:
    years: int = 4
    seed: int = 1
    target_loss_ratio_ppm: int = 800_000  # the insurer's pricing target (assumption)
    max_change_ppm: int = 300_000  # at most ±30% a year
    choice: Choice = field(default_factory=Choice)
    mutual_aid: MutualAidChoice = field(default_factory=MutualAidChoice)
    cost_level_ppm: int = PPM  # calibrated: the product's claims in the city relative to the synthetic city's


@dataclass(frozen=True)
class Pool:
    """Per eligible-or-not person: the arrays the choice uses (money in fen)."""

    person_id: np.ndarray
    age: np.ndarray
    income_yuan: np.ndarray
    pre_existing: np.ndarray
    rural: np.ndarray
    eligible: np.ndarray
    oop_fen: np.ndarray
    benefit_fen: np.ndarray
    claims: np.ndarray  # claims the product would pay (count)
    base_premium_fen: np.ndarray  # the product's premium for the person's age band at the start of year one

    @property
    def size(self) -> int:
        return int(self.person_id.shape[0])


def product_scheme(scheme: Scheme, product: Product) -> Scheme:
    """The scheme's public layers followed by the product's indemnity layer."""
    if product.indemnity is None:
        raise ProductError(f"product {product.id!r} has no indemnity benefit to model take-up on (choose one with "
                           "an 'indemnity', e.g. shanghai-huhuibao-2021)", code="product.no_indemnity")
    public = tuple(layer for layer in scheme.layers if layer.kind.value in PUBLIC_KINDS)
    return dataclasses.replace(scheme, layers=(*public, product.indemnity))


def build_pool(scheme: Scheme, product: Product, persons: pl.DataFrame, claims: pl.DataFrame) -> Pool:
    """Settle the city's claims with the public API and gather each person's risk. Frames: contract columns (yuan)."""
    import yibao

    assert product.indemnity is not None
    # what the product would pay if bought: every person holds it for the whole year (product_scheme appends its
    # indemnity as a scheme's own private layer, which the `huiminbao` flag holds; docs/products.md)
    people = persons.with_columns(pl.lit(True).alias("huiminbao"))
    settled = yibao.settle(product_scheme(scheme, product), people, claims)
    paid = f"paid_{product.indemnity.id}"
    per_claim = claims.select("claim_id", "person_id").join(
        settled.select(
            "claim_id",
            (pl.col(paid).cast(pl.Decimal(18, 2)) * 100).cast(pl.Int64).alias("benefit"),
            (pl.col("out_of_pocket").cast(pl.Decimal(18, 2)) * 100).cast(pl.Int64).alias("oop"),
        ),
        on="claim_id",
    )
    per_person = per_claim.group_by("person_id").agg(
        pl.col("benefit").sum(), pl.col("oop").sum(), (pl.col("benefit") > 0).sum().alias("claims")
    )
    start = product.window.closes
    frame = people.join(per_person, on="person_id", how="left").with_columns(
        pl.col("benefit", "oop", "claims").fill_null(0)
    )
    ages = np.array([age_on(born, start) for born in frame["birth_date"].to_list()], dtype=np.int64)
    bands = product.premium.bands.at(start)
    band_of = np.searchsorted(np.array([b.from_age for b in bands]), ages, side="right") - 1
    base_premium = np.array([b.premium for b in bands], dtype=np.int64)[band_of]
    rules = product.eligibility
    pre_existing = frame["pre_existing"].to_numpy().astype(bool)
    benefit = frame["benefit"].to_numpy().astype(np.int64)
    claims_n = frame["claims"].to_numpy().astype(np.int64)
    if rules.pre_existing is PreExisting.EXCLUDED:  # the bills of a person with a condition are taken to be for it
        benefit = np.where(pre_existing, 0, benefit)
        claims_n = np.where(pre_existing, 0, claims_n)
    eligible = np.ones(frame.height, dtype=bool)
    if rules.pre_existing is PreExisting.DECLINED:
        eligible &= ~pre_existing
    if rules.min_age is not None:
        eligible &= ages >= rules.min_age
    if rules.max_age is not None:
        eligible &= ages <= rules.max_age
    if rules.schemes:
        eligible &= frame["scheme"].is_in(sorted(rules.schemes)).to_numpy()
    if rules.assistance_categories:
        eligible &= frame["assistance_category"].is_in(sorted(rules.assistance_categories)).to_numpy()
    return Pool(
        person_id=frame["person_id"].to_numpy(),
        age=ages,
        income_yuan=np.maximum(frame["annual_income"].cast(pl.Float64).to_numpy(), 1.0),
        pre_existing=pre_existing,
        rural=(frame["scheme"] == "urrbmi").to_numpy(),
        eligible=eligible,
        oop_fen=frame["oop"].to_numpy().astype(np.int64),
        benefit_fen=benefit,
        claims=claims_n,
        base_premium_fen=base_premium,
    )


def _band_index(age: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array([low for low, _ in AGE_BANDS]), age, side="right") - 1


def _quintiles(income: np.ndarray) -> np.ndarray:
    ranks = np.argsort(np.argsort(income, kind="stable"), kind="stable")
    return np.asarray(ranks * 5 // max(income.shape[0], 1), dtype=np.int64)


def _scaled(fen: np.ndarray, ppm: int) -> np.ndarray:
    """fen x ppm / 1e6, rounded half-up, in integers."""
    return np.asarray((2 * fen * ppm + PPM) // (2 * PPM), dtype=np.int64)


def _expected_benefit(pool: Pool, ppm: int) -> np.ndarray:
    """Mean (scaled) benefit of each person's cell: 10-year age band x pre-existing status, over the eligible."""
    cell = np.minimum(pool.age // 10, 9) * 2 + pool.pre_existing.astype(np.int64)
    benefit = _scaled(pool.benefit_fen, ppm).astype(np.float64)
    total = np.bincount(cell[pool.eligible], weights=benefit[pool.eligible], minlength=20)
    count = np.bincount(cell[pool.eligible], minlength=20)
    mean = np.divide(total, np.maximum(count, 1))
    return np.asarray(mean[cell], dtype=np.float64)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(v, -50, 50))), dtype=np.float64)


@dataclass(frozen=True)
class Year:
    """One simulated year; money in fen."""

    year: int
    premium_fen: int  # per member (the premium of a flat product)
    eligible: int
    members: int
    takeup: float
    premium_income_fen: int
    claims_paid_fen: int
    claims: int
    loss_ratio: float
    by_quintile: tuple[float, ...]
    by_age_band: tuple[float, ...]
    by_pre_existing: tuple[float, ...]  # (without, with)
    mutual_aid_members: int
    mutual_aid_share: float
    mutual_aid_low_income_share: float  # members earning under LOW_INCOME_YUAN a year
    mutual_aid_rural_share: float


LOW_INCOME_YUAN = 103_500  # US$15,000 at the 2020 average rate of 6.90 yuan per dollar


def _shares(mask: np.ndarray, groups: np.ndarray, eligible: np.ndarray, n: int) -> tuple[float, ...]:
    members = np.bincount(groups[mask & eligible], minlength=n)
    base = np.bincount(groups[eligible], minlength=n)
    return tuple(float(m / b) if b else 0.0 for m, b in zip(members, base, strict=True))


def _next_index(index: int, paid: int, income: int, settings: Settings) -> int:
    """Next price index (ppm of year one's premiums): this year's times loss ratio / target, within ±max_change."""
    if income == 0:
        return index
    wanted = round_half_up_div(index * paid * PPM, income * settings.target_loss_ratio_ppm)
    low = index - index * settings.max_change_ppm // PPM
    high = index + index * settings.max_change_ppm // PPM
    return max(min(wanted, high), low, 0)


def premiums_at(base_fen: np.ndarray, index: int) -> np.ndarray:
    """Premiums at a price index: base x index, rounded half-up to the whole yuan."""
    return np.asarray((2 * base_fen * index + 100 * PPM) // (200 * PPM) * 100, dtype=np.int64)


def simulate(pool: Pool, product: Product, settings: Settings) -> list[Year]:
    """The years of take-up, pricing and mutual aid for one pool; the same seed gives the same years."""
    rng = np.random.default_rng(settings.seed)
    c, m = settings.choice, settings.mutual_aid
    price_ppm = PPM
    expected = _expected_benefit(pool, settings.cost_level_ppm)
    scaled = _scaled(pool.benefit_fen, settings.cost_level_ppm)
    quintile, band = _quintiles(pool.income_yuan), _band_index(pool.age)
    pre = pool.pre_existing.astype(np.int64)
    log_oop = np.log1p(pool.oop_fen / 100_000)
    log_income = np.log(pool.income_yuan / float(np.median(pool.income_yuan)))
    ma_eligible = (pool.age <= m.max_age) & ~pool.pre_existing
    member = np.zeros(pool.size, dtype=bool)
    ma_member = np.zeros(pool.size, dtype=bool)
    years: list[Year] = []
    eligible_n = int(pool.eligible.sum())
    for offset in range(settings.years):
        draws, ma_draws = rng.random(pool.size), rng.random(pool.size)
        premium = premiums_at(pool.base_premium_fen, price_ppm)
        p_yuan = np.maximum(premium, 1) / 100
        learned = np.where(member, (1 - c.experience) * expected + c.experience * scaled, expected)
        v = (c.intercept + c.value * np.log((learned / 100 + 1e-9) / p_yuan) + c.burden * 100 * p_yuan / pool.income_yuan
             + c.pre_existing * pre + c.age_decade * pool.age / 10 + c.own_oop * log_oop + c.renew * member)
        member = pool.eligible & (draws < _sigmoid(v))
        vm = (m.intercept + m.log_income * log_income + m.rural * pool.rural + m.own_oop * log_oop
              + m.age_decade * pool.age / 10 + m.renew * ma_member + m.holds_product * member)
        ma_member = ma_eligible & (ma_draws < _sigmoid(vm))
        members = int(member.sum())
        income = int(premium[member].sum())
        paid = int(scaled[member].sum())
        ma_n = int(ma_member.sum())
        years.append(Year(
            year=product.year + offset,
            premium_fen=round_half_up_div(income, members) if members else int(premium[pool.eligible].max(initial=0)),
            eligible=eligible_n,
            members=members,
            takeup=members / eligible_n if eligible_n else 0.0,
            premium_income_fen=income,
            claims_paid_fen=paid,
            claims=int(pool.claims[member].sum()),
            loss_ratio=paid / income if income else 0.0,
            by_quintile=_shares(member, quintile, pool.eligible, 5),
            by_age_band=_shares(member, band, pool.eligible, len(AGE_BANDS)),
            by_pre_existing=_shares(member, pre, pool.eligible, 2),
            mutual_aid_members=ma_n,
            mutual_aid_share=ma_n / pool.size if pool.size else 0.0,
            mutual_aid_low_income_share=float((pool.income_yuan[ma_member] < LOW_INCOME_YUAN).mean()) if ma_n else 0.0,
            mutual_aid_rural_share=float(pool.rural[ma_member].mean()) if ma_n else 0.0,
        ))
        price_ppm = _next_index(price_ppm, paid, income, settings)
    return years


def _bisect(low: float, high: float, measure: object, target: float, steps: int = 40) -> float:
    assert callable(measure)
    for _ in range(steps):
        mid = (low + high) / 2
        if measure(mid) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def calibrate(pool: Pool, product: Product, settings: Settings, targets: Targets = Targets()) -> Settings:
    """Fit the product intercept, the cost level and the mutual-aid intercept to the first year's targets."""
    first = dataclasses.replace(settings, years=1)
    current = first
    for _ in range(6):
        def takeup(b0: float, base: Settings = current) -> float:
            return simulate(pool, product, dataclasses.replace(base, choice=dataclasses.replace(base.choice, intercept=b0)))[0].takeup

        b0 = _bisect(-15.0, 15.0, takeup, targets.takeup)
        current = dataclasses.replace(current, choice=dataclasses.replace(current.choice, intercept=b0))
        year = simulate(pool, product, current)[0]
        if year.loss_ratio <= 0:
            break
        ppm = max(round(current.cost_level_ppm * targets.loss_ratio / year.loss_ratio), 1)
        if ppm == current.cost_level_ppm:
            break
        current = dataclasses.replace(current, cost_level_ppm=ppm)

    def share(a0: float, base: Settings = current) -> float:
        return simulate(pool, product, dataclasses.replace(base, mutual_aid=dataclasses.replace(base.mutual_aid, intercept=a0)))[0].mutual_aid_share

    a0 = _bisect(-15.0, 15.0, share, targets.mutual_aid_share)
    current = dataclasses.replace(current, mutual_aid=dataclasses.replace(current.mutual_aid, intercept=a0))
    return dataclasses.replace(current, years=settings.years)


# --- published vs model ------------------------------------------------------------------------------------

FIGURE_ZH = {
    "Huhuibao 2021 take-up": "沪惠保 2021 参保率",
    "Huhuibao 2021 premium": "沪惠保 2021 保费(元)",
    "Huhuibao 2021 loss ratio": "沪惠保 2021 赔付率",
    "Huhuibao 2021 claims per 1,000 members": "沪惠保 2021 每千名参保人理赔件数",
    "Mutual-aid members, share of population": "网络互助成员占人口比例",
    "Mutual-aid members earning under US$15,000": "年收入低于 1.5 万美元的互助成员占比",
    "Mutual-aid members rural / small towns (URRBMI here)": "农村及小城镇互助成员占比(此处以城乡居民医保计)",
    "National Huiminbao participation 2021 (range: city >= national)": "全国惠民保参保率 2021(范围: 城市 ≥ 全国)",
    "Huhuibao 2022 insured (M)": "沪惠保 2022 参保人数(百万)",
    "Huhuibao 2022 premium": "沪惠保 2022 保费(元)",
    "National Huiminbao participation 2022 (range: city >= national)": "全国惠民保参保率 2022(范围: 城市 ≥ 全国)",
    "Huhuibao mid-2024 insured (M)": "沪惠保 2024 年中参保人数(百万)",
}
SHANGHAI_ELIGIBLE = 7_390_000 / 0.385  # 7.39M insured were 38.5% of the eligible (about 19.2M)


@dataclass(frozen=True)
class Figure:
    name: str
    published: float | Decimal
    model: float | Decimal
    held_out: bool
    unit: str
    source: str
    check: str = "error"  # "error": relative error reported; "range": model must be at least the published value

    def title(self, lang: str) -> str:
        return FIGURE_ZH.get(self.name, self.name) if lang == "zh" else self.name

    @property
    def error(self) -> float:
        published, model = float(self.published), float(self.model)
        return (model - published) / published if published else math.nan

    @property
    def passed(self) -> bool | None:
        """For a range check: does the model reach the published value (None for an error figure)."""
        return float(self.model) >= float(self.published) if self.check == "range" else None


CALIBRATION_PRODUCT = "shanghai-huhuibao-2021"


def figures(years: Sequence[Year], product_id: str = CALIBRATION_PRODUCT) -> list[Figure]:
    """Each published figure next to the model's, recomputed from the years (not constants).

    The Huhuibao figures are compared only when the years are Huhuibao's; the mutual-aid ones always.
    """
    first = years[0]
    mutual_aid = {"Mutual-aid members, share of population", "Mutual-aid members earning under US$15,000",
                  "Mutual-aid members rural / small towns (URRBMI here)"}
    out = [
        Figure("Huhuibao 2021 take-up", 0.385, first.takeup, False, "share", "7.39M of the eligible (domain.md)"),
        Figure("Huhuibao 2021 premium", Decimal(115), Decimal(first.premium_fen) / 100, False, "yuan", "product terms"),
        Figure("Huhuibao 2021 loss ratio", 0.88, first.loss_ratio, False, "ratio", "750M paid of 850M premium"),
        Figure("Huhuibao 2021 claims per 1,000 members", 216_800 / 7_390 , 1000 * first.claims / max(first.members, 1),
               True, "per 1,000", "about 216,800 claims (not tuned)"),
        Figure("Mutual-aid members, share of population", 100e6 / 1_412e6, first.mutual_aid_share, False, "share",
               "Xiang Hu Bao > 100M members (seed 003_3fdc6e31a3a4e44c.txt)"),
        Figure("Mutual-aid members earning under US$15,000", 0.80, first.mutual_aid_low_income_share, True, "share",
               "Ant Group 2020 white paper"),
        Figure("Mutual-aid members rural / small towns (URRBMI here)", 0.72, first.mutual_aid_rural_share, True,
               "share", "Ant Group 2020 white paper"),
        Figure("National Huiminbao participation 2021 (range: city >= national)", 0.13, first.takeup, True, "share",
               "national average", "range"),
    ]
    if len(years) > 1:
        second = years[1]
        out += [
            Figure("Huhuibao 2022 insured (M)", 6.5, second.takeup * SHANGHAI_ELIGIBLE / 1e6, True, "million",
                   "about 6.5M insured in 2022"),
            Figure("Huhuibao 2022 premium", Decimal(129), Decimal(second.premium_fen) / 100, True, "yuan", "129 yuan in 2022"),
            Figure("National Huiminbao participation 2022 (range: city >= national)", 0.18, second.takeup, True,
                   "share", "national average", "range"),
        ]
    if len(years) > 3:
        out.append(Figure("Huhuibao mid-2024 insured (M)", 4.5, years[3].takeup * SHANGHAI_ELIGIBLE / 1e6, True,
                          "million", "about 4.5M insured in mid-2024"))
    if product_id != CALIBRATION_PRODUCT:
        out = [f for f in out if f.name in mutual_aid]
    return out


def years_frame(years: Sequence[Year]) -> pl.DataFrame:
    rows = []
    for y in years:
        row: dict[str, object] = {
            "year": y.year, "premium": format_yuan(y.premium_fen), "eligible": y.eligible, "members": y.members,
            "takeup": y.takeup, "premium_income": format_yuan(y.premium_income_fen), "claims_paid": format_yuan(y.claims_paid_fen),
            "claims": y.claims, "loss_ratio": y.loss_ratio, "mutual_aid_members": y.mutual_aid_members,
            "mutual_aid_share": y.mutual_aid_share,
        }
        row |= {f"takeup_q{i + 1}": s for i, s in enumerate(y.by_quintile)}
        row |= {f"takeup_age_{label}": s for (_, label), s in zip(AGE_BANDS, y.by_age_band, strict=True)}
        row |= {"takeup_no_pre_existing": y.by_pre_existing[0], "takeup_pre_existing": y.by_pre_existing[1]}
        rows.append(row)
    money = ("premium", "premium_income", "claims_paid")
    return pl.DataFrame(rows).with_columns(pl.col(money).cast(pl.Decimal(18, 2)))


def figures_frame(items: Sequence[Figure]) -> pl.DataFrame:
    return pl.DataFrame({
        "figure": [f.name for f in items],
        "published": [str(f.published) for f in items],
        "model": [str(f.model) for f in items],
        "error": [f.error for f in items],
        "check": [f.check for f in items],
        "passed": [f.passed for f in items],
        "held_out": [f.held_out for f in items],
        "source": [f.source for f in items],
    })
