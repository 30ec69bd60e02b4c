"""``and_more``: the one line counting what a CLI listing leaves out."""

from __future__ import annotations

from textservice.cli.bad_records import BadRecordReport
from textservice.cli.inputs import BadLine, format_bad_lines
from textservice.cli.listing import SHOWN, and_more


def test_the_rest_is_counted_with_thousands_separators() -> None:
    assert and_more(1254, SHOWN, "bad line(s)") == "... and 1,234 more bad line(s)"
    assert and_more(25, 20) == "... and 5 more"


def test_nothing_left_out_says_nothing() -> None:
    assert and_more(SHOWN, SHOWN) == ""
    assert and_more(3, 3, "bad line(s)") == ""


def test_bad_lines_beyond_the_limit_are_counted_by_the_same_rule() -> None:
    bad = [BadLine(n, "empty line", n) for n in range(1, 1100)]
    assert format_bad_lines(bad, "in.txt", limit=SHOWN).splitlines()[-1] == and_more(
        len(bad), SHOWN, "bad line(s)"
    )


def test_bad_records_counted_by_kind_use_the_same_separators() -> None:
    report = BadRecordReport("in.txt", show=False, echo=lambda _: None)
    for n in range(1, 1300):
        report(BadLine(n, "empty line", n))
    assert report.rest().startswith("... and 1,279 more bad line(s): 1,279 empty line")
