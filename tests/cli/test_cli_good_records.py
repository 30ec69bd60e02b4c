"""``good_records``: a source's second pass, without the bad lines of its first."""

from __future__ import annotations

from array import array

import pytest

from textservice.cli.errors import InputError
from textservice.cli.inputs import BadLine, Record
from textservice.cli.sources import InputCheck, good_records


def _check(bad: list[int], lines: int) -> InputCheck:
    return InputCheck(lines, lines - len(bad), array("q", bad), frozenset({int}))


def test_the_bad_lines_of_the_first_pass_are_left_out() -> None:
    items: list[Record | BadLine] = [
        Record(1, 1, "a"),
        BadLine(2, "empty line"),
        Record(3, 3, "duplicate id, found bad by the first pass"),
        Record(4, 4, "d"),
    ]
    kept = list(good_records(items, _check([2, 3], 4), changed="in.txt"))
    assert [r.line for r in kept] == [1, 4]


def test_a_line_bad_now_but_not_then_means_the_input_changed() -> None:
    items: list[Record | BadLine] = [Record(1, 1, "a"), BadLine(2, "empty line")]
    with pytest.raises(InputError, match=r"in.csv changed while it was read \(row 2\)"):
        list(good_records(items, _check([], 2), changed="in.csv", unit="row"))
    # a source that cannot change between passes skips it
    assert [r.line for r in good_records(items, _check([], 2))] == [1]
