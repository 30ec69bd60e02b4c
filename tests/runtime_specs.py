"""Hand-built method specs and embedding recipes, standing in for the generated facade.

The runtime tests exercise ``call``/``embed_texts`` directly: the ``MethodSpec`` and
``SingleEmbedding``/``BatchEmbedding`` objects here are what a generated facade declares.
"""

from __future__ import annotations

from typing import Any

from textservice._proto.google.ai.generativelanguage import v1beta, v1beta2
from textservice._runtime import (
    BatchEmbedding,
    RequestOptions,
    SingleEmbedding,
    call,
    check_request_options,
    embed_texts,
    run_sync,
)
from textservice.client import TextServiceClient
from textservice.methods import MethodSpec
from textservice.retry import Retry

MODEL = "models/embedding-gecko-001"

# Tiny backoffs keep retry tests fast; the policy shape is the service config's.
FAST_RETRY = Retry(max_attempts=5, initial_backoff=0.001, max_backoff=0.01, multiplier=1.3)


def _spec(
    module: Any, version: str, name: str, request: type, response: type
) -> MethodSpec[Any, Any]:
    return MethodSpec(
        f"google.ai.generativelanguage.{version}.TextService",
        name,
        request,
        response,
        default_timeout=60.0,
        default_retry=Retry(),
    )


EMBED_TEXT = _spec(v1beta, "v1beta", "EmbedText", v1beta.EmbedTextRequest, v1beta.EmbedTextResponse)
BATCH_EMBED_TEXT = _spec(
    v1beta, "v1beta", "BatchEmbedText", v1beta.BatchEmbedTextRequest, v1beta.BatchEmbedTextResponse
)
EMBED_TEXT_V1BETA2 = _spec(
    v1beta2, "v1beta2", "EmbedText", v1beta2.EmbedTextRequest, v1beta2.EmbedTextResponse
)


def single(model: str = MODEL) -> SingleEmbedding[Any, Any]:
    """EmbedText of v1beta."""
    return SingleEmbedding(
        EMBED_TEXT,
        lambda text: v1beta.EmbedTextRequest(model=model, text=text),
        lambda response: list(response.embedding.value),
    )


def batch(model: str = MODEL) -> BatchEmbedding[Any, Any]:
    """BatchEmbedText of v1beta."""
    return BatchEmbedding(
        BATCH_EMBED_TEXT,
        lambda texts: v1beta.BatchEmbedTextRequest(model=model, texts=texts),
        lambda response: [list(e.value) for e in response.embeddings],
        max_texts=100,
    )


def single_v1beta2(model: str = MODEL) -> SingleEmbedding[Any, Any]:
    """EmbedText of v1beta2, a version without BatchEmbedText."""
    return SingleEmbedding(
        EMBED_TEXT_V1BETA2,
        lambda text: v1beta2.EmbedTextRequest(model=model, text=text),
        lambda response: list(response.embedding.value),
    )


def options(**request_options: Any) -> RequestOptions:
    """Validated request options, e.g. ``options(timeout=1, retry=FAST_RETRY)``."""
    return check_request_options(request_options)


async def embed_async(
    client: TextServiceClient,
    texts: list[str],
    opts: RequestOptions | None = None,
    *,
    batched: bool = True,
    model: str = MODEL,
) -> list[list[float]]:
    """What a generated async facade does for a list of texts."""
    return await embed_texts(
        client,
        texts,
        opts or RequestOptions(),
        single=single(model),
        batch=batch(model) if batched else None,
    )


def embed_sync(
    client: TextServiceClient,
    texts: list[str],
    opts: RequestOptions | None = None,
    *,
    batched: bool = True,
    model: str = MODEL,
) -> list[list[float]]:
    """What a generated sync facade does for a list of texts."""
    return run_sync(client, lambda: embed_async(client, texts, opts, batched=batched, model=model))


async def embed_one_async(
    client: TextServiceClient, text: str, opts: RequestOptions | None = None, *, model: str = MODEL
) -> list[float]:
    """What a generated async facade does for one text."""
    request = v1beta.EmbedTextRequest(model=model, text=text)
    response = await call(client, EMBED_TEXT, request, opts or RequestOptions())
    assert response.embedding is not None
    return list(response.embedding.value)


def embed_one_sync(
    client: TextServiceClient, text: str, opts: RequestOptions | None = None, *, model: str = MODEL
) -> list[float]:
    """What a generated sync facade does for one text."""
    return run_sync(client, lambda: embed_one_async(client, text, opts, model=model))
