"""The one seam between generated facades and the runtime.

A generated facade module (``textservice.<version>``) imports this package and nothing else
of ``textservice`` (besides its ``_proto`` messages and its own ``types``). It declares
``MethodSpec``s, an ``EmbedRecipe`` per pair of embedding RPCs, the request builders of its
functions (``fields`` converts each argument), and public functions whose bodies are one
call to a function here. Everything those bodies need is behind these names: argument checks
in the caller's thread, the default client, the sync bridge, the engine, result shaping (the
``completion`` rule included).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import betterproto2

from textservice._checks import HasName, check_model, check_text
from textservice._checks import check_texts as _check_texts
from textservice._encoding.dicts import to_dict
from textservice._engine import embed as _engine
from textservice._engine.outputs import Output, check_output, strategy
from textservice._engine.recipes import EmbedRecipe, ManyTexts, OneText
from textservice._facade import fields
from textservice._transport.callpath import CallPath
from textservice._transport.methods import MethodSpec, RequestT, ResponseT
from textservice._transport.options import RequestOptions, check_request_options
from textservice._transport.rpc import call
from textservice.client import TextServiceClient, call_path, get_default_client
from textservice.retry import Retry

if TYPE_CHECKING:
    from textservice._numpy import Float32Array

__all__ = [
    "ArrayEmbedding",
    "EmbedRecipe",
    "HasName",
    "ManyEmbeddings",
    "ManyTexts",
    "MethodSpec",
    "OneEmbedding",
    "OneText",
    "Output",
    "Retry",
    "TextServiceClient",
    "check_model",
    "completion",
    "embed",
    "embed_async",
    "fields",
    "get_client",
    "iter_embeddings",
    "iter_embeddings_async",
    "plain",
    "unary",
    "unary_async",
]

T = TypeVar("T")


class OneEmbedding(TypedDict):
    """The embedding of one text (the same shape as each version's ``EmbeddingDict``)."""

    embedding: list[float]


class ManyEmbeddings(TypedDict):
    """The embeddings of a sequence of texts (each version's ``BatchEmbeddingDict``)."""

    embedding: list[list[float]]


class ArrayEmbedding(TypedDict):
    """Embeddings as one float32 array (each version's ``ArrayEmbeddingDict``)."""

    embedding: Float32Array


Embeddings = OneEmbedding | ManyEmbeddings | ArrayEmbedding


def get_client(client: object) -> TextServiceClient:
    """``client`` itself, or the default client (configured by ``configure``/``GOOGLE_API_KEY``)."""
    if client is None:
        return get_default_client()
    if not isinstance(client, TextServiceClient):
        raise TypeError(f"client must be a TextServiceClient or None, got {type(client).__name__}")
    return client


# -- results ------------------------------------------------------------------------------


def plain(response: betterproto2.Message) -> dict[str, Any]:
    """A response as a plain dict (see ``textservice._encoding.dicts``)."""
    return to_dict(response)


def completion(response: Any) -> dict[str, Any]:
    """A generation's response as a plain dict, plus ``result``: the first candidate's
    ``output`` (``None`` without candidates)."""
    result = response.candidates[0].output if response.candidates else None
    return {**to_dict(response), "result": result}


# -- one RPC ------------------------------------------------------------------------------


def unary(
    method: MethodSpec[RequestT, ResponseT],
    request: RequestT,
    client: object,
    request_options: object,
    result: Callable[[ResponseT], T],
) -> T:
    """Send ``request`` (already built and checked), from synchronous code; ``result`` shapes
    the response. Checks the options and the client before any network."""
    options = check_request_options(request_options)
    path = call_path(get_client(client))
    return path.run_sync(lambda: _unary(path, method, request, options, result))


async def unary_async(
    method: MethodSpec[RequestT, ResponseT],
    request: RequestT,
    client: object,
    request_options: object,
    result: Callable[[ResponseT], T],
) -> T:
    """``unary`` for async code: the RPC runs on the caller's event loop."""
    options = check_request_options(request_options)
    path = call_path(get_client(client))
    return await _unary(path, method, request, options, result)


async def _unary(
    path: CallPath,
    method: MethodSpec[RequestT, ResponseT],
    request: RequestT,
    options: RequestOptions,
    result: Callable[[ResponseT], T],
) -> T:
    return result(await call(path, method, request, options, method.response_type))


# -- embeddings ---------------------------------------------------------------------------


def embed(
    recipe: EmbedRecipe[str],
    model: object,
    text: object,
    client: object,
    request_options: object,
    output: object,
) -> Embeddings:
    """``generate_embeddings``: one text, or a sequence of them, from synchronous code."""
    checked = _checked_embed(model, text, request_options, output, client)
    path = checked[-1]
    return path.run_sync(lambda: _embed(recipe, *checked))


async def embed_async(
    recipe: EmbedRecipe[str],
    model: object,
    text: object,
    client: object,
    request_options: object,
    output: object,
) -> Embeddings:
    """``generate_embeddings_async``: ``embed`` on the caller's event loop."""
    return await _embed(recipe, *_checked_embed(model, text, request_options, output, client))


def _checked_embed(
    model: object, text: object, request_options: object, output: object, client: object
) -> tuple[str, str | list[str], RequestOptions, Output, CallPath]:
    """The arguments of an embedding call, checked in this order, before any network."""
    return (
        check_model(model),
        check_text(text),
        check_request_options(request_options),
        check_output(output),
        call_path(get_client(client)),
    )


async def _embed(
    recipe: EmbedRecipe[str],
    model: str,
    text: str | list[str],
    options: RequestOptions,
    output: Output,
    path: CallPath,
) -> Embeddings:
    if output == "numpy":
        numpy = strategy("numpy")
        if isinstance(text, str):
            row = await _engine.embed_one(path, recipe, model, text, options, numpy)
            return ArrayEmbedding(embedding=row)
        rows = await _engine.embed_many(path, recipe, model, text, options, numpy)
        return ArrayEmbedding(embedding=rows)
    lists = strategy("list")
    if isinstance(text, str):
        vector = await _engine.embed_one(path, recipe, model, text, options, lists)
        return OneEmbedding(embedding=vector)
    vectors = await _engine.embed_many(path, recipe, model, text, options, lists)
    return ManyEmbeddings(embedding=vectors)


def iter_embeddings(
    recipe: EmbedRecipe[str],
    model: object,
    texts: object,
    client: object,
    request_options: object,
    batch_size: object,
    progress: object,
    output: object,
) -> Iterator[list[list[float]]] | Iterator[Float32Array]:
    """``iter_embeddings``: batches of embeddings for synchronous code (the RPCs run on the
    client's loop thread; ``progress`` is called in the iterating thread)."""
    args = _checked_iter(
        recipe, model, texts, request_options, batch_size, progress, output, client
    )
    model_name, checked, options, size, callback, name, path = args
    total = len(checked)
    if name == "numpy":
        arrays = _engine.iter_embed(
            path, recipe, model_name, checked, options, strategy("numpy"), batch_size=size
        )
        return _engine.iter_embed_sync(path, arrays, total=total, progress=callback)
    lists = _engine.iter_embed(
        path, recipe, model_name, checked, options, strategy("list"), batch_size=size
    )
    return _engine.iter_embed_sync(path, lists, total=total, progress=callback)


def iter_embeddings_async(
    recipe: EmbedRecipe[str],
    model: object,
    texts: object,
    client: object,
    request_options: object,
    batch_size: object,
    progress: object,
    output: object,
) -> AsyncIterator[list[list[float]]] | AsyncIterator[Float32Array]:
    """``iter_embeddings_async``: batches of embeddings as an async iterator."""
    args = _checked_iter(
        recipe, model, texts, request_options, batch_size, progress, output, client
    )
    model_name, checked, options, size, callback, name, path = args
    if name == "numpy":
        return _engine.iter_embed(
            path,
            recipe,
            model_name,
            checked,
            options,
            strategy("numpy"),
            batch_size=size,
            progress=callback,
        )
    return _engine.iter_embed(
        path,
        recipe,
        model_name,
        checked,
        options,
        strategy("list"),
        batch_size=size,
        progress=callback,
    )


def _checked_iter(
    recipe: EmbedRecipe[str],
    model: object,
    texts: object,
    request_options: object,
    batch_size: object,
    progress: object,
    output: object,
    client: object,
) -> tuple[
    str,
    list[str],
    RequestOptions,
    int,
    _engine.ProgressCallback | None,
    Output,
    CallPath,
]:
    """The arguments of an iterator, checked in this order, before any network."""
    return (
        check_model(model),
        _check_texts(texts),
        check_request_options(request_options),
        _engine.check_batch_size(recipe, batch_size),
        _engine.check_progress(progress),
        check_output(output),
        call_path(get_client(client)),
    )
