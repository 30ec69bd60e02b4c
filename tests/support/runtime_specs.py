"""Hand-built method specs and embedding recipes, standing in for the generated facade.

The runtime tests exercise ``call``/``embed_many`` directly: the ``MethodSpec`` and
``EmbedRecipe`` (``OneText``/``ManyTexts``) objects here are what a generated facade declares.
"""

from __future__ import annotations

from typing import Any

from support.transports import http_of
from textservice._engine.embed import embed_many
from textservice._engine.output_formats import LIST
from textservice._engine.recipes import EmbedRecipe, ManyTexts, OneText
from textservice._engine.spec import EmbedSpec
from textservice._proto.google.ai.generativelanguage import v1beta, v1beta2
from textservice._transport.methods import MethodSpec
from textservice._transport.options import RequestOptions, check_request_options
from textservice._transport.rpc import call
from textservice.client import Client, call_path
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
        http=http_of(version, "TextService", name),  # the generated REST bindings
    )


EMBED_TEXT = _spec(v1beta, "v1beta", "EmbedText", v1beta.EmbedTextRequest, v1beta.EmbedTextResponse)
BATCH_EMBED_TEXT = _spec(
    v1beta, "v1beta", "BatchEmbedText", v1beta.BatchEmbedTextRequest, v1beta.BatchEmbedTextResponse
)
EMBED_TEXT_V1BETA2 = _spec(
    v1beta2, "v1beta2", "EmbedText", v1beta2.EmbedTextRequest, v1beta2.EmbedTextResponse
)


def single() -> OneText[str, str, Any, Any]:
    """EmbedText of v1beta."""
    return OneText(
        EMBED_TEXT,
        lambda model, text: v1beta.EmbedTextRequest(model=model, text=text),
        lambda response: list(response.embedding.value),
    )


def batch() -> ManyTexts[str, str, Any, Any]:
    """BatchEmbedText of v1beta."""
    return ManyTexts(
        BATCH_EMBED_TEXT,
        lambda model, texts: v1beta.BatchEmbedTextRequest(model=model, texts=texts),
        lambda response: [list(e.value) for e in response.embeddings],
        max_texts=100,
    )


def single_v1beta2() -> OneText[str, str, Any, Any]:
    """EmbedText of v1beta2, a version without BatchEmbedText."""
    return OneText(
        EMBED_TEXT_V1BETA2,
        lambda model, text: v1beta2.EmbedTextRequest(model=model, text=text),
        lambda response: list(response.embedding.value),
    )


def options(**request_options: Any) -> RequestOptions:
    """Validated request options, e.g. ``options(timeout=1, retry=FAST_RETRY)``."""
    return check_request_options(request_options)


async def embed_async(
    client: Client,
    texts: list[str],
    opts: RequestOptions | None = None,
    *,
    batched: bool = True,
    model: str = MODEL,
) -> list[list[float]]:
    """What a generated async facade does for a list of texts."""
    recipe = EmbedRecipe(single(), batch() if batched else None)
    spec = EmbedSpec(call_path(client), recipe, model, opts or RequestOptions(), LIST)
    return await embed_many(spec, texts)


def embed_sync(
    client: Client,
    texts: list[str],
    opts: RequestOptions | None = None,
    *,
    batched: bool = True,
    model: str = MODEL,
) -> list[list[float]]:
    """What a generated sync facade does for a list of texts."""

    async def run() -> list[list[float]]:
        return await embed_async(client, texts, opts, batched=batched, model=model)

    return call_path(client).run_sync(run)


async def embed_one_async(
    client: Client, text: str, opts: RequestOptions | None = None, *, model: str = MODEL
) -> list[float]:
    """What a generated async facade does for one text."""
    request = v1beta.EmbedTextRequest(model=model, text=text)
    options = opts or RequestOptions()
    response = await call(call_path(client), EMBED_TEXT, request, options, v1beta.EmbedTextResponse)
    assert response.embedding is not None
    return list(response.embedding.value)


def embed_one_sync(
    client: Client, text: str, opts: RequestOptions | None = None, *, model: str = MODEL
) -> list[float]:
    """What a generated sync facade does for one text."""
    return call_path(client).run_sync(lambda: embed_one_async(client, text, opts, model=model))
