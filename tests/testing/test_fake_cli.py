"""``python -m textservice.testing``: a standalone fake for other processes and languages."""

from __future__ import annotations

import asyncio
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from support.fake_helpers import EMBED_MODEL, module, outcome, tcp_channel

from textservice._proto.google import rpc
from textservice.testing import expected_embedding

pytestmark = pytest.mark.subprocess

PREFIX = "textservice fake server listening on "
FIRST_LINES: dict[int, str] = {}
"""The line each server printed first, by process id."""
REST_PORT = re.compile(r"and http://127\.0\.0\.1:(\d+) \(REST\)")


def _read_line(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise TimeoutError("the server printed nothing")
    return proc.stdout.readline()


@contextmanager
def _server(
    *args: str, env: dict[str, str] | None = None, command: list[str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc = subprocess.Popen(
        [*(command or [sys.executable, "-m", "textservice.testing"]), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        line = _read_line(proc)
        assert line.startswith(PREFIX), (line, proc.stderr and proc.stderr.read())
        FIRST_LINES[proc.pid] = line
        host, port = line[len(PREFIX) :].split()[0].rsplit(":", 1)
        assert host == "127.0.0.1"
        yield proc, int(port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _embed(
    port: int, metadata: dict[str, str] | None = None, model: str = EMBED_MODEL
) -> tuple[Status, object]:
    m = module("v1beta")

    async def go() -> tuple[Status, object]:
        channel = tcp_channel("127.0.0.1", port)
        try:
            return await outcome(
                channel,
                "v1beta",
                "EmbedText",
                m.EmbedTextRequest(model=model, text="cli"),
                metadata=metadata,
            )
        finally:
            channel.close()

    return asyncio.run(go())


@pytest.mark.network
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serves_then_stops_cleanly(signum: int) -> None:
    with _server("--dimension", "16") as (proc, port):
        assert _embed_content(port, "models/gemini-embedding-001") is Status.OK
        status, response = _embed(port)
        assert status is Status.OK
        assert response.embedding.value == expected_embedding(EMBED_MODEL, "cli", 16)  # type: ignore[attr-defined]
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "stopped" in out
    assert "Traceback" not in err


@pytest.mark.network
def test_api_key_from_the_environment() -> None:
    env = {"TEXTSERVICE_FAKE_API_KEY": "cli-secret"}
    with _server("--require-api-key", env=env) as (proc, port):
        assert _embed(port)[0] is Status.UNAUTHENTICATED
        assert _embed(port, {"x-goog-api-key": "cli-secret"})[0] is Status.OK
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert "cli-secret" not in out + err


@pytest.mark.network
def test_models_option() -> None:
    with _server("--model", "models/only-this") as (proc, port):
        # the default list is replaced, not extended
        assert _embed(port)[0] is Status.NOT_FOUND
        assert _embed(port, model="models/only-this")[0] is Status.OK
        assert _embed(port, model="tunedModels/any")[0] is Status.OK
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def _embed_content(port: int, model: str) -> Status:
    m = module("v1")
    request = m.EmbedContentRequest(model=model, content=m.Content(parts=[m.Part(text="x")]))

    async def go() -> Status:
        channel = tcp_channel("127.0.0.1", port)
        try:
            return (await outcome(channel, "v1", "EmbedContent", request))[0]
        finally:
            channel.close()

    return asyncio.run(go())


@pytest.mark.network
@pytest.mark.parametrize("command", ["python -m textservice.testing", "textservice fake-server"])
def test_strict_methods_option(command: str) -> None:
    runner = [sys.executable, "-m", "textservice.cli", "fake-server"]
    if command.startswith("python"):
        runner = [sys.executable, "-m", "textservice.testing"]
    for flags, gecko in (([], Status.OK), (["--strict-methods"], Status.NOT_FOUND)):
        with _server(*flags, command=runner) as (proc, port):
            assert _embed_content(port, "models/gemini-embedding-001") is Status.OK
            assert _embed_content(port, EMBED_MODEL) is gecko  # gecko lists embedText only
            assert _embed(port)[0] is Status.OK  # EmbedText is one of gecko's
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)


def _embed_with_task(port: int, model: str) -> Status:
    m = module("v1beta")
    request = m.EmbedContentRequest(
        model=model, content=m.Content(parts=[m.Part(text="x")]), task_type=m.TaskType(1)
    )

    async def go() -> Status:
        channel = tcp_channel("127.0.0.1", port)
        try:
            return (await outcome(channel, "v1beta", "EmbedContent", request))[0]
        finally:
            channel.close()

    return asyncio.run(go())


@pytest.mark.network
@pytest.mark.parametrize("command", ["python -m textservice.testing", "textservice fake-server"])
def test_strict_models_option(command: str) -> None:
    runner = [sys.executable, "-m", "textservice.cli", "fake-server"]
    if command.startswith("python"):
        runner = [sys.executable, "-m", "textservice.testing"]
    for flags, two in (([], Status.OK), (["--strict-models"], Status.INVALID_ARGUMENT)):
        with _server(*flags, command=runner) as (proc, port):
            # gemini-embedding-2 ignores task_type: accepted, or refused when strict
            assert _embed_with_task(port, "models/gemini-embedding-2") is two
            assert _embed_with_task(port, "models/gemini-embedding-001") is Status.OK
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--require-api-key"], {"TEXTSERVICE_FAKE_API_KEY": ""}, "set TEXTSERVICE_FAKE_API_KEY"),
        (["--dimension", "0"], {}, "embedding_dimension must be between"),
        (["--model", "gecko"], {}, "known_models: 'gecko'"),
        (["--rpm", "0"], {}, "--rpm must be >= 1"),
        (["--time-scale", "60"], {}, "quota options need at least one limit"),
    ],
)
def test_bad_options_exit_2(args: list[str], env: dict[str, str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "textservice.testing", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert done.returncode == 2
    assert message in done.stderr


@pytest.mark.slow
def test_an_interrupted_client_leaves_the_server_log_clean(tmp_path: Path) -> None:
    # A client stopped mid-run leaves responses half-sent; grpclib kept writing them to the
    # dead socket, and asyncio printed "socket.send() raised exception." for each write.
    source = tmp_path / "in.txt"
    source.write_text("".join(f"text {i}\n" for i in range(20_000)))
    part = tmp_path / "out.npy.part"
    with _server("--dimension", "3072") as (proc, port):
        client = subprocess.Popen(
            [sys.executable, "-m", "textservice.cli", "embed", "-m", EMBED_MODEL,
             "-i", str(source), "-o", str(tmp_path / "out.npy"),
             "--endpoint", f"127.0.0.1:{port}", "--insecure", "--concurrency", "32"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "GOOGLE_API_KEY": "any-key"},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not (part.exists() and part.stat().st_size > 2_000_000):
                assert time.monotonic() < deadline and client.poll() is None
                time.sleep(0.01)
            client.send_signal(signal.SIGINT)  # Ctrl-C, with batches in flight
            assert client.wait(timeout=30) == 130
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        time.sleep(0.5)  # the server notices the closed connection
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert err == ""  # no "socket.send() raised exception.", nothing else either


@pytest.mark.network
def test_quota_options() -> None:
    with _server("--rpm", "1", "--time-scale", "60", "--no-retry-info") as (proc, port):
        assert _embed(port)[0] is Status.OK
        status, error = _embed(port)
        assert status is Status.RESOURCE_EXHAUSTED
        assert isinstance(error, GRPCError)
        kinds = {type(detail): detail for detail in error.details or []}
        assert rpc.RetryInfo not in kinds  # --no-retry-info
        failure = kinds[rpc.QuotaFailure]
        assert failure.violations[0].quota_id == "EmbedTextRequestsPerMinutePerProjectPerModel"
        assert failure.violations[0].quota_value == 1
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_the_rest_face_on_its_own_port_for_the_cli_and_clients(tmp_path: Path) -> None:
    textservice_command = [str(Path(sys.executable).with_name("textservice")), "fake-server"]
    with _server(
        "--rest-port", "0", "--require-api-key",
        env={"TEXTSERVICE_FAKE_API_KEY": "cli-key"}, command=textservice_command,
    ) as (proc, port):  # fmt: skip
        # the first line names both ports: "... 127.0.0.1:P (gRPC) and http://127.0.0.1:R (REST)"
        found = REST_PORT.search(FIRST_LINES[proc.pid])
        assert found is not None, FIRST_LINES[proc.pid]
        rest_port = int(found.group(1))
        assert rest_port != port
        texts = tmp_path / "texts.txt"
        texts.write_text("alpha\nbeta\n", encoding="utf-8")
        out = tmp_path / "out.jsonl"
        done = subprocess.run(
            [str(Path(sys.executable).with_name("textservice")), "embed", "--transport", "rest",
             "--endpoint", f"127.0.0.1:{rest_port}", "--insecure", "-i", str(texts),
             "-o", str(out), "-m", "models/gemini-embedding-001", "--output-dimensionality", "8"],
            env={**os.environ, "GOOGLE_API_KEY": "cli-key"},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines = out.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 2 and '"embedding"' in lines[0]
