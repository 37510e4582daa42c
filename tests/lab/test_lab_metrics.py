"""Lab metrics on a five-person city computed by hand (see lab_population.py for the table)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.lab.lab_population import LAYERS, fen, persons, settled
from yibao.lab import metrics
from yibao.lab.compare import Unit, change_text, deltas, figure_value, figures, value_text
from yibao.schemes import load_scheme


def test_quintiles_of_five_distinct_incomes_are_one_person_each() -> None:
    q = metrics.income_quintiles(persons())
    assert dict(q.select("person_id", "quintile").iter_rows()) == {"p1": 1, "p2": 2, "p3": 3, "p4": 4, "p5": 5}


def test_equal_incomes_share_a_quintile_whatever_the_order() -> None:
    # min ranks 1,1,1,4,5,6,6,8,9,10 of 10 -> quintile floor(5 (r-1) / 10) + 1
    incomes = [0, 0, 0, 100, 200, 300, 300, 400, 500, 600]
    expected = [1, 1, 1, 2, 3, 3, 3, 4, 5, 5]
    frame = pl.DataFrame({"person_id": [f"x{i}" for i in range(10)], "annual_income": [fen(y) for y in incomes]})
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=7)
    for table in (frame, shuffled):
        got = dict(metrics.income_quintiles(table).select("person_id", "quintile").iter_rows())
        assert got == {f"x{i}": q for i, q in enumerate(expected)}


def test_catastrophic_spending_counts_every_person_and_is_strict() -> None:
    years = metrics.person_years(persons(), settled(), LAYERS)
    che = {row["group"]: row for row in metrics.catastrophic(years).iter_rows(named=True)}
    # OOP/income: p1 40/0 (zero income, pays something), p2 15%, p3 exactly 25%, p4 25.0025%, p5 no claims
    assert che["all"]["person_years"] == 5
    assert che["all"]["zero_income"] == 1
    assert (che["all"]["che10"], che["all"]["che25"]) == (4, 2)
    assert che["all"]["che10_share"] == pytest.approx(0.8)
    assert che["all"]["che25_share"] == pytest.approx(0.4)
    by_quintile = {g: (che[g]["che10"], che[g]["che25"]) for g in ("Q1", "Q2", "Q3", "Q4", "Q5")}
    assert by_quintile == {"Q1": (1, 1), "Q2": (1, 0), "Q3": (1, 0), "Q4": (1, 1), "Q5": (0, 0)}
    assert (che["Q3"]["lowest_income"], che["Q3"]["highest_income"]) == (fen(20_000), fen(20_000))


def test_zero_income_without_out_of_pocket_is_not_catastrophic() -> None:
    people = persons().with_columns(pl.lit(0, dtype=pl.Int64).alias("annual_income"))
    years = metrics.person_years(people, settled(), LAYERS)
    che = metrics.catastrophic(years).filter(pl.col("group") == "all").row(0, named=True)
    assert che["zero_income"] == 5
    assert che["che10"] == che["che25"] == 4  # p5 paid nothing


def test_payments_by_layer_and_reimbursement_rates() -> None:
    pay = dict(metrics.payments_by_layer(settled(), LAYERS).select("payer", "amount").iter_rows())
    assert pay == {"basic": fen(36_560), "serious_illness": fen(10_000), "out_of_pocket": fen(16_541)}
    rates = {
        (r["dimension"], r["group"]): r
        for r in metrics.reimbursement(persons(), settled(), LAYERS).iter_rows(named=True)
    }
    overall = rates[("all", "all")]
    assert (overall["total"], overall["in_policy"], overall["paid"]) == (fen(63_101), fen(63_001), fen(46_560))
    assert overall["rate_total"] == pytest.approx(46_560 / 63_101)
    assert overall["rate_in_policy"] == pytest.approx(46_560 / 63_001)
    assert rates[("scheme", "urrbmi")]["rate_total"] == pytest.approx(1_560 / 3_100)
    assert rates[("scheme", "uebmi_employee")]["rate_in_policy"] == pytest.approx(5_000 / 9_900)
    assert rates[("scheme", "uebmi_retiree")]["paid_serious_illness"] == fen(10_000)
    assert rates[("facility_level", "1")]["rate_total"] == pytest.approx(560 / 1_100)
    assert rates[("facility_level", "2")]["rate_total"] == pytest.approx(0.5)
    assert rates[("facility_level", "3")]["claims"] == 1


def test_out_of_pocket_percentiles_are_nearest_rank_amounts() -> None:
    years = metrics.person_years(persons(), settled(), LAYERS)
    pct = dict(metrics.oop_percentiles(years).iter_rows())
    # sorted yearly OOP: 0, 40, 1,500, 5,000, 10,001 yuan
    assert pct["P50"] == fen(1_500)
    assert pct["P75"] == fen(5_000)
    assert pct["P90"] == pct["P99"] == pct["max"] == fen(10_001)
    assert pct["mean"] == 330_820  # 16,541 / 5 = 3,308.20 yuan
    bands = dict(metrics.oop_histogram(years).select("band", "person_years").iter_rows())
    assert bands == {
        "0": 1,
        "0–500": 1,
        "500–2k": 1,
        "2k–5k": 1,
        "5k–10k": 0,
        "10k–20k": 1,
        "20k–50k": 0,
        "50k–100k": 0,
        ">100k": 0,
    }


def test_benefit_incidence_shares_of_payments() -> None:
    years = metrics.person_years(persons(), settled(), LAYERS)
    bi = {r["group"]: r for r in metrics.benefit_incidence(years, LAYERS).iter_rows(named=True)}
    assert [bi[q]["paid"] for q in ("Q1", "Q2", "Q3", "Q4", "Q5")] == [fen(60), fen(1_500), fen(5_000), fen(40_000), 0]
    assert bi["Q4"]["paid_share"] == pytest.approx(40_000 / 46_560)
    assert bi["Q4"]["paid_serious_illness_share"] == pytest.approx(1.0)
    assert sum(r["paid_share"] for r in bi.values()) == pytest.approx(1.0)
    assert all(r["population_share"] == pytest.approx(0.2) for r in bi.values())


def test_outlays_per_enrollee_round_half_up_to_the_fen() -> None:
    out = {
        r["layer"]: r
        for r in metrics.outlays_per_enrollee(
            persons(), settled(), LAYERS, {"basic": 5, "serious_illness": 3}
        ).iter_rows(named=True)
    }
    assert out["basic"]["per_enrollee"] == fen(7_312)  # 36,560 / 5
    assert out["serious_illness"]["per_enrollee"] == 333_333  # 10,000 yuan / 3 = 3,333.333...
    assert out["serious_illness"]["per_capita"] == fen(2_000)  # 10,000 / 5 persons


def test_layer_enrollees_follow_person_level_eligibility() -> None:
    scheme = load_scheme("reference-city")
    assert metrics.layer_enrollees(scheme, persons()) == {
        "basic": 5,  # every scheme
        "large_amount_subsidy": 2,  # uebmi: p3, p4 (its care-type condition is the claim's, not the person's)
        "serious_illness": 3,  # urrbmi: p1, p2, p5
        "assistance": 1,  # p1 dibao
        "huiminbao": 1,  # p2 bought it
        "individual_account": 5,  # every scheme: residents spend what relatives share with them (家庭共济)
    }


def test_persons_without_claims_count_in_every_year() -> None:
    two_years = pl.concat([settled(2024), settled(2025).with_columns(pl.col("claim_id") + "-25")])
    m = metrics.compute(persons(), two_years, LAYERS)
    assert m.person_years == 10
    assert dict(m.outlays.select("layer", "per_capita").iter_rows())["basic"] == fen(7_312)  # per capita-year


def test_no_claims_gives_zero_figures_not_errors() -> None:
    m = metrics.compute(persons(), settled().head(0), LAYERS)
    assert m.person_years == 5
    assert figure_value(figures(m), "che.10") == 0.0
    assert figure_value(figures(m), "reimbursement.rate_total") is None


def test_reform_deltas_exact_in_fen_and_in_points() -> None:
    base = figures(metrics.compute(persons(), settled(), LAYERS))
    # the reform: serious illness pays 1,000.01 yuan more on c4
    reform_frame = settled().with_columns(
        pl.when(pl.col("claim_id") == "c4")
        .then(pl.col("paid_serious_illness") + 100_001)
        .otherwise(pl.col("paid_serious_illness")),
        pl.when(pl.col("claim_id") == "c4").then(pl.col("out_of_pocket") - 100_001).otherwise(pl.col("out_of_pocket")),
    )
    new = figures(metrics.compute(persons(), reform_frame, LAYERS))
    found = {(d.metric, d.group): d for d in deltas(base, new)}
    si = found[("payment.amount", "serious_illness")]
    assert (si.baseline, si.reform, si.change) == (fen(10_000), 1_100_001, 100_001)
    assert change_text(si.unit, si.change) == "+1,000.01"
    oop = found[("payment.amount", "out_of_pocket")]
    assert oop.change == -100_001 and value_text(Unit.YUAN, oop.reform) == "15,540.99"
    che25 = found[("che.25", "all")]  # p4's OOP falls to 9,000.99 < 25% of 40,000
    assert che25.change == pytest.approx(-0.2)
    assert change_text(Unit.SHARE, che25.change) == "-20.00 pp"


def test_deltas_of_a_layer_only_one_side_has() -> None:
    base = figures(metrics.compute(persons(), settled(), LAYERS))
    new = figures(metrics.compute(persons(), settled().drop("paid_serious_illness"), ("basic",)))
    found = {(d.metric, d.group): d for d in deltas(base, new)}
    # a removed layer pays nothing: its payment figures become 0 ...
    assert found[("payment.amount", "serious_illness")].reform == 0
    assert found[("payment.amount", "serious_illness")].change == -fen(10_000)
    # ... other figures of it are undefined
    assert found[("benefit.share", "Q4")].reform == pytest.approx(30_000 / 36_560)
    assert found[("outlay.per_capita", "serious_illness")].reform is None
    assert found[("outlay.per_capita", "serious_illness")].change is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=60), st.integers(1, 999))
def test_nearest_rank_has_at_least_p_at_or_below(values: list[int], permille: int) -> None:
    ordered = sorted(values)
    p = metrics.nearest_rank(ordered, permille)
    at_or_below = sum(v <= p for v in ordered)
    below = sum(v < p for v in ordered)
    assert at_or_below * 1000 >= permille * len(ordered)
    assert below * 1000 < permille * len(ordered)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=40))
def test_quintiles_depend_on_income_only(incomes: list[int]) -> None:
    frame = pl.DataFrame({"person_id": [f"x{i}" for i in range(len(incomes))], "annual_income": incomes})
    q = dict(metrics.income_quintiles(frame).select("person_id", "quintile").iter_rows())
    by_income: dict[int, set[int]] = {}
    for i, income in enumerate(incomes):
        by_income.setdefault(income, set()).add(q[f"x{i}"])
    assert all(len(s) == 1 for s in by_income.values())
    ordered = sorted(by_income)
    assert [next(iter(by_income[i])) for i in ordered] == sorted(next(iter(by_income[i])) for i in ordered)
    assert min(q.values()) == 1 and max(q.values()) <= 5


def test_money_figures_are_integers() -> None:
    for f in figures(metrics.compute(persons(), settled(), LAYERS)):
        if f.unit is Unit.YUAN and f.value is not None:
            assert isinstance(f.value, int), f


@st.composite
def random_city(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A few persons with random incomes (ties and zeros likely) and claims split at random between two layers."""
    n = draw(st.integers(1, 12))
    base = persons().head(1)
    people = pl.concat([base] * n).with_columns(
        pl.Series("person_id", [f"x{i}" for i in range(n)]),
        pl.Series(
            "annual_income",
            draw(st.lists(st.sampled_from([0, 50_000, 1_000_000, 3_000_000]), min_size=n, max_size=n)),
            dtype=pl.Int64,
        ),
    )
    template = settled().head(1)
    rows = []
    for i in range(draw(st.integers(0, 20))):
        total = draw(st.integers(0, 5_000_000))
        basic = draw(st.integers(0, total))
        serious = draw(st.integers(0, total - basic))
        rows.append(
            template.with_columns(
                pl.lit(f"c{i}").alias("claim_id"),
                pl.lit(f"x{draw(st.integers(0, n - 1))}").alias("person_id"),
                pl.lit(total, dtype=pl.Int64).alias("class_a"),
                pl.lit(total, dtype=pl.Int64).alias("total"),
                pl.lit(total, dtype=pl.Int64).alias("in_policy"),
                pl.lit(basic, dtype=pl.Int64).alias("paid_basic"),
                pl.lit(serious, dtype=pl.Int64).alias("paid_serious_illness"),
                pl.lit(total - basic - serious, dtype=pl.Int64).alias("out_of_pocket"),
            )
        )
    claims = pl.concat(rows) if rows else template.head(0)
    return people, claims


@settings(max_examples=25, deadline=None)
@given(random_city())
def test_metrics_account_for_every_fen_and_person(city: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    people, claims = city
    m = metrics.compute(people, claims, LAYERS)
    found = figures(m)
    paid = figure_value(found, "payment.all_layers")
    assert paid + figure_value(found, "payment.amount", "out_of_pocket") == figure_value(found, "spending.total")
    assert sum(m.benefit_incidence["paid"].to_list()) == paid
    assert sum(m.oop_histogram["person_years"].to_list()) == m.person_years == people.height
    che = {r["group"]: r for r in m.catastrophic.iter_rows(named=True)}
    assert sum(r["person_years"] for g, r in che.items() if g != "all") == che["all"]["person_years"]
    # brute force: yearly OOP per person against income, in plain Python integers
    oop = {p: 0 for p in people["person_id"]}
    for person, amount in claims.select("person_id", "out_of_pocket").iter_rows():
        oop[person] += amount
    income = dict(people.select("person_id", "annual_income").iter_rows())
    for t in (10, 25):
        assert che["all"][f"che{t}"] == sum(100 * oop[p] > t * income[p] for p in oop)
        assert all(r["che25"] <= r["che10"] for r in che.values())
    stats = dict(m.oop_percentiles.iter_rows())
    ordered = [stats[k] for k in ("P50", "P75", "P90", "P95", "P99", "P99.9", "max")]
    assert ordered == sorted(ordered) and stats["mean"] <= stats["max"]
