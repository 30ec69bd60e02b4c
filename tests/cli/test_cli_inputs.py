"""Input reading for ``textservice embed``: every bad line is reported with its number."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from support.cli_helpers import MODEL, run_cli

from textservice.cli.inputs import BadLine, Record, binary_reason, format_bad_lines
from textservice.cli.sources import TextSource, parse_input


def test_text_lines_become_records_numbered_by_line() -> None:
    inp = parse_input(b"alpha\r\nbeta  \n  gamma\n", format="lines")
    assert inp.format == "lines"
    assert inp.line_count == 3
    assert inp.records == [Record(1, 1, "alpha"), Record(2, 2, "beta  "), Record(3, 3, "  gamma")]
    assert inp.bad == []


def test_a_missing_final_newline_and_a_bom_change_nothing() -> None:
    assert parse_input(b"\xef\xbb\xbfa\nb", format="lines").records == [
        Record(1, 1, "a"),
        Record(2, 2, "b"),
    ]


def test_jsonl_ids_default_to_line_numbers_and_other_keys_are_ignored() -> None:
    data = b'{"id": "x", "text": "one", "lang": "en"}\n{"text": "two"}\n{"id": 7, "text": "3"}\n'
    inp = parse_input(data, format="jsonl")
    assert inp.records == [Record(1, "x", "one"), Record(2, 2, "two"), Record(3, 7, "3")]


def test_jsonl_titles_are_kept_and_null_is_no_title() -> None:
    data = b'{"text": "one", "title": "T"}\n{"text": "two", "title": null}\n{"text": "3"}\n'
    inp = parse_input(data, format="jsonl")
    assert inp.records == [Record(1, 1, "one", "T"), Record(2, 2, "two"), Record(3, 3, "3")]
    assert inp.bad == []


def test_the_first_pass_counts_titles_of_good_records_only() -> None:
    data = (
        b'{"id": 1, "text": "a", "title": "T"}\n'
        b'{"id": 1, "text": "dupe", "title": "T"}\n'  # a duplicate id: bad, not counted
        b'{"text": "", "title": "T"}\n'
        b'{"id": 4, "text": "b"}\n'
        b'{"id": 5, "text": "c", "title": "U"}\n'
    )
    source = TextSource(lambda: io.BytesIO(data), name="in", format="jsonl")
    check = source.check(lambda bad: None)
    assert (check.record_count, check.titles) == (3, 2)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "empty line"),
        (b"   \t", "empty line"),
        (b"not json", "invalid JSON"),
        (b'{"text": "unterminated}', "invalid JSON"),
        (b'["a list"]', "not a JSON object"),
        (b'{"id": 1}', 'missing "text"'),
        (b'{"text": 5}', '"text" must be a string'),
        (b'{"text": "  "}', 'empty "text"'),
        (b'{"text": "ok", "id": 1.5}', '"id" must be a string or an integer'),
        (b'{"text": "ok", "id": true}', '"id" must be a string or an integer'),
        (b'{"text": "caf\xe9"}', "invalid UTF-8 at byte 14"),
        # valid JSON, but a lone surrogate is no Unicode text: it cannot be sent as UTF-8
        (b'{"text": "\\ud800"}', '"text" has a lone surrogate (\\ud800) at character 1'),
        (b'{"text": "ok \\udfff!"}', '"text" has a lone surrogate (\\udfff) at character 4'),
        (b'{"text": "ok", "id": "x\\ud83d"}', '"id" has a lone surrogate (\\ud83d) at character 2'),
        (b'{"text": "ok", "title": 3}', '"title" must be a string, not int'),
        (b'{"text": "ok", "title": {"a": 1}}', '"title" must be a string, not dict'),
        (b'{"text": "ok", "title": " "}', 'empty "title"'),
        (b'{"text": "ok", "title": "\\udc00"}', '"title" has a lone surrogate (\\udc00)'),
    ],
)
def test_each_bad_jsonl_line_is_reported_with_its_number(line: bytes, reason: str) -> None:
    data = b'{"text": "first"}\n' + line + b'\n{"text": "last"}\n'
    inp = parse_input(data, format="jsonl")
    assert [r.text for r in inp.records] == ["first", "last"]
    assert len(inp.bad) == 1
    assert inp.bad[0].line == 2
    assert inp.bad[0].reason.startswith(reason)


@pytest.mark.parametrize(
    ("line", "reason"),
    [(b"", "empty line"), (b"  ", "empty line"), (b"ab\xff\xfecd", "invalid UTF-8 at byte 3")],
)
def test_each_bad_text_line_is_reported_with_its_number(line: bytes, reason: str) -> None:
    inp = parse_input(b"first\n" + line + b"\nlast\n", format="lines")
    assert [r.line for r in inp.records] == [1, 3]
    assert inp.bad == [BadLine(2, reason)]


def test_a_surrogate_pair_escape_is_one_valid_character() -> None:
    inp = parse_input(b'{"text": "\\ud83d\\ude00"}\n', format="jsonl")
    assert inp.bad == []
    assert [r.text for r in inp.records] == ["\U0001f600"]


def test_duplicate_ids_are_bad_but_1_and_quoted_1_are_different() -> None:
    data = b'{"id": 1, "text": "a"}\n{"id": "1", "text": "b"}\n{"id": 1, "text": "c"}\n'
    inp = parse_input(data, format="jsonl")
    assert [r.id for r in inp.records] == [1, "1"]
    assert inp.bad == [BadLine(3, "duplicate id 1 (first on line 1)")]


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b'{"text": "a"}\n', "", "jsonl"),
        (b'\n\n{"text": "a"}\n', "in.txt", "jsonl"),
        (b"{not json}\n", "", "lines"),
        (b"[1, 2]\n", "", "lines"),
        (b"plain\n", "in.jsonl", "jsonl"),
        (b"plain\n", "IN.NDJSON", "jsonl"),
        (b"plain\n", "in.txt", "lines"),
        (b"", "", "lines"),
    ],
)
def test_auto_format_detection(data: bytes, name: str, expected: str) -> None:
    assert parse_input(data, format="auto", name=name).format == expected


def test_report_lists_at_most_the_limit_then_counts_the_rest() -> None:
    bad = [BadLine(n, "empty line") for n in range(1, 26)]
    report = format_bad_lines(bad, "in.txt", limit=20).splitlines()
    assert report[0] == "in.txt:1: empty line"
    assert report[19] == "in.txt:20: empty line"
    assert report[20] == "... and 5 more bad line(s)"


# -- through the command ------------------------------------------------------------------


BAD_INPUT = b'{"id": "a", "text": "fine"}\n\nnot json\n{"id": "b"}\n{"id": "c", "text": "\xff"}\n'


@pytest.mark.subprocess
def test_bad_lines_stop_the_run_before_anything_is_sent(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(BAD_INPUT)
    out = tmp_path / "out.jsonl"
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)])
    assert done.returncode == 3, done.stderr
    lines = done.stderr.splitlines()
    assert f"{source}:2: empty line" in lines
    assert any(line.startswith(f"{source}:3: invalid JSON") for line in lines)
    assert f'{source}:4: missing "text"' in lines
    assert f"{source}:5: invalid UTF-8 at byte 22" in lines
    assert "4 bad input line(s) of 5; nothing was sent" in done.stderr
    assert not out.exists()
    assert not (tmp_path / "out.jsonl.part").exists()


@pytest.mark.subprocess
def test_skip_bad_embeds_the_rest_and_still_reports_every_bad_line(tmp_path: Path) -> None:
    folder = tmp_path
    source = folder / "in.jsonl"
    source.write_bytes(BAD_INPUT + b'{"id": "d", "text": "also fine"}\n')
    out = folder / "out.jsonl"
    done = run_cli(
        ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out), "--skip-bad"]
    )
    assert done.returncode == 0, done.stderr
    assert f"{source}:2: empty line" in done.stderr.splitlines()
    assert "skipping 4 bad input line(s) of 6" in done.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "d"]


@pytest.mark.subprocess
def test_20_bad_lines_are_listed_the_rest_counted_and_a_rerun_only_counts(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("good\n" + "\n" * 25 + "also good\n")
    out = tmp_path / "o.jsonl"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    stopped = run_cli(args)
    assert stopped.returncode == 3
    listed = [line for line in stopped.stderr.splitlines() if line.endswith(": empty line")]
    assert len(listed) == 20
    assert "... and 5 more bad line(s): 5 empty line" in stopped.stderr
    skipped = run_cli([*args, "--skip-bad"])
    assert skipped.returncode == 0, skipped.stderr
    listed = [line for line in skipped.stderr.splitlines() if line.endswith(": empty line")]
    assert listed == [f"{source}:{n}: empty line" for n in range(2, 22)]  # the first 20
    assert "... and 5 more bad line(s): 5 empty line (--bad-records FILE lists them all)" in (
        skipped.stderr
    )
    # The run that made the output listed them: a rerun says how many, in one line.
    again = run_cli([*args, "--skip-bad"])
    assert again.returncode == 0, again.stderr
    assert again.stderr == (
        "textservice: skipping 25 bad input line(s) of 27, as before: 25 empty line "
        "(--bad-records FILE lists them all)\n"
    )


@pytest.mark.subprocess
def test_a_lone_surrogate_is_a_bad_line_and_skip_bad_skips_it(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"text": "fine"}\n{"text": "\\ud800"}\n{"text": "also fine"}\n')
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    stopped = run_cli(args)
    assert stopped.returncode == 3, stopped.stderr
    assert f'{source}:2: "text" has a lone surrogate' in stopped.stderr
    assert not out.exists()
    skipped = run_cli([*args, "--skip-bad"])
    assert skipped.returncode == 0, skipped.stderr
    assert f'{source}:2: "text" has a lone surrogate' in skipped.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [1, 3]


# -- binary files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a NUL byte at byte 9"),
        (b"\xff\xfeh\x00i\x00\n\x00", "a NUL byte at byte 4 (UTF-16 text?)"),
        ("café crème brûlée à la fenêtre où été déjà".encode("latin-1"), "not UTF-8"),
    ],
)
def test_binary_reason_finds_nul_bytes_and_much_that_is_not_utf8(head: bytes, why: str) -> None:
    reason = binary_reason(head, whole=True)
    assert reason is not None and why in reason


def test_text_with_a_few_bad_bytes_or_a_character_cut_at_the_block_end_is_text() -> None:
    assert binary_reason(b"first\nab\xff\xfecd\nlast\n", whole=True) is None  # bad lines
    cut = ("x" * 10 + "é").encode()[:-1]
    assert binary_reason(cut, whole=False) is None


@pytest.mark.parametrize("name", ["in.txt", "in.jsonl", "in.csv"])
@pytest.mark.subprocess
def test_a_binary_file_is_refused_whole_even_with_skip_bad(tmp_path: Path, name: str) -> None:
    source = tmp_path / name
    source.write_bytes(b"text\nfine line\n" + bytes(range(256)) * 40 + b"\nanother line\n")
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out), "--skip-bad"]
    done = run_cli(args)
    assert done.returncode == 2, done.stderr
    assert f"{source} is a binary file, not UTF-8 text (a NUL byte at byte 16)" in done.stderr
    assert "nothing was sent" in done.stderr
    assert not out.exists() and not (tmp_path / "out.jsonl.part").exists()


@pytest.mark.subprocess
def test_binary_standard_input_is_refused(tmp_path: Path) -> None:
    data = b"ELF header\x00\x01\x02\n" * 9
    done = run_cli(["embed", "--fake", "-m", MODEL, "--skip-bad"], stdin=data)
    assert done.returncode == 2, done.stderr
    assert "<stdin> is a binary file, not UTF-8 text (a NUL byte at byte 11)" in done.stderr
    assert done.stdout == ""
