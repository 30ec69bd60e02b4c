"""Result files of ``textservice embed``: the .part format, its checks, the .npy finish."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from textservice.cli.inputs import parse_input
from textservice.cli.outputs import (
    FileOutput,
    OutputConflictError,
    encode_result,
    read_results,
)

# float32 values that need all 9 significant digits, and extremes
VECTOR = [struct.unpack("<f", struct.pack("<f", x))[0] for x in (0.1, -1 / 3, 3.4e38, 1e-45, 0.0)]


@pytest.mark.parametrize("packed", [False, True])
def test_result_lines_round_trip_exactly(tmp_path: Path, packed: bool) -> None:
    path = tmp_path / "r.part"
    path.write_bytes(encode_result("a", VECTOR, packed=packed) + encode_result(7, VECTOR[::-1]))
    found = read_results(path, allow_torn_tail=False)
    assert found.ids == ["a", 7]
    assert found.vectors == [VECTOR, VECTOR[::-1]]
    assert found.valid_bytes == path.stat().st_size


def test_a_torn_tail_is_dropped_only_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "r.part"
    whole = encode_result(1, VECTOR)
    path.write_bytes(whole + encode_result(2, VECTOR)[:-9])
    assert read_results(path, allow_torn_tail=True).valid_bytes == len(whole)
    with pytest.raises(OutputConflictError, match=r"r.part:2: incomplete last line"):
        read_results(path, allow_torn_tail=False)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"garbage\n", "not a JSON result line"),
        (b'{"id": 2}\n', 'expected an object with "id" and "embedding"'),
        (b'{"id": 2, "embedding": ["x"]}\n', "must be a list of numbers"),
        (b'{"id": 2, "f32": "@@"}\n', 'bad "f32"'),
        (b'{"id": 2, "embedding": [1.0]}\n', "embedding has 1 values, earlier ones have 5"),
    ],
)
def test_a_corrupt_line_is_an_error_naming_it(tmp_path: Path, line: bytes, message: str) -> None:
    path = tmp_path / "r.part"
    path.write_bytes(encode_result(1, VECTOR) + line + encode_result(3, VECTOR))
    with pytest.raises(OutputConflictError, match=r"r\.part:2: ") as info:
        read_results(path, allow_torn_tail=True)
    assert message in str(info.value)


def test_npy_output_resumes_from_its_packed_part_and_finishes_atomically(tmp_path: Path) -> None:
    inp = parse_input(b"a\n\nc\nd\n", format="lines")  # line 2 is bad (skipped)
    out = tmp_path / "o.npy"
    first = FileOutput(out, inp, kind="npy", overwrite=False)
    first.write(inp.records[:1], [VECTOR])
    first.close()  # interrupted
    assert not out.exists()
    second = FileOutput(out, inp, kind="npy", overwrite=False)
    assert second.done == 1 and second.dimension == 5
    second.write(inp.records[1:], [VECTOR[::-1], VECTOR])
    second.finish()
    array = np.load(out)
    assert array.dtype == np.float32 and array.shape == (4, 5)
    assert array[0].tolist() == VECTOR and array[2].tolist() == VECTOR[::-1]
    assert np.isnan(array[1]).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.npy"]  # no .part, no temp file
    assert FileOutput(out, inp, kind="npy", overwrite=False).already_complete


def test_an_npy_of_another_shape_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "o.npy"
    np.save(out, np.zeros((2, 3), np.float32))
    with pytest.raises(OutputConflictError, match=r"has shape \(2, 3\) but the input has 3 lines"):
        FileOutput(out, parse_input(b"a\nb\nc\n", format="lines"), kind="npy", overwrite=False)


def test_a_new_embedding_size_midway_is_refused(tmp_path: Path) -> None:
    inp = parse_input(b"a\nb\n", format="lines")
    writer = FileOutput(tmp_path / "o.jsonl", inp, kind="jsonl", overwrite=False)
    writer.write(inp.records[:1], [VECTOR])
    with pytest.raises(OutputConflictError, match="embedding of 2 values after ones of 5"):
        writer.write(inp.records[1:], [[1.0, 2.0]])
    writer.close()
