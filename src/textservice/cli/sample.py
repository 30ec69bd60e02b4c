"""The demo's sample input and how it is made.

``python -m textservice.cli.sample PATH`` writes it (``make demo`` writes
``build/demo/sample.txt``); it is not shipped in the package. The sentences are built from word
lists with choices drawn from SHA-256 of the line and slot numbers, so every Python version and
platform makes the same bytes.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

__all__ = ["SAMPLE_LINES", "sample_lines", "write_sample"]

SAMPLE_LINES = 3000

_SUBJECTS = (
    "The river", "A small robot", "Our neighbour", "The old library", "A migrating bird",
    "The night train", "A careful gardener", "The city council", "A curious child",
    "The mountain village", "An open-source project", "The morning market", "A lighthouse keeper",
    "The weather station", "A retired engineer", "The school orchestra",
)  # fmt: skip
_VERBS = (
    "quietly explains", "slowly rebuilds", "carefully measures", "happily shares",
    "patiently teaches", "suddenly discovers", "gently repairs", "openly questions",
    "proudly presents", "barely remembers", "eagerly collects", "calmly describes",
)  # fmt: skip
_OBJECTS = (
    "the history of tides", "a recipe for rye bread", "seven kinds of moss",
    "the rules of chess", "an unfinished map", "the sound of rain on tin roofs",
    "a box of old letters", "the price of copper", "a theory about comets",
    "the timetable for winter", "a song without words", "the colour of autumn leaves",
    "a broken pocket watch", "the migration of eels", "a list of forgotten words",
)  # fmt: skip
_ENDINGS = (
    "before sunrise.", "to anyone who listens.", "in three short chapters.",
    "with surprising patience.", "during the long holiday.", "for the local newspaper.",
    "while the kettle boils.", "after a week of storms.", "in a crowded waiting room.",
    "without any notes.", "under a striped umbrella.", "for the second time this year.",
)  # fmt: skip


def _pick(options: tuple[str, ...], line: int, slot: int) -> str:
    digest = hashlib.sha256(f"textservice sample {line} {slot}".encode()).digest()
    return options[int.from_bytes(digest[:8], "big") % len(options)]


def sample_lines(count: int = SAMPLE_LINES) -> list[str]:
    """``count`` deterministic English sentences, each numbered so all are distinct."""
    return [
        f"{_pick(_SUBJECTS, i, 0)} {_pick(_VERBS, i, 1)} {_pick(_OBJECTS, i, 2)} "
        f"{_pick(_ENDINGS, i, 3)} (note {i + 1})"
        for i in range(count)
    ]


def write_sample(path: Path, count: int = SAMPLE_LINES) -> None:
    """Write the sample to ``path``, one sentence per line (its folder is made if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in sample_lines(count)), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m textservice.cli.sample PATH")
    write_sample(Path(sys.argv[1]))
