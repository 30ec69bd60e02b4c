"""The ``textservice`` command line (click): embed, generate-text, count-tokens, fake-server."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import click
from textservice.cli.connect import Connection, connection_options, open_client

from textservice.cli.embed import EmbedSummary, embed_records, format_summary
from textservice.cli.exit_codes import ExitCode
from textservice.cli.inputs import Format, format_bad_lines, read_input
from textservice.cli.outputs import (
    NumpyMissingError,
    OutputConflictError,
    open_output,
)
from textservice.cli.progress import Mode, Progress

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES_HELP = """\b
Exit codes:
    0  done (every record embedded, now or by an earlier run)
    1  a call failed (after retries); a file output keeps OUTPUT.part: rerun to resume
    2  usage: bad option, no API key, unreadable input, numpy missing for .npy
    3  bad input lines (listed on stderr) without --skip-bad; nothing was sent
    4  the existing OUTPUT or OUTPUT.part is corrupt or from another input
  130  interrupted (Ctrl-C); OUTPUT.part is kept: rerun to resume
"""


def _fail(message: str, code: ExitCode) -> None:
    click.echo(f"textservice: {message}", err=True)
    sys.exit(int(code))


def _progress_mode(progress: bool | None) -> Mode:
    if progress is False:
        return "off"
    tty = sys.stderr.isatty()
    if progress is None:
        return "bar" if tty else "off"
    return "bar" if tty else "lines"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="textservice", prog_name="textservice")
def cli() -> None:
    """Use the Generative Language API's TextService from the command line.

    The API key comes from the GOOGLE_API_KEY environment variable or --api-key-file; it is
    never printed. --fake runs everything against the in-process fake server instead: no
    key, no network.
    """


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--model", "-m", required=True, help="Model name, e.g. models/embedding-gecko-001.")
@click.option(
    "--input",
    "-i",
    "input_path",
    default="-",
    show_default=True,
    help="Text lines or JSONL ({'id': ..., 'text': ...} per line); '-' is standard input.",
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(["auto", "lines", "jsonl"]),
    default="auto",
    show_default=True,
    help="Input format; auto: JSONL for .jsonl/.ndjson or when line 1 is a JSON object.",
)
@click.option(
    "--output",
    "-o",
    "output_path",
    default=None,
    help="JSONL ({'id', 'embedding'} per line), or .npy (float32, row i = input line i+1); "
    "default: JSONL on standard output. A file output resumes where a previous run stopped.",
)
@click.option(
    "--overwrite", is_flag=True, help="Start over instead of resuming an existing output."
)
@click.option(
    "--skip-bad",
    is_flag=True,
    help="Embed the good lines when some are bad (bad ones are still listed on stderr).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100),
    default=100,
    show_default=True,
    help="Texts per BatchEmbedText call.",
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
    help="Progress and a summary on stderr [default: only when stderr is a terminal].",
)
@connection_options
def embed(
    model: str,
    input_path: str,
    input_format: Format,
    output_path: str | None,
    overwrite: bool,
    skip_bad: bool,
    batch_size: int,
    concurrency: int,
    progress: bool | None,
    connection: Connection,
) -> None:
    """Embed every line of the input and write the embeddings in input order."""
    if input_path == "-" and sys.stdin.isatty():
        _fail("no input: pass --input FILE, or pipe the texts in", ExitCode.USAGE)
    try:
        inp = read_input(input_path, format=input_format)
    except OSError as exc:
        _fail(f"cannot read {input_path}: {exc.strerror or exc}", ExitCode.USAGE)
    source = "<stdin>" if input_path == "-" else input_path
    if inp.bad:
        report = format_bad_lines(inp.bad, source)
        if not skip_bad:
            click.echo(report, err=True)
            _fail(
                f"{len(inp.bad)} bad input line(s) of {inp.line_count}, nothing sent "
                "(fix them, or pass --skip-bad to embed the others)",
                ExitCode.BAD_INPUT,
            )
        click.echo(report, err=True)
        click.echo(
            f"textservice: skipping {len(inp.bad)} bad input line(s) of {inp.line_count}",
            err=True,
        )
    try:
        writer = open_output(output_path, inp, overwrite=overwrite)
    except NumpyMissingError as exc:
        _fail(str(exc), ExitCode.USAGE)
    except OutputConflictError as exc:
        _fail(str(exc), ExitCode.OUTPUT_CONFLICT)
    except OSError as exc:
        _fail(f"cannot write {output_path}: {exc.strerror or exc}", ExitCode.USAGE)

    mode = _progress_mode(progress)
    summary = EmbedSummary(skipped=len(inp.bad), destination=writer.describe())
    total = len(inp.records)
    if getattr(writer, "already_complete", False):
        summary.resumed = total
        summary.dimension = writer.dimension
        if mode != "off":
            click.echo(
                f"nothing to do: all {total} texts are already in {writer.describe()}", err=True
            )
        return
    bar = Progress(total, stream=sys.stderr, mode=mode, initial=writer.done)

    async def run() -> None:
        async with open_client(connection, max_concurrency=concurrency) as embedder:
            await embed_records(
                inp.records,
                writer,
                lambda texts: embedder.iter_embeddings(model, texts, batch_size=batch_size),
                progress=bar,
                summary=summary,
            )

    where = getattr(writer, "part", None)
    resume_hint = f"; {where} is kept: run the same command again to resume" if where else ""
    try:
        asyncio.run(run())
        writer.finish()
    except KeyboardInterrupt:
        writer.close()
        bar.close()
        _fail(
            f"interrupted: {format_summary(summary, finished=False)}{resume_hint}",
            ExitCode.INTERRUPTED,
        )
    except OutputConflictError as exc:
        writer.close()
        bar.close()
        _fail(str(exc), ExitCode.OUTPUT_CONFLICT)
    except click.exceptions.Exit:
        raise
    except Exception as exc:
        writer.close()
        bar.close()
        code = ExitCode.USAGE if _is_usage_error(exc) else ExitCode.ERROR
        _fail(
            f"{_describe_error(exc)}{resume_hint if summary.embedded or writer.done else ''}", code
        )
    bar.close()
    if mode != "off":
        click.echo(format_summary(summary), err=True)


def _is_usage_error(exc: BaseException) -> bool:
    from textservice.errors import MissingAPIKeyError

    return isinstance(exc, MissingAPIKeyError | TypeError | ValueError)


def _describe_error(exc: BaseException) -> str:
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


async def _aiter(values: list[list[float]]) -> AsyncIterator[list[float]]:
    for value in values:
        yield value


def main() -> None:
    """Entry point of the ``textservice`` console script."""
    cli(prog_name="textservice")
