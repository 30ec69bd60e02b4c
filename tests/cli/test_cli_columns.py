"""``textservice embed``'s column options: JSONL keys, options that do not apply to the
input's format, and ``--keep-columns`` into JSONL and Parquet outputs (resume included)."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest
from support.cli_helpers import MODEL, read_jsonl, run_cli

from textservice.cli.columns import Columns, parse_keep_columns
from textservice.cli.digests import DigestChain, VectorSettings
from textservice.cli.inputs import BadLine, Keys, Record
from textservice.cli.sources import TextSource
from textservice.testing import expected_embedding

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _jsonl(data: bytes, keys: Keys) -> tuple[list[Record], list[BadLine]]:
    source = TextSource(lambda: io.BytesIO(data), name="in.jsonl", format="jsonl", keys=keys)
    bad: list[BadLine] = []
    check = source.check(bad.append)
    return list(source.records(check)), bad


# -- JSONL keys ------------------------------------------------------------------------------


def test_jsonl_keys_follow_the_column_options() -> None:
    data = (
        b'{"doc": "a", "body": "one", "head": "H", "text": "ignored"}\n{"doc": 7, "body": "two"}\n'
    )
    records, bad = _jsonl(data, Keys(text="body", id="doc", title="head", id_required=True))
    assert bad == []
    assert records == [Record(1, "a", "one", "H"), Record(2, 7, "two")]


def test_a_named_id_key_must_be_on_every_line_the_default_id_need_not() -> None:
    data = b'{"doc": "a", "text": "one"}\n{"text": "two"}\n'
    records, bad = _jsonl(data, Keys(id="doc", id_required=True))
    assert [r.id for r in records] == ["a"]
    assert bad == [BadLine(2, 'missing "doc"')]
    records, bad = _jsonl(b'{"id": "a", "text": "one"}\n{"text": "two"}\n', Keys())
    assert [r.id for r in records] == ["a", 2]


def test_jsonl_bad_lines_name_the_keys_given_and_carry_the_id() -> None:
    data = b'{"doc": "a", "body": ""}\n{"doc": "b", "text": "no body"}\n'
    _, bad = _jsonl(data, Keys(text="body", id="doc"))
    assert [(b.reason, b.id) for b in bad] == [('empty "body"', "a"), ('missing "body"', "b")]


@pytest.mark.subprocess
def test_text_and_id_columns_read_jsonl_keys(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"doc": "x", "body": "bee"}\n{"doc": "y", "body": "sea"}\n')
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    done = run_cli([*args, "--text-column", "body", "--id-column", "doc"])
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["x", "y"]
    assert rows[1]["embedding"] == expected_embedding(MODEL, "sea")


# -- options that do not apply ---------------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [
        ["--id-column", "doc"],
        ["--text-column", "body"],
        ["--title-column", "t"],
        ["--file-column", "f"],
        ["--keep-columns", "lang"],
    ],
)
@pytest.mark.subprocess
def test_a_column_option_on_text_lines_is_a_usage_error(tmp_path: Path, option: list[str]) -> None:
    source = tmp_path / "in.txt"
    source.write_text("one\ntwo\n")
    out = tmp_path / "out.jsonl"
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out), *option])
    assert done.returncode == 2, done.stderr
    assert f"{option[0]}: {source} is read as text lines" in done.stderr
    assert "--format jsonl, csv or tsv reads it otherwise" in done.stderr
    assert not out.exists()


@pytest.mark.subprocess
def test_a_column_option_on_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    done = run_cli(["embed", "--fake", "-i", str(tmp_path / "img"), "--id-column", "x"])
    assert done.returncode == 2, done.stderr
    assert "--id-column: " in done.stderr and "is read as a folder" in done.stderr


def test_every_option_given_is_named() -> None:
    columns = Columns(id="a", keep=("b", "c"))
    assert columns.misplaced("jsonl", "x") is None
    message = columns.misplaced("lines", "in.txt")
    assert message is not None and message.startswith("--id-column and --keep-columns: in.txt")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a,,b", "an empty column name"),
        ("a,b,a", "a named twice"),
        ("lang,embedding", "embedding: the output has its own embedding"),
    ],
)
def test_keep_columns_are_checked(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_keep_columns(value)
    assert parse_keep_columns(" a, b") == ("a", "b")


# -- --keep-columns --------------------------------------------------------------------------


def _kept_jsonl(path: Path) -> Path:
    lines = [
        {"id": "a", "text": "one", "lang": "en", "n": 1, "tags": ["x"]},
        {"id": "b", "text": "two", "lang": "fr", "n": 2.5},
        {"id": "c", "text": "three", "lang": None, "n": 3, "tags": {"k": 1}},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.subprocess
def test_kept_jsonl_keys_go_into_jsonl_output_after_the_id(tmp_path: Path) -> None:
    source = _kept_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    done = run_cli([*args, "--keep-columns", "lang,tags"])
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(out)
    assert [list(r) for r in rows] == [["id", "lang", "tags", "digest", "key", "embedding"]] * 3
    assert [(r["lang"], r["tags"]) for r in rows] == [("en", ["x"]), ("fr", None), (None, {"k": 1})]
    assert rows[0]["embedding"] == expected_embedding(MODEL, "one")
    # standard output too
    piped = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "--keep-columns", "n"])
    assert [json.loads(line)["n"] for line in piped.stdout.splitlines()] == [1, 2.5, 3]


@pytest.mark.subprocess
def test_kept_jsonl_keys_go_into_parquet_with_one_type_each(tmp_path: Path) -> None:
    source = _kept_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.parquet"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    done = run_cli([*args, "--keep-columns", "lang,n,tags"])
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out)
    assert table.schema.names == ["id", "lang", "n", "tags", "key", "embedding"]
    assert table.schema.field("lang").type == pa.string()
    assert table.schema.field("n").type == pa.float64()  # integers and a float
    assert table.column("n").to_pylist() == [1.0, 2.5, 3.0]
    assert table.column("tags").to_pylist() == ['["x"]', None, '{"k": 1}']  # JSON text


@pytest.mark.subprocess
def test_kept_parquet_columns_keep_their_types(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    when = [datetime.datetime(2026, 1, 2, 3, 4, 5), None]
    pq.write_table(
        pa.table(
            {
                "text": ["one", "two"],
                "when": pa.array(when, pa.timestamp("s")),
                "score": pa.array([1, 2], pa.int16()),
            }
        ),
        source,
    )
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "--keep-columns", "when,score"]
    done = run_cli([*args, "-o", str(tmp_path / "out.parquet")])
    assert done.returncode == 0, done.stderr
    table = pq.read_table(tmp_path / "out.parquet")
    read = pq.read_schema(source)  # (Parquet stores seconds as milliseconds)
    assert table.schema.field("when").type == read.field("when").type
    assert table.schema.field("score").type == pa.int16()
    assert table.column("when").to_pylist() == when
    done = run_cli([*args, "-o", str(tmp_path / "out.jsonl")])
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [(r["when"], r["score"]) for r in rows] == [("2026-01-02T03:04:05", 1), (None, 2)]


@pytest.mark.subprocess
def test_kept_csv_columns_are_strings(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("text,lang,n\none,en,1\ntwo,,2\n")
    out = tmp_path / "out.parquet"
    done = run_cli(
        ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out), "--keep-columns", "n"]
    )
    assert done.returncode == 0, done.stderr
    assert pq.read_table(out).column("n").to_pylist() == ["1", "2"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("in.jsonl", '{"text": "a"}\n', "--keep-columns lang: no good line of"),
        ("in.csv", "text\na\n", "has no column 'lang' (--keep-columns"),
    ],
)
@pytest.mark.subprocess
def test_a_kept_column_the_input_lacks_is_a_usage_error_before_any_call(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    source = tmp_path / name
    source.write_text(content)
    out = tmp_path / "out.jsonl"
    done = run_cli(
        [
            "embed",
            "--fake",
            "-m",
            MODEL,
            "-i",
            str(source),
            "-o",
            str(out),
            "--keep-columns",
            "lang",
        ]
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert not out.exists() and not (tmp_path / "out.jsonl.part").exists()


@pytest.mark.subprocess
def test_keep_columns_into_npy_is_a_usage_error(tmp_path: Path) -> None:
    source = _kept_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.npy"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    done = run_cli([*args, "--keep-columns", "lang"])
    assert done.returncode == 2, done.stderr
    assert "--keep-columns: a .npy output holds the vectors only" in done.stderr
    assert not out.exists()


def test_the_digest_covers_the_kept_names_and_values() -> None:
    plain = VectorSettings(MODEL)
    kept = VectorSettings(MODEL, keep_columns=("lang",))
    record = Record(1, 1, "one")
    with_value = Record(1, 1, "one", kept=("en",))
    other_value = Record(1, 1, "one", kept=("fr",))
    digests = {
        DigestChain(plain).add(record),
        DigestChain(kept).add(with_value),
        DigestChain(kept).add(other_value),
    }
    assert len(digests) == 3
    assert DigestChain(plain).add(record) == DigestChain(VectorSettings(MODEL)).add(record)


@pytest.mark.subprocess
def test_other_kept_columns_reuse_the_vectors_and_the_same_go_on(tmp_path: Path) -> None:
    # Refused (exit 4) before content keys: now the output is written again, with the
    # columns and values this run keeps, its vectors reused (nothing embedded).
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "one", "lang": "en"}\n{"text": "two", "lang": "fr"}\n')
    out = tmp_path / "out.parquet"
    base = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    assert run_cli([*base, "--keep-columns", "lang"]).returncode == 0
    other = run_cli(base)  # the output holds a column this run does not write
    assert other.returncode == 0, other.stderr
    assert "reusing 2 of them, embedding 0 texts" in other.stderr
    assert pq.read_table(out).schema.names == ["id", "key", "embedding"]
    assert run_cli([*base, "--keep-columns", "lang"]).returncode == 0
    source.write_text('{"text": "one", "lang": "de"}\n{"text": "two", "lang": "fr"}\n')
    changed = run_cli([*base, "--keep-columns", "lang"])  # a kept value changed
    assert changed.returncode == 0, changed.stderr
    assert "reusing 2 of them, embedding 0 texts" in changed.stderr
    assert pq.read_table(out).column("lang").to_pylist() == ["de", "fr"]
    source.write_text(
        '{"text": "one", "lang": "de"}\n{"text": "two", "lang": "fr"}\n'
        '{"text": "three", "lang": "it"}\n'
    )
    grown = run_cli([*base, "--keep-columns", "lang"])  # the input grew: go on
    assert grown.returncode == 0, grown.stderr
    assert "reusing" not in grown.stderr  # continued, not written again
    table = pq.read_table(out)
    assert table.column("lang").to_pylist() == ["de", "fr", "it"]
    assert table.column("id").to_pylist() == [1, 2, 3]
