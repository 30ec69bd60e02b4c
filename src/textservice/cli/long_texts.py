"""Texts over the model's token limit, found before a run sends anything (``--on-long``).

The API cuts an embedding input over the limit silently (see the fake's ``long_inputs``), so
the vector would stand for the text's start only, unsaid. Before the lock is taken or a call
made, the input is read once more and every text judged as :mod:`.tokens` says (a text of at
most ``LIMIT`` UTF-8 bytes fits; a longer one is counted). Then, by ``--on-long``:

- ``error`` (default): each is listed like a bad line (``FILE:LINE: N tokens, over ...``) and
  the run stops with exit 3, nothing sent;
- ``skip``: each is listed and left out like a bad line skipped with ``--skip-bad`` (a
  ``.npy`` row of NaN);
- ``truncate``: each is listed and cut to fit (:func:`textservice.cli.tokens.cut_to_fit`)
  wherever the run reads it, its digest and content key those of the cut text.
"""

from __future__ import annotations

import dataclasses
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import click

from textservice._profiles import profile_for
from textservice.cli.exit_codes import ExitCode, fail
from textservice.cli.inputs import Record
from textservice.cli.listing import SHOWN, and_more
from textservice.cli.sources import InputCheck, Report, Source
from textservice.cli.tokens import Counter, cut_to_fit, fits, sent_text

__all__ = ["LongTexts", "OnLong", "TruncatedSource", "find_long", "guard", "skip_long"]

OnLong = Literal["error", "truncate", "skip"]

_CHUNK = 200  # suspects counted at a time


@dataclass
class LongTexts:
    """The texts over the limit: their lines (ascending), tokens, and for ``truncate`` the
    characters of each text kept."""

    limit: int
    lines: array[int] = dataclasses.field(default_factory=lambda: array("q"))
    tokens: array[int] = dataclasses.field(default_factory=lambda: array("q"))
    kept: array[int] = dataclasses.field(default_factory=lambda: array("q"))

    def __len__(self) -> int:
        return len(self.lines)

    def reason(self, index: int, model: str) -> str:
        """Why text ``index`` is listed."""
        return f"{self.tokens[index]:,} tokens, over {model}'s limit of {self.limit:,}" + (
            f" (cut to {self.kept[index]:,} characters)" if self.kept else ""
        )


def find_long(
    source: Source,
    check: InputCheck,
    counter: Counter,
    *,
    task_type: str | None,
    truncate: bool,
) -> LongTexts | None:
    """The texts of ``source`` over ``counter.model``'s limit (``None``: it has none); with
    ``truncate``, where to cut each."""
    limit = profile_for(counter.model).input_tokens
    if limit is None:
        return None
    found = LongTexts(limit)
    suspects: list[tuple[Record, str]] = []

    def settle() -> None:
        counts = counter.count([text for _, text in suspects])
        for (record, _), tokens in zip(suspects, counts, strict=True):
            if tokens <= limit:
                continue
            found.lines.append(record.line)
            found.tokens.append(tokens)
            if truncate:

                def measure(cut: str, record: Record = record) -> int:
                    shortened = dataclasses.replace(record, text=cut)
                    return counter.count([sent_text(shortened, counter.model, task_type) or ""])[0]

                kept = cut_to_fit(record.text, limit, counter, measure)
                found.kept.append(len(kept))
        suspects.clear()

    for record in source.records(check):
        text = sent_text(record, counter.model, task_type)
        if text is None or fits(text, limit):
            continue
        suspects.append((record, text))
        if len(suspects) >= _CHUNK:
            settle()
    if suspects:
        settle()
    return found


def skip_long(check: InputCheck, found: LongTexts) -> InputCheck:
    """``check`` with the long texts' lines as bad lines (skipped like ``--skip-bad``)."""
    lines = array("q", sorted({*check.bad_lines, *found.lines}))
    return dataclasses.replace(check, record_count=check.record_count - len(found), bad_lines=lines)


class TruncatedSource:
    """``source`` with the long texts cut where ``found`` says, wherever it is read."""

    def __init__(self, source: Source, found: LongTexts) -> None:
        self._source = source
        self._found = found

    @property
    def name(self) -> str:
        """The source's."""
        return self._source.name

    @property
    def format(self) -> Literal["lines", "jsonl", "csv", "tsv", "parquet", "folder"]:
        """The source's."""
        return self._source.format

    def check(self, report: Report) -> InputCheck:
        """The source's first pass."""
        return self._source.check(report)

    def records(self, check: InputCheck) -> Iterator[Record]:
        """The source's records, each long text cut."""
        lines, kept = self._found.lines, self._found.kept
        for record in self._source.records(check):
            at = bisect_left(lines, record.line)
            if at < len(lines) and lines[at] == record.line:
                record = dataclasses.replace(record, text=record.text[: kept[at]])
            yield record


def guard(
    source: Source,
    check: InputCheck,
    counter: Counter,
    *,
    task_type: str | None,
    on_long: OnLong,
    quiet: bool = False,
) -> tuple[Source, InputCheck]:
    """Find the long texts and apply ``on_long`` (see the module docstring): the source and
    first pass to run with; exit 3 for ``error`` when there are any. The first 20 are listed,
    then a count; ``quiet`` lists none for ``skip`` and ``truncate`` (an error still does)."""
    found = find_long(source, check, counter, task_type=task_type, truncate=on_long == "truncate")
    if not found:
        return source, check
    model = counter.model
    how = "counted by " + counter.method()
    listed = "\n".join(
        f"{source.name}:{line}: {found.reason(i, model)}"
        for i, line in enumerate(found.lines[:SHOWN])
    )
    if more := and_more(len(found), SHOWN):
        listed += f"\n{more}"
    if on_long == "error":
        click.echo(listed, err=True)
        fail(
            f"{len(found)} text{'' if len(found) == 1 else 's'} over {model}'s limit of "
            f"{found.limit:,} tokens ({how}); nothing was sent (pass --on-long truncate to cut "
            "them to fit, or --on-long skip to leave them out)",
            ExitCode.BAD_INPUT,
        )
    if not quiet:
        click.echo(listed, err=True)
        done = "cutting" if on_long == "truncate" else "skipping"
        click.echo(
            f"textservice: {done} {len(found)} text{'' if len(found) == 1 else 's'} over the "
            f"limit of {found.limit:,} tokens ({how})",
            err=True,
        )
    if on_long == "skip":
        return source, skip_long(check, found)
    return TruncatedSource(source, found), check
