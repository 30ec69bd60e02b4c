"""The exit codes of the ``textservice`` command (also listed in docs/cli.md and ``--help``),
and which exception ends a command with which: one table, read by class (the first of an
exception's classes, in method resolution order, that the table names)."""

from __future__ import annotations

import contextlib
import os
import sys
from enum import IntEnum
from typing import NoReturn

import click

from textservice._numpy import NumpyMissingError
from textservice.cli.errors import (
    CliError,
    DimensionChangedError,
    InputError,
    NoSuchJobError,
    OutputConflictError,
)
from textservice.errors import NotFound, TextServiceError

__all__ = ["EXIT_CODES", "EXIT_CODES_HELP", "ExitCode", "describe", "exit_code_for", "fail"]


class ExitCode(IntEnum):
    """What a ``textservice`` exit status means."""

    OK = 0
    """Done: every record was embedded (now or by an earlier run)."""
    ERROR = 1
    """A call failed (after retries), the server changed the embedding length mid-run, or
    another runtime error; a file output keeps a ``.part`` holding results, so rerunning
    resumes."""
    USAGE = 2
    """Bad options or arguments, no API key, unreadable input, numpy or pyarrow missing for
    the output asked for, a model the server does not serve (``NOT_FOUND``), or a Batch mode
    job it does not know (``textservice batch``)."""
    BAD_INPUT = 3
    """The input has bad lines (listed on stderr) and ``--skip-bad`` was not given; nothing
    was sent."""
    OUTPUT_CONFLICT = 4
    """The existing output or its ``.part`` is corrupt, belongs to another input, model or
    options (task type, dimensionality, ...), or has no digest (an older version's); or
    another run is writing it. Nothing was changed (``--overwrite`` replaces it)."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C / SIGINT, or SIGTERM); a file output keeps its ``.part``, so
    rerunning resumes."""
    BROKEN_PIPE = 141
    """The reader of standard output (or error) went away, e.g. ``| head``: stopped quietly,
    with the status a shell shows for a process ended by SIGPIPE (128 + 13)."""


EXIT_CODES: dict[type[BaseException], ExitCode] = {
    KeyboardInterrupt: ExitCode.INTERRUPTED,
    BrokenPipeError: ExitCode.BROKEN_PIPE,
    OutputConflictError: ExitCode.OUTPUT_CONFLICT,
    NumpyMissingError: ExitCode.USAGE,
    InputError: ExitCode.USAGE,
    NoSuchJobError: ExitCode.USAGE,
    DimensionChangedError: ExitCode.ERROR,
    # The API's NOT_FOUND names a model it does not serve (for this method): a usage error
    NotFound: ExitCode.USAGE,
    TextServiceError: ExitCode.ERROR,  # before ValueError/RuntimeError in every error's MRO
    TypeError: ExitCode.USAGE,  # a bad argument the library refused before any call
    ValueError: ExitCode.USAGE,
    OSError: ExitCode.ERROR,
    Exception: ExitCode.ERROR,
}
"""Exception class -> exit code; ``click`` usage errors and ``SystemExit`` are not listed:
they carry their own."""

EXIT_CODES_HELP = """\b
Exit codes:
    0  done (for embed: every record embedded, now or by an earlier run)
    1  a call failed (after retries) or the server changed the embedding length;
       embed keeps an OUTPUT.part holding results: rerun to resume
    2  usage: bad option, no API key, unreadable input, numpy (or pyarrow)
       missing for .npy (.parquet), a model the server does not serve,
       an unknown Batch mode job (batch status|cancel|delete)
    3  embed: bad input lines (listed on stderr) without --skip-bad; nothing sent
    4  embed: the existing OUTPUT or OUTPUT.part is corrupt, from another input,
       model or options, or has no digest (written by an older version); or
       another embed is writing OUTPUT
  130  interrupted (Ctrl-C or SIGTERM); embed keeps OUTPUT.part: rerun to resume
  141  standard output was closed early (e.g. | head): stopped quietly
"""


MODELS_HINT = (
    "'textservice models' lists the models your key can use ('--method embedContent': those "
    "'textservice embed' takes)"
)
"""What a ``NOT_FOUND`` (a model the server does not serve) is told."""


def exit_code_for(exc: BaseException) -> ExitCode | None:
    """The exit code for ``exc`` by the table (``None``: not ours to turn into one)."""
    for cls in type(exc).__mro__:
        code = EXIT_CODES.get(cls)
        if code is not None:
            return code
    return None


def describe(exc: BaseException) -> str:
    """One line for the user: our own errors as they are, an API error by its status."""
    # TextServiceError messages name the status and the server's message; the API key is
    # never part of them (the client keeps it out of every message and repr).
    if isinstance(exc, CliError | NumpyMissingError):
        return str(exc)
    if isinstance(exc, TextServiceError):
        # Not str(exc): for a failed list it also explains .partial, which is for code.
        text = f"{exc.code.name}: {exc.message}" if exc.message else exc.code.name
        if exc.retry_delay is not None:
            text += f" (the server asked to retry after {exc.retry_delay:g} s)"
        if isinstance(exc, NotFound):
            text += f"\n{MODELS_HINT}"
        return text
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print ``textservice: MESSAGE`` on stderr and exit with ``code``."""
    click.echo(f"textservice: {message}", err=True)
    sys.exit(int(code))


def stop_quietly() -> NoReturn:
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
