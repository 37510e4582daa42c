"""The evaluation's HTML report (yibao.report: inline SVG, no network) and CSV tables."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from yibao import report
from yibao.contracts.evaluation import SEED_RANKING, Study, dimension_drivers
from yibao.contracts.model import MODE_NAMES, Contract
from yibao.contracts.montecarlo import DIMENSIONS, Evaluation, results
from yibao.core.money import RATE_SCALE, RatePpm, format_rate, format_yuan

EVALUATION_COLUMNS = (
    "contract", "mode", "premium_per_enrollee", "fee_per_enrollee",
    "insurer_mean", "insurer_sd", "insurer_p_loss", "insurer_tail5",
    "fund_mean", "fund_sd", "fund_p_overrun", "fund_tail5", "risk_balance",
    "admin_cost_ratio", "fund_loading", "incentive",
    "settlement_days", "staff_per_10k_claims", "staff", "expected_margin", "p_low_profit",
)  # fmt: skip

# What moves each dimension in the model (the sensitivity screen shows which do so at the defaults).
DRIVER_NOTES: dict[str, str] = {
    "risk sharing": (
        "The co-insurance ratio splits every yuan of surplus and deficit, so at 50% the fund's and the insurer's "
        "results vary equally (balance 1). The contract's split depends on its corridor (profit cap, loss band, "
        "fund's share beyond the band) against the year-to-year volatility; fund management leaves all risk with the fund."
    ),
    "management cost": (
        "Only the admin cost parameters of each party (per enrollee and per claim): the model does not derive them. "
        "The defaults assume the insurer that bears the claims runs leanest and the bureau only supervises."
    ),
    "incentive effect": (
        "Structural: 0 under fund management (a fee on claims even makes it negative), the agreed share under "
        "co-insurance, and under the contract 100% inside the corridor, 0 above the profit cap and the insurer's "
        "share beyond the loss band. So the contract leads only while the year's balance stays mostly inside the "
        "corridor: the profit cap, the loss band, the expense allowance (where the priced balance sits) and the "
        "volatility of the book (city size, volume and cost shocks) drive it."
    ),
    "administrative efficiency": "Settlement days and staff per 10,000 claims are contract parameters, shown side by side.",
}


def _yuan(value: float) -> str:
    return f"{value:,.0f}"


def _pct(value: float) -> str:
    return f"{value:.1%}"


def evaluation_rows(evaluations: Sequence[Evaluation]) -> list[list[object]]:
    rows: list[list[object]] = []
    for e in evaluations:
        c = e.contract
        rows.append([
            c.name, c.mode.value, format_yuan(c.premium_per_enrollee), format_yuan(c.fee_per_enrollee),
            round(e.insurer_mean, 2), round(e.insurer_sd, 2), round(e.insurer_p_loss, 4), round(e.insurer_tail5, 2),
            round(e.fund_mean, 2), round(e.fund_sd, 2), round(e.fund_p_overrun, 4), round(e.fund_tail5, 2),
            round(e.risk_balance, 4), round(e.admin_cost_ratio, 5), round(e.fund_loading, 5), round(e.incentive, 4),
            e.settlement_days, e.staff_per_10k_claims, round(e.staff, 2), round(e.expected_margin, 5),
            round(e.p_low_profit, 4),
        ])  # fmt: skip
    return rows


def write_csv(path: Path, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows(rows)


def year_rows(st: Study) -> tuple[list[str], list[list[object]]]:
    """Per simulated year: claims paid, claims, and each contract's insurer profit and fund outlay (exact yuan)."""
    per_contract = [results(e.contract, st.sims) for e in st.evaluations]
    headers = ["year", "claims_paid", "claims"]
    for e in st.evaluations:
        headers += [f"insurer_profit_{e.contract.mode.value}", f"fund_outlay_{e.contract.mode.value}"]
    rows: list[list[object]] = []
    for t in range(len(st.sims.claims_paid)):
        row: list[object] = [t + 1, format_yuan(int(st.sims.claims_paid[t])), int(st.sims.claims[t])]
        for r in per_contract:
            row += [format_yuan(int(r.insurer_profit[t])), format_yuan(int(r.fund_outlay[t]))]
        rows.append(row)
    return headers, rows


def _distribution_chart(evaluations: Sequence[Evaluation], enrollees: int) -> str:
    import matplotlib.pyplot as plt

    per_enrollee = [e.profit / max(enrollees, 1) for e in evaluations]
    low = min(float(p.min()) for p in per_enrollee)
    high = max(float(p.max()) for p in per_enrollee)
    bins = np.linspace(low, high if high > low else low + 1, 70)
    fig, axes = plt.subplots(len(evaluations), 1, figsize=(7.5, 1.5 + 1.3 * len(evaluations)), sharex=True)
    for i, (ax, e, values) in enumerate(zip(np.atleast_1d(axes), evaluations, per_enrollee, strict=True)):
        revenue = (e.contract.premium_per_enrollee + e.contract.fee_per_enrollee) / 100
        cap = e.contract.low_profit_cap / RATE_SCALE
        ax.axvspan(0, cap * revenue, color="#3a9d5d", alpha=0.12, linewidth=0)
        ax.hist(values, bins=bins, color=report.PALETTE[i])
        ax.axvline(0, color="#333", linewidth=0.8)
        ax.set_title(MODE_NAMES[e.contract.mode], fontsize=9, loc="left")
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_ylabel("years", fontsize=8)
    np.atleast_1d(axes)[-1].set_xlabel("insurer's yearly result, yuan per enrollee")
    fig.tight_layout()
    return report.figure(
        fig,
        "Distribution of the insurer's result per mode over the simulated years (premiums as evaluated); "
        "the green band is a margin in [0, low-profit cap] of the contract's revenue.",
    )


def dimension_scores(evaluations: Sequence[Evaluation]) -> dict[str, list[float]]:
    """Each dimension scaled to 0..1 (1 = best here) for the side-by-side chart."""
    admin = [e.admin_cost_ratio for e in evaluations]
    days = [e.settlement_days for e in evaluations]
    return {
        "risk sharing\n(sd balance)": [e.risk_balance for e in evaluations],
        "management cost\n(lowest ratio = 1)": [min(admin) / a if a > 0 else 1.0 for a in admin],
        "incentive effect\n(share kept)": [min(max(e.incentive, 0.0), 1.0) for e in evaluations],
        "administrative efficiency\n(fewest days = 1)": [min(days) / d if d > 0 else 1.0 for d in days],
    }


def _dimensions_chart(evaluations: Sequence[Evaluation]) -> str:
    scores = dimension_scores(evaluations)
    fig, ax = report.new_figure(7.5, 3.8)
    width = 0.8 / len(evaluations)
    x = np.arange(len(scores))
    for i, e in enumerate(evaluations):
        ax.bar(
            x + i * width,
            [s[i] for s in scores.values()],
            width,
            color=report.PALETTE[i],
            label=MODE_NAMES[e.contract.mode],
        )
    ax.set_xticks(x + width * (len(evaluations) - 1) / 2, list(scores), fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (1 = best)")
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    return report.figure(fig, "The four dimensions side by side (each scaled so the best mode scores 1).")


def _parameter_rows(contract: Contract) -> list[list[object]]:
    def rate(value: RatePpm | None) -> str:
        return "none" if value is None else format_rate(value)

    k = contract.corridor
    return [
        [contract.name, "premium per enrollee", format_yuan(contract.premium_per_enrollee)],
        [contract.name, "fee per enrollee / share of claims", f"{format_yuan(contract.fee_per_enrollee)} / {rate(contract.fee_rate_of_claims)}"],
        [contract.name, "expense allowance", rate(contract.expense_allowance_rate)],
        [contract.name, "profit cap / insurer share above", "–" if k is None else f"{rate(k.profit_cap)} / {rate(k.insurer_share_above_cap)}"],
        [contract.name, "loss band / insurer share beyond", "–" if k is None else f"{rate(k.loss_band)} / {rate(k.insurer_share_beyond_band)}"],
        [contract.name, "admin cost fund (per enrollee / per claim)", f"{format_yuan(contract.fund_admin.per_enrollee)} / {format_yuan(contract.fund_admin.per_claim)}"],
        [contract.name, "admin cost insurer (per enrollee / per claim)", f"{format_yuan(contract.insurer_admin.per_enrollee)} / {format_yuan(contract.insurer_admin.per_claim)}"],
    ]  # fmt: skip


def html_report(st: Study, city: str) -> str:
    evs, s = st.evaluations, st.settings.shocks
    claims = st.sims.claims_paid / 100.0
    recomputed = int((st.book.payments(1.0) == st.book.paid).sum())
    pricing = (
        "premiums and fees as written in the contract files"
        if st.settings.as_written
        else f"each premium (fee under fund management) searched so the insurer's expected margin is {st.settings.target_margin:.1%}"
    )
    setup = report.paragraph(
        f"{city}: {st.book.enrollees:,} enrollees, {st.book.persons:,} with a serious-illness base; "
        f"{s.years:,} simulated years (seed {s.seed}): claim volume shock sd {s.volume_sd:.1%}, cost shock sd "
        f"{s.cost_sd:.1%}, cost trend {s.cost_trend:.1%}; incentive from a {s.claim_cut:.0%} cut in claim cost. "
        f"Pricing: {pricing}. Serious-illness payments per enrollee: mean {claims.mean() / max(st.book.enrollees, 1):.2f} "
        f"yuan, coefficient of variation {claims.std() / claims.mean():.1%}. The yearly rule recomputed from the bases "
        f"gives the settled payment to the fen for {recomputed:,} of {st.book.persons:,} persons."
    )
    verdict_rows = [
        [dim, DIMENSIONS[dim][0], MODE_NAMES[st.best[dim]], MODE_NAMES[SEED_RANKING[dim]], "yes" if st.best[dim] is SEED_RANKING[dim] else "no"]
        for dim in DIMENSIONS
    ]  # fmt: skip
    verdict = report.table(["dimension", "best means", "best here", "study", "agrees"], verdict_rows)
    verdict += report.paragraph(
        "The study's qualitative ranking is reproduced."
        if st.reproduces_seed
        else "The study's ranking is NOT fully reproduced under these parameters."
    )
    side_rows = [
        ["risk: balance of sd (fund vs insurer)", *(f"{e.risk_balance:.3f}" for e in evs)],
        ["risk: insurer sd (yuan)", *(_yuan(e.insurer_sd) for e in evs)],
        ["risk: P(insurer loss)", *(_pct(e.insurer_p_loss) for e in evs)],
        ["risk: insurer 5% tail (mean of worst 5%, yuan)", *(_yuan(e.insurer_tail5) for e in evs)],
        ["risk: fund outlay sd (yuan)", *(_yuan(e.fund_sd) for e in evs)],
        ["risk: P(fund outlay > expected + 5%)", *(_pct(e.fund_p_overrun) for e in evs)],
        ["risk: fund 5% tail (expected − outlay, yuan)", *(_yuan(e.fund_tail5) for e in evs)],
        ["management cost: admin cost / claims", *(_pct(e.admin_cost_ratio) for e in evs)],
        ["management cost: fund's cost beyond claims / claims", *(_pct(e.fund_loading) for e in evs)],
        ["incentive: share of a claim-cost cut kept", *(_pct(e.incentive) for e in evs)],
        ["efficiency: settlement days", *(f"{e.settlement_days:g}" for e in evs)],
        ["efficiency: staff per 10k claims", *(f"{e.staff_per_10k_claims:g}" for e in evs)],
        ["efficiency: staff for the mean claims", *(f"{e.staff:.1f}" for e in evs)],
        ["insurer expected margin", *(_pct(e.expected_margin) for e in evs)],
        ["P(margin in [0, low-profit cap]): breakeven and low profit", *(_pct(e.p_low_profit) for e in evs)],
        ["premium / fee per enrollee (yuan)", *(f"{format_yuan(e.contract.premium_per_enrollee)} / {format_yuan(e.contract.fee_per_enrollee)}" for e in evs)],
    ]  # fmt: skip
    side = report.table(["measure", *(MODE_NAMES[e.contract.mode] for e in evs)], side_rows)
    drivers = dimension_drivers(st.drivers, st.best)
    driver_html = ""
    for dim in DIMENSIONS:
        moved = drivers.get(dim, [])
        screened = (
            f" One-at-a-time screen (each parameter and shock halved and doubled, repriced, first "
            f"{min(500, s.years)} years): "
            + ("; ".join(moved) if moved else "no single change moves the best mode")
            + "."
            if st.drivers
            else ""
        )
        driver_html += f"<p class='note'><b>{dim}.</b> {DRIVER_NOTES[dim]}{screened}</p>"
    params = report.table(["contract", "parameter", "value"], [r for e in evs for r in _parameter_rows(e.contract)])
    sections = [
        report.Section("Set-up", setup),
        report.Section("Best mode on each of the four dimensions", verdict + _dimensions_chart(evs)),
        report.Section("The four dimensions side by side", side),
        report.Section("Risk: the insurer's yearly result", _distribution_chart(evs, st.book.enrollees)),
        report.Section("What drives the ranking", driver_html),
        report.Section("Contracts as evaluated", params),
    ]
    return report.page(
        "Serious-illness cooperation modes — Monte Carlo evaluation",
        "Fund management (Jiangyin), insurance contract (Zhanjiang), co-insurance joint office (Pinggu), as compared by a study of the three modes",
        sections,
    )


def write_study(st: Study, out: Path, city: str) -> dict[str, Path]:
    """report.html, evaluation.csv (one row per contract) and years.csv (one row per simulated year)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report": out / "report.html", "evaluation": out / "evaluation.csv", "years": out / "years.csv"}
    paths["report"].write_text(html_report(st, city), encoding="utf-8")
    write_csv(paths["evaluation"], EVALUATION_COLUMNS, evaluation_rows(st.evaluations))
    headers, rows = year_rows(st)
    write_csv(paths["years"], headers, rows)
    return paths
