"""What the framework adapters share: documents and queries as ``embed_content`` calls.

LangChain's ``Embeddings`` and LlamaIndex's ``BaseEmbedding`` ask for the vectors of documents
(to store) and of queries (to search them with). ``RetrievalEmbedder`` makes each an
``embed_content`` (``embed_content_async``) call of v1beta with the document or the query task
type, so batching (BatchEmbedContents calls of at most 100 items, ``max_concurrency`` in
flight, input order), quotas, retries and the model's rules apply as to any call: on
``models/gemini-embedding-2`` the task type and title go into the text as its instructions
(``textservice._profiles``). It imports neither framework.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from textservice._checks import check_count, check_model, check_text, check_texts, kind
from textservice._facade.content_calls import task_type as content_task_type
from textservice._profiles import TASK_TYPE_ALIASES, takes_title
from textservice._proto.google.ai.generativelanguage.v1beta import TaskType
from textservice._routes import DEFAULT_EMBEDDING_MODEL
from textservice._transport.options import check_request_options
from textservice.client import Client
from textservice.v1beta import embed_content, embed_content_async

__all__ = [
    "DOCUMENT_TASK",
    "QUERY_TASK",
    "RetrievalEmbedder",
    "RetrievalOptions",
    "args_doc",
    "known_options",
]

DOCUMENT_TASK = TASK_TYPE_ALIASES["document"]
"""The task type documents are embedded with unless the adapter is told another
(RETRIEVAL_DOCUMENT)."""

QUERY_TASK = TASK_TYPE_ALIASES["query"]
"""The task type queries are embedded with unless the adapter is told another
(RETRIEVAL_QUERY)."""

Item = str | Mapping[str, str | None]


class RetrievalOptions(TypedDict, total=False):
    """The keyword arguments every adapter takes and hands to ``RetrievalEmbedder`` (its
    signature holds their defaults; a type checker holds the two to each other)."""

    output_dimensionality: int | None
    normalize: bool
    client: Client | None
    client_options: Mapping[str, Any] | None
    request_options: Mapping[str, object] | None
    document_task_type: TaskType | str | int
    query_task_type: TaskType | str | int


def known_options(owner: type, options: RetrievalOptions) -> RetrievalOptions:
    """``options``, refused with the ``TypeError`` Python gives a call to ``owner`` if one of
    them is not a ``RetrievalOptions`` key (so the error names the adapter, not this module)."""
    for name in options:
        if name not in RetrievalOptions.__optional_keys__:
            raise TypeError(f"{owner.__name__}() got an unexpected keyword argument {name!r}")
    return options


def args_doc(model: str, documents: str, queries: str) -> str:
    """The ``Args`` entries (indented as in a class docstring) of an adapter's model argument
    (named ``model``) and of ``RetrievalOptions``; ``documents`` and ``queries`` say what
    the two task types are for."""
    return f"""\
        {model}: The embedding model (a bare id gets ``models/``); default
            ``textservice``'s default embedding model.
        output_dimensionality: Keep the first this many values of each vector.
        normalize: Scale every vector to unit length (as Google asks for vectors shortened
            with ``output_dimensionality``).
        client: The ``textservice.Client`` to call through (left open by ``close``).
        client_options: ``Client``'s keyword arguments, for a client of this object's own
            (closed by ``close``/``aclose``); not with ``client``. With neither, the default
            client (``textservice.configure``, ``GOOGLE_API_KEY``, ``TEXTSERVICE_ENDPOINT``).
        request_options: ``{{"timeout": ..., "retry": ...}}`` for each call.
        document_task_type: The task type of {documents} (default RETRIEVAL_DOCUMENT), as
            ``embed_content`` takes it.
        query_task_type: The task type of {queries} (default RETRIEVAL_QUERY).
"""


class _CallOptions(TypedDict):
    """The keyword arguments of an adapter's ``embed_content`` calls."""

    task_type: str
    output_dimensionality: int | None
    client: Client | None
    request_options: Mapping[str, object] | None
    normalize: bool


class RetrievalEmbedder:
    """Documents and queries as ``embed_content`` calls, with the options every adapter takes
    (see the adapters' docstrings); every option is checked here, before any call.

    The client is ``client`` (used, never closed here), or one made from ``client_options``
    (``Client``'s keyword arguments; closed by ``close``/``aclose``), or, with neither, the
    default client (``configure``, ``GOOGLE_API_KEY``, ``TEXTSERVICE_ENDPOINT``).
    """

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDING_MODEL,
        *,
        output_dimensionality: int | None = None,
        normalize: bool = False,
        client: Client | None = None,
        client_options: Mapping[str, Any] | None = None,
        request_options: Mapping[str, object] | None = None,
        document_task_type: TaskType | str | int = DOCUMENT_TASK,
        query_task_type: TaskType | str | int = QUERY_TASK,
    ) -> None:
        self.model = check_model(model)
        """The model's resource name (a bare id gets ``models/``)."""
        self.output_dimensionality = (
            None
            if output_dimensionality is None
            else check_count(output_dimensionality, "output_dimensionality", high=2**31 - 1)
        )
        if not isinstance(normalize, bool):
            raise TypeError(f"normalize must be a bool, got {kind(normalize)}")
        self.normalize = normalize
        self.document_task_type = content_task_type(
            TaskType, document_task_type, "document_task_type"
        ).name
        """The task type's name documents are embedded with."""
        self.query_task_type = content_task_type(TaskType, query_task_type, "query_task_type").name
        """The task type's name queries are embedded with."""
        check_request_options(request_options)
        self.request_options = dict(request_options) if request_options is not None else None
        if client is not None and client_options is not None:
            raise TypeError("give client or client_options, not both")
        if client is not None and not isinstance(client, Client):
            raise TypeError(f"client must be a textservice.Client or None, got {kind(client)}")
        if client_options is not None and not isinstance(client_options, Mapping):
            raise TypeError(
                f"client_options must be a mapping of Client's options, got {kind(client_options)}"
            )
        self._owns_client = client_options is not None
        self.client = Client(**client_options) if client_options is not None else client
        """The client calls go through (``None``: the default client)."""

    @property
    def takes_titles(self) -> bool:
        """Whether documents may have titles (only the RETRIEVAL_DOCUMENT task type takes
        one)."""
        return takes_title(self.document_task_type)

    def _items(self, texts: object, titles: object) -> list[Item]:
        """``texts`` with their ``titles`` (``None``: none, for all or for one)."""
        checked = check_texts(texts)
        if titles is None:
            return list(checked)
        if isinstance(titles, str) or not isinstance(titles, Sequence):
            raise TypeError(f"titles must be a sequence of str or None, got {kind(titles)}")
        if len(titles) != len(checked):
            raise ValueError(f"{len(titles)} titles for {len(checked)} texts")
        return [
            text if title is None else {"text": text, "title": title}
            for text, title in zip(checked, titles, strict=True)
        ]

    def _options(self, task_type: str) -> _CallOptions:
        """``embed_content``'s keyword arguments for a call with ``task_type``."""
        return {
            "task_type": task_type,
            "output_dimensionality": self.output_dimensionality,
            "client": self.client,
            "request_options": self.request_options,
            "normalize": self.normalize,
        }

    def documents(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None
    ) -> list[list[float]]:
        """The vectors of ``texts`` (documents), in order; ``titles`` gives each its own
        title (``None``: none)."""
        items = self._items(texts, titles)
        return embed_content(self.model, items, **self._options(self.document_task_type))[
            "embedding"
        ]

    async def documents_async(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None
    ) -> list[list[float]]:
        """``documents`` for async code (on the running loop)."""
        items = self._items(texts, titles)
        options = self._options(self.document_task_type)
        return (await embed_content_async(self.model, items, **options))["embedding"]

    def query(self, text: str) -> list[float]:
        """The vector of ``text`` (a query)."""
        options = self._options(self.query_task_type)
        return embed_content(self.model, self._query(text), **options)["embedding"]

    async def query_async(self, text: str) -> list[float]:
        """``query`` for async code (on the running loop)."""
        options = self._options(self.query_task_type)
        return (await embed_content_async(self.model, self._query(text), **options))["embedding"]

    @staticmethod
    def _query(text: object) -> str:
        if not isinstance(text, str):
            raise TypeError(f"a query must be a str, got {kind(text)}")
        checked = check_text(text, "query")
        assert isinstance(checked, str)
        return checked

    def close(self) -> None:
        """Close the client made from ``client_options`` (a client given is left open)."""
        if self._owns_client and self.client is not None:
            self.client.close()

    async def aclose(self) -> None:
        """``close`` for async code."""
        if self._owns_client and self.client is not None:
            await self.client.aclose()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model!r}, "
            f"document_task_type={self.document_task_type!r}, "
            f"query_task_type={self.query_task_type!r}, "
            f"output_dimensionality={self.output_dimensionality!r}, normalize={self.normalize})"
        )
