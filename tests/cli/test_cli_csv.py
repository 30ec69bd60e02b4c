"""``textservice embed`` with CSV and TSV input: the header names the columns and is never
embedded; ``--text-column``, ``--id-column``, ``--title-column``, ``--file-column``."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from support.cli_helpers import MODEL, read_jsonl, run_cli

from textservice.cli.columns import Columns
from textservice.cli.csv_source import CsvSource
from textservice.cli.errors import InputError
from textservice.cli.inputs import BadLine, Record
from textservice.cli.open_input import open_source
from textservice.testing import expected_embedding


def _source(data: bytes, columns: Columns | None = None, dialect: str = "csv") -> CsvSource:
    return CsvSource(
        lambda: io.BytesIO(data),
        name="in.csv",
        dialect=dialect,  # type: ignore[arg-type]
        columns=columns,
    )


def _read(source: CsvSource) -> tuple[list[Record], list[BadLine]]:
    bad: list[BadLine] = []
    check = source.check(bad.append)
    return list(source.records(check)), bad


def test_rows_after_the_header_are_records_numbered_from_1() -> None:
    data = b'\xef\xbb\xbfid,text\r\na,first\r\nb,"two\nlines, and a comma"\r\nc,"say ""hi"""\r\n'
    records, bad = _read(_source(data, Columns(id="id")))
    assert bad == []
    assert records == [
        Record(1, "a", "first"),
        Record(2, "b", "two\nlines, and a comma"),
        Record(3, "c", 'say "hi"'),
    ]


def test_without_an_id_column_the_id_is_the_row_number() -> None:
    records, _ = _read(_source(b"text,lang\nx,en\ny,fr\n"))
    assert [(r.line, r.id, r.text) for r in records] == [(1, 1, "x"), (2, 2, "y")]


def test_tsv_titles_and_an_empty_title_cell_is_no_title() -> None:
    data = b"body\theading\none\tFirst\ntwo\t\n"
    records, bad = _read(_source(data, Columns(text="body", title="heading"), "tsv"))
    assert bad == []
    assert records == [Record(1, 1, "one", "First"), Record(2, 2, "two")]


def test_bad_rows_are_reported_with_the_line_they_start_on() -> None:
    data = (
        b"id,text,title\n"
        b'a,"spans\ntwo lines",T\n'  # row 1, lines 2-3
        b"b,,T\n"  # row 2, line 4: empty text
        b"\n"  # row 3, line 5: an empty line
        b"c,x\n"  # row 4, line 6: too few fields
        b",y,T\n"  # row 5, line 7: empty id
        b"d,z,  \n"  # row 6, line 8: blank title
        b"e,caf\xe9,T\n"  # row 7, line 9: not UTF-8
        b"a,again,T\n"  # row 8, line 10: duplicate id
    )
    records, bad = _read(_source(data, Columns(id="id", title="title")))
    assert [r.id for r in records] == ["a"]
    assert [(b.line, b.where, b.reason) for b in bad] == [
        (2, 4, 'empty "text"'),
        (3, 5, "empty line"),
        (4, 6, "2 fields, the header has 3"),
        (5, 7, 'empty "id"'),
        (6, 8, 'empty "title"'),
        (7, 9, 'invalid UTF-8 in "text"'),
        (8, 10, 'duplicate id "a" (first on line 2)'),
    ]
    assert [b.id for b in bad] == ["b", None, None, None, "d", None, "a"]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (Columns(text="body"), "in.csv has no column 'body' (--text-column; its header: id, text)"),
        (Columns(id="doc"), "no column 'doc' (--id-column"),
        (Columns(keep=("lang",)), "no column 'lang' (--keep-columns"),
    ],
)
def test_a_column_missing_from_the_header_is_an_input_error(columns: Columns, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        _source(b"id,text\n1,a\n", columns)


def test_an_empty_file_has_no_header() -> None:
    with pytest.raises(InputError, match="no header row"):
        _source(b"")


def test_a_column_named_twice_in_the_header_is_refused() -> None:
    with pytest.raises(InputError, match="names column 'text' twice"):
        _source(b"text,text\na,b\n")


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'text\nfine\n"open quote\n' + b"x" * 100 + b"\nmore\n", 5),  # swallows the rest
        (b'text,n\nfine,1\n"closed" early,2\n', 3),
    ],
)
def test_malformed_quoting_is_an_input_error_naming_its_line(data: bytes, line: int) -> None:
    with pytest.raises(InputError, match=rf"^in.csv:{line}: not valid CSV"):
        _read(_source(data))


def test_suffixes_pick_csv_and_tsv_and_format_forces_it(tmp_path: Path) -> None:
    (tmp_path / "a.CSV").write_text("text\nx\n")
    (tmp_path / "a.tsv").write_text("text\tn\nx\t1\n")
    (tmp_path / "a.txt").write_text("text\nx\n")
    assert open_source(str(tmp_path / "a.CSV")).format == "csv"
    assert open_source(str(tmp_path / "a.tsv")).format == "tsv"
    assert open_source(str(tmp_path / "a.txt")).format == "lines"
    assert open_source(str(tmp_path / "a.txt"), format="csv").format == "csv"


@pytest.mark.subprocess
def test_csv_to_jsonl_the_header_is_never_embedded(tmp_path: Path) -> None:
    source = tmp_path / "docs.csv"
    source.write_text('doc_id,body,lang\nd1,hello world,en\nd2,"bonjour, le monde",fr\n')
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    done = run_cli([*args, "--text-column", "body", "--id-column", "doc_id"])
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["d1", "d2"]
    assert [r["embedding"] for r in rows] == [
        expected_embedding(MODEL, "hello world"),
        expected_embedding(MODEL, "bonjour, le monde"),
    ]


@pytest.mark.subprocess
def test_format_csv_reads_standard_input_and_npy_rows_are_data_rows(tmp_path: Path) -> None:
    out = tmp_path / "out.npy"
    data = b"text\nfirst\n\nthird\n"  # row 2 is an empty line: a NaN row with --skip-bad
    done = run_cli(
        ["embed", "--fake", "-m", MODEL, "--format", "csv", "-o", str(out), "--skip-bad"],
        stdin=data,
    )
    assert done.returncode == 0, done.stderr
    assert "<stdin>:3: empty line" in done.stderr  # the line of the file: the header is line 1
    array = np.load(out)
    assert array.shape == (3, 768)
    assert np.array_equal(array[0], np.array(expected_embedding(MODEL, "first"), np.float32))
    assert np.isnan(array[1]).all()
    assert np.array_equal(array[2], np.array(expected_embedding(MODEL, "third"), np.float32))


@pytest.mark.subprocess
def test_csv_file_column_embeds_media_relative_to_the_csv(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"c" * 100)
    source = tmp_path / "list.csv"
    source.write_text("name,path\ncat,img/cat.png\ndog,img/dog.png\n")
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-i", str(source), "-o", str(out), "--id-column", "name"]
    done = run_cli([*args, "--file-column", "path"])
    assert done.returncode == 3, done.stderr
    assert f"{source}:3: \"path\" 'img/dog.png': cannot read" in done.stderr
    done = run_cli([*args, "--file-column", "path", "--skip-bad"])
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["cat"]
