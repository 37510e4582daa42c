"""The API's hand-off of blocking work to worker threads (`in_thread`): results, errors, context, cancellation."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from yibao.http.deps import POOL_THREADS, in_thread
from yibao.ops.errors import Conflict

WHO = contextvars.ContextVar("who", default="nobody")


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """asyncio.run(main()) on a thread of its own (another test in this process may have left a loop running
    on the main thread, e.g. Playwright's synchronous API)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def test_results_errors_and_context_cross_the_hand_off() -> None:
    async def main() -> None:
        WHO.set("facility")
        name = await in_thread(lambda: threading.current_thread().name)
        assert name.startswith("yibao-db-") and await in_thread(WHO.get) == "facility"

        def refuse() -> None:
            raise Conflict("taken", code="claim.exists")

        with pytest.raises(Conflict) as err:
            await in_thread(refuse)
        assert err.value.code == "claim.exists"

    run(main)


def test_many_at_once_and_a_cancelled_wait_leave_the_threads_working() -> None:
    done: list[int] = []

    def slow(i: int) -> int:
        time.sleep(0.01)
        done.append(i)
        return i

    async def main() -> None:
        waiting = asyncio.ensure_future(in_thread(lambda: slow(-1)))
        await asyncio.sleep(0)
        waiting.cancel()
        got = await asyncio.gather(*(in_thread(lambda i=i: slow(i)) for i in range(3 * POOL_THREADS)))
        assert got == list(range(3 * POOL_THREADS))

    run(main)
    deadline = time.time() + 5
    while -1 not in done and time.time() < deadline:
        time.sleep(0.01)
    assert -1 in done  # the cancelled request's work still ran to its end
