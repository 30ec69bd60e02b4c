"""Streaming embeddings: ``iter_embeddings`` and ``iter_embeddings_async``.

For inputs too long to embed in one call (or to wait for as a whole): each batch's
embeddings arrive in input order as soon as that batch and every batch before it are done,
with up to the client's ``max_concurrency`` BatchEmbedText calls in flight and a bounded number
of finished batches held back, so memory stays bounded. List ``generate_embeddings`` runs on
the same engine (``textservice.embedding``).

These use the default API version (``v1beta``), like the top-level ``generate_embeddings``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from textservice import _runtime as _rt
from textservice.client import TextServiceClient

__all__ = ["ProgressCallback", "iter_embeddings", "iter_embeddings_async"]

ProgressCallback = Callable[[int, int], None]
"""``progress(done, total)``: texts delivered so far, of all texts."""

MAX_BATCH_SIZE = 100
"""BatchEmbedText takes at most 100 texts."""


def _check_texts(texts: object) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of str, not a single str (use [text])")
    checked = _rt.check_text(texts)
    assert isinstance(checked, list)
    return checked


def _check_progress(progress: object) -> ProgressCallback | None:
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    return progress


def _specs(
    model: str,
) -> tuple[_rt.SingleEmbedding[Any, Any], _rt.BatchEmbedding[Any, Any]]:
    # The method declarations (routes, default timeout and retry from the service config)
    # and response readers are the generated v1beta facade's own.
    from textservice import v1beta as facade
    from textservice._proto.google.ai.generativelanguage import v1beta as pb

    single: _rt.SingleEmbedding[pb.EmbedTextRequest, pb.EmbedTextResponse] = _rt.SingleEmbedding(
        method=facade._EMBED_TEXT,
        make_request=lambda text: pb.EmbedTextRequest(model=model, text=text),
        vector=facade._embedding_vector,
    )
    batch: _rt.BatchEmbedding[pb.BatchEmbedTextRequest, pb.BatchEmbedTextResponse] = (
        _rt.BatchEmbedding(
            method=facade._BATCH_EMBED_TEXT,
            make_request=lambda texts: pb.BatchEmbedTextRequest(model=model, texts=texts),
            vectors=facade._embedding_vectors,
            max_texts=MAX_BATCH_SIZE,
        )
    )
    return single, batch


def iter_embeddings_async(
    model: str | _rt.HasName,
    texts: Sequence[str],
    *,
    client: TextServiceClient | None = None,
    request_options: Mapping[str, object] | None = None,
    batch_size: int = MAX_BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> AsyncIterator[list[list[float]]]:
    """Async twin of :func:`iter_embeddings`: ``async for batch in iter_embeddings_async(...)``.

    Arguments are checked at once (``TypeError``/``ValueError``), before any iteration.
    """
    name = _rt.check_model(model)
    items = _check_texts(texts)
    options = _rt.check_request_options(request_options)
    size = _rt.check_batch_size(batch_size, MAX_BATCH_SIZE)
    callback = _check_progress(progress)
    resolved = _rt.get_client(client)
    single, batch = _specs(name)
    return _rt.iter_embed_texts(
        resolved,
        items,
        options,
        single=single,
        batch=batch,
        batch_size=size,
        progress=callback,
    )


def iter_embeddings(
    model: str | _rt.HasName,
    texts: Sequence[str],
    *,
    client: TextServiceClient | None = None,
    request_options: Mapping[str, object] | None = None,
    batch_size: int = MAX_BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> Iterator[list[list[float]]]:
    """Embed ``texts`` batch by batch: yields each batch's embeddings, in input order.

    Every batch holds ``batch_size`` texts (1-100; the last may hold fewer), so
    ``list(itertools.chain.from_iterable(iter_embeddings(m, texts)))`` equals
    ``generate_embeddings(m, texts)["embedding"]``. Each vector holds the exact float32 values
    the API sent.

    Up to the client's ``max_concurrency`` calls are in flight while you consume batches;
    at most as many finished batches wait for you, so memory stays bounded. A timeout
    (``request_options={"timeout": s}``, the client's, or the method's default) bounds each
    batch's call with its retries. ``progress(done, total)`` is called (in this thread) before
    each batch is yielded.

    Raises ``TextServiceError`` when a batch fails after its retries: batches before it have
    been yielded, and ``error.partial`` holds every vector received. Stopping early
    (``break``, closing the generator, ``KeyboardInterrupt``) cancels the calls in flight.
    Arguments are checked at once (``TypeError``/``ValueError``), before any iteration.
    """
    name = _rt.check_model(model)
    items = _check_texts(texts)
    options = _rt.check_request_options(request_options)
    size = _rt.check_batch_size(batch_size, MAX_BATCH_SIZE)
    callback = _check_progress(progress)
    resolved = _rt.get_client(client)
    single, batch = _specs(name)
    batches = _rt.iter_embed_texts(
        resolved, items, options, single=single, batch=batch, batch_size=size
    )
    return _iterate_sync(resolved, batches, len(items), callback)


_END: Any = object()


def _iterate_sync(
    client: TextServiceClient,
    batches: AsyncIterator[list[list[float]]],
    total: int,
    progress: ProgressCallback | None,
) -> Iterator[list[list[float]]]:
    # Each step runs on the client's loop thread, where the calls in flight keep running
    # between steps; this thread only waits for the next batch.
    async def step() -> Any:
        try:
            return await anext(batches)
        except StopAsyncIteration:
            return _END

    done = 0
    try:
        while True:
            vectors = _rt.run_sync(client, step)
            if vectors is _END:
                return
            done += len(vectors)
            if progress is not None:
                progress(done, total)
            yield vectors
    finally:
        aclose = getattr(batches, "aclose", None)
        if aclose is not None:
            # RuntimeError: still unwinding an interrupted step, or the client was closed
            # meanwhile; the calls in flight are cancelled in either case.
            with contextlib.suppress(RuntimeError):
                _rt.run_sync(client, aclose)
