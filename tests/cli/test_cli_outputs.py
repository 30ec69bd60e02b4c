"""Result files of ``textservice embed``: each format's .part, its checks, the finish."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.cli_helpers import read_jsonl
from support.cli_writers import SETTINGS, VECTOR, fresh, rows

from textservice.cli.content_keys import is_key
from textservice.cli.digests import DigestChain, VectorSettings, digest_path
from textservice.cli.errors import DimensionChangedError, InputError, OutputConflictError
from textservice.cli.inputs import Record
from textservice.cli.writers import jsonl
from textservice.cli.writers.common import Kind
from textservice.cli.writers.jsonl import encode_result, iter_result_checkpoints, scan_results
from textservice.cli.writers.npy import HEADER_SIZE

D1, D2, D3 = "1" * 32, "2" * 32, "3" * 32  # digests (32 hex digits)


def test_result_lines_round_trip_exactly() -> None:
    lines = [encode_result("a", D1, VECTOR), encode_result(7, D2, VECTOR[::-1])]
    found = [json.loads(line) for line in lines]
    assert [(r["id"], r["digest"]) for r in found] == [("a", D1), (7, D2)]
    assert found[0]["embedding"] == VECTOR
    assert found[1]["embedding"] == VECTOR[::-1]


@pytest.mark.parametrize("arrays", [False, True])
def test_a_batch_of_jsonl_lines_holds_the_exact_float32_values(arrays: bool) -> None:
    # From lists of floats, or from a float32 array (formatted by pyarrow when installed).
    records = [Record(1, 1, "a"), Record(2, "b", "b")]
    vectors = [VECTOR, VECTOR[::-1]]
    batch = np.array(vectors, np.float32) if arrays else vectors
    lines = jsonl.encode_batch(records, batch, DigestChain(SETTINGS)).decode().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [p["id"] for p in parsed] == [1, "b"]
    assert [p["embedding"] for p in parsed] == vectors  # float64 == the float32 value
    chain = DigestChain(SETTINGS)
    assert [p["digest"] for p in parsed] == [chain.add(r) for r in records]


def test_a_torn_tail_is_dropped_only_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "r.part"
    whole = encode_result(1, D1, VECTOR)
    path.write_bytes(whole + encode_result(2, D2, VECTOR)[:-9])
    scan = scan_results(path, allow_torn_tail=True)
    assert (scan.count, scan.valid_bytes, scan.last) == (1, len(whole), whole[:-1])
    with pytest.raises(OutputConflictError, match=r"r.part:2: incomplete last line"):
        scan_results(path, allow_torn_tail=False)
    assert [c.ids for c in iter_result_checkpoints(path, 1)] == [(1,)]
    with pytest.raises(OutputConflictError, match=r"r.part:2: incomplete line"):
        list(iter_result_checkpoints(path, 2))


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 20])
@pytest.mark.parametrize("tail", [b"", b"torn"])
def test_scanning_finds_the_count_and_last_line_across_chunk_edges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, tail: bytes
) -> None:
    monkeypatch.setattr(jsonl, "_CHUNK", chunk)
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
        (b'{"id": 2, "digest": 5, "embedding": [1.0]}\n', '"digest" must be a string'),
        # what a resume used to miss: only the last line was read (issue 18)
        (b"\0" * 40 + b"\n", "not a JSON result line"),
        (encode_result(2, "nope", VECTOR), '"digest" "nope" is no digest'),
        (encode_result(2, D2, VECTOR[:3]), "an embedding of 3 values after ones of 5"),
        (encode_result(2, D2, []), "an empty embedding"),
        (b'{"id":2,"digest":"%s","embedding":[NaN,1,2,3,4]}\n' % D2.encode(), "NaN is not"),
        (b'{"id":2,"digest":"%s","embedding":[1,2,3,4,-Infinity]}\n' % D2.encode(), "-Infinity"),
        (b'{"id":2,"digest":"%s","embedding":[1,2,true,4,5]}\n' % D2.encode(), "list of numbers"),
        (b'{"id":null,"digest":"%s","embedding":[1,2,3,4,5]}\n' % D2.encode(), '"id" must be'),
        ("é".encode("latin-1") + b"\n", "not a JSON result line"),
    ],
)
def test_a_corrupt_line_is_an_error_naming_it(tmp_path: Path, line: bytes, message: str) -> None:
    path = tmp_path / "r.part"
    path.write_bytes(encode_result(1, D1, VECTOR) + line + encode_result(3, D3, VECTOR))
    with pytest.raises(OutputConflictError, match=r"r\.part:2: ") as info:
        list(iter_result_checkpoints(path, 3))
    assert message in str(info.value)
    assert "to keep the 1 results before it, cut the file there (head -n 1)" in str(info.value)


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


def test_the_digest_chain_covers_every_vector_option_and_titles() -> None:
    records = [Record(1, 1, "a"), Record(2, 2, "b")]
    base = VectorSettings("models/m", service="generative")

    def final(settings: VectorSettings, recs: list[Record] = records) -> str:
        return DigestChain(settings).add_all(recs)

    variants = [
        VectorSettings("models/m"),  # TextService
        VectorSettings("models/m", service="generative", task_type="RETRIEVAL_QUERY"),
        VectorSettings("models/m", service="generative", task_type="CLUSTERING"),
        VectorSettings("models/m", service="generative", output_dimensionality=768),
        VectorSettings("models/m", service="generative", output_dimensionality=1536),
        VectorSettings("models/m", service="generative", normalize=True),
    ]
    digests = {final(base)} | {final(v) for v in variants}
    assert len(digests) == len(variants) + 1
    titled = [Record(1, 1, "a", "T"), Record(2, 2, "b")]
    assert final(base, titled) != final(base)
    assert final(base, titled) != final(base, [Record(1, 1, "a", "U"), Record(2, 2, "b")])
    # the title is a part of its own: not the same as a text that holds it
    assert final(base, titled) != final(base, [Record(1, 1, 'a", "T'), Record(2, 2, "b")])


# Digests of the code before GenerativeService (commit 6a8c677), for TextService outputs:
# (seed, after (1, "hello"), after (2, "world")) with and without --fake.
OLD_GECKO_DIGESTS = {
    None: (
        "df36f86b120d1cbc0f972d7232666d43",
        "aa1c01c339e165281b2517a7de5ff93a",
        "b5b4ca329a6d2bff778f79a25edd20e1",
    ),
    "fake": (
        "0f7164558ff84d48573ecc5fb9724e4c",
        "45f03034c0196c8c776e6340cd7dc705",
        "c5e5a9813511eaec33525eaadf358e6e",
    ),
}


@pytest.mark.parametrize("fake", [False, True])
def test_the_cli_keeps_the_digests_of_gecko_outputs_made_before_the_new_options(
    fake: bool,
) -> None:
    from textservice.cli.services import EmbedOptions

    options = EmbedOptions.checked("models/embedding-gecko-001", "auto", None, None, False)
    settings = options.settings(fake=fake)
    assert settings == VectorSettings("models/embedding-gecko-001", "fake" if fake else None)
    chain = DigestChain(settings)
    got = (
        settings.seed().hex(),
        chain.add(Record(1, 1, "hello")),
        chain.add(Record(2, 2, "world")),
    )
    assert got == OLD_GECKO_DIGESTS["fake" if fake else None]


def test_npy_output_resumes_from_its_rows_and_finishes_atomically(tmp_path: Path) -> None:
    data = b"a\n\nc\nd\n"  # line 2 is bad (skipped)
    out = tmp_path / "o.npy"
    first = fresh(out, data)
    first.writer.write(first.todo[:1], rows(1))
    first.writer.close()  # interrupted
    assert not out.exists()
    part = tmp_path / "o.npy.part"
    # a .npy from the first batch on: the header (with the final shape), then the rows
    assert part.stat().st_size == HEADER_SIZE + 5 * 4
    assert np.array_equal(np.frombuffer(part.read_bytes()[HEADER_SIZE:], "<f4"), VECTOR)
    second = fresh(out, data)
    assert second.writer.point.count == 1 and second.writer.dimension == 5
    assert [r.line for r in second.todo] == [3, 4]
    second.writer.write(second.todo, np.array([VECTOR[::-1], VECTOR], np.float32))
    second.writer.finish()
    array = np.load(out)
    assert array.dtype == np.float32 and array.shape == (4, 5)
    assert array[0].tolist() == VECTOR and array[2].tolist() == VECTOR[::-1]
    assert np.isnan(array[1]).all()
    # no .part, no temporary file; the digest and the ids and keys next to the array
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "o.npy",
        "o.npy.digest",
        "o.npy.ids.jsonl",
    ]
    ids = read_jsonl(tmp_path / "o.npy.ids.jsonl")
    assert [(r["row"], r["id"]) for r in ids] == [(0, 1), (2, 3), (3, 4)]  # line 2 is bad
    assert all(is_key(r["key"]) for r in ids)
    again = fresh(out, data)
    assert again.writer.already_complete and again.writer.dimension == 5 and again.todo == []


def test_a_torn_npy_row_after_the_checkpoint_is_cut_off_and_redone(tmp_path: Path) -> None:
    out = tmp_path / "o.npy"
    first = fresh(out, b"a\nb\nc\n")
    first.writer.write(first.todo[:1], rows(1))
    first.writer.close()
    part = tmp_path / "o.npy.part"
    with part.open("ab") as f:
        f.write(b"\x00" * 7)  # a crash in the middle of the next batch's rows
    second = fresh(out, b"a\nb\nc\n")
    assert second.writer.point.count == 1
    second.writer.write(second.todo, rows(2, VECTOR[::-1]))
    second.writer.finish()
    assert np.load(out).tolist() == [VECTOR, VECTOR[::-1], VECTOR[::-1]]


def test_parquet_output_resumes_from_its_segments(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    data = "".join(f'{{"id": "k{i}", "text": "t{i}"}}\n' for i in range(5)).encode()
    out = tmp_path / "o.parquet"
    first = fresh(out, data, format="jsonl")
    first.writer.write(first.todo[:2], rows(2))
    first.writer.close()  # interrupted: what was buffered becomes a segment
    assert not out.exists()
    assert [p.name for p in (tmp_path / "o.parquet.part").iterdir()] == ["00000001.parquet"]
    second = fresh(out, data, format="jsonl")
    assert second.writer.point.count == 2 and [r.id for r in second.todo] == ["k2", "k3", "k4"]
    second.writer.write(second.todo, rows(3, VECTOR[::-1]))
    second.writer.finish()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.parquet"]
    table = pq.read_table(out)
    assert str(table.schema.field("embedding").type) == "fixed_size_list<element: float>[5]"
    assert table.column("id").to_pylist() == ["k0", "k1", "k2", "k3", "k4"]
    assert table.column("embedding").to_pylist() == [VECTOR] * 2 + [VECTOR[::-1]] * 3
    # as pandas and polars read it
    frame = pytest.importorskip("pandas").read_parquet(out)
    assert frame["id"].tolist() == ["k0", "k1", "k2", "k3", "k4"]
    assert [list(v) for v in frame["embedding"]] == [VECTOR] * 2 + [VECTOR[::-1]] * 3
    polars = pytest.importorskip("polars").read_parquet(out)
    assert str(polars.schema["embedding"]) == "Array(Float32, shape=(5,))"
    assert polars["embedding"].to_list() == [VECTOR] * 2 + [VECTOR[::-1]] * 3
    again = fresh(out, data, format="jsonl")
    assert again.writer.already_complete and again.todo == []


def test_parquet_ids_of_two_types_are_refused(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    with pytest.raises(InputError, match="mix integers and strings"):
        fresh(tmp_path / "o.parquet", b'{"text": "a"}\n{"id": "x", "text": "b"}\n', format="jsonl")


@pytest.mark.parametrize("kind", ["jsonl", "npy", "parquet"])
@pytest.mark.parametrize("changed", [0, 3, 6])
def test_a_part_of_another_input_is_refused_whichever_line_changed(
    tmp_path: Path, kind: Kind, changed: int
) -> None:
    if kind == "parquet":
        pytest.importorskip("pyarrow")
    lines = [f"text {i}" for i in range(8)]
    out = tmp_path / f"o.{kind}"
    first = fresh(out, "".join(t + "\n" for t in lines).encode())
    first.writer.write(first.todo[:7], rows(7))  # 7 of 8 done, then interrupted
    first.writer.close()
    part = tmp_path / f"o.{kind}.part"
    before = sorted(p.read_bytes() for p in ([*part.iterdir()] if part.is_dir() else [part]))

    lines[changed] = "another text"
    with pytest.raises(OutputConflictError) as info:
        fresh(out, "".join(t + "\n" for t in lines).encode())
    if kind == "jsonl":  # a digest per line: the first result that differs is named
        assert f"result {changed + 1} does not match the input's record {changed + 1}" in str(
            info.value
        )
    else:
        assert "does not match this input" in str(info.value)
    after = sorted(p.read_bytes() for p in ([*part.iterdir()] if part.is_dir() else [part]))
    assert after == before  # left alone


def test_a_part_of_another_model_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    first = fresh(out, b"a\nb\n")
    first.writer.write(first.todo[:1], [VECTOR])
    first.writer.close()
    with pytest.raises(OutputConflictError, match="result 1 does not match"):
        fresh(out, b"a\nb\n", settings=VectorSettings("models/other"))
    resumed = fresh(out, b"a\nb\n")
    assert resumed.writer.point.count == 1


def test_an_npy_whose_digest_does_not_match_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "o.npy"
    done = fresh(out, b"a\nb\nc\n")
    done.writer.write(done.todo, rows(3))
    done.writer.finish()
    with pytest.raises(OutputConflictError, match=r"o.npy was made from another input"):
        fresh(out, b"a\nB\nc\n")
    # the same texts on other rows (a blank line moved) are another output too
    with pytest.raises(OutputConflictError, match=r"o.npy was made from another input"):
        fresh(out, b'{"id": 1, "text": "a"}\n\n{"id": 2, "text": "b"}\n', format="jsonl")


def test_outputs_of_an_older_version_without_digests_are_refused(tmp_path: Path) -> None:
    old_line = json.dumps({"id": 1, "embedding": VECTOR}) + "\n"
    (tmp_path / "o.jsonl").write_text(old_line)
    with pytest.raises(OutputConflictError, match=r"no input digests .* older version"):
        fresh(tmp_path / "o.jsonl", b"a\nb\n")
    (tmp_path / "p.jsonl.part").write_text(old_line)
    with pytest.raises(OutputConflictError, match=r"no input digests .* older version"):
        fresh(tmp_path / "p.jsonl", b"a\nb\n")
    np.save(tmp_path / "o.npy", np.zeros((2, 5), np.float32))
    with pytest.raises(OutputConflictError, match=r"no o\.npy\.digest .* older version"):
        fresh(tmp_path / "o.npy", b"a\nb\n")
    assert fresh(tmp_path / "o.npy", b"a\nb\n", overwrite=True).writer.point.count == 0
    # an older version's .npy.part (base64 JSON lines) is no .npy: refused, not misread
    (tmp_path / "q.npy.part").write_text('{"id": 1, "digest": "d", "f32": "AAAA"}\n' * 20)
    with pytest.raises(OutputConflictError, match=r"q\.npy\.part: not a \.npy file"):
        fresh(tmp_path / "q.npy", b"a\nb\n")


def test_an_npy_of_another_shape_than_its_digest_says_is_corrupt(tmp_path: Path) -> None:
    out = tmp_path / "o.npy"
    done = fresh(out, b"a\nb\nc\n")
    done.writer.write(done.todo, rows(3))
    done.writer.finish()
    np.save(out, np.zeros((2, 3), np.float32))
    with pytest.raises(OutputConflictError, match=r"shape \(2, 3\).* corrupt"):
        fresh(out, b"a\nb\nc\n")
    digest_path(out).write_text("not json")
    with pytest.raises(OutputConflictError, match="not a textservice digest file"):
        fresh(out, b"a\nb\nc\n")


@pytest.mark.parametrize("kind", ["jsonl", "npy", "parquet"])
def test_a_new_embedding_size_midway_is_a_server_fault(tmp_path: Path, kind: Kind) -> None:
    if kind == "parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"o.{kind}"
    opened = fresh(out, b"a\nb\nc\n")
    writer = opened.writer
    writer.write(opened.todo[:1], rows(1))
    with pytest.raises(DimensionChangedError, match="of 2 values after ones of 5 in this run"):
        writer.write(opened.todo[1:2], np.array([[1.0, 2.0]], np.float32))
    writer.close()
    resumed = fresh(out, b"a\nb\nc\n")
    part = tmp_path / f"o.{kind}.part"
    with pytest.raises(DimensionChangedError, match=rf"o\.{kind}\.part.* holds ones of 5") as info:
        resumed.writer.write(resumed.todo[:1], np.array([[1.0, 2.0]], np.float32))
    assert info.value.earlier is not None and part in (
        info.value.earlier,
        info.value.earlier.parent,
    )
    resumed.writer.close()
    assert resumed.writer.resume_file == part  # kept


@pytest.mark.parametrize("kind", ["jsonl", "npy", "parquet"])
def test_closing_removes_a_part_that_holds_nothing(tmp_path: Path, kind: Kind) -> None:
    if kind == "parquet":
        pytest.importorskip("pyarrow")
    opened = fresh(tmp_path / f"o.{kind}", b"a\n")
    assert opened.writer.resume_file is None
    opened.writer.close()
    assert list(tmp_path.iterdir()) == []


def test_digests_stay_those_of_earlier_versions() -> None:
    # Outputs made before the streaming CLI hash json.dumps([id, text]): still resumable.
    import hashlib

    records = [
        Record(1, 1, "plain"),
        Record(2, 'x\u00e9"\\\n', "caf\u00e9 \U0001f600 \t"),
        Record(3, 10**30, "big id"),
        Record(4, -5, "</script>"),
    ]
    state = SETTINGS.seed()
    chain = DigestChain(SETTINGS)
    for record in records:
        item = json.dumps([record.id, record.text]).encode("ascii")
        state = hashlib.blake2b(state + item, digest_size=16).digest()
        assert chain.add(record) == state.hex()
