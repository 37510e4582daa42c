"""An output file is written whole or not at all, and an interrupted run leaves nothing behind for long.

The data go to a hidden temporary file beside the output (`.<name>.yibao-tmp-<random>`), which is moved over the
output only when complete. While a run writes it, the run holds an exclusive lock (flock) on it; the lock ends with
the process, however it ends. So:

* interrupted (Ctrl-C, SIGTERM, SIGHUP): the temporary file is removed at once, the output is left as it was;
* killed outright (SIGKILL, power loss): the temporary file stays, unlocked; the next run writing the same output
  removes every such file nobody holds a lock on (another run still writing keeps its own).
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locks, stale files are left alone
    fcntl = None  # type: ignore[assignment]

TEMP_MARK = ".yibao-tmp-"
STOP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)


class Stopped(BaseException):
    """A stop signal (SIGTERM, SIGHUP) received while an output was being written: unwinds like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


def _temp_prefix(out: Path) -> str:
    return f".{out.name}{TEMP_MARK}"


def remove_stale(out: Path) -> list[Path]:
    """Remove the temporary files of `out` left by runs that were killed (those no running process locks)."""
    removed: list[Path] = []
    if fcntl is None or not out.parent.is_dir():
        return removed
    for candidate in out.parent.glob(f"{_temp_prefix(out)}*"):
        try:
            fd = os.open(candidate, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live run is writing it
            continue
        try:
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
        finally:
            os.close(fd)
    return removed


@contextmanager
def _stop_signals_raise() -> Iterator[None]:
    """While writing, SIGTERM and SIGHUP raise `Stopped` (so the temporary file is removed) instead of ending the
    process on the spot; the previous handlers come back afterwards. Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def temporary_beside(out: Path) -> Iterator[Path]:
    """A locked temporary file beside `out` to write and then move over `out` (`tmp.replace(out)`), removed if the
    block does not finish. Stale ones of earlier killed runs are removed first."""
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out)
    fd, name = tempfile.mkstemp(prefix=_temp_prefix(out), dir=out.parent)
    tmp = Path(name)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        with _stop_signals_raise():
            yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        with suppress(OSError):
            os.close(fd)
