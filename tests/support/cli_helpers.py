"""Running the ``textservice`` command as a user would: in this process (``run_cli``), or in a
process of its own where a test needs one (``run_cli_process``, ``CLI``: to signal or kill it,
or for what only a fresh interpreter shows)."""

from __future__ import annotations

import array
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from textservice.cli.app import cli

MODEL = "models/embedding-gecko-001"
CLI = [sys.executable, "-m", "textservice.cli"]
TIMEOUT = 60


_TOKEN_CACHE = tempfile.mkdtemp(prefix="textservice-tokens-")
atexit.register(shutil.rmtree, _TOKEN_CACHE, True)


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without an API key, plus ``extra``; the token cache of
    ``--dry-run`` and ``--on-long`` in a folder of this test process (not the user's)."""
    env = {k: v for k, v in os.environ.items() if k != "GOOGLE_API_KEY"}
    env["TEXTSERVICE_CACHE_DIR"] = _TOKEN_CACHE
    env.update(extra or {})
    return env


def run_cli(
    args: Sequence[str],
    *,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``textservice ARGS`` to completion in this process (click's ``CliRunner``), with
    the environment ``cli_env(env)`` and in ``cwd``; its exit code, stdout and stderr as
    ``run_cli_process`` gives them (an uncaught exception: code 1, its traceback on stderr).

    A process of its own costs ~0.8 s of CPU (the interpreter and the imports) and shows
    nothing more for a run to completion; the suite runs hundreds of them.
    """
    wanted = cli_env(env)
    changes: dict[str, str | None] = {k: None for k in os.environ if k not in wanted}
    changes.update(wanted)
    runner = CliRunner(env=changes)
    before = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(cli, list(args), input=stdin, prog_name="textservice")
    finally:
        os.chdir(before)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(
        ["textservice", *args], result.exit_code, result.stdout, stderr
    )


def run_cli_process(
    args: Sequence[str],
    *,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``textservice ARGS`` to completion in a process of its own, capturing text stdout
    and stderr."""
    return subprocess.run(
        [*CLI, *args],
        input=stdin.decode("utf-8", "surrogateescape") if stdin is not None else None,
        capture_output=True,
        text=True,
        env=cli_env(env),
        cwd=cwd,
        timeout=TIMEOUT,
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_lines(path: Path, texts: Sequence[str]) -> Path:
    """``texts`` as a text-lines input file."""
    path.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    return path


def texts(count: int, prefix: str = "text") -> list[str]:
    """``count`` distinct, deterministic texts."""
    return [f"{prefix} {i}: the quick brown fox {i * 7 % 13} jumps" for i in range(count)]


def results_in(part: Path) -> int:
    """How many results an unfinished output (``OUTPUT.part``) holds, as a rerun reads them:
    complete JSONL lines; a ``.npy``'s header checkpoint; a Parquet folder's last segment."""
    if part.is_dir():  # Parquet segments
        from textservice.cli.writers.parquet import read_checkpoint

        segments = sorted(part.glob("*.parquet"))
        found = read_checkpoint(segments[-1]) if segments else None
        return int(found["records"]) if found else 0
    if not part.exists():
        return 0
    if part.name.endswith(".npy.part"):
        from textservice.cli.writers.npy import HEADER_SIZE, read_npy_header

        with part.open("rb") as f:
            raw = f.read(HEADER_SIZE)
        if len(raw) < HEADER_SIZE:
            return 0
        _, checkpoint = read_npy_header(raw, part)
        return int(checkpoint["records"]) if checkpoint else 0
    return part.read_bytes().count(b"\n")


def stop_when(
    part: Path,
    count: int,
    args: Sequence[str],
    how: signal.Signals,
    *,
    env: Mapping[str, str],
    poll: float = 0.05,
    within: float | None = None,
) -> int:
    """Run ``textservice ARGS``; send ``how`` once ``part`` holds ``count`` results (failing the
    test if it ends first, or, with ``within``, if that takes more seconds); its exit status.

    Calls the stopped process had sent may still reach a server after it is gone: a test that
    counts a rerun's calls waits for the server to settle (:func:`settle`) first."""
    import pytest

    process = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env(env)
    )
    try:
        deadline = None if within is None else time.monotonic() + within
        while results_in(part) < count:
            time.sleep(poll)
            if process.poll() is not None:
                pytest.fail(f"ended before {count} results: {process.communicate()[1]!r}")
            if deadline is not None and time.monotonic() > deadline:
                pytest.fail(f"{part} did not reach {count} results")
        process.send_signal(how)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode


def wait_until_read(process: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    """Wait until ``process`` has read all that was written to its standard input: it has
    started its command (so its signal handling is in place) and is reading. A fixed sleep
    is not enough on a loaded machine, where starting Python takes seconds."""
    import fcntl
    import termios

    import pytest

    assert process.stdin is not None
    unread = array.array("i", [0])
    deadline = time.monotonic() + limit
    while True:
        fcntl.ioctl(process.stdin.fileno(), termios.FIONREAD, unread)  # bytes in the pipe
        if unread[0] == 0:
            return
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the command did not read its input (status {process.poll()})")
        time.sleep(0.05)


def settle(log: Any, quiet: float = 0.5, limit: float = 30.0) -> None:
    """Wait until a fake's request log (``fake.log``) has taken no new call for ``quiet``
    seconds (at most ``limit``): the calls a stopped process sent before it died (logged as
    they arrive) are then in the log, not mixed into a rerun's."""
    deadline = time.monotonic() + limit
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = log.count()
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


EMBEDDING_METHODS = ("BatchEmbedText", "EmbedText", "BatchEmbedContents", "EmbedContent")
"""The RPCs that embed (and are billed): what a dry run must never call."""


def texts_embedded(fake: Any) -> list[str]:
    """Every text a fake (``FakeServer``) was asked to embed, in arrival order: those of
    TextService's calls, and the text parts of GenerativeService's."""
    out: list[str] = []
    for call in fake.calls:
        request = call.request
        if call.method == "BatchEmbedText":
            out += list(request.texts)
        elif call.method == "EmbedText":
            out.append(request.text)
        elif call.method in ("BatchEmbedContents", "EmbedContent"):
            inner = request.requests if call.method == "BatchEmbedContents" else [request]
            out += ["".join(p.text for p in r.content.parts if p.text) for r in inner]
    return out
