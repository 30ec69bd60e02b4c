"""Streaming input for ``textservice embed``: a validating first pass, then the records.

The input is read twice, never held whole in memory:

1. :meth:`Source.check` reads every line (or Parquet row), reports each bad one as it is
   found and keeps only what the second pass needs: the numbers of the bad lines and, while
   it runs, one 64-bit hash per id (to find duplicates; a hash seen twice is confirmed by
   comparing the ids themselves in a second look, so a hash collision is never mistaken for a
   duplicate).
2. :meth:`Source.records` reads it again, yielding the good records in order, as the
   embedding loop asks for them.

Which source reads a path is :func:`textservice.cli.open_input.open_source`'s choice (CSV and
TSV are read by :mod:`textservice.cli.csv_source`). A Parquet input (``--format parquet``, or a
``.parquet`` name) gives one record per row: ``--text-column`` (default ``text``), optional
``--id-column`` (integers or strings; default: the row number, from 1), optional
``--title-column`` (strings; a null is no title) and the ``--keep-columns`` (any type). Its
rows are numbered like lines.
"""

from __future__ import annotations

import dataclasses
import io
import json
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

from textservice.cli.columns import KeptColumn, KeptKinds
from textservice.cli.errors import InputError
from textservice.cli.files import check_file, walk
from textservice.cli.inputs import (
    HEAD_BYTES,
    BadLine,
    Format,
    Input,
    Keys,
    Record,
    RecordId,
    binary_reason,
    classify,
    detect_format,
    iter_lines,
    reason_kind,
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
    kept: tuple[KeptColumn, ...] = ()
    """The ``--keep-columns`` columns, each with the type of its values."""

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
    def format(self) -> Literal["lines", "jsonl", "csv", "tsv", "parquet", "folder"]:
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


def _confirm_duplicates(
    records: Iterator[Record], suspects: set[int], line_of: Callable[[int], int]
) -> tuple[list[BadLine], int]:
    """The records (in order) whose id an earlier record already has, as bad lines (placed
    in the file by ``line_of``); and how many of them have a title."""
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
            reason = f"duplicate id {shown} (first on line {line_of(first)})"
            line = line_of(record.line)
            where = line if line != record.line else None
            bad.append(BadLine(record.line, reason, record.id, "duplicate id", where))
            titled += record.title is not None
    return bad, titled


def good_records(
    items: Iterable[Record | BadLine],
    check: InputCheck,
    *,
    changed: str | None = None,
    unit: str = "line",
) -> Iterator[Record]:
    """The records of ``items`` (a source read again) but the bad lines of its first pass,
    ``check``. ``changed``: the source's name, when an item bad now but not then means the
    input changed between the passes (``InputError``, naming its ``unit`` and number)."""
    bad = iter(check.bad_lines)
    next_bad = next(bad, None)
    for item in items:
        if isinstance(item, BadLine) or item.line == next_bad:
            if changed is not None and item.line != next_bad:
                raise InputError(f"{changed} changed while it was read ({unit} {item.line})")
            next_bad = next(bad, None)
            continue
        yield item


def _merge(bad_lines: array[int], more: list[BadLine]) -> array[int]:
    return array("q", sorted([*bad_lines, *(b.line for b in more)]))


def first_pass(
    items: Iterator[Record | BadLine],
    records: Callable[[InputCheck], Iterator[Record]],
    report: Report,
    *,
    ids: bool,
    line_of: Callable[[int], int] = lambda number: number,
) -> InputCheck:
    """A source's first pass over ``items``; with ``ids``, repeated ids are found (a second
    read through ``records`` confirms them) and reported as bad lines; ``line_of``: the line
    of the file a record starts on (CSV), for those reports."""
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
        dupes, titled_dupes = _confirm_duplicates(records(first_pass), suspects, line_of)
        titles -= titled_dupes
        bad_lines = _merge(bad_lines, dupes)
    for b in sorted([*held, *dupes], key=lambda b: b.line):
        report(b)
    return InputCheck(
        count, good - len(dupes), bad_lines, frozenset(id_types), titles, wide_id_line, files
    )


def refuse_binary(opener: Callable[[], IO[bytes]], name: str) -> None:
    """``InputError`` when the input's first block says it is a binary file (not embedded as
    fragments, with or without ``--skip-bad``)."""
    with opener() as f:
        head = f.read(HEAD_BYTES + 1)
    reason = binary_reason(head[:HEAD_BYTES], whole=len(head) <= HEAD_BYTES)
    if reason is not None:
        raise InputError(
            f"{name} is a binary file, not UTF-8 text ({reason}); nothing was sent. A text "
            "input must be UTF-8: convert text in another encoding first (iconv -t UTF-8), "
            "or give Parquet (.parquet) or a folder of media files"
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
        keys: Keys | None = None,
    ) -> None:
        self._open = opener
        self.name = name
        self._base = base
        """The folder a JSONL line's ``"file"`` is relative to."""
        self._keys = keys if keys is not None else Keys()
        refuse_binary(opener, name)
        fmt: Literal["lines", "jsonl"]
        if format == "auto":
            with opener() as f:
                fmt = detect_format(iter_lines(f), name)
        elif format in ("lines", "jsonl"):
            fmt = format
        else:
            raise ValueError(f"a text source cannot read format {format!r}")
        self.format: Literal["lines", "jsonl"] = fmt

    def _classified(self, seen: set[str] | None = None) -> Iterator[Record | BadLine]:
        keys = self._keys
        with self._open() as f:
            for number, raw in enumerate(iter_lines(f), start=1):
                yield classify(raw, number, self.format, self._base, keys, seen)

    def check(self, report: Report) -> InputCheck:
        """The first pass (see :class:`Source`); a kept key on no line is an ``InputError``."""
        keep = self._keys.keep
        seen: set[str] = set()
        kinds = KeptKinds(keep)

        def observed() -> Iterator[Record | BadLine]:
            for item in self._classified(seen):
                if keep and isinstance(item, Record):
                    kinds.add(item.kept)
                yield item

        # JSONL ids are the user's and may repeat; line numbers are unique
        check = first_pass(observed(), self.records, report, ids=self.format == "jsonl")
        missing = [k for k in keep if k not in seen]
        if missing and check.record_count:
            raise InputError(
                f"--keep-columns {','.join(missing)}: no good line of {self.name} has "
                f"{'that key' if len(missing) == 1 else 'those keys'}; nothing was sent"
            )
        return dataclasses.replace(check, kept=kinds.columns())

    def records(self, check: InputCheck) -> Iterator[Record]:
        """The good records (see :class:`Source`)."""
        return good_records(self._classified(), check, changed=self.name)


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
        keep: tuple[str, ...] = (),
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
        for column in keep:
            field(column, "--keep-columns", lambda t: True, "")
        self.keep = keep
        self.kept = tuple(KeptColumn(c, "arrow", values(schema.field(c).type)) for c in keep)
        self.text_column = text_column
        self.id_column = id_column
        self.title_column = title_column
        self.file_column = file_column
        self._base = Path(path).parent

    def _rows(self) -> Iterator[Record | BadLine]:
        # A column named twice (--id-column text) is read once: pyarrow dedupes the list.
        main = self.file_column or self.text_column
        wanted = [main, self.id_column, self.title_column, *self.keep]
        columns = list(dict.fromkeys(c for c in wanted if c is not None))
        number = 0
        # A reader of its own: two passes may go through the file at once (see reuse.py).
        parquet = require_pyarrow().ParquetFile(self.name)
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH, columns=columns):
            texts = batch.column(main).to_pylist()
            ids = batch.column(self.id_column).to_pylist() if self.id_column else None
            titles = batch.column(self.title_column).to_pylist() if self.title_column else None
            kept = list(zip(*(batch.column(c).to_pylist() for c in self.keep), strict=True))
            for offset, text in enumerate(texts):
                number += 1
                record_id = ids[offset] if ids is not None else number
                title = titles[offset] if titles is not None else None
                row = self._row(number, text, record_id, title)
                if kept and isinstance(row, Record):
                    row = dataclasses.replace(row, kept=kept[offset])
                yield row

    def _row(
        self, number: int, text: str | None, record_id: RecordId | None, title: str | None
    ) -> Record | BadLine:
        main = self.file_column or self.text_column
        if record_id is None:
            return BadLine(number, f'null "{self.id_column}"')
        if text is None:
            return BadLine(number, f'null "{main}"', record_id)
        if not text.strip():
            return BadLine(number, f'empty "{main}"', record_id)
        if title is not None and not title.strip():
            return BadLine(number, f'empty "{self.title_column}"', record_id)
        if self.file_column is None:
            return Record(number, record_id, text, title)
        path = self._base / text  # relative to the Parquet file's folder
        reason = check_file(path)
        if reason is not None:
            kind = f'"{main}": {reason_kind(reason)}'
            return BadLine(number, f'"{main}" {text!r}: {reason}', record_id, kind)
        return Record(number, record_id, "", title, path)

    def check(self, report: Report) -> InputCheck:
        """The first pass (see :class:`Source`)."""
        check = first_pass(self._rows(), self.records, report, ids=bool(self.id_column))
        return dataclasses.replace(check, kept=self.kept)

    def records(self, check: InputCheck) -> Iterator[Record]:
        """The good records (see :class:`Source`)."""
        return good_records(self._rows(), check)


class FolderSource:
    """One record per file under a folder (``-i DIR``)."""

    format: Literal["folder"] = "folder"

    def __init__(self, root: str) -> None:
        self.name = root
        self._root = Path(root)

    def _items(self) -> Iterator[Record | BadLine]:
        for number, path in enumerate(walk(self._root), start=1):
            reason = check_file(path)
            record_id = path.relative_to(self._root).as_posix()
            if reason is not None:
                yield BadLine(number, f"{record_id}: {reason}", record_id, reason_kind(reason))
            else:
                yield Record(number, record_id, "", file=path)

    def check(self, report: Report) -> InputCheck:
        """The first pass (see ``textservice.cli.sources.Source``); ids are unique paths."""
        return first_pass(self._items(), self.records, report, ids=False)

    def records(self, check: InputCheck) -> Iterator[Record]:
        """The good records (see ``textservice.cli.sources.Source``)."""
        return good_records(self._items(), check)


def parse_input(data: bytes, *, format: Format = "auto", name: str = "") -> Input:
    """Split and validate ``data`` (the bytes of an input file) into records and bad lines.

    Everything in memory, for small inputs and tests; ``textservice embed`` streams its input
    with the sources above, by the same rules.
    """
    if format not in ("auto", "lines", "jsonl"):
        raise ValueError(f"format must be 'auto', 'lines' or 'jsonl', got {format!r}")
    # (CSV, TSV and Parquet are read from files by open_source)
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
