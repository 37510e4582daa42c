"""Errors a user can see, each with a stable code (openIMIS-style message keys)."""

from __future__ import annotations


class YibaoError(Exception):
    """Base of every error yibao reports to a person; `code` is stable, `message` is human."""

    code = "yibao.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class SchemeError(YibaoError):
    """A scheme or reform that cannot be used: names the file, the key path and what was expected."""

    code = "scheme.invalid"


class InputError(YibaoError):
    """Bad input data: names the file, the line (or row) and the column."""

    code = "input.invalid"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        code: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                file,
                f"line {line}" if line is not None else None,
                f"column {column!r}" if column is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message, code=code)
        self.file, self.line, self.column = file, line, column
