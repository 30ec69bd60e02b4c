"""The fake's Batch mode and Files API: jobs that run over time, files uploaded and downloaded.

Served on the fake's REST face (Batch mode is REST only), as the API serves them
(``protos/.../textservice_batch_mode.proto`` says where each fact comes from):

- **Files.** ``POST /upload/v1beta/files`` starts a resumable upload (``x-goog-upload-url``
  in the answer); chunks go to that URL with ``X-Goog-Upload-Offset`` (``upload``, the last
  ``upload, finalize``: the answer holds ``{"file": {...}}``), and ``query`` answers
  ``x-goog-upload-size-received``. Files are ``files/{id}``, kept 48 hours (``GetFile``,
  ``ListFiles``, ``DeleteFile`` answer from the same store). A batch's results are a
  generated file, downloaded with ``GET /v1beta/files/{id}:download?alt=media`` (or
  ``/download/v1beta/...``), streamed as it is written, ``Range: bytes=N-`` honoured.
- **Jobs.** ``AsyncBatchEmbedContent`` makes a job from an uploaded file of JSON lines
  ``{"key", "request"}`` or from inline requests (an inline request without ``model`` takes
  its batch's, as the API takes google-genai's); it is ``BATCH_STATE_PENDING`` for its first
  fifth, ``RUNNING`` until ``seconds`` have passed, then ``SUCCEEDED``. Each line is checked
  and answered as ``EmbedContent`` would be (the same vectors as online calls; a line the
  fake refuses, or one an injected failure hits, is a failed line with its status); results
  are JSON lines ``{"key", "response"}`` or ``{"key", "error"}``, in an order of their own
  (odd lines first: match them by key), or inline responses in request order. Jobs can be
  cancelled (``CancelBatch``), deleted (``DeleteBatch``), and expire (``expire_seconds``,
  or ``expire(name)``), as the API's do after 48 hours.

Test knobs (``fake.batch_mode``): ``seconds``, ``expire_seconds``, ``fail_lines``,
``fail_jobs``, ``break_chunks`` (a chunk half stored, then ``UNAVAILABLE``: the client asks for
the offset and sends the rest), ``break_downloads`` (the connection dropped halfway: the
client asks for the rest), and ``pause(step)`` (``"upload"``, ``"create"``, ``"get"``,
``"download"``): the next such call stops there, halfway (after half a chunk stored, after the
job is made, before the state is sent, after half the results) until released, so a test can
kill its client at that step.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from textservice._encoding import json_mapping
from textservice._profiles import MAX_REQUEST_BYTES
from textservice._transport.rest.errors import error_body, http_status
from textservice.testing.rest import Dropped, Response, answer_json
from textservice.testing.validation import invalid_argument
from textservice.testing.versions import ApiVersion, Later

__all__ = [
    "BATCH_SECONDS",
    "BatchMode",
    "Pause",
    "Step",
    "StoredFile",
    "StoredJob",
    "error_response",
    "is_media",
    "is_upload_session",
]

BATCH_SECONDS = 2.0
"""How long a fake job runs by default (the API's take up to 24 hours)."""

FILE_HOURS = 48
"""How long a file is kept (the Files API's 48 hours)."""

Step = Literal["upload", "create", "get", "download"]
"""Where ``pause`` stops a call."""

LineAnswer = Callable[[ApiVersion, Any], Any]
"""Checks one line's ``EmbedContentRequest`` and answers it (the fake's EmbedContent): its
``EmbedContentResponse``, or a ``GRPCError``."""

_JSON = (("content-type", "application/json; charset=UTF-8"),)
_PENDING_SHARE = 0.2


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def error_response(error: GRPCError) -> Response:
    details = error.details if isinstance(error.details, list) else []
    body = error_body(error.status, error.message or error.status.name, details)
    return Response(http_status(error.status), _JSON, body)


@dataclass
class StoredFile:
    """A file of the fake's Files API."""

    name: str
    display_name: str
    mime_type: str
    size: int
    created: datetime.datetime
    source: Literal["UPLOADED", "GENERATED"]
    data: bytes = b""
    """An uploaded file's bytes."""
    lines: Callable[[], AsyncIterator[bytes]] | None = None
    """A generated file's lines, made as it is downloaded."""

    def message(self, version: ApiVersion) -> Any:
        """Its ``File`` message."""
        return version.build(
            "File",
            name=self.name,
            display_name=self.display_name,
            mime_type=self.mime_type,
            size_bytes=self.size,
            create_time=self.created,
            update_time=self.created,
            expiration_time=self.created + datetime.timedelta(hours=FILE_HOURS),
            uri=f"https://generativelanguage.googleapis.com/{version.name}/{self.name}",
            download_uri=(
                f"https://generativelanguage.googleapis.com/download/{version.name}/"
                f"{self.name}:download?alt=media"
                if self.source == "GENERATED"
                else ""
            ),
            # made only where File has them: v1alpha's File (googleapis f8291d2b) has no source
            state=Later(lambda: version.message("FileState").ACTIVE),
            source=Later(lambda: version.message("FileSource")[self.source]),
        )


@dataclass
class _Session:
    id: str
    size: int
    mime_type: str
    display_name: str
    received: bytearray = field(default_factory=bytearray)
    file: StoredFile | None = None


@dataclass
class _Line:
    """One request of a job: from a file line (with its key) or inline (with metadata)."""

    key: str | None
    request: Any | None
    error: GRPCError | None = None
    metadata: Any | None = None
    text: str = ""
    """Its text parts, joined (for ``fail_lines(texts=...)``)."""


@dataclass
class _Failures:
    every: int | None
    texts: tuple[str, ...]
    status: Status
    jobs: int


@dataclass
class StoredJob:
    """A job of the fake's Batch mode."""

    name: str
    display_name: str
    model: str
    version: ApiVersion
    created: datetime.datetime
    started: float
    """``time.monotonic()`` when it was made."""
    seconds: float
    expire_seconds: float | None
    lines: list[_Line]
    inline: bool
    input_file: str = ""
    """The input file's name (``""``: inline requests)."""
    priority: int = 0
    failures: _Failures | None = None
    fail_job: GRPCError | None = None
    cancelled_at: float | None = None
    expired_at: float | None = None
    deleted: bool = False
    errors: dict[int, GRPCError] | None = None
    """Once finished: the failed lines' errors, by index."""
    results_file: StoredFile | None = None
    inline_results: list[Any] | None = None

    def elapsed(self, now: float) -> float:
        """Seconds since it was made."""
        return now - self.started


class Pause:
    """A step held for a test: ``reached`` is set when a call gets there; it waits until
    ``release()``."""

    def __init__(self, step: Step) -> None:
        self.step = step
        self.reached = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        """Let the held call go on."""
        self._released.set()

    async def hold(self) -> None:
        """Mark it reached and wait (without blocking the fake's loop) until released."""
        self.reached.set()
        while not self._released.is_set():
            await asyncio.sleep(0.01)


class BatchMode:
    """The fake's Batch mode and Files API state (``fake.batch_mode``), shared by every face."""

    def __init__(self, answer_line: LineAnswer, *, seconds: float = BATCH_SECONDS) -> None:
        self._answer_line = answer_line
        self.seconds = seconds
        """How long a job made from now on runs before it succeeds."""
        self.expire_seconds: float | None = None
        """A job made from now on that is still running this long after it was made expires
        (``None``: never; the API's expire after 48 hours)."""
        self._lock = threading.RLock()
        self._jobs: dict[str, StoredJob] = {}
        self._files: dict[str, StoredFile] = {}
        self._sessions: dict[str, _Session] = {}
        self._failures: _Failures | None = None
        self._fail_jobs: list[GRPCError] = []
        self._broken_chunks = 0
        self._broken_downloads = 0
        self._pauses: dict[Step, Pause] = {}
        self._counter = itertools.count(1)

    # -- test knobs -------------------------------------------------------------------------

    def fail_lines(
        self,
        *,
        every: int | None = None,
        texts: Iterable[str] = (),
        status: Status | str = Status.INVALID_ARGUMENT,
        jobs: int = 1,
    ) -> None:
        """Make lines of the next ``jobs`` jobs fail with ``status``: every ``every``-th line
        (the 1st, ``every + 1``-th, ...) and those whose text contains one of ``texts``."""
        if every is not None and every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        code = status if isinstance(status, Status) else Status[status]
        self._failures = _Failures(every, tuple(texts), code, jobs)

    def fail_jobs(self, n: int = 1, status: Status | str = Status.INTERNAL) -> None:
        """Make the next ``n`` jobs end ``BATCH_STATE_FAILED`` with ``status``."""
        code = status if isinstance(status, Status) else Status[status]
        self._fail_jobs += [GRPCError(code, "the batch failed (injected)")] * n

    def break_chunks(self, n: int = 1) -> None:
        """The next ``n`` upload chunks are half stored, then answered ``UNAVAILABLE``."""
        self._broken_chunks += n

    def break_downloads(self, n: int = 1) -> None:
        """The next ``n`` downloads stop halfway: the connection is dropped (the client asks
        for the rest with ``Range``)."""
        self._broken_downloads += n

    def pause(self, step: Step) -> Pause:
        """Hold the next ``step`` call halfway until the returned pause is released."""
        made = self._pauses[step] = Pause(step)
        return made

    def expire(self, name: str) -> None:
        """Make the job ``name`` expire now (if it is still pending or running)."""
        with self._lock:
            job = self._jobs[name]
            if self._state_name(job, time.monotonic()) in ("PENDING", "RUNNING"):
                job.expired_at = time.monotonic()

    @property
    def jobs(self) -> list[StoredJob]:
        """Every job made, oldest first (deleted ones too: ``job.deleted``)."""
        with self._lock:
            return list(self._jobs.values())

    @property
    def files(self) -> list[StoredFile]:
        """Every file stored, oldest first."""
        with self._lock:
            return list(self._files.values())

    def _take_pause(self, step: Step) -> Pause | None:
        return self._pauses.pop(step, None)

    async def pause_point(self, step: Step) -> None:
        """Where a step's call waits when a test paused it."""
        pause = self._take_pause(step)
        if pause is not None:
            await pause.hold()

    # -- jobs -------------------------------------------------------------------------------

    def _state_name(self, job: StoredJob, now: float) -> str:
        if job.fail_job is not None and job.elapsed(now) >= job.seconds:
            return "FAILED"
        if job.cancelled_at is not None:
            return "CANCELLED"
        if job.expired_at is not None:
            return "EXPIRED"
        elapsed = job.elapsed(now)
        if job.expire_seconds is not None and job.expire_seconds <= elapsed < job.seconds:
            return "EXPIRED"
        if elapsed >= job.seconds:
            return "SUCCEEDED"
        return "PENDING" if elapsed < job.seconds * _PENDING_SHARE else "RUNNING"

    def _processed(self, job: StoredJob, until: float) -> int:
        """Lines done by ``until`` (while running: in proportion to the time)."""
        running = job.seconds * (1 - _PENDING_SHARE)
        share = (job.elapsed(until) - job.seconds * _PENDING_SHARE) / running if running else 1
        return max(0, min(len(job.lines), int(len(job.lines) * share)))

    def _make_failures(self) -> _Failures | None:
        failures = self._failures
        if failures is None:
            return None
        failures.jobs -= 1
        if failures.jobs <= 0:
            self._failures = None
        return failures

    def _finish(self, job: StoredJob) -> None:
        """Check every line (once): its error, if any; the results of a succeeded job."""
        if job.errors is not None:
            return
        errors: dict[int, GRPCError] = {}
        responses: list[Any] = []
        for index, line in enumerate(job.lines):
            error = line.error or self._injected(job, index, line)
            answer = None
            if error is None and job.inline:
                result = self._answer_line(job.version, line.request)
                if isinstance(result, GRPCError):
                    error = result
                else:
                    answer = result
            elif error is None:
                result = self._answer_line(job.version, line.request)
                error = result if isinstance(result, GRPCError) else None
            if error is not None:
                errors[index] = error
            responses.append(answer)
        job.errors = errors
        if job.inline:
            job.inline_results = responses
        else:
            job.results_file = self._results_file(job)

    def _injected(self, job: StoredJob, index: int, line: _Line) -> GRPCError | None:
        failures = job.failures
        if failures is None:
            return None
        hit = failures.every is not None and index % failures.every == 0
        hit = hit or any(text in line.text for text in failures.texts)
        return GRPCError(failures.status, "the request failed (injected)") if hit else None

    def _results_file(self, job: StoredJob) -> StoredFile:
        order = [*range(1, len(job.lines), 2), *range(0, len(job.lines), 2)]
        errors = job.errors or {}

        async def lines() -> AsyncIterator[bytes]:
            for index in order:
                yield self._result_line(job, index, errors.get(index))

        size = 0  # generated: sized when downloaded (the header has none)
        name = f"files/batch-{job.name.removeprefix('batches/')}"
        made = StoredFile(
            name,
            f"{job.display_name} results",
            "application/jsonl",
            size,
            _now(),
            "GENERATED",
            lines=lines,
        )
        with self._lock:
            self._files[name] = made
        return made

    def _result_line(self, job: StoredJob, index: int, error: GRPCError | None) -> bytes:
        line = job.lines[index]
        key = json_mapping.dumps(line.key)
        if error is None:
            answer = self._answer_line(job.version, line.request)
            if not isinstance(answer, GRPCError):
                return b'{"key":' + key + b',"response":' + answer_json(answer) + b"}\n"
            error = answer
        status = json_mapping.dumps(_status_json(error))
        return b'{"key":' + key + b',"error":' + status + b"}\n"

    def _batch_message(self, job: StoredJob, now: float) -> Any:
        version = job.version
        state = self._state_name(job, now)
        stopped = job.cancelled_at or job.expired_at
        processed = self._processed(job, stopped if stopped is not None else now)
        failed = 0
        output = None
        if state == "SUCCEEDED":
            self._finish(job)
            processed = len(job.lines)
            failed = len(job.errors or {})
            output = self._output(job)
        done_at = None
        if state in ("SUCCEEDED", "FAILED"):
            done_at = job.created + datetime.timedelta(seconds=job.seconds)
        elif stopped is not None:
            done_at = job.created + datetime.timedelta(seconds=stopped - job.started)
        stats = version.build(
            "EmbedContentBatchStats",
            request_count=len(job.lines),
            successful_request_count=processed - failed,
            failed_request_count=failed,
            pending_request_count=len(job.lines) - processed
            if state in ("PENDING", "RUNNING")
            else 0,
        )
        return version.build(
            "EmbedContentBatch",
            model=job.model,
            name=job.name,
            display_name=job.display_name,
            input_config=version.build("InputEmbedContentConfig", file_name=job.input_file)
            if job.input_file
            else None,
            output=output,
            create_time=job.created,
            update_time=done_at or _now(),
            end_time=done_at,
            batch_stats=stats,
            state=version.message("BatchState")[f"BATCH_STATE_{state}"],
            priority=job.priority,
        )

    def _output(self, job: StoredJob) -> Any:
        version = job.version
        if not job.inline:
            assert job.results_file is not None
            return version.build("EmbedContentBatchOutput", responses_file=job.results_file.name)
        responses = []
        errors = job.errors or {}
        for index, (line, answer) in enumerate(
            zip(job.lines, job.inline_results or [], strict=True)
        ):
            error = errors.get(index)
            responses.append(
                version.build(
                    "InlinedEmbedContentResponse",
                    error=None if error is None else _status(error),
                    response=answer if error is None else None,
                    metadata=line.metadata,
                )
            )
        inlined = version.build("InlinedEmbedContentResponses", inlined_responses=responses)
        return version.build("EmbedContentBatchOutput", inlined_responses=inlined)

    def operation(self, job: StoredJob) -> Any:
        """The job's ``EmbedContentBatchOperation`` as of now."""
        now = time.monotonic()
        batch = self._batch_message(job, now)
        state = self._state_name(job, now)
        done = state not in ("PENDING", "RUNNING")
        error = None
        if state == "FAILED" and job.fail_job is not None:
            error = _status(job.fail_job)
        elif state in ("CANCELLED", "EXPIRED"):
            error = _status(GRPCError(Status.CANCELLED, f"the batch was {state.lower()}"))
        return job.version.build(
            "EmbedContentBatchOperation",
            name=job.name,
            metadata=batch,
            done=done,
            error=error,
            response=batch.output if state == "SUCCEEDED" else None,
        )

    def _job(self, name: str) -> StoredJob:
        with self._lock:
            job = self._jobs.get(name)
        if job is None or job.deleted:
            raise GRPCError(Status.NOT_FOUND, f"Batch {name} not found.")
        return job

    def fill_models(self, request: Any) -> None:
        """An inline request without ``model`` takes its batch's (the API takes google-genai's
        inline requests, which name none)."""
        batch = getattr(request, "batch", None)
        if batch is None:
            return
        config = getattr(batch, "input_config", None)
        inline = getattr(config, "requests", None)
        for item in getattr(inline, "requests", None) or []:
            inner = getattr(item, "request", None)
            if inner is not None and not inner.model:
                inner.model = batch.model

    def create(self, version: ApiVersion, request: Any) -> Any:
        """``AsyncBatchEmbedContent``: a new job (not idempotent: every call makes one)."""
        batch = request.batch
        config = batch.input_config
        if config.file_name is not None:
            lines = self._file_lines(version, config.file_name, batch.model)
            inline = False
        elif config.requests is not None and config.requests.requests:
            size = len(bytes(request))
            if size > MAX_REQUEST_BYTES:
                raise invalid_argument(
                    "batch.input_config.requests",
                    f"the inline requests take {size} bytes, over the limit of "
                    f"{MAX_REQUEST_BYTES}: upload them as a file",
                )
            lines = [
                _Line(None, item.request, _model_error(item.request, batch.model), item.metadata)
                for item in config.requests.requests
            ]
            for line in lines:
                line.text = _text_of(line.request)
            inline = True
        else:
            raise invalid_argument("batch.input_config", "a file_name or requests is required")
        with self._lock:
            number = next(self._counter)
            name = f"batches/fake{number:04d}{secrets.token_hex(4)}"
            job = StoredJob(
                name=name,
                display_name=batch.display_name,
                model=batch.model,
                version=version,
                created=_now(),
                started=time.monotonic(),
                seconds=self.seconds,
                expire_seconds=self.expire_seconds,
                lines=lines,
                inline=inline,
                input_file=config.file_name or "",
                priority=batch.priority,
                failures=self._make_failures(),
                fail_job=self._fail_jobs.pop(0) if self._fail_jobs else None,
            )
            self._jobs[name] = job
        return self.operation(job)

    def _file_lines(self, version: ApiVersion, name: str, model: str) -> list[_Line]:
        with self._lock:
            stored = self._files.get(name)
        if stored is None:
            raise GRPCError(Status.NOT_FOUND, f"File {name} not found (or it expired).")
        if stored.source != "UPLOADED":
            raise invalid_argument("batch.input_config.file_name", f"{name} is not an input file")
        request_type = version.message("EmbedContentRequest")
        lines = []
        for raw in stored.data.splitlines():
            if not raw.strip():
                continue
            key: str | None = None
            try:
                parsed = json_mapping.loads(raw)
                if not isinstance(parsed, dict):
                    raise TypeError("a line must be a JSON object")
                found = parsed.get("key")
                key = found if isinstance(found, str) else None
                if key is None:
                    raise KeyError("the line has no string 'key'")
                inner = json_mapping.from_json(request_type, parsed.get("request") or {})
            except (ValueError, TypeError, KeyError) as exc:
                error = GRPCError(Status.INVALID_ARGUMENT, f"malformed line: {exc}")
                lines.append(_Line(key, None, error))
                continue
            if not inner.model:
                inner.model = model
            lines.append(_Line(key, inner, _model_error(inner, model), text=_text_of(inner)))
        return lines

    def get(self, version: ApiVersion, request: Any) -> Any:
        """``GetBatch``."""
        return self.operation(self._job(request.name))

    def list(self, version: ApiVersion, request: Any) -> Any:
        """``ListBatches``: newest first, in pages."""
        with self._lock:
            jobs = [j for j in reversed(self._jobs.values()) if not j.deleted]
        size = request.page_size if request.page_size > 0 else 50
        start = int(request.page_token) if request.page_token.isdigit() else 0
        page = jobs[start : start + size]
        more = start + size < len(jobs)
        return version.build(
            "ListBatchesResponse",
            operations=[self.operation(job) for job in page],
            next_page_token=str(start + size) if more else "",
        )

    def cancel(self, version: ApiVersion, request: Any) -> Any:
        """``CancelBatch``: a pending or running job stops (a done one stays as it is)."""
        job = self._job(request.name)
        now = time.monotonic()
        if self._state_name(job, now) in ("PENDING", "RUNNING"):
            job.cancelled_at = now
        return _empty()

    def delete(self, version: ApiVersion, request: Any) -> Any:
        """``DeleteBatch``: gone from get and list (it is not cancelled)."""
        job = self._job(request.name)
        job.deleted = True
        return _empty()

    # -- files ------------------------------------------------------------------------------

    def _file(self, name: str) -> StoredFile:
        with self._lock:
            found = self._files.get(name)
        if found is None:
            raise GRPCError(Status.NOT_FOUND, f"File {name} not found.")
        return found

    def get_file(self, version: ApiVersion, request: Any) -> Any:
        """``GetFile``."""
        return self._file(request.name).message(version)

    def delete_file(self, version: ApiVersion, request: Any) -> Any:
        """``DeleteFile``."""
        self._file(request.name)
        with self._lock:
            del self._files[request.name]
        return _empty()

    def list_files(self, version: ApiVersion, request: Any) -> Any:
        """``ListFiles``: oldest first, in pages."""
        files = self.files
        size = request.page_size if request.page_size > 0 else 10
        start = int(request.page_token) if request.page_token.isdigit() else 0
        more = start + size < len(files)
        return version.build(
            "ListFilesResponse",
            files=[f.message(version) for f in files[start : start + size]],
            next_page_token=str(start + size) if more else "",
        )

    # -- media ------------------------------------------------------------------------------

    async def media(
        self,
        version: ApiVersion,
        verb: str,
        path: str,
        query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> Response:
        """An upload or download request (``is_media`` said it is one); a refusal raises its
        ``GRPCError``."""
        fields = dict(parse_qsl(query, keep_blank_values=True))
        found = {key.lower(): value for key, value in headers}
        if path.startswith("/upload/"):
            if verb != "POST":
                raise GRPCError(Status.INVALID_ARGUMENT, "uploads are POST requests")
            return await self._upload(version, fields, found, body)
        return await self._download(version, path, found)

    async def _upload(
        self,
        version: ApiVersion,
        fields: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Response:
        command = headers.get("x-goog-upload-command", "").replace(" ", "").lower()
        upload_id = fields.get("upload_id")
        if upload_id is None:
            if command != "start" or headers.get("x-goog-upload-protocol") != "resumable":
                raise GRPCError(
                    Status.INVALID_ARGUMENT,
                    "start a resumable upload: X-Goog-Upload-Protocol: resumable, "
                    "X-Goog-Upload-Command: start",
                )
            return self._start(version, headers, body)
        with self._lock:
            session = self._sessions.get(upload_id)
        if session is None:
            raise GRPCError(Status.NOT_FOUND, f"no upload session {upload_id}")
        if command == "query":
            return _session_answer(version, session)
        if command not in ("upload", "upload,finalize"):
            raise GRPCError(Status.INVALID_ARGUMENT, f"unknown upload command {command!r}")
        if session.file is not None:
            return _session_answer(version, session)
        offset = headers.get("x-goog-upload-offset", "")
        if not offset.isdigit() or int(offset) != len(session.received):
            raise GRPCError(
                Status.INVALID_ARGUMENT,
                f"X-Goog-Upload-Offset {offset!r} is not where the upload stands "
                f"({len(session.received)} bytes received)",
            )
        if self._broken_chunks:
            self._broken_chunks -= 1
            session.received += body[: len(body) // 2]
            raise GRPCError(Status.UNAVAILABLE, "the chunk was cut short (injected)")
        pause = self._take_pause("upload")
        if pause is not None:
            session.received += body[: len(body) // 2]
            await pause.hold()
            raise GRPCError(Status.UNAVAILABLE, "the chunk was cut short (paused)")
        session.received += body
        if len(session.received) > session.size:
            raise GRPCError(Status.INVALID_ARGUMENT, "more bytes than the upload declared")
        if command == "upload,finalize":
            if len(session.received) != session.size:
                raise GRPCError(
                    Status.INVALID_ARGUMENT,
                    f"finalized with {len(session.received)} of {session.size} bytes",
                )
            session.file = self._store(session)
        return _session_answer(version, session)

    def _start(self, version: ApiVersion, headers: Mapping[str, str], body: bytes) -> Response:
        size = headers.get("x-goog-upload-header-content-length", "")
        if not size.isdigit():
            raise GRPCError(
                Status.INVALID_ARGUMENT, "X-Goog-Upload-Header-Content-Length is required"
            )
        metadata = version.message("CreateFileRequest")()
        if body.strip():
            try:
                metadata = json_mapping.from_json(
                    version.message("CreateFileRequest"), json_mapping.loads(body), strict=True
                )
            except (ValueError, TypeError, KeyError) as exc:
                raise GRPCError(Status.INVALID_ARGUMENT, f"Invalid JSON payload: {exc}") from None
        file = metadata.file
        session = _Session(
            secrets.token_hex(12),
            int(size),
            headers.get("x-goog-upload-header-content-type", "application/octet-stream"),
            file.display_name if file is not None else "",
        )
        with self._lock:
            self._sessions[session.id] = session
        host = headers.get("host", "generativelanguage.googleapis.com")
        url = (
            f"http://{host}/upload/{version.name}/files?upload_id={session.id}"
            "&upload_protocol=resumable"
        )
        return Response(
            200,
            (
                *_JSON,
                ("x-goog-upload-url", url),
                ("x-goog-upload-status", "active"),
                ("x-goog-upload-chunk-granularity", str(256 * 1024)),
            ),
            b"",
        )

    def _store(self, session: _Session) -> StoredFile:
        name = f"files/{secrets.token_hex(8)}"
        stored = StoredFile(
            name,
            session.display_name,
            session.mime_type,
            session.size,
            _now(),
            "UPLOADED",
            data=bytes(session.received),
        )
        with self._lock:
            self._files[name] = stored
        return stored

    async def _download(
        self, version: ApiVersion, path: str, headers: Mapping[str, str]
    ) -> Response:
        name = path.removeprefix("/download").removeprefix(f"/{version.name}/")
        name = name.removesuffix(":download")
        stored = self._file(name)
        if stored.lines is None:
            raise GRPCError(
                Status.INVALID_ARGUMENT, f"{name} was uploaded: only generated files download"
            )
        skip = 0
        ranged = headers.get("range", "")
        if ranged.startswith("bytes=") and ranged.endswith("-") and ranged[6:-1].isdigit():
            skip = int(ranged[6:-1])
        lines = stored.lines
        pause = self._take_pause("download")
        halfway = 1 + self._line_count(name) // 2
        broken = self._broken_downloads > 0
        self._broken_downloads -= broken

        async def body() -> AsyncIterator[bytes]:
            left = skip
            sent = 0
            async for line in lines():
                if left >= len(line):
                    left -= len(line)
                    continue
                piece, left = line[left:], 0
                sent += 1
                yield piece
                if pause is not None and sent == halfway:
                    await pause.hold()
                if broken and sent == halfway:
                    raise Dropped

        return Response(
            206 if skip else 200,
            (("content-type", stored.mime_type),),
            b"",
            stream=body(),
        )

    def _line_count(self, name: str) -> int:
        with self._lock:
            for job in self._jobs.values():
                if job.results_file is not None and job.results_file.name == name:
                    return len(job.lines)
        return 0


def is_upload_session(path: str, query: str) -> bool:
    """Whether a REST request continues an upload session (its URL has the ``upload_id`` the
    start answered). The session URL is its credential: google-genai 3.3.0 sends the chunks
    with the X-Goog-Upload-* headers alone, no key (``_api_client.BaseApiClient._upload_fd``)."""
    return path.startswith("/upload/") and "upload_id" in dict(parse_qsl(query))


def is_media(verb: str, path: str, query: str) -> bool:
    """Whether a REST request is an upload or a download (not an RPC)."""
    if path.startswith("/upload/"):
        return True
    media = ("alt", "media") in parse_qsl(query)
    return verb == "GET" and media and path.endswith(":download") and "/files/" in path


def _session_answer(version: ApiVersion, session: _Session) -> Response:
    if session.file is None:
        return Response(
            200,
            (
                *_JSON,
                ("x-goog-upload-status", "active"),
                ("x-goog-upload-size-received", str(len(session.received))),
            ),
            b"",
        )
    created = version.build("CreateFileResponse", file=session.file.message(version))
    return Response(
        200,
        (
            *_JSON,
            ("x-goog-upload-status", "final"),
            ("x-goog-upload-size-received", str(session.size)),
        ),
        json_mapping.dumps(json_mapping.to_json(created)),
    )


def _status(error: GRPCError) -> Any:
    from textservice._proto.google import rpc

    return rpc.Status(code=error.status.value, message=error.message or error.status.name)


def _status_json(error: GRPCError) -> dict[str, Any]:
    return {"code": error.status.value, "message": error.message or error.status.name}


def _empty() -> Any:
    from textservice._proto.google.protobuf import Empty

    return Empty()


def _model_error(request: Any, model: str) -> GRPCError | None:
    if request.model and request.model != model:
        return invalid_argument(
            "request.model", f"{request.model} is not the batch's model ({model})"
        )
    return None


def _text_of(request: Any) -> str:
    content = getattr(request, "content", None)
    parts = getattr(content, "parts", None) or []
    return "".join(p.text for p in parts if getattr(p, "text", None))
