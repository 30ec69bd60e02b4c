"""A LlamaIndex ``BaseEmbedding`` on ``embed_content``: ``TextServiceEmbedding``.

Needs llama-index-core (the ``llama-index`` extra: ``pip install '.[llama-index]'`` in a
checkout of this project, or ``pip install llama-index-core``)::

    from llama_index.core import Settings
    from textservice.adapters.llama_index import TextServiceEmbedding

    Settings.embed_model = TextServiceEmbedding()   # the default model, client and key

Texts (nodes, documents) are embedded with the RETRIEVAL_DOCUMENT task type, queries with
RETRIEVAL_QUERY (``document_task_type``/``query_task_type`` change them; on
``models/gemini-embedding-2``, the default, they and the titles go into the text as its
instructions); LlamaIndex's async methods (``aget_query_embedding``,
``aget_text_embedding_batch``, ...) are ``embed_content_async`` calls on the running loop.
Failures are textservice's typed errors
(``textservice.ResourceExhausted``, ...), raised after the client's retries.

Titles: LlamaIndex already writes a node's metadata into the text it embeds (``key: value``
lines, unless the key is in ``excluded_embed_metadata_keys``). With ``title_key="title"``,
nodes embedded as a transformation (``IngestionPipeline(transformations=[..., embed_model])``,
or ``embed_model(nodes)``) also send ``node.metadata["title"]`` as each document's title
(none where a node has no such key), in one ``embed_content`` call for all the nodes, without
LlamaIndex's embedding cache, rate limiter and callback events. Anything that embeds texts
rather than nodes (``VectorStoreIndex``, ``get_text_embedding_batch``) sends no titles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Unpack

try:
    from llama_index.core.bridge.pydantic import Field, PrivateAttr
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.schema import BaseNode, MetadataMode
except ImportError as exc:
    raise ImportError(
        "textservice.adapters.llama_index needs llama-index-core, textservice's 'llama-index' "
        "extra: pip install llama-index-core (or pip install '.[llama-index]' in a checkout of "
        "textservice)"
    ) from exc

from textservice._checks import kind
from textservice._routes import DEFAULT_EMBEDDING_MODEL
from textservice.adapters._retrieval import (
    DOCUMENT_TASK,
    QUERY_TASK,
    RetrievalEmbedder,
    RetrievalOptions,
    args_doc,
)

__all__ = ["EMBED_BATCH_SIZE", "TextServiceEmbedding"]

EMBED_BATCH_SIZE = 1000
"""Texts per ``embed_content`` call by default (LlamaIndex's own default is 10): ten
BatchEmbedContents calls of 100, which the client sends up to ``max_concurrency`` (8) at a
time; LlamaIndex's sync methods send one of its batches after another."""


class _Options(RetrievalOptions, total=False):
    """``RetrievalOptions`` and ``BaseEmbedding``'s other fields, as it types them."""

    callback_manager: CallbackManager
    num_workers: int | None
    embeddings_cache: Any
    rate_limiter: Any


class TextServiceEmbedding(BaseEmbedding):
    __doc__ = f"""LlamaIndex's ``BaseEmbedding`` through textservice's ``embed_content``.

    Args:
{args_doc("model_name", "texts", "queries")}\
        title_key: The metadata key of a node's title (see the module docstring); needs the
            RETRIEVAL_DOCUMENT task type, the only one a title goes with.
        embed_batch_size: Texts per ``embed_content`` call (``EMBED_BATCH_SIZE``).
        **kwargs: ``BaseEmbedding``'s other fields (``callback_manager``, ``num_workers``,
            ``embeddings_cache``, ...).

    The client is not a field: ``to_dict()`` and ``to_json()`` hold the options only.
    """

    output_dimensionality: int | None = Field(
        default=None, description="Keep the first this many values of each vector."
    )
    normalize: bool = Field(default=False, description="Scale every vector to unit length.")
    document_task_type: str = Field(
        default=DOCUMENT_TASK, description="The task type texts are embedded with."
    )
    query_task_type: str = Field(
        default=QUERY_TASK, description="The task type queries are embedded with."
    )
    title_key: str | None = Field(
        default=None, description="The metadata key of a node's title, sent as its title."
    )
    _embedder: RetrievalEmbedder = PrivateAttr()

    def __init__(
        self,
        model_name: str = DEFAULT_EMBEDDING_MODEL,
        *,
        title_key: str | None = None,
        embed_batch_size: int = EMBED_BATCH_SIZE,
        **kwargs: Unpack[_Options],
    ) -> None:
        if title_key is not None and not isinstance(title_key, str):
            raise TypeError(f"title_key must be a str or None, got {kind(title_key)}")
        # RetrievalOptions' keys go to the embedder (which checks them), the rest to BaseEmbedding
        given: dict[str, Any] = dict(kwargs)
        options = {key: given.pop(key) for key in RetrievalOptions.__optional_keys__ & {*given}}
        embedder = RetrievalEmbedder(model_name, **options)
        if title_key is not None and not embedder.takes_titles:
            embedder.close()
            raise ValueError(
                f"title_key={title_key!r} needs document_task_type='RETRIEVAL_DOCUMENT' (the "
                f"only task type a title goes with), not {embedder.document_task_type!r}"
            )
        # this class's fields, which the type checker's view of BaseEmbedding.__init__ lacks
        fields: dict[str, Any] = {
            "output_dimensionality": embedder.output_dimensionality,
            "normalize": embedder.normalize,
            "document_task_type": embedder.document_task_type,
            "query_task_type": embedder.query_task_type,
            "title_key": title_key,
        }
        try:
            super().__init__(
                model_name=embedder.model, embed_batch_size=embed_batch_size, **fields, **given
            )
        except BaseException:
            embedder.close()  # the client made from client_options
            raise
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "TextServiceEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.query(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await self._embedder.query_async(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.documents([text])[0]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._embedder.documents_async([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.documents(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await self._embedder.documents_async(texts)

    def _texts_and_titles(self, nodes: Sequence[BaseNode]) -> tuple[list[str], list[str | None]]:
        """What a node is embedded as (``MetadataMode.EMBED``, as LlamaIndex does), and its
        title from ``title_key`` (``None``: the key is missing or ``None``)."""
        key = self.title_key
        assert key is not None
        texts, titles = [], []
        for i, node in enumerate(nodes):
            title = node.metadata.get(key)
            if title is not None and not isinstance(title, str):
                raise TypeError(f"nodes[{i}].metadata[{key!r}] must be a str, got {kind(title)}")
            texts.append(node.get_content(metadata_mode=MetadataMode.EMBED))
            titles.append(title)
        return texts, titles

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        """Embed ``nodes`` (a transformation), with their titles when ``title_key`` is set."""
        if self.title_key is None:
            return super().__call__(nodes, **kwargs)
        texts, titles = self._texts_and_titles(nodes)
        for node, vector in zip(nodes, self._embedder.documents(texts, titles), strict=True):
            node.embedding = vector
        return nodes

    async def acall(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        """``__call__`` for async code."""
        if self.title_key is None:
            return await super().acall(nodes, **kwargs)
        texts, titles = self._texts_and_titles(nodes)
        vectors = await self._embedder.documents_async(texts, titles)
        for node, vector in zip(nodes, vectors, strict=True):
            node.embedding = vector
        return nodes

    def close(self) -> None:
        """Close the client made from ``client_options`` (a client given stays open)."""
        self._embedder.close()

    async def aclose(self) -> None:
        """``close`` for async code."""
        await self._embedder.aclose()
