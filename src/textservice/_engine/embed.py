"""Embedding texts: chunks, bounded concurrency, input order, partial failure, outputs.

A list is cut into chunks for the recipe's RPC (``EmbedRecipe.chunk_rpc``): up to
``max_texts`` texts per batch RPC, or one text per RPC for an API version without one. Up
to the call path's ``max_concurrency`` RPCs are in flight at once, as streams of one HTTP/2
connection, and results are put back in input order (``ordered.ordered_map``). When an RPC
fails for good, the others are cancelled and the error raised carries what was computed and
not yet handed over (``error.partial``): for a list, every vector received; for an iterator,
how many texts it yielded and the finished batches it held back for order (never the yielded
ones, so an iterator's memory stays bounded however long its input).

Identical texts are embedded once (``dedupe``): a list's across the whole list, an iterator's
within the chunks in flight or held back for order, so its memory stays bounded.

The output format (``output_formats.OutputStrategy``) is chosen once per call by the caller and
passed in with the call's ``EmbedSpec``; nothing here branches on it. The engine sees the
client only as a ``CallPath``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator, Sized
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textservice._checks import check_callable, check_count
from textservice._encoding import arrays, codec
from textservice._engine.dedupe import ChunkPlan, Window, distinct, settle
from textservice._engine.ordered import ordered_map
from textservice._engine.output_formats import OutputStrategy, RawRows, Vector
from textservice._engine.recipes import ChunkRpc, EmbedRecipe
from textservice._engine.spec import EmbedSpec
from textservice._profiles import MAX_BATCH_ITEMS
from textservice._transport.bridge import CLOSED, cancelled_by_close
from textservice._transport.options import RpcPolicy
from textservice._transport.rpc import CallDeadline, call, invoke
from textservice.errors import (
    Cancelled,
    Internal,
    PartialEmbeddings,
    TextServiceError,
)

if TYPE_CHECKING:
    from textservice._transport.callpath import CallPath

__all__ = [
    "LENGTH_CHANGED",
    "MAX_BATCH_SIZE",
    "ProgressCallback",
    "check_batch_size",
    "check_progress",
    "embed_many",
    "embed_one",
    "iter_embed",
    "iter_embed_sync",
    "length_change",
]

I = TypeVar("I")  # noqa: E741
V = TypeVar("V")
R = TypeVar("R", bound=Sized)

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` with the number of texts delivered so far."""

Origin = Callable[[int], int]
"""The caller's input index of a chunk's ``offset``-th sent text (identical texts are sent
once, so it can differ from the chunk's start plus the offset)."""

MAX_BATCH_SIZE = MAX_BATCH_ITEMS
"""The most texts ``iter_embed`` yields at once: BatchEmbedText's limit (for a version
without it, single-text results are grouped up to this many)."""


def check_progress(progress: object) -> ProgressCallback | None:
    """``None`` or a callable ``progress(done, total)``; else ``TypeError``."""
    return cast("ProgressCallback | None", check_callable(progress, "progress"))


def _which(index: int | None) -> str:
    return "the text" if index is None else f"the text at index {index}"


def _no_values(index: int | None, method: str) -> Internal:
    """The error for an embedding with no values (unset, or empty): never a result."""
    return Internal(
        f"the server sent an empty or missing embedding for {_which(index)} ({method} "
        "response); an embedding always has values"
    )


def _not_finite(index: int | None, method: str) -> Internal:
    """The error for an embedding holding NaN or an infinity: never a result."""
    return Internal(
        f"the server sent an embedding holding NaN or an infinity for {_which(index)} "
        f"({method} response); an embedding's values are finite"
    )


LENGTH_CHANGED = "EMBEDDING_LENGTH_CHANGED"
"""The ``ErrorInfo.reason`` of the error for a call whose vectors changed length."""

_DOMAIN = "textservice"


def _length_changed(first: int, later: int) -> Internal:
    """The error for a batch of ``later`` values a vector after batches of ``first`` in one
    call; an ``ErrorInfo`` detail holds both, for code that says it in its own words (the
    CLI: ``length_change``)."""
    from textservice._proto.google.rpc import ErrorInfo

    info = ErrorInfo(
        reason=LENGTH_CHANGED,
        domain=_DOMAIN,
        metadata={"first": str(first), "later": str(later)},
    )
    return arrays.ragged(sorted({first, later}), details=[info])


def length_change(error: BaseException) -> tuple[int, int] | None:
    """``(first, later)``: the lengths of the vectors of a call that changed length, when
    ``error`` is the engine's error for that, else ``None``."""
    from textservice._proto.google.rpc import ErrorInfo

    for detail in getattr(error, "details", None) or ():
        if (
            isinstance(detail, ErrorInfo)
            and detail.domain == _DOMAIN
            and detail.reason == LENGTH_CHANGED
        ):
            return int(detail.metadata["first"]), int(detail.metadata["later"])
    return None


def _first_not_finite(rows: RawRows, reply: Any = None) -> int | None:
    """The offset of the first row holding NaN, +Inf or -Inf; ``None`` when all are finite.

    Arrays: numpy's ``isfinite``. Lists: what the codec saw in the reply's bytes when it
    decoded them (``codec.seen_not_finite``: the usual case, nearly free), else one ``sum``
    per row, about five times cheaper than ``math.isfinite`` on every value. A sum of floats
    is NaN or infinite when any term is (NaN absorbs everything; +Inf and -Inf together give
    NaN), and finite values cannot add up to an infinity here: they come from float32 (at
    most 3.4e38 each), and a float64 sum of fewer than 1e270 of them stays below 1.8e308.
    """
    if not isinstance(rows, list):
        return arrays.first_not_finite(rows)
    seen = codec.seen_not_finite(reply)
    if seen is not ...:
        return seen
    for offset, vector in enumerate(rows):
        if not math.isfinite(sum(vector)):
            return offset
    return None


def _check_rows(
    rows: RawRows,
    start: int | None,
    count: int,
    method: str,
    origin: Origin | None = None,
    reply: Any = None,
) -> None:
    """``count`` vectors, none empty, none holding NaN or an infinity, else ``Internal``
    naming the input at fault: ``origin(offset)`` (default ``start + offset``; ``start``
    ``None``: the call's one text). ``reply``: what the rows were read from."""
    first = 0 if start is None else start
    if len(rows) != count:
        raise Internal(
            f"the server returned {len(rows)} embeddings for {count} texts "
            f"(inputs {first}-{first + count - 1})"
        )

    def index(offset: int) -> int | None:
        if start is None:
            return None
        return origin(offset) if origin is not None else start + offset

    if isinstance(rows, list):
        for offset, vector in enumerate(rows):
            if not len(vector):
                raise _no_values(index(offset), method)
    elif count and rows.shape[1] == 0:  # a 2-D array: every row is as long as the first
        raise _no_values(index(0), method)
    bad = _first_not_finite(rows, reply)
    if bad is not None:
        raise _not_finite(index(bad), method)


def _read(rpc: ChunkRpc, rows: Callable[[Any], RawRows], reply: Any) -> RawRows:
    """The reply's rows; a reader that fails on the reply is the server's fault."""
    try:
        return rows(reply)
    except TextServiceError:
        raise
    except Exception as exc:
        raise Internal(f"unexpected {rpc.method.name} response: {exc!r}") from exc


async def embed_one(spec: EmbedSpec[Any, I, V, Any], text: I) -> V:
    """Embed one item with one RPC: its vector in ``spec.output``'s format.

    An empty or missing embedding raises ``Internal``.
    """
    rpc, output = spec.recipe.one_rpc(spec.params), spec.output
    reader = output.reader(rpc)
    reply = await call(spec.path, rpc.method, rpc.request([text]), spec.options, reader.reply)
    raw = _read(rpc, reader.rows, reply)
    _check_rows(raw, None, 1, rpc.method.name, reply=reply)
    return output.first(output.rows(raw))


async def _ordered_chunks(
    path: CallPath,
    texts: Iterable[Any],
    *,
    rpc: ChunkRpc,
    output: OutputStrategy[Any, R],
    policy: Callable[[], RpcPolicy],
    put: Callable[[int, R], None],
    max_buffered: int | None,
    fail_fast: bool,
    counted: Callable[[int], None] | None = None,
    dedupe: bool = False,
    origin: Origin | None = None,
) -> AsyncGenerator[R, None]:
    """The one engine: each chunk's rows, in input order, ``path.max_concurrency`` RPCs in
    flight; each chunk's rows are also handed to ``put(start, rows)`` as they arrive (in any
    order). ``texts`` is read one chunk at a time, only as the window lets a new RPC start;
    ``counted(n)`` hears how many texts were read so far. With ``dedupe``, a text already
    sent by a chunk in the window is not sent again (``dedupe.Window``). ``origin`` maps a
    position in ``texts`` to the caller's input index, for errors naming a text."""
    reader = output.reader(rpc)
    widths: list[int] = []  # the call's vector length, once a batch told it

    async def send(start: int, chunk: list[Any], where: Origin | None = None) -> R:
        request = rpc.request(chunk)
        # the texts for the quota cost, read from the chunk: no walk over the request
        reply = await invoke(path, rpc.method, request, policy(), reader.reply, rpc.texts(chunk))
        raw = _read(rpc, reader.rows, reply)
        if where is None and origin is not None:
            where = _from(origin, start)
        _check_rows(raw, start, len(chunk), rpc.method.name, where, reply)
        rows = output.rows(raw)
        width = output.width(rows)
        if width is not None:  # one length for the call: every batch of a list or iterator
            if not widths:
                widths.append(width)
            elif width != widths[0]:
                raise _length_changed(widths[0], width)
        return rows

    async def embed_chunk(item: tuple[int, list[Any]]) -> R:
        start, chunk = item
        rows = await send(start, chunk)
        put(start, rows)
        return rows

    async def embed_planned(plan: ChunkPlan[R]) -> R:
        assert plan.rows is not None
        try:
            own = (
                await send(plan.start, plan.send, _sent_origin(plan))
                if plan.send
                else output.empty()
            )
        except BaseException as exc:
            settle(plan.rows, exc)
            raise
        settle(plan.rows, None, own)
        if plan.plain:
            rows = own
        else:
            # shielded: this chunk being cancelled must not cancel another's result
            shared = {n: await asyncio.shield(f) for n, f in plan.sources.items()}
            shared[plan.number] = own
            rows = output.gather([(shared[n], i) for n, i in plan.picks], owned=own)
        put(plan.start, rows)
        return rows

    chunks = _chunked(texts, rpc, counted)
    concurrency = path.max_concurrency
    window: Window[R] | None = None
    results: AsyncGenerator[R, None]
    if dedupe:
        window = Window()
        results = ordered_map(
            embed_planned,
            window.plan(chunks),
            max_concurrency=concurrency,
            max_buffered=max_buffered,
            fail_fast=fail_fast,
        )
    else:
        results = ordered_map(
            embed_chunk,
            chunks,
            max_concurrency=concurrency,
            max_buffered=max_buffered,
            fail_fast=fail_fast,
        )
    async with aclosing(results):
        number = 0
        async for rows in results:
            if window is not None:
                window.forget(number)  # yielded: its texts leave the window
                number += 1
            yield rows


def _from(origin: Origin, start: int) -> Origin:
    """``origin`` of a chunk's offsets (positions ``start + offset`` of the texts)."""
    return lambda offset: origin(start + offset)


def _sent_origin(plan: ChunkPlan[Any]) -> Origin:
    """The input index of each text a planned chunk sends (the first of its repeats)."""

    def where(offset: int) -> int:
        return plan.start + plan.texts.index(plan.send[offset])

    return where


def _chunked(
    texts: Iterable[I], rpc: ChunkRpc, counted: Callable[[int], None] | None
) -> Iterator[tuple[int, list[I]]]:
    """``(start, chunk)`` of ``rpc.size`` texts (the last may hold fewer), read as asked for.
    A stream's chunk also ends before an item whose ``rpc.weight`` would take it past
    ``rpc.budget`` (a list's chunks were sized for its largest item by the caller)."""
    size = rpc.size
    if isinstance(texts, list):  # the common case: slices, no per-text iteration
        for start in range(0, len(texts), size):
            chunk = texts[start : start + size]
            if counted is not None:
                counted(start + len(chunk))
            yield start, chunk
        return
    source = iter(texts)
    weight, budget = rpc.weight, rpc.budget
    start = 0
    carried: list[I] = []  # the item that ended the last chunk, first of the next
    while True:
        chunk, carried = carried, []
        used = 0 if weight is None or not chunk else weight(chunk[0])
        for text in source:
            if weight is not None and budget is not None:
                cost = weight(text)
                if chunk and used + cost > budget:
                    carried = [text]
                    break
                used += cost
            chunk.append(text)
            if len(chunk) == size:
                break
        if not chunk:
            return
        if counted is not None:
            counted(start + len(chunk) + len(carried))
        yield start, chunk
        start += len(chunk)


async def embed_many(spec: EmbedSpec[Any, I, Any, R], texts: list[I]) -> R:
    """Embed ``texts`` in input order: batches when the API version has them, else single calls.

    ``spec.options`` apply to every RPC. A timeout given by the user bounds the whole call; the
    method's default timeout bounds each RPC with its retries. The result is ``output``'s
    batch of all the vectors (``output.empty()`` for no texts: no call is made), each
    batch's rows kept as the batch arrives. Identical texts are sent once and their vector
    fanned back out to every place they hold (each a vector of its own).
    """
    total, output = len(texts), spec.output
    rpc = spec.recipe.chunk_rpc(spec.params)
    if total == 0:
        return output.empty()
    # the whole list is kept anyway: identical texts are sent once, packed into full batches
    texts, index = distinct(texts)
    deadline = CallDeadline(spec.path.resolve(rpc.method, spec.options))
    # Only what the result needs: its rows, written as batches arrive. A failure's partial
    # result is read from the same rows.
    sink = output.sink(len(texts))
    with _Failure() as failure:
        async with deadline:
            # The whole list is kept anyway, so results waiting for an earlier batch are not
            # bounded (max_buffered=total): max_concurrency RPCs stay in flight throughout.
            async for _ in _ordered_chunks(
                spec.path,
                texts,
                rpc=rpc,
                output=output,
                policy=deadline.policy,
                put=sink.put,
                max_buffered=len(texts),
                fail_fast=True,  # a failed list raises at once, cancelling the other batches
                origin=None if index is None else index.index,  # first input of each text
            ):
                pass
    error = failure.error  # DeadlineExceeded included
    if error is None:
        result = sink.result()
        if index is None:
            return result
        return output.gather([(result, j) for j in index], owned=result)
    received = sink.received()
    if index is not None:
        received = {i: received[j] for i, j in enumerate(index) if j in received}
    raise error.with_partial(PartialEmbeddings(total=total, embeddings=received))


class _Failure:
    """Catches what ends an engine call early and hands over what it computed: a
    ``TextServiceError``, or the client's ``close()`` cancelling it (a sync call's or
    iteration's: it fails with ``Cancelled``, as ``aclose()`` does). Anything else passes."""

    def __init__(self) -> None:
        self.error: TextServiceError | None = None

    def __enter__(self) -> _Failure:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        if isinstance(exc, TextServiceError):
            self.error = exc
        elif isinstance(exc, asyncio.CancelledError) and cancelled_by_close(exc):
            self.error = Cancelled(CLOSED)
        return self.error is not None


class _HeldBack:
    """An iterator's finished batches that were not yet yielded (they wait for an earlier
    one): all an iterator's failure can hand over besides how many texts it yielded. Batches
    are dropped once yielded, so this holds at most the engine's bounded window."""

    def __init__(self) -> None:
        self.batches: dict[int, Any] = {}

    def put(self, start: int, rows: Any) -> None:
        self.batches[start] = rows

    def release(self, delivered: int) -> None:
        """Forget the batches within the first ``delivered`` texts (they were yielded)."""
        for start in [s for s, v in self.batches.items() if s + len(v) <= delivered]:
            del self.batches[start]

    def rows(self, delivered: int) -> dict[int, Vector]:
        """Each vector not yet yielded, by input index."""
        return {
            start + offset: vector
            for start, rows in sorted(self.batches.items())
            for offset, vector in enumerate(rows)
            if start + offset >= delivered
        }


def check_batch_size(recipe: EmbedRecipe[Any, Any], batch_size: object) -> int:
    """An ``int`` in ``1..limit``: the batch RPC's ``max_texts`` (without one,
    ``MAX_BATCH_SIZE`` single-text results grouped)."""
    limit = recipe.many.max_texts if recipe.many is not None else MAX_BATCH_SIZE
    return check_count(batch_size, "batch_size", high=limit)


def batch_sizes(recipe: EmbedRecipe[Any, Any], batch_size: int | None) -> tuple[int | None, int]:
    """``(texts per RPC, texts per yielded batch)`` for ``iter_embed``: a batch RPC's chunks
    are the batches (default: its ``max_texts``); single-text RPCs are grouped (default 1)."""
    if batch_size is not None:
        check_batch_size(recipe, batch_size)
    if recipe.many is not None:
        size = recipe.many.max_texts if batch_size is None else batch_size
        return size, size
    return None, 1 if batch_size is None else batch_size


async def iter_embed(
    spec: EmbedSpec[Any, I, Any, R],
    texts: Iterable[I],
    *,
    batch_size: int | None = None,
    progress: ProgressCallback | None = None,
    total: int | None = None,
) -> AsyncGenerator[R, None]:
    """Yield the embeddings of ``texts`` batch by batch, in input order, as they complete.

    Batches hold ``batch_size`` texts (default: the batch RPC's ``max_texts``; the caller
    checks it against that). For an API version without a batch RPC each text is its own RPC,
    and ``batch_size`` (default 1) texts are yielded together. Up to the call path's
    ``max_concurrency`` RPCs are in flight, and at most as many finished batches wait for an
    earlier one, so memory stays bounded however long ``texts`` is.

    ``texts`` may be any iterable: a list is sliced; anything else is read one chunk at a
    time, only as an RPC can start, so an input of unknown length (a file's lines) is never
    held whole. ``total`` is its length when known (a list's by default); ``progress(done,
    total)`` is called before each batch is yielded, only when it is known. On failure
    ``partial.total`` is ``total``, or for an input of unknown length the texts read so far.

    A timeout (from ``spec.options``, the client, or the method's default) bounds each batch's
    RPC with its retries, not the whole iteration (whose length the consumer decides). On
    failure the error's ``partial`` says how many texts were yielded (``delivered``) and holds
    the vectors of later batches that finished but were held back for order; yielded vectors
    are not kept. Closing the iterator early cancels the RPCs in flight.

    A text identical to one in a chunk still in flight or held back (the window, about
    ``2 * max_concurrency`` chunks) is not sent again: its vector is copied from there. A
    text repeated further apart is sent again (keeping every vector for that would make
    memory grow with the input).
    """
    if total is None and isinstance(texts, list):
        total = len(texts)
    if total == 0:
        return
    size, group = batch_sizes(spec.recipe, batch_size)
    rpc, output = spec.recipe.chunk_rpc(spec.params, size), spec.output
    # each batch's RPC is bounded, never the iteration (no ``async with``: nothing to bound)
    deadline = CallDeadline(spec.path.resolve(rpc.method, spec.options), per_rpc=True)

    read = 0

    def counted(n: int) -> None:
        nonlocal read
        read = n

    held = _HeldBack()
    done = 0
    with _Failure() as failure:
        async with aclosing(
            _ordered_chunks(
                spec.path,
                texts,
                rpc=rpc,
                output=output,
                policy=deadline.policy,
                put=held.put,
                max_buffered=None,
                fail_fast=False,  # the batches before a failure are still delivered, in order
                counted=counted,
                dedupe=True,
            )
        ) as batches:
            async for rows in _grouped(batches, group, rpc.size, output):
                done += len(rows)
                held.release(done)
                if progress is not None and total is not None:
                    progress(done, total)
                yield rows
    error = failure.error  # close() during a sync iteration: keep what is held back
    if error is not None:
        given = total if total is not None else read
        partial = PartialEmbeddings(total=given, embeddings=held.rows(done), delivered=done)
        raise error.with_partial(partial)


async def _grouped(
    batches: AsyncIterator[R], group: int, size: int, output: OutputStrategy[Any, R]
) -> AsyncGenerator[R, None]:
    """``batches`` (of ``size`` texts) joined into batches of ``group`` texts (the last may
    hold fewer); as they are when the two sizes agree."""
    if group == size:
        async for rows in batches:
            yield rows
        return
    pending: list[R] = []
    count = 0
    async for rows in batches:
        pending.append(rows)
        count += len(rows)
        if count >= group:
            yield output.join(pending)
            pending, count = [], 0
    if pending:
        yield output.join(pending)


def iter_embed_sync(
    path: CallPath,
    batches: AsyncGenerator[R, None],
    *,
    total: int | None,
    progress: ProgressCallback | None = None,
) -> Iterator[R]:
    """``iter_embed`` (made without ``progress``) for synchronous code: a plain iterator over
    the same batches.

    The RPCs run on the client's loop thread, where the calls in flight keep running between
    steps; the consuming thread only waits for the next batch, and ``progress`` is called in
    that thread. Closing the iterator early cancels the calls in flight.
    """

    async def step() -> Any:
        try:
            return await anext(batches)
        except StopAsyncIteration:
            return _END

    path.track(batches)  # closed in order if the client is closed first
    done = 0
    try:
        while True:
            rows = path.run_sync(step)
            if rows is _END:
                return
            done += len(rows)
            if progress is not None and total is not None:
                progress(done, total)
            yield rows
    finally:
        # A closed client closed ``batches`` itself (``track``); nothing is left to do, and
        # asking its stopped loop would only raise, in a generator finalized as the
        # interpreter shuts down too ("Exception ignored in: <generator iter_embed_sync>").
        # RuntimeError: still unwinding an interrupted step, or the client closed meanwhile.
        if not path.closed:
            with contextlib.suppress(RuntimeError):
                path.run_sync(batches.aclose)


_END: Any = object()
