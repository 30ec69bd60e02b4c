"""Run an async function over many items with bounded concurrency, yielding results in order.

This is the engine under list ``generate_embeddings`` and ``iter_embeddings``: each item is one
batch of texts, ``fn`` is one RPC (with its retries), and the caller sees every batch's result
in input order as soon as it and all batches before it are done.

asyncio's own tools do not fit: ``asyncio.gather`` returns only at the end, ``as_completed``
yields out of order, and ``TaskGroup`` neither bounds concurrency nor orders results.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import TypeVar

from textservice._checks import is_int

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["ordered_map"]


async def ordered_map(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T],
    *,
    max_concurrency: int,
    max_buffered: int | None = None,
    fail_fast: bool = False,
) -> AsyncGenerator[R, None]:
    """Yield ``await fn(item)`` for each item, in the order of ``items``.

    At most ``max_concurrency`` calls run at once. Results that finish ahead of an earlier,
    slower one wait in a buffer; ``max_buffered`` (default ``max_concurrency``) bounds that
    buffer, so memory stays bounded whatever the latencies: no new call starts while
    ``running + buffered`` would exceed ``max_concurrency + max_buffered``.

    When a call fails, no new call starts; the results before it are still yielded in order,
    then the calls still running are cancelled and its exception is raised. With
    ``fail_fast`` the exception is raised as soon as the failure is seen instead (for callers
    that keep nothing of a partial run in order). Reading ``items`` may fail too (a stream
    checks its items as they are read): that is a failure after the last item read, so the
    calls started before it finish and are yielded first (with ``fail_fast``: raised at once).
    Closing the generator early (``break``, cancellation, Ctrl-C) cancels every call still
    running.
    """
    if not is_int(max_concurrency):
        raise TypeError(f"max_concurrency must be an int, not {type(max_concurrency).__name__}")
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
    buffered = max_concurrency if max_buffered is None else max_buffered
    if buffered < 0:
        raise ValueError(f"max_buffered must be >= 0, got {buffered}")
    window = max_concurrency + buffered

    source = iter(items)
    exhausted = False
    failed = False
    unread: Exception | None = None  # what reading the next item raised
    pending: deque[asyncio.Task[R]] = deque()  # started, not yet yielded, in input order
    running: set[asyncio.Task[R]] = set()
    try:
        while True:
            failure = _forget_finished(pending, running)
            if failure is not None:
                failed = True
                if fail_fast:
                    pending.remove(failure)
                    failure.result()  # raises the call's exception
            while not exhausted and not failed and len(running) < max_concurrency:
                if len(pending) >= window:
                    break
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                except Exception as exc:
                    if fail_fast:
                        raise
                    exhausted, unread = True, exc
                    break
                task = asyncio.ensure_future(fn(item))
                pending.append(task)
                running.add(task)
            if not pending:
                if unread is not None:
                    raise unread
                return
            head = pending[0]
            if head.done():
                pending.popleft()
                # result() raises the head's exception: everything before it was yielded.
                yield head.result()
                continue
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in pending:
            task.cancel()
        if pending:
            # Let cancelled calls unwind (and retrieve their exceptions, so asyncio does not
            # log "exception was never retrieved").
            await asyncio.gather(*pending, return_exceptions=True)


def _forget_finished(
    pending: deque[asyncio.Task[R]], running: set[asyncio.Task[R]]
) -> asyncio.Task[R] | None:
    """Drop the calls that finished from ``running``, including those that finished while the
    consumer held a result (then no ``asyncio.wait`` saw them): they no longer count against
    the limit. Returns the first that failed, else ``None``.

    A function of its own so that no loop variable of the generator keeps a finished call
    (and its result) alive once it was yielded.
    """
    first: asyncio.Task[R] | None = None
    for task in [t for t in pending if t.done() and t in running]:
        running.discard(task)
        failed = not task.cancelled() and task.exception() is not None
        if failed and first is None:
            first = task
    return first
