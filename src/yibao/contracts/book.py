"""The year's serious-illness book: each person's yearly base, and the layer's payment under a cost shock.

The serious-illness layer is a yearly rule (domain.md): a person's payment for the
year is `min(round(f(C)), cap)` with `C` the year's cumulative base and `f` the
layer's banded schedule above the person's deductible. So the payment under a cost
factor `k` is exactly `min(round(f(round(k × C))), cap)`, vectorised over persons
with the rules' own `schedule` and `clip_to_cap` on arrays — exact in fen for the shocked base.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.core.errors import YibaoError
from yibao.core.money import Fen
from yibao.core.rules import clip_to_cap, layer_base, schedule
from yibao.core.scalar import ClaimContext, part_bands, part_deductible
from yibao.core.scheme import PERSON_DIMENSIONS, Accumulation, Bands, Condition, Part, Quantity, Scheme

I64 = npt.NDArray[np.int64]

# A yearly rule can be recomputed from the year's base only if nothing in it depends on the claim: only the
# person's dimensions (PERSON_DIMENSIONS).


class BookError(YibaoError):
    code = "contracts.unsupported_layer"


@dataclass(frozen=True, slots=True)
class RuleGroup:
    """The yearly rule as it applies to one group of persons."""

    deductible: Fen
    bands: Bands
    cap: Fen | None


@dataclass(frozen=True)
class SeriousIllnessBook:
    """Persons with a positive yearly base, their rule group, observed claims and payment; and the enrollees."""

    enrollees: int
    base: I64  # the year's cumulative base per person, fen
    group: I64  # index into `groups`
    claims: I64  # claims with a serious-illness payment (at least 1 is counted once a person is paid)
    paid: I64  # the payment observed in the settled year, fen
    groups: tuple[RuleGroup, ...]

    def __post_init__(self) -> None:
        n = len(self.base)
        if not (len(self.group) == len(self.claims) == len(self.paid) == n):
            raise YibaoError("book columns must have one value per person", code="contracts.bad_book")
        if n and (self.base.min() < 0 or self.group.min() < 0 or self.group.max() >= len(self.groups)):
            raise YibaoError("bases must be non-negative and groups known", code="contracts.bad_book")

    @property
    def persons(self) -> int:
        return len(self.base)

    def payments(self, cost_factor: float, rows: I64 | None = None) -> I64:
        """Each person's yearly payment (fen) when every bill costs `cost_factor` times as much."""
        idx = np.arange(self.persons) if rows is None else rows
        # the shock is a float (a statistic); the shocked base is rounded half-up to the fen once
        base = np.floor(self.base[idx] * cost_factor + 0.5).astype(np.int64)
        which = self.group[idx]
        paid = np.zeros(len(idx), dtype=np.int64)
        for g, rule in enumerate(self.groups):  # the year's rule of each group, on its persons' bases
            at = np.flatnonzero(which == g)
            yearly = schedule(base[at], rule.deductible, rule.bands)
            paid[at] = clip_to_cap(np.zeros_like(yearly), yearly, rule.cap)
        return paid

    def claims_handled(self, payments: I64, rows: I64 | None = None) -> int:
        """Claims the parties handle: the observed claims of each paid person (at least one)."""
        claims = self.claims if rows is None else self.claims[rows]
        return int(np.maximum(claims, 1)[payments > 0].sum())


def _yearly_part(scheme: Scheme, layer_id: str) -> Part:
    layer = scheme.layer(layer_id)
    if len(layer.parts) != 1 or layer.parts[0].accumulation is not Accumulation.YEAR:
        raise BookError(f"layer {layer_id!r} must be one yearly part to be evaluated from yearly bases")
    part = layer.parts[0]
    keyed = [p.by for p in (part.rate, part.deductible, part.cap) if p is not None and p.by is not None]
    conditions: list[Condition] = [part.when, *(adj.when for adj in part.adjustments)]
    claim_level = [d for d in keyed if d not in PERSON_DIMENSIONS] + [
        d for cond in conditions for d in cond.keys if d not in PERSON_DIMENSIONS
    ]
    if claim_level or part.repeat_claim or part.claim_cap or any(c.min_age or c.max_age for c in conditions):
        raise BookError(
            f"layer {layer_id!r}: the yearly rule depends on the claim ({claim_level or 'age, repeat or claim cap'}), "
            "so it cannot be recomputed from yearly bases"
        )
    return part


def _context(row: dict[str, object]) -> ClaimContext:
    """A person's context (only person dimensions are read: checked by _yearly_part)."""
    return ClaimContext.of_person({dim: str(row[dim.value]).lower() for dim in PERSON_DIMENSIONS})


def _base(part: Part, settled: pl.DataFrame) -> pl.Series:
    """Each settled claim's base of the part (yibao.core.rules.layer_base, as the paths compute it)."""

    def column(term: str) -> I64:
        name = term if term in {q.value for q in Quantity} else f"paid_{term}"
        return settled[name].to_numpy().astype(np.int64)

    return pl.Series("_base", layer_base(part.base, column), dtype=pl.Int64)


def book_from_settled(
    scheme: Scheme, persons: pl.DataFrame, settled: pl.DataFrame, year: int, layer_id: str = "serious_illness"
) -> SeriousIllnessBook:
    """The book of `year` from normalised persons and a settled claims frame (fen), as `settle_frame` returns."""
    part = _yearly_part(scheme, layer_id)
    day = date(year, 1, 1)  # the rule in force at the start of the contract year
    context_columns = [d.value for d in PERSON_DIMENSIONS]
    contexts = persons.select(context_columns).unique(maintain_order=True)
    groups: list[RuleGroup] = []
    group_of: list[int | None] = []
    for row in contexts.iter_rows(named=True):
        ctx = _context(row)
        if not ctx.meets(part.when):
            group_of.append(None)
            continue
        cap = part.cap.at(day, ctx.key(part.cap.by)) if part.cap is not None else None
        rule = RuleGroup(part_deductible(part, day, ctx, 1), part_bands(part, day, ctx), cap)
        if rule not in groups:
            groups.append(rule)
        group_of.append(groups.index(rule))
    contexts = contexts.with_columns(pl.Series("_group", group_of, dtype=pl.Int64))
    covered = persons.join(contexts, on=context_columns, how="left").filter(pl.col("_group").is_not_null())
    paid_col = f"paid_{layer_id}"
    year_claims = settled.filter(pl.col("service_date").dt.year() == year)
    per_person = (
        year_claims.select(pl.col("person_id"), _base(part, year_claims), pl.col(paid_col).alias("_paid"))
        .join(covered.select("person_id", "_group"), on="person_id", how="inner")
        .group_by("person_id", maintain_order=True)
        .agg(
            pl.col("_base").sum(),
            pl.col("_paid").sum(),
            (pl.col("_paid") > 0).sum().cast(pl.Int64).alias("_claims"),
            pl.col("_group").first(),
        )
        .filter(pl.col("_base") > 0)
    )
    return SeriousIllnessBook(
        enrollees=covered.height,
        base=per_person["_base"].to_numpy().astype(np.int64),
        group=per_person["_group"].to_numpy().astype(np.int64),
        claims=per_person["_claims"].to_numpy().astype(np.int64),
        paid=per_person["_paid"].to_numpy().astype(np.int64),
        groups=tuple(groups),
    )


def book_from_tables(
    scheme: Scheme, persons: pl.DataFrame, claims: pl.DataFrame, year: int | None = None,
    layer_id: str = "serious_illness",
) -> SeriousIllnessBook:  # fmt: skip
    """Settle normalised persons and claims (the batch path) and build the book of `year` (the only year if None)."""
    from yibao.engine import settle_frame
    from yibao.tables import service_years

    if year is None:
        years = service_years(claims)
        if len(years) != 1:
            raise BookError(f"the claims cover the years {years}: name the contract year", code="contracts.which_year")
        year = years[0]
    return book_from_settled(scheme, persons, settle_frame(scheme, persons, claims), year, layer_id)
