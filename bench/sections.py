"""The report's marked sections: each script of ``make bench`` writes its own between an
HTML-comment pair (``<!-- name: begin -->`` ... ``<!-- name: end -->``) and leaves the rest.

One home for putting a section in (:func:`splice`) and for keeping the sections a full
``bench/run.py`` report would drop (:func:`carry_over`): ``run.py`` writes its part from
scratch, and a section another script wrote (or a run that stopped half-way never
rewrote) must survive it.
"""

from __future__ import annotations

import re
from pathlib import Path

MEASURED_HEADING = "## How it was measured"
"""The heading the sections of the report's top part (memory, quota) stand before."""

TARGETS_HEADING = "## Targets (from this one run; ratios, not timed tests)"
"""The heading of the targets table, whose rows several scripts write."""

_MARKED = re.compile(r"<!-- (?P<name>[\w. -]+?): ?begin -->.*?<!-- (?P=name): ?end -->", re.S)


def splice_text(text: str, block: str, begin: str, end: str, *, before: str | None = None) -> str:
    """``text`` with ``block`` (from ``begin`` to ``end``, both included) in place of an
    earlier block between those markers; else before the heading ``before`` (which must be
    there), or else at the end."""
    block = block.strip("\n")
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        return head + block + rest.split(end, 1)[1]
    return _insert(text, block, before)


def _insert(text: str, block: str, before: str | None) -> str:
    if before is not None:
        if before not in text:
            raise SystemExit(f"the report has no '{before}' heading to put a section before")
        return text.replace(before, block + "\n\n" + before, 1)
    text = text.rstrip("\n")
    return (text + "\n\n" if text else "") + block + "\n"


def splice(path: Path, block: str, begin: str, end: str, *, before: str | None = None) -> None:
    """:func:`splice_text` on the file at ``path`` (a missing file is empty)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(splice_text(text, block, begin, end, before=before), encoding="utf-8")


def put_target_rows(text: str, prefix: str, rows: list[str]) -> str:
    """``text`` with its targets-table rows that start with ``prefix`` replaced by ``rows``:
    where the first of them stood, else at the end of the table."""
    lines = text.split("\n")
    found = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    if found:
        at = found[0]
    else:
        at = lines.index(TARGETS_HEADING) + 1
        while at < len(lines) and not lines[at].startswith("|"):
            at += 1
        while at < len(lines) and lines[at].startswith("|"):
            at += 1
    kept = [line for line in lines[:at] if not line.startswith(prefix)]
    after = [line for line in lines[at:] if not line.startswith(prefix)]
    return "\n".join([*kept, *rows, *after])


def carry_over(old: str, new: str) -> str:
    """``new`` plus each marked section of ``old`` that ``new`` lacks, on the same side of
    :data:`MEASURED_HEADING` as it stood in ``old`` (at the end, in ``old``'s order, for
    those after it)."""
    measured_at = old.find(MEASURED_HEADING)
    for found in _MARKED.finditer(old):
        begin = found.group(0).split("\n", 1)[0]
        if begin in new:
            continue
        top = 0 <= found.start() < measured_at and MEASURED_HEADING in new
        new = _insert(new, found.group(0), MEASURED_HEADING if top else None)
    return new
