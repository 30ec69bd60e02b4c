"""Identical texts in one call are embedded once and fanned back out in input order.

Two scopes, for the two ways the engine holds results:

- **A list** (``generate_embeddings``) keeps every vector until it returns, so the whole list
  is deduplicated before any call: ``distinct`` gives its distinct texts (in first-seen order,
  packed into as few RPCs as they need) and, for each input, the index of its distinct text.
- **An iterator** (``iter_embeddings``, the CLI) must not keep vectors it has yielded, or its
  memory would grow with its input. So a text is shared only with the chunks in the engine's
  window, the ones in flight or held back for order (up to ``max_concurrency`` RPCs and as
  many finished chunks, that is ``2 * max_concurrency * batch_size`` texts): ``Window`` plans
  each chunk as it is read, sending only the texts no chunk in the window sends, and taking
  the others' vectors from the chunk that does. A chunk's texts leave the window when it is
  yielded, so a text repeated further apart than the window is embedded again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["ChunkPlan", "Window", "distinct", "settle"]

R = TypeVar("R")
H = TypeVar("H", bound=Hashable)
"""An input item: a text, or a document with its title (equal items are embedded once)."""


def distinct(texts: list[H]) -> tuple[list[H], list[int] | None]:
    """``texts`` without repeats (first-seen order) and, for each input, the index of its
    text among them; ``None`` instead of the indices when no text repeats."""
    first: dict[H, int] = {}
    index = [first.setdefault(text, len(first)) for text in texts]
    if len(first) == len(texts):
        return texts, None
    return list(first), index


@dataclass(eq=False)
class ChunkPlan(Generic[R]):
    """One chunk of the input: what it sends, and where each of its texts' vectors comes
    from."""

    number: int
    """The chunk's place in the input (0, 1, ...)."""
    start: int
    """Input index of its first text."""
    texts: list[Hashable]
    send: list[Hashable] = field(default_factory=list)
    """The texts this chunk's RPC carries (none when every text is another chunk's)."""
    picks: list[tuple[int, int]] = field(default_factory=list)
    """Per text: (chunk number, row of that chunk's reply) holding its vector."""
    rows: asyncio.Future[R] | None = None
    """This chunk's reply rows, once its RPC succeeded (other chunks wait on it)."""
    sources: dict[int, asyncio.Future[R]] = field(default_factory=dict)
    """The earlier chunks it takes vectors from, by number."""

    @property
    def plain(self) -> bool:
        """Whether it sends all of its texts, each once, in order (nothing to fan out)."""
        return len(self.send) == len(self.texts)


class Window(Generic[R]):
    """The texts of the chunks in the engine's window, each with the chunk that sends it."""

    def __init__(self) -> None:
        self._where: dict[Hashable, tuple[int, int]] = {}
        self._rows: dict[int, asyncio.Future[R]] = {}
        self._sent: dict[int, list[Hashable]] = {}
        self._count = 0

    def plan(self, chunks: Iterable[tuple[int, list[Any]]]) -> Iterator[ChunkPlan[R]]:
        """Plan each ``(start, texts)`` chunk as it is read (call in the engine's loop)."""
        loop = asyncio.get_running_loop()
        for start, texts in chunks:
            number = self._count
            self._count += 1
            plan: ChunkPlan[R] = ChunkPlan(number, start, texts, rows=loop.create_future())
            assert plan.rows is not None
            for text in texts:
                found = self._where.get(text)
                if found is None:
                    found = self._where[text] = (number, len(plan.send))
                    plan.send.append(text)
                elif found[0] != number:
                    plan.sources[found[0]] = self._rows[found[0]]
                plan.picks.append(found)
            self._rows[number] = plan.rows
            self._sent[number] = plan.send
            yield plan

    def forget(self, number: int) -> None:
        """Chunk ``number`` was yielded: later chunks no longer take vectors from it."""
        for text in self._sent.pop(number, ()):
            if self._where.get(text, (None,))[0] == number:
                del self._where[text]
        self._rows.pop(number, None)

    @property
    def size(self) -> int:
        """Distinct texts in the window now."""
        return len(self._where)


def settle(future: asyncio.Future[Any], error: BaseException | None, rows: Any = None) -> None:
    """Give ``future`` the chunk's rows, or its failure (marked as seen: a chunk nobody shares
    from must not log "exception was never retrieved")."""
    if future.done():
        return
    if error is None:
        future.set_result(rows)
    elif isinstance(error, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(error)
        future.exception()
