"""Who sees a person's full identity number, and the one way it is masked for everyone else.

A resident identity number (18 characters) is shown whole only to the member themself, to an officer serving the
person's region and to an administrator. Every other view (auditor, facility, insurer, platform, an officer of
another region) shows it masked as `110101********1234`: the area code and the last four characters, as on
Chinese receipts and public notices.
"""

from __future__ import annotations

from typing import Any

from yibao.ops.auth import Principal, Role

KEEP_HEAD, KEEP_TAIL = 6, 4


def mask_ric(ric: str) -> str:
    """`110101199001011234` -> `110101********1234`; a shorter value is masked whole."""
    if len(ric) <= KEEP_HEAD + KEEP_TAIL:
        return "*" * len(ric)
    return ric[:KEEP_HEAD] + "*" * (len(ric) - KEEP_HEAD - KEEP_TAIL) + ric[-KEEP_TAIL:]


def sees_identity(who: Principal, person_id: str, region: str) -> bool:
    if who.role is Role.ADMIN:
        return True
    if who.role is Role.MEMBER:
        return who.person_id == person_id
    return who.role is Role.OFFICER and region in who.regions


def shown_ric(who: Principal, person_id: str, region: str, ric: str) -> str:
    return ric if sees_identity(who, person_id, region) else mask_ric(ric)


def masked_record(who: Principal, record: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored snapshot of a person (e.g. an audit event's before/after) with its `ric` as `who` may see it."""
    if record is None or not isinstance(record.get("ric"), str):
        return record
    person_id, region = str(record.get("person_id", "")), str(record.get("region", ""))
    return {**record, "ric": shown_ric(who, person_id, region, record["ric"])}
