"""Result files of ``textservice embed``: the .part format, its checks, the .npy finish."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from textservice.cli import outputs
from textservice.cli.digests import DigestChain, VectorSettings, digest_path
from textservice.cli.inputs import Record, parse_input
from textservice.cli.outputs import (
    DimensionChangedError,
    FileOutput,
    Kind,
    OutputConflictError,
    encode_result,
    iter_results,
    scan_results,
)

# float32 values that need all 9 significant digits, and extremes
VECTOR = [struct.unpack("<f", struct.pack("<f", x))[0] for x in (0.1, -1 / 3, 3.4e38, 1e-45, 0.0)]
SETTINGS = VectorSettings("models/m")


@pytest.mark.parametrize("packed", [False, True])
def test_result_lines_round_trip_exactly(tmp_path: Path, packed: bool) -> None:
    path = tmp_path / "r.part"
    path.write_bytes(
        encode_result("a", "d1", VECTOR, packed=packed) + encode_result(7, "d2", VECTOR[::-1])
    )
    found = list(iter_results(path))
    assert [(r.id, r.digest) for r in found] == [("a", "d1"), (7, "d2")]
    first = struct.unpack("<5f", found[0].f32 or b"") if packed else found[0].embedding
    assert list(first or []) == VECTOR
    assert found[1].embedding == VECTOR[::-1]
    assert [r.dimension for r in found] == [5, 5]


def test_a_torn_tail_is_dropped_only_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "r.part"
    whole = encode_result(1, "d", VECTOR)
    path.write_bytes(whole + encode_result(2, "d", VECTOR)[:-9])
    scan = scan_results(path, allow_torn_tail=True)
    assert (scan.count, scan.valid_bytes, scan.last) == (1, len(whole), whole[:-1])
    with pytest.raises(OutputConflictError, match=r"r.part:2: incomplete last line"):
        scan_results(path, allow_torn_tail=False)
    assert len(list(iter_results(path))) == 1


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 20])
@pytest.mark.parametrize("tail", [b"", b"torn"])
def test_scanning_finds_the_count_and_last_line_across_chunk_edges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, tail: bytes
) -> None:
    monkeypatch.setattr(outputs, "_CHUNK", chunk)
    path = tmp_path / "r"
    for lines in ([], [b"x"], [b"a", b"bb"], [b"", b"ccc", b"d" * 30, b"e"]):
        data = b"".join(line + b"\n" for line in lines) + tail
        path.write_bytes(data)
        scan = scan_results(path, allow_torn_tail=True)
        assert scan.count == len(lines)
        assert scan.valid_bytes == len(data) - len(tail)
        assert scan.last == (lines[-1] if lines else None)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"garbage\n", "not a JSON result line"),
        (b'{"id": 2}\n', 'expected an object with "id" and "embedding"'),
        (b'{"id": 2, "embedding": ["x"]}\n', "must be a list of numbers"),
        (b'{"id": 2, "f32": "@@"}\n', 'bad "f32"'),
        (b'{"id": 2, "digest": 5, "embedding": [1.0]}\n', '"digest" must be a string'),
    ],
)
def test_a_corrupt_line_is_an_error_naming_it(tmp_path: Path, line: bytes, message: str) -> None:
    path = tmp_path / "r.part"
    path.write_bytes(encode_result(1, "d", VECTOR) + line + encode_result(3, "d", VECTOR))
    with pytest.raises(OutputConflictError, match=r"r\.part:2: ") as info:
        list(iter_results(path))
    assert message in str(info.value)


def test_the_digest_chain_covers_settings_ids_texts_and_order() -> None:
    records = [Record(1, 1, "a"), Record(2, 2, "b")]

    def final(settings: VectorSettings, recs: list[Record]) -> str:
        return DigestChain(settings).add_all(recs)

    base = final(SETTINGS, records)
    assert final(SETTINGS, records) == base  # deterministic
    assert final(VectorSettings("models/other"), records) != base
    assert final(VectorSettings("models/m", server="fake"), records) != base
    assert final(SETTINGS, [Record(1, 1, "a"), Record(2, 2, "B")]) != base
    assert final(SETTINGS, [Record(1, 1, "a"), Record(2, "2", "b")]) != base  # 2 vs "2"
    assert final(SETTINGS, records[::-1]) != base
    # where the texts split matters: ("ab", "c") is not ("a", "bc")
    assert final(SETTINGS, [Record(1, 1, "ab"), Record(2, 2, "c")]) != final(
        SETTINGS, [Record(1, 1, "a"), Record(2, 2, "bc")]
    )
    # an option left unset (None) is not part of the digest: room for new options
    assert VectorSettings("models/m", server=None).seed() == SETTINGS.seed()


def _fresh(
    path: Path,
    data: bytes,
    kind: Kind = "jsonl",
    *,
    settings: VectorSettings = SETTINGS,
    overwrite: bool = False,
) -> FileOutput:
    """A writer for ``data`` (text lines) to ``path``, resuming what is there."""
    inp = parse_input(data, format="lines")
    return FileOutput(path, inp, kind=kind, settings=settings, overwrite=overwrite)


def test_npy_output_resumes_from_its_packed_part_and_finishes_atomically(tmp_path: Path) -> None:
    inp = parse_input(b"a\n\nc\nd\n", format="lines")  # line 2 is bad (skipped)
    out = tmp_path / "o.npy"
    first = FileOutput(out, inp, kind="npy", settings=SETTINGS, overwrite=False)
    first.write(inp.records[:1], [VECTOR])
    first.close()  # interrupted
    assert not out.exists()
    second = FileOutput(out, inp, kind="npy", settings=SETTINGS, overwrite=False)
    assert second.done == 1 and second.dimension == 5
    second.write(inp.records[1:], [VECTOR[::-1], VECTOR])
    second.finish()
    array = np.load(out)
    assert array.dtype == np.float32 and array.shape == (4, 5)
    assert array[0].tolist() == VECTOR and array[2].tolist() == VECTOR[::-1]
    assert np.isnan(array[1]).all()
    # no .part, no temporary file; the digest next to the array
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.npy", "o.npy.digest"]
    again = FileOutput(out, inp, kind="npy", settings=SETTINGS, overwrite=False)
    assert again.already_complete and again.dimension == 5


@pytest.mark.parametrize("kind", ["jsonl", "npy"])
@pytest.mark.parametrize("changed", [0, 3, 6])
def test_a_part_of_another_input_is_refused_whichever_line_changed(
    tmp_path: Path, kind: Kind, changed: int
) -> None:
    lines = [f"text {i}" for i in range(8)]
    out = tmp_path / f"o.{kind}"
    first = _fresh(out, "".join(t + "\n" for t in lines).encode(), kind)
    first.write(first.input.records[:7], [VECTOR] * 7)  # 7 of 8 done, then interrupted
    first.close()
    part = tmp_path / f"o.{kind}.part"
    before = part.read_bytes()

    lines[changed] = "another text"
    with pytest.raises(OutputConflictError) as info:
        _fresh(out, "".join(t + "\n" for t in lines).encode(), kind)
    assert f"result {changed + 1} does not match the input's record {changed + 1}" in str(
        info.value
    )
    assert part.read_bytes() == before  # left alone


def test_a_part_of_another_model_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    first = _fresh(out, b"a\nb\n")
    first.write(first.input.records[:1], [VECTOR])
    first.close()
    with pytest.raises(OutputConflictError, match="result 1 does not match"):
        _fresh(out, b"a\nb\n", settings=VectorSettings("models/other"))
    resumed = _fresh(out, b"a\nb\n")
    assert resumed.done == 1


def test_an_npy_whose_digest_does_not_match_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "o.npy"
    done = _fresh(out, b"a\nb\nc\n", "npy")
    done.write(done.input.records, [VECTOR] * 3)
    done.finish()
    with pytest.raises(OutputConflictError, match=r"o.npy was made from another input"):
        _fresh(out, b"a\nB\nc\n", "npy")
    # the same texts on other rows (a blank line moved) are another output too
    with pytest.raises(OutputConflictError, match=r"o.npy was made from another input"):
        FileOutput(
            out,
            parse_input(b'{"id": 1, "text": "a"}\n\n{"id": 2, "text": "b"}\n', format="jsonl"),
            kind="npy",
            settings=SETTINGS,
            overwrite=False,
        )


def test_outputs_of_an_older_version_without_digests_are_refused(tmp_path: Path) -> None:
    old_line = json.dumps({"id": 1, "embedding": VECTOR}) + "\n"
    (tmp_path / "o.jsonl").write_text(old_line)
    with pytest.raises(OutputConflictError, match=r"no input digests .* older version"):
        _fresh(tmp_path / "o.jsonl", b"a\nb\n")
    (tmp_path / "p.jsonl.part").write_text(old_line)
    with pytest.raises(OutputConflictError, match=r"no input digests .* older version"):
        _fresh(tmp_path / "p.jsonl", b"a\nb\n")
    np.save(tmp_path / "o.npy", np.zeros((2, 5), np.float32))
    with pytest.raises(OutputConflictError, match=r"no o\.npy\.digest .* older version"):
        _fresh(tmp_path / "o.npy", b"a\nb\n", "npy")
    assert _fresh(tmp_path / "o.npy", b"a\nb\n", "npy", overwrite=True).done == 0


def test_an_npy_of_another_shape_than_its_digest_says_is_corrupt(tmp_path: Path) -> None:
    out = tmp_path / "o.npy"
    done = _fresh(out, b"a\nb\nc\n", "npy")
    done.write(done.input.records, [VECTOR] * 3)
    done.finish()
    np.save(out, np.zeros((2, 3), np.float32))
    with pytest.raises(OutputConflictError, match=r"shape \(2, 3\).* corrupt"):
        _fresh(out, b"a\nb\nc\n", "npy")
    digest_path(out).write_text("not json")
    with pytest.raises(OutputConflictError, match="not a textservice digest file"):
        _fresh(out, b"a\nb\nc\n", "npy")


def test_a_new_embedding_size_midway_is_a_server_fault(tmp_path: Path) -> None:
    writer = _fresh(tmp_path / "o.jsonl", b"a\nb\nc\n")
    writer.write(writer.input.records[:1], [VECTOR])
    with pytest.raises(DimensionChangedError, match="of 2 values after ones of 5 in this run"):
        writer.write(writer.input.records[1:2], [[1.0, 2.0]])
    writer.close()
    resumed = _fresh(tmp_path / "o.jsonl", b"a\nb\nc\n")
    with pytest.raises(DimensionChangedError, match=r"o\.jsonl\.part holds ones of 5") as info:
        resumed.write(resumed.input.records[1:2], [[1.0, 2.0]])
    assert info.value.earlier == tmp_path / "o.jsonl.part"
    resumed.close()
    assert (tmp_path / "o.jsonl.part").stat().st_size > 0  # kept


def test_closing_removes_a_part_that_holds_nothing(tmp_path: Path) -> None:
    writer = _fresh(tmp_path / "o.jsonl", b"a\n")
    assert writer.resume_file is None
    writer.close()
    assert list(tmp_path.iterdir()) == []
