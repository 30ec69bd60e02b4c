"""What ``textservice embed`` says about bad input records.

On stderr, the first :data:`SHOWN` as ``FILE:LINE: reason``, then one line counting the rest by
kind (``... and 501 more bad line(s): 480 empty line, 21 invalid JSON``); a rerun that resumes
an output (or finds it complete) shows only the count, as the first run listed them, and
``--quiet`` none of it (a run stopped by bad records still lists them: they are its error).
``--bad-records FILE`` gets every one, whatever is shown: JSONL (``{"line", "id", "reason"}``
per record) or TSV with a ``line``, ``id`` and ``reason`` header, by its suffix.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal

from textservice.cli.inputs import BadLine, format_bad_lines
from textservice.cli.listing import SHOWN, and_more

__all__ = ["BadRecordFile", "BadRecordReport", "bad_record_kind"]

_KINDS_SHOWN = 3

_SUFFIXES: dict[str, Literal["jsonl", "tsv"]] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".tsv": "tsv",
}


def bad_record_kind(path: str) -> Literal["jsonl", "tsv"]:
    """The format of a ``--bad-records`` file by its suffix; ``ValueError`` for another."""
    kind = _SUFFIXES.get(Path(path).suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: the name must end in {', '.join(_SUFFIXES)} (JSONL or TSV)")
    return kind


class BadRecordFile:
    """``--bad-records FILE``: every bad record, as it is found (made, or emptied, when
    opened: a run without bad records leaves it without any)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._kind = bad_record_kind(path)
        self._file: IO[str] = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._tsv = csv.writer(self._file, csv.excel_tab, lineterminator="\n")
        if self._kind == "tsv":
            self._tsv.writerow(["line", "id", "reason"])

    def add(self, bad: BadLine) -> None:
        """Write one bad record: the line it starts on, its id (if known) and why."""
        if self._kind == "jsonl":
            row = {"line": bad.where, "id": bad.id, "reason": bad.reason}
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            self._tsv.writerow([bad.where, "" if bad.id is None else bad.id, bad.reason])

    def close(self) -> None:
        """Flush and close it."""
        self._file.close()


class BadRecordReport:
    """The first pass's ``report``: lists, counts and files the bad records (see the module
    docstring)."""

    def __init__(
        self,
        source: str,
        *,
        show: bool,
        file: BadRecordFile | None = None,
        echo: Callable[[str], None],
    ) -> None:
        self._source = source
        self._show = show
        self._file = file
        self._echo = echo
        self.listed: list[BadLine] = []
        self.kinds: Counter[str] = Counter()
        self.count = 0

    def __call__(self, bad: BadLine) -> None:
        """Take one bad record in (they come in line order)."""
        self.count += 1
        if self._file is not None:
            self._file.add(bad)
        if len(self.listed) < SHOWN:
            self.listed.append(bad)
            if self._show:
                self._echo(format_bad_lines([bad], self._source))
        else:
            self.kinds[bad.summary_kind] += 1

    def close(self) -> None:
        """Close the ``--bad-records`` file, if any."""
        if self._file is not None:
            self._file.close()

    def listing(self) -> str:
        """The records listed, and the rest counted (for a run they stop)."""
        text = format_bad_lines(self.listed, self._source, limit=SHOWN)
        rest = self.rest()
        return f"{text}\n{rest}" if rest else text

    def rest(self) -> str:
        """``... and N more bad line(s): ...`` for those beyond the first :data:`SHOWN` (``""``:
        none)."""
        more = and_more(self.count, len(self.listed), "bad line(s)")
        return f"{more}: {_by_kind(self.kinds)}{self._where()}" if more else ""

    def summary(self) -> str:
        """All of them counted by kind (for a rerun, which does not list them again)."""
        every = Counter(b.summary_kind for b in self.listed) + self.kinds
        return f"{_by_kind(every)}{self._where()}"

    def _where(self) -> str:
        if self._file is not None:
            return f" (all of them in {self._file.path})"
        return " (--bad-records FILE lists them all)"


def _by_kind(kinds: Counter[str]) -> str:
    common = kinds.most_common()
    shown = ", ".join(f"{n:,} {kind}" for kind, n in common[:_KINDS_SHOWN])
    others = common[_KINDS_SHOWN:]
    if others:
        shown += f", {sum(n for _, n in others):,} of {len(others)} other kind(s)"
    return shown
