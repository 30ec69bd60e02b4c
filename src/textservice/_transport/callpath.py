"""The call path of one client: its channels, metadata, sync bridge and option resolution.

Every call made through a ``Client`` goes through its one ``ClientCallPath``. The
RPC layer (``rpc``) and the engine (``textservice._engine``) see it only as a ``CallPath``,
the small protocol below, never the client itself: they can be driven by any object that
has these few members (tests use that), and the client can change its own insides freely.

The client's rate governor (``textservice._governor``) lives here too: one per client,
shared by every call made through it (sync, async, any thread, iterators, the CLI), and
``rpc.invoke`` asks it before each attempt.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import EllipsisType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from textservice._governor import RateGovernor
from textservice._transport.bridge import CLIENT_CLOSED, LoopThread
from textservice._transport.channels import ChannelPool
from textservice._transport.methods import MethodSpec
from textservice._transport.options import RequestOptions, ResolvedOptions, resolve
from textservice._transport.secrets import Secret
from textservice.errors import ClientClosedError
from textservice.retry import Retry

if TYPE_CHECKING:
    from grpclib.client import Channel

    from textservice._transport.connection import Connection

__all__ = [
    "API_KEY_HEADER",
    "CallPath",
    "ClientCallPath",
    "Metadata",
    "check_metadata",
]

T = TypeVar("T")

API_KEY_HEADER = "x-goog-api-key"

Metadata = list[tuple[str, str | bytes]]
"""gRPC metadata as ``(key, value)`` pairs."""


class CallPath(Protocol):
    """What the RPC layer and the engine need of a client."""

    @property
    def closed(self) -> bool:
        """Whether the client was closed (a call must not start, a retry must not wait)."""
        ...

    @property
    def max_concurrency(self) -> int:
        """RPCs of one call in flight at once: the governor's cap (see ``ClientCallPath``)."""
        ...

    @property
    def governor(self) -> RateGovernor:
        """The rate governor every RPC is admitted by (one per client)."""
        ...

    async def channel(self) -> Channel | Connection:
        """The running loop's channel, or another transport's connection
        (``ClientClosedError`` once closed)."""
        ...

    def metadata(self) -> Metadata:
        """The metadata of every call: the user's and the API key."""
        ...

    def resolve(self, method: MethodSpec[Any, Any], options: RequestOptions) -> ResolvedOptions:
        """The options a call of ``method`` runs with (see ``options.resolve``)."""
        ...

    def run_sync(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` to completion from synchronous code (see ``bridge.LoopThread.run``)."""
        ...

    def track(self, generator: AsyncGenerator[Any, None]) -> None:
        """Have closing the client close ``generator`` (stepped by a sync iterator) in order."""
        ...


_paths: weakref.WeakSet[ClientCallPath] = weakref.WeakSet()
"""Every call path alive, for ``_after_fork``."""

_inherited: list[tuple[ChannelPool, LoopThread]] = []
"""The parent's channels and loop threads in a child process after a fork: kept, never
closed or collected, for the child's whole life (see ``LoopThread.disown``)."""


def _after_fork() -> None:
    """In a child process after ``os.fork()`` (``multiprocessing``'s default on Linux):
    give every call path a new loop thread, channels and governor state.

    The child has only the thread that forked: the loop thread a sync call hands its work
    to is not there, so the call waited forever, its timeout included (the loop enforces
    it). The parent's connections stay the parent's: the child opens its own.
    """
    for path in list(_paths):
        path.renew_after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork)


class ClientCallPath:
    """The ``CallPath`` a ``Client`` owns (one per client)."""

    def __init__(
        self,
        open_channel: Callable[[], Channel | Connection],
        *,
        metadata: Sequence[tuple[str, str | bytes]],
        secret: Secret | None,
        timeout: float | None,
        retry: Retry | EllipsisType | None,
        governor: RateGovernor,
    ) -> None:
        self.pool = ChannelPool(open_channel)
        self.bridge = LoopThread()
        self._user_metadata = tuple(metadata)
        self._secret = secret
        self.timeout = timeout
        self.retry = retry
        self._governor = governor
        self._closed = False
        _paths.add(self)

    def renew_after_fork(self) -> None:
        """In a child process after a fork: a new loop thread (started by the next sync
        call), new channels, a governor that knows no call; the parent's are left alone."""
        _inherited.append((self.pool, self.bridge))
        self.bridge.disown()
        self.pool = self.pool.renewed()
        self.bridge = LoopThread()
        self._governor.forget()

    @property
    def closed(self) -> bool:
        """Whether ``mark_closed`` was called."""
        return self._closed

    @property
    def max_concurrency(self) -> int:
        """RPCs in flight at once, per method and model: the client's ``max_concurrency``,
        held in one place, the governor's settings. The governor enforces it across calls
        (and lowers it while the server answers RESOURCE_EXHAUSTED); the engine starts no
        more RPCs of one call than this."""
        return self._governor.settings.max_concurrency

    @property
    def governor(self) -> RateGovernor:
        """The client's rate governor."""
        return self._governor

    def mark_closed(self) -> None:
        """Refuse new calls from now on (the client closes the pool and bridge itself)."""
        self._closed = True

    async def channel(self) -> Channel | Connection:
        """The running loop's channel (or REST connection), opened on first use."""
        if self._closed:
            raise ClientClosedError(CLIENT_CLOSED)
        try:
            return await self.pool.get()
        except RuntimeError:
            if self._closed:  # closed meanwhile, from another thread
                raise ClientClosedError(CLIENT_CLOSED) from None
            raise

    def metadata(self) -> Metadata:
        """The user's metadata, then the API key (a ``str`` whose ``repr`` hides it)."""
        pairs: Metadata = list(self._user_metadata)
        if self._secret is not None:
            pairs.append((API_KEY_HEADER, self._secret.reveal()))
        return pairs

    def resolve(self, method: MethodSpec[Any, Any], options: RequestOptions) -> ResolvedOptions:
        """The call's options, then the client's, then the method's defaults."""
        return resolve(method, options, timeout=self.timeout, retry=self.retry)

    def run_sync(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` on the client's loop thread; this thread waits for it."""
        return self.bridge.run(make)

    def track(self, generator: AsyncGenerator[Any, None]) -> None:
        """Close ``generator`` in order when the client is closed."""
        self.bridge.track(generator)

    def shutdown(self) -> None:
        """Close every channel and stop the loop thread (the bridge's loop closes its own);
        closed from now on (``close()``, or the client collected)."""
        self._closed = True
        self.pool.close(skip=self.bridge.loop)
        self.bridge.stop()


def check_metadata(metadata: object) -> tuple[tuple[str, str | bytes], ...]:
    """User metadata as pairs: a mapping or a sequence of ``(key, value)`` pairs.

    Keys are lowercase ASCII strings (gRPC metadata keys); values are ``str``, or ``bytes``
    for keys ending in ``-bin``. ``x-goog-api-key`` is refused: pass ``api_key=`` instead.
    """
    if metadata is None:
        return ()
    if isinstance(metadata, Mapping):
        pairs: Iterable[object] = metadata.items()
    elif isinstance(metadata, Sequence) and not isinstance(metadata, str | bytes):
        pairs = metadata
    else:
        raise TypeError(
            f"metadata must be a mapping or a sequence of (key, value) pairs, "
            f"got {type(metadata).__name__}"
        )
    out: list[tuple[str, str | bytes]] = []
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise TypeError(f"metadata items must be (key, value) pairs, got {type(pair).__name__}")
        key, value = pair
        if not isinstance(key, str) or not key or key != key.lower() or not key.isascii():
            raise ValueError(f"metadata key must be a lowercase ASCII str, got {key!r}")
        if key == API_KEY_HEADER:
            raise ValueError("metadata must not set x-goog-api-key; pass api_key= instead")
        wanted = bytes if key.endswith("-bin") else str
        if not isinstance(value, wanted):
            raise TypeError(
                f"metadata value for {key!r} must be {wanted.__name__}, got {type(value).__name__}"
            )
        out.append((key, value))
    return tuple(out)
