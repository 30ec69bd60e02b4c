"""A disk that fills up while ``textservice embed`` writes (issue 18, item 14): the first error
is reported as one line with exit 1, not a traceback of the error closing the output raised
after it; the ``.part`` keeps what was complete, and once there is room the same command
resumes to exactly what a clean run writes.

The disk is a budget of bytes shared by every file the writers open (their Python files, and
pyarrow's through a Python file object): past it a write raises ``OSError(ENOSPC)``, after
writing what fitted, as the OS does.
"""

from __future__ import annotations

import errno
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.cli_helpers import write_lines

from textservice.cli.app import cli
from textservice.cli.writers import common, jsonl, npy, parquet

pq = pytest.importorskip("pyarrow.parquet")

pytestmark = pytest.mark.slow  # three runs of the command each, about 0.5 s


class Disk:
    """Room left on the pretend disk (``None``: plenty)."""

    room: int | None = None


class _FillingFile(io.FileIO):
    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if Disk.room is None:
            return super().write(view)
        if Disk.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        written = super().write(view[: Disk.room])
        Disk.room -= written
        return written


def _open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
    """``open`` for the writers: files opened for writing are on the pretend disk."""
    if "r" in mode and "+" not in mode:
        return open(path, mode, *args, **kwargs)
    raw = _FillingFile(path, mode.replace("b", ""))
    return io.BufferedRandom(raw) if "+" in mode else io.BufferedWriter(raw)


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Disk]]:
    monkeypatch.setattr(common, "open", _open, raising=False)
    monkeypatch.setattr(jsonl, "open", _open, raising=False)
    monkeypatch.setattr(npy, "open", _open, raising=False)
    real_writer = pq.ParquetWriter

    def writer(where: Any, schema: Any, **kwargs: Any) -> Any:
        # pyarrow writes a Python file object through its write(): unbuffered, so nothing is
        # left behind in a buffer when pyarrow closes it.
        return real_writer(_FillingFile(where, "w"), schema, **kwargs)

    monkeypatch.setattr(pq, "ParquetWriter", writer)
    monkeypatch.setattr(parquet, "SEGMENT_ROWS", 40)  # several segments
    yield Disk
    Disk.room = None


def embed(args: list[str]) -> Any:
    return CliRunner().invoke(cli, ["embed", "--fake", *args])


@pytest.mark.parametrize("kind", ["jsonl", "npy", "parquet"])
def test_a_full_disk_is_one_clear_error_and_the_rerun_resumes(
    tmp_path: Path, full_disk: type[Disk], kind: str
) -> None:
    source = write_lines(tmp_path / "in.txt", [f"line {i}" for i in range(300)])
    # 16 values a vector, one text a call: JSONL lines small enough to wait in a buffer
    # (gemini-embedding-001: the default gemini-embedding-2 takes no fewer than 128)
    args = ["-m", "models/gemini-embedding-001", "--output-dimensionality", "16"]
    args += ["--batch-size", "1", "-i", str(source)]
    clean = tmp_path / f"clean.{kind}"
    assert embed([*args, "-o", str(clean)]).exit_code == 0
    size = sum(p.stat().st_size for p in tmp_path.glob("clean.*") if p.is_file())

    out = tmp_path / f"o.{kind}"
    full_disk.room = size * 2 // 5
    done = embed([*args, "-o", str(out)])
    assert isinstance(done.exception, SystemExit), done.exception  # not a traceback
    assert done.exit_code == 1
    message = done.output.strip().splitlines()[-1]
    assert message.startswith(f"textservice: No space left on device while writing {out}")
    part = tmp_path / f"o.{kind}.part"
    assert message.endswith(
        f"{part} is kept: free some space, then run the same command again to resume"
    )
    assert not out.exists()

    full_disk.room = None  # room again
    again = embed([*args, "-o", str(out), "--progress"])
    assert again.exit_code == 0, again.output
    assert "already done" in again.output  # resumed, not started over
    if kind == "parquet":
        assert pq.read_table(out).equals(pq.read_table(clean))
    else:
        assert out.read_bytes() == clean.read_bytes()
