"""``textservice embed --batch-mode``'s status lines for a log (``--progress`` off a terminal):
a new state, the upload and the download show at once; updates of the same kind at most every
two seconds, and the last one at the end."""

from __future__ import annotations

import pytest

from textservice.cli.batch_mode import _Status


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_long_download_writes_a_few_lines_not_one_per_chunk(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = Clock()
    status = _Status("lines", 0.0, clock=clock)
    for tenth in range(1, 601):  # 60 MB in 0.1 MB steps over 6 seconds
        clock.now = tenth / 100
        status.show(f"downloading its results, {tenth / 10:,.1f} MB", "download")
    status.end()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "downloading its results, 0.1 MB"
    assert lines[-1] == "downloading its results, 60.0 MB"  # the last, shown by end()
    # the first, one two seconds after it, one two after that, and the end's: 4, not 600
    assert len(lines) == 4
    assert len(set(lines)) == len(lines)


def test_a_new_kind_of_line_shows_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    status = _Status("lines", 0.0, clock=clock)
    status.show("batches/1: pending", "pending")
    clock.now = 0.5
    status.show("batches/1: running, 10 of 20 done", "running")
    clock.now = 0.6
    status.show("batches/1: running, 15 of 20 done", "running")  # held back
    clock.now = 0.7
    status.show("batches/1: succeeded, 20 of 20 done", "succeeded")
    status.end()
    assert capsys.readouterr().err.splitlines() == [
        "batches/1: pending",
        "batches/1: running, 10 of 20 done",
        "batches/1: succeeded, 20 of 20 done",
    ]


def test_off_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    status = _Status("off", 0.0)
    status.show("anything", "x")
    status.end()
    assert capsys.readouterr().err == ""
