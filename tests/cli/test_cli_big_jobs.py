"""``textservice embed`` on a 60,000-line input: streamed, killed mid-way, resumed, exact.

The fake serves 16-dimensional vectors on a TCP port (the CLI is a subprocess: it is killed),
so a run takes seconds; the rows are what the fake answers (``embedding_bytes``), so "equal to
a clean run" is checked against the exact output a clean run writes: the same rows, ids and
(for JSONL) the same bytes, digests included. 60,000 lines are 600 calls and four Parquet
segments (16,384 rows each at 16 dimensions): a kill once 20,000 results are kept lands after
at least one segment and a third of the input, with two thirds left to resume.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support.cli_helpers import MODEL, results_in, run_cli, settle, stop_when

from textservice.cli.digests import DigestChain, VectorSettings
from textservice.cli.inputs import Record
from textservice.cli.writers.jsonl import encode_batch
from textservice.testing import FakeServer, ServerAddress
from textservice.testing.vectors import embedding_bytes

pq = pytest.importorskip("pyarrow.parquet")

pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.network]

LINES = 60_000
DIM = 16
KEY_ENV = {"GOOGLE_API_KEY": "big-key"}


def line_text(i: int) -> str:
    return f"document {i}: the quick brown fox {i * 7 % 13} jumps over {i % 97}"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeServer, ServerAddress]]:
    fake = FakeServer(api_key="big-key", embedding_dimension=DIM, log_limit=None)
    with fake.serve() as address:
        yield fake, address


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "in.txt"
    with path.open("w", encoding="utf-8") as f:
        for i in range(LINES):
            f.write(line_text(i) + "\n")
    return path


@pytest.fixture(scope="module")
def expected() -> np.ndarray:
    """The fake's vector for every line: what a clean run writes."""
    raw = b"".join(embedding_bytes(MODEL, line_text(i), DIM) for i in range(LINES))
    return np.frombuffer(raw, "<f4").reshape(LINES, DIM)


def endpoint(address: ServerAddress) -> list[str]:
    return ["--endpoint", address.target, "--insecure"]


def sent_texts(fake: FakeServer) -> list[str]:
    return [t for c in fake.calls if c.method == "BatchEmbedText" for t in c.request.texts]


@pytest.mark.parametrize(
    ("name", "how"),
    [
        ("out.npy", signal.SIGKILL),
        ("out.jsonl", signal.SIGINT),
        ("out.parquet", signal.SIGKILL),
    ],
)
def test_a_big_job_killed_midway_and_resumed_equals_a_clean_run(
    tmp_path: Path,
    served: tuple[FakeServer, ServerAddress],
    big_input: Path,
    expected: np.ndarray,
    name: str,
    how: signal.Signals,
) -> None:
    fake, address = served
    out = tmp_path / name
    part = tmp_path / (name + ".part")
    args = ["embed", "-m", MODEL, "-i", str(big_input), "-o", str(out), *endpoint(address)]
    fake.log.clear()
    code = stop_when(part, 20_000, args, how, env=KEY_ENV)
    assert code == (130 if how == signal.SIGINT else -signal.SIGKILL)
    assert not out.exists()
    kept = results_in(part)
    assert 20_000 <= kept < LINES

    settle(fake.log)  # the stopped run's last calls may still be arriving
    fake.log.clear()
    done = run_cli(args, env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert not part.exists()
    again = sent_texts(fake)  # only what the .part did not hold, each once
    assert len(again) == LINES - kept
    assert again[0] == line_text(kept) and again[-1] == line_text(LINES - 1)

    if name.endswith(".npy"):
        assert np.array_equal(np.load(out), expected)
    elif name.endswith(".jsonl"):
        records = [Record(i + 1, i + 1, line_text(i)) for i in range(LINES)]
        clean = encode_batch(records, expected, DigestChain(VectorSettings(MODEL)))
        assert out.read_bytes() == clean
    else:
        table = pq.read_table(out)
        assert table.column("id").to_pylist() == list(range(1, LINES + 1))
        values = table.column("embedding").combine_chunks().flatten().to_numpy()
        assert np.array_equal(values.reshape(LINES, DIM), expected)


def test_bad_lines_of_a_streamed_input_are_listed_with_their_numbers(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    source = tmp_path / "in.jsonl"
    bad = {7: b"", 1_234: b"not json", 45_001: b'{"id": 3, "text": "dup"}', 59_999: b"\xff"}
    with source.open("wb") as f:
        for number in range(1, LINES + 1):
            line = bad.get(number, json.dumps({"id": number, "text": line_text(number)}).encode())
            f.write(line + b"\n")
    fake.log.clear()
    args = ["embed", "-m", MODEL, "-i", str(source), "-o", str(tmp_path / "o.npy")]
    done = run_cli([*args, *endpoint(address)], env=KEY_ENV)
    assert done.returncode == 3, done.stderr
    listed = [line for line in done.stderr.splitlines() if line.startswith(str(source))]
    assert listed == [
        f"{source}:7: empty line",
        f"{source}:1234: invalid JSON: Expecting value: line 1 column 1 (char 0)",
        f"{source}:45001: duplicate id 3 (first on line 3)",
        f"{source}:59999: invalid UTF-8 at byte 1",
    ]
    assert f"4 bad input line(s) of {LINES}; nothing was sent" in done.stderr
    assert fake.calls == [] and list(tmp_path.glob("o.npy*")) == []


def test_a_resumed_output_of_another_dimension_is_refused(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], big_input: Path
) -> None:
    """A .part of 16-dimensional rows, then a server sending 8: exit 1, the .part kept."""
    _, address = served
    for name in ("o.npy", "o.parquet"):
        out = tmp_path / name
        part = tmp_path / (name + ".part")
        base = ["embed", "-m", MODEL, "-i", str(big_input), "-o", str(out)]
        stopped = stop_when(part, 20_000, [*base, *endpoint(address)], signal.SIGINT, env=KEY_ENV)
        assert stopped == 130
        other = FakeServer(api_key="big-key", embedding_dimension=8)
        with other.serve() as elsewhere:
            done = run_cli([*base, *endpoint(elsewhere)], env=KEY_ENV)
        assert done.returncode == 1, done.stderr
        assert "the server sent an embedding of 8 values, but" in done.stderr
        assert f"holds ones of {DIM} from an earlier run" in done.stderr
        assert results_in(part) >= 20_000  # kept as it was
