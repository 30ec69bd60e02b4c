"""CSV and TSV input for ``textservice embed`` (read by the standard library's ``csv``).

``--format auto`` reads a ``.csv`` file as CSV and a ``.tsv`` file as TSV; ``--format csv`` or
``--format tsv`` reads any other name (standard input included) so. The first row is the
header: it names the columns and is never embedded. Each later row is a record, numbered from
1 like Parquet rows (a ``.npy`` output's row ``i`` is record ``i + 1``); a bad row is
reported with the line of the file it starts on.

A row's text is its ``--text-column`` (default ``text``), or its ``--file-column`` (a media
file's path, relative to the file's folder); its id is its ``--id-column`` (a string: CSV has
no types) or else its row number; its title its ``--title-column`` (an empty cell: no title).
A column named by an option and missing from the header is an ``InputError`` before anything
is read. Bad rows: an empty line, a row with more or fewer fields than the header, bytes that
are not UTF-8, an empty text or id, a blank title.

The dialects are the standard library's ``excel`` (comma, ``"`` quoting, quoted fields may
hold newlines) and ``excel-tab``, read strictly: a quote left open at the end of the file, or
followed by anything but a delimiter, is an ``InputError`` naming its line, as is a field
longer than one request's size (``MAX_REQUEST_BYTES``), rather than rows silently merged.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import io
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO, Literal

from textservice._profiles import MAX_REQUEST_BYTES
from textservice.cli.columns import Columns, KeptColumn
from textservice.cli.errors import InputError
from textservice.cli.files import check_file
from textservice.cli.inputs import BadLine, Record, RecordId, reason_kind
from textservice.cli.sources import InputCheck, Report, first_pass, good_records, refuse_binary

__all__ = ["CsvSource"]

_DIALECTS = {"csv": csv.excel, "tsv": csv.excel_tab}


def _allow_long_fields() -> None:
    # The csv module's limit is per process (128 KiB by default, less than a long text).
    if csv.field_size_limit() < MAX_REQUEST_BYTES:
        csv.field_size_limit(MAX_REQUEST_BYTES)


def _not_utf8(value: str) -> bool:
    """Whether ``value`` holds bytes that were not UTF-8 (kept as lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class CsvSource:
    """One record per row of a CSV or TSV file after its header (see the module docstring)."""

    def __init__(
        self,
        opener: Callable[[], IO[bytes]],
        *,
        name: str,
        dialect: Literal["csv", "tsv"],
        base: Path = Path(),
        columns: Columns | None = None,
    ) -> None:
        self._open = opener
        self.name = name
        self.format: Literal["csv", "tsv"] = dialect
        self._base = base
        self._columns = columns if columns is not None else Columns()
        self._shifts: list[tuple[int, int]] = [(1, 2)]
        """Where rows start in the file, compactly: ``(row, line)`` for row 1 and for each row
        after one spanning several lines; the rows between follow one a line."""
        refuse_binary(opener, name)
        _allow_long_fields()
        rows = self._lines()
        try:
            first = next(rows, None)
        finally:
            rows.close()
        header = first[1] if first is not None else []
        if not header:
            raise InputError(
                f"{name} has no header row: the first row of {dialect.upper()} input names "
                "its columns"
            )
        self._header = header
        self._where = {column: self._index(column, option) for column, option in self._wanted()}

    def _wanted(self) -> list[tuple[str, str]]:
        c = self._columns
        main = (c.file, "--file-column") if c.file is not None else (c.text_name, "--text-column")
        wanted = [main, (c.id, "--id-column"), (c.title, "--title-column")]
        wanted += [(k, "--keep-columns") for k in c.keep]
        return [(column, option) for column, option in wanted if column is not None]

    def _index(self, column: str, option: str) -> int:
        found = [i for i, name in enumerate(self._header) if name == column]
        if not found:
            raise InputError(
                f"{self.name} has no column {column!r} ({option}; its header: "
                f"{', '.join(self._header)})"
            )
        if len(found) > 1:
            raise InputError(f"{self.name}: its header names column {column!r} twice")
        return found[0]

    def _lines(self) -> Generator[tuple[int, list[str]], None, None]:
        """Every row with the line of the file it starts on, the header first."""
        with self._open() as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
            reader = csv.reader(text, _DIALECTS[self.format], strict=True)
            line = 1
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise InputError(
                        f"{self.name}:{reader.line_num}: not valid {self.format.upper()} ({exc})"
                    ) from None
                yield line, row
                line = reader.line_num + 1

    def _items(self) -> Iterator[Record | BadLine]:
        lines = self._lines()
        next(lines, None)  # the header
        shifts = self._shifts
        for number, (line, row) in enumerate(lines, start=1):
            if line != self.line_of(number):
                del shifts[bisect.bisect_left(shifts, (number, 0)) :]  # a pass made them
                shifts.append((number, line))
            yield self._row(number, line, row)

    def line_of(self, number: int) -> int:
        """The line of the file row ``number`` starts on (rows read so far)."""
        row, line = self._shifts[bisect.bisect_right(self._shifts, (number, 1 << 62)) - 1]
        return line + number - row

    def _row(self, number: int, line: int, row: list[str]) -> Record | BadLine:
        c, where = self._columns, self._where

        def bad(reason: str, record_id: RecordId | None = None, kind: str | None = None) -> BadLine:
            return BadLine(number, reason, record_id, kind, line)

        if not row:
            return bad("empty line")
        if len(row) != len(self._header):
            return bad(f"{len(row)} fields, the header has {len(self._header)}")
        for name, value in zip(self._header, row, strict=True):
            if _not_utf8(value):
                return bad(f'invalid UTF-8 in "{name}"')
        record_id: RecordId = number
        if c.id is not None:
            record_id = row[where[c.id]]
            if not record_id.strip():
                return bad(f'empty "{c.id}"')
        main = c.file if c.file is not None else c.text_name
        value = row[where[main]]
        if not value.strip():
            return bad(f'empty "{main}"', record_id)
        title: str | None = None
        if c.title is not None:
            title = row[where[c.title]] or None  # an empty cell: no title
            if title is not None and not title.strip():
                return bad(f'empty "{c.title}"', record_id)
        kept = tuple(row[where[k]] for k in c.keep)
        if c.file is None:
            return Record(number, record_id, value, title, kept=kept)
        path = self._base / value  # relative to the CSV file's folder
        reason = check_file(path)
        if reason is not None:
            kind = f'"{main}": {reason_kind(reason)}'
            return bad(f'"{main}" {value!r}: {reason}', record_id, kind)
        return Record(number, record_id, "", title, path, kept)

    def check(self, report: Report) -> InputCheck:
        """The first pass (see ``textservice.cli.sources.Source``)."""
        ids = self._columns.id is not None
        check = first_pass(self._items(), self.records, report, ids=ids, line_of=self.line_of)
        kept = tuple(KeptColumn(k, "string") for k in self._columns.keep)
        return dataclasses.replace(check, kept=kept)

    def records(self, check: InputCheck) -> Iterator[Record]:
        """The good records (see ``textservice.cli.sources.Source``)."""
        return good_records(self._items(), check, changed=self.name, unit="row")
