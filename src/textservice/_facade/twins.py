"""The synchronous and asynchronous faces of a checked embedding call, made once.

Every embedding function has a sync and an async twin taking the same arguments. Each
checks them into one object (a ``Call``: ``generate_embeddings``, ``embed_content``; or an
``Iteration`` of an ``EmbedSpec``: ``iter_embeddings``, ``iter_embed_content``; the
iteration is the same for both services), in the caller's thread, before
any network; what differs is only how the result reaches the caller. ``sync_call``,
``async_call``, ``sync_batches`` and ``async_batches`` make the four faces from the one
function that checks, so each twin's argument list is written once (the ``ParamSpec`` keeps
its names and types for type checkers). ``sync_twin`` makes the sync face of any async call
whose ``client`` keyword names the client (Batch mode's calls).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

# The engine (asyncio, the RPC layer, the rate governor) is imported by the functions that
# run calls, not when a facade is imported (issue 21).
if TYPE_CHECKING:
    from textservice._engine.embed import ProgressCallback
    from textservice._engine.spec import EmbedSpec
    from textservice._transport.callpath import CallPath

__all__ = [
    "Call",
    "Iteration",
    "async_batches",
    "async_call",
    "face",
    "sync_batches",
    "sync_call",
    "sync_twin",
]

P = ParamSpec("P")
T = TypeVar("T")
R_co = TypeVar("R_co", covariant=True)
C = TypeVar("C")


class Call(Protocol[R_co]):
    """A one-shot call (an embedding, one RPC), its arguments checked."""

    @property
    def path(self) -> CallPath: ...

    async def run(self) -> R_co: ...


@dataclass(frozen=True)
class Iteration:
    """A batch-by-batch embedding call (``iter_embeddings``, ``iter_embed_content``), its
    arguments checked."""

    spec: EmbedSpec[Any, Any, Any, Any]
    items: list[Any] | Iterator[Any]
    """A list, or a stream read (and its items checked) as it is embedded: memory bounded by
    the calls in flight and the batches held back for order."""
    batch_size: int
    progress: ProgressCallback | None

    @property
    def path(self) -> CallPath:
        """The client's call path."""
        return self.spec.path

    @property
    def total(self) -> int | None:
        """How many items, when known (a list's; ``progress`` is called only then)."""
        return len(self.items) if isinstance(self.items, list) else None

    def batches(self, progress: ProgressCallback | None) -> AsyncGenerator[Any, None]:
        """The engine's batches in the call's output format, ``progress`` called before each."""
        from textservice._engine import embed as _engine

        return _engine.iter_embed(
            self.spec, self.items, batch_size=self.batch_size, progress=progress
        )


def sync_call(checked: Callable[P, Call[T]], doc: str) -> Callable[P, T]:
    """The sync face: the call runs on the client's loop thread, the caller waits."""

    def embed(*args: P.args, **kwargs: P.kwargs) -> T:
        call = checked(*args, **kwargs)
        return call.path.run_sync(call.run)

    embed.__doc__ = doc
    return embed


def async_call(checked: Callable[P, Call[T]], doc: str) -> Callable[P, Awaitable[T]]:
    """The async face: the call runs on the caller's event loop (checked when awaited)."""

    async def embed_async(*args: P.args, **kwargs: P.kwargs) -> T:
        return await checked(*args, **kwargs).run()

    embed_async.__doc__ = doc
    return embed_async


def sync_batches(checked: Callable[P, Iteration], doc: str) -> Callable[P, Iterator[Any]]:
    """The sync face of an iteration: the RPCs run on the client's loop thread;
    ``progress`` is called in the iterating thread."""

    def iterate(*args: P.args, **kwargs: P.kwargs) -> Iterator[Any]:
        from textservice._engine import embed as _engine

        it = checked(*args, **kwargs)
        return _engine.iter_embed_sync(
            it.path, it.batches(None), total=it.total, progress=it.progress
        )

    iterate.__doc__ = doc
    return iterate


def async_batches(checked: Callable[P, Iteration], doc: str) -> Callable[P, AsyncIterator[Any]]:
    """The async face of an iteration: an async iterator on the caller's loop."""

    def iterate_async(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[Any]:
        it = checked(*args, **kwargs)
        return it.batches(it.progress)

    iterate_async.__doc__ = doc
    return iterate_async


def face(checked: Callable[P, C], use: Callable[[C], T], doc: str) -> Callable[P, T]:
    """A face of a checked call that needs no more than its arguments checked first:
    ``use(checked(...))`` (a listing's pages, as an iterator or an async iterator)."""

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return use(checked(*args, **kwargs))

    call.__doc__ = doc
    return call


def sync_twin(
    function: Callable[P, Awaitable[T]], path: Callable[[object], CallPath], name: str, doc: str
) -> Callable[P, T]:
    """The sync face ``name`` of the async ``function``: it runs on the loop thread of the
    call path ``path(client)`` gives for its ``client`` keyword argument (``None``: the
    default client), the caller waits. Signature tools see ``function``'s arguments."""

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return path(kwargs.get("client")).run_sync(lambda: function(*args, **kwargs))

    functools.update_wrapper(run, function)
    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc
    return run
