"""The exit codes of the ``textservice`` command (also listed in the README and ``--help``)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a ``textservice`` exit status means."""

    OK = 0
    """Done: every record was embedded (now or by an earlier run)."""
    ERROR = 1
    """A call failed (after retries), the server changed the embedding length mid-run, or
    another runtime error; a file output keeps a ``.part`` holding results, so rerunning
    resumes."""
    USAGE = 2
    """Bad options or arguments, no API key, unreadable input, numpy missing for ``.npy``."""
    BAD_INPUT = 3
    """The input has bad lines (listed on stderr) and ``--skip-bad`` was not given; nothing
    was sent."""
    OUTPUT_CONFLICT = 4
    """The existing output or its ``.part`` is corrupt, belongs to another input or model, or
    has no digest (an older version's); nothing was changed (``--overwrite`` replaces it)."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C / SIGINT); a file output keeps its ``.part``, so rerunning
    resumes."""
    BROKEN_PIPE = 141
    """The reader of standard output (or error) went away, e.g. ``| head``: stopped quietly,
    with the status a shell shows for a process ended by SIGPIPE (128 + 13)."""
