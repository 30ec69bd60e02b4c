"""Embedding many texts: chunks, bounded concurrency, input order, and partial failure.

A list is cut into batches of ``max_texts`` (one BatchEmbedText RPC each) or, for an API
version without BatchEmbedText, into single texts (one EmbedText RPC each). Up to the
client's ``max_concurrency`` RPCs are in flight at once, as streams of one HTTP/2 connection.
Vectors are put back at their input index. When an RPC fails for good, the others are
cancelled and the error raised carries every vector already received (``error.partial``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic

from textservice._ordered import ordered_map
from textservice._rpc import Policy, invoke
from textservice.errors import DeadlineExceeded, Internal, PartialEmbeddings, TextServiceError
from textservice.methods import MethodSpec, RequestT, ResponseT

if TYPE_CHECKING:
    from textservice.arguments import RequestOptions
    from textservice.client import TextServiceClient

__all__ = [
    "BatchEmbedding",
    "ProgressCallback",
    "SingleEmbedding",
    "check_batch_size",
    "embed_texts",
    "iter_embed_texts",
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


def _chunk_size(single: SingleEmbedding[Any, Any], batch: BatchEmbedding[Any, Any] | None) -> int:
    size = batch.max_texts if batch is not None else 1
    if size < 1:
        raise ValueError(f"BatchEmbedding.max_texts must be >= 1, got {size}")
    return size


def check_batch_size(batch_size: object, limit: int) -> int:
    """An ``int`` in ``1..limit`` (the API's maximum texts per BatchEmbedText call)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
    if not 1 <= batch_size <= limit:
        raise ValueError(f"batch_size must be between 1 and {limit}, got {batch_size}")
    return batch_size


async def _ordered_batches(
    client: TextServiceClient,
    texts: list[str],
    *,
    single: SingleEmbedding[Any, Any],
    batch: BatchEmbedding[Any, Any] | None,
    size: int,
    policy: Callable[[], Policy],
    received: dict[int, list[float]],
    max_buffered: int | None,
    fail_fast: bool,
) -> AsyncGenerator[list[list[float]], None]:
    """The one engine: each chunk's vectors, in input order, ``client.max_concurrency`` RPCs
    in flight; every vector received (in any order) is also put in ``received`` by index."""

    async def embed_chunk(start: int) -> list[list[float]]:
        chunk = texts[start : start + size]
        if batch is not None:
            response = await invoke(client, batch.method, batch.make_request(chunk), policy())
            try:
                vectors = batch.vectors(response)
            except Exception as exc:
                raise Internal(f"unexpected BatchEmbedText response: {exc!r}") from exc
        else:
            response = await invoke(client, single.method, single.make_request(chunk[0]), policy())
            try:
                vectors = [single.vector(response)]
            except Exception as exc:
                raise Internal(f"unexpected EmbedText response: {exc!r}") from exc
        if len(vectors) != len(chunk):
            raise Internal(
                f"the server returned {len(vectors)} embeddings for {len(chunk)} texts "
                f"(inputs {start}-{start + len(chunk) - 1})"
            )
        for offset, vector in enumerate(vectors):
            received[start + offset] = vector
        return vectors

    async with aclosing(
        ordered_map(
            embed_chunk,
            range(0, len(texts), size),
            max_concurrency=client.max_concurrency,
            max_buffered=max_buffered,
            fail_fast=fail_fast,
        )
    ) as chunks:
        async for vectors in chunks:
            yield vectors


async def embed_texts(
    client: TextServiceClient,
    texts: list[str],
    options: RequestOptions,
    *,
    single: SingleEmbedding[Any, Any],
    batch: BatchEmbedding[Any, Any] | None,
) -> list[list[float]]:
    """Embed ``texts`` in input order: batches when the API version has them, else single calls.

    ``options`` apply to every RPC. A timeout given by the user bounds the whole call; the
    method's default timeout bounds each RPC with its retries.
    """
    total = len(texts)
    if total == 0:
        return []
    method = batch.method if batch is not None else single.method
    size = _chunk_size(single, batch)
    timeout, whole_call, retry = client._policy(method, options)
    loop = asyncio.get_running_loop()
    call_deadline = loop.time() + timeout if whole_call and timeout is not None else None

    def policy() -> Policy:
        deadline = call_deadline
        if not whole_call and timeout is not None:
            deadline = loop.time() + timeout
        return Policy(deadline=deadline, timeout=timeout, retry=retry)

    received: dict[int, list[float]] = {}
    error: BaseException | None = None
    try:
        async with asyncio.timeout_at(call_deadline):
            # The whole list is kept anyway, so results waiting for an earlier batch are not
            # bounded (max_buffered=total): max_concurrency RPCs stay in flight throughout.
            async for _ in _ordered_batches(
                client,
                texts,
                single=single,
                batch=batch,
                size=size,
                policy=policy,
                received=received,
                max_buffered=total,
                fail_fast=True,  # a failed list raises at once, cancelling the other batches
            ):
                pass
    except TimeoutError:
        error = DeadlineExceeded(f"the call's deadline of {timeout:g} s expired")
    except TextServiceError as exc:
        error = exc
    if error is None:
        return [received[i] for i in range(total)]
    assert isinstance(error, TextServiceError)
    raise error.with_partial(PartialEmbeddings(total=total, embeddings=dict(received)))


async def iter_embed_texts(
    client: TextServiceClient,
    texts: list[str],
    options: RequestOptions,
    *,
    single: SingleEmbedding[Any, Any],
    batch: BatchEmbedding[Any, Any] | None,
    batch_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> AsyncGenerator[list[list[float]], None]:
    """Yield the embeddings of ``texts`` batch by batch, in input order, as they complete.

    Batches hold ``batch_size`` texts (default and maximum: the batch RPC's ``max_texts``;
    one text per batch for an API version without BatchEmbedText). Up to
    ``client.max_concurrency`` RPCs are in flight, and at most as many finished batches wait
    for an earlier one, so memory stays bounded however long ``texts`` is.

    A timeout (from ``options``, the client, or the method's default) bounds each batch's
    RPC with its retries, not the whole iteration (whose length the consumer decides).
    ``progress(done, total)`` is called before each batch is yielded. On failure the error
    carries every vector received (``error.partial``), including those of later batches that
    finished before it; closing the iterator early cancels the RPCs in flight.
    """
    total = len(texts)
    if total == 0:
        return
    method = batch.method if batch is not None else single.method
    limit = _chunk_size(single, batch)
    size = limit if batch_size is None else check_batch_size(batch_size, limit)
    timeout, _, retry = client._policy(method, options)
    loop = asyncio.get_running_loop()

    def policy() -> Policy:
        deadline = None if timeout is None else loop.time() + timeout
        return Policy(deadline=deadline, timeout=timeout, retry=retry)

    received: dict[int, list[float]] = {}
    error: TextServiceError | None = None
    done = 0
    try:
        async with aclosing(
            _ordered_batches(
                client,
                texts,
                single=single,
                batch=batch,
                size=size,
                policy=policy,
                received=received,
                max_buffered=None,
                fail_fast=False,  # the batches before a failure are still delivered, in order
            )
        ) as batches:
            async for vectors in batches:
                done += len(vectors)
                if progress is not None:
                    progress(done, total)
                yield vectors
    except TextServiceError as exc:
        error = exc
    if error is not None:
        raise error.with_partial(PartialEmbeddings(total=total, embeddings=dict(received)))
