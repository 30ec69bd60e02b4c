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
  the text to GenerativeService (see ``textservice embed --task-type``). Other keys are ignored,
  but for those ``--keep-columns`` names (``null`` when a line lacks one). The keys are those
  of :class:`Keys` (``--text-column`` and its siblings); an id key named with
  ``--id-column`` must be on every line (``missing "doc_id"``).
  An empty line is bad (``empty line``). JSON can escape a lone surrogate (``"\\ud800"``), which
  is no Unicode text and cannot be sent as UTF-8: such a ``"text"``, ``"id"`` or ``"title"`` is
  bad (``"text" has a lone surrogate …``).
- Ids must be unique (``duplicate id … (first on line N)``): output and resume rely on them.
- ``auto`` format: ``jsonl`` when the file name ends in ``.jsonl``/``.ndjson`` or the first
  non-blank line is a JSON object; otherwise ``lines``. (CSV, TSV and Parquet are chosen by
  their suffix in ``textservice.cli.sources``.)
- A file whose first block (:data:`HEAD_BYTES`) holds a NUL byte, or more than a few bytes
  that are not UTF-8, is a binary file (:func:`binary_reason`): it is refused whole, never
  embedded as fragments.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from textservice.cli.files import check_file
from textservice.cli.listing import and_more

Format = Literal["auto", "lines", "jsonl", "csv", "tsv", "parquet"]
RecordId = str | int

__all__ = [
    "BINARY_INVALID",
    "HEAD_BYTES",
    "BadLine",
    "Format",
    "Input",
    "Keys",
    "Record",
    "RecordId",
    "binary_reason",
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
    kept: tuple[object, ...] = ()
    """The values of the ``--keep-columns`` columns, in their order (``None``: no value)."""


_DETAILS = re.compile(r"'(?:[^'\\]|\\.)*'")  # a Python repr of a string (a path, a value)


@dataclass(frozen=True)
class BadLine:
    """An input line (record) that cannot be embedded, and why."""

    line: int
    """Its number: the line, or the row of CSV, TSV and Parquet input (the header is not
    one), as records are numbered."""
    reason: str
    id: RecordId | None = field(default=None, compare=False)
    """Its id, when it could be read (for ``--bad-records``)."""
    kind: str | None = field(default=None, compare=False)
    """What it counts as in a summary (``None``: its reason without details)."""
    file_line: int | None = field(default=None, compare=False)
    """The line of the file it starts on, when that is not ``line`` (a CSV row)."""

    @property
    def where(self) -> int:
        """The number a report shows: the line of the file it starts on."""
        return self.file_line if self.file_line is not None else self.line

    @property
    def summary_kind(self) -> str:
        """Its reason without what differs from one record to the next (numbers, values,
        what follows ``": "`` or ``" ("``), for counting bad records by kind."""
        if self.kind is not None:
            return self.kind
        return reason_kind(self.reason)


def reason_kind(reason: str) -> str:
    """``reason`` without its details: quoted values, what follows ``": "`` or ``" ("``,
    and numbers (``N``)."""
    kind = _DETAILS.sub("'…'", reason).split(": ", 1)[0].split(" (", 1)[0]
    return re.sub(r"(?<![\w-])\d[\d,]*", "N", kind)  # not the 8 of UTF-8


@dataclass(frozen=True)
class Keys:
    """The JSONL keys a record is read from (``--text-column`` and its siblings)."""

    text: str = "text"
    id: str = "id"
    title: str = "title"
    file: str = "file"
    keep: tuple[str, ...] = ()
    id_required: bool = False
    """An ``--id-column`` was given: every line must have it (else the line number)."""


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


HEAD_BYTES = 8192
"""How much of a text input is looked at to tell a binary file (as ``grep`` and ``git`` do)."""


BINARY_INVALID = 8
"""Bytes sequences that are not UTF-8 in the first block, beyond which an input is a binary
file (or text in another encoding) rather than text with a few bad lines."""


def binary_reason(head: bytes, *, whole: bool) -> str | None:
    """Why the first bytes of a text input (``whole``: all of it) say it is a binary file: a
    NUL byte, or more than :data:`BINARY_INVALID` places that are not UTF-8 (``None``: it may
    be text, its lines checked one by one)."""
    nul = head.find(b"\0")
    if nul >= 0:
        utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
        return f"a NUL byte at byte {nul + 1}" + (" (UTF-16 text?)" if utf16 else "")
    count, first, start = 0, 0, 0
    while count <= BINARY_INVALID:
        try:  # a character cut at the end of the block is no error unless the file ends there
            codecs.getincrementaldecoder("utf-8")().decode(head[start:], final=whole)
        except UnicodeDecodeError as exc:
            first = first or start + exc.start + 1
            count += 1
            start += exc.end
        else:
            return None
    return f"more than {BINARY_INVALID} bytes that are not UTF-8, the first at byte {first}"


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


def _file(value: object, key: str, line: int, base: Path) -> Path | BadLine:
    """A line's file (``"file"``): a path relative to ``base`` (the JSONL's folder), checked;
    or why it is bad."""
    if not isinstance(value, str) or not value.strip():
        return BadLine(line, f'"{key}" must be a non-empty string (a path)')
    bad = _lone_surrogate(value, key, line)
    if bad is not None:
        return bad
    path = base / value
    reason = check_file(path)
    if reason is None:
        return path
    return BadLine(line, f'"{key}" {value!r}: {reason}', kind=f'"{key}": {reason_kind(reason)}')


def _record_id(obj: dict[str, object], keys: Keys, line: int) -> RecordId | BadLine:
    """A line's id (default: its line number), or why it is bad."""
    if keys.id not in obj:
        return BadLine(line, f'missing "{keys.id}"') if keys.id_required else line
    record_id = obj[keys.id]
    if isinstance(record_id, bool) or not isinstance(record_id, str | int):
        kind = type(record_id).__name__
        return BadLine(line, f'"{keys.id}" must be a string or an integer, not {kind}')
    if isinstance(record_id, str):
        bad = _lone_surrogate(record_id, keys.id, line)
        if bad is not None:
            return bad
    return record_id


def _parse_jsonl(
    text: str, line: int, base: Path, keys: Keys, seen: set[str] | None
) -> Record | BadLine:
    try:
        obj = json.loads(text)
    except ValueError as exc:
        return BadLine(line, f"invalid JSON: {exc}")
    if not isinstance(obj, dict):
        return BadLine(line, f"not a JSON object (a {type(obj).__name__})")
    record_id = _record_id(obj, keys, line)
    if isinstance(record_id, BadLine):
        return record_id
    found = _content(obj, line, base, keys)
    if isinstance(found, BadLine):
        return BadLine(line, found.reason, record_id, found.kind)
    value, file = found
    title = obj.get(keys.title)
    if title is not None:
        if not isinstance(title, str):
            kind = type(title).__name__
            return BadLine(line, f'"{keys.title}" must be a string, not {kind}', record_id)
        if not title.strip():
            return BadLine(line, f'empty "{keys.title}"', record_id)
        bad = _lone_surrogate(title, keys.title, line)
        if bad is not None:
            return BadLine(line, bad.reason, record_id)
    if seen is not None:
        seen.update(k for k in keys.keep if k in obj)
    return Record(line, record_id, value, title, file, tuple(obj.get(k) for k in keys.keep))


def _content(
    obj: dict[str, object], line: int, base: Path, keys: Keys
) -> tuple[str, Path | None] | BadLine:
    """A line's text (or its file, with an empty text), or why it is bad."""
    if keys.file in obj:
        if keys.text in obj:
            return BadLine(
                line, f'both "{keys.text}" and "{keys.file}" (a line embeds one of them)'
            )
        found = _file(obj[keys.file], keys.file, line, base)
        return found if isinstance(found, BadLine) else ("", found)
    if keys.text not in obj:
        return BadLine(line, f'missing "{keys.text}"')
    value = obj[keys.text]
    if not isinstance(value, str):
        return BadLine(line, f'"{keys.text}" must be a string, not {type(value).__name__}')
    if not value.strip():
        return BadLine(line, f'empty "{keys.text}"')
    bad = _lone_surrogate(value, keys.text, line)
    return bad if bad is not None else (value, None)


def classify(
    raw: bytes,
    number: int,
    fmt: Literal["lines", "jsonl"],
    base: Path = Path(),
    keys: Keys = Keys(),
    seen: set[str] | None = None,
) -> Record | BadLine:
    """Line ``number`` (1-based) as a record, or why it is bad (duplicate ids aside); a JSONL
    ``"file"`` is relative to ``base``; ``seen`` collects the kept keys found."""
    decoded = _decode(raw)
    if isinstance(decoded, BadLine):
        return BadLine(number, decoded.reason, number if fmt == "lines" else None)
    if not decoded.strip():
        return BadLine(number, "empty line", number if fmt == "lines" else None)
    if fmt == "lines":
        return Record(number, number, decoded)
    return _parse_jsonl(decoded, number, base, keys, seen)


def format_bad_lines(bad: list[BadLine], source: str, *, limit: int = 20) -> str:
    """A report of bad lines, one ``source:line: reason`` per line, at most ``limit`` of them."""
    shown = [f"{source}:{b.where}: {b.reason}" for b in bad[:limit]]
    more = and_more(len(bad), len(shown), "bad line(s)")
    return "\n".join([*shown, more] if more else shown)
