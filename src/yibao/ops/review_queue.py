"""The claim review queue: screening flags loaded into the store, decided by reviewers, every decision audited.

A flag is one claim and one reason code of `yibao.audit.screening` with its score and evidence; loading the
same flag twice keeps the first (unique claim and reason), so a nightly run over overlapping day ranges adds
only what is new. A reviewer accepts a flag (the anomaly is real) or rejects it with a reason (a false alarm);
a decided flag is not decided again. `sample` draws open flags at random for review (quality control of the
rules), reproducibly from a seed. Every load, draw and decision writes an audit event in the same
transaction.

`screen_store` runs the screening rules over the store's settled claims of a day range: facilities are the
store's facility ids; the store has no discharge dates (overlapping stays are not checked) and bounds cover
only by birth date.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.screening import Reason, ScreeningParameters, screen_claims, with_totals
from yibao.ops import audit
from yibao.ops.audit import Actor
from yibao.ops.errors import Conflict, NotFound, Rejected
from yibao.ops.store import ClaimRow, PersonRow, utcnow
from yibao.ops.store_audit import ReviewFlag

ENTITY = "review_flag"
IN_BATCH = 5_000


class FlagStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Decision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


@dataclass(frozen=True)
class LoadResult:
    run: str
    screened: int  # claims screened
    found: int  # flags the rules raised
    loaded: int  # flags new to the queue


def store_tables(session: Session, start: date, end: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(persons, claims) of the settled claims with service dates in [start, end], as screening reads them."""
    rows = session.execute(
        select(
            ClaimRow.claim_id, ClaimRow.person_id, ClaimRow.service_date, ClaimRow.region, ClaimRow.facility_level,
            ClaimRow.care_type, ClaimRow.class_a, ClaimRow.class_b, ClaimRow.self_pay, ClaimRow.special_drugs,
            ClaimRow.diagnosis, ClaimRow.facility_id,
        )
        .where(ClaimRow.status == "settled", ClaimRow.service_date >= start, ClaimRow.service_date <= end)
        .order_by(ClaimRow.id)
    ).all()  # fmt: skip
    schema = {
        "claim_id": pl.String, "person_id": pl.String, "service_date": pl.Date, "region": pl.String,
        "facility_level": pl.Int8, "care_type": pl.String, "class_a": pl.Int64, "class_b": pl.Int64,
        "self_pay": pl.Int64, "special_drugs": pl.Int64, "diagnosis": pl.String, "facility_id": pl.String,
    }  # fmt: skip
    claims = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row").with_columns(
        pl.lit(None, dtype=pl.Date).alias("discharge_date")
    )
    ids = claims["person_id"].unique().to_list()
    people = session.execute(select(PersonRow.person_id, PersonRow.birth_date).where(PersonRow.person_id.in_(ids)))
    persons = pl.DataFrame(
        [tuple(p) for p in people], schema={"person_id": pl.String, "birth_date": pl.Date}, orient="row"
    ).with_columns([pl.lit(None, dtype=pl.Date).alias(c) for c in ("cover_from", "cover_until", "death_date")])
    return persons, claims


def screen_store(
    session: Session, actor: Actor, start: date, end: date, params: ScreeningParameters | None = None
) -> LoadResult:
    """Screen the store's claims of a day range and load the flags into the queue (the nightly job)."""
    if end < start:
        raise Rejected(f"the day range ends ({end}) before it starts ({start})", code="review.bad_range")
    persons, claims = store_tables(session, start, end)
    run = f"{start.isoformat()}..{end.isoformat()}"
    if claims.is_empty():
        return LoadResult(run, 0, 0, 0)
    screening = screen_claims(with_totals(claims, True), persons, False, params or ScreeningParameters())
    regions = claims.select("claim_id", "region")
    flags = screening.flags.join(regions, on="claim_id")
    loaded = load_flags(session, actor, flags, run)
    return LoadResult(run, claims.height, flags.height, loaded)


def load_flags(session: Session, actor: Actor, flags: pl.DataFrame, run: str) -> int:
    """Add flags (claim_id, reason, score, evidence JSON text, region) not yet in the queue; returns how many."""
    import json

    codes = {r.value for r in Reason}
    unknown = set(flags["reason"].unique().to_list()) - codes
    if unknown:
        raise Rejected(f"unknown reason codes {sorted(unknown)}; known: {sorted(codes)}", code="review.bad_reason")
    ids = flags["claim_id"].unique().to_list()
    existing: set[tuple[str, str]] = set()
    for at in range(0, len(ids), IN_BATCH):  # bound the statement's parameters (SQLite allows 32,766)
        chunk = ids[at : at + IN_BATCH]
        rows = session.execute(select(ReviewFlag.claim_id, ReviewFlag.reason).where(ReviewFlag.claim_id.in_(chunk)))
        existing.update((claim_id, reason) for claim_id, reason in rows)
    now = utcnow()
    new = [
        ReviewFlag(
            claim_id=row["claim_id"], reason=row["reason"], score=float(row["score"]),
            evidence=json.loads(row["evidence"]), region=row["region"], run=run, flagged_at=now,
            status=FlagStatus.OPEN.value, sampled=False,
        )
        for row in flags.iter_rows(named=True)
        if (row["claim_id"], row["reason"]) not in existing
    ]  # fmt: skip
    session.add_all(new)
    session.flush()
    audit.record(session, actor, "review.load", "review_run", run, None, {"flags": len(new), "found": flags.height})
    return len(new)


def flag_not_found(flag_id: int) -> NotFound:
    """The answer for a flag that does not exist — and for one outside the caller's regions, alike."""
    return NotFound(f"no review flag {flag_id}", code="review.not_found")


def flag(session: Session, flag_id: int) -> ReviewFlag:
    row = session.get(ReviewFlag, flag_id)
    if row is None:
        raise flag_not_found(flag_id)
    return row


def decide(session: Session, actor: Actor, flag_id: int, decision: Decision, reason: str | None = None) -> ReviewFlag:
    """Accept a flag, or reject it with a reason; a decided flag is not decided again."""
    row = session.execute(select(ReviewFlag).where(ReviewFlag.id == flag_id).with_for_update()).scalar_one_or_none()
    if row is None:
        raise flag_not_found(flag_id)
    if row.status != FlagStatus.OPEN.value:
        raise Conflict(f"flag {flag_id} was already {row.status} by {row.decided_by}", code="review.already_decided")
    text = (reason or "").strip()
    if decision is Decision.REJECT and not text:
        raise Rejected("rejecting a flag needs a reason", code="review.reason_required")
    before = audit.snapshot(row)
    row.status = (FlagStatus.ACCEPTED if decision is Decision.ACCEPT else FlagStatus.REJECTED).value
    row.decision_reason = text or None
    row.decided_by = actor.name
    row.decided_at = utcnow()
    session.flush()
    audit.record(session, actor, f"review.{decision.value}", ENTITY, row.id, before, audit.snapshot(row))
    return row


def sample(
    session: Session,
    actor: Actor,
    size: int,
    seed: int,
    regions: Sequence[str] | None = None,
    reason: Reason | None = None,
) -> list[ReviewFlag]:
    """Draw up to `size` open, not yet sampled flags at random (reproducible from `seed`) and mark them sampled."""
    if size < 1:
        raise Rejected(f"a sample needs at least one flag, not {size}", code="review.bad_sample")
    query = select(ReviewFlag).where(ReviewFlag.status == FlagStatus.OPEN.value, ReviewFlag.sampled.is_(False))
    if regions is not None:
        query = query.where(ReviewFlag.region.in_(list(regions)))
    if reason is not None:
        query = query.where(ReviewFlag.reason == reason.value)
    pool = list(session.execute(query.order_by(ReviewFlag.id).with_for_update()).scalars())
    drawn = sorted(random.Random(seed).sample(pool, min(size, len(pool))), key=lambda r: r.id)
    for row in drawn:
        before = audit.snapshot(row)
        row.sampled = True
        session.flush()
        audit.record(session, actor, "review.sample", ENTITY, row.id, before, audit.snapshot(row))
    return drawn


def queue(
    session: Session,
    status: FlagStatus | None = FlagStatus.OPEN,
    regions: Sequence[str] | None = None,
    reason: Reason | None = None,
    sampled: bool | None = None,
    limit: int = 100,
) -> list[ReviewFlag]:
    """Flags ranked as screening ranks them (highest score first), optionally filtered."""
    query = select(ReviewFlag)
    if status is not None:
        query = query.where(ReviewFlag.status == status.value)
    if regions is not None:
        query = query.where(ReviewFlag.region.in_(list(regions)))
    if reason is not None:
        query = query.where(ReviewFlag.reason == reason.value)
    if sampled is not None:
        query = query.where(ReviewFlag.sampled.is_(sampled))
    return list(session.execute(query.order_by(ReviewFlag.score.desc(), ReviewFlag.id).limit(limit)).scalars())


def view(row: ReviewFlag) -> dict[str, Any]:
    return {
        "id": row.id, "claim_id": row.claim_id, "reason": row.reason, "score": row.score, "evidence": row.evidence,
        "region": row.region, "run": row.run, "status": row.status, "sampled": row.sampled,
        "decision_reason": row.decision_reason, "decided_by": row.decided_by,
        "decided_at": None if row.decided_at is None else row.decided_at.isoformat(),
    }  # fmt: skip
