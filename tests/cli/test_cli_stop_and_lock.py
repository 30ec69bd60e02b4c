"""``textservice embed`` runs as processes (issue 18): two runs on one output, a run stopped by
SIGTERM or SIGKILL, a damaged ``.part`` met by the command itself. The fake is served on a port
and slowed down, so the test sees every call and can act while a run is under way."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from support.cli_helpers import (
    CLI,
    MODEL,
    cli_env,
    results_in,
    run_cli,
    settle,
    texts,
    wait_until_read,
)
from support.cli_helpers import write_lines as write_input

from textservice.cli.locks import lock_path
from textservice.testing import FakeServer, ServerAddress

pq = pytest.importorskip("pyarrow.parquet")

pytestmark = [pytest.mark.subprocess, pytest.mark.network]

KEY_ENV = {"GOOGLE_API_KEY": "stop-key"}
COUNT = 300


@pytest.fixture
def served() -> Iterator[tuple[FakeServer, ServerAddress]]:
    fake = FakeServer(api_key="stop-key", embedding_dimension=16)
    with fake.serve() as address:
        yield fake, address


def command(address: ServerAddress, source: Path, out: Path) -> list[str]:
    return ["embed", "-m", MODEL, "-i", str(source), "-o", str(out),
            "--endpoint", address.target, "--insecure"]  # fmt: skip


def texts_sent(fake: FakeServer) -> list[str]:
    return [t for c in fake.calls if c.method == "BatchEmbedText" for t in c.request.texts]


def start_slowly(fake: FakeServer, args: list[str]) -> subprocess.Popen[bytes]:
    """``textservice ARGS`` with 10 texts a call, two calls at a time, each taking 40 ms."""
    fake.faults.delay(0.04, method="BatchEmbedText")
    # a process of its own: signalled, or holding the output's lock against another run
    return subprocess.Popen(
        [*CLI, *args, "--batch-size", "10", "--concurrency", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(KEY_ENV),
    )


def wait_until(ready: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"the run ended first: {process.communicate()[1]!r}")
        if time.monotonic() > deadline:
            pytest.fail("the run did not get there in 30 s")
        time.sleep(0.02)


def finish(process: subprocess.Popen[bytes]) -> str:
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return err.decode()


def read_back(out: Path) -> object:
    if out.suffix == ".npy":
        return np.load(out).tolist()
    if out.suffix == ".parquet":
        return pq.read_table(out).to_pylist()
    return out.read_bytes()


def test_a_second_run_on_the_same_output_is_refused_and_changes_nothing(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    # Issue 18, item 1: the first run ended with 2 x the lines, the second with a traceback.
    fake, address = served
    source = write_input(tmp_path / "in.txt", texts(COUNT))
    clean = tmp_path / "clean.jsonl"
    assert run_cli(command(address, source, clean), env=KEY_ENV).returncode == 0
    out = tmp_path / "out.jsonl"
    part = tmp_path / "out.jsonl.part"
    first = start_slowly(fake, command(address, source, out))
    try:
        wait_until(lambda: results_in(part) >= 20, first)
        second = run_cli(command(address, source, out), env=KEY_ENV)
        assert second.returncode == 4, second.stderr
        assert second.stderr == (
            f"textservice: {out} is being written by another textservice embed (process "
            f"{first.pid}), which holds out.jsonl.lock: wait for it to end (or stop it); "
            "nothing was changed\n"
        )
        assert first.poll() is None  # still at work: the second one did not stop it
        assert lock_path(out).exists()
    finally:
        err = finish(first)
    fake.faults.clear()
    assert first.returncode == 0, err
    assert out.read_bytes() == clean.read_bytes()  # every line once, in order
    assert len(texts_sent(fake)) == 2 * COUNT  # the clean run's and the first's: none from it
    assert sorted(tmp_path.iterdir()) == [clean, source, out]  # no .part, no lock file


def test_a_run_killed_while_it_holds_the_lock_does_not_block_the_next(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    source = write_input(tmp_path / "in.txt", texts(COUNT))
    out = tmp_path / "out.npy"
    first = start_slowly(fake, command(address, source, out))
    try:
        wait_until(lambda: results_in(tmp_path / "out.npy.part") >= 20, first)
        first.send_signal(signal.SIGKILL)
    finally:
        finish(first)
    assert lock_path(out).exists()  # left behind, but nobody holds its lock
    fake.faults.clear()
    again = run_cli(command(address, source, out), env=KEY_ENV)
    assert again.returncode == 0, again.stderr
    assert not lock_path(out).exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["jsonl", "npy", "parquet"])
def test_sigterm_keeps_every_complete_result_and_the_rerun_equals_a_clean_run(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], kind: str
) -> None:
    # Before, SIGTERM ended the process on the spot: a Parquet output lost the rows it held
    # for its next segment (here: every row, none made a segment yet).
    fake, address = served
    items = texts(COUNT)
    source = write_input(tmp_path / "in.txt", items)
    clean = tmp_path / f"clean.{kind}"
    assert run_cli(command(address, source, clean), env=KEY_ENV).returncode == 0
    out = tmp_path / f"out.{kind}"
    part = tmp_path / f"out.{kind}.part"
    process = start_slowly(fake, command(address, source, out))
    try:
        wait_until(lambda: len(fake.calls) >= 8, process)  # a few batches written
        process.send_signal(signal.SIGTERM)
    finally:
        err = finish(process)
    fake.faults.clear()
    assert process.returncode == 130, err
    found = re.search(r"terminated \(SIGTERM\); embedded so far (\d+) texts", err)
    assert found is not None, err
    kept = int(found.group(1))
    assert 0 < kept < COUNT
    assert f"{part} is kept: run the same command again to resume" in err
    assert results_in(part) == kept  # all of them, Parquet's unsegmented rows included

    settle(fake.log)
    fake.log.clear()
    again = run_cli(command(address, source, out), env=KEY_ENV)
    assert again.returncode == 0, again.stderr
    assert sorted(texts_sent(fake)) == sorted(items[kept:])
    assert read_back(out) == read_back(clean)


def test_sigterm_while_the_input_is_read_stops_with_130_and_sends_nothing(tmp_path: Path) -> None:
    # a process of its own: it gets SIGTERM
    process = subprocess.Popen(
        [*CLI, "embed", "--fake", "-m", MODEL, "-o", str(tmp_path / "out.parquet")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    try:
        assert process.stdin is not None
        process.stdin.write(b"a first line\n")
        process.stdin.flush()
        wait_until_read(process)  # started, and reading its standard input
        process.send_signal(signal.SIGTERM)
        err = finish(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "textservice: terminated (SIGTERM); nothing was sent" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kind", "damage", "message"),
    [
        ("jsonl", "nul-line", r"out\.jsonl\.part:3: not a JSON result line"),
        ("parquet", "corrupt-segment", r"00000001\.parquet: its rows are not those"),
        ("npy", "rows-as-a-string", r'"rows" \("\d+"\) must be whole numbers'),
    ],
)
def test_the_command_refuses_a_damaged_part_with_exit_4_before_any_call(
    tmp_path: Path,
    served: tuple[FakeServer, ServerAddress],
    kind: str,
    damage: str,
    message: str,
) -> None:
    fake, address = served
    source = write_input(tmp_path / "in.txt", texts(COUNT))
    out = tmp_path / f"out.{kind}"
    part = tmp_path / f"out.{kind}.part"
    process = start_slowly(fake, command(address, source, out))
    try:
        wait_until(lambda: len(fake.calls) >= 8, process)
        process.send_signal(signal.SIGINT)
    finally:
        finish(process)
    fake.faults.clear()
    assert results_in(part) >= 20
    if damage == "nul-line":
        lines = part.read_bytes().split(b"\n")
        lines[2] = b"\0" * len(lines[2])
        part.write_bytes(b"\n".join(lines))
    elif damage == "corrupt-segment":
        segment = part / "00000001.parquet"
        first = pq.read_table(segment).column("embedding")[0].values.to_numpy().tobytes()
        data = bytearray(segment.read_bytes())
        data[data.index(first) + 2] ^= 0x10
        segment.write_bytes(bytes(data))
    else:
        raw = bytearray(part.read_bytes())
        header = raw[:512].decode("latin-1")  # the magic's first byte is not ASCII
        edited = re.sub(r'"rows":(\d+)', r'"rows":"\1"', header)
        raw[:512] = edited[:511].ljust(511).encode("latin-1") + b"\n"
        part.write_bytes(bytes(raw))
    before = {p.name: p.read_bytes() for p in ([*part.iterdir()] if part.is_dir() else [part])}
    settle(fake.log)
    fake.log.clear()

    for _ in range(2):  # not a "run again to resume" that fails again each time
        done = run_cli(command(address, source, out), env=KEY_ENV)
        assert done.returncode == 4, done.stderr
        assert re.search(message, done.stderr), done.stderr
        assert "Traceback" not in done.stderr
    assert fake.calls == []
    after = {p.name: p.read_bytes() for p in ([*part.iterdir()] if part.is_dir() else [part])}
    assert after == before
