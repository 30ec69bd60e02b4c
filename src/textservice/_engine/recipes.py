"""Embedding recipes: how an API version embeds texts with its RPCs.

A generated facade declares one ``EmbedRecipe`` per pair of embedding RPCs: ``OneText`` (one
text per RPC: EmbedText) and, when the version has one, ``ManyTexts`` (up to ``max_texts``
texts per RPC: BatchEmbedText). Each says which method to call, how to build its request from
the call's parameters and the texts, and where the vectors are in its response. The engine
(``textservice._engine.embed``) does the rest: chunks, concurrency, order, outputs, errors.

The parameters (``P``) are whatever a request needs besides the texts, passed through the
engine untouched: for TextService the model name; for GenerativeService's
EmbedContent/BatchEmbedContents (one request per text, with ``task_type``, ``title`` and
``output_dimensionality``; vectors in ``embeddings[].values``) a small value holding those,
with the same engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from textservice._profiles import MAX_BATCH_ITEMS
from textservice._transport.methods import MethodSpec, RequestT, ResponseT

__all__ = ["ChunkRpc", "EmbedRecipe", "ManyTexts", "OneText"]

P = TypeVar("P")
"""The call's parameters a request is built from (besides its texts)."""
I = TypeVar("I")  # noqa: E741
"""One input item: a text (``str``), or a text with what else a request carries per item (a
document's title)."""


@dataclass(frozen=True)
class OneText(Generic[P, I, RequestT, ResponseT]):
    """How to embed one item with one RPC (EmbedText, EmbedContent)."""

    method: MethodSpec[RequestT, ResponseT]
    request: Callable[[P, I], RequestT]
    """The request for one item."""
    vector: Callable[[ResponseT], list[float]]
    """The response's vector (``[]`` when it has none)."""


@dataclass(frozen=True)
class ManyTexts(Generic[P, I, RequestT, ResponseT]):
    """How to embed up to ``max_texts`` items with one RPC (BatchEmbedText,
    BatchEmbedContents)."""

    method: MethodSpec[RequestT, ResponseT]
    request: Callable[[P, list[I]], RequestT]
    """The request for a chunk of items."""
    vectors: Callable[[ResponseT], list[list[float]]]
    """The response's vectors, in the order of the request's texts."""
    max_texts: int = MAX_BATCH_ITEMS
    """The most texts one request may hold (the API's limit)."""

    def __post_init__(self) -> None:
        if self.max_texts < 1:
            raise ValueError(f"ManyTexts.max_texts must be >= 1, got {self.max_texts}")


@dataclass(frozen=True)
class EmbedRecipe(Generic[P, I]):
    """How an API version embeds items: one per RPC, and many per RPC when it can."""

    one: OneText[P, I, Any, Any]
    many: ManyTexts[P, I, Any, Any] | None = None
    """``None``: the version has no batch RPC, so a list is embedded one text per RPC."""
    text: Callable[[I], str] | None = None
    """The text of an item, as the rate governor counts it (``None``: the item is a text)."""
    weight: Callable[[I], int] | None = None
    """About how many bytes an item adds to a request (media: its data), for ``budget``."""
    budget: int | None = None
    """The most bytes of ``weight`` one batch request holds (the API's request size): a
    chunk read from a stream ends before an item that would pass it (``None``: no limit)."""

    def texts(self, chunk: list[I]) -> list[str]:
        """The texts of ``chunk``'s items."""
        text = self.text
        if text is None:
            return cast("list[str]", chunk)
        return [text(item) for item in chunk]

    def chunk_rpc(self, params: P, size: int | None = None) -> ChunkRpc:
        """The RPC that embeds one chunk of a list: ``many`` with chunks of ``size`` texts
        (default ``max_texts``), else ``one`` with chunks of one text."""
        many = self.many
        if many is None:
            return self.one_rpc(params)

        def request_many(chunk: list[I]) -> Any:
            return many.request(params, chunk)

        chunk = many.max_texts if size is None else size
        return ChunkRpc(
            many.method,
            chunk,
            request_many,
            many.vectors,
            repeated=True,
            texts=self.texts,
            weight=self.weight,
            budget=self.budget,
        )

    def one_rpc(self, params: P) -> ChunkRpc:
        """The RPC that embeds one text, as a chunk of one."""
        one = self.one

        def request_one(chunk: list[I]) -> Any:
            return one.request(params, chunk[0])

        def vectors_one(response: Any) -> list[list[float]]:
            return [one.vector(response)]

        return ChunkRpc(one.method, 1, request_one, vectors_one, repeated=False, texts=self.texts)


@dataclass(frozen=True)
class ChunkRpc:
    """One chunk's RPC, bound to a call's parameters: what the engine runs per chunk."""

    method: MethodSpec[Any, Any]
    size: int
    """Texts per RPC."""
    request: Callable[[list[Any]], Any]
    """The request for a chunk of items."""
    vectors: Callable[[Any], list[list[float]]]
    """The response's vectors, read from the response message."""
    repeated: bool
    """Whether the response holds many vectors (else one, read as a chunk of one)."""
    texts: Callable[[list[Any]], list[str]] = list
    """The texts of a chunk's items (what a call costs against a quota)."""
    weight: Callable[[Any], int] | None = None
    """An item's bytes in a request (``EmbedRecipe.weight``)."""
    budget: int | None = None
    """The most bytes of ``weight`` a chunk holds (``EmbedRecipe.budget``)."""
