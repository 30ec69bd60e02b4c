"""SIGTERM stops ``textservice embed`` as Ctrl-C does: what is complete is kept, exit 130.

``kill``, a container runtime or a job scheduler stop a process with SIGTERM, whose default is
to end it on the spot: results a Parquet output still held for its next segment (up to 8 MiB)
were lost. While :func:`terminate_as_interrupt` is active, SIGTERM raises :class:`Terminated`
(a ``KeyboardInterrupt``) instead, so the command's usual Ctrl-C path runs: the output is closed
with every complete result in its ``.part``, and the run exits with 130.

Inside the event loop an exception raised by a signal handler could land in the loop's own
code; there, as ``asyncio.run`` does for Ctrl-C, the handler cancels the main task of
:func:`run` instead, and the cancellation becomes :class:`Terminated` once the task has unwound.
A second SIGTERM raises at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine, Iterator
from types import FrameType
from typing import Any, TypeVar

__all__ = ["Terminated", "run", "terminate_as_interrupt"]

T = TypeVar("T")


class Terminated(KeyboardInterrupt):
    """The process was sent SIGTERM; handled as Ctrl-C."""


class _State:
    task: asyncio.Task[Any] | None = None
    cancelled = False


_state = _State()


def _on_terminate(signum: int, frame: FrameType | None) -> None:
    task = _state.task
    if task is not None and not task.done() and not _state.cancelled:
        _state.cancelled = True
        task.cancel()
        task.get_loop().call_soon_threadsafe(lambda: None)  # wake a loop waiting in select()
        return
    raise Terminated


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While active, SIGTERM raises :class:`Terminated` (or cancels the registered task).

    Signal handlers belong to the main thread; elsewhere this does nothing.
    """
    try:
        previous = signal.signal(signal.SIGTERM, _on_terminate)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``; a SIGTERM meanwhile cancels it and raises :class:`Terminated`
    once it has unwound."""

    async def registered() -> T:
        _state.task, _state.cancelled = asyncio.current_task(), False
        try:
            return await main
        finally:
            _state.task = None

    try:
        return asyncio.run(registered())
    except asyncio.CancelledError:
        if _state.cancelled:
            raise Terminated from None
        raise
