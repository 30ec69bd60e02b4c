"""The runtime surface the generated facades call (and nothing else of the runtime).

Generated code reads: check arguments -> build the request -> call one helper here -> shape
the result. Behaviour (retries, deadlines, batching, the sync bridge) lives behind these names.

CONTRACT DRAFT: signatures agreed between the facade generator and the runtime; bodies are
being implemented by the runtime work and raise NotImplementedError until then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from textservice.methods import MethodSpec, RequestT, ResponseT
from textservice.retry import Retry

if TYPE_CHECKING:
    from textservice.client import TextServiceClient

T = TypeVar("T")

__all__ = [
    "BatchEmbedding",
    "HasName",
    "MethodSpec",
    "RequestOptions",
    "Retry",
    "SingleEmbedding",
    "call",
    "check_model",
    "check_request_options",
    "check_text",
    "embed_texts",
    "get_client",
    "run_sync",
]


class HasName(Protocol):
    """Anything with a ``.name`` (a ``Model`` object)."""

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class RequestOptions:
    """Validated ``request_options``; ``...`` (Ellipsis) means "use the method's default"."""

    timeout: float | None | Any = ...
    retry: Retry | None | Any = ...


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


def check_model(model: str | HasName) -> str:
    """The model's resource name; ``TypeError``/``ValueError`` unless ``models/…``/``tunedModels/…``."""
    raise NotImplementedError


def check_text(text: object) -> str | list[str]:
    """A single text (``str``) or a list copied from a sequence of ``str``; else ``TypeError``."""
    raise NotImplementedError


def check_request_options(request_options: Mapping[str, object] | None) -> RequestOptions:
    """Validate ``{"timeout": seconds, "retry": Retry | None}``; unknown keys -> ``TypeError``."""
    raise NotImplementedError


def get_client(client: TextServiceClient | None) -> TextServiceClient:
    """``client`` itself, or the default client (configured by ``configure``/``GOOGLE_API_KEY``)."""
    raise NotImplementedError


async def call(
    client: TextServiceClient,
    method: MethodSpec[RequestT, ResponseT],
    request: RequestT,
    options: RequestOptions,
) -> ResponseT:
    """One unary RPC with the client's metadata, the deadline and retry policy; typed errors."""
    raise NotImplementedError


async def embed_texts(
    client: TextServiceClient,
    texts: list[str],
    options: RequestOptions,
    *,
    single: SingleEmbedding[Any, Any],
    batch: BatchEmbedding[Any, Any] | None,
) -> list[list[float]]:
    """Embed many texts in input order: batches when the API version has them, else single calls."""
    raise NotImplementedError


def run_sync(client: TextServiceClient, make: Callable[[], Awaitable[T]]) -> T:
    """Run ``make()`` to completion from synchronous code (any thread, even inside a running loop)."""
    raise NotImplementedError
