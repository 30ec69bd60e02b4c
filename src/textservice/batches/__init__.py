"""Batch mode: embeddings made by Google's batch engine, at half the price, within 24 hours.

``create_embeddings(model, contents, ...)`` sends a job of the items ``embed_content`` would
embed (the same arguments, checks and requests, gemini-embedding-2's instruction text
included), inline when small, else as a file uploaded through the Files API; ``wait(name)``
reads it until it is done; ``embeddings(name)`` returns its vectors in input order (matched by
key: the results come in no particular order), its results file streamed to disk, never held
whole. ``get``, ``list``, ``cancel`` and ``delete`` manage jobs. Each function has an
``_async`` twin. Batch mode is served over REST only: the client must be made with
``transport="rest"``.

The lower-level pieces ``textservice embed --batch-mode`` is built on are here too:
``RequestLines`` and ``plan_input`` (the input and how it would be sent), ``upload``
(resumable, from a saved session), ``create`` (from a file or inline requests), ``find`` (the
jobs of a display name), ``download`` and ``read_results``.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, TypeAlias, TypeVar, cast, overload

from textservice._engine.output_formats import check_output, unit_array, unit_lists
from textservice._facade.content_calls import RequestJson
from textservice._facade.results import ArrayEmbedding, ManyEmbeddings
from textservice._facade.twins import sync_twin
from textservice._profiles import profile_for
from textservice.batches import jobs
from textservice.batches.jobs import Batch, BatchProgress, create, find, rest_path, to_batch
from textservice.batches.requests import InputPlan, RequestLines, plan_input
from textservice.batches.results import BatchResult, inline_results, read_results
from textservice.batches.states import BatchState, is_final, short_name, succeeded
from textservice.errors import FailedPrecondition, PartialEmbeddings, error_for_status
from textservice.v1beta import _generative_service
from textservice.v1beta import list_batches as _list_batches
from textservice.v1beta.types import FileDict

__all__ = [
    "Batch",
    "BatchProgress",
    "BatchResult",
    "BatchState",
    "InputPlan",
    "RequestLines",
    "cancel",
    "cancel_async",
    "create",
    "create_embeddings",
    "create_embeddings_async",
    "delete",
    "delete_async",
    "download",
    "embeddings",
    "embeddings_async",
    "find",
    "get",
    "get_async",
    "is_final",
    "list",
    "list_async",
    "plan_input",
    "read_results",
    "request_json",
    "short_name",
    "succeeded",
    "upload",
    "wait",
    "wait_async",
]

T = TypeVar("T")

_list = list  # the builtin, before ``list`` below names this module's function


def _sync(client: object, make: Callable[[], Awaitable[T]]) -> T:
    return rest_path(client).run_sync(make)


def request_json(
    model: str,
    *,
    task_type: object = None,
    title: str | None = None,
    output_dimensionality: int | None = None,
) -> RequestJson:
    """The requests ``embed_content(model, ..., task_type=, title=, output_dimensionality=)``
    would send, one item at a time as JSON (v1beta's recipe: its arguments checked now)."""
    template = _generative_service._embed_content_request(
        model=model,
        task_type=cast(Any, task_type),
        title=title,
        output_dimensionality=output_dimensionality,
    )
    return RequestJson(_generative_service._EMBED_CONTENT_RECIPE, template)


def _items(contents: object) -> Sequence[object]:
    if isinstance(contents, str | bytes | Mapping) or not isinstance(contents, Sequence):
        raise TypeError("contents must be a sequence of items (a list of str, for one: [text])")
    if not contents:
        raise ValueError("contents is empty: a batch needs at least one item")
    return contents


async def create_embeddings_async(
    model: str,
    contents: Sequence[object],
    *,
    task_type: object = None,
    title: str | None = None,
    output_dimensionality: int | None = None,
    display_name: str | None = None,
    client: object = None,
    request_options: Mapping[str, object] | None = None,
) -> Batch:
    """Send a Batch mode job embedding ``contents`` (items as ``embed_content`` takes them,
    the same checks before anything is sent); the new batch (``batch["name"]``).

    The requests go inline when they and their results are small (under 20 MB each), else
    as a JSON-lines file uploaded through the Files API first. Each item's key is its index
    (``"0"``, ``"1"``, ...), which ``embeddings`` orders the vectors by. ``display_name``
    defaults to ``textservice-`` and a digest of the requests. Creating is not idempotent:
    each call makes (and bills) a new job.
    """
    rest_path(client)
    items = _items(contents)
    requests = request_json(
        model, task_type=task_type, title=title, output_dimensionality=output_dimensionality
    )
    profile = profile_for(model if model.startswith("models/") else f"models/{model}")
    dimension = output_dimensionality or profile.default_dimension or 3072
    with tempfile.TemporaryDirectory(prefix="textservice-batch-") as folder:
        path = Path(folder) / "requests.jsonl"
        with path.open("wb") as sink:
            lines = RequestLines(requests, sink)
            lines.add_all((str(index), item) for index, item in enumerate(items))
        name = display_name or f"textservice-{_digest(path)}"
        plan = plan_input(lines.lines, lines.bytes, dimension)
        if plan.inline:
            return await create(
                model,
                display_name=name,
                requests=_inline(path),
                client=client,
                request_options=request_options,
            )
        uploaded = await jobs.upload(
            path, display_name=name, client=client, request_options=request_options
        )
        return await create(
            model,
            display_name=name,
            file_name=uploaded["name"],
            client=client,
            request_options=request_options,
        )


def _digest(path: Path) -> str:
    """A short digest (hex, 8 bytes) of the requests file, for a default display name."""
    with path.open("rb") as source:
        return hashlib.file_digest(source, lambda: hashlib.blake2b(digest_size=8)).hexdigest()


def _inline(path: Path) -> _list[tuple[str, dict[str, Any]]]:
    """The requests written to ``path``, as ``(key, request)`` (an inline batch: small)."""
    from textservice._encoding import json_mapping

    with path.open("rb") as source:
        return [(str(v["key"]), v["request"]) for v in map(json_mapping.loads, source)]


create_embeddings = sync_twin(
    create_embeddings_async,
    rest_path,
    "create_embeddings",
    "``create_embeddings_async`` for synchronous code.",
)

get_async = jobs.get
get = sync_twin(jobs.get, rest_path, "get", "``get_async`` for synchronous code.")


def list_async(
    *,
    page_size: int | None = None,
    client: object = None,
    request_options: Mapping[str, object] | None = None,
) -> Any:
    """Every batch, newest first (an async iterator; pages fetched as you go)."""
    return jobs.list_batches(page_size=page_size, client=client, request_options=request_options)


def list(
    *,
    page_size: int | None = None,
    client: object = None,
    request_options: Mapping[str, object] | None = None,
) -> Iterator[Batch]:
    """Every batch, newest first (pages fetched as you iterate)."""
    rest_path(client)
    options = {**jobs.IDEMPOTENT, **(request_options or {})}
    operations = _list_batches(
        page_size=page_size, client=cast(Any, client), request_options=options
    )
    return (to_batch(operation) for operation in operations)


cancel_async = jobs.cancel
cancel = sync_twin(jobs.cancel, rest_path, "cancel", "``cancel_async`` for synchronous code.")

delete_async = jobs.delete
delete = sync_twin(jobs.delete, rest_path, "delete", "``delete_async`` for synchronous code.")

wait_async = jobs.wait
wait = sync_twin(
    jobs.wait,
    rest_path,
    "wait",
    "``wait_async`` for synchronous code (Ctrl-C stops waiting; the job goes on).",
)


ListR = TypeVar("ListR", covariant=True)
ArrayR = TypeVar("ArrayR", covariant=True)


class _Embeddings(Protocol[ListR, ArrayR]):
    """``embeddings`` and ``embeddings_async`` as type checkers see them: ``ListR`` for the
    lists (the default), ``ArrayR`` for ``output="numpy"`` (the results, or coroutines of
    them)."""

    @overload
    def __call__(
        self,
        name: str,
        *,
        output: Literal["list"] = "list",
        normalize: bool = False,
        client: object = None,
        request_options: Mapping[str, object] | None = None,
    ) -> ListR: ...

    @overload
    def __call__(
        self,
        name: str,
        *,
        output: Literal["numpy"],
        normalize: bool = False,
        client: object = None,
        request_options: Mapping[str, object] | None = None,
    ) -> ArrayR: ...


_EmbeddingsAsync: TypeAlias = (
    "_Embeddings[Coroutine[Any, Any, ManyEmbeddings], Coroutine[Any, Any, ArrayEmbedding]]"
)


def _typed(
    function: Callable[..., Coroutine[Any, Any, ManyEmbeddings | ArrayEmbedding]],
) -> _EmbeddingsAsync:
    """``function`` typed by ``_Embeddings``' overloads: its body returns the array exactly
    when ``output="numpy"``, which one return type cannot say."""
    return cast("_EmbeddingsAsync", function)


@_typed
async def embeddings_async(
    name: str,
    *,
    output: Literal["list", "numpy"] = "list",
    normalize: bool = False,
    client: object = None,
    request_options: Mapping[str, object] | None = None,
) -> ManyEmbeddings | ArrayEmbedding:
    """The vectors of a succeeded batch made by ``create_embeddings``, in input order:
    ``{"embedding": [[...], ...]}`` (``output="numpy"``: one ``(n, dim)`` float32 array), the
    same float32 values an online call returns. Its results file is streamed to a temporary
    file and read a line at a time; the results are matched to the input by their keys.

    A batch not (yet) succeeded raises ``FailedPrecondition`` naming its state. Failed
    requests raise the error of the first of them, with ``error.partial`` holding the
    vectors of the others (``partial.failed_indices``: what to send again).
    """
    chosen = check_output(output)
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be a bool, got {type(normalize).__name__}")
    batch = await get_async(name, client=client, request_options=request_options)
    state = batch["state"]
    if not succeeded(state):
        raise FailedPrecondition(
            f"{name} is {short_name(state)}: "
            + ("wait for it (textservice.batches.wait)" if not is_final(state) else "no results")
        )
    output_dict: Mapping[str, Any] = batch["output"] or {}
    stats = batch["batch_stats"]
    total = stats["request_count"] if stats is not None else 0
    vectors: dict[int, Any] = {}
    failures: dict[int, BatchResult] = {}

    def take(result: BatchResult, position: int) -> None:
        key = result.key if result.key is not None else str(position)
        if not key.isdigit():
            raise ValueError(
                f"{name}'s keys are not input indices ({key!r}): it was not made by "
                "create_embeddings; read its results with read_results"
            )
        index = int(key)
        if result.values is not None:
            vectors[index] = result.values
        else:
            failures[index] = result

    inlined = output_dict.get("inlined_responses")
    if inlined is not None:
        for position, result in enumerate(inline_results(inlined["inlined_responses"])):
            take(result, position)
    else:
        results_file = output_dict.get("responses_file")
        if not results_file:
            raise FailedPrecondition(f"{name} succeeded but names no results")
        with tempfile.TemporaryDirectory(prefix="textservice-batch-") as folder:
            path = Path(folder) / "results.jsonl"
            await jobs.download(results_file, path, client=client, request_options=request_options)
            for position, result in enumerate(read_results(path)):
                take(result, position)
    total = max(total, len(vectors) + len(failures), max([*vectors, *failures], default=-1) + 1)
    rows = _rows([vectors.get(i) for i in range(total)], chosen, normalize)
    missing = [i for i in range(total) if i not in vectors]
    if missing:
        first = failures.get(missing[0])
        embedded = {i: rows[i] for i in vectors}
        partial = PartialEmbeddings(total, embedded)
        why = first.message if first is not None else "no result came for it"
        error = error_for_status(
            first.code if first is not None else FailedPrecondition.default_code,
            f"{len(missing)} of {total} requests of {name} failed (the first, index "
            f"{missing[0]}: {why})",
        )
        raise error.with_partial(partial)
    if chosen == "numpy":
        return ArrayEmbedding(embedding=rows)
    return ManyEmbeddings(embedding=rows)


def _rows(values: _list[Any], output: str, normalize: bool) -> Any:
    """The vectors (``None`` for a missing one) as lists or one array (missing rows: NaN)."""
    if output == "numpy":
        import numpy

        width = next((len(v) for v in values if v is not None), 0)
        rows = numpy.full((len(values), width), numpy.nan, dtype=numpy.float32)
        for index, row in enumerate(values):
            if row is not None:
                rows[index] = numpy.frombuffer(row, dtype=numpy.float32)
        return unit_array(rows) if normalize else rows
    lists = [v.tolist() if v is not None else [] for v in values]
    return unit_lists(lists) if normalize else lists


# The same overloads, for the results themselves (``sync_twin`` keeps one return type).
embeddings: _Embeddings[ManyEmbeddings, ArrayEmbedding] = cast(
    Any,
    sync_twin(
        embeddings_async, rest_path, "embeddings", "``embeddings_async`` for synchronous code."
    ),
)


def upload(path: Path, *, display_name: str = "", client: object = None) -> FileDict:
    """Upload a file through the Files API (resumable, in chunks): its ``File``."""
    return _sync(client, lambda: jobs.upload(path, display_name=display_name, client=client))


def download(file_name: str, destination: Path, *, client: object = None) -> int:
    """Write a file's media (a batch's results) to ``destination``; the bytes written."""
    return _sync(client, lambda: jobs.download(file_name, destination, client=client))
