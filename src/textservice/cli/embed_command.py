"""``textservice embed``: the command (options, the order of checks, exit codes).

The order a user can rely on: the options first (a bad task type, or one the model's service does
not take: exit 2), then the input (unreadable: exit 2; bad lines: exit 3, nothing sent; titles the
task type cannot take: exit 2). Then texts over the model's token limit (``--on-long error``:
exit 3, nothing sent; ``truncate`` or ``skip``: cut or left out); ``--dry-run`` reports here and
stops (with ``error``, it lists them instead). Then the key (exit 2, before any file is
made), then the output's lock (another run holds it: exit 4), then an earlier run's output is
inspected and every result it holds verified against the input (corrupt: exit 4, nothing
changed; another input's: reused, :mod:`.rerun`), and only then is anything written or sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, NoReturn, get_args

import click
from click.core import ParameterSource

from textservice._checks import check_model
from textservice._profiles import MAX_BATCH_ITEMS
from textservice._routes import DEFAULT_EMBEDDING_MODEL
from textservice.cli import signals
from textservice.cli.bad_records import BadRecordFile, BadRecordReport, bad_record_kind
from textservice.cli.batch_mode import (
    AGAIN,
    BatchJobEnded,
    BatchOutcome,
    BatchRun,
    Detached,
    batch_folder,
    check_batch_mode,
    remove_batch_folder,
    run_jobs,
)
from textservice.cli.columns import Columns, parse_keep_columns
from textservice.cli.connect import (
    Connection,
    client_default,
    client_or_exit,
    connection_options,
)
from textservice.cli.content_keys import ContentKeys
from textservice.cli.digests import VectorSettings
from textservice.cli.dry_run import dry_run as run_dry
from textservice.cli.embed import EmbedBatches, EmbedSummary, embed_records, format_summary
from textservice.cli.exit_codes import EXIT_CODES_HELP, ExitCode, describe, exit_code_for, fail
from textservice.cli.inputs import Format, Record
from textservice.cli.listing import SHOWN
from textservice.cli.locks import output_lock
from textservice.cli.long_texts import OnLong, guard
from textservice.cli.open_input import open_source
from textservice.cli.progress import Mode, Progress, keep_drawing, progress_mode
from textservice.cli.rerun import Prepared, prepare
from textservice.cli.reuse import left_to_embed, remove_asides
from textservice.cli.services import (
    SERVICE_CHOICES,
    EmbedOptions,
    dimensionality_help,
    parse_task_type,
    task_type_help,
)
from textservice.cli.sources import InputCheck, Source
from textservice.cli.tokens import close_counter, make_counter
from textservice.cli.writers.common import ResultWriter, output_kind, partial_path
from textservice.client import TextServiceClient
from textservice.errors import TextServiceError

__all__ = ["embed"]


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


def _checked_output(path: str | None) -> str | None:
    """``--output``, its suffix a format we write (a usage error before anything is read)."""
    if path is not None and path != "-":
        try:
            output_kind(path)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--output") from None
    return path


def _earlier_run(output_path: str | None, overwrite: bool) -> bool:
    """Whether an earlier run left this output (or its ``.part``) for this one to go on from."""
    if overwrite or output_path is None or output_path == "-":
        return False
    path = Path(output_path)
    return path.exists() or partial_path(path).exists()


def _open_bad_records(path: str | None) -> BadRecordFile | None:
    """``--bad-records FILE``, made (or emptied) now; a usage error if it cannot be."""
    if path is None:
        return None
    try:
        return BadRecordFile(path)
    except OSError as exc:
        fail(f"cannot write {path} (--bad-records): {exc.strerror or exc}", ExitCode.USAGE)


def _check_input(
    source: Source, *, skip_bad: bool, quiet: bool, rerun: bool, bad_file: BadRecordFile | None
) -> InputCheck:
    """The first pass; bad records reported (see :mod:`textservice.cli.bad_records`), exit 3
    without --skip-bad."""
    report = BadRecordReport(
        source.name,
        show=skip_bad and not quiet and not rerun,  # listed as found: what is left out
        file=bad_file,
        echo=lambda text: click.echo(text, err=True),
    )
    try:
        check = source.check(report)
    finally:
        report.close()
    if check.bad_count:
        if not skip_bad:
            # The first 20 and a count by kind (a wrong --format can make every line bad).
            click.echo(report.listing(), err=True)
            fail(
                f"{check.bad_count} bad input line(s) of {check.line_count}; nothing was sent "
                "(fix them, or pass --skip-bad to embed the others)",
                ExitCode.BAD_INPUT,
            )
        if quiet:
            return check
        if rerun:  # the run that made the output listed them
            click.echo(
                f"textservice: skipping {check.bad_count} bad input line(s) of "
                f"{check.line_count}, as before: {report.summary()}",
                err=True,
            )
            return check
        rest = report.rest()
        if rest:
            click.echo(rest, err=True)
        click.echo(
            f"textservice: skipping {check.bad_count} bad input line(s) of {check.line_count}",
            err=True,
        )
    return check


@click.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--model",
    "-m",
    default=DEFAULT_EMBEDDING_MODEL,
    show_default=True,
    help="Model name (see 'textservice models'); a bare id such as gemini-embedding-001 "
    "means models/gemini-embedding-001.",
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
    help=task_type_help(),
)
@click.option(
    "--output-dimensionality",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help=dimensionality_help(),
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
    "and 'title' per line, CSV or TSV with a header row, Parquet, or a folder (every media "
    "file under it, the path its id); '-': standard input.",
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(get_args(Format)),
    default="auto",
    show_default=True,
    help="Input format; auto: Parquet for .parquet, CSV for .csv, TSV for .tsv, JSONL for "
    ".jsonl/.ndjson or when line 1 is a JSON object, else lines. Give it to read another "
    "name (or standard input) as CSV, TSV or JSONL.",
)
@click.option(
    "--text-column",
    default=None,
    metavar="NAME",
    help="JSONL, CSV, TSV or Parquet input: the column (JSONL: key) of texts [default: text].",
)
@click.option(
    "--id-column",
    default=None,
    metavar="NAME",
    help="JSONL, CSV, TSV or Parquet input: the column (key) of ids, integers or strings, on "
    "every record [default: JSONL's 'id' if a line has one, else the line or row number].",
)
@click.option(
    "--file-column",
    default=None,
    metavar="NAME",
    help="JSONL, CSV, TSV or Parquet input: the column (key) of media file paths (relative to "
    "the input's folder), embedded instead of texts [default: JSONL's 'file'].",
)
@click.option(
    "--title-column",
    default=None,
    metavar="NAME",
    help="JSONL, CSV, TSV or Parquet input: the column (key) of titles (null or an empty CSV "
    "cell: none) [default: JSONL's 'title', else no titles].",
)
@click.option(
    "--keep-columns",
    default=None,
    metavar="A,B",
    help="Input columns (JSONL keys) to carry into the output, beside id and embedding "
    "(JSONL and Parquet output, not .npy).",
)
@click.option(
    "--output",
    "-o",
    "output_path",
    default=None,
    callback=lambda _ctx, _param, value: _checked_output(value),
    help="A .npy file (float32, row i = input record i+1), a .parquet file ('id' and "
    "'embedding' columns) or a .jsonl/.ndjson file ('id' and 'embedding' per line); by its "
    "suffix, any other is refused; default: JSONL on standard output. A file output is "
    "resumable.",
)
@click.option("--overwrite", is_flag=True, help="Start over instead of resuming OUTPUT.")
@click.option(
    "--skip-bad",
    is_flag=True,
    help=f"Embed the good lines when some are bad (the first {SHOWN} bad ones are listed on "
    "stderr, the rest counted by kind).",
)
@click.option(
    "--bad-records",
    "bad_records",
    default=None,
    metavar="FILE",
    callback=lambda _ctx, _param, value: _checked_bad_records(value),
    help="Write every bad record (line, id, reason) to FILE: JSONL (.jsonl) or TSV (.tsv).",
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
    default=client_default("max_concurrency"),
    show_default=True,
    help="Calls in flight at once.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress and a closing summary on stderr [default: when stderr is a terminal].",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Nothing on stderr but warnings and errors: no progress, summary, notes or list of "
    "skipped records.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what the run would send: texts, tokens, the longest text, those over the "
    "model's limit, calls, time at the quota and price; no embedding call is made "
    "(CountTokens only, none with --estimate-tokens).",
)
@click.option(
    "--estimate-tokens",
    is_flag=True,
    help="Estimate tokens offline (UTF-8 bytes / 4, rounded up) instead of asking CountTokens "
    "(exact, cached on disk).",
)
@click.option(
    "--on-long",
    type=click.Choice(get_args(OnLong)),
    default="error",
    show_default=True,
    help="A text over the model's token limit (the API would cut it silently): stop before "
    "anything is sent, cut it to fit, or leave it out like a bad line.",
)
@click.option(
    "--price",
    type=click.FloatRange(min=0),
    default=None,
    metavar="USD",
    help="--dry-run's price per million input tokens [default: Google's, from textservice's "
    "table].",
)
@click.option(
    "--batch-mode",
    is_flag=True,
    help="Embed with a Batch mode job at Google: half the price, done within 24 hours (over "
    "REST). The job's name and results are kept in OUTPUT.batch/, so rerunning the command "
    "(after Ctrl-C, a crash, or days later) picks the job up and never sends a second; "
    "--dry-run says how the job would be sent.",
)
@click.option(
    "--detach",
    is_flag=True,
    help="With --batch-mode: send the job (or look at the one sent) and exit; run the same "
    "command again to collect its results.",
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
    text_column: str | None,
    id_column: str | None,
    file_column: str | None,
    title_column: str | None,
    keep_columns: str | None,
    output_path: str | None,
    overwrite: bool,
    skip_bad: bool,
    bad_records: str | None,
    batch_size: int,
    concurrency: int,
    progress: bool | None,
    quiet: bool,
    dry_run: bool,
    estimate_tokens: bool,
    on_long: OnLong,
    price: float | None,
    batch_mode: bool,
    detach: bool,
    connection: Connection,
) -> None:
    """Embed every line (record) of the input; write the embeddings in input order.

    By default with models/gemini-embedding-2 (3,072 dimensions; text, and media files from a
    folder, JSONL "file" keys or a --file-column) through GenerativeService; the retired
    models/embedding-gecko-* go through TextService. The input (text lines, JSONL, CSV or TSV
    with a header row, Parquet; a binary file is refused) is streamed (read twice: checked,
    then embedded), so memory stays flat however long it is. Bad input lines (empty, invalid
    UTF-8, invalid JSON, no "text", a "title" that is not a string, duplicate id) are listed
    with their line numbers, the first 20 of them (--bad-records FILE gets all); without
    --skip-bad nothing is sent. A file OUTPUT is
    written to OUTPUT.part batch by batch and renamed to OUTPUT at the end; rerunning the same
    command after a failure, Ctrl-C or SIGTERM embeds only what is missing, once every result
    kept is checked; a rerun on a changed input embeds only the new and changed texts (the
    others' vectors are reused by their content keys); a second run on the same OUTPUT
    meanwhile is refused. --dry-run prints the tokens, calls, time and price without
    embedding anything; a text over the model's token limit stops the run (--on-long).
    """
    try:
        model = check_model(model)  # a bare id gets its "models/"
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--model") from None
    if quiet and progress:
        raise click.UsageError("--quiet and --progress: pick one")
    try:
        keep = parse_keep_columns(keep_columns)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--keep-columns") from None
    if (
        keep
        and output_path is not None
        and output_path != "-"
        and output_kind(output_path) == "npy"
    ):
        raise click.UsageError(
            "--keep-columns: a .npy output holds the vectors only; write .parquet or .jsonl to "
            "keep columns beside them"
        )
    columns = Columns(text_column, id_column, title_column, file_column, keep)
    options = EmbedOptions.checked(
        model, service_choice, task_type, output_dimensionality, normalize
    )
    if detach and not batch_mode:
        raise click.UsageError("--detach goes with --batch-mode")
    if batch_mode:
        check_batch_mode(options, output_path)
        source_of = click.get_current_context().get_parameter_source("transport")
        if connection.option("transport") == "grpc" and source_of is ParameterSource.COMMANDLINE:
            raise click.UsageError("--batch-mode is served over REST only: drop --transport grpc")
        connection = connection.over_rest()
    if input_path == "-" and sys.stdin.isatty():
        fail("no input: pass --input FILE, or pipe the texts in", ExitCode.USAGE)
    try:
        source = open_source(input_path, format=input_format, columns=columns)
        misplaced = columns.misplaced(source.format, source.name)
        if misplaced is not None:
            raise click.UsageError(misplaced)
        bad_file = _open_bad_records(bad_records)
        rerun = _earlier_run(output_path, overwrite)
        if dry_run:  # a dry run reports bad lines, as it reports the rest
            check = source.check(lambda _: None)
        else:
            check = _check_input(
                source, skip_bad=skip_bad, quiet=quiet, rerun=rerun, bad_file=bad_file
            )
    except BaseException as exc:
        _stop_early(exc, f"cannot read {input_path}")
    options, note = options.for_input(check.titles, check.files)
    if note is not None and not quiet:
        click.echo(f"textservice: {note}", err=True)
    settings = dataclasses.replace(
        options.settings(fake=connection.fake), keep_columns=keep or None
    )
    # One token counter (CountTokens, or the estimate) for the long texts and the dry run.
    counter = make_counter(
        options.model, connection, estimate=estimate_tokens, concurrency=concurrency
    )
    try:
        # Texts over the model's limit stop the run, are cut or left out, before anything
        # else; a dry run lists them instead of stopping, or plans with them cut or left out.
        if not (dry_run and on_long == "error"):
            try:
                source, check = guard(
                    source,
                    check,
                    counter,
                    task_type=options.task_type,
                    on_long=on_long,
                    quiet=quiet,
                )
            except BaseException as exc:
                _stop_early(exc, f"cannot read {input_path}")
        if dry_run:
            try:
                click.echo(
                    run_dry(
                        source,
                        check,
                        options,
                        counter,
                        settings=settings,
                        connection=connection,
                        output_path=output_path,
                        price=price,
                        batch_size=batch_size,
                        batch_mode=batch_mode,
                    )
                )
            except BaseException as exc:
                _stop_early(exc, f"cannot read {output_path}")
            return
    finally:
        close_counter(counter)

    # Made first: a missing key or bad endpoint stops the run before any output file exists.
    client = client_or_exit(connection, max_concurrency=concurrency)
    with client, contextlib.ExitStack() as held:
        try:
            # held until the run ends, however it ends
            held.enter_context(output_lock(output_path, warn=_warn))
            prepared = prepare(
                output_path,
                source,
                check,
                settings=settings,
                overwrite=overwrite,
                note=_warn if not quiet else lambda _: None,
            )
            writer, records, reuse = prepared.writer, prepared.records, prepared.reuse
            if reuse is not None:
                held.callback(reuse.close)
            writer.start(prepared.chain, check.record_count)
        except BaseException as exc:
            _stop_early(exc, f"cannot write {output_path}")

        mode = progress_mode(False if quiet else progress)
        total = check.record_count
        summary = EmbedSummary(
            resumed=writer.point.count,
            skipped=check.bad_count,
            dimension=writer.dimension,
            destination=writer.describe(),
        )
        if reuse is not None:
            summary.dropped = reuse.dropped
        if writer.already_complete:
            if mode != "off":
                click.echo(
                    f"nothing to do: all {total} texts are already in {writer.describe()}", err=True
                )
            return
        from_jobs: int | None = None
        embed_batches: EmbedBatches | None = None
        started = time.monotonic()  # a Batch mode run's time includes its jobs'
        if batch_mode:
            assert output_path is not None
            outcome = _batch_jobs(
                Path(output_path),
                client,
                options,
                settings,
                source=source,
                check=check,
                prepared=prepared,
                mode=mode,
                quiet=quiet,
                detach=detach,
            )
            reuse, from_jobs, embed_batches = outcome.reuse, outcome.from_jobs, outcome.embed
            summary.jobs = tuple(outcome.jobs)
            if reuse is not None:
                held.callback(reuse.close)
        bar = Progress(
            total,
            stream=sys.stderr,
            mode=mode,
            initial=writer.point.count,
            note=lambda: "throttled" if client.quota_stats().throttled else "",
        )
        if embed_batches is None:
            embed_batches = options.batches(
                client, batch_size=batch_size, output=_vectors_as(output_path)
            )

        def to_embed() -> Iterator[Record]:
            """The records left whose vector is not reused, read again (see reuse.py)."""
            return left_to_embed(source.records(check), writer.point.count, reuse)

        async def run() -> None:
            drawing = asyncio.ensure_future(keep_drawing(bar))
            try:
                async with client:  # its connection closes on this loop
                    await embed_records(
                        records,
                        writer,
                        embed_batches,
                        progress=bar,
                        summary=summary,
                        reuse=None if reuse is None else (reuse, to_embed(), batch_size),
                    )
            finally:
                drawing.cancel()
                stats = client.quota_stats()
                summary.quota_wait, summary.rejected = stats.throttled_for, stats.rejected

        if not batch_mode:
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
        if output_path is not None and output_path != "-":
            remove_asides(Path(output_path))  # finished: what they held was reused
            remove_batch_folder(Path(output_path))  # and the jobs' results
        if from_jobs is not None:  # what Batch mode made counts as embedded, not reused
            summary.reused -= from_jobs
            summary.embedded += from_jobs
        if mode != "off":
            click.echo(format_summary(summary), err=True)


def _batch_jobs(
    output: Path,
    client: TextServiceClient,
    options: EmbedOptions,
    settings: VectorSettings,
    *,
    source: Source,
    check: InputCheck,
    prepared: Prepared,
    mode: Mode,
    quiet: bool,
    detach: bool,
) -> BatchOutcome:
    """``--batch-mode``'s jobs (:mod:`.batch_mode`) for the output as ``prepared``, settled
    before anything is written; exits for ``--detach``, Ctrl-C and a job that ended without
    results."""
    writer, reuse = prepared.writer, prepared.reuse
    try:
        run = BatchRun(
            output,
            client,
            options,
            ContentKeys(settings),
            _vectors_as(str(output)),
            "off" if quiet else mode,
            detach=detach,
            quiet=quiet,
        )
        return run_jobs(
            run,
            records=lambda: source.records(check),
            line_count=check.line_count,
            done=writer.point.count,
            earlier=[] if reuse is None else list(reuse.sources),
            name=source.name,
            runner=signals.run,
        )
    except Detached as exc:
        _close(writer)
        if not quiet:
            click.echo(f"textservice: {exc}", err=True)
        sys.exit(int(ExitCode.OK))
    except BaseException as exc:
        _close(writer)
        code = exit_code_for(exc)
        if code is None or isinstance(exc, click.ClickException):
            raise
        if code == ExitCode.INTERRUPTED:
            stopped = (
                "terminated (SIGTERM)" if isinstance(exc, signals.Terminated) else "interrupted"
            )
            fail(f"{stopped}; {AGAIN} to go on", code)
        text = describe(exc)
        if isinstance(exc, OSError) and not isinstance(exc, TextServiceError):
            text = f"{batch_folder(output)}: {exc.strerror or exc}"
        if code == ExitCode.ERROR and not isinstance(exc, BatchJobEnded):
            text += f"; {AGAIN} to go on (nothing is sent twice)"
        fail(text, code)


def _checked_bad_records(path: str | None) -> str | None:
    """``--bad-records``, its suffix one we write (a usage error before anything is read)."""
    if path is not None:
        try:
            bad_record_kind(path)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--bad-records") from None
    return path


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
