"""Errors of the operations service, each with a stable code; their HTTP statuses and zh-CN/en messages are in the
one catalogue, `yibao.core.errors.CATALOGUE`.
"""

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


class Throttled(YibaoError):
    """Too many failed logins for an account or a client address: answered 429 with `Retry-After`."""

    code = "auth.throttled"

    def __init__(self, message: str, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class StoreMissing(YibaoError):
    """A store command run where there is no migrated operations database."""

    code = "store.missing"
