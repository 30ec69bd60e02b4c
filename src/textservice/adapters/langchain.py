"""A LangChain ``Embeddings`` on ``embed_content``: ``TextServiceEmbeddings``.

Needs langchain-core (the ``langchain`` extra: ``pip install '.[langchain]'`` in a checkout of
this project, or ``pip install langchain-core``)::

    from langchain_core.vectorstores import InMemoryVectorStore
    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings()         # the default model, client and key
    store = InMemoryVectorStore.from_texts(["a cat", "a car"], embeddings)
    store.similarity_search("kitten", k=1)

``embed_documents`` embeds with the RETRIEVAL_DOCUMENT task type, ``embed_query`` with
RETRIEVAL_QUERY (``document_task_type``/``query_task_type`` change them; on
``models/gemini-embedding-2``, the default, they and the titles go into the text as its
instructions); the async methods (``aembed_documents``, ``aembed_query``) are
``embed_content_async`` calls on the running loop, not threads. Failures are textservice's
typed errors (``textservice.ResourceExhausted``, ...), raised after the client's retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

try:
    from langchain_core.embeddings import Embeddings
except ImportError as exc:
    raise ImportError(
        "textservice.adapters.langchain needs langchain-core, textservice's 'langchain' extra: "
        "pip install langchain-core (or pip install '.[langchain]' in a checkout of textservice)"
    ) from exc

from textservice._routes import DEFAULT_EMBEDDING_MODEL
from textservice.adapters._retrieval import (
    RetrievalEmbedder,
    RetrievalOptions,
    args_doc,
    known_options,
)

__all__ = ["TextServiceEmbeddings"]


class TextServiceEmbeddings(Embeddings):
    __doc__ = f"""LangChain's ``Embeddings`` through textservice's ``embed_content``.

    Args:
{args_doc("model", "``embed_documents``", "``embed_query``")}    """

    def __init__(
        self, model: str = DEFAULT_EMBEDDING_MODEL, **options: Unpack[RetrievalOptions]
    ) -> None:
        self._embedder = RetrievalEmbedder(model, **known_options(type(self), options))

    @property
    def model(self) -> str:
        """The model's resource name."""
        return self._embedder.model

    def embed_documents(
        self, texts: list[str], *, titles: Sequence[str | None] | None = None
    ) -> list[list[float]]:
        """The vectors of ``texts``, in order (``[]`` for none, without a call).

        ``titles``, one per text (``None``: none), gives each document its own title; only
        the RETRIEVAL_DOCUMENT task type takes titles (``ValueError`` otherwise).
        """
        return self._embedder.documents(texts, titles)

    def embed_query(self, text: str) -> list[float]:
        """The vector of the query ``text``."""
        return self._embedder.query(text)

    async def aembed_documents(
        self, texts: list[str], *, titles: Sequence[str | None] | None = None
    ) -> list[list[float]]:
        """``embed_documents`` for async code."""
        return await self._embedder.documents_async(texts, titles)

    async def aembed_query(self, text: str) -> list[float]:
        """``embed_query`` for async code."""
        return await self._embedder.query_async(text)

    def close(self) -> None:
        """Close the client made from ``client_options`` (a client given stays open)."""
        self._embedder.close()

    async def aclose(self) -> None:
        """``close`` for async code."""
        await self._embedder.aclose()

    def __repr__(self) -> str:
        return repr(self._embedder).replace(type(self._embedder).__name__, type(self).__name__)
