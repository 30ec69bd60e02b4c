"""The runtime surface the generated facades call (and nothing else of the runtime).

Generated code reads: check arguments -> build the request -> call one helper here -> shape
the result. Behaviour (retries, deadlines, batching, the sync bridge) lives behind these names,
in ``arguments``, ``client``, ``embedding``, ``_rpc`` and ``_bridge``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from textservice import _rpc
from textservice.arguments import (
    HasName,
    Output,
    RequestOptions,
    check_model,
    check_output,
    check_progress,
    check_request_options,
    check_text,
    check_texts,
)
from textservice.client import TextServiceClient, get_default_client
from textservice.embedding import (
    BatchEmbedding,
    ProgressCallback,
    SingleEmbedding,
    check_batch_size,
    embed_text,
    embed_texts,
    iter_embed_texts,
    iter_embed_texts_sync,
)
from textservice.methods import MethodSpec, RequestT, ResponseT
from textservice.retry import Retry

T = TypeVar("T")

__all__ = [
    "BatchEmbedding",
    "HasName",
    "MethodSpec",
    "Output",
    "ProgressCallback",
    "RequestOptions",
    "Retry",
    "SingleEmbedding",
    "call",
    "check_batch_size",
    "check_model",
    "check_output",
    "check_progress",
    "check_request_options",
    "check_text",
    "check_texts",
    "embed_text",
    "embed_texts",
    "get_client",
    "iter_embed_texts",
    "iter_embed_texts_sync",
    "run_sync",
]


def get_client(client: TextServiceClient | None) -> TextServiceClient:
    """``client`` itself, or the default client (configured by ``configure``/``GOOGLE_API_KEY``)."""
    if client is None:
        return get_default_client()
    if not isinstance(client, TextServiceClient):
        raise TypeError(f"client must be a TextServiceClient or None, got {type(client).__name__}")
    return client


async def call(
    client: TextServiceClient,
    method: MethodSpec[RequestT, ResponseT],
    request: RequestT,
    options: RequestOptions,
) -> ResponseT:
    """One unary RPC with the client's metadata, the deadline and retry policy; typed errors.

    The timeout bounds the RPC with all its retries; on expiry ``DeadlineExceeded`` is raised
    and the RPC in flight is cancelled.
    """
    return await _rpc.call(client, method, request, options, method.response_type)


def run_sync(client: TextServiceClient, make: Callable[[], Awaitable[T]]) -> T:
    """Run ``make()`` to completion from synchronous code (any thread, even inside a running loop).

    The coroutine runs on the client's background event-loop thread; this thread waits.
    ``KeyboardInterrupt`` while waiting cancels the call's RPCs and is re-raised.
    """
    return client._run_sync(make)
