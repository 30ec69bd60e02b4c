"""``textservice generate-text``, ``count-tokens`` and ``fake-server`` as a user runs them."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.cli_helpers import CLI, cli_env, run_cli
from support.paths import REPO

from textservice.testing import expected_completion, expected_token_count


@pytest.mark.subprocess
def test_generate_text_prints_the_completion() -> None:
    done = run_cli(["generate-text", "--fake", "Once upon a time"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected_completion("models/text-bison-001", "Once upon a time") + "\n"


@pytest.mark.subprocess
def test_generate_text_json_and_prompt_from_standard_input() -> None:
    done = run_cli(["generate-text", "--fake", "--candidates", "2", "--json"], stdin=b"hi\n")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [c["output"] for c in result["candidates"]] == [
        expected_completion("models/text-bison-001", "hi", i) for i in range(2)
    ]


@pytest.mark.subprocess
def test_count_tokens_prints_the_count() -> None:
    done = run_cli(["count-tokens", "--fake", "-m", "models/text-bison-001", "a few words here"])
    assert done.returncode == 0, done.stderr
    expected = expected_token_count("a few words here")
    assert done.stdout == f"{expected}\n"


@pytest.mark.subprocess
def test_a_model_the_server_does_not_serve_is_a_usage_error_with_a_hint() -> None:
    done = run_cli(["count-tokens", "--fake", "-m", "models/no-such-model", "x"])
    assert done.returncode == 2, done.stderr  # a usage error, not a failed call (1)
    assert "NOT_FOUND" in done.stderr
    assert "'textservice models' lists the models your key can use" in done.stderr


@pytest.mark.network
@pytest.mark.subprocess
def test_fake_server_serves_other_processes_until_interrupted() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # a process of its own: the standalone server, stopped by Ctrl-C
    server = subprocess.Popen(
        [*CLI, "fake-server", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        assert server.stdout is not None
        assert f"listening on 127.0.0.1:{port}" in server.stdout.readline()
        endpoint = ["--endpoint", f"127.0.0.1:{port}", "--insecure"]
        done = run_cli(
            ["count-tokens", "-m", "models/text-bison-001", "two words", *endpoint],
            env={"GOOGLE_API_KEY": "any-key"},
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"{expected_token_count('two words')}\n"
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


# SHA-256 of the demo sample as first committed (src/textservice/cli/sample.txt, until
# `make demo` generated it into build/): the generator still makes exactly those bytes.
DEMO_SAMPLE_SHA256 = "387b475491cb1c290376041969ea5b7a13f1f998b0b08f23eb3b9a11128e30f8"


def test_the_demo_sample_is_what_its_generator_always_made(tmp_path: Path) -> None:
    from textservice.cli.sample import SAMPLE_LINES, sample_lines, write_sample

    path = tmp_path / "demo" / "sample.txt"  # the folder is made, as build/demo/ by make demo
    write_sample(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DEMO_SAMPLE_SHA256
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == sample_lines()
    assert len(lines) == SAMPLE_LINES == len(set(lines))


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_demo_command_prints_count_dimension_time_and_throughput(tmp_path: Path) -> None:
    # What `make demo` runs (see the Makefile), with its files in a temporary folder.
    sample = tmp_path / "sample.txt"
    made = subprocess.run(
        [sys.executable, "-m", "textservice.cli.sample", str(sample)], capture_output=True
    )
    assert made.returncode == 0, made.stderr
    out = tmp_path / "embeddings.npy"
    done = run_cli(
        ["embed", "--fake", "--input", str(sample), "--output", str(out), "--overwrite",
         "--progress"]
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = done.stderr.splitlines()[-1]
    expected = r"embedded 3000 texts, dimension 3072, in [0-9.]+ s \([0-9,]+ texts/s\) -> "
    assert re.fullmatch(expected + re.escape(str(out)), summary), summary
    assert np.load(out).shape == (3000, 3072)
    makefile = (REPO / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "textservice embed --fake --input" in demo and "--model" not in demo


def _run_with_standard_output_closed(args: list[str], keep_lines: int) -> tuple[int, bytes, bytes]:
    """Run ``textservice ARGS`` like ``textservice ARGS | head -KEEP_LINES``."""
    # a process of its own: its standard output is a pipe that closes
    process = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env()
    )
    assert process.stdout is not None and process.stderr is not None
    kept = b"".join(process.stdout.readline() for _ in range(keep_lines))
    process.stdout.close()  # the reader goes away, as head does
    err = process.stderr.read()
    return process.wait(timeout=60), kept, err


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_closed_standard_output_stops_embed_quietly_with_141(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("".join(f"line {i}\n" for i in range(3000)))
    status, kept, err = _run_with_standard_output_closed(
        ["embed", "--fake", "-m", "models/embedding-gecko-001", "-i", str(source)], 1
    )
    assert json.loads(kept)["id"] == 1
    assert err == b""  # no BrokenPipeError, no traceback, no "a call failed"
    assert status == 141  # 128 + SIGPIPE, what a shell shows for `yes | head -1`


@pytest.mark.subprocess
def test_a_closed_standard_output_stops_the_other_commands_quietly_with_141() -> None:
    status, kept, err = _run_with_standard_output_closed(
        ["generate-text", "--fake", "--candidates", "8", "--json", "hello"], 0
    )
    assert (status, kept, err) == (141, b"", b"")
