"""Errors of the mutual-aid area, each with a stable code `mutual_aid.<reason>`."""

from __future__ import annotations

from yibao.core.errors import YibaoError


class MutualAidError(YibaoError):
    """A refused mutual-aid operation (joining, a claim step, a vote, an apportionment)."""

    code = "mutual_aid.refused"


class PlanError(MutualAidError):
    """A plan file that cannot be used: names the file, the key path and what was expected."""

    code = "mutual_aid.plan_invalid"
