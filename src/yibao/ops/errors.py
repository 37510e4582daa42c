"""Errors of the operations service, each with a stable code and an HTTP status."""

from __future__ import annotations

from yibao.core.errors import YibaoError


class NotFound(YibaoError):
    code = "ops.not_found"


class Forbidden(YibaoError):
    code = "auth.forbidden"


class Unauthenticated(YibaoError):
    code = "auth.unauthenticated"


class Conflict(YibaoError):
    code = "ops.conflict"


class Rejected(YibaoError):
    """A well-formed request the rules refuse (bad identity number, amount mismatch, unbalanced posting...)."""

    code = "ops.rejected"
