"""Progress on stderr: a bar on a terminal, nothing when piped unless asked, a summary."""

from __future__ import annotations

import io
import os
import pty
import subprocess
from pathlib import Path

import pytest
from support.cli_helpers import CLI, MODEL, cli_env, run_cli, texts, write_lines

from textservice.cli.embed import EmbedSummary, format_summary
from textservice.cli.progress import Progress, format_duration


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_status_shows_done_total_rate_and_eta() -> None:
    clock = Clock()
    out = io.StringIO()
    bar = Progress(1000, stream=out, mode="lines", initial=100, interval=1.0, clock=clock)
    clock.now += 2.0
    bar.update(300)  # 200 new in 2 s: 100/s, 700 left: 7 s
    assert out.getvalue() == "300/1000  30% 100 texts/s ETA 0:07\n"
    clock.now += 0.5
    bar.update(350)  # within the interval: not printed
    assert out.getvalue().count("\n") == 1
    clock.now += 0.5
    bar.close()
    assert out.getvalue().splitlines()[-1] == "350/1000  35% 83 texts/s ETA 0:08"


def test_lines_mode_does_not_print_the_last_state_twice() -> None:
    clock = Clock()
    out = io.StringIO()
    bar = Progress(10, stream=out, mode="lines", interval=2.0, clock=clock)
    clock.now += 0.5
    bar.update(10)  # the first update is shown: 10/10
    clock.now += 0.5
    bar.close()  # nothing new since
    assert out.getvalue() == "10/10 100% 20 texts/s ETA 0:00\n"


def test_bar_mode_redraws_one_line_and_ends_it() -> None:
    clock = Clock()
    out = io.StringIO()
    bar = Progress(10, stream=out, mode="bar", clock=clock)
    clock.now += 1
    bar.update(5)
    clock.now += 1
    bar.update(10)
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "10/10 100% 5 texts/s ETA 0:00" in text


def test_off_prints_nothing_and_durations_format() -> None:
    out = io.StringIO()
    bar = Progress(10, stream=out, mode="off")
    bar.update(10)
    bar.close()
    assert out.getvalue() == ""
    assert [format_duration(s) for s in (0, 59.6, 61, 3725)] == ["0:00", "1:00", "1:01", "1:02:05"]


def _run_on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; its exit status and what it showed."""
    leader, follower = pty.openpty()
    try:
        # a process of its own: its stderr is a pseudo-terminal
        process = subprocess.Popen(
            [*CLI, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=follower,
            env=cli_env(),
        )
    finally:
        os.close(follower)
    shown = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    return process.wait(timeout=60), shown.decode("utf-8", "replace")


@pytest.mark.slow
@pytest.mark.subprocess
def test_progress_bar_on_a_terminal_and_silence_when_piped(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.txt", texts(300))
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "--batch-size", "50"]

    status, shown = _run_on_a_terminal([*args, "-o", str(tmp_path / "tty.npy")])
    assert status == 0, shown
    assert "\r[" in shown and "/300" in shown and "texts/s ETA" in shown
    assert "300/300 100%" in shown
    assert "embedded 300 texts, dimension 768, in " in shown

    piped = run_cli([*args, "-o", str(tmp_path / "piped.npy")])
    assert piped.returncode == 0
    assert piped.stderr == "" and piped.stdout == ""

    asked = run_cli([*args, "-o", str(tmp_path / "asked.npy"), "--progress"])
    assert asked.returncode == 0
    assert "\r" not in asked.stderr  # plain lines for a log, no bar
    assert asked.stderr.count("300/300 100%") == 1
    small = write_lines(tmp_path / "small.txt", texts(3))  # one batch: first update is the last
    once = run_cli([*args[:5], str(small), "-o", str(tmp_path / "small.npy"), "--progress"])
    assert once.returncode == 0
    assert once.stderr.count("3/3 100%") == 1, once.stderr
    assert "embedded 300 texts, dimension 768" in asked.stderr

    status, shown = _run_on_a_terminal([*args, "-o", str(tmp_path / "quiet.npy"), "--no-progress"])
    assert status == 0 and shown == ""


def test_the_summary_names_a_dimension_only_when_one_is_known() -> None:
    known = EmbedSummary(embedded=3, dimension=768, seconds=1.0, destination="o.npy")
    assert (
        format_summary(known) == "embedded 3 texts, dimension 768, in 1.00 s (3 texts/s) -> o.npy"
    )
    empty = EmbedSummary(seconds=0.01, destination="o.jsonl")
    assert format_summary(empty) == "embedded 0 texts in 0.01 s (0 texts/s) -> o.jsonl"


@pytest.mark.subprocess
def test_an_empty_input_shows_no_unknown_dimension(tmp_path: Path) -> None:
    source = tmp_path / "empty.txt"
    source.write_text("")
    out = tmp_path / "out.jsonl"
    done = run_cli(
        ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out), "--progress"]
    )
    assert done.returncode == 0, done.stderr
    assert "?" not in done.stderr
    assert "embedded 0 texts in " in done.stderr and out.read_bytes() == b""


@pytest.mark.subprocess
def test_finishing_a_complete_part_shows_its_dimension(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.txt", texts(4))
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out), "--progress"]
    assert run_cli(args).returncode == 0
    out.rename(tmp_path / "out.jsonl.part")  # stopped after its last batch, before the rename
    done = run_cli(args)
    assert done.returncode == 0, done.stderr
    assert "embedded 0 texts, dimension 768, in " in done.stderr
    assert "4 already done" in done.stderr
