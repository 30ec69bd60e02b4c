"""``textservice embed --batch-mode``: the vectors made by a Batch mode job, written as an
online run writes them, and a job never submitted twice.

Everything a Batch mode run knows sits in ``OUTPUT.batch/`` (beside ``OUTPUT.part``, under the
output's lock): ``state.json`` (the checkpoint), ``input.jsonl`` (the requests of the job being
sent) and ``results-N.jsonl`` (each finished job's results, downloaded). A run:

1. **Settles the job in hand** (``state.job``): reads it until it is done (Ctrl-C detaches:
   the job goes on at Google, and the next run picks it up), downloads the results of one
   that succeeded, and reports one that failed, was cancelled or expired (exit 1: the next
   run sends a new job).
2. **Works out what is missing**: the records to write whose content key no results file
   (and no earlier output, :mod:`.reuse`) holds; none means step 4.
3. **Sends one job** for them (each distinct key once): its requests written to
   ``input.jsonl`` and their digest saved, with the job's display name
   (``textservice-embed-`` and that digest), *before* anything is sent. Then: inline in the
   create call when small (:func:`textservice.batches.plan_input`), else uploaded (the
   session's URL saved before the first byte, so a rerun goes on from the server's offset,
   and the file's name once it is in), then created; the job's name saved as soon as it is
   answered. Creating is not idempotent, so before creating, and after a create that may
   have gone through (a crash before its answer, a dropped connection), the jobs of that
   display name are listed and one still alive is adopted rather than a second sent.
   ``--detach`` exits here; otherwise back to step 1.
4. **Writes the output**, in input order, from the results files (read by key, by offset,
   :mod:`.batch_results`) and the earlier outputs: the same writers, digests and content keys
   as an online run. A request that failed stops the output before its record (the
   ``.part`` keeps the rest, the failed lines are listed, exit 1): the next run sends only
   the failed ones, in a new job.

A finished output removes ``OUTPUT.batch/``; the jobs stay at Google (``textservice batch list``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import click

from textservice import batches
from textservice._profiles import profile_for
from textservice.batches import jobs
from textservice.batches.requests import RequestLines, plan_input
from textservice.batches.results import inline_results
from textservice.batches.states import BatchState, is_final, short_name, succeeded
from textservice.cli.batch_results import Failure, ResultsFile
from textservice.cli.content_keys import ContentKeys
from textservice.cli.errors import CliError, OutputConflictError
from textservice.cli.files import file_digest
from textservice.cli.inputs import Record
from textservice.cli.listing import SHOWN, and_more
from textservice.cli.progress import Mode, format_duration
from textservice.cli.reuse import Earlier, Reuse, left_to_embed
from textservice.cli.services import EmbedBatches, EmbedOptions, content_item
from textservice.cli.writers.common import fsync_dir, replace_atomically
from textservice.client import TextServiceClient
from textservice.errors import (
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    Unavailable,
    Unknown,
)

__all__ = [
    "BatchJobEnded",
    "BatchLinesFailed",
    "BatchOutcome",
    "BatchRun",
    "Detached",
    "JobState",
    "batch_folder",
    "remove_batch_folder",
    "run_jobs",
]

STATE = "state.json"
INPUT = "input.jsonl"
_VERSION = 1
_RESEND_AFTER_CREATE = (Unavailable, DeadlineExceeded, Unknown)
"""What a create may fail with after the job was made: the answer was lost on the way."""

AGAIN = "run the same command again"


class BatchJobEnded(CliError):
    """The job failed, was cancelled or expired: nothing to collect (exit 1)."""


class BatchLinesFailed(CliError):
    """Requests of the job failed: the output stops before the first of their records."""


class Detached(Exception):
    """``--detach``: the job was sent (or is running); the command ends here (exit 0)."""


def batch_folder(output: Path) -> Path:
    """``OUTPUT.batch``: where a Batch mode run keeps its checkpoint, input and results."""
    return output.with_name(output.name + ".batch")


def remove_batch_folder(output: Path) -> None:
    """Remove ``OUTPUT.batch`` (the output is finished, or started over)."""
    shutil.rmtree(batch_folder(output), ignore_errors=True)


@dataclass
class JobState:
    """The checkpoint of a Batch mode run (``state.json``; see the module docstring)."""

    digest: str | None = None
    """The digest of ``input.jsonl``: the requests of the job being sent."""
    display_name: str | None = None
    """That job's display name (what a rerun finds it by when its name was lost)."""
    lines: int = 0
    bytes: int = 0
    inline: bool = False
    upload_url: str | None = None
    """The upload session of ``input.jsonl`` (a rerun goes on with it)."""
    file: str | None = None
    """``input.jsonl``'s name at the Files API once uploaded."""
    creating: bool = False
    """A create was sent (or about to be) and no name came back: look for the job first."""
    job: str | None = None
    """The job in hand (``batches/...``)."""
    done_jobs: list[str] = field(default_factory=list)
    """Jobs collected or given up: never adopted again."""
    results: list[str] = field(default_factory=list)
    """The results files in the folder, oldest first."""
    collected: list[str] = field(default_factory=list)
    """The jobs those results are of, in the same order."""

    @classmethod
    def load(cls, folder: Path) -> JobState:
        """The state in ``folder`` (a new one when there is none)."""
        path = folder / STATE
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            return cls()
        try:
            data = json.loads(text)
            if data.pop("version", None) != _VERSION:
                raise ValueError("not a version this textservice writes")
            state = cls(**data)
            if len(state.collected) != len(state.results):
                raise ValueError("its results and the jobs they are of do not pair up")
            return state
        except (ValueError, TypeError) as exc:
            raise OutputConflictError(
                f"{path} is not a Batch mode checkpoint ({exc}): remove {folder} (a job it "
                "names goes on at Google: textservice batch list) or pass --overwrite"
            ) from None

    def save(self, folder: Path) -> None:
        """Write the state atomically (fsynced) before anything it records is acted on."""
        data = {"version": _VERSION, **dataclasses.asdict(self)}
        text = json.dumps(data, indent=1, sort_keys=True).encode("utf-8")
        replace_atomically(folder / STATE, lambda f: f.write(text))
        fsync_dir(folder)

    spent: list[str] = field(default_factory=list)
    """Display names whose job was collected or given up: a job for the same requests again
    gets a new one, so looking for a job by name never finds a finished one."""

    def new_requests(self, digest: str, lines: int, size: int, inline: bool) -> None:
        """The job to send is for these requests (whose digest is ``digest``): its display
        name is made of the digest (numbered when that name was spent)."""
        base = f"textservice-embed-{digest[:24]}"
        name, number = base, 1
        while name in self.spent:
            number += 1
            name = f"{base}-{number}"
        self.digest, self.lines, self.bytes, self.inline = digest, lines, size, inline
        self.display_name = name
        self.upload_url = self.file = None
        self.creating = False

    def finished(self, job: str) -> None:
        """``job`` (the one in hand) was collected or given up."""
        self.done_jobs.append(job)
        if self.display_name is not None and self.display_name not in self.spent:
            self.spent.append(self.display_name)
        self.job = None
        self.creating = False


class _Status:
    """The job's progress on stderr: one redrawn line on a terminal, lines for a log (``lines``
    mode), nothing when off. A new kind of line (another state, the upload, the download) is
    shown at once; updates of the same kind at most every ``interval`` seconds (2 for a log,
    as ``Progress``), the last one shown by ``end``, so a download of many MB writes a few
    lines, not one per chunk."""

    def __init__(
        self,
        mode: Mode,
        started: float,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mode = mode
        self.started = started
        self.interval = interval if interval is not None else (0.1 if mode == "bar" else 2.0)
        self.clock = clock
        self.last = ""
        self.kind: str | None = None
        self.shown_at = float("-inf")
        self.pending: str | None = None

    def show(self, text: str, kind: str = "") -> None:
        if self.mode == "off" or text == self.last:
            return
        now = self.clock()
        if kind == self.kind and now - self.shown_at < self.interval:
            self.pending = text
            return
        self._write(text)
        self.kind, self.shown_at = kind, now

    def _write(self, text: str) -> None:
        self.last, self.pending = text, None
        if self.mode == "bar":
            sys.stderr.write(f"\r\x1b[2K{text}")
            sys.stderr.flush()
        else:
            click.echo(text, err=True)

    def batch(self, batch: batches.Batch) -> None:
        stats = batch["batch_stats"]
        counts = ""
        if stats is not None and stats["request_count"]:
            done = stats["successful_request_count"] + stats["failed_request_count"]
            counts = f", {done:,} of {stats['request_count']:,} done"
            if stats["failed_request_count"]:
                counts += f" ({stats['failed_request_count']:,} failed)"
        elapsed = format_duration(time.monotonic() - self.started)
        state = short_name(batch["state"])
        self.show(f"{batch['name']}: {state}{counts}, {elapsed} elapsed", state)

    def end(self) -> None:
        if self.pending is not None and self.mode != "off":
            self._write(self.pending)
        if self.mode == "bar" and self.last:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.last, self.kind = "", None


@dataclass
class BatchRun:
    """One ``--batch-mode`` run's job handling (see the module docstring)."""

    output: Path
    client: TextServiceClient
    options: EmbedOptions
    keys: ContentKeys
    vectors: Literal["list", "numpy"]
    mode: Mode
    detach: bool = False
    quiet: bool = False
    poll: tuple[float, float] = (1.0, 30.0)
    """Seconds between reads of a running job: the first, and the most (backing off)."""
    state: JobState = field(init=False)
    folder: Path = field(init=False)
    collected: list[str] = field(default_factory=list)
    """Jobs whose results this run downloaded."""

    def __post_init__(self) -> None:
        self.folder = batch_folder(self.output)
        self.folder.mkdir(exist_ok=True)
        self.state = JobState.load(self.folder)

    def note(self, text: str) -> None:
        """A line for the user (not with --quiet)."""
        if not self.quiet:
            click.echo(f"textservice: {text}", err=True)

    def sources(self) -> list[ResultsFile]:
        """Every results file downloaded so far, open for reading."""
        return [
            ResultsFile(self.folder / name, self.vectors, self.options.normalize)
            for name in self.state.results
        ]

    # -- 1. the job in hand ------------------------------------------------------------------

    async def settle(self) -> None:
        """Find a job whose create went out unanswered, then see the job in hand through."""
        state = self.state
        if state.job is None and state.creating and state.display_name is not None:
            found = await self._orphan()
            if found is not None:
                self.note(f"found {found}, sent by an earlier run that stopped before saving it")
            state.creating = False
            state.save(self.folder)
        if state.job is None:
            return
        name = state.job
        status = _Status(self.mode, time.monotonic())
        try:
            batch = await jobs.get(name, client=self.client)
            if not is_final(batch["state"]):
                status.batch(batch)
                if self.detach:
                    raise Detached(
                        f"{name} is {short_name(batch['state'])} (detached: {AGAIN} to collect "
                        f"its results; textservice batch status {name})"
                    )
                first, most = self.poll
                batch = await jobs.wait(
                    name,
                    progress=status.batch,
                    interval=first,
                    max_interval=most,
                    client=self.client,
                )
        except NotFound:
            status.end()
            self._give_up(name)
            raise BatchJobEnded(
                f"{name} is gone (deleted, or its results are older than Google keeps them): "
                f"{AGAIN} to send a new job"
            ) from None
        except (KeyboardInterrupt, asyncio.CancelledError):
            status.end()
            raise
        status.end()
        if succeeded(batch["state"]):
            await self._collect(batch)
            return
        self._give_up(name)
        raise BatchJobEnded(_ended(batch))

    def _give_up(self, name: str) -> None:
        self.state.finished(name)
        self.state.save(self.folder)

    async def _orphan(self) -> str | None:
        state = self.state
        assert state.display_name is not None
        found = await jobs.find(state.display_name, client=self.client)
        alive = [
            b["name"]
            for b in found
            if b["name"] not in state.done_jobs
            and b["state"]
            not in (
                BatchState.BATCH_STATE_FAILED,
                BatchState.BATCH_STATE_CANCELLED,
                BatchState.BATCH_STATE_EXPIRED,
            )
        ]
        if not alive:
            return None
        state.job = alive[0]
        state.save(self.folder)
        return alive[0]

    async def _collect(self, batch: batches.Batch) -> None:
        """Download a succeeded job's results into the folder (a crash midway: the next run
        downloads them again), then record them."""
        state = self.state
        name = batch["name"]
        target = self.folder / f"results-{len(state.results) + 1}.jsonl"
        part = target.with_name(target.name + ".part")
        output: dict[str, Any] = dict(batch["output"] or {})
        inlined = output.get("inlined_responses")
        if inlined is not None:
            with part.open("wb") as sink:
                for result in inline_results(inlined["inlined_responses"]):
                    sink.write(_result_line(result) + b"\n")
        else:
            file_name = output.get("responses_file")
            if not file_name:
                raise BatchJobEnded(f"{name} succeeded but names no results file")
            status = _Status(self.mode, time.monotonic())
            try:
                size = await jobs.download(
                    file_name,
                    part,
                    client=self.client,
                    progress=lambda done: status.show(
                        f"{name}: downloading its results, {done / 1e6:,.1f} MB", "download"
                    ),
                )
            finally:
                status.end()
            self.note(f"{name}: downloaded {size / 1e6:,.1f} MB of results")
        with part.open("rb") as written:
            os.fsync(written.fileno())
        part.replace(target)
        fsync_dir(self.folder)
        state.results.append(target.name)
        state.collected.append(name)
        state.finished(name)
        state.save(self.folder)
        self.collected.append(name)

    # -- 3. a new job ------------------------------------------------------------------------

    async def send(self, pending: Iterator[Record]) -> bool:
        """Send one job for the ``pending`` records (each distinct key once); whether there
        were any."""
        state = self.state
        staged = self.folder / f"{INPUT}.new"
        requests = batches.request_json(
            self.options.model,
            task_type=self.options.task_type,
            output_dimensionality=self.options.output_dimensionality,
        )
        seen: set[bytes] = set()
        with staged.open("wb") as sink:
            lines = RequestLines(requests, sink)
            for record in pending:
                key = self.keys.key(record)
                if key in seen:
                    continue
                seen.add(key)
                lines.add(key.hex(), content_item(record), f"line {record.line}")
            sink.flush()
        if not lines.lines:
            staged.unlink()
            return False
        digest = file_digest(staged)
        profile = profile_for(self.options.model)
        dimension = self.options.output_dimensionality or profile.default_dimension or 3072
        plan = plan_input(lines.lines, lines.bytes, dimension)
        staged.replace(self.folder / INPUT)
        fsync_dir(self.folder)
        if digest != state.digest or state.display_name in (None, *state.spent):
            state.new_requests(digest, lines.lines, lines.bytes, plan.inline)
        state.save(self.folder)  # the digest and display name, before anything is sent
        self.note(f"Batch mode: sending {plan.describe()}")
        if not plan.inline and state.file is None:
            if await self._adopted():  # the same requests, sent before: upload nothing
                return True
            await self._upload()
        await self._create()
        return True

    async def _adopted(self) -> bool:
        """Whether a job of this display name is still alive (sent by an earlier run, whose
        answer or folder was lost): it is now the job in hand, and no other is sent."""
        found = await self._orphan()
        if found is not None:
            self.note(f"found {found}, sent by an earlier run: not sending another")
        return found is not None

    async def _upload(self) -> None:
        state = self.state
        path = self.folder / INPUT
        status = _Status(self.mode, time.monotonic())

        def saved(url: str) -> None:
            state.upload_url = url
            state.save(self.folder)

        try:
            uploaded = await jobs.upload(
                path,
                display_name=state.display_name or "",
                resume=state.upload_url,
                on_session=saved,
                progress=lambda done, total: status.show(
                    f"uploading the requests: {done / 1e6:,.1f} of {total / 1e6:,.1f} MB",
                    "upload",
                ),
                client=self.client,
            )
        finally:
            status.end()
        state.file = uploaded["name"]
        state.upload_url = None
        state.save(self.folder)

    async def _create(self) -> None:
        state = self.state
        assert state.display_name is not None
        if await self._adopted():  # a job of this name still alive is this one
            return
        state.creating = True
        state.save(self.folder)
        try:
            if state.inline:
                pairs = [
                    (value["key"], value["request"])
                    for value in map(json.loads, (self.folder / INPUT).read_bytes().splitlines())
                ]
                batch = await jobs.create(
                    self.options.model,
                    display_name=state.display_name,
                    requests=pairs,
                    client=self.client,
                )
            else:
                assert state.file is not None
                batch = await jobs.create(
                    self.options.model,
                    display_name=state.display_name,
                    file_name=state.file,
                    client=self.client,
                )
        except _RESEND_AFTER_CREATE:
            if await self._orphan() is None:  # it did not go through: the next run sends it
                raise
            state.creating = False
            state.save(self.folder)
            return
        except (NotFound, InvalidArgument) as exc:
            if state.file is not None and "file" in str(exc).lower():
                state.file = state.upload_url = None  # expired (48 h): upload it again
                state.creating = False
                state.save(self.folder)
            raise
        state.job = batch["name"]
        state.creating = False
        state.save(self.folder)
        self.note(
            f"sent {batch['name']} ({state.lines:,} request{'' if state.lines == 1 else 's'}; "
            f"Ctrl-C detaches, {AGAIN} to pick it up)"
        )

    # -- 4. failed requests -----------------------------------------------------------------

    def this_runs(self, sources: Sequence[ResultsFile]) -> list[ResultsFile]:
        """Of ``sources`` (``sources()``, in order), the results this run collected."""
        return [
            source
            for source, job in zip(sources, self.state.collected, strict=True)
            if job in self.collected
        ]

    def failures(self, sources: Sequence[ResultsFile]) -> dict[str, Failure]:
        """Why the requests that failed (by key) did; read by the sources' ``keys``."""
        found: dict[str, Failure] = {}
        for source in sources:
            found.update(source.failures)
        return found


def _result_line(result: batches.BatchResult) -> bytes:
    """An inline result as a results file's line."""
    if result.values is not None:
        return json.dumps(
            {"key": result.key, "response": {"embedding": {"values": result.values.tolist()}}},
            separators=(",", ":"),
        ).encode("utf-8")
    error = {"code": result.code.value, "message": result.message}
    return json.dumps({"key": result.key, "error": error}, separators=(",", ":")).encode("utf-8")


def _ended(batch: batches.Batch) -> str:
    """What to tell the user of a job that ended without results."""
    name, state = batch["name"], batch["state"]
    error = batch["error"]
    why = f": {error['message']}" if error is not None and error["message"] else ""
    if state is BatchState.BATCH_STATE_EXPIRED:
        return (
            f"{name} expired: Google did not run it within 48 hours (nothing was charged for "
            f"it); {AGAIN} to send a new job, perhaps with fewer lines at a time"
        )
    if state is BatchState.BATCH_STATE_CANCELLED:
        return (
            f"{name} was cancelled before it finished{why}; {AGAIN} to send a new job, or "
            "run without --batch-mode to embed online"
        )
    return f"{name} failed{why}; {AGAIN} to send a new job"


async def failing(message: str, records: Iterator[Record]) -> AsyncIterator[Any]:
    """An embedding source that fails at the first record it is given: the records Batch mode
    could not embed stop the output there (given none, it ends quietly)."""
    for _ in records:
        raise BatchLinesFailed(message)
    return
    yield  # pragma: no cover  (an async generator)


def failing_batches(message: str) -> EmbedBatches:
    """``EmbedBatches`` raising ``BatchLinesFailed(message)`` (see ``failing``)."""
    return lambda records: failing(message, records)


def check_batch_mode(options: EmbedOptions, output_path: str | None) -> None:
    """``--batch-mode``'s own rules (``click.UsageError``)."""
    if output_path is None or output_path == "-":
        raise click.UsageError(
            "--batch-mode needs --output FILE: the job's name and results are kept beside it, "
            "so a rerun picks them up"
        )
    if options.service == "text":
        raise click.UsageError(
            f"--batch-mode embeds through GenerativeService's EmbedContent; {options.model} is "
            "embedded by the legacy TextService, which has no Batch mode"
        )


@contextlib.contextmanager
def kept_on_interrupt(run: BatchRun) -> Iterator[None]:
    """Ctrl-C (or SIGTERM) while a job runs: say the job goes on and how to pick it up."""
    try:
        yield
    except KeyboardInterrupt:
        job = run.state.job
        if job is not None:
            run.note(
                f"detached from {job}, which goes on at Google: {AGAIN} to collect its results "
                f"(textservice batch status {job}; textservice batch cancel {job} stops it)"
            )
        raise


@dataclass
class BatchOutcome:
    """What the output is written from after the jobs are settled."""

    reuse: Reuse | None
    """Every source of vectors (earlier outputs, then the jobs' results), planned per line."""
    embed: EmbedBatches
    """What the records no source holds get: ``BatchLinesFailed`` (they failed)."""
    from_jobs: int
    """Records after the resume point whose vector comes from a job's results."""
    jobs: list[str]
    """The jobs whose results are written."""


def run_jobs(
    run: BatchRun,
    *,
    records: Callable[[], Iterator[Record]],
    line_count: int,
    done: int,
    earlier: Sequence[Earlier],
    name: str,
    runner: Callable[[Any], Any],
) -> BatchOutcome:
    """Settle the jobs of ``run`` until every record after the first ``done`` has a vector
    or a failed request (see the module docstring); ``records()``: the input's records from
    the first; ``earlier``: the earlier outputs' sources (reused first); ``runner`` runs a
    coroutine to its end (``signals.run``)."""
    keys = run.keys

    def plan(sources: Sequence[Earlier]) -> Reuse | None:
        every = [*earlier, *sources]
        if not every:
            return None
        return Reuse.plan(every, keys, records(), line_count, done=done)

    def pending(current: Reuse | None) -> Iterator[Record]:
        return left_to_embed(records(), done, current)

    def unsent(current: Reuse | None, sources: Sequence[ResultsFile]) -> Iterator[Record]:
        """What a job is sent for: the records without a vector, but those whose request
        failed in a job this run collected (the next run sends them, once they are listed)."""
        failed_now = run.failures(run.this_runs(sources))
        return (r for r in pending(current) if keys.hexkey(r) not in failed_now)

    async def settle() -> None:
        async with run.client:
            while True:
                await run.settle()
                sources = run.sources()
                try:
                    current = plan(sources)
                    sent = await run.send(unsent(current, sources))
                finally:
                    for source in sources:
                        source.close()
                if not sent:
                    return
                if run.detach:
                    job = run.state.job or "the job"
                    raise Detached(
                        f"sent {job}; detached: {AGAIN} to collect its results "
                        f"(textservice batch status {job})"
                    )

    with kept_on_interrupt(run):
        runner(settle())
    sources = run.sources()
    final = plan(sources)
    from_jobs = 0
    if final is not None:
        later = final.entries[final.entries >= 0]
        first_job = len(earlier)
        from_jobs = int((final.index.source[later] >= first_job).sum()) if len(later) else 0
        from_jobs = min(from_jobs, line_count)
    failed = run.failures(sources)
    count, shown, first = _missing(pending(final), keys, failed, name)
    if count:
        for line in shown:
            click.echo(line, err=True)
        if more := and_more(count, len(shown)):
            click.echo(more, err=True)
        jobs_named = ", ".join(run.state.done_jobs[-1:]) or "the job"
        message = (
            f"{count:,} request{'' if count == 1 else 's'} failed in Batch mode ({jobs_named}; "
            f"listed above): the output stops before line {first}; {AGAIN} to send only "
            "those in a new job"
        )
    else:
        message = "every record has a vector"  # never raised: nothing is left to embed
    return BatchOutcome(final, failing_batches(message), from_jobs, list(run.state.collected))


def _missing(
    records: Iterator[Record], keys: ContentKeys, failed: dict[str, Failure], name: str
) -> tuple[int, list[str], int | None]:
    """The records left without a vector: how many, the first as ``NAME:LINE: STATUS:
    message`` lines, and the first one's line."""
    count = 0
    shown: list[str] = []
    first: int | None = None
    for record in records:
        reason = failed.get(keys.hexkey(record)) or Failure("UNKNOWN", "no result came back")
        count += 1
        first = record.line if first is None else first
        if len(shown) < SHOWN:
            shown.append(f"{name}:{record.line}: {reason.status}: {reason.message}")
    return count, shown, first
