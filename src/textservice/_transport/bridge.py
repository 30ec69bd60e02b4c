"""The sync bridge: one background event-loop thread per client, for synchronous calls.

A synchronous call hands its coroutine to the client's loop thread and blocks until it is
done, so it works from any thread, including one whose own loop is running (a Jupyter cell):
it never nests loops and never calls ``asyncio.run`` per call. The thread starts with the
first sync call and stops when the client is closed (or collected, or the interpreter exits).

Interrupting the wait (``KeyboardInterrupt``, or any other exception delivered to the waiting
thread) cancels the call's task on the loop and waits briefly for its in-flight RPCs to be
cancelled before re-raising, so the client stays usable and nothing runs on in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from textservice.errors import Cancelled, ClientClosedError

__all__ = ["CLIENT_CLOSED", "CLOSED", "LoopThread", "cancelled_by_close"]

T = TypeVar("T")

CANCEL_GRACE = 5.0
"""Seconds an interrupted sync call waits for its task to finish cancelling."""

STOP_GRACE = 10.0
"""Seconds ``stop()`` waits for the loop thread to finish."""

CLOSED = "the call was cancelled because its Client was closed"
"""The message of calls cancelled by ``stop()`` (the client was closed), and of their
``CancelledError``: code that keeps partial results (a list embedding) tells this
cancellation from any other by it, and turns it into ``Cancelled`` carrying them."""


CLIENT_CLOSED = "the Client is closed: make a new one"
"""The message of a call made on a closed client."""


def cancelled_by_close(exc: asyncio.CancelledError) -> bool:
    """Whether ``exc`` comes from closing the client (``stop()``), not from anything else."""
    return exc.args == (CLOSED,)


class _SyncCall(Generic[T]):
    """One coroutine run on the loop for a waiting thread; start/cancel run on the loop."""

    def __init__(self, make: Callable[[], Awaitable[T]]) -> None:
        self.make = make
        # held until the call is done: a bare lock is cheaper to make and to wait on than an
        # ``Event`` (a ``Condition`` and a new waiter lock per wait), on every sync call
        self.done = threading.Lock()
        self.done.acquire()
        self.task: asyncio.Task[T] | None = None
        self.cancel_requested = False
        self.value: T | None = None
        self.error: BaseException | None = None
        self.ended = False

    def start(self) -> None:
        if self.cancel_requested:
            self._end()
            return
        try:
            self.task = asyncio.ensure_future(self._drive())
        except BaseException as exc:  # the loop is shutting down
            self.error = exc
            self._end()
            return
        self.task.add_done_callback(self._finish)

    async def _drive(self) -> T:
        return await self.make()

    def cancel(self) -> None:
        self.cancel_requested = True
        if self.task is not None:
            self.task.cancel()

    def _finish(self, task: asyncio.Task[T]) -> None:
        if task.cancelled():
            self.error = Cancelled("the call was cancelled" if self.cancel_requested else CLOSED)
        elif (exc := task.exception()) is not None:
            self.error = exc
        else:
            self.value = task.result()
        self._end()

    def _end(self) -> None:
        self.ended = True
        self.done.release()


class LoopThread:
    """A daemon thread running an event loop, started on first use."""

    def __init__(self, name: str = "textservice-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._generators: weakref.WeakSet[AsyncGenerator[Any, None]] = weakref.WeakSet()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The running background loop, or ``None`` before the first call / after ``stop``."""
        return self._loop

    @property
    def thread(self) -> threading.Thread | None:
        """The background thread, once started."""
        return self._thread

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._stopped:
                raise ClientClosedError(CLIENT_CLOSED)
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._main,
                    args=(loop, ready, self._open_generators),
                    name=self._name,
                    daemon=True,
                )
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def track(self, generator: AsyncGenerator[Any, None]) -> None:
        """Close ``generator`` (an async generator a sync iterator steps through on this loop)
        when the loop stops, before asyncio's own clean-up of async generators.

        asyncio closes every unfinished async generator at once; for nested ones (an outer
        generator closing its inner one as it exits) that makes the inner's ``aclose()`` run
        twice at the same time ("asynchronous generator is already running"). Closing the
        outer one first closes the others in order. Only a weak reference is kept.
        """
        with self._lock:
            self._generators.add(generator)

    def _open_generators(self) -> list[AsyncGenerator[Any, None]]:
        with self._lock:
            return list(self._generators)

    @staticmethod
    def _main(
        loop: asyncio.AbstractEventLoop,
        ready: threading.Event,
        tracked: Callable[[], list[AsyncGenerator[Any, None]]],
    ) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                # Cancel calls still in flight so their waiting threads wake up, then close
                # channels (parked watcher generators) and the loop's executor.
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel(CLOSED)
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                for generator in tracked():  # sync iterators left open: outermost first
                    loop.run_until_complete(_close_generator(generator))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` on the loop and return its result (or raise its exception) here."""
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "a synchronous TextService call was made from the client's own event-loop "
                "thread; await the async variant instead"
            )
        loop = self._ensure_started()
        call: _SyncCall[T] = _SyncCall(make)
        try:
            loop.call_soon_threadsafe(call.start)
        except RuntimeError:  # the loop closed between the check and here
            raise ClientClosedError(CLIENT_CLOSED) from None
        try:
            # Waiting in slices lets a pending signal handler (Ctrl+C) run promptly even where
            # a blocking wait is not interrupted by the signal.
            while not call.done.acquire(timeout=0.25):
                pass
        except BaseException:
            # KeyboardInterrupt (or another async exception) while waiting: cancel the call's
            # task, give its RPCs a moment to be cancelled, and let the exception through.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(call.cancel)
            if not call.ended:  # (the wait may have ended just before the interrupt)
                call.done.acquire(timeout=CANCEL_GRACE)
            raise
        if call.error is not None:
            raise call.error
        return call.value  # type: ignore[return-value]

    def disown(self) -> None:
        """In a child process after ``os.fork()``: make the parent's loop, copied here without
        its thread, inert, so nothing in this process ever uses it.

        The copy shares the parent's epoll instance and sockets. Anything that closes it, or
        a channel or async generator of it, would unregister the parent's sockets from that
        epoll (``epoll_ctl`` acts on the shared instance) or write to its connections: the
        parent's calls would hang. asyncio, grpclib and async generator finalizers all skip a
        closed loop, and the loop's flag is the one way to say it without closing it (a
        private attribute of ``asyncio.BaseEventLoop``, stable since Python 3.4).
        """
        loop = self._loop
        if loop is not None:
            loop._closed = True  # type: ignore[attr-defined]

    def stop(self) -> None:
        """Cancel in-flight calls, close the loop's channels and end the thread (idempotent).

        From the loop's own thread the stop is only scheduled (the thread cannot join itself).
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        if threading.current_thread() is not thread:
            thread.join(STOP_GRACE)
        self._loop = None


async def _close_generator(generator: AsyncGenerator[Any, None]) -> None:
    """``aclose()`` a generator left open by a closed client; an error on the way out has no
    caller to go to, so it goes to the loop's exception handler (as asyncio's own clean-up
    does)."""
    try:
        await generator.aclose()
    except Exception as exc:
        asyncio.get_running_loop().call_exception_handler(
            {
                "message": "an error occurred while closing a textservice iterator",
                "exception": exc,
                "asyncgen": generator,
            }
        )
