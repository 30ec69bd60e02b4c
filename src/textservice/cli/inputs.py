"""Reading ``textservice embed`` input: text lines or JSONL, validated line by line.

Every line of the input becomes either a :class:`Record` or a :class:`BadLine` naming its
line number and what is wrong; nothing is dropped silently. Rules:

- Lines end with ``\\n``; a ``\\r`` before it is removed; a final newline does not start a new
  line. A UTF-8 byte-order mark at the start of line 1 is ignored.
- Each line must be valid UTF-8 (``invalid UTF-8 at byte N``).
- ``lines`` format: the line is the text, kept as it is; its id is its line number (an int).
  An empty or whitespace-only line is bad (``empty line``).
- ``jsonl`` format: the line must be a JSON object (``invalid JSON: …``, ``not a JSON object``)
  with a non-empty string ``"text"`` (``missing "text"``, ``"text" must be a string``, ``empty
  "text"``), or instead a ``"file"``: a media file's path relative to the JSONL's folder
  (checked by ``textservice.cli.files.check_file``), and an optional ``"id"``, a string or an
  integer, defaulting to the line number, and an optional ``"title"``, a non-empty string
  (``"title" must be a string``, ``empty "title"``; ``null`` is the same as no title), sent with
  the text to GenerativeService (see ``textservice embed --task-type``). Other keys are ignored.
  An empty line is bad (``empty line``). JSON can escape a lone surrogate (``"\\ud800"``), which
  is no Unicode text and cannot be sent as UTF-8: such a ``"text"``, ``"id"`` or ``"title"`` is
  bad (``"text" has a lone surrogate …``).
- Ids must be unique (``duplicate id … (first on line N)``): output and resume rely on them.
- ``auto`` format: ``jsonl`` when the file name ends in ``.jsonl``/``.ndjson`` or the first
  non-blank line is a JSON object; otherwise ``lines``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from textservice.cli.files import check_file

Format = Literal["auto", "lines", "jsonl", "parquet"]
RecordId = str | int

__all__ = [
    "BadLine",
    "Format",
    "Input",
    "Record",
    "RecordId",
    "classify",
    "detect_format",
    "format_bad_lines",
    "iter_lines",
]

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Record:
    """One item to embed: its 1-based input ``line``, its ``id``, its ``text`` and its
    ``title`` (JSONL's ``"title"``, a Parquet ``--title-column``; ``None``: none); or, for a
    media file, its ``file`` (checked, read when sent) and an empty ``text``."""

    line: int
    id: RecordId
    text: str
    title: str | None = None
    file: Path | None = None


@dataclass(frozen=True)
class BadLine:
    """An input line that cannot be embedded, and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class Input:
    """The whole input: good records and bad lines, each in line order."""

    format: Literal["lines", "jsonl"]
    line_count: int
    records: list[Record] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)


def iter_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of a binary stream without their ``\\n`` (or ``\\r\\n``), read as they come.

    A final newline ends the last line, it does not start a new one; a UTF-8 byte-order mark
    at the start of line 1 is dropped.
    """
    first = True
    for line in stream:
        if line.endswith(b"\n"):
            line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        if first:
            first = False
            if line.startswith(_BOM):
                line = line[len(_BOM) :]
        yield line


def detect_format(lines: Iterable[bytes], name: str) -> Literal["lines", "jsonl"]:
    """The ``auto`` rule: by file extension, else by the first non-blank line."""
    if name.lower().endswith((".jsonl", ".ndjson")):
        return "jsonl"
    for raw in lines:
        if not raw.strip():
            continue
        try:
            return "jsonl" if isinstance(json.loads(raw), dict) else "lines"
        except ValueError:
            return "lines"
    return "lines"


def _decode(raw: bytes) -> str | BadLine:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadLine(0, f"invalid UTF-8 at byte {exc.start + 1}")


def _lone_surrogate(value: str, key: str, line: int) -> BadLine | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return BadLine(
            line,
            f'"{key}" has a lone surrogate (\\u{ord(value[exc.start]):04x}) at character '
            f"{exc.start + 1}: not valid Unicode",
        )
    return None


def _file(obj: dict[str, object], line: int, base: Path) -> Path | BadLine:
    """A line's ``"file"``: a path relative to ``base`` (the JSONL's folder), checked."""
    value = obj["file"]
    if not isinstance(value, str) or not value.strip():
        return BadLine(line, '"file" must be a non-empty string (a path)')
    bad = _lone_surrogate(value, "file", line)
    if bad is not None:
        return bad
    path = base / value
    reason = check_file(path)
    return BadLine(line, f'"file" {value!r}: {reason}') if reason is not None else path


def _parse_jsonl(text: str, line: int, base: Path) -> Record | BadLine:
    try:
        obj = json.loads(text)
    except ValueError as exc:
        return BadLine(line, f"invalid JSON: {exc}")
    if not isinstance(obj, dict):
        return BadLine(line, f"not a JSON object (a {type(obj).__name__})")
    file: Path | None = None
    if "file" in obj:
        if "text" in obj:
            return BadLine(line, 'both "text" and "file" (a line embeds one of them)')
        found = _file(obj, line, base)
        if isinstance(found, BadLine):
            return found
        file, value = found, ""
    elif "text" not in obj:
        return BadLine(line, 'missing "text"')
    else:
        value = obj["text"]
        if not isinstance(value, str):
            return BadLine(line, f'"text" must be a string, not {type(value).__name__}')
        if not value.strip():
            return BadLine(line, 'empty "text"')
        bad = _lone_surrogate(value, "text", line)
        if bad is not None:
            return bad
    record_id = obj.get("id", line)
    if isinstance(record_id, bool) or not isinstance(record_id, str | int):
        return BadLine(line, f'"id" must be a string or an integer, not {type(record_id).__name__}')
    if isinstance(record_id, str):
        bad = _lone_surrogate(record_id, "id", line)
        if bad is not None:
            return bad
    title = obj.get("title")
    if title is not None:
        if not isinstance(title, str):
            return BadLine(line, f'"title" must be a string, not {type(title).__name__}')
        if not title.strip():
            return BadLine(line, 'empty "title"')
        bad = _lone_surrogate(title, "title", line)
        if bad is not None:
            return bad
    return Record(line, record_id, value, title, file)


def classify(
    raw: bytes, number: int, fmt: Literal["lines", "jsonl"], base: Path = Path()
) -> Record | BadLine:
    """Line ``number`` (1-based) as a record, or why it is bad (duplicate ids aside); a JSONL
    ``"file"`` is relative to ``base``."""
    decoded = _decode(raw)
    if isinstance(decoded, BadLine):
        return BadLine(number, decoded.reason)
    if not decoded.strip():
        return BadLine(number, "empty line")
    if fmt == "lines":
        return Record(number, number, decoded)
    return _parse_jsonl(decoded, number, base)


def format_bad_lines(bad: list[BadLine], source: str, *, limit: int = 20) -> str:
    """A report of bad lines, one ``source:line: reason`` per line, at most ``limit`` of them."""
    shown = [f"{source}:{b.line}: {b.reason}" for b in bad[:limit]]
    if len(bad) > limit:
        shown.append(f"... and {len(bad) - limit} more bad line(s)")
    return "\n".join(shown)
