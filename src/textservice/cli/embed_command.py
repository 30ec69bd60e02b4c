"""``textservice embed``: the command (options, the order of checks, exit codes).

The order a user can rely on: the options first (a bad task type, or one the model's service does
not take: exit 2), then the input (unreadable: exit 2; bad lines: exit 3, nothing sent; titles the
task type cannot take: exit 2), then the key (exit 2, before any file is made), then the output's
lock (another run holds it: exit 4), then an earlier run's output is inspected and every result it
holds verified against the input (exit 4, nothing changed), and only then is anything written or
sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import errno
import os
import sys
import time
from typing import Any, Literal, NoReturn

import click

from textservice._checks import check_model
from textservice._profiles import MAX_BATCH_ITEMS
from textservice._routes import DEFAULT_EMBEDDING_MODEL
from textservice.cli import signals
from textservice.cli.checkpoints import verify_checkpoints
from textservice.cli.connect import Connection, client_or_exit, connection_options
from textservice.cli.destinations import open_output
from textservice.cli.digests import DigestChain
from textservice.cli.embed import EmbedSummary, embed_records, format_summary
from textservice.cli.errors import OutputConflictError
from textservice.cli.exit_codes import EXIT_CODES_HELP, ExitCode, describe, exit_code_for, fail
from textservice.cli.inputs import BadLine, Format, format_bad_lines
from textservice.cli.locks import output_lock
from textservice.cli.outputs import ResultWriter, output_kind
from textservice.cli.progress import Progress, keep_drawing, progress_mode
from textservice.cli.services import (
    SERVICE_CHOICES,
    EmbedOptions,
    parse_task_type,
)
from textservice.cli.sources import InputCheck, Source, open_source

__all__ = ["embed"]

WINDOW_BATCHES = 8
"""Texts handed to one ``iter_embed_content_async`` (or ``iter_embeddings_async``) call: this many
times the texts of the calls in flight (``--batch-size`` x ``--concurrency``); see
:mod:`textservice.cli.windows`."""

_SHOWN_BAD_LINES = 20


def _vectors_as(output_path: str | None) -> Literal["list", "numpy"]:
    """How the library should return vectors: float32 arrays when the writer takes them."""
    if output_path is not None and output_path != "-" and output_kind(output_path) != "jsonl":
        return "numpy"
    try:  # JSONL is formatted from arrays by pyarrow (faster), else from Python floats
        import numpy  # noqa: F401
        import pyarrow.compute  # noqa: F401
    except ImportError:
        return "list"
    return "numpy"


def _check_input(source: Source, *, skip_bad: bool) -> InputCheck:
    """The first pass; bad lines listed (all of them with --skip-bad), exit 3 without it."""
    shown: list[BadLine] = []

    def report(bad: BadLine) -> None:
        if skip_bad:  # every skipped line is listed: the record of what is missing
            click.echo(format_bad_lines([bad], source.name), err=True)
        elif len(shown) <= _SHOWN_BAD_LINES:
            shown.append(bad)

    check = source.check(report)
    if check.bad_count:
        if not skip_bad:
            # The first 20 and a count (a wrong --format can make every line bad).
            report_text = format_bad_lines(shown[:_SHOWN_BAD_LINES], source.name)
            more = check.bad_count - min(len(shown), _SHOWN_BAD_LINES)
            if more:
                report_text += f"\n... and {more} more bad line(s)"
            click.echo(report_text, err=True)
            fail(
                f"{check.bad_count} bad input line(s) of {check.line_count}; nothing was sent "
                "(fix them, or pass --skip-bad to embed the others)",
                ExitCode.BAD_INPUT,
            )
        click.echo(
            f"textservice: skipping {check.bad_count} bad input line(s) of {check.line_count}",
            err=True,
        )
    return check


def _verify(writer: ResultWriter, source: Source, check: InputCheck, chain: DigestChain) -> Any:
    """Check what an earlier run left, record by record, against the input (reading the
    records it holds into ``chain``); the rest of the records, to embed."""
    point = writer.point
    # A finished output that holds every record stays as it is: its last digest suffices.
    complete = point.finished and point.count == check.record_count
    before = copy.copy(chain)
    records = source.records(check)
    try:
        done = verify_checkpoints(
            writer.checkpoints(every=not complete), records, chain, writer.point_digest
        )
    except OutputConflictError:
        if complete:  # name the first result that differs, where the format can
            verify_checkpoints(
                writer.checkpoints(every=True), source.records(check), before, writer.point_digest
            )
        raise
    assert done == point.count, f"checked {done} of {point.count} results"
    return records


@click.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--model",
    "-m",
    default=DEFAULT_EMBEDDING_MODEL,
    show_default=True,
    help="Model name (see 'textservice models').",
)
@click.option(
    "--service",
    "service_choice",
    type=click.Choice(SERVICE_CHOICES),
    default="auto",
    show_default=True,
    help="generative: GenerativeService's BatchEmbedContents (today's models); text: the "
    "legacy TextService's BatchEmbedText; auto: text for models/embedding-gecko-*, else "
    "generative.",
)
@click.option(
    "--task-type",
    callback=lambda _ctx, _param, value: parse_task_type(value),
    metavar="NAME",
    default=None,
    help="What the vectors are for (GenerativeService): retrieval_document (or document), "
    "retrieval_query (query), semantic_similarity (similarity), classification, clustering, "
    "question_answering (qa), fact_verification (verification), code_retrieval_query; any "
    "case. Titles need retrieval_document (the default when the input has titles). "
    "models/gemini-embedding-2 gets it as instruction text, never as a request field.",
)
@click.option(
    "--output-dimensionality",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Keep the first N values of each vector (GenerativeService; e.g. 768 or 1536 of "
    "gemini-embedding-2's 3,072; it takes 128-3,072) [default: the model's length].",
)
@click.option(
    "--normalize",
    is_flag=True,
    help="Scale every vector to unit length, as Google asks for shortened ones "
    "(GenerativeService).",
)
@click.option(
    "--input",
    "-i",
    "input_path",
    default="-",
    show_default=True,
    help="Text lines, JSONL with 'text' (or 'file': a media file's path) and optional 'id' "
    "and 'title' per line, Parquet, or a folder (every media file under it, the path its "
    "id); '-': standard input.",
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(["auto", "lines", "jsonl", "parquet"]),
    default="auto",
    show_default=True,
    help="Input format; auto: Parquet for .parquet, JSONL for .jsonl/.ndjson or when line 1 "
    "is a JSON object, else lines.",
)
@click.option(
    "--text-column",
    default="text",
    show_default=True,
    help="Parquet input: the column of texts.",
)
@click.option(
    "--id-column",
    default=None,
    help="Parquet input: the column of ids (integers or strings) [default: the row number].",
)
@click.option(
    "--file-column",
    default=None,
    help="Parquet input: a column of media file paths (relative to the Parquet file's "
    "folder), embedded instead of --text-column.",
)
@click.option(
    "--title-column",
    default=None,
    help="Parquet input: the column of titles (strings; null: none) [default: no titles].",
)
@click.option(
    "--output",
    "-o",
    "output_path",
    default=None,
    help="A .npy file (float32, row i = input line i+1), a .parquet file ('id' and "
    "'embedding' columns) or a JSONL file ('id' and 'embedding' per line); default: JSONL on "
    "standard output. A file output is resumable.",
)
@click.option("--overwrite", is_flag=True, help="Start over instead of resuming OUTPUT.")
@click.option(
    "--skip-bad",
    is_flag=True,
    help="Embed the good lines when some are bad (the bad ones are still listed on stderr).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, MAX_BATCH_ITEMS),
    default=MAX_BATCH_ITEMS,
    show_default=True,
    help="Texts per call (BatchEmbedContents, or TextService's BatchEmbedText).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Calls in flight at once.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress and a closing summary on stderr [default: when stderr is a terminal].",
)
@connection_options
@signals.terminate_as_interrupt()
def embed(
    model: str,
    service_choice: str,
    task_type: str | None,
    output_dimensionality: int | None,
    normalize: bool,
    input_path: str,
    input_format: Format,
    text_column: str,
    id_column: str | None,
    file_column: str | None,
    title_column: str | None,
    output_path: str | None,
    overwrite: bool,
    skip_bad: bool,
    batch_size: int,
    concurrency: int,
    progress: bool | None,
    connection: Connection,
) -> None:
    """Embed every line of the input; write the embeddings in input order.

    By default with models/gemini-embedding-2 (3,072 dimensions; text, and media files from a
    folder, JSONL "file" keys or a Parquet --file-column) through GenerativeService;
    the retired models/embedding-gecko-* go through TextService. The input is streamed (read
    twice: checked, then embedded), so memory stays flat however long it is. Bad input lines
    (empty, invalid UTF-8, invalid JSON, no "text", a "title" that is not a string, duplicate
    id) are listed with their line numbers; without --skip-bad nothing is sent. A file OUTPUT is
    written to OUTPUT.part batch by batch and renamed to OUTPUT at the end; rerunning the same
    command after a failure, Ctrl-C or SIGTERM embeds only what is missing, once every result
    kept is checked; a second run on the same OUTPUT meanwhile is refused.
    """
    try:
        check_model(model)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--model") from None
    options = EmbedOptions.checked(
        model, service_choice, task_type, output_dimensionality, normalize
    )
    if input_path == "-" and sys.stdin.isatty():
        fail("no input: pass --input FILE, or pipe the texts in", ExitCode.USAGE)
    try:
        source = open_source(
            input_path,
            format=input_format,
            text_column=text_column,
            id_column=id_column,
            title_column=title_column,
            file_column=file_column,
        )
        if file_column is not None and source.format != "parquet":
            raise click.UsageError(
                '--file-column is for Parquet input; in JSONL each line\'s "file" is its file'
            )
        if title_column is not None and source.format != "parquet":
            raise click.UsageError(
                '--title-column is for Parquet input; in JSONL each line\'s "title" is its title'
            )
        check = _check_input(source, skip_bad=skip_bad)
    except BaseException as exc:
        _stop_early(exc, f"cannot read {input_path}")
    options, note = options.for_input(check.titles, check.files)
    if note is not None:
        click.echo(f"textservice: {note}", err=True)

    # Made first: a missing key or bad endpoint stops the run before any output file exists.
    client = client_or_exit(connection, max_concurrency=concurrency)
    settings = options.settings(fake=connection.fake)
    chain = DigestChain(settings)
    with client, contextlib.ExitStack() as held:
        try:
            # held until the run ends, however it ends
            held.enter_context(output_lock(output_path, warn=_warn))
            writer = open_output(output_path, check, settings=settings, overwrite=overwrite)
            records = _verify(writer, source, check, chain)
            writer.start(chain, check.record_count)
        except BaseException as exc:
            _stop_early(exc, f"cannot write {output_path}")

        mode = progress_mode(progress)
        total = check.record_count
        summary = EmbedSummary(
            resumed=writer.point.count,
            skipped=check.bad_count,
            dimension=writer.dimension,
            destination=writer.describe(),
        )
        if writer.already_complete:
            if mode != "off":
                click.echo(
                    f"nothing to do: all {total} texts are already in {writer.describe()}", err=True
                )
            return
        bar = Progress(
            total,
            stream=sys.stderr,
            mode=mode,
            initial=writer.point.count,
            note=lambda: "throttled" if client.quota_stats().throttled else "",
        )
        embed_batches = options.batches(
            client, batch_size=batch_size, output=_vectors_as(output_path)
        )
        in_flight = batch_size * concurrency

        async def run() -> None:
            drawing = asyncio.ensure_future(keep_drawing(bar))
            try:
                async with client:  # its connection closes on this loop
                    await embed_records(
                        records,
                        writer,
                        embed_batches,
                        window=in_flight * WINDOW_BATCHES,
                        lookahead=in_flight,
                        progress=bar,
                        summary=summary,
                    )
            finally:
                drawing.cancel()
                stats = client.quota_stats()
                summary.quota_wait, summary.rejected = stats.throttled_for, stats.rejected

        started = time.monotonic()
        try:
            signals.run(run())
            writer.finish()
        except BaseException as exc:
            summary.seconds = time.monotonic() - started
            closing = _close(writer)
            bar.close()
            _fail_embedding(exc, writer, summary, closing)
        summary.seconds = time.monotonic() - started
        bar.close()
        if mode != "off":
            click.echo(format_summary(summary), err=True)


def _warn(message: str) -> None:
    click.echo(f"textservice: {message}", err=True)


def _stop_early(exc: BaseException, cannot: str) -> NoReturn:
    """Exit for a failure before anything was sent (so there is nothing to resume)."""
    code = exit_code_for(exc)
    if code is None or code == ExitCode.BROKEN_PIPE or isinstance(exc, click.ClickException):
        raise exc  # SystemExit, click's own; a closed pipe is the group's to handle
    if code == ExitCode.INTERRUPTED:
        stopped = "terminated (SIGTERM)" if isinstance(exc, signals.Terminated) else "interrupted"
        fail(f"{stopped}; nothing was sent", code)
    if isinstance(exc, OSError):  # the file named, as the user gave it
        fail(f"{cannot}: {exc.strerror or exc}", ExitCode.USAGE)
    if code == ExitCode.ERROR:
        raise exc  # not one we expect here: the traceback says where
    fail(describe(exc), code)


_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
"""A write failed for want of room: freeing some and rerunning resumes."""


def _close(writer: ResultWriter) -> BaseException | None:
    """Close ``writer`` after a failure; what closing raised, if anything (reported after the
    failure, never in its place)."""
    try:
        writer.close()
    except BaseException as exc:  # a second Ctrl-C included: the first cause is the one shown
        return exc
    return None


def _fail_embedding(
    exc: BaseException,
    writer: ResultWriter,
    summary: EmbedSummary,
    closing: BaseException | None = None,
) -> None:
    """Exit for a run that failed or was stopped, saying whether and how it can resume
    (``closing``: what closing the output raised afterwards, if anything)."""
    code = exit_code_for(exc)
    if code is None or code == ExitCode.BROKEN_PIPE or isinstance(exc, click.ClickException):
        raise exc  # SystemExit, click's own; a closed pipe is the group's to handle
    part = writer.resume_file  # only one that exists and holds results
    again = "run the same command again to resume"
    text = describe(exc)
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        text = f"{os.strerror(exc.errno)} while writing {writer.describe()}"
        again = "free some space, then run the same command again to resume"
    if closing is not None:
        text += (
            f" (closing it failed too: {describe(closing)}; the results it still held are "
            "embedded again by the next run)"
        )
    resume = f"; {part} is kept: {again}" if part else ""
    if code == ExitCode.INTERRUPTED:
        stopped = "terminated (SIGTERM)" if isinstance(exc, signals.Terminated) else "interrupted"
        fail(f"{stopped}; {format_summary(summary, finished=False)}{resume}", code)
    # A dimension that differs from an earlier run's: rerunning will not help.
    if code != ExitCode.ERROR or getattr(exc, "earlier", None) is not None:
        resume = ""
    fail(f"{text}{resume}", code)
