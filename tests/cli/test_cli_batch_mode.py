"""``textservice embed --batch-mode`` and ``textservice batch``, as a user runs them: the CLI in
a subprocess, the fake's REST face on a port of this test process (its jobs outlive the
command: a rerun finds them, as it would at Google).

The traps: a kill at every step (during the upload, after the create before its answer,
during polling, during the download), each followed by a rerun that sends no second job and
ends with the exact vectors of an online run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy
import pytest
from support.cli_helpers import CLI, cli_env, run_cli, settle, texts, write_lines

from textservice.testing import FakeServer, ServerAddress
from textservice.testing.batch_mode import Pause, Step

pytestmark = [pytest.mark.subprocess, pytest.mark.network]

MODEL = "models/gemini-embedding-2"
DIM = ["--output-dimensionality", "128"]


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer(batch_seconds=0.3)


@pytest.fixture
def address(fake: FakeServer) -> Iterator[ServerAddress]:
    with fake.serve_rest() as served:
        yield served


def endpoint(address: ServerAddress) -> list[str]:
    return ["--endpoint", address.target, "--insecure"]


def embed(address: ServerAddress, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["embed", "-m", MODEL, *DIM, *endpoint(address), *args])


def online(address: ServerAddress, source: Path, output: Path, *args: str) -> None:
    flags = ["--transport", "rest", "-q", "-i", str(source), "-o", str(output), *args]
    done = run_cli(["embed", "-m", MODEL, *DIM, *endpoint(address), *flags])
    assert done.returncode == 0, done.stderr


def same_npy(first: Path, second: Path) -> None:
    """Two ``.npy`` outputs hold the same bytes, digests and ids."""
    assert first.read_bytes() == second.read_bytes()
    for suffix in (".digest", ".ids.jsonl"):
        assert Path(f"{first}{suffix}").read_bytes() == Path(f"{second}{suffix}").read_bytes()


def test_a_batch_run_writes_what_an_online_run_writes(
    fake: FakeServer, address: ServerAddress, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.txt", texts(60))
    out = tmp_path / "out.jsonl"
    done = embed(
        address, "--batch-mode", "--task-type", "query", "--progress", "-i", str(source), "-o",
        str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Batch mode: sending inline: 60 requests" in done.stderr
    name = fake.batch_mode.jobs[0].name
    assert f"{name}: succeeded, 60 of 60 done" in done.stderr  # its progress
    assert "embedded 60 texts" in done.stderr and f"in Batch mode: {name}" in done.stderr
    assert not (tmp_path / "out.jsonl.batch").exists()  # finished: its folder is gone
    reference = tmp_path / "online.jsonl"
    online(address, source, reference, "--task-type", "query")
    assert out.read_bytes() == reference.read_bytes()
    assert fake.count("EmbedContent") == 0 or fake.count("BatchEmbedContents") > 0
    assert len(fake.batch_mode.jobs) == 1
    listed = run_cli(["batch", "list", *endpoint(address)])
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("batches/") == 1
    assert "succeeded" in listed.stdout and "60/60 done" in listed.stdout


def test_detach_then_collect(fake: FakeServer, address: ServerAddress, tmp_path: Path) -> None:
    fake.batch_mode.seconds = 60.0  # running until the test ends it: no race with slow starts
    source = write_lines(tmp_path / "in.txt", texts(25))
    out = tmp_path / "out.npy"
    args = ["--batch-mode", "-i", str(source), "-o", str(out)]
    sent = embed(address, *args, "--detach")
    assert sent.returncode == 0, sent.stderr
    assert "detached" in sent.stderr and not out.exists()
    name = fake.batch_mode.jobs[0].name
    looked = embed(address, *args, "--detach")  # still running: says so, sends nothing
    assert looked.returncode == 0 and name in looked.stderr
    status = run_cli(["batch", "status", name, *endpoint(address)])
    assert status.returncode == 0 and "state:" in status.stdout and name in status.stdout
    assert "running" in status.stdout or "pending" in status.stdout
    fake.batch_mode.jobs[0].seconds = 0  # it finishes now
    collected = embed(address, *args)
    assert collected.returncode == 0, collected.stderr
    reference = tmp_path / "online.npy"
    online(address, source, reference)
    same_npy(out, reference)
    assert len(fake.batch_mode.jobs) == 1


def test_ctrl_c_detaches_and_says_how_to_resume(
    fake: FakeServer, address: ServerAddress, tmp_path: Path
) -> None:
    fake.batch_mode.seconds = 30.0
    source = write_lines(tmp_path / "in.txt", texts(10))
    out = tmp_path / "out.jsonl"
    files = ["-i", str(source), "-o", str(out)]
    process = subprocess.Popen(
        [*CLI, "embed", "-m", MODEL, *DIM, *endpoint(address), "--batch-mode", *files],
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        _wait_for(lambda: bool(fake.batch_mode.jobs) and fake.count("GetBatch") >= 1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    name = fake.batch_mode.jobs[0].name
    assert f"detached from {name}" in stderr and "run the same command again" in stderr
    state = json.loads((tmp_path / "out.jsonl.batch" / "state.json").read_text())
    assert state["job"] == name
    fake.batch_mode.jobs[0].seconds = 0  # it finishes now
    again = embed(address, "--batch-mode", "-i", str(source), "-o", str(out))
    assert again.returncode == 0, again.stderr
    assert len(fake.batch_mode.jobs) == 1


def test_failed_lines_are_listed_and_sent_again_alone(
    fake: FakeServer, address: ServerAddress, tmp_path: Path
) -> None:
    lines = texts(30)
    source = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / "out.npy"
    fake.batch_mode.fail_lines(texts=[lines[9], lines[20]], status="INTERNAL")
    first = embed(address, "--batch-mode", "-i", str(source), "-o", str(out))
    assert first.returncode == 1, first.stderr
    assert f"{source}:10: INTERNAL: the request failed (injected)" in first.stderr
    assert f"{source}:21: INTERNAL" in first.stderr
    assert "2 requests failed in Batch mode" in first.stderr
    assert "stops before line 10" in first.stderr
    second = embed(address, "--batch-mode", "-i", str(source), "-o", str(out))
    assert second.returncode == 0, second.stderr
    jobs = fake.batch_mode.jobs
    assert len(jobs) == 2 and len(jobs[1].lines) == 2  # only the failed ones, in a new job
    reference = tmp_path / "online.npy"
    online(address, source, reference)
    same_npy(out, reference)


def test_the_same_requests_again_adopt_the_job_and_upload_nothing(
    fake: FakeServer, address: ServerAddress, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.txt", texts(600))
    full = ["--output-dimensionality", "3072"]  # 600 x 3,072 values: results over 20 MB, a file
    args = ["--batch-mode", "--detach", *full, "-i", str(source), "-o"]
    first = embed(address, *args, str(tmp_path / "a.npy"))
    assert first.returncode == 0 and "as a file" in first.stderr, first.stderr
    uploads = fake.count("UploadFile")
    # another output of the same input (or this one with its folder lost): the same requests
    again = embed(address, *args, str(tmp_path / "b.npy"))
    assert again.returncode == 0, again.stderr
    assert "sent by an earlier run: not sending another" in again.stderr
    assert fake.count("UploadFile") == uploads and len(fake.batch_mode.jobs) == 1


@pytest.mark.parametrize("end", ["cancelled", "expired"])
def test_a_job_that_ended_without_results_is_reported(
    fake: FakeServer, address: ServerAddress, tmp_path: Path, end: str
) -> None:
    fake.batch_mode.seconds = 30.0
    source = write_lines(tmp_path / "in.txt", texts(5))
    out = tmp_path / "out.jsonl"
    args = ["--batch-mode", "-i", str(source), "-o", str(out)]
    assert embed(address, *args, "--detach").returncode == 0
    name = fake.batch_mode.jobs[0].name
    if end == "cancelled":
        assert run_cli(["batch", "cancel", name, *endpoint(address)]).returncode == 0
    else:
        fake.batch_mode.expire(name)
    reported = embed(address, *args)
    assert reported.returncode == 1
    assert f"{name} {'was cancelled' if end == 'cancelled' else 'expired'}" in reported.stderr
    assert "run the same command again to send a new job" in reported.stderr
    fake.batch_mode.seconds = 0.2
    again = embed(address, *args)
    assert again.returncode == 0, again.stderr
    assert len(fake.batch_mode.jobs) == 2


def test_batch_mode_usage(address: ServerAddress, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.txt", texts(3))
    no_file = embed(address, "--batch-mode", "-i", str(source))
    assert no_file.returncode == 2 and "--batch-mode needs --output FILE" in no_file.stderr
    alone = embed(address, "--detach", "-i", str(source), "-o", str(tmp_path / "o.npy"))
    assert alone.returncode == 2 and "--detach goes with --batch-mode" in alone.stderr
    grpc = embed(
        address,
        "--batch-mode",
        "--transport",
        "grpc",
        "-i",
        str(source),
        "-o",
        str(tmp_path / "r.npy"),
    )
    assert grpc.returncode == 2 and "served over REST only" in grpc.stderr
    files = ["-i", str(source), "-o", str(tmp_path / "g.npy")]
    gecko = run_cli(
        ["embed", "-m", "models/embedding-gecko-001", "--batch-mode", *endpoint(address), *files]
    )
    assert gecko.returncode == 2 and "TextService, which has no Batch mode" in gecko.stderr


def test_dry_run_says_how_the_job_would_be_sent(address: ServerAddress, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.txt", [*texts(40), *texts(10)])  # 10 repeated
    plain = embed(address, "--dry-run", "--estimate-tokens", "-i", str(source))
    assert plain.returncode == 0, plain.stderr
    assert "in Batch mode (half price" in plain.stdout and "cannot" not in plain.stdout
    batch = embed(
        address, "--dry-run", "--estimate-tokens", "--batch-mode", "-i", str(source), "-o",
        str(tmp_path / "o.npy"),
    )  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    assert "batch mode: one job, sent inline: 40 requests" in batch.stdout  # each text once
    assert "within 24 hours" in batch.stdout


# -- the traps: a kill at every step ----------------------------------------------------------


def _wait_for(condition: object, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail("the condition was not met in time")
        time.sleep(0.02)


def _killed_at(pause: Pause, args: Sequence[str]) -> None:
    """Run ``textservice ARGS`` until the fake holds it at ``pause``, then SIGKILL it."""
    process = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env()
    )
    try:
        deadline = time.monotonic() + 180
        while not pause.reached.wait(0.05):
            if process.poll() is not None:
                pytest.fail(f"ended before {pause.step}: {process.communicate()[1]!r}")
            if time.monotonic() > deadline:
                pytest.fail(f"never reached {pause.step}")
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        pause.release()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_killed_at_every_step_then_rerun_sends_one_job_and_the_online_vectors(
    fake: FakeServer, address: ServerAddress, tmp_path: Path
) -> None:
    """The done-when test: 20,000 lines, interrupted once at each step, the same output as an
    online run, and one job."""
    source = write_lines(tmp_path / "in.txt", texts(20_000))
    out = tmp_path / "out.npy"
    args = ["embed", "-m", MODEL, *DIM, *endpoint(address), "--batch-mode"]
    args += ["-i", str(source), "-o", str(out), "-q"]
    fake.batch_mode.seconds = 3.0
    steps: list[Step] = ["upload", "create", "get", "download"]
    for step in steps:
        _killed_at(fake.batch_mode.pause(step), args)
        settle(fake.log)
        assert len(fake.batch_mode.jobs) == (0 if step == "upload" else 1), step
    stored = fake.batch_mode.files[0]
    assert stored.source == "UPLOADED" and stored.size > 2_000_000  # sent as a file
    assert fake.count("UploadFile") >= 3  # start, the cut chunk, the query and the rest
    finished = run_cli(args)
    assert finished.returncode == 0, finished.stderr
    assert len(fake.batch_mode.jobs) == 1
    assert fake.count("AsyncBatchEmbedContent") == 1
    reference = tmp_path / "online.npy"
    online(address, source, reference)
    same_npy(out, reference)
    assert numpy.load(out).shape == (20_000, 128)
    listed = run_cli(["batch", "list", *endpoint(address)])
    assert listed.stdout.count("batches/") == 1


def test_an_unknown_job_is_a_usage_error_that_points_at_batch_list(address: ServerAddress) -> None:
    empty = run_cli(["batch", "list", *endpoint(address)])
    assert empty.returncode == 0 and empty.stdout == ""
    assert "no Batch mode jobs" in empty.stderr
    for command in ("status", "cancel", "delete"):
        done = run_cli(["batch", command, "nope", *endpoint(address)])
        assert done.returncode == 2, (command, done.stderr)
        assert "batches/nope" in done.stderr and "'textservice batch list'" in done.stderr
        assert "textservice models" not in done.stderr  # not a model's NOT_FOUND
