"""Batch mode's calls (async): create, get, list, cancel, delete, wait, upload, download.

Each goes through a client's REST transport (Batch mode is served over REST only) and the
generated v1beta facade of ``BatchService`` and ``FileService``
(``protos/.../textservice_batch_mode.proto``), so paths, JSON and result types come from the
protos like every other call's. The operation a batch call answers becomes a ``Batch``: the
batch its ``metadata`` holds, with the operation's name, its output (``metadata.output`` as
google-genai reads it, else ``response`` as the guide's REST sample does) and its error.

Creating a batch is not idempotent (every call makes a job), so it is never retried; getting,
listing, cancelling and deleting are, as every method of the API's service config is (a 60 s
timeout; ``UNAVAILABLE`` retried up to 5 attempts, backing off 1 s x 1.3 up to 10 s), unless
``request_options`` say otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, cast

from textservice._checks import check_model
from textservice._encoding import json_mapping
from textservice._encoding.dicts import to_dict
from textservice._facade.clients import get_client
from textservice._proto.google import protobuf as pb_protobuf
from textservice._proto.google.ai.generativelanguage import v1beta as pb
from textservice._transport.callpath import CallPath
from textservice._transport.options import check_request_options
from textservice._transport.rest import files
from textservice._transport.rest.templates import parse
from textservice.batches.states import BatchState, is_final, short_name
from textservice.client import call_path
from textservice.errors import DeadlineExceeded, InvalidArgument, NotFound
from textservice.retry import Retry
from textservice.v1beta import (
    _file_service,
    async_batch_embed_content_async,
    cancel_batch_async,
    delete_batch_async,
    get_batch_async,
    list_batches_async,
)
from textservice.v1beta.types import EmbedContentBatchDict, FileDict, StatusDict

__all__ = [
    "UPLOAD_PATH",
    "Batch",
    "BatchProgress",
    "cancel",
    "create",
    "delete",
    "download",
    "find",
    "get",
    "list_batches",
    "rest_path",
    "upload",
    "wait",
]

UPLOAD_PATH = "/upload/v1beta/files"
"""Where a resumable upload starts (google-genai's ``files.upload``: ``upload/{api_version}/
files``)."""

IDEMPOTENT: Mapping[str, object] = {"timeout": 60.0, "retry": Retry()}
"""The options of the calls that may be repeated (see the module docstring)."""


class Batch(EmbedContentBatchDict):
    """A batch as the API describes it (``EmbedContentBatchDict``), with the error of its
    operation when it failed (else ``None``)."""

    error: StatusDict | None


BatchProgress = Callable[[Batch], object]
"""Called with the batch each time ``wait`` reads it."""


def rest_path(client: object) -> CallPath:
    """The call path of ``client`` (``None``: the default client), which must speak REST."""
    chosen = get_client(client)
    if chosen.transport != "rest":
        raise ValueError(
            "Batch mode is served over REST only: pass a client made with transport='rest' "
            "(textservice.Client(transport='rest'), or textservice.configure(transport='rest') "
            "for the default client)"
        )
    return call_path(chosen)


def _options(request_options: Mapping[str, object] | None) -> dict[str, object]:
    return {**IDEMPOTENT, **(request_options or {})}


def to_batch(operation: Mapping[str, Any]) -> Batch:
    """The ``Batch`` of an operation dict (``EmbedContentBatchOperationDict``)."""
    batch: dict[str, Any] = dict(operation.get("metadata") or {})
    if not batch:
        batch = to_dict(pb.EmbedContentBatch())
    if not batch.get("name"):
        batch["name"] = operation.get("name", "")
    if batch.get("output") is None and operation.get("response") is not None:
        batch["output"] = operation["response"]
    batch["error"] = operation.get("error")
    return cast(Batch, batch)


async def create(
    model: str,
    *,
    display_name: str,
    file_name: str | None = None,
    requests: list[tuple[str, dict[str, Any]]] | None = None,
    priority: int | None = None,
    client: object = None,
    request_options: Mapping[str, object] | None = None,
) -> Batch:
    """A new batch of ``model``'s embeddings, from an uploaded file (``file_name``) or inline
    ``requests`` (``(key, EmbedContentRequest JSON)``, the key in each one's metadata).
    Never retried: each call makes a job."""
    if (file_name is None) == (requests is None):
        raise ValueError("give a file_name or requests, not both")
    if not isinstance(display_name, str) or not display_name:
        raise ValueError("display_name must be a non-empty str (the API requires one)")
    model = check_model(model)
    rest_path(client)
    if file_name is not None:
        config = pb.InputEmbedContentConfig(file_name=file_name)
    else:
        assert requests is not None
        inline = [
            pb.InlinedEmbedContentRequest(
                request=json_mapping.from_json(pb.EmbedContentRequest, request),
                metadata=pb_protobuf.Struct.from_dict({"key": key}),
            )
            for key, request in requests
        ]
        config = pb.InputEmbedContentConfig(
            requests=pb.InlinedEmbedContentRequests(requests=inline)
        )
    batch = pb.EmbedContentBatch(
        model=model, display_name=display_name, input_config=config, priority=priority or 0
    )
    operation = await async_batch_embed_content_async(
        batch, client=get_client(client), request_options=request_options
    )
    return to_batch(operation)


async def get(
    name: str, *, client: object = None, request_options: Mapping[str, object] | None = None
) -> Batch:
    """The batch ``name`` (``batches/...``) as it is now (its ``state``, ``batch_stats``,
    ``output``...)."""
    return to_batch(await _on_batch(get_batch_async, name, client, request_options))


async def list_batches(
    *,
    page_size: int | None = None,
    client: object = None,
    request_options: Mapping[str, object] | None = None,
) -> AsyncIterator[Batch]:
    """Every batch, newest first as the API lists them, pages fetched as you iterate."""
    rest_path(client)
    pages = list_batches_async(
        page_size=page_size, client=get_client(client), request_options=_options(request_options)
    )
    async for operation in pages:
        yield to_batch(operation)


async def find(
    display_name: str,
    *,
    client: object = None,
    request_options: Mapping[str, object] | None = None,
) -> list[Batch]:
    """The batches named ``display_name``, as listed (newest first)."""
    return [
        batch
        async for batch in list_batches(client=client, request_options=request_options)
        if batch["display_name"] == display_name
    ]


async def cancel(
    name: str, *, client: object = None, request_options: Mapping[str, object] | None = None
) -> None:
    """Ask Google to cancel the batch (``get`` shows when it is: ``BATCH_STATE_CANCELLED``)."""
    await _on_batch(cancel_batch_async, name, client, request_options)


async def delete(
    name: str, *, client: object = None, request_options: Mapping[str, object] | None = None
) -> None:
    """Delete the batch (it is not cancelled: cancel it first to stop it)."""
    await _on_batch(delete_batch_async, name, client, request_options)


async def wait(
    name: str,
    *,
    progress: BatchProgress | None = None,
    interval: float = 1.0,
    max_interval: float = 30.0,
    timeout: float | None = None,
    client: object = None,
    request_options: Mapping[str, object] | None = None,
) -> Batch:
    """Read the batch until it is done (succeeded, failed, cancelled or expired), waiting
    ``interval`` seconds after the first read, then half as long again after each one, up to
    ``max_interval`` (python-genai polls its operations the same way, 1.5 times longer each
    time); the batch as it ended (check its ``state``). ``progress(batch)`` after each read.
    ``timeout``: give up with ``DeadlineExceeded`` (the batch goes on at Google)."""
    if interval <= 0 or max_interval < interval:
        raise ValueError("interval must be positive and max_interval at least interval")
    loop = asyncio.get_running_loop()
    started = loop.time()
    delay = interval
    while True:
        batch = await get(name, client=client, request_options=request_options)
        if progress is not None:
            progress(batch)
        if is_final(batch["state"]):
            return batch
        if timeout is not None and loop.time() + delay - started > timeout:
            raise DeadlineExceeded(
                f"{name} is still {short_name(batch['state'])} after {timeout:g} s "
                "(it goes on at Google)"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, max_interval)


async def upload(
    path: Path,
    *,
    display_name: str = "",
    mime_type: str = "application/jsonl",
    resume: str | None = None,
    on_session: Callable[[str], object] | None = None,
    progress: files.UploadProgress | None = None,
    chunk_bytes: int = files.CHUNK_BYTES,
    client: object = None,
    request_options: Mapping[str, object] | None = None,
) -> FileDict:
    """Upload the file at ``path`` through the Files API (resumable, in chunks); its
    ``File``. ``resume``: the session URL of an upload started earlier (perhaps by another
    process), continued from what the server holds when it is still open (else a new one
    starts); ``on_session(url)`` is called with a new session's URL before any byte is sent,
    so it can be saved."""
    rest = rest_path(client)
    options = check_request_options(_options(request_options))
    size = path.stat().st_size
    url: str | None = None
    offset = 0
    if resume is not None:
        try:
            status = await files.query_upload(rest, resume, options)
        except (NotFound, InvalidArgument):
            status = None  # gone (or never was): start again
        if status is not None and status.state == "final" and status.body is not None:
            return _file(status.body)
        if status is not None and status.state == "active" and status.received is not None:
            url, offset = resume, status.received
    if url is None:
        metadata = pb.CreateFileRequest(file=pb.File(display_name=display_name))
        url = await files.start_upload(
            rest, UPLOAD_PATH, metadata, size=size, mime_type=mime_type, options=options
        )
        if on_session is not None:
            on_session(url)
    with path.open("rb") as source:

        def read(at: int, count: int) -> bytes:
            source.seek(at)
            return source.read(count)

        body = await files.upload(
            rest,
            url,
            read,
            size,
            options,
            offset=offset,
            chunk_bytes=chunk_bytes,
            progress=progress,
        )
    return _file(body)


def _file(body: Mapping[str, Any]) -> FileDict:
    created = json_mapping.from_json(pb.CreateFileResponse, body)
    if created.file is None or not created.file.name:
        raise InvalidArgument("the upload finished without the file's name")
    return cast(FileDict, to_dict(created.file))


async def download(
    file_name: str,
    destination: Path,
    *,
    progress: Callable[[int], object] | None = None,
    client: object = None,
    request_options: Mapping[str, object] | None = None,
) -> int:
    """Write the file ``file_name`` (a batch's results) to ``destination`` as it arrives,
    never holding it whole; the bytes written."""
    rest = rest_path(client)
    options = check_request_options(_options(request_options))
    # the DownloadFile binding of the generated FileService: /v1beta/{name=files/*}:download
    rule = _file_service._DOWNLOAD_FILE.http[0]
    target = parse(rule.path).expand({"name": file_name})
    if target is None:
        raise ValueError(f"{file_name!r} is not a file name (files/...)")
    with destination.open("w+b") as sink:
        return await files.download(rest, target, sink, options, progress=progress)


async def _on_batch(
    call: Callable[..., Awaitable[Any]],
    name: object,
    client: object,
    request_options: Mapping[str, object] | None,
) -> Any:
    """``call`` (a generated ``*_batch_async``) on the batch ``name``, through ``client``'s
    REST path, with the options of the calls that may be repeated."""
    rest_path(client)
    return await call(
        _batch_name(name), client=get_client(client), request_options=_options(request_options)
    )


def _batch_name(name: object) -> str:
    if not isinstance(name, str) or not name.startswith("batches/") or name == "batches/":
        raise ValueError(f"a batch's name is batches/ID, got {name!r}")
    return name


def state_of(batch: Mapping[str, Any]) -> BatchState:
    """A batch's state."""
    state = batch.get("state")
    return state if isinstance(state, BatchState) else BatchState.BATCH_STATE_UNSPECIFIED
