"""What a resume checks before it trusts an earlier run's results (issue 18): every JSONL line,
every Parquet segment, the ``.npy`` checkpoint's fields and rows; a damaged ``.part`` is refused
(exit 4's error) naming what is wrong and left as it was, and an intact one resumes to exactly
what a clean run writes. Also the output's lock, and ids a Parquet id column cannot hold."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from support.cli_writers import VECTOR, fresh

from textservice.cli.digests import ContentDigest
from textservice.cli.errors import InputError, OutputBusyError, OutputConflictError
from textservice.cli.locks import lock_path, output_lock
from textservice.cli.writers import parquet
from textservice.cli.writers.common import Kind
from textservice.cli.writers.jsonl import encode_result
from textservice.cli.writers.npy import HEADER_SIZE, npy_header, read_npy_header

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

TEXTS = [f"text {i}" for i in range(10)]
DATA = "".join(t + "\n" for t in TEXTS).encode()
JSONL_DATA = "".join(json.dumps({"id": f"k{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS))


def vectors(count: int, start: int = 0) -> np.ndarray:
    """Rows that differ from each other (so a swapped or repeated row shows)."""
    return np.array([[i + 1.5, -i, i / 3, 2.0, 0.0] for i in range(start, start + count)], "<f4")


def snapshot(part: Path) -> dict[str, bytes]:
    """Every file of a ``.part`` (a file, or a Parquet folder) by name, with its bytes."""
    if part.is_dir():
        return {p.name: p.read_bytes() for p in sorted(part.iterdir())}
    return {part.name: part.read_bytes()}


def interrupted(out: Path, data: bytes, done: int, *, format: str = "lines") -> Path:
    """A ``.part`` holding the first ``done`` results of ``data``, as Ctrl-C leaves it."""
    opened = fresh(out, data, format=format)  # type: ignore[arg-type]
    for start in range(0, done, 2):  # batches of 2 (Parquet: a segment each, see below)
        end = min(start + 2, done)
        opened.writer.write(opened.todo[start:end], vectors(end - start, start))
    opened.writer.close()
    return out.with_name(out.name + ".part")


def read_back(out: Path) -> object:
    """A finished output's rows (and ids), comparable across runs."""
    if out.suffix == ".npy":
        return np.load(out).tolist()
    if out.suffix == ".parquet":
        return pq.read_table(out).to_pylist()
    return out.read_bytes()


def clean_run(out: Path, data: bytes, *, format: str = "lines") -> object:
    opened = fresh(out, data, format=format)  # type: ignore[arg-type]
    opened.writer.write(opened.todo, vectors(len(opened.todo)))
    opened.writer.finish()
    return read_back(out)


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parquet segments of 2 rows: a .part of several segments from a few records."""
    monkeypatch.setattr(parquet, "SEGMENT_ROWS", 2)


# -- an intact .part resumes to what a clean run writes, in every format ------------------------


@pytest.mark.parametrize("kind", ["jsonl", "npy", "parquet"])
@pytest.mark.parametrize("done", [1, 6, 9])
def test_a_resumed_output_equals_a_clean_run(tmp_path: Path, kind: Kind, done: int) -> None:
    clean = clean_run(tmp_path / f"clean.{kind}", DATA)
    out = tmp_path / f"o.{kind}"
    interrupted(out, DATA, done)
    resumed = fresh(out, DATA)
    assert resumed.writer.point.count == done
    assert [r.line for r in resumed.todo] == list(range(done + 1, 11))
    resumed.writer.write(resumed.todo, vectors(len(resumed.todo), done))
    resumed.writer.finish()
    assert read_back(out) == clean
    assert not out.with_name(out.name + ".part").exists()


# -- JSONL: every line is read back ------------------------------------------------------------


def _lines(part: Path) -> list[bytes]:
    return part.read_bytes().splitlines(keepends=True)


JSONL_DAMAGE: dict[str, tuple[Callable[[list[bytes]], list[bytes]], str]] = {
    # what a resume that read only the last line took as it was (issue 18, item 3)
    "NUL bytes": (
        lambda ls: [*ls[:3], b"\0" * (len(ls[3]) - 1) + b"\n", *ls[4:]],
        r"o\.jsonl\.part:4: not a JSON result line",
    ),
    "an edited id": (
        lambda ls: [*ls[:2], ls[2].replace(b'"id":3', b'"id":33'), *ls[3:]],
        r"result 3 has id 33 for record 3 but the input's record 3 \(line 3\) has id 3",
    ),
    "swapped lines": (
        lambda ls: [ls[0], ls[2], ls[1], *ls[3:]],
        r"result 2 has id 3 for record 2 but the input's record 2 \(line 2\) has id 2",
    ),
    "a shortened vector": (
        lambda ls: [*ls[:4], re.sub(rb",[^,]*\]", b"]", ls[4]), *ls[5:]],
        r"o\.jsonl\.part:5: an embedding of 4 values after ones of 5",
    ),
    "a repeated line": (
        lambda ls: [*ls[:3], ls[2], *ls[3:5]],
        r"result 4 has id 3 for record 4",
    ),
    "a removed line": (
        lambda ls: [*ls[:1], *ls[2:]],
        r"result 2 has id 3 for record 2",
    ),
    "a digest from another line": (
        lambda ls: [*ls[:1], ls[1].replace(_digest(ls[1]), _digest(ls[0])), *ls[2:]],
        r"result 2 does not match the input's record 2 \(line 2\)",
    ),
    "the last line": (
        lambda ls: [*ls[:5], ls[5].replace(b"[", b"[NaN,", 1)],
        r"o\.jsonl\.part:6: not a JSON result line \(NaN is not a JSON number\)",
    ),
    "a line cut short in the middle": (
        lambda ls: [*ls[:2], ls[2][:20] + b"\n", *ls[3:]],
        r"o\.jsonl\.part:3: not a JSON result line",
    ),
}


def _digest(line: bytes) -> bytes:
    digest: str = json.loads(line)["digest"]
    return digest.encode()


@pytest.mark.parametrize("damage", list(JSONL_DAMAGE))
def test_a_damaged_jsonl_part_is_refused_naming_the_line_and_left_alone(
    tmp_path: Path, damage: str
) -> None:
    out = tmp_path / "o.jsonl"
    part = interrupted(out, DATA, 6)
    change, message = JSONL_DAMAGE[damage]
    part.write_bytes(b"".join(change(_lines(part))))
    before = snapshot(part)
    with pytest.raises(OutputConflictError, match=message):
        fresh(out, DATA)
    assert snapshot(part) == before


def test_a_corrupt_jsonl_line_says_how_to_keep_the_results_before_it(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    part = interrupted(out, DATA, 6)
    lines = _lines(part)
    lines[3] = b"garbage\n"
    part.write_bytes(b"".join(lines))
    with pytest.raises(OutputConflictError) as info:
        fresh(out, DATA)
    assert "to keep the 3 results before it, cut the file there (head -n 3)" in str(info.value)
    # doing that resumes from the 3 results
    part.write_bytes(b"".join(lines[:3]))
    assert fresh(out, DATA).writer.point.count == 3


def test_a_finished_jsonl_holding_every_record_is_checked_by_its_last_line(
    tmp_path: Path,
) -> None:
    # Nothing will be added to it: reading every vector back would only cost time. A change of
    # input is still found, and named by the first line that differs.
    out = tmp_path / "o.jsonl"
    clean_run(out, DATA)
    lines = _lines(out)
    lines[4] = encode_result(5, json.loads(lines[4])["digest"], VECTOR[:2])
    out.write_bytes(b"".join(lines))
    assert fresh(out, DATA).writer.already_complete
    with pytest.raises(OutputConflictError, match="result 3 does not match the input's record 3"):
        fresh(out, DATA.replace(b"text 2\n", b"text two\n"))


def test_a_finished_jsonl_to_be_continued_is_checked_line_by_line(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    clean_run(out, DATA)
    lines = _lines(out)
    out.write_bytes(b"".join([lines[1], lines[0], *lines[2:]]))
    with pytest.raises(OutputConflictError, match="result 1 has id 2 for record 1"):
        fresh(out, DATA + b"text 10\n")  # the input grew: the output is continued


# -- Parquet: every segment is read back -------------------------------------------------------


def _segments(part: Path) -> list[Path]:
    return sorted(part.glob("*.parquet"))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_vector_byte(path: Path) -> None:
    # Embeddings are stored as they are (no compression): find the first row's bytes.
    first = pq.read_table(path).column("embedding")[0].values.to_numpy().tobytes()
    data = bytearray(path.read_bytes())
    at = bytes(data).index(first)
    data[at + 1] ^= 0x01
    path.write_bytes(bytes(data))


def _swap(a: Path, b: Path) -> None:
    tmp = a.with_name("swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


def _rewrite_ids(path: Path) -> None:
    # The same metadata (records, digest, content) over other ids: a file edited by a tool.
    table = pq.read_table(path)
    ids = pa.array([f"x{i}" for i in range(len(table))], pa.string())
    pq.write_table(table.set_column(0, "id", ids), path)


def _remove_second(segments: list[Path]) -> None:
    segments[1].unlink()
    segments[2].rename(segments[1])  # numbered 1 to N again


PARQUET_DAMAGE: dict[str, tuple[Callable[[list[Path]], object], str]] = {
    # (issue 18, item 4) the last segment was the only one read
    "a truncated middle segment": (
        lambda s: _truncate(s[1]),
        r"00000002\.parquet: not a readable Parquet file",
    ),
    "a corrupt middle segment": (
        lambda s: _flip_a_vector_byte(s[1]),
        r"00000002\.parquet: its rows are not those its content digest was made from",
    ),
    "a duplicated segment": (
        lambda s: shutil.copyfile(s[1], s[1].with_name("00000004.parquet")),
        r"00000004\.parquet: 2 rows after 6 records, but its metadata says they end at record 4",
    ),
    "renamed segments": (
        lambda s: _swap(s[0], s[1]),
        r"00000001\.parquet: 2 rows after 0 records, but its metadata says they end at record 4",
    ),
    "a removed segment": (
        _remove_second,
        r"00000002\.parquet: 2 rows after 2 records, but its metadata says they end at record 6",
    ),
    "edited ids": (
        lambda s: _rewrite_ids(s[0]),
        r"00000001\.parquet: (its rows are not those its content digest|no textservice metadata)",
    ),
    "a stray segment name": (
        lambda s: s[2].rename(s[2].with_name("00000009.parquet")),
        r"holds segments 00000001\.parquet, 00000002\.parquet, 00000009\.parquet",
    ),
}


@pytest.mark.parametrize("damage", list(PARQUET_DAMAGE))
def test_a_damaged_parquet_part_is_refused_before_any_call_and_left_alone(
    tmp_path: Path, damage: str
) -> None:
    out = tmp_path / "o.parquet"
    part = interrupted(out, JSONL_DATA.encode(), 6, format="jsonl")
    assert [p.name for p in _segments(part)] == [f"0000000{i}.parquet" for i in (1, 2, 3)]
    change, message = PARQUET_DAMAGE[damage]
    change(_segments(part))
    before = snapshot(part)
    with pytest.raises(OutputConflictError, match=message):
        fresh(out, JSONL_DATA.encode(), format="jsonl")
    assert snapshot(part) == before


def test_a_corrupt_segment_says_what_to_do_and_doing_it_resumes(tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    data = JSONL_DATA.encode()
    clean = clean_run(tmp_path / "clean.parquet", data, format="jsonl")
    part = interrupted(out, data, 6, format="jsonl")
    segments = _segments(part)
    _flip_a_vector_byte(segments[1])
    with pytest.raises(OutputConflictError) as info:
        fresh(out, data, format="jsonl")
    assert (
        f"the segment is corrupt; remove it and every later segment of {part} to keep the 2 "
        "results before it, or pass --overwrite to start over"
    ) in str(info.value)
    for segment in segments[1:]:
        segment.unlink()
    resumed = fresh(out, data, format="jsonl")
    assert resumed.writer.point.count == 2
    resumed.writer.write(resumed.todo, vectors(8, 2))
    resumed.writer.finish()
    assert read_back(out) == clean


def test_segments_from_another_input_are_named(tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    data = JSONL_DATA.encode()
    interrupted(out, data, 6, format="jsonl")
    changed = data.replace(b'"text 3"', b'"text three"')
    with pytest.raises(OutputConflictError, match=r"00000002\.parquet does not match this input"):
        fresh(out, changed, format="jsonl")
    other_ids = data.replace(b'"k4"', b'"k44"')
    with pytest.raises(OutputConflictError, match=r"00000003\.parquet has id \"k4\" for record 5"):
        fresh(out, other_ids, format="jsonl")


def test_a_finished_parquet_to_be_continued_is_read_back_first(tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    data = JSONL_DATA.encode()
    clean_run(out, data, format="jsonl")
    _flip_a_vector_byte(out)
    assert fresh(out, data, format="jsonl").writer.already_complete  # left as it is
    grown = data + b'{"id": "k10", "text": "text 10"}\n'
    with pytest.raises(OutputConflictError, match=r"o\.parquet: its rows are not those"):
        fresh(out, grown, format="jsonl")
    assert not (tmp_path / "o.parquet.part").exists()


def test_the_finished_parquet_holds_the_content_digest_of_its_segments(tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    data = JSONL_DATA.encode()
    part = interrupted(out, data, 6, format="jsonl")
    last = json.loads(pq.read_metadata(_segments(part)[-1]).metadata[b"textservice"])
    resumed = fresh(out, data, format="jsonl")
    resumed.writer.write(resumed.todo, vectors(4, 6))
    resumed.writer.finish()
    found = json.loads(pq.read_metadata(out).metadata[b"textservice"])
    expected = ContentDigest()
    expected.add_ids([f"k{i}" for i in range(10)])
    expected.add_vectors(vectors(10).tobytes())
    assert found["content"] == expected.hexdigest != last["content"]
    assert found["records"] == 10


# -- .npy: the checkpoint's fields and the rows ------------------------------------------------


def _edit_checkpoint(part: Path, **changes: object) -> None:
    raw = part.read_bytes()
    (lines, dim), checkpoint = read_npy_header(raw[:HEADER_SIZE], part)
    assert checkpoint is not None
    checkpoint.update(changes)
    part.write_bytes(npy_header(lines, dim, checkpoint) + raw[HEADER_SIZE:])


SKIPPING = b"a\n\nc\nd\n\nf\ng\nh\n"  # lines 2 and 5 are bad: rows run ahead of records


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # (issue 18, item 6) a lowered "rows" gave NaN rows, a string a TypeError
        ({"rows": 4}, "its 4 rows are not those its checkpoint's content digest was made from"),
        # without a content digest (a .part of an earlier version), the input finds it
        ({"rows": 4, "content": None}, "says its record 4 is on line 4, but it is on line 6"),
        ({"rows": 2}, "4 records in 2 rows of an input of 8 lines: its checkpoint is corrupt"),
        ({"rows": "6"}, '"records" \\(4\\) and "rows" \\("6"\\) must be whole numbers'),
        ({"records": 4.0}, "must be whole numbers"),
        ({"records": True}, "must be whole numbers"),
        ({"records": 3}, r"o\.npy\.part does not match this input \(its records 1 to 3\)"),
        ({"records": -1}, "must be whole numbers"),
        ({"rows": 9}, "4 records in 9 rows of an input of 8 lines"),
        ({"digest": 5}, '"digest" and "content" must be digests'),
        ({"content": "x"}, '"digest" and "content" must be digests'),
        ({"digest": "0" * 32}, r"o\.npy\.part does not match this input"),
    ],
)
def test_npy_checkpoint_fields_are_checked_against_each_other_and_the_input(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    out = tmp_path / "o.npy"
    opened = fresh(out, SKIPPING)
    opened.writer.write(opened.todo[:4], vectors(4))  # lines 1, 3, 4, 6: rows 1 to 6
    opened.writer.close()
    part = tmp_path / "o.npy.part"
    _edit_checkpoint(part, **changes)
    before = snapshot(part)
    with pytest.raises(OutputConflictError, match=message):
        fresh(out, SKIPPING)
    assert snapshot(part) == before


def test_npy_rows_changed_after_their_checkpoint_are_found(tmp_path: Path) -> None:
    out = tmp_path / "o.npy"
    part = interrupted(out, DATA, 6)
    raw = bytearray(part.read_bytes())
    raw[HEADER_SIZE + 4 * 5 * 2 + 1] ^= 0x40  # row 3
    part.write_bytes(bytes(raw))
    with pytest.raises(OutputConflictError, match="its 6 rows are not those its checkpoint's"):
        fresh(out, DATA)


def test_an_npy_part_cut_inside_its_checkpointed_rows_is_corrupt(tmp_path: Path) -> None:
    out = tmp_path / "o.npy"
    part = interrupted(out, DATA, 6)
    part.write_bytes(part.read_bytes()[:-10])
    with pytest.raises(OutputConflictError, match="shorter than its 6 rows of 5 values"):
        fresh(out, DATA)


@pytest.mark.parametrize(
    "sidecar",
    [
        {"digest": "0" * 32, "records": "3", "lines": 3},
        {"digest": 7, "records": 3, "lines": 3},
        {"digest": "0" * 32, "records": 4, "lines": 3},
    ],
)
def test_a_finished_npy_digest_file_of_the_wrong_types_is_refused(
    tmp_path: Path, sidecar: dict[str, object]
) -> None:
    out = tmp_path / "o.npy"
    clean_run(out, b"a\nb\nc\n")
    out.with_name("o.npy.digest").write_text(json.dumps(sidecar))
    with pytest.raises(OutputConflictError, match="not a textservice digest file"):
        fresh(out, b"a\nb\nc\n")


# -- ids outside int64 are refused before anything is sent ---------------------------------------


@pytest.mark.parametrize("big", [2**64 + 1, 2**63, -(2**63) - 1])
def test_parquet_output_refuses_ids_outside_int64_before_anything_is_written(
    tmp_path: Path, big: int
) -> None:
    data = f'{{"text": "a", "id": 1}}\n{{"text": "b", "id": {big}}}\n'.encode()
    with pytest.raises(InputError, match="the id on line 2 of the input is an integer outside"):
        fresh(tmp_path / "o.parquet", data, format="jsonl")
    assert list(tmp_path.iterdir()) == []
    # the edges fit, and other outputs take any integer
    edges = f'{{"text": "a", "id": {2**63 - 1}}}\n{{"text": "b", "id": {-(2**63)}}}\n'
    assert fresh(tmp_path / "o.parquet", edges.encode(), format="jsonl").todo
    assert fresh(tmp_path / "o.jsonl", data, format="jsonl").todo


# -- one writer per output --------------------------------------------------------------------


def locked(output: str | Path | None) -> contextlib.AbstractContextManager[None]:
    """The output's lock, failing the test if it warns."""
    return output_lock(output, warn=pytest.fail)


def test_a_second_writer_of_one_output_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    with locked(out):
        lock = lock_path(out)
        assert lock.read_text().strip().isdigit()  # the owner's process id
        with (
            pytest.raises(OutputBusyError, match=r"o\.jsonl is being written by another"),
            locked(str(out)),
        ):
            pass
        assert lock.exists()  # the refused one removed nothing
        with locked(tmp_path / "other.jsonl"):  # another output is free
            pass
    assert not lock.exists()  # removed by its owner
    with locked(out):  # free again
        pass
    with locked(None), locked("-"):  # standard output: nothing to lock
        pass


def test_a_lock_file_left_by_a_crash_does_not_block(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    lock_path(out).write_text("999999\n")  # nobody holds it: its process is gone
    with locked(out):
        assert lock_path(out).read_text() != "999999\n"
    assert not lock_path(out).exists()


def test_the_lock_is_held_for_the_file_at_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The owner removes the file when it ends: a run that opened it just before, and locks it
    # just after, holds the lock of a file nobody else can see any more, while a third run
    # may create and lock a new one. It must not count as holding the lock: it tries again.
    import fcntl

    out = tmp_path / "o.jsonl"
    real_flock = fcntl.flock
    locked_fds: list[int] = []

    def flock(fd: int, how: int) -> None:
        real_flock(fd, how)
        if not locked_fds:
            lock_path(out).unlink()  # the owner ended between our open and our lock
        locked_fds.append(fd)

    monkeypatch.setattr(fcntl, "flock", flock)
    with locked(out):
        assert len(locked_fds) == 2  # locked again, on the file now at the path
        assert os.fstat(locked_fds[-1]).st_ino == lock_path(out).stat().st_ino
    assert not lock_path(out).exists()


@pytest.mark.parametrize("code", [errno.ENOLCK, errno.EOPNOTSUPP])
def test_a_file_system_that_cannot_lock_runs_without_the_lock_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    import fcntl

    def flock(fd: int, how: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fcntl, "flock", flock)
    warnings: list[str] = []
    out = tmp_path / "o.jsonl"
    with output_lock(out, warn=warnings.append):
        assert not lock_path(out).exists()
    assert warnings == [
        f"the file system of {out} cannot lock o.jsonl.lock: a second run on it meanwhile "
        "would not be noticed"
    ]
