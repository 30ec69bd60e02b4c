"""Embedding texts: chunks, bounded concurrency, input order, partial failure, array output.

A list is cut into batches of ``max_texts`` (one BatchEmbedText RPC each) or, for an API
version without BatchEmbedText, into single texts (one EmbedText RPC each). Up to the
client's ``max_concurrency`` RPCs are in flight at once, as streams of one HTTP/2 connection.
Vectors are put back at their input index. When an RPC fails for good, the others are
cancelled and the error raised carries what was computed and not yet handed over
(``error.partial``): for a list, every vector received; for an iterator, how many texts it
yielded and the finished batches it held back for order (never the yielded ones, so an
iterator's memory stays bounded however long its input).

``output="numpy"`` decodes each reply straight into a float32 array (``textservice._arrays``)
and writes a list's rows into one preallocated ``(n, dim)`` array as batches complete.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, cast

from textservice import _arrays
from textservice._bridge import CLOSED, cancelled_by_close
from textservice._ordered import ordered_map
from textservice._rpc import Policy, call, invoke
from textservice.errors import (
    Cancelled,
    DeadlineExceeded,
    Internal,
    PartialEmbeddings,
    TextServiceError,
)
from textservice.methods import MethodSpec, RequestT, ResponseT

if TYPE_CHECKING:
    from typing import TypeAlias

    from textservice._arrays import Float32Array
    from textservice.arguments import Output, RequestOptions
    from textservice.client import TextServiceClient

    Vectors: TypeAlias = list[list[float]] | Float32Array
    """Rows of embeddings: lists of floats, or a 2-D float32 array (``output="numpy"``)."""

__all__ = [
    "MAX_BATCH_SIZE",
    "BatchEmbedding",
    "ProgressCallback",
    "SingleEmbedding",
    "check_batch_size",
    "embed_text",
    "embed_texts",
    "iter_embed_texts",
    "iter_embed_texts_sync",
]


@dataclass(frozen=True)
class SingleEmbedding(Generic[RequestT, ResponseT]):
    """How to embed one text with one RPC (EmbedText)."""

    method: MethodSpec[RequestT, ResponseT]
    make_request: Callable[[str], RequestT]
    vector: Callable[[ResponseT], list[float]]


@dataclass(frozen=True)
class BatchEmbedding(Generic[RequestT, ResponseT]):
    """How to embed up to ``max_texts`` texts with one RPC (BatchEmbedText)."""

    method: MethodSpec[RequestT, ResponseT]
    make_request: Callable[[list[str]], RequestT]
    vectors: Callable[[ResponseT], list[list[float]]]
    max_texts: int = 100


ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` with the number of texts delivered so far."""

MAX_BATCH_SIZE = 100
"""The most texts ``iter_embed_texts`` yields at once: BatchEmbedText's limit (for a version
without it, single-text results are grouped up to this many)."""


def check_batch_size(batch_size: object, limit: int) -> int:
    """An ``int`` in ``1..limit`` (the API's maximum texts per BatchEmbedText call)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
    if not 1 <= batch_size <= limit:
        raise ValueError(f"batch_size must be between 1 and {limit}, got {batch_size}")
    return batch_size


@dataclass(frozen=True)
class _Chunks:
    """How the engine embeds one chunk of texts: one RPC, its reply, and the rows in it."""

    method: MethodSpec[Any, Any]
    size: int
    """Texts per RPC."""
    request: Callable[[list[str]], Any]
    reply: Any
    """What the reply is decoded as (``_rpc.Reply``)."""
    rows: Callable[[Any], Vectors]
    """The reply's vectors: a list of lists, or a 2-D float32 array."""
    array: bool
    """Whether the rows become one 2-D float32 array (``output="numpy"``)."""


def _chunks(
    single: SingleEmbedding[Any, Any],
    batch: BatchEmbedding[Any, Any] | None,
    size: int | None,
    output: Output,
) -> _Chunks:
    """The chunk RPC for ``output``; ``size`` (batch only) defaults to ``batch.max_texts``.

    For ``output="numpy"`` a reply the codec knows is decoded straight into an array (into
    lists when its embeddings have different lengths); any other is read into lists as for
    ``output="list"``. The engine checks the rows, then makes the array.
    """
    array = output == "numpy"
    arrays = None
    if batch is not None:
        size = _max_texts(batch) if size is None else size
        if array:
            arrays = _arrays.array_reply(batch.method.response_type)
        if arrays is not None:
            return _Chunks(batch.method, size, batch.make_request, arrays, _same, array)
        method = batch.method
        return _Chunks(method, size, batch.make_request, method.response_type, batch.vectors, array)
    method = single.method

    def request_one(chunk: list[str]) -> Any:
        return single.make_request(chunk[0])

    if array:
        arrays = _arrays.array_reply(method.response_type)
    if arrays is not None:
        return _Chunks(method, 1, request_one, arrays, _one_row, array)
    return _Chunks(method, 1, request_one, method.response_type, _one_list(single.vector), array)


def _max_texts(batch: BatchEmbedding[Any, Any]) -> int:
    if batch.max_texts < 1:
        raise ValueError(f"BatchEmbedding.max_texts must be >= 1, got {batch.max_texts}")
    return batch.max_texts


def _same(rows: Vectors) -> Vectors:
    return rows


def _one_row(vector: Float32Array) -> Float32Array:
    return vector.reshape(1, len(vector))


def _one_list(read: Callable[[Any], list[float]]) -> Callable[[Any], Vectors]:
    return lambda response: [read(response)]


def _no_values(index: int | None, method: str) -> Internal:
    """The error for an embedding with no values (unset, or empty): never a result."""
    which = "the text" if index is None else f"the text at index {index}"
    return Internal(
        f"the server sent an empty or missing embedding for {which} ({method} response); "
        "an embedding always has values"
    )


def _check_rows(vectors: Vectors, start: int, count: int, method: str) -> None:
    """``count`` vectors, none empty, else ``Internal`` naming the inputs (from ``start``)."""
    if len(vectors) != count:
        raise Internal(
            f"the server returned {len(vectors)} embeddings for {count} texts "
            f"(inputs {start}-{start + count - 1})"
        )
    if isinstance(vectors, list):
        for offset, vector in enumerate(vectors):
            if not len(vector):
                raise _no_values(start + offset, method)
    elif count and vectors.shape[1] == 0:  # a 2-D array: every row is as long as the first
        raise _no_values(start, method)


async def embed_text(
    client: TextServiceClient,
    text: str,
    options: RequestOptions,
    *,
    single: SingleEmbedding[Any, Any],
    output: Output = "list",
) -> list[float] | Float32Array:
    """Embed one text with one RPC: its vector as a list, or a ``(dim,)`` float32 array.

    An empty or missing embedding raises ``Internal``.
    """
    request = single.make_request(text)
    if output == "numpy":
        arrays = _arrays.array_reply(single.method.response_type)
        if arrays is not None:
            # a singular embedding field decodes to one (dim,) array, never to lists
            row = cast("Float32Array", await call(client, single.method, request, options, arrays))
            if not len(row):
                raise _no_values(None, single.method.name)
            return row
    message_type: Any = single.method.response_type
    response = await call(client, single.method, request, options, message_type)
    try:
        vector = single.vector(response)
    except Exception as exc:
        raise Internal(f"unexpected {single.method.name} response: {exc!r}") from exc
    if not len(vector):
        raise _no_values(None, single.method.name)
    return _arrays.vector_array(vector) if output == "numpy" else vector


async def _ordered_batches(
    client: TextServiceClient,
    texts: list[str],
    *,
    chunks: _Chunks,
    policy: Callable[[], Policy],
    put: Callable[[int, Vectors], None],
    max_buffered: int | None,
    fail_fast: bool,
) -> AsyncGenerator[Vectors, None]:
    """The one engine: each chunk's vectors, in input order, ``client.max_concurrency`` RPCs
    in flight; each chunk's vectors are also handed to ``put(start, vectors)`` as it arrives
    (in any order)."""
    size = chunks.size

    async def embed_chunk(start: int) -> Vectors:
        chunk = texts[start : start + size]
        reply = await invoke(client, chunks.method, chunks.request(chunk), policy(), chunks.reply)
        try:
            vectors = chunks.rows(reply)
        except TextServiceError:
            raise
        except Exception as exc:
            raise Internal(f"unexpected {chunks.method.name} response: {exc!r}") from exc
        _check_rows(vectors, start, len(chunk), chunks.method.name)
        if chunks.array:
            vectors = _arrays.rows_array(vectors)
        put(start, vectors)
        return vectors

    async with aclosing(
        ordered_map(
            embed_chunk,
            range(0, len(texts), size),
            max_concurrency=client.max_concurrency,
            max_buffered=max_buffered,
            fail_fast=fail_fast,
        )
    ) as results:
        async for vectors in results:
            yield vectors


class _ListRows:
    """A list result, filled at each input index as batches arrive (in any order)."""

    def __init__(self, total: int) -> None:
        self.vectors: list[list[float] | None] = [None] * total

    def put(self, start: int, vectors: list[list[float]]) -> None:
        self.vectors[start : start + len(vectors)] = vectors

    def result(self) -> list[list[float]]:
        """Every vector, in input order (once every batch was put)."""
        return cast("list[list[float]]", self.vectors)

    def rows(self) -> dict[int, list[float] | Float32Array]:
        """The vectors received so far, by input index (for a partial result)."""
        return {i: vector for i, vector in enumerate(self.vectors) if vector is not None}


class _HeldBack:
    """An iterator's finished batches that were not yet yielded (they wait for an earlier
    one): all an iterator's failure can hand over besides how many texts it yielded. Batches
    are dropped once yielded, so this holds at most the engine's bounded window."""

    def __init__(self) -> None:
        self.batches: dict[int, Vectors] = {}

    def put(self, start: int, vectors: Vectors) -> None:
        self.batches[start] = vectors

    def release(self, delivered: int) -> None:
        """Forget the batches within the first ``delivered`` texts (they were yielded)."""
        for start in [s for s, v in self.batches.items() if s + len(v) <= delivered]:
            del self.batches[start]

    def rows(self, delivered: int) -> dict[int, list[float] | Float32Array]:
        """Each vector not yet yielded, by input index."""
        return {
            start + offset: vector
            for start, vectors in sorted(self.batches.items())
            for offset, vector in enumerate(vectors)
            if start + offset >= delivered
        }


async def embed_texts(
    client: TextServiceClient,
    texts: list[str],
    options: RequestOptions,
    *,
    single: SingleEmbedding[Any, Any],
    batch: BatchEmbedding[Any, Any] | None,
    output: Output = "list",
) -> Vectors:
    """Embed ``texts`` in input order: batches when the API version has them, else single calls.

    ``options`` apply to every RPC. A timeout given by the user bounds the whole call; the
    method's default timeout bounds each RPC with its retries. With ``output="numpy"`` the
    result is one ``(len(texts), dim)`` float32 array (``(0, 0)`` for no texts), each batch's
    rows written into it as the batch arrives; embeddings of different lengths raise
    ``Internal``.
    """
    total = len(texts)
    chunks = _chunks(single, batch, None, output)
    if total == 0:
        return _arrays.vectors_array([]) if output == "numpy" else []
    timeout, whole_call, retry = client._policy(chunks.method, options)
    loop = asyncio.get_running_loop()
    call_deadline = loop.time() + timeout if whole_call and timeout is not None else None

    def policy() -> Policy:
        deadline = call_deadline
        if not whole_call and timeout is not None:
            deadline = loop.time() + timeout
        return Policy(deadline=deadline, timeout=timeout, retry=retry)

    # Only what the result needs: its rows, written as batches arrive. A failure's partial
    # result is read from the same rows.
    sink: _ListRows | _arrays.RowWriter = (
        _arrays.RowWriter(total) if output == "numpy" else _ListRows(total)
    )
    put: Callable[[int, Any], None] = sink.put
    error: BaseException | None = None
    try:
        async with asyncio.timeout_at(call_deadline):
            # The whole list is kept anyway, so results waiting for an earlier batch are not
            # bounded (max_buffered=total): max_concurrency RPCs stay in flight throughout.
            async for _ in _ordered_batches(
                client,
                texts,
                chunks=chunks,
                policy=policy,
                put=put,
                max_buffered=total,
                fail_fast=True,  # a failed list raises at once, cancelling the other batches
            ):
                pass
    except TimeoutError:
        error = DeadlineExceeded(f"the call's deadline of {timeout:g} s expired")
    except TextServiceError as exc:
        error = exc
    except asyncio.CancelledError as exc:
        if not cancelled_by_close(exc):
            raise
        # close() on a sync call: fail with what was received, as aclose() does
        error = Cancelled(CLOSED)
    if error is None:
        return sink.result()
    assert isinstance(error, TextServiceError)
    raise error.with_partial(PartialEmbeddings(total=total, embeddings=sink.rows()))


async def iter_embed_texts(
    client: TextServiceClient,
    texts: list[str],
    options: RequestOptions,
    *,
    single: SingleEmbedding[Any, Any],
    batch: BatchEmbedding[Any, Any] | None,
    batch_size: int | None = None,
    progress: ProgressCallback | None = None,
    output: Output = "list",
) -> AsyncGenerator[Vectors, None]:
    """Yield the embeddings of ``texts`` batch by batch, in input order, as they complete.

    Batches hold ``batch_size`` texts (default and maximum: the batch RPC's ``max_texts``).
    For an API version without BatchEmbedText each text is its own RPC, and ``batch_size``
    (default 1, at most ``MAX_BATCH_SIZE``) texts are yielded together. Up to
    ``client.max_concurrency`` RPCs are in flight, and at most as many finished batches wait
    for an earlier one, so memory stays bounded however long ``texts`` is. With
    ``output="numpy"`` each batch is a ``(batch, dim)`` float32 array.

    A timeout (from ``options``, the client, or the method's default) bounds each batch's
    RPC with its retries, not the whole iteration (whose length the consumer decides).
    ``progress(done, total)`` is called before each batch is yielded. On failure the error's
    ``partial`` says how many texts were yielded (``delivered``) and holds the vectors of later
    batches that finished but were held back for order; yielded vectors are not kept. Closing
    the iterator early cancels the RPCs in flight.
    """
    total = len(texts)
    if total == 0:
        return
    if batch is not None:
        limit = _max_texts(batch)
        size = limit if batch_size is None else check_batch_size(batch_size, limit)
        group = size
    else:
        size = None
        group = 1 if batch_size is None else check_batch_size(batch_size, MAX_BATCH_SIZE)
    chunks = _chunks(single, batch, size, output)
    timeout, _, retry = client._policy(chunks.method, options)
    loop = asyncio.get_running_loop()

    def policy() -> Policy:
        deadline = None if timeout is None else loop.time() + timeout
        return Policy(deadline=deadline, timeout=timeout, retry=retry)

    held = _HeldBack()
    error: TextServiceError | None = None
    done = 0
    try:
        async with aclosing(
            _ordered_batches(
                client,
                texts,
                chunks=chunks,
                policy=policy,
                put=held.put,
                max_buffered=None,
                fail_fast=False,  # the batches before a failure are still delivered, in order
            )
        ) as batches:
            async for vectors in _grouped(batches, group, chunks.size, output):
                done += len(vectors)
                held.release(done)
                if progress is not None:
                    progress(done, total)
                yield vectors
    except TextServiceError as exc:
        error = exc
    except asyncio.CancelledError as exc:
        if not cancelled_by_close(exc):
            raise
        error = Cancelled(CLOSED)  # close() during a sync iteration: keep what is held back
    if error is not None:
        partial = PartialEmbeddings(total=total, embeddings=held.rows(done), delivered=done)
        raise error.with_partial(partial)


async def _grouped(
    batches: AsyncIterator[Vectors], group: int, size: int, output: Output
) -> AsyncGenerator[Vectors, None]:
    """``batches`` (of ``size`` texts) joined into batches of ``group`` texts (the last may
    hold fewer); as they are when the two sizes agree."""
    if group == size:
        async for vectors in batches:
            yield vectors
        return
    pending: list[Vectors] = []
    count = 0
    async for vectors in batches:
        pending.append(vectors)
        count += len(vectors)
        if count >= group:
            yield _join(pending, output)
            pending, count = [], 0
    if pending:
        yield _join(pending, output)


def _join(parts: list[Any], output: Output) -> Vectors:
    if output == "numpy":
        return _arrays.stack_rows(parts)
    return [vector for part in parts for vector in part]


def iter_embed_texts_sync(
    client: TextServiceClient,
    texts: list[str],
    options: RequestOptions,
    *,
    single: SingleEmbedding[Any, Any],
    batch: BatchEmbedding[Any, Any] | None,
    batch_size: int | None = None,
    progress: ProgressCallback | None = None,
    output: Output = "list",
) -> Iterator[Vectors]:
    """``iter_embed_texts`` for synchronous code: a plain iterator over the same batches.

    The RPCs run on the client's loop thread, where the calls in flight keep running between
    steps; the consuming thread only waits for the next batch, and ``progress`` is called in
    that thread. Closing the iterator early cancels the calls in flight.
    """
    batches = iter_embed_texts(
        client,
        texts,
        options,
        single=single,
        batch=batch,
        batch_size=batch_size,
        output=output,
    )
    return _iterate_sync(client, batches, len(texts), progress)


_END: Any = object()


def _iterate_sync(
    client: TextServiceClient,
    batches: AsyncGenerator[Vectors, None],
    total: int,
    progress: ProgressCallback | None,
) -> Iterator[Vectors]:
    async def step() -> Any:
        try:
            return await anext(batches)
        except StopAsyncIteration:
            return _END

    client._track_sync_iterator(batches)  # closed in order if the client is closed first
    done = 0
    try:
        while True:
            vectors = client._run_sync(step)
            if vectors is _END:
                return
            done += len(vectors)
            if progress is not None:
                progress(done, total)
            yield vectors
    finally:
        # RuntimeError: still unwinding an interrupted step, or the client was closed
        # meanwhile; the calls in flight are cancelled in either case.
        with contextlib.suppress(RuntimeError):
            client._run_sync(batches.aclose)
