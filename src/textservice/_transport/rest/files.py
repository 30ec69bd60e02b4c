"""The Files API's media transfers: the resumable upload and the streamed download.

Written by hand because neither is an RPC with a JSON body (the ``google.api.http`` rules of
``FileService`` cover the files' metadata only), and no library of ours speaks them:

- **Upload**, Google's resumable upload protocol, as google-genai 3.3.0 speaks it
  (``files.upload`` and ``_api_client._upload_fd``): ``POST /upload/v1beta/files`` with
  ``X-Goog-Upload-Protocol: resumable``, ``X-Goog-Upload-Command: start``,
  ``X-Goog-Upload-Header-Content-Length`` and ``-Content-Type`` and the file's metadata as
  the JSON body (``{"file": {...}}``) answers the session's URL in ``x-goog-upload-url``;
  the bytes follow in chunks to that URL, each with ``X-Goog-Upload-Command: upload`` (the
  last ``upload, finalize``) and ``X-Goog-Upload-Offset``; every answer says
  ``x-goog-upload-status`` (``active``, then ``final`` with the ``{"file": {...}}`` body).
  ``X-Goog-Upload-Command: query`` asks how much arrived (``x-goog-upload-size-received``),
  as Google's Firebase Storage SDK does it (firebase-js-sdk, packages/storage,
  ``getResumableUploadStatus``): a chunk that failed is sent again from there, and a new
  process can go on with a session an earlier one started (``upload`` with ``resume=``).
- **Download**: ``GET`` of the ``DownloadFile`` binding (``/v1beta/{name=files/*}:download``,
  from the generated ``MethodSpec``) with ``alt=media``, as google-genai's ``files.download``
  sends it (the Batch API guide's REST sample uses ``/download/v1beta/...``, the same
  media). The body is written to a file as it arrives, never held whole; a retry after a
  dropped connection asks for the rest (``Range``) and starts over when the server sends all.

Each request is one attempt of ``rpc.call`` (``media.MediaCall``): the client's key header
and metadata, retries (``UNAVAILABLE``, dropped connections), deadline and rate governor,
as for any call. The session's upload URL is only read for its path and query, sent to the
client's own endpoint (google-genai does the same with a ``base_url``): the key never goes to
a host the client was not pointed at.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

import betterproto2

from textservice._encoding import json_mapping
from textservice._transport.methods import MethodSpec
from textservice._transport.options import RequestOptions
from textservice._transport.rest.errors import error_from_response
from textservice._transport.rest.media import MediaCall
from textservice._transport.rpc import call
from textservice.errors import Internal
from textservice.retry import Retry

if TYPE_CHECKING:
    import httpx

    from textservice._transport.callpath import CallPath

__all__ = [
    "CHUNK_BYTES",
    "READ_TIMEOUT",
    "UploadProgress",
    "UploadStatus",
    "download",
    "query_upload",
    "start_upload",
    "upload",
]

CHUNK_BYTES = 8 * 1024 * 1024
"""Bytes per upload request (the last may be shorter): google-genai's ``CHUNK_SIZE``, a
multiple of the 256 KiB granularity Google's resumable uploads take."""

READ_TIMEOUT = 60.0
"""Seconds a transfer may wait for the next bytes when the call has no time limit of its own
(a whole download may take far longer than any one RPC)."""

_STATUS = "x-goog-upload-status"
_URL = "x-goog-upload-url"
_RECEIVED = "x-goog-upload-size-received"

UploadProgress = Callable[[int, int], object]
"""``progress(bytes_sent, total)``, after each chunk."""


@dataclass(frozen=True)
class UploadStatus:
    """Where an upload session stands."""

    state: str
    """``active`` (more bytes expected), ``final`` (done) or ``cancelled``."""
    received: int | None = None
    """Bytes the server holds (``query``, and chunks that say so)."""
    body: dict[str, Any] | None = None
    """The final answer's JSON (``{"file": {...}}``), when the server sent it."""


def _media_method(name: str) -> MethodSpec[Any, Any]:
    """A step's ``MethodSpec``: how the rate governor and retries know it. No default time
    limit (``READ_TIMEOUT`` guards each read); retries as the API's service config gives
    every method (``Retry()``'s defaults)."""
    return MethodSpec(
        service="google.ai.generativelanguage.v1beta.FileService",
        name=name,
        request=betterproto2.Message,
        response=betterproto2.Message,
        default_timeout=None,
        default_retry=Retry(),
    )


START = _media_method("UploadFile.start")
CHUNK = _media_method("UploadFile.upload")
QUERY = _media_method("UploadFile.query")
DOWNLOAD = _media_method("DownloadFile.media")


def _per_read(timeout: float | None) -> float:
    return READ_TIMEOUT if timeout is None else timeout


def _status_of(response: httpx.Response) -> UploadStatus:
    state = response.headers.get(_STATUS, "")
    received = response.headers.get(_RECEIVED)
    body: dict[str, Any] | None = None
    if state == "final" and response.content.strip():
        parsed = json_mapping.loads(response.content)
        body = parsed if isinstance(parsed, dict) else None
    return UploadStatus(
        state.lower(),
        int(received) if received is not None and received.strip().isdigit() else None,
        body,
    )


def _checked(response: httpx.Response) -> httpx.Response:
    if not 200 <= response.status_code < 300:
        raise error_from_response(response.status_code, response.content)
    return response


def _target(url: str) -> str:
    """The session URL's path and query, for the client's own endpoint."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@dataclass
class _Start(MediaCall):
    path: str
    metadata: bytes
    size: int
    mime_type: str

    async def exchange(
        self, client: httpx.AsyncClient, headers: dict[str, str], timeout: float | None
    ) -> str:
        sent = {
            **headers,
            "x-goog-upload-protocol": "resumable",
            "x-goog-upload-command": "start",
            "x-goog-upload-header-content-length": str(self.size),
            "x-goog-upload-header-content-type": self.mime_type,
        }
        response = _checked(
            await client.post(
                self.path, content=self.metadata, headers=sent, timeout=_per_read(timeout)
            )
        )
        url = response.headers.get(_URL)
        if not isinstance(url, str) or not url:
            raise Internal("the upload was not started: the answer has no x-goog-upload-url")
        return url


async def start_upload(
    path: CallPath,
    upload_path: str,
    file: betterproto2.Message,
    *,
    size: int,
    mime_type: str,
    options: RequestOptions,
) -> str:
    """Start a resumable upload of ``size`` bytes to ``upload_path`` (``/upload/v1beta/files``)
    with the metadata ``file`` (a ``CreateFileRequest``); the session's URL."""
    metadata = json_mapping.dumps(json_mapping.to_json(file))
    start = _Start(upload_path, metadata, size, mime_type)
    return await call(path, START, start, options, str)


@dataclass
class _Query(MediaCall):
    url: str

    async def exchange(
        self, client: httpx.AsyncClient, headers: dict[str, str], timeout: float | None
    ) -> UploadStatus:
        sent = {**headers, "x-goog-upload-command": "query"}
        response = await client.post(
            _target(self.url), content=b"", headers=sent, timeout=_per_read(timeout)
        )
        return _status_of(_checked(response))


async def query_upload(path: CallPath, url: str, options: RequestOptions) -> UploadStatus:
    """Where the session at ``url`` stands (``NotFound`` and the like when it is gone)."""
    return await call(path, QUERY, _Query(url), options, UploadStatus)


Reader = Callable[[int, int], bytes]
"""``read(offset, count)``: ``count`` bytes of the file from ``offset`` (fewer at its end)."""


@dataclass
class _Chunk(MediaCall):
    url: str
    read: Reader
    size: int
    start: int
    end: int
    tried: bool = False

    async def exchange(
        self, client: httpx.AsyncClient, headers: dict[str, str], timeout: float | None
    ) -> UploadStatus:
        offset = self.start
        if self.tried:  # a retry: send from what the server has
            status = await _Query(self.url).exchange(client, headers, timeout)
            if status.state != "active" or status.received is None:
                return status
            if not self.start <= status.received <= self.end:
                return status  # the caller goes on from there
            offset = status.received
        self.tried = True
        data = self.read(offset, self.end - offset)
        if len(data) != self.end - offset:
            raise ValueError(
                f"the file to upload changed: {len(data)} bytes at offset {offset}, "
                f"{self.end - offset} expected"
            )
        last = self.end >= self.size
        sent = {
            **headers,
            "x-goog-upload-command": "upload, finalize" if last else "upload",
            "x-goog-upload-offset": str(offset),
            "content-type": "application/octet-stream",
        }
        response = await client.post(
            _target(self.url), content=data, headers=sent, timeout=_per_read(timeout)
        )
        status = _status_of(_checked(response))
        if status.state == "active" and status.received is None:
            status = UploadStatus("active", self.end)
        return status


async def upload(
    path: CallPath,
    url: str,
    read: Reader,
    size: int,
    options: RequestOptions,
    *,
    offset: int = 0,
    chunk_bytes: int = CHUNK_BYTES,
    progress: UploadProgress | None = None,
) -> dict[str, Any]:
    """Send the file's bytes from ``offset`` to the session at ``url``, a chunk at a time (a
    chunk that fails is sent again from what the server says it has); the final answer's
    JSON (``{"file": {...}}``)."""
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be positive, got {chunk_bytes}")
    while True:
        end = min(size, offset + chunk_bytes)
        chunk = _Chunk(url, read, size, offset, end)
        status = await call(path, CHUNK, chunk, options, UploadStatus)
        if status.state == "final":
            if status.body is None:
                raise Internal("the upload finished without the file's metadata")
            if progress is not None:
                progress(size, size)
            return status.body
        if status.state != "active":
            raise Internal(f"the upload stopped: the server says {status.state or 'nothing'}")
        received = status.received if status.received is not None else end
        if received >= size and end >= size:
            raise Internal("every byte was sent, but the server did not finish the upload")
        offset = received
        if progress is not None:
            progress(offset, size)


@dataclass
class _Download(MediaCall):
    target: str
    sink: IO[bytes]
    progress: Callable[[int], object] | None
    written: int = 0

    async def exchange(
        self, client: httpx.AsyncClient, headers: dict[str, str], timeout: float | None
    ) -> int:
        sent = dict(headers)
        if self.written:
            sent["range"] = f"bytes={self.written}-"
        request = client.build_request(
            "GET", self.target, params={"alt": "media"}, headers=sent, timeout=_per_read(timeout)
        )
        response = await client.send(request, stream=True)
        try:
            if not 200 <= response.status_code < 300:
                await response.aread()
                raise error_from_response(response.status_code, response.content)
            if self.written and response.status_code != 206:  # Range ignored: all of it again
                self.sink.seek(0)
                self.sink.truncate()
                self.written = 0
            async for data in response.aiter_raw():
                self.sink.write(data)
                self.written += len(data)
                if self.progress is not None:
                    self.progress(self.written)
        finally:
            await response.aclose()
        return self.written


async def download(
    path: CallPath,
    target: str,
    sink: IO[bytes],
    options: RequestOptions,
    *,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Write the media at ``target`` (the ``DownloadFile`` path of a file) to ``sink`` as it
    arrives, from its start; the bytes written. ``sink`` must be seekable (a retry that gets
    the whole body again starts it over)."""
    return await call(path, DOWNLOAD, _Download(target, sink, progress), options, int)


def chunk_count(size: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    """The requests an upload of ``size`` bytes takes (at least one: an empty file is one)."""
    return max(1, math.ceil(size / chunk_bytes))
