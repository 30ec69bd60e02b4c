"""What ``textservice embed`` says about bad records: the first 20, the rest counted by kind,
``--bad-records FILE`` (JSONL or TSV) with every one, and ``--quiet``."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from support.cli_helpers import MODEL, run_cli

from textservice.cli.bad_records import BadRecordReport
from textservice.cli.inputs import BadLine
from textservice.cli.listing import SHOWN

pytestmark = pytest.mark.subprocess

# Lines 1-60: every third empty, every seventh other one not JSON, the rest good.
_MANY = "".join(
    "\n" if i % 3 == 0 else "{bad\n" if i % 7 == 0 else json.dumps({"id": f"t{i}", "text": "x"})
    for i in range(60)
).replace('"x"}', '"x"}\n')


def _many(path: Path) -> Path:
    path.write_text(_MANY)
    return path


def test_bad_records_tsv_lists_every_one_with_line_id_and_reason(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text('id,text\na,"two\nlines"\nb,\n\nc,x,extra\n')
    report = tmp_path / "bad.tsv"
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    done = run_cli([*args, "--id-column", "id", "--bad-records", str(report), "--skip-bad"])
    assert done.returncode == 0, done.stderr
    with report.open(newline="") as f:
        rows = list(csv.reader(f, csv.excel_tab))
    assert rows == [
        ["line", "id", "reason"],
        ["4", "b", 'empty "text"'],  # row 2 starts on line 4: row 1 spans two
        ["5", "", "empty line"],
        ["6", "", "3 fields, the header has 2"],
    ]


def test_bad_records_jsonl_holds_all_beyond_the_20_shown(tmp_path: Path) -> None:
    source = _many(tmp_path / "in.jsonl")
    report = tmp_path / "bad.jsonl"
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    done = run_cli([*args, "--bad-records", str(report)])
    assert done.returncode == 3, done.stderr  # written though nothing is sent
    found = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(found) == 26
    assert found[0] == {"line": 1, "id": None, "reason": "empty line"}
    assert Counter(f["reason"].split(":")[0] for f in found) == {
        "empty line": 20,
        "invalid JSON": 6,
    }
    assert f"(all of them in {report})" in done.stderr
    listed = [line for line in done.stderr.splitlines() if line.startswith(f"{source}:")]
    assert len(listed) == SHOWN
    assert "... and 6 more bad line(s): 4 empty line, 2 invalid JSON" in done.stderr


def test_a_bad_records_file_of_another_suffix_is_a_usage_error(tmp_path: Path) -> None:
    source = _many(tmp_path / "in.jsonl")
    done = run_cli(["embed", "--fake", "-i", str(source), "--bad-records", str(tmp_path / "b.txt")])
    assert done.returncode == 2, done.stderr
    assert "--bad-records" in done.stderr and ".jsonl, .ndjson, .tsv" in done.stderr
    assert not (tmp_path / "b.txt").exists()


def test_quiet_prints_nothing_on_success_with_skipped_records(tmp_path: Path) -> None:
    source = _many(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out), "--skip-bad"]
    done = run_cli([*args, "--quiet", "--bad-records", str(tmp_path / "b.jsonl")])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert len(out.read_text().splitlines()) == 34
    assert len((tmp_path / "b.jsonl").read_text().splitlines()) == 26


def test_quiet_still_says_why_a_run_stops(tmp_path: Path) -> None:
    source = _many(tmp_path / "in.jsonl")
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-q"])
    assert done.returncode == 3
    assert "26 bad input line(s) of 60; nothing was sent" in done.stderr
    assert f"{source}:1: empty line" in done.stderr


def test_quiet_and_progress_are_a_usage_error(tmp_path: Path) -> None:
    source = _many(tmp_path / "in.jsonl")
    done = run_cli(["embed", "--fake", "-i", str(source), "--quiet", "--progress"])
    assert done.returncode == 2
    assert "--quiet and --progress" in done.stderr


def test_the_summary_names_three_kinds_and_counts_the_others() -> None:
    shown: list[str] = []
    report = BadRecordReport("in", show=True, echo=shown.append)
    reasons = ["empty line"] * 30 + ['missing "text"'] * 5 + ["invalid JSON: x"] * 3
    reasons += ['"title" must be a string, not int', 'duplicate id "q" (first on line 1)']
    for number, reason in enumerate(reasons, start=1):
        kind = "duplicate id" if reason.startswith("duplicate") else None
        report(BadLine(number, reason, kind=kind))
    assert len(shown) == SHOWN
    assert report.rest() == (
        f'... and {len(reasons) - SHOWN} more bad line(s): 10 empty line, 5 missing "text", '
        "3 invalid JSON, 2 of 2 other kind(s) (--bad-records FILE lists them all)"
    )
    assert report.summary().startswith('30 empty line, 5 missing "text", 3 invalid JSON, 2 of')


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("invalid UTF-8 at byte 12", "invalid UTF-8 at byte N"),
        ("invalid JSON: Expecting value: line 1 column 1 (char 0)", "invalid JSON"),
        ("not a JSON object (a list)", "not a JSON object"),
        ("""'a/b.txt': unsupported file type""", "'…'"),
        ("4 fields, the header has 3", "N fields, the header has N"),
    ],
)
def test_a_reason_without_its_details(reason: str, kind: str) -> None:
    assert BadLine(1, reason).summary_kind == kind
