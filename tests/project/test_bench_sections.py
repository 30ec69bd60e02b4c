"""bench/'s marked report sections: each script replaces its own and keeps the others', and
a full ``run.py`` report keeps the sections it does not write."""

from __future__ import annotations

import sys
from pathlib import Path

from support.paths import REPO

sys.path.insert(0, str(REPO / "bench"))

import content  # bench/'s modules import each other by their bare names
import instructions
import quota
import report
import rest
import scale
import sections

MARKERS = {
    "memory": (report.MEMORY_BEGIN, report.MEMORY_END),
    "quota": (quota.BEGIN, quota.END),
    "content": (content.BEGIN, content.END),
    "instructions": (instructions.BEGIN, instructions.END),
    "rest": (rest.BEGIN, rest.END),
    "scale": (scale.BEGIN, scale.END),
    "images": (scale.IMAGES_BEGIN, scale.IMAGES_END),
}


def block(name: str, body: str) -> str:
    begin, end = MARKERS[name]
    return f"{begin}\n## {name}\n\n{body}\n{end}"


def test_every_script_has_markers_of_its_own_that_carry_over_recognises() -> None:
    found = {sections._MARKED.fullmatch(block(name, "rows")) is not None for name in MARKERS}
    assert found == {True}
    begins = [begin for begin, _ in MARKERS.values()]
    assert len(set(begins)) == len(begins)


def test_a_section_written_for_the_first_time_leaves_the_others_in_place(tmp_path: Path) -> None:
    # instructions.py used to fall back on content.py's splice, which removed content's rows
    path = tmp_path / "RESULTS.md"
    path.write_text(f"# report\n\n{block('content', 'old rows')}\n\n{block('rest', 'r')}\n")
    begin, end = MARKERS["instructions"]
    sections.splice(path, block("instructions", "new rows"), begin, end)
    text = path.read_text()
    assert block("content", "old rows") in text and block("rest", "r") in text
    assert text.rstrip().endswith(block("instructions", "new rows"))


def test_a_section_written_again_replaces_only_itself_where_it_stands(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text(f"{block('content', 'c1')}\n\n{block('rest', 'r1')}\n\ntail\n")
    begin, end = MARKERS["content"]
    sections.splice(path, block("content", "c2"), begin, end)
    assert path.read_text() == f"{block('content', 'c2')}\n\n{block('rest', 'r1')}\n\ntail\n"


def test_a_top_section_goes_before_the_measured_part_or_stops_the_script() -> None:
    begin, end = MARKERS["quota"]
    text = f"# report\n\n{sections.MEASURED_HEADING}\n\nrows\n"
    spliced = sections.splice_text(
        text, block("quota", "q"), begin, end, before=sections.MEASURED_HEADING
    )
    assert spliced == f"# report\n\n{block('quota', 'q')}\n\n{sections.MEASURED_HEADING}\n\nrows\n"
    try:
        sections.splice_text("# no heading\n", block("quota", "q"), begin, end, before="## X")
    except SystemExit as exc:
        assert "## X" in str(exc)
    else:
        raise AssertionError("a missing heading went unnoticed")


def test_a_new_run_report_keeps_every_section_it_does_not_write_on_its_side() -> None:
    measured = sections.MEASURED_HEADING
    old = (
        f"# old\n\n{block('memory', 'm0')}\n\n{block('quota', 'q0')}\n\n{measured}\n\nold rows\n\n"
        f"{block('scale', 's0')}\n\n{block('images', 'i0')}\n\n{block('content', 'c0')}\n"
    )
    new = f"# new\n\n{block('memory', 'm1')}\n\n{measured}\n\nnew rows\n"
    kept = sections.carry_over(old, new)
    assert kept == (
        f"# new\n\n{block('memory', 'm1')}\n\n{block('quota', 'q0')}\n\n{measured}\n\n"
        f"new rows\n\n{block('scale', 's0')}\n\n{block('images', 'i0')}\n\n"
        f"{block('content', 'c0')}\n"
    )
    assert sections.carry_over(kept, kept) == kept


def test_a_scripts_target_rows_replace_its_old_ones_or_end_the_table() -> None:
    table = f"{sections.TARGETS_HEADING}\n\n| target | measured | verdict |\n|---|---:|---|\n"
    text = f"# r\n\n{table}| a | 1 | met |\n| quota x | 1 | met |\n| quota y | 2 | met |\n\nrest\n"
    rows = ["| quota x | 3 | met |", "| quota z | 4 | met |"]
    replaced = sections.put_target_rows(text, "| quota", rows)
    assert replaced == f"# r\n\n{table}| a | 1 | met |\n{rows[0]}\n{rows[1]}\n\nrest\n"
    added = sections.put_target_rows(f"# r\n\n{table}| a | 1 | met |\n\nrest\n", "| quota", rows)
    assert added == replaced
