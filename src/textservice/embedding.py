"""Embedding many texts: chunks, bounded concurrency, input order, and partial failure.

A list is cut into batches of ``max_texts`` (one BatchEmbedText RPC each) or, for an API
version without BatchEmbedText, into single texts (one EmbedText RPC each). Up to the
client's ``max_concurrency`` RPCs are in flight at once, as streams of one HTTP/2 connection.
Vectors are put back at their input index. When an RPC fails for good, the others are
cancelled and the error raised carries every vector already received (``error.partial``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic

from textservice._rpc import Policy, invoke
from textservice.errors import DeadlineExceeded, Internal, PartialEmbeddings, TextServiceError
from textservice.methods import MethodSpec, RequestT, ResponseT

if TYPE_CHECKING:
    from collections.abc import Callable

    from textservice.arguments import RequestOptions
    from textservice.client import TextServiceClient

__all__ = ["BatchEmbedding", "SingleEmbedding", "embed_texts"]


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


class _Abort(Exception):
    """A worker's chunk failed; the failure itself is kept aside."""


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
    size = batch.max_texts if batch is not None else 1
    if size < 1:
        raise ValueError(f"BatchEmbedding.max_texts must be >= 1, got {size}")
    timeout, whole_call, retry = client._policy(method, options)
    loop = asyncio.get_running_loop()
    call_deadline = loop.time() + timeout if whole_call and timeout is not None else None

    chunks = iter(range(0, total, size))
    vectors_at: dict[int, list[float]] = {}
    failures: list[BaseException] = []

    async def embed_chunk(start: int) -> list[list[float]]:
        chunk = texts[start : start + size]
        deadline = call_deadline
        if not whole_call and timeout is not None:
            deadline = loop.time() + timeout
        policy = Policy(deadline=deadline, timeout=timeout, retry=retry)
        if batch is not None:
            response = await invoke(client, batch.method, batch.make_request(chunk), policy)
            try:
                vectors = batch.vectors(response)
            except Exception as exc:
                raise Internal(f"unexpected BatchEmbedText response: {exc!r}") from exc
        else:
            response = await invoke(client, single.method, single.make_request(chunk[0]), policy)
            try:
                vectors = [single.vector(response)]
            except Exception as exc:
                raise Internal(f"unexpected EmbedText response: {exc!r}") from exc
        if len(vectors) != len(chunk):
            raise Internal(
                f"the server returned {len(vectors)} embeddings for {len(chunk)} texts "
                f"(inputs {start}-{start + len(chunk) - 1})"
            )
        return vectors

    async def worker() -> None:
        # The shared iterator hands each chunk to exactly one worker (no await in next()).
        for start in chunks:
            try:
                vectors = await embed_chunk(start)
            except Exception as exc:
                failures.append(exc)
                raise _Abort from None
            for offset, vector in enumerate(vectors):
                vectors_at[start + offset] = vector

    workers = min(client.max_concurrency, (total + size - 1) // size)
    error: BaseException | None = None
    try:
        async with asyncio.timeout_at(call_deadline):
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(workers):
                        group.create_task(worker())
            except* _Abort:
                pass
    except TimeoutError:
        error = DeadlineExceeded(f"the call's deadline of {timeout:g} s expired")
    if error is None and failures:
        error = failures[0]
    if error is None:
        return [vectors_at[i] for i in range(total)]
    if isinstance(error, TextServiceError):
        raise error.with_partial(PartialEmbeddings(total=total, embeddings=dict(vectors_at)))
    raise error
