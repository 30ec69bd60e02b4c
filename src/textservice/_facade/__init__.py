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

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from textservice._checks import HasName, check_model, check_text, check_text_stream
from textservice._encoding.embed_requests import ContentFields, TextRequests
from textservice._engine.output_formats import Output, output_for
from textservice._engine.recipes import EmbedRecipe, ManyTexts, OneText
from textservice._engine.spec import EmbedSpec
from textservice._facade import fields
from textservice._facade.clients import get_client
from textservice._facade.content_calls import (
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
from textservice._facade.results import (
    ArrayEmbedding,
    Embeddings,
    ManyEmbeddings,
    OneEmbedding,
    embeddings,
)
from textservice._facade.twins import (
    Iteration,
    async_batches,
    async_call,
    sync_batches,
    sync_call,
)
from textservice._transport.methods import (
    HttpRule,
    MessageRef,
    MethodSpec,
    RequestT,
    ResponseT,
    TypeMap,
)
from textservice._transport.options import RequestOptions, check_request_options
from textservice.client import Client, call_path
from textservice.retry import Retry

# The engine, the RPC layer (asyncio, grpclib, the rate governor) and betterproto2 are
# imported by the functions that run calls, on a client's first call, not when a facade is
# imported (issue 21).
if TYPE_CHECKING:
    import betterproto2

    from textservice._transport.callpath import CallPath

__all__ = [
    "ArrayEmbedding",
    "Client",
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
    "TextRequests",
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


@dataclass(frozen=True)
class _Unary(Generic[RequestT, ResponseT, T]):
    """One RPC of a built request, its options and client checked."""

    path: CallPath
    method: MethodSpec[RequestT, ResponseT]
    request: RequestT
    options: RequestOptions
    result: Callable[[ResponseT], T]

    @classmethod
    def checked(
        cls,
        method: MethodSpec[RequestT, ResponseT],
        request: RequestT,
        client: object,
        request_options: object,
        result: Callable[[ResponseT], T],
    ) -> _Unary[RequestT, ResponseT, T]:
        """The options, then the client, checked in the caller's thread before any network."""
        options = check_request_options(request_options)
        return cls(call_path(get_client(client)), method, request, options, result)

    async def run(self) -> T:
        """The RPC; ``result`` shapes its response."""
        from textservice._transport import rpc  # read at call time (tests record calls there)

        path, method, request, options = self.path, self.method, self.request, self.options
        return self.result(await rpc.call(path, method, request, options, method.response_type))


unary = sync_call(
    _Unary.checked,
    "Send ``request`` (already built and checked), from synchronous code; ``result`` shapes "
    "the response. Checks the options and the client before any network.",
)
unary_async = async_call(
    _Unary.checked, "``unary`` for async code: the RPC runs on the caller's event loop."
)


# -- embeddings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Embedding:
    """A ``generate_embeddings`` call, its arguments checked."""

    spec: EmbedSpec[str, str, Any, Any]
    text: str | list[str]

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
        name, checked = check_model(model), check_text(text)
        options = check_request_options(request_options)
        chosen = output_for(output)
        return cls(EmbedSpec(call_path(get_client(client)), recipe, name, options, chosen), checked)

    @property
    def path(self) -> CallPath:
        """The client's call path."""
        return self.spec.path

    async def run(self) -> Embeddings:
        """One text by ``embed_one``, a list by ``embed_many``, in the output asked for."""
        from textservice._engine import embed as _engine

        if isinstance(self.text, str):
            return embeddings(await _engine.embed_one(self.spec, self.text))
        return embeddings(await _engine.embed_many(self.spec, self.text))


embed = sync_call(
    _Embedding.checked, "``generate_embeddings``: one text, or a sequence of them, from sync code."
)
embed_async = async_call(
    _Embedding.checked, "``generate_embeddings_async``: ``embed`` on the caller's event loop."
)


def _iteration(
    recipe: EmbedRecipe[str, str],
    model: object,
    texts: object,
    client: object,
    request_options: object,
    batch_size: object,
    progress: object,
    output: object,
) -> Iteration:
    """An ``iter_embeddings`` call's arguments, checked in this order, in the caller's
    thread, before any network."""
    from textservice._engine.embed import check_batch_size, check_progress

    name, checked = check_model(model), check_text_stream(texts)
    options = check_request_options(request_options)
    size, callback = check_batch_size(recipe, batch_size), check_progress(progress)
    spec = EmbedSpec(call_path(get_client(client)), recipe, name, options, output_for(output))
    return Iteration(spec, checked, size, callback)


iter_embeddings = sync_batches(
    _iteration, "``iter_embeddings``: batches of embeddings for synchronous code."
)
iter_embeddings_async = async_batches(
    _iteration, "``iter_embeddings_async``: batches of embeddings as an async iterator."
)
