# ruff: noqa: RUF001 - the report writes multiplication signs and dashes
"""bench/'s report logic without running a benchmark: the plan a command line makes, the
statistics of runs, and ``--memory-only`` splicing its section into an existing report."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support.paths import REPO

BENCH = REPO / "bench"
sys.path.insert(0, str(BENCH))

import paths  # noqa: E402 - bench/'s modules import each other by their bare names
import plan  # noqa: E402
import report  # noqa: E402
import sections  # noqa: E402
import targets  # noqa: E402
from stats import Cell, Run, fmt_ratio, fmt_s, wall  # noqa: E402


def test_a_quick_or_custom_run_is_partial_and_never_writes_results_md() -> None:
    full, out, vectors = plan.parse_plan([], "")
    assert not full.partial and out == paths.BENCH / "RESULTS.md" and vectors == "auto"
    assert full.ns == [1, 100, 1000, 10_000] and full.memory_ns == [10_000, 100_000]
    for argv in (["--quick"], ["--ns", "10"], ["--only", "ours-sync"], ["--memory-ns", "5,6"]):
        partial, out, _ = plan.parse_plan(argv, "")
        assert partial.partial, argv
        assert out == paths.WORK / "RESULTS-quick.md", argv
    quick, _, _ = plan.parse_plan(["--quick"], "")
    assert max(quick.ns) <= 1000 and quick.rounds == 2


def test_memory_only_updates_results_md_unless_given_other_sizes() -> None:
    only, out, _ = plan.parse_plan(["--memory-only"], "")
    assert only.memory_only and out == paths.BENCH / "RESULTS.md"
    assert only.memory_ns == list(plan.MEMORY_NS)
    _, out, _ = plan.parse_plan(["--memory-only", "--memory-ns", "10,20"], "")
    assert out == paths.WORK / "RESULTS-quick.md"


def test_only_picks_contenders_and_the_memory_row_by_key() -> None:
    picked, _, _ = plan.parse_plan(["--only", "raw-8,ours-iter"], "")
    assert [c.key for c in picked.contenders] == ["raw-8"]
    assert picked.memory
    without, _, _ = plan.parse_plan(["--only", "raw-8"], "")
    assert not without.memory


def test_a_cell_counts_only_good_runs_and_says_why_the_others_failed() -> None:
    cell = Cell([Run(ok=True, wall_s=3.0), Run(ok=False, error="boom"), Run(ok=True, wall_s=1.0)])
    assert cell.median(wall) == 2.0 and cell.span(wall) == (1.0, 3.0)
    assert cell.failure() == "FAILED: boom"
    gone = Cell([Run(ok=False, unavailable=True, error="no module")])
    assert gone.median(wall) is None and gone.failure() == "not available: no module"
    assert (fmt_s(0.0042), fmt_s(1.5), fmt_s(None)) == ("4.20 ms", "1.500 s", "–")
    assert (fmt_ratio(0.05), fmt_ratio(2.0)) == ("0.050×", "2.00×")


def test_footnotes_number_each_reason_once() -> None:
    notes = report.Footnotes()
    assert notes.ref("FAILED: timed out") == "FAILED [1]"
    assert notes.ref("not available: no module") == "not available [2]"
    assert notes.ref("FAILED: timed out") == "FAILED [1]"
    assert notes.render() == ["", "[1] timed out  ", "[2] no module  "]


def _memory_cells(peaks: tuple[int, int]) -> dict[int, Cell]:
    return {
        n: Cell([Run(ok=True, maxrss_kb=peak, rss_before_kb=1000, wall_s=1.0)])
        for n, peak in zip((10, 20), peaks, strict=True)
    }


def test_splicing_the_memory_row_replaces_only_its_section_and_target(tmp_path: Path) -> None:
    ns = [10, 20]
    old_target = targets.memory_target(_memory_cells((2000, 2100)), ns)
    assert old_target.met is True
    head = ["# Benchmark results\n", sections.TARGETS_HEADING + "\n", *report.TARGETS_TABLE]
    rows = ["| another target | 1.00× | met |", old_target.row]
    tail = ["## How it was measured\n", "- the rest, untouched"]
    old = report.memory_section(_memory_cells((2000, 2100)), ns, "Measured in this run.")
    path = tmp_path / "RESULTS.md"
    path.write_text("\n".join([*head, *rows, "", *old, "", *tail]), encoding="utf-8")

    new_cells = _memory_cells((2000, 4000))
    new_target = targets.memory_target(new_cells, ns)
    assert new_target.met is False  # growth 3000 KiB vs 1000 KiB
    new = report.memory_section(new_cells, ns, "Measured on its own.")
    report.write_memory_row(path, new, new_target)

    expected = "\n".join([*head, rows[0], new_target.row, "", *new, "", *tail])
    assert path.read_text(encoding="utf-8") == expected


def test_splicing_into_a_report_without_a_memory_row_adds_one(tmp_path: Path) -> None:
    ns = [10, 20]
    cells = _memory_cells((2000, 2100))
    target = targets.memory_target(cells, ns)
    section = report.memory_section(cells, ns, "Measured on its own.")
    table = [sections.TARGETS_HEADING + "\n", *report.TARGETS_TABLE, "| a | b | met |"]
    tail = ["## How it was measured\n", "x"]
    path = tmp_path / "RESULTS.md"
    path.write_text("\n".join([*table, "", *tail]), encoding="utf-8")
    report.write_memory_row(path, section, target)
    expected = "\n".join([*table, target.row, "", *section, "", *tail])
    assert path.read_text(encoding="utf-8") == expected

    nowhere = tmp_path / "other.md"
    nowhere.write_text("# a report without its measuring section\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="How it was measured"):
        report.write_memory_row(nowhere, section, target)

    fresh = tmp_path / "new" / "memory.md"
    report.write_memory_row(fresh, section, target)
    assert fresh.read_text(encoding="utf-8").split("\n")[-2] == target.row
