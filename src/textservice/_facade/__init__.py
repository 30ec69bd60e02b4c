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

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from textservice._checks import HasName, check_model, check_text, check_texts
from textservice._encoding.content import ContentFields
from textservice._engine.outputs import LIST, NUMPY, Output, OutputStrategy, check_output
from textservice._engine.recipes import EmbedRecipe, ManyTexts, OneText
from textservice._facade import fields
from textservice._facade.clients import get_client
from textservice._facade.content import (
    ContentRecipe,
    embed_content,
    embed_content_async,
    iter_embed_content,
    iter_embed_content_async,
    task_type,
)
from textservice._facade.deprecation import Deprecations, deprecated
from textservice._facade.fields import JsonValue
from textservice._facade.media import ContentItem, ContentItems
from textservice._facade.paging import Paging, paged, paged_async
from textservice._facade.results import ArrayEmbedding, Embeddings, ManyEmbeddings, OneEmbedding
from textservice._transport.methods import (
    HttpRule,
    MessageRef,
    MethodSpec,
    RequestT,
    ResponseT,
    TypeMap,
)
from textservice._transport.options import RequestOptions, check_request_options
from textservice.client import TextServiceClient, call_path
from textservice.retry import Retry

# The engine and the RPC layer (asyncio, grpclib, the rate governor) are imported by the
# functions that run calls, on a client's first call, not when a facade is imported (issue 21).
if TYPE_CHECKING:
    import betterproto2

    from textservice._engine.embed import ProgressCallback
    from textservice._numpy import Float32Array
    from textservice._transport.callpath import CallPath

__all__ = [
    "ArrayEmbedding",
    "ContentFields",
    "ContentItem",
    "ContentItems",
    "ContentRecipe",
    "Deprecations",
    "EmbedRecipe",
    "HasName",
    "HttpRule",
    "JsonValue",
    "ManyEmbeddings",
    "ManyTexts",
    "MessageRef",
    "MethodSpec",
    "OneEmbedding",
    "OneText",
    "Output",
    "Paging",
    "Retry",
    "TextServiceClient",
    "TypeMap",
    "check_model",
    "completion",
    "deprecated",
    "embed",
    "embed_async",
    "embed_content",
    "embed_content_async",
    "fields",
    "get_client",
    "iter_embed_content",
    "iter_embed_content_async",
    "iter_embeddings",
    "iter_embeddings_async",
    "paged",
    "paged_async",
    "plain",
    "task_type",
    "unary",
    "unary_async",
]

T = TypeVar("T")
R = TypeVar("R", bound=Sized)


# -- results ------------------------------------------------------------------------------


def plain(response: betterproto2.Message) -> dict[str, Any]:
    """A response as a plain dict (see ``textservice._encoding.dicts``)."""
    from textservice._encoding.dicts import to_dict

    return to_dict(response)


def completion(response: Any) -> dict[str, Any]:
    """A generation's response as a plain dict, plus ``result``: the first candidate's
    ``output`` (``None`` without candidates)."""
    from textservice._encoding.dicts import to_dict

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
    from textservice._transport import rpc

    return result(await rpc.call(path, method, request, options, method.response_type))


# -- embeddings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Embedding:
    """A ``generate_embeddings`` call, its arguments checked."""

    recipe: EmbedRecipe[str, str]
    model: str
    text: str | list[str]
    options: RequestOptions
    output: Output
    path: CallPath

    @classmethod
    def checked(
        cls,
        recipe: EmbedRecipe[str, str],
        model: object,
        text: object,
        client: object,
        request_options: object,
        output: object,
    ) -> _Embedding:
        """The call's arguments, checked in this order, in the caller's thread, before any
        network."""
        return cls(
            recipe,
            check_model(model),
            check_text(text),
            check_request_options(request_options),
            check_output(output),
            call_path(get_client(client)),
        )

    async def run(self) -> Embeddings:
        """One text by ``embed_one``, a list by ``embed_many``, in the output asked for."""
        from textservice._engine import embed as _engine

        path, recipe, model, text, options = (
            self.path,
            self.recipe,
            self.model,
            self.text,
            self.options,
        )
        if self.output == "numpy":
            if isinstance(text, str):
                row = await _engine.embed_one(path, recipe, model, text, options, NUMPY)
                return ArrayEmbedding(embedding=row)
            rows = await _engine.embed_many(path, recipe, model, text, options, NUMPY)
            return ArrayEmbedding(embedding=rows)
        if isinstance(text, str):
            vector = await _engine.embed_one(path, recipe, model, text, options, LIST)
            return OneEmbedding(embedding=vector)
        vectors = await _engine.embed_many(path, recipe, model, text, options, LIST)
        return ManyEmbeddings(embedding=vectors)


def embed(
    recipe: EmbedRecipe[str, str],
    model: object,
    text: object,
    client: object,
    request_options: object,
    output: object,
) -> Embeddings:
    """``generate_embeddings``: one text, or a sequence of them, from synchronous code."""
    call = _Embedding.checked(recipe, model, text, client, request_options, output)
    return call.path.run_sync(call.run)


async def embed_async(
    recipe: EmbedRecipe[str, str],
    model: object,
    text: object,
    client: object,
    request_options: object,
    output: object,
) -> Embeddings:
    """``generate_embeddings_async``: ``embed`` on the caller's event loop."""
    return await _Embedding.checked(recipe, model, text, client, request_options, output).run()


@dataclass(frozen=True)
class _Iteration:
    """An ``iter_embeddings`` call, its arguments checked."""

    recipe: EmbedRecipe[str, str]
    model: str
    texts: list[str]
    options: RequestOptions
    batch_size: int
    progress: ProgressCallback | None
    output: Output
    path: CallPath

    @classmethod
    def checked(
        cls,
        recipe: EmbedRecipe[str, str],
        model: object,
        texts: object,
        client: object,
        request_options: object,
        batch_size: object,
        progress: object,
        output: object,
    ) -> _Iteration:
        """The call's arguments, checked in this order, in the caller's thread, before any
        network."""
        from textservice._engine.embed import check_batch_size, check_progress

        return cls(
            recipe,
            check_model(model),
            check_texts(texts),
            check_request_options(request_options),
            check_batch_size(recipe, batch_size),
            check_progress(progress),
            check_output(output),
            call_path(get_client(client)),
        )

    def batches(
        self, output: OutputStrategy[Any, R], progress: ProgressCallback | None
    ) -> AsyncGenerator[R, None]:
        """The engine's batches in ``output``'s format."""
        from textservice._engine import embed as _engine

        return _engine.iter_embed(
            self.path,
            self.recipe,
            self.model,
            self.texts,
            self.options,
            output,
            batch_size=self.batch_size,
            progress=progress,
        )


def iter_embeddings(
    recipe: EmbedRecipe[str, str],
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
    it = _Iteration.checked(
        recipe, model, texts, client, request_options, batch_size, progress, output
    )
    from textservice._engine import embed as _engine

    total = len(it.texts)
    if it.output == "numpy":
        arrays = it.batches(NUMPY, None)
        return _engine.iter_embed_sync(it.path, arrays, total=total, progress=it.progress)
    lists = it.batches(LIST, None)
    return _engine.iter_embed_sync(it.path, lists, total=total, progress=it.progress)


def iter_embeddings_async(
    recipe: EmbedRecipe[str, str],
    model: object,
    texts: object,
    client: object,
    request_options: object,
    batch_size: object,
    progress: object,
    output: object,
) -> AsyncIterator[list[list[float]]] | AsyncIterator[Float32Array]:
    """``iter_embeddings_async``: batches of embeddings as an async iterator."""
    it = _Iteration.checked(
        recipe, model, texts, client, request_options, batch_size, progress, output
    )
    if it.output == "numpy":
        return it.batches(NUMPY, it.progress)
    return it.batches(LIST, it.progress)
