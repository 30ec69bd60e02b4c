"""Embedding a dataset on Ray Data (or Dask, or Spark) with one client per worker.

Needs Ray Data and pyarrow (the ``ray`` extra: ``pip install '.[ray]'`` in a checkout of
this project, or ``pip install 'ray[data]' pyarrow``). The idiom for batch inference against
a remote API is a callable class given to ``map_batches``: Ray makes one instance per worker
(an actor), which keeps one client, with its connection and up to ``max_concurrency`` calls
in flight, for every batch the worker gets::

    import ray
    from textservice.ray import Embedder

    ds = ray.data.read_parquet("s3://bucket/docs/")           # a column "text"
    ds = ds.map_batches(
        Embedder,                      # models/gemini-embedding-2: 3,072 dimensions
        # checked on the driver; each worker makes its Embedder from them
        fn_constructor_kwargs=Embedder.checked_kwargs(workers=4, task_type="document"),
        compute=ray.data.ActorPoolStrategy(size=4),  # workers; the same number in "workers"
        batch_size=1000,               # rows per call of the embedder
        batch_format="pyarrow",        # or "pandas", or "numpy"
    )
    ds.write_parquet("s3://bucket/vectors/")                  # "text", ..., "embedding"

Each batch gets an ``embedding`` column of float32 vectors (``fixed_size_list<float32>[dim]``
for pyarrow batches, a 2-D float32 array for numpy batches, one float32 array per row for
pandas batches), in the batch's row order; the other columns are kept.

- **The model** is ``models/gemini-embedding-2`` unless ``model`` names another (e.g.
  ``models/gemini-embedding-001``, text only); it embeds through GenerativeService
  ``embed_content`` (BatchEmbedContents calls of at most 100 rows), with ``task_type``,
  ``output_dimensionality``, ``normalize`` and a per-row title from ``title_column`` as
  ``embed_content`` takes them (for gemini-embedding-2, as instruction text). The legacy
  ``models/embedding-gecko-*`` (which Google retired) still go through TextService
  ``generate_embeddings``, which has none of those options (``ValueError`` if one is given).
  Everything is checked when an ``Embedder`` is made; ``map_batches`` makes them in the
  workers, so give it ``fn_constructor_kwargs=Embedder.checked_kwargs(...)``, which checks
  them on the driver, before any task (else a mistake surfaces as Ray's error that the
  actors died, carrying the ``ValueError``).
- **Media**: ``file_column`` names a column of file paths (the mime type from each suffix)
  or of bytes, with ``mime_type`` (one for every row) or ``mime_type_column`` (one per row);
  each row is one media item, one vector, for a model that takes media.
- **The client** is made in each worker from ``client_options`` (``TextServiceClient``'s
  keyword arguments: ``endpoint``, ``timeout``, ``retry``, ``max_concurrency``, and the
  quota settings clients take), on the worker's first batch, never on the driver: an
  ``Embedder`` pickles without its client, so it also serves Dask's ``map_partitions`` and a
  Spark pandas UDF. The API key comes from ``client_options["api_key"]`` or the worker's
  ``GOOGLE_API_KEY`` (give it to the workers with Ray's ``runtime_env={"env_vars": ...}``
  rather than in ``fn_constructor_kwargs``, which Ray stores with the task).
- **Each worker takes its share of a quota**: a client's limits are its own, so each
  worker's client gets ``quota_share`` divided by ``workers``; the limits given in
  ``client_options`` for the whole job (``requests_per_minute``, ...) and those learned from
  the server's quota errors are then split among the workers.
- **Failures** are the client's typed errors (``textservice.ResourceExhausted``, ...), raised
  in the worker after the client's retries; Ray stops the dataset. With
  ``ray.data.DataContext.get_current().raise_original_map_exception = True`` on the driver it
  raises the error there as a Ray task error that is also an instance of that error class
  (``except textservice.ResourceExhausted`` works, ``is_daily_quota`` and ``details`` are
  there); by default Ray Data raises its own ``UserCodeException``, whose message carries the
  error's.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textservice._checks import check_count, check_model, kind
from textservice._facade import fields
from textservice._facade.content import task_type as content_task_type
from textservice._profiles import TITLED_TASK, profile_for, takes_title
from textservice._proto.google.ai.generativelanguage.v1beta import TaskType
from textservice._routes import DEFAULT_EMBEDDING_MODEL, uses_text_service
from textservice.client import TextServiceClient

if TYPE_CHECKING:
    import numpy
    import numpy.typing

__all__ = ["Embedder", "worker_client_options"]


def worker_client_options(options: Mapping[str, Any], workers: int) -> dict[str, Any]:
    """``options`` for one of ``workers`` clients sharing a quota: ``quota_share`` (default 1,
    the whole quota) divided by ``workers``. The client applies its share to every limit,
    given (``requests_per_minute``, ``texts_per_minute``, ``tokens_per_minute``: the job's
    limits) or learned from the server's quota errors (the project's), so the workers
    together stay within them."""
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"workers must be an int, not {type(workers).__name__}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    shared = dict(options)
    if workers > 1:
        share = shared.get("quota_share", 1.0)
        if isinstance(share, bool) or not isinstance(share, int | float):
            raise TypeError(f"quota_share must be a number, not {type(share).__name__}")
        shared["quota_share"] = share / workers
    return shared


def _float32_rows(vectors: Any) -> Any:
    import numpy

    return numpy.ascontiguousarray(vectors, dtype=numpy.float32)


def _titled(item: Any, title: str | None) -> Any:
    """``item`` (a text, a path or a blob) with its own title."""
    if title is None:
        return item
    if isinstance(item, str):
        return {"text": item, "title": title}
    return {"parts": [item], "title": title}


def _title(value: object) -> Any:
    """A row's title: ``None`` for a null (``None``, or the NaN a float column holds);
    anything else as it is (``embed_content`` checks it)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class Embedder:
    """Adds an embedding column to each batch: a callable class for Ray Data's
    ``map_batches`` (see the module docstring).

    Every model but TextService's goes through GenerativeService ``embed_content``
    (BatchEmbedContents); ``models/embedding-gecko-*`` go through TextService
    ``generate_embeddings``, which has none of the options ``task_type``,
    ``output_dimensionality``, ``normalize`` and ``title_column`` (``ValueError`` here if
    one is given with such a model). Every argument is checked here, before any call;
    ``Embedder.checked_kwargs`` does the same on the driver for ``fn_constructor_kwargs``.

    Args:
        model: The embedding model (default ``"models/gemini-embedding-2"``, 3,072
            dimensions).
        text_column: The column of texts (strings, none empty).
        output_column: The column the vectors go to.
        client_options: Keyword arguments of ``TextServiceClient`` for each worker's client.
        workers: How many workers share the job (the actor pool's size): each client's
            ``quota_share`` is divided by it.
        request_options: ``{"timeout": ..., "retry": ...}`` for each batch's call.
        task_type: The task the embeddings are for, as ``embed_content`` takes it (the enum
            member, its number, or its name in any case, e.g. ``"retrieval_document"`` or
            ``"document"``).
        output_dimensionality: Keep the first this many values of each vector (a positive
            int).
        normalize: Scale every vector to unit length (as Google asks for vectors shortened
            with ``output_dimensionality``).
        title_column: A column of titles, one per row (a null title: none for that row);
            needs ``task_type="RETRIEVAL_DOCUMENT"``, the only task a title goes with.
        file_column: A column of media to embed instead of ``text_column``: file paths
            (strings; the mime type from the suffix, unless given below) or bytes (with a
            mime type below). Needs a model that takes media (gemini-embedding-2).
        mime_type: The mime type of every row of ``file_column`` (``"image/png"``, ...).
        mime_type_column: A column of each row's mime type.
    """

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDING_MODEL,
        *,
        text_column: str = "text",
        output_column: str = "embedding",
        client_options: Mapping[str, Any] | None = None,
        workers: int = 1,
        request_options: Mapping[str, object] | None = None,
        task_type: TaskType | str | int | None = None,
        output_dimensionality: int | None = None,
        normalize: bool = False,
        title_column: str | None = None,
        file_column: str | None = None,
        mime_type: str | None = None,
        mime_type_column: str | None = None,
    ) -> None:
        self.model = check_model(model)
        self.text_column = text_column
        self.output_column = output_column
        self.workers = workers
        self._client_options = worker_client_options(dict(client_options or {}), workers)
        self._request_options = dict(request_options) if request_options else None
        normalize = fields.boolean(normalize, "normalize")
        if title_column is not None and not isinstance(title_column, str):
            raise TypeError(f"title_column must be a str or None, not {kind(title_column)}")
        if uses_text_service(self.model):
            given = [
                name
                for name, value in (
                    ("task_type", task_type),
                    ("output_dimensionality", output_dimensionality),
                    ("title_column", title_column),
                )
                if value is not None
            ] + (["normalize"] if normalize else [])
            if given:
                raise ValueError(
                    f"{', '.join(given)}: not with {self.model!r}, which embeds through "
                    "TextService generate_embeddings, which takes none of task_type, "
                    "output_dimensionality, normalize and title_column; use an "
                    f"embed_content model such as {DEFAULT_EMBEDDING_MODEL!r}"
                )
        self.task_type = (
            None if task_type is None else content_task_type(TaskType, task_type, "task_type").name
        )
        """The task type's name (checked), or ``None``."""
        self.output_dimensionality = (
            None
            if output_dimensionality is None
            else check_count(output_dimensionality, "output_dimensionality", high=2**31 - 1)
        )
        self.normalize = normalize
        self.title_column = title_column
        if title_column is not None:
            self._check_titled(f"title_column={title_column!r}")
        self.file_column, self.mime_type, self.mime_type_column = self._check_media(
            file_column, mime_type, mime_type_column
        )
        self._client: TextServiceClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def checked_kwargs(cls, model: str = DEFAULT_EMBEDDING_MODEL, **kwargs: Any) -> dict[str, Any]:
        """The keyword arguments of an ``Embedder``, checked here as ``Embedder(...)`` checks
        them, for ``map_batches(Embedder, fn_constructor_kwargs=...)``: Ray makes each
        ``Embedder`` in a worker, so a bad argument would otherwise surface only when Ray
        starts its actors; with this it raises on the driver, before any task."""
        cls(model, **kwargs)  # no client is made until a batch needs one
        return {"model": model, **kwargs}

    def _check_media(
        self, file_column: object, mime_type: object, mime_type_column: object
    ) -> tuple[str | None, str | None, str | None]:
        for name, value in (
            ("file_column", file_column),
            ("mime_type", mime_type),
            ("mime_type_column", mime_type_column),
        ):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, not {kind(value)}")
        if file_column is None:
            if mime_type is not None or mime_type_column is not None:
                raise ValueError("mime_type and mime_type_column go with file_column")
            return None, None, None
        if mime_type is not None and mime_type_column is not None:
            raise ValueError("give mime_type (every row's) or mime_type_column, not both")
        if uses_text_service(self.model) or profile_for(self.model).media is None:
            raise ValueError(
                f"file_column={file_column!r}: {self.model!r} embeds text only; use a model "
                f"that takes media, such as {DEFAULT_EMBEDDING_MODEL!r}"
            )
        assert isinstance(file_column, str)
        return (
            file_column,
            mime_type if isinstance(mime_type, str) else None,
            mime_type_column if isinstance(mime_type_column, str) else None,
        )

    def _media(self, values: Sequence[Any], mime_types: Sequence[Any] | None) -> list[Any]:
        """The rows of the file column as ``embed_content`` items: a path (its mime type from
        its suffix, or read with the given one), or bytes with their mime type."""
        items: list[Any] = []
        for i, value in enumerate(values):
            mime = self.mime_type if mime_types is None else mime_types[i]
            if isinstance(value, bytes | bytearray | memoryview):
                if mime is None:
                    raise ValueError(
                        f"row {i} of {self.file_column!r} holds bytes: give mime_type or "
                        "mime_type_column"
                    )
                items.append({"mime_type": mime, "data": bytes(value)})
            elif isinstance(value, str | os.PathLike):
                path = Path(value)
                items.append(
                    path if mime is None else {"mime_type": mime, "data": path.read_bytes()}
                )
            else:
                raise TypeError(
                    f"row {i} of {self.file_column!r} must be a path or bytes, not {kind(value)}"
                )
        return items

    def _check_titled(self, what: str) -> None:
        if uses_text_service(self.model):
            raise ValueError(f"{what}: TextService model {self.model!r} takes no titles")
        if not takes_title(self.task_type):
            raise ValueError(
                f"{what} needs task_type={TITLED_TASK!r} (got {self.task_type}): the API uses "
                "titles only for documents embedded for retrieval"
            )

    def __repr__(self) -> str:
        # client_options may hold the API key: not shown.
        return f"Embedder(model={self.model!r}, workers={self.workers})"

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its client (and lock): each process makes its own."""
        state = self.__dict__.copy()
        state["_client"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def client(self) -> TextServiceClient:
        """This process's client (made on first use)."""
        with self._lock:
            if self._client is None or self._client.closed:
                self._client = TextServiceClient(**self._client_options)
            return self._client

    def embed_files(
        self,
        values: Sequence[Any],
        mime_types: Sequence[str] | None = None,
        titles: Sequence[str | None] | None = None,
    ) -> numpy.typing.NDArray[numpy.float32]:
        """The embeddings of media rows (paths or bytes, as ``file_column`` holds them) as
        one ``(len(values), dim)`` float32 array, in order; ``mime_types`` per row (default:
        ``mime_type``, or the paths' suffixes); ``titles`` as for ``embed``."""
        return self.embed(self._media(values, mime_types), titles)

    def embed(
        self, texts: Sequence[Any], titles: Sequence[str | None] | None = None
    ) -> numpy.typing.NDArray[numpy.float32]:
        """The embeddings of ``texts`` (or of ``embed_content`` items) as one
        ``(len(texts), dim)`` float32 array, in order; ``titles`` (as many, ``None`` for
        none) gives each its own title."""
        if uses_text_service(self.model):
            if titles is not None:
                self._check_titled("titles")
            from textservice.v1beta import generate_embeddings

            result = generate_embeddings(
                self.model,
                list(texts),
                client=self.client,
                request_options=self._request_options,
                output="numpy",
            )
        else:
            from textservice.v1beta import embed_content

            items: list[Any] = list(texts)
            if titles is not None:
                self._check_titled("titles")
                titles = list(titles)
                if len(titles) != len(items):
                    raise ValueError(f"{len(titles)} titles for {len(items)} texts")
                items = [
                    _titled(item, title)
                    for item, title in zip(items, map(_title, titles), strict=True)
                ]
            result = embed_content(
                self.model,
                items,
                task_type=self.task_type,
                output_dimensionality=self.output_dimensionality,
                client=self.client,
                request_options=self._request_options,
                output="numpy",
                normalize=self.normalize,
            )
        vectors: numpy.typing.NDArray[numpy.float32] = _float32_rows(result["embedding"])
        return vectors

    def __call__(self, batch: Any) -> Any:
        """``batch`` (a ``pyarrow.Table``, a ``pandas.DataFrame`` or a dict of numpy arrays)
        with the embeddings of its text column (and titles of its title column) added."""
        column = self.title_column
        if isinstance(batch, Mapping):  # Ray's "numpy" (and "default") batch format
            titles = None if column is None else list(batch[column])
            out = dict(batch)
            if self.file_column is not None:
                vectors = self.embed_files(
                    list(batch[self.file_column]),
                    self._column(lambda name: [str(m) for m in batch[name]]),
                    titles,
                )
            else:
                texts = [str(t) if not isinstance(t, str) else t for t in batch[self.text_column]]
                vectors = self.embed(texts, titles)
            out[self.output_column] = vectors
            return out
        module = type(batch).__module__.split(".")[0]
        if module == "pyarrow":
            import pyarrow

            titles = None if column is None else batch.column(column).to_pylist()
            if self.file_column is not None:
                vectors = self.embed_files(
                    batch.column(self.file_column).to_pylist(),
                    self._column(lambda name: batch.column(name).to_pylist()),
                    titles,
                )
            else:
                vectors = self.embed(batch.column(self.text_column).to_pylist(), titles)
            dim = vectors.shape[1] if vectors.ndim == 2 else 0
            embeddings = pyarrow.FixedSizeListArray.from_arrays(
                pyarrow.array(vectors.reshape(-1), type=pyarrow.float32()), dim
            )
            if self.output_column in batch.column_names:
                batch = batch.drop_columns([self.output_column])
            return batch.append_column(self.output_column, embeddings)
        if module == "pandas":
            titles = None
            if column is not None:
                values = batch[column]  # None, NaN or pd.NA for a null
                titles = [
                    None if null else t
                    for t, null in zip(values.tolist(), values.isna().tolist(), strict=True)
                ]
            if self.file_column is not None:
                vectors = self.embed_files(
                    batch[self.file_column].tolist(),
                    self._column(lambda name: batch[name].tolist()),
                    titles,
                )
            else:
                vectors = self.embed(batch[self.text_column].tolist(), titles)
            out = batch.copy(deep=False)
            out[self.output_column] = list(vectors)
            return out
        raise TypeError(
            "Embedder takes a pyarrow.Table, a pandas.DataFrame or a dict of numpy arrays, "
            f"not {type(batch).__name__}"
        )

    def _column(self, read: Any) -> list[str] | None:
        """The batch's mime type column (``read(name)``), if there is one."""
        return None if self.mime_type_column is None else list(read(self.mime_type_column))

    def close(self) -> None:
        """Close this process's client (a later batch makes a new one)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
