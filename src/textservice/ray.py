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
        # checked on the driver: the Embedder's arguments, a pool of 4 actors, their CPUs
        **Embedder.map_batches_kwargs(workers=4, task_type="document"),
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
  workers, so ``Embedder.map_batches_kwargs`` (or ``checked_kwargs``, the arguments alone)
  checks them on the driver, before any task (else a mistake surfaces as Ray's error that
  the actors died, carrying the ``ValueError``).
- **Media**: ``file_column`` names a column of file paths (the mime type from each suffix)
  or of bytes, with ``mime_type`` (one for every row) or ``mime_type_column`` (one per row);
  each row is one media item, one vector, for a model that takes media.
- **The pool** is given once, ``workers=N`` (or ``compute=`` a pool with a ``max_size``), and
  each actor reserves ``actor_cpus`` of a CPU: its work is waiting on the network, and Ray
  Data starts no read or write task (one whole CPU each) while actors hold every CPU.
- **The client** is made in each worker from ``client_options`` (``Client``'s
  keyword arguments: ``endpoint``, ``timeout``, ``retry``, ``max_concurrency``, and the
  quota settings clients take), on the worker's first batch, never on the driver: an
  ``Embedder`` pickles without its client, so it also serves Dask's ``map_partitions`` and a
  Spark pandas UDF. The API key is the worker's ``GOOGLE_API_KEY`` (from its own
  environment), or ``client_options["api_key"]`` as a key source read in the worker
  (``KeyFile``, ``KeyEnvVar``, a callable). The key itself is refused by ``checked_kwargs``
  and by pickling; one that came through a ``runtime_env`` (which Ray writes to its logs)
  gives a ``KeyExposureWarning``.
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
import sys
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textservice._checks import check_count, check_model, kind
from textservice._facade import fields
from textservice._facade.content_calls import task_type as content_task_type
from textservice._profiles import TITLED_TASK, profile_for, takes_title
from textservice._proto.google.ai.generativelanguage.v1beta import TaskType
from textservice._routes import DEFAULT_EMBEDDING_MODEL, uses_text_service
from textservice._transport.secrets import KeyEnvVar, KeyFile, KeySource, read_key
from textservice.client import API_KEY_ENV, Client

if TYPE_CHECKING:
    import numpy
    import numpy.typing

__all__ = [
    "ACTOR_CPUS",
    "Embedder",
    "KeyEnvVar",
    "KeyExposureWarning",
    "KeyFile",
    "KeySource",
    "actor_cpus",
    "worker_client_options",
]

ACTOR_CPUS = 0.25
"""The CPUs an ``Embedder`` actor reserves by default, at most: its work is waiting on the
network (Ray uses the figure to place actors, not to limit them)."""

_KEY_ADVICE = (
    "give the workers the key where they run instead: leave api_key out (each worker's "
    f"{API_KEY_ENV}: on a local ray.init() the driver's environment, on a cluster the "
    "environment 'ray start' ran in), or client_options={'api_key': KeyFile(path)} for a file "
    "each worker can read, KeyEnvVar(name) for another variable of the worker's environment, "
    "or any picklable callable that fetches the key (from a secret manager, say)"
)


class KeyExposureWarning(UserWarning):
    """The API key reached a Ray worker in a way Ray records: in a ``runtime_env``'s
    ``env_vars`` (written in plain text to ``session_*/logs/runtime_env_agent.log``) or as
    a literal in the Embedder's arguments (kept with the actor's task).

    A warning, not a log record: the fix is in the calling code (the split Python's logging
    HOWTO draws), it can be filtered or made an error by category, and Ray prints a worker's
    warnings on the driver."""


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


def actor_cpus(workers: int, cluster_cpus: float) -> float:
    """The CPUs each of ``workers`` actors reserves on a cluster of ``cluster_cpus`` CPUs:
    ``ACTOR_CPUS``, less where the pool would otherwise leave less than one CPU free. Ray Data
    runs its read and write tasks with one CPU each, and starts no task while the pool holds
    the rest (a pool of 4 actors at 0.5 CPU on 2 CPUs waits forever, measured with Ray 2.60);
    with one CPU or less the actors reserve none. Rounded down to Ray's precision (0.0001)."""
    check_count(workers, "workers")
    free = cluster_cpus - 1
    if free <= 0:
        return 0.0
    return math.floor(min(ACTOR_CPUS, free / workers) * 10_000) / 10_000


def _cluster_cpus() -> float:
    """The CPUs of the Ray cluster this process is connected to; before ``ray.init()``, those
    of this machine (where Ray Data would start a local cluster)."""
    import ray

    if ray.is_initialized():
        resources = ray.cluster_resources()  # type: ignore[no-untyped-call]  # ray is untyped
        return float(resources.get("CPU", 0.0))
    return float(
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def _pool_size(compute: Any) -> int:
    """The most actors ``compute`` (a ``ray.data.ActorPoolStrategy``) runs at once."""
    size = getattr(compute, "max_size", None)
    if size is None:
        raise TypeError(
            f"compute must be a ray.data.ActorPoolStrategy, not {type(compute).__name__}"
        )
    if size == math.inf:
        raise ValueError(
            "compute: an actor pool without max_size; give it one (the clients share the "
            "quota among at most that many workers)"
        )
    return int(size)


def _ray_worker_env_vars() -> dict[str, str]:
    """The ``env_vars`` of the Ray runtime environment this process runs in (a task's or
    actor's merged with the job's); none outside Ray."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return {}
    env_vars = ray.get_runtime_context().runtime_env.get("env_vars") or {}
    return {str(name): str(value) for name, value in env_vars.items()}


def _in_ray_actor() -> bool:
    ray = sys.modules.get("ray")
    return (
        ray is not None
        and ray.is_initialized()
        and ray.get_runtime_context().get_actor_id() is not None
    )


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
        client_options: Keyword arguments of ``Client`` for each worker's client;
            ``api_key`` may also be a key source (``KeyFile``, ``KeyEnvVar``, a callable),
            read where the client is made. An ``Embedder`` holding the key itself is not
            pickled (``TypeError``).
        workers: How many workers share the job (the actor pool's size): each client's
            ``quota_share`` is divided by it (``map_batches_kwargs`` sets it from the pool).
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
        key = self._client_options.get("api_key")
        if not (key is None or isinstance(key, str) or callable(key)):
            raise TypeError(
                "client_options['api_key'] must be a str, a key source (KeyFile, KeyEnvVar, "
                f"a callable returning the key) or None, not {kind(key)}"
            )
        if isinstance(key, str) and _in_ray_actor():
            warnings.warn(
                KeyExposureWarning(
                    "the API key reached this Ray worker as a literal in the Embedder's "
                    f"arguments, which Ray keeps with the actor's task; {_KEY_ADVICE}"
                ),
                stacklevel=2,
            )
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
        if self.output_dimensionality is not None:
            profile = profile_for(self.model)
            error = profile.dimensionality_error(self.output_dimensionality, self.model)
            if error is not None:
                raise ValueError(error)
        self.normalize = normalize
        self.title_column = title_column
        if title_column is not None:
            self._check_titled(f"title_column={title_column!r}")
        self.file_column, self.mime_type, self.mime_type_column = self._check_media(
            file_column, mime_type, mime_type_column
        )
        self._client: Client | None = None
        self._lock = threading.Lock()

    @classmethod
    def checked_kwargs(cls, model: str = DEFAULT_EMBEDDING_MODEL, **kwargs: Any) -> dict[str, Any]:
        """The keyword arguments of an ``Embedder``, checked here as ``Embedder(...)`` checks
        them, for ``map_batches(Embedder, fn_constructor_kwargs=...)``: Ray makes each
        ``Embedder`` in a worker, so a bad argument would otherwise surface only when Ray
        starts its actors; with this it raises on the driver, before any task."""
        cls(model, **kwargs)  # no client is made until a batch needs one
        if isinstance(dict(kwargs.get("client_options") or {}).get("api_key"), str):
            raise ValueError(
                "client_options['api_key'] is the key itself, which Ray would keep with every "
                f"actor's task; {_KEY_ADVICE}"
            )
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

    @classmethod
    def map_batches_kwargs(
        cls,
        model: str = DEFAULT_EMBEDDING_MODEL,
        *,
        workers: int | None = None,
        compute: Any = None,
        num_cpus: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Ray Data's ``map_batches`` arguments for a pool of ``Embedder`` actors:
        ``fn_constructor_kwargs`` (``checked_kwargs``, with ``workers``), ``compute`` and
        ``num_cpus``, for ``ds.map_batches(Embedder, **Embedder.map_batches_kwargs(...))``.

        Args:
            model: The embedding model, as ``Embedder`` takes it.
            workers: The pool's size: a pool of this many actors, each client taking its
                share of the quota.
            compute: Instead of ``workers``, a ``ray.data.ActorPoolStrategy`` with a
                ``max_size``: its clients share the quota among ``max_size`` workers.
            num_cpus: The CPUs each actor reserves; by default ``actor_cpus`` of the
                cluster's (the one ``ray.init()`` connected to, else this machine's), so the
                pool always leaves a CPU to Ray Data's read and write tasks.
            **kwargs: ``Embedder``'s other arguments (checked here).

        Raises:
            TypeError, ValueError: An argument is wrong, or an explicit ``num_cpus`` makes
                the pool hold every CPU but less than one of the cluster (Ray Data would wait
                for ever).
        """
        import ray

        if (workers is None) == (compute is None):
            raise TypeError("give the pool's size once: workers=N or compute=ActorPoolStrategy")
        if compute is None:
            size = check_count(workers, "workers")
            compute = ray.data.ActorPoolStrategy(size=size)
        else:
            size = _pool_size(compute)
        cpus = _cluster_cpus()
        if num_cpus is None:
            num_cpus = actor_cpus(size, cpus)
        else:
            if isinstance(num_cpus, bool) or not isinstance(num_cpus, int | float):
                raise TypeError(f"num_cpus must be a number, not {kind(num_cpus)}")
            if not 0 <= num_cpus < math.inf:
                raise ValueError(f"num_cpus must be >= 0, got {num_cpus}")
            if num_cpus > 0 and size * num_cpus > cpus - 1:
                raise ValueError(
                    f"{size} actors at num_cpus={num_cpus} hold {size * num_cpus:g} of the "
                    f"cluster's {cpus:g} CPUs, leaving less than one for Ray Data's read and "
                    "write tasks: it would wait for ever. Leave num_cpus out (each actor then "
                    f"reserves {actor_cpus(size, cpus):g}), or use fewer workers"
                )
        return {
            "fn_constructor_kwargs": cls.checked_kwargs(model, workers=size, **kwargs),
            "compute": compute,
            "num_cpus": num_cpus,
        }

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
        """Pickled without its client (and lock): each process makes its own. An API key
        given as such is refused (a key source pickles as where the key is)."""
        if isinstance(self._client_options.get("api_key"), str):
            raise TypeError(
                "an Embedder holding the API key itself is not pickled (the key would be in "
                f"the bytes); {_KEY_ADVICE}"
            )
        state = self.__dict__.copy()
        state["_client"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def client(self) -> Client:
        """This process's client (made on first use)."""
        with self._lock:
            if self._client is None or self._client.closed:
                self._client = Client(**self._worker_options())
            return self._client

    def _worker_options(self) -> dict[str, Any]:
        """The client's options here: the key read from its source; a warning if Ray's
        runtime environment brought it."""
        options = dict(self._client_options)
        source = options.get("api_key")
        if source is not None and not isinstance(source, str):
            options["api_key"] = read_key(source)
        key = options.get("api_key") or os.environ.get(API_KEY_ENV)
        if key and key in _ray_worker_env_vars().values():
            warnings.warn(
                KeyExposureWarning(
                    "the API key reached this Ray worker through a runtime_env's env_vars, "
                    "which Ray writes in plain text to session_*/logs/runtime_env_agent.log "
                    f"on each node; {_KEY_ADVICE}"
                ),
                stacklevel=3,
            )
        return options

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
