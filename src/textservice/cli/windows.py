"""Feeding ``iter_embed_content_async`` (or ``iter_embeddings_async``) a stream of unknown
length, a window of records at a time.

Both take a sequence (it copies it into a list and needs its length),
so a file of millions of lines cannot be handed to it at once without holding every text in
memory. The CLI cuts the records into windows of ``window`` records and makes one
call per window, in order, keeping only two windows' texts at a
time. So that the calls in flight do not drain to zero at each window's end, the next window
is started (its first batch asked for, which starts its calls) as soon as the current one
has at most ``lookahead`` texts left to deliver. While the two overlap, up to twice the
client's ``max_concurrency`` calls can be in flight (the end of one window and the start of
the next); otherwise at most ``max_concurrency``.

Batches are yielded in input order with the records they belong to. A failure in a window is
raised in order too: after every batch before it was yielded. Closing the generator early
cancels the calls of both windows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from itertools import islice
from typing import Any

from textservice.cli.inputs import Record

EmbedBatches = Callable[[list[Record]], AsyncIterator[Any]]
"""Given records, yields their embeddings batch by batch, in input order (a call of
``iter_embed_content_async`` or ``iter_embeddings_async`` on their texts)."""

__all__ = ["EmbedBatches", "embed_windows"]

_END: Any = object()


async def _next(batches: AsyncIterator[Any]) -> Any:
    try:
        return await anext(batches)
    except StopAsyncIteration:
        return _END


class _Window:
    """One embedding call over a window's records, started when made."""

    def __init__(self, records: list[Record], embed: EmbedBatches) -> None:
        self.records = records
        self.delivered = 0
        self.batches = embed(records)
        # Asking for the first batch in a task of its own starts the window's calls now.
        self.first: asyncio.Task[Any] | None = asyncio.ensure_future(_next(self.batches))

    @property
    def left(self) -> int:
        return len(self.records) - self.delivered

    async def next(self) -> Any:
        if self.first is not None:
            first, self.first = self.first, None
            return await first
        return await _next(self.batches)

    async def close(self) -> None:
        if self.first is not None:
            self.first.cancel()
            with contextlib.suppress(BaseException):
                await self.first
            self.first = None
        aclose = getattr(self.batches, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(RuntimeError):
                await aclose()


async def embed_windows(
    records: Iterator[Record],
    embed: EmbedBatches,
    *,
    window: int,
    lookahead: int,
) -> AsyncGenerator[tuple[list[Record], Any], None]:
    """Yield ``(records, vectors)`` for each batch of ``records``, in input order."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    windows: deque[_Window] = deque()
    exhausted = False

    def start_next() -> None:
        nonlocal exhausted
        chunk = list(islice(records, window))
        if chunk:
            windows.append(_Window(chunk, embed))
        else:
            exhausted = True

    try:
        start_next()
        while windows:
            current = windows[0]
            if not exhausted and len(windows) == 1 and current.left <= lookahead:
                start_next()
            vectors = await current.next()
            if vectors is _END:
                if current.left:
                    raise RuntimeError(
                        f"got embeddings for {current.delivered} of {len(current.records)} texts"
                    )
                windows.popleft()
                await current.close()
                if not windows and not exhausted:
                    start_next()
                continue
            count = len(vectors)
            batch = current.records[current.delivered : current.delivered + count]
            if len(batch) != count:
                raise RuntimeError(f"got {count} embeddings for the {len(batch)} texts left")
            current.delivered += count
            yield batch, vectors
    finally:
        while windows:
            await windows.popleft().close()
