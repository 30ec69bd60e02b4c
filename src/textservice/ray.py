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
        Embedder,
        fn_constructor_kwargs={"model": "models/embedding-gecko-001", "workers": 4},
        compute=ray.data.ActorPoolStrategy(size=4),  # workers; the same number in "workers"
        batch_size=1000,               # rows per call of the embedder
        batch_format="pyarrow",        # or "pandas", or "numpy"
    )
    ds.write_parquet("s3://bucket/vectors/")                  # "text", ..., "embedding"

Each batch gets an ``embedding`` column of float32 vectors (``fixed_size_list<float32>[dim]``
for pyarrow batches, a 2-D float32 array for numpy batches, one float32 array per row for
pandas batches), in the batch's row order; the other columns are kept.

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

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

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


class Embedder:
    """Adds an embedding column to each batch: a callable class for Ray Data's
    ``map_batches`` (see the module docstring).

    Args:
        model: The embedding model, e.g. ``"models/embedding-gecko-001"``.
        text_column: The column of texts (strings, none empty).
        output_column: The column the vectors go to.
        client_options: Keyword arguments of ``TextServiceClient`` for each worker's client.
        workers: How many workers share the job (the actor pool's size): each client's
            ``quota_share`` is divided by it.
        request_options: ``{"timeout": ..., "retry": ...}`` for each batch's call.
    """

    def __init__(
        self,
        model: str,
        *,
        text_column: str = "text",
        output_column: str = "embedding",
        client_options: Mapping[str, Any] | None = None,
        workers: int = 1,
        request_options: Mapping[str, object] | None = None,
    ) -> None:
        from textservice._checks import check_model

        check_model(model)
        self.model = model
        self.text_column = text_column
        self.output_column = output_column
        self.workers = workers
        self._client_options = worker_client_options(dict(client_options or {}), workers)
        self._request_options = dict(request_options) if request_options else None
        self._client: TextServiceClient | None = None
        self._lock = threading.Lock()

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

    def embed(self, texts: Sequence[str]) -> numpy.typing.NDArray[numpy.float32]:
        """The embeddings of ``texts`` as one ``(len(texts), dim)`` float32 array, in order."""
        from textservice.v1beta import generate_embeddings

        result = generate_embeddings(
            self.model,
            list(texts),
            client=self.client,
            request_options=self._request_options,
            output="numpy",
        )
        vectors: numpy.typing.NDArray[numpy.float32] = _float32_rows(result["embedding"])
        return vectors

    def __call__(self, batch: Any) -> Any:
        """``batch`` (a ``pyarrow.Table``, a ``pandas.DataFrame`` or a dict of numpy arrays)
        with the embeddings of its text column added."""
        if isinstance(batch, Mapping):  # Ray's "numpy" (and "default") batch format
            texts = [str(t) if not isinstance(t, str) else t for t in batch[self.text_column]]
            out = dict(batch)
            out[self.output_column] = self.embed(texts)
            return out
        module = type(batch).__module__.split(".")[0]
        if module == "pyarrow":
            import pyarrow

            vectors = self.embed(batch.column(self.text_column).to_pylist())
            dim = vectors.shape[1] if vectors.ndim == 2 else 0
            column = pyarrow.FixedSizeListArray.from_arrays(
                pyarrow.array(vectors.reshape(-1), type=pyarrow.float32()), dim
            )
            if self.output_column in batch.column_names:
                batch = batch.drop_columns([self.output_column])
            return batch.append_column(self.output_column, column)
        if module == "pandas":
            vectors = self.embed(batch[self.text_column].tolist())
            out = batch.copy(deep=False)
            out[self.output_column] = list(vectors)
            return out
        raise TypeError(
            "Embedder takes a pyarrow.Table, a pandas.DataFrame or a dict of numpy arrays, "
            f"not {type(batch).__name__}"
        )

    def close(self) -> None:
        """Close this process's client (a later batch makes a new one)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
