"""The checkpoint of ``textservice embed --batch-mode`` (``OUTPUT.batch/state.json``): what it
saves reads back, and one that is not its own is refused with what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textservice.cli.batch_mode import STATE, JobState
from textservice.cli.errors import OutputConflictError


def test_a_saved_state_reads_back(tmp_path: Path) -> None:
    state = JobState(digest="d", display_name="textservice-embed-d", job="batches/1")
    state.results.append("results-1.jsonl")
    state.collected.append("batches/0")
    state.save(tmp_path)
    assert JobState.load(tmp_path) == state
    assert JobState.load(tmp_path / "nothing-here") == JobState()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"version": 99}, "not a version this textservice writes"),
        ({"version": 1, "surprise": 1}, "surprise"),
        (
            {"version": 1, "results": ["results-1.jsonl"], "collected": []},
            "do not pair up",
        ),
    ],
)
def test_a_state_not_its_own_is_refused(tmp_path: Path, data: dict[str, object], why: str) -> None:
    (tmp_path / STATE).write_text(json.dumps(data))
    with pytest.raises(OutputConflictError) as info:
        JobState.load(tmp_path)
    assert why in str(info.value) and "textservice batch list" in str(info.value)
