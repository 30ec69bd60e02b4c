"""Streaming input for ``textservice embed``: a validating first pass, then the records.

The input is read twice, never held whole in memory:

1. :meth:`Source.check` reads every line (or Parquet row), reports each bad one as it is
   found and keeps only what the second pass needs: the numbers of the bad lines and, while
   it runs, one 64-bit hash per id (to find duplicates; a hash seen twice is confirmed by
   comparing the ids themselves in a second look, so a hash collision is never mistaken for a
   duplicate).
2. :meth:`Source.records` reads it again, yielding the good records in order, as the
   embedding loop asks for them.

Standard input is copied to an unnamed temporary file first (on disk, not in memory), so it
can be read twice like a file. A Parquet input (``--format parquet``, or a ``.parquet`` name)
gives one record per row: ``--text-column`` (default ``text``), optional ``--id-column``
(integers or strings; default: the row number, from 1) and optional ``--title-column``
(strings; a null is no title). Its rows are numbered like lines.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

from textservice.cli.errors import InputError
from textservice.cli.files import check_file, walk
from textservice.cli.inputs import (
    BadLine,
    Format,
    Input,
    Record,
    RecordId,
    classify,
    detect_format,
    iter_lines,
)

if TYPE_CHECKING:
    import pyarrow.parquet

__all__ = [
    "FolderSource",
    "InputCheck",
    "InputError",
    "ParquetSource",
    "Source",
    "TextSource",
    "first_pass",
    "open_source",
    "parse_input",
    "require_pyarrow",
]

Report = Callable[[BadLine], None]

_INT64 = range(-(2**63), 2**63)


def require_pyarrow() -> Any:
    """The ``pyarrow.parquet`` module, or ``InputError`` naming the extra that brings it."""
    try:
        import pyarrow.parquet
    except ImportError:
        raise InputError(
            "Parquet needs pyarrow: pip install pyarrow (or the parquet extra of textservice)"
        ) from None
    return pyarrow.parquet


@dataclass(frozen=True)
class InputCheck:
    """What the first pass found: enough to read the records again and place their rows."""

    line_count: int
    """Lines (or Parquet rows) in the input, good and bad."""
    record_count: int
    """Good records."""
    bad_lines: array[int]
    """The numbers of the bad lines, ascending."""
    id_types: frozenset[type]
    """The types of the records' ids (``int``, ``str``)."""
    titles: int = 0
    """Good records with a title."""
    wide_id_line: int | None = None
    """The first line whose integer id is outside int64, the widest integer of Parquet and
    Arrow (``None``: none is)."""
    files: int = 0
    """Good records that are media files."""

    @property
    def bad_count(self) -> int:
        """How many lines are bad."""
        return len(self.bad_lines)

    def record_lines(self) -> Iterator[int]:
        """The line number of each good record, in order (every line that is not bad)."""
        bad = iter(self.bad_lines)
        next_bad = next(bad, None)
        for line in range(1, self.line_count + 1):
            if line == next_bad:
                next_bad = next(bad, None)
            else:
                yield line


class Source(Protocol):
    """An input read in two passes (see the module docstring)."""

    @property
    def name(self) -> str:
        """What bad-line reports call it: the path, or ``<stdin>``."""

    @property
    def format(self) -> Literal["lines", "jsonl", "parquet", "folder"]:
        """What it is read as."""

    def check(self, report: Report) -> InputCheck:
        """The first pass: call ``report`` for each bad line, in line order."""

    def records(self, check: InputCheck) -> Iterator[Record]:
        """The good records in order (``check``: this source's first pass)."""


def _id_key(record_id: RecordId) -> int:
    # 1 and "1" are different ids: the type is part of the key.
    return hash((type(record_id) is int, record_id))


class _Duplicates:
    """Finds duplicate ids with 8 bytes per record (a hash each), not a set of the ids."""

    def __init__(self) -> None:
        self._hashes: array[int] = array("q")

    def add(self, record_id: RecordId) -> None:
        self._hashes.append(_id_key(record_id))

    def suspects(self) -> set[int]:
        """The hashes seen more than once (real duplicates, or very rarely a collision)."""
        try:
            import numpy
        except ImportError:
            seen: set[int] = set()
            twice: set[int] = set()
            for h in self._hashes:
                (twice if h in seen else seen).add(h)
            return twice
        hashes = numpy.sort(numpy.frombuffer(self._hashes, dtype=numpy.int64))
        self._hashes = array("q")
        repeated = hashes[1:][hashes[1:] == hashes[:-1]]
        return {int(h) for h in numpy.unique(repeated)}


def _confirm_duplicates(records: Iterator[Record], suspects: set[int]) -> tuple[list[BadLine], int]:
    """The records (in order) whose id an earlier record already has, as bad lines; and how
    many of them have a title."""
    first_line: dict[tuple[type, RecordId], int] = {}
    bad: list[BadLine] = []
    titled = 0
    for record in records:
        if _id_key(record.id) not in suspects:
            continue
        key = (type(record.id), record.id)
        first = first_line.setdefault(key, record.line)
        if first != record.line:
            shown = json.dumps(record.id)
            bad.append(BadLine(record.line, f"duplicate id {shown} (first on line {first})"))
            titled += record.title is not None
    return bad, titled


def _merge(bad_lines: array[int], more: list[BadLine]) -> array[int]:
    return array("q", sorted([*bad_lines, *(b.line for b in more)]))


def first_pass(
    items: Iterator[Record | BadLine],
    records: Callable[[InputCheck], Iterator[Record]],
    report: Report,
    *,
    ids: bool,
) -> InputCheck:
    """A source's first pass over ``items``; with ``ids``, repeated ids are found (a second
    read through ``records`` confirms them) and reported as bad lines."""
    bad_lines: array[int] = array("q")
    seen = _Duplicates() if ids else None
    count = good = titles = files = 0
    wide_id_line: int | None = None
    id_types: set[type] = set()
    held: list[BadLine] = []  # reported once duplicates are known, to keep line order
    for item in items:
        count += 1
        if isinstance(item, BadLine):
            bad_lines.append(item.line)
            held.append(item)
            if len(held) >= 1000:
                for b in held:
                    report(b)
                held.clear()
            continue
        good += 1
        titles += item.title is not None
        files += item.file is not None
        id_types.add(type(item.id))
        if wide_id_line is None and type(item.id) is int and item.id not in _INT64:
            wide_id_line = item.line
        if seen is not None:
            seen.add(item.id)
    dupes: list[BadLine] = []
    suspects = seen.suspects() if seen is not None else set()
    if suspects:
        first_pass = InputCheck(count, good, bad_lines, frozenset(id_types))
        dupes, titled_dupes = _confirm_duplicates(records(first_pass), suspects)
        titles -= titled_dupes
        bad_lines = _merge(bad_lines, dupes)
    for b in sorted([*held, *dupes], key=lambda b: b.line):
        report(b)
    return InputCheck(
        count, good - len(dupes), bad_lines, frozenset(id_types), titles, wide_id_line, files
    )


class TextSource:
    """Text lines or JSONL, from anything that can be opened again (a file, a spooled stdin)."""

    def __init__(
        self,
        opener: Callable[[], IO[bytes]],
        *,
        name: str,
        format: Format,
        base: Path = Path(),
    ) -> None:
        self._open = opener
        self.name = name
        self._base = base
        """The folder a JSONL line's ``"file"`` is relative to."""
        fmt: Literal["lines", "jsonl"]
        if format == "auto":
            with opener() as f:
                fmt = detect_format(iter_lines(f), name)
        elif format in ("lines", "jsonl"):
            fmt = format
        else:
            raise ValueError(f"a text source cannot read format {format!r}")
        self.format: Literal["lines", "jsonl"] = fmt

    def _classified(self) -> Iterator[Record | BadLine]:
        with self._open() as f:
            for number, raw in enumerate(iter_lines(f), start=1):
                yield classify(raw, number, self.format, self._base)

    def check(self, report: Report) -> InputCheck:
        """The first pass (see :class:`Source`)."""
        # JSONL ids are the user's and may repeat; line numbers are unique
        return first_pass(self._classified(), self.records, report, ids=self.format == "jsonl")

    def records(self, check: InputCheck) -> Iterator[Record]:
        """The good records (see :class:`Source`)."""
        bad = iter(check.bad_lines)
        next_bad = next(bad, None)
        for item in self._classified():
            if isinstance(item, BadLine) or item.line == next_bad:
                if item.line != next_bad:
                    raise InputError(f"{self.name} changed while it was read (line {item.line})")
                next_bad = next(bad, None)
                continue
            yield item


_PARQUET_BATCH = 4096  # rows read at a time


class ParquetSource:
    """One record per row of a Parquet file: a text column, optional id and title columns."""

    format: Literal["parquet"] = "parquet"

    def __init__(
        self,
        path: str,
        *,
        text_column: str,
        id_column: str | None,
        title_column: str | None = None,
        file_column: str | None = None,
    ) -> None:
        pq = require_pyarrow()
        import pyarrow as pa

        self.name = path
        try:
            self._file: pyarrow.parquet.ParquetFile = pq.ParquetFile(path)
        except pa.ArrowException as exc:
            raise InputError(f"{path} is not a readable Parquet file ({exc})") from None
        schema = self._file.schema_arrow
        names = schema.names

        def field(column: str, option: str, ok: Callable[[Any], bool], kinds: str) -> None:
            if column not in names:
                raise InputError(
                    f"{path} has no column {column!r} ({option}; its columns: {', '.join(names)})"
                )
            kind = schema.field(column).type
            if not ok(kind):
                raise InputError(f"{path}: column {column!r} holds {kind}, not {kinds}")

        types = pa.types

        def values(t: Any) -> Any:
            # A dictionary-encoded column (what pandas writes for a categorical) holds
            # values of its value type; pyarrow decodes them when the rows are read.
            return t.value_type if types.is_dictionary(t) else t

        def strings(t: Any) -> bool:
            t = values(t)
            return bool(types.is_string(t) or types.is_large_string(t) or types.is_string_view(t))

        if file_column is not None:
            field(file_column, "--file-column", strings, "strings (paths)")
        else:
            field(text_column, "--text-column", strings, "strings")
        if title_column is not None:
            field(title_column, "--title-column", strings, "strings")
        if id_column is not None:
            field(
                id_column,
                "--id-column",
                lambda t: types.is_integer(values(t)) or strings(t),
                "integers or strings",
            )
        self.text_column = text_column
        self.id_column = id_column
        self.title_column = title_column
        self.file_column = file_column
        self._base = Path(path).parent

    def _rows(self) -> Iterator[Record | BadLine]:
        # A column named twice (--id-column text) is read once: pyarrow dedupes the list.
        main = self.file_column or self.text_column
        wanted = [main, self.id_column, self.title_column]
        columns = list(dict.fromkeys(c for c in wanted if c is not None))
        number = 0
        for batch in self._file.iter_batches(batch_size=_PARQUET_BATCH, columns=columns):
            texts = batch.column(main).to_pylist()
            ids = batch.column(self.id_column).to_pylist() if self.id_column else None
            titles = batch.column(self.title_column).to_pylist() if self.title_column else None
            for offset, text in enumerate(texts):
                number += 1
                record_id = ids[offset] if ids is not None else number
                title = titles[offset] if titles is not None else None
                yield self._row(number, text, record_id, title)

    def _row(
        self, number: int, text: str | None, record_id: RecordId | None, title: str | None
    ) -> Record | BadLine:
        main = self.file_column or self.text_column
        if text is None:
            return BadLine(number, f'null "{main}"')
        if not text.strip():
            return BadLine(number, f'empty "{main}"')
        if record_id is None:
            return BadLine(number, f'null "{self.id_column}"')
        if title is not None and not title.strip():
            return BadLine(number, f'empty "{self.title_column}"')
        if self.file_column is None:
            return Record(number, record_id, text, title)
        path = self._base / text  # relative to the Parquet file's folder
        reason = check_file(path)
        if reason is not None:
            return BadLine(number, f'"{main}" {text!r}: {reason}')
        return Record(number, record_id, "", title, path)

    def check(self, report: Report) -> InputCheck:
        """The first pass (see :class:`Source`)."""
        return first_pass(self._rows(), self.records, report, ids=bool(self.id_column))

    def records(self, check: InputCheck) -> Iterator[Record]:
        """The good records (see :class:`Source`)."""
        bad = iter(check.bad_lines)
        next_bad = next(bad, None)
        for item in self._rows():
            if isinstance(item, BadLine) or item.line == next_bad:
                next_bad = next(bad, None)
                continue
            yield item


class FolderSource:
    """One record per file under a folder (``-i DIR``)."""

    format: Literal["folder"] = "folder"

    def __init__(self, root: str) -> None:
        self.name = root
        self._root = Path(root)

    def _items(self) -> Iterator[Record | BadLine]:
        for number, path in enumerate(walk(self._root), start=1):
            reason = check_file(path)
            if reason is not None:
                yield BadLine(number, f"{path.relative_to(self._root).as_posix()}: {reason}")
            else:
                yield Record(number, path.relative_to(self._root).as_posix(), "", file=path)

    def check(self, report: Report) -> InputCheck:
        """The first pass (see ``textservice.cli.sources.Source``); ids are unique paths."""
        return first_pass(self._items(), self.records, report, ids=False)

    def records(self, check: InputCheck) -> Iterator[Record]:
        """The good records (see ``textservice.cli.sources.Source``)."""
        bad = iter(check.bad_lines)
        next_bad = next(bad, None)
        for item in self._items():
            if isinstance(item, BadLine) or item.line == next_bad:
                next_bad = next(bad, None)
                continue
            yield item


def _spool_stdin() -> Callable[[], IO[bytes]]:
    """Copy standard input to an unnamed temporary file; an opener reading it from the start."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (kept open for the process's lifetime)
    shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
    spool.flush()
    fd = spool.fileno()

    def opener() -> IO[bytes]:
        copy = os.dup(fd)  # shares the offset: the two passes never overlap
        os.lseek(copy, 0, os.SEEK_SET)
        return io.BufferedReader(io.FileIO(copy, "rb"), 1 << 16)

    opener.spool = spool  # type: ignore[attr-defined]  # keeps the file open while used
    return opener


def open_source(
    path: str,
    *,
    format: Format = "auto",
    text_column: str = "text",
    id_column: str | None = None,
    title_column: str | None = None,
    file_column: str | None = None,
) -> Source:
    """The input at ``path`` (``"-"``: standard input; a folder: its files). ``OSError`` if
    it cannot be read, ``InputError`` if it is not what ``format`` says."""
    if path != "-" and Path(path).is_dir():
        if format not in ("auto",):
            raise InputError(f"{path} is a folder: its files are the input (no --format)")
        return FolderSource(path)
    parquet = format == "parquet" or (format == "auto" and path.lower().endswith(".parquet"))
    if parquet:
        if path == "-":
            raise InputError("Parquet input must be a file (--input FILE), not standard input")
        if not Path(path).is_file():
            Path(path).open("rb").close()  # the OSError a user expects (missing, a folder)
        return ParquetSource(
            path,
            text_column=text_column,
            id_column=id_column,
            title_column=title_column,
            file_column=file_column,
        )
    if path == "-":
        return TextSource(_spool_stdin(), name="<stdin>", format=format)
    Path(path).open("rb").close()  # fail now, before any output exists
    return TextSource(
        lambda: open(path, "rb", buffering=1 << 16),
        name=path,
        format=format,
        base=Path(path).parent,
    )


def parse_input(data: bytes, *, format: Format = "auto", name: str = "") -> Input:
    """Split and validate ``data`` (the bytes of an input file) into records and bad lines.

    Everything in memory, for small inputs and tests; ``textservice embed`` streams its input
    with the sources above, by the same rules.
    """
    if format not in ("auto", "lines", "jsonl"):
        raise ValueError(f"format must be 'auto', 'lines' or 'jsonl', got {format!r}")
    source = TextSource(lambda: io.BytesIO(data), name=name, format=format)
    bad: list[BadLine] = []
    check = source.check(bad.append)
    bad.sort(key=lambda b: b.line)
    return Input(
        format=source.format,
        line_count=check.line_count,
        records=list(source.records(check)),
        bad=bad,
    )
