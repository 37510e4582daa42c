"""Errors of the operations service, each with a stable code and an HTTP status.

Codes added by issue 15 part B (accounts, lists, CLI hygiene), for the error catalogue:

| code | status | en | zh-CN |
|---|---|---|---|
| store.missing | (CLI, exit 2) | no operations database here; run yibao db upgrade | 此处没有业务数据库；请运行 yibao db upgrade |
| auth.weak_password | 422 | the password is too weak | 密码强度不足 |
| auth.password_reused | 422 | the new password equals the current one | 新密码不能与当前密码相同 |
| auth.wrong_password | 403 | the current password is wrong | 当前密码错误 |
| auth.throttled | 429 | too many failed logins; retry after the time given | 登录失败次数过多，请稍后再试 |
| auth.disabled | 403 | this account is disabled | 该账户已停用 |
| auth.bad_refresh | 401 | the refresh token is invalid, used, expired or revoked; log in again | 刷新令牌无效、已使用、已过期或已撤销，请重新登录 |
| user.not_found | 404 | no such user | 没有该用户 |
| list.bad_range | 422 | the date range ends before it begins | 日期范围的结束早于开始 |
| serve.port_busy | (CLI, exit 2) | cannot listen on the port: another process uses it | 无法监听该端口：已被其他进程占用 |
| serve.cannot_listen | (CLI, exit 2) | cannot listen on the host and port given | 无法在指定的地址和端口上监听 |
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
