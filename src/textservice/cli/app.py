"""The ``textservice`` command line (click): embed, generate-text, count-tokens, fake-server."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import click

from textservice._checks import check_model
from textservice._quota_options import QUOTA_OPTIONS, quota_argv
from textservice.cli.connect import Connection, connection_options, make_client
from textservice.cli.digests import VectorSettings
from textservice.cli.embed import EmbedSummary, embed_records, format_summary
from textservice.cli.exit_codes import ExitCode
from textservice.cli.inputs import Format, format_bad_lines, read_input
from textservice.cli.outputs import (
    DimensionChangedError,
    NumpyMissingError,
    OutputConflictError,
    open_output,
)
from textservice.cli.progress import Mode, Progress, keep_drawing
from textservice.client import TextServiceClient
from textservice.errors import TextServiceError
from textservice.v1beta import iter_embeddings_async

__all__ = ["cli", "main"]

T = TypeVar("T")

EXIT_CODES_HELP = """\b
Exit codes:
    0  done (for embed: every record embedded, now or by an earlier run)
    1  a call failed (after retries) or the server changed the embedding length;
       embed keeps an OUTPUT.part holding results: rerun to resume
    2  usage: bad option, no API key, unreadable input, numpy missing for .npy
    3  embed: bad input lines (listed on stderr) without --skip-bad; nothing sent
    4  embed: the existing OUTPUT or OUTPUT.part is corrupt, from another input
       or model, or has no digest (written by an older version)
  130  interrupted (Ctrl-C); embed keeps OUTPUT.part: rerun to resume
  141  standard output was closed early (e.g. | head): stopped quietly
"""


def _stop_quietly() -> NoReturn:
    """The reader of our output went away (``| head``): stop like other Unix tools do.

    Python ignores SIGPIPE, so the write raised ``BrokenPipeError`` instead of ending the
    process; exit with the status a shell shows for a process ended by SIGPIPE (128 + 13),
    with no message. Both streams go to /dev/null first, so the flush at exit cannot raise
    again (either may be the closed pipe).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)
    sys.exit(int(ExitCode.BROKEN_PIPE))


class _Commands(click.Group):
    """The command group: any command whose output is closed early stops quietly."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a ``BrokenPipeError`` becomes exit 141 (click would give 1)."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _stop_quietly()


def _fail(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"textservice: {message}", err=True)
    sys.exit(int(code))


def _describe(exc: BaseException) -> str:
    # TextServiceError messages name the status and the server's message; the API key is
    # never part of them (the client keeps it out of every message and repr).
    if isinstance(exc, TextServiceError):
        # Not str(exc): for a failed list it also explains .partial, which is for code.
        text = f"{exc.code.name}: {exc.message}" if exc.message else exc.code.name
        if exc.retry_delay is not None:
            text += f" (the server asked to retry after {exc.retry_delay:g} s)"
        return text
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _progress_mode(progress: bool | None) -> Mode:
    if progress is False:
        return "off"
    tty = sys.stderr.isatty()
    if progress is None:
        return "bar" if tty else "off"
    return "bar" if tty else "lines"


def _client(connection: Connection, *, max_concurrency: int = 8) -> TextServiceClient:
    """The client, or the exit: no key (usage error naming the options), a bad endpoint."""
    try:
        return make_client(connection, max_concurrency=max_concurrency)
    except (TypeError, ValueError) as exc:
        _fail(_describe(exc), ExitCode.USAGE)


def _run_call(
    connection: Connection,
    call: Callable[[TextServiceClient], Awaitable[T]],
    *,
    max_concurrency: int = 8,
) -> T:
    """Run one async call with a client for ``connection``; errors become exit codes."""
    client = _client(connection, max_concurrency=max_concurrency)

    async def run() -> T:
        async with client:
            return await call(client)

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        _fail("interrupted", ExitCode.INTERRUPTED)
    except click.ClickException:
        raise
    except (TypeError, ValueError) as exc:
        _fail(_describe(exc), ExitCode.USAGE)
    except (TextServiceError, OSError) as exc:
        _fail(_describe(exc), ExitCode.ERROR)


def _read_text_argument(text: str | None, what: str) -> str:
    if text is not None and text != "-":
        return text
    if text is None and sys.stdin.isatty():
        raise click.UsageError(f"no {what}: pass it as an argument, or pipe it in")
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8").rstrip("\n")
    except UnicodeDecodeError as exc:
        raise click.UsageError(f"the {what} on standard input is not UTF-8 ({exc})") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(package_name="textservice", prog_name="textservice")
def cli() -> None:
    """Use the Generative Language API's TextService from the command line.

    The API key comes from the GOOGLE_API_KEY environment variable or --api-key-file; it is
    never printed. --fake uses the in-process fake server instead: no key, no network.
    """


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--model", "-m", required=True, help="Model name, e.g. models/embedding-gecko-001.")
@click.option(
    "--input",
    "-i",
    "input_path",
    default="-",
    show_default=True,
    help="Text lines, or JSONL with 'text' and optional 'id' per line; '-': standard input.",
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
    help="A .npy file (float32, row i = input line i+1) or a JSONL file ('id' and "
    "'embedding' per line); default: JSONL on standard output. A file output is resumable.",
)
@click.option("--overwrite", is_flag=True, help="Start over instead of resuming OUTPUT.")
@click.option(
    "--skip-bad",
    is_flag=True,
    help="Embed the good lines when some are bad (the bad ones are still listed on stderr).",
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
    help="Progress and a closing summary on stderr [default: when stderr is a terminal].",
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
    """Embed every line of the input; write the embeddings in input order.

    Bad input lines (empty, invalid UTF-8, invalid JSON, no "text", duplicate id) are listed
    with their line numbers; without --skip-bad nothing is sent. A file OUTPUT is written
    to OUTPUT.part batch by batch and renamed to OUTPUT at the end; rerunning the same
    command after a failure or Ctrl-C embeds only what is missing.
    """
    try:
        check_model(model)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--model") from None
    if input_path == "-" and sys.stdin.isatty():
        _fail("no input: pass --input FILE, or pipe the texts in", ExitCode.USAGE)
    try:
        inp = read_input(input_path, format=input_format)
    except OSError as exc:
        _fail(f"cannot read {input_path}: {exc.strerror or exc}", ExitCode.USAGE)
    if inp.bad:
        source = "<stdin>" if input_path == "-" else input_path
        # Skipping: every skipped line is listed (the record of what is missing). Stopping:
        # the first 20 and a count (a wrong --format can make every line bad).
        limit = len(inp.bad) if skip_bad else 20
        click.echo(format_bad_lines(inp.bad, source, limit=limit), err=True)
        if not skip_bad:
            _fail(
                f"{len(inp.bad)} bad input line(s) of {inp.line_count}; nothing was sent "
                "(fix them, or pass --skip-bad to embed the others)",
                ExitCode.BAD_INPUT,
            )
        click.echo(
            f"textservice: skipping {len(inp.bad)} bad input line(s) of {inp.line_count}",
            err=True,
        )
    # Made first: a missing key or bad endpoint stops the run before any output file exists.
    client = _client(connection, max_concurrency=concurrency)
    with client:
        try:
            settings = VectorSettings(model, server="fake" if connection.fake else None)
            writer = open_output(output_path, inp, settings=settings, overwrite=overwrite)
        except NumpyMissingError as exc:
            _fail(str(exc), ExitCode.USAGE)
        except OutputConflictError as exc:
            _fail(str(exc), ExitCode.OUTPUT_CONFLICT)
        except OSError as exc:
            _fail(f"cannot write {output_path}: {exc.strerror or exc}", ExitCode.USAGE)

        mode = _progress_mode(progress)
        total = len(inp.records)
        summary = EmbedSummary(
            resumed=writer.done,
            skipped=len(inp.bad),
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
            initial=writer.done,
            note=lambda: "throttled" if client.quota_stats().throttled else "",
        )

        async def run() -> None:
            if writer.done == total:  # a complete .part left by a run stopped while finishing
                return
            drawing = asyncio.ensure_future(keep_drawing(bar))
            try:
                async with client:  # its connection closes on this loop
                    await embed_records(
                        inp.records,
                        writer,
                        lambda texts: iter_embeddings_async(
                            model, texts, client=client, batch_size=batch_size
                        ),
                        progress=bar,
                        summary=summary,
                    )
            finally:
                drawing.cancel()
                stats = client.quota_stats()
                summary.quota_wait, summary.rejected = stats.throttled_for, stats.rejected

        started = time.monotonic()
        try:
            asyncio.run(run())
            writer.finish()
        except BaseException as exc:
            summary.seconds = time.monotonic() - started
            writer.close()
            bar.close()
            part = writer.resume_file  # only one that exists and holds results
            resume = f"; {part} is kept: run the same command again to resume" if part else ""
            if isinstance(exc, KeyboardInterrupt):
                _fail(
                    f"interrupted; {format_summary(summary, finished=False)}{resume}",
                    ExitCode.INTERRUPTED,
                )
            if isinstance(exc, click.ClickException | SystemExit | BrokenPipeError):
                raise
            if isinstance(exc, OutputConflictError):
                _fail(str(exc), ExitCode.OUTPUT_CONFLICT)
            if isinstance(exc, DimensionChangedError):  # rerunning resumes only after this run's
                _fail(f"{exc}{'' if exc.earlier else resume}", ExitCode.ERROR)
            if isinstance(exc, TypeError | ValueError):
                _fail(_describe(exc), ExitCode.USAGE)
            if isinstance(exc, Exception):
                _fail(f"{_describe(exc)}{resume}", ExitCode.ERROR)
            raise
        summary.seconds = time.monotonic() - started
        bar.close()
        if mode != "off":
            click.echo(format_summary(summary), err=True)


@cli.command("generate-text", epilog=EXIT_CODES_HELP)
@click.argument("prompt", required=False)
@click.option("--model", "-m", default="models/text-bison-001", show_default=True)
@click.option("--temperature", type=click.FloatRange(0, 1), default=None)
@click.option("--candidates", "candidate_count", type=click.IntRange(1, 8), default=None)
@click.option("--max-output-tokens", type=click.IntRange(min=1), default=None)
@click.option("--top-p", type=click.FloatRange(0, 1), default=None)
@click.option("--top-k", type=click.IntRange(min=1), default=None)
@click.option("--stop", "stop_sequences", multiple=True, help="A stop sequence (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole response as JSON.")
@connection_options
def generate_text(
    prompt: str | None,
    model: str,
    temperature: float | None,
    candidate_count: int | None,
    max_output_tokens: int | None,
    top_p: float | None,
    top_k: int | None,
    stop_sequences: tuple[str, ...],
    as_json: bool,
    connection: Connection,
) -> None:
    """Complete PROMPT (an argument, or standard input when omitted or '-')."""
    text = _read_text_argument(prompt, "prompt")
    from textservice import v1beta

    result = _run_call(
        connection,
        lambda client: v1beta.generate_text_async(
            model=model,
            prompt=text,
            temperature=temperature,
            candidate_count=candidate_count,
            max_output_tokens=max_output_tokens,
            top_p=top_p,
            top_k=top_k,
            stop_sequences=list(stop_sequences) or None,
            client=client,
        ),
    )
    if as_json:
        click.echo(json.dumps(_jsonable(dict(result)), indent=2, ensure_ascii=False))
        return
    candidates = result["candidates"]
    if not candidates:
        reasons = ", ".join(str(_jsonable(f.get("reason"))) for f in result["filters"])
        _fail(f"no candidates{f' (filtered: {reasons})' if reasons else ''}", ExitCode.ERROR)
    if len(candidates) == 1:
        click.echo(candidates[0]["output"])
        return
    for number, candidate in enumerate(candidates, start=1):
        click.echo(f"--- candidate {number}")
        click.echo(candidate["output"])


@cli.command("count-tokens", epilog=EXIT_CODES_HELP)
@click.argument("text", required=False)
@click.option("--model", "-m", required=True, help="Model name, e.g. models/text-bison-001.")
@connection_options
def count_tokens(text: str | None, model: str, connection: Connection) -> None:
    """Print how many tokens TEXT is (an argument, or standard input when omitted or '-')."""
    prompt = _read_text_argument(text, "text")
    from textservice import v1beta

    result = _run_call(
        connection,
        lambda client: v1beta.count_text_tokens_async(model, prompt, client=client),
    )
    click.echo(result["token_count"])


def _quota_options(command: Callable[..., None]) -> Callable[..., None]:
    """The fake's quota options, from the table ``python -m textservice.testing`` uses too."""
    types: dict[str, Any] = {"int": click.INT, "float": click.FLOAT}
    for option in reversed(QUOTA_OPTIONS):
        if option.kind == "flag":
            command = click.option(option.flag, option.dest, is_flag=True, help=option.help)(
                command
            )
        else:
            kind = click.Choice(option.choices) if option.choices else types[option.kind]
            command = click.option(
                option.flag, option.dest, type=kind, metavar=option.metavar, help=option.help
            )(command)
    return command


@cli.command("fake-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=50051, show_default=True)
@click.option("--dimension", type=click.IntRange(min=1), default=None, help="Embedding length.")
@click.option("--model", "models", multiple=True, help="A model to serve (repeatable).")
@click.option("--any-model", is_flag=True, help="Serve every well-formed model name.")
@click.option(
    "--strict-methods",
    is_flag=True,
    help="NOT_FOUND, as the API, for a model whose catalogue entry lacks the RPC's method.",
)
@click.option(
    "--require-api-key",
    is_flag=True,
    help="Require the key in $TEXTSERVICE_FAKE_API_KEY (kept out of the process list).",
)
@_quota_options
def fake_server(
    host: str,
    port: int,
    dimension: int | None,
    models: tuple[str, ...],
    any_model: bool,
    strict_methods: bool,
    require_api_key: bool,
    **quotas: Any,
) -> None:
    """Run the fake API server on HOST:PORT until Ctrl-C (for other processes and tests).

    Connect with: textservice embed --endpoint HOST:PORT --insecure ... (any API key works
    unless --require-api-key).
    """
    from textservice.testing.__main__ import main as serve

    argv = ["--host", host, "--port", str(port)]
    if dimension is not None:
        argv += ["--dimension", str(dimension)]
    for name in models:
        argv += ["--model", name]
    if any_model:
        argv.append("--any-model")
    if strict_methods:
        argv.append("--strict-methods")
    if require_api_key:
        argv.append("--require-api-key")
    sys.exit(serve(argv + quota_argv(quotas)))


def main() -> None:
    """Entry point of the ``textservice`` console script."""
    cli(prog_name="textservice")
