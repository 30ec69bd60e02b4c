"""Which source reads ``textservice embed --input``: a folder, Parquet, CSV or TSV, JSONL or
text lines (see :mod:`textservice.cli.sources` and :mod:`textservice.cli.csv_source`).

Standard input is copied to an unnamed temporary file first (on disk, not in memory), so it
can be read twice like a file.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from textservice.cli.columns import Columns
from textservice.cli.csv_source import CsvSource
from textservice.cli.errors import InputError
from textservice.cli.inputs import Format, Keys
from textservice.cli.sources import FolderSource, ParquetSource, Source, TextSource

__all__ = ["CSV_SUFFIXES", "open_source"]


class _SpoolReader(io.RawIOBase):
    """Reads the spooled standard input from its start with an offset of its own
    (``os.pread``), so two readers can go through it at once (a rerun that reuses earlier
    vectors reads the records to write and those to embed side by side)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = os.pread(self._fd, len(buffer), self._offset)
        buffer[: len(data)] = data
        self._offset += len(data)
        return len(data)


def _spool_stdin() -> Callable[[], IO[bytes]]:
    """Copy standard input to an unnamed temporary file; an opener reading it from the start."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (kept open for the process's lifetime)
    shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
    spool.flush()
    fd = spool.fileno()

    def opener() -> IO[bytes]:
        if hasattr(os, "pread"):
            return io.BufferedReader(_SpoolReader(fd), 1 << 16)
        copy = os.dup(fd)  # shares the offset: one reader at a time (no pread: Windows)
        os.lseek(copy, 0, os.SEEK_SET)
        return io.BufferedReader(io.FileIO(copy, "rb"), 1 << 16)

    opener.spool = spool  # type: ignore[attr-defined]  # keeps the file open while used
    return opener


CSV_SUFFIXES = {".csv": "csv", ".tsv": "tsv"}
"""``--format auto`` reads these suffixes (any case) as CSV and TSV."""


def open_source(path: str, *, format: Format = "auto", columns: Columns | None = None) -> Source:
    """The input at ``path`` (``"-"``: standard input; a folder: its files), its records read
    from ``columns``. ``OSError`` if it cannot be read, ``InputError`` if it is not what
    ``format`` says."""
    columns = columns if columns is not None else Columns()
    if path != "-" and Path(path).is_dir():
        if format not in ("auto",):
            raise InputError(f"{path} is a folder: its files are the input (no --format)")
        return FolderSource(path)
    suffix = Path(path).suffix.lower() if path != "-" else ""
    if format == "auto":
        format = "parquet" if suffix == ".parquet" else CSV_SUFFIXES.get(suffix, "auto")  # type: ignore[assignment]
    if format == "parquet":
        if path == "-":
            raise InputError("Parquet input must be a file (--input FILE), not standard input")
        if not Path(path).is_file():
            Path(path).open("rb").close()  # the OSError a user expects (missing, a folder)
        return ParquetSource(
            path,
            text_column=columns.text_name,
            id_column=columns.id,
            title_column=columns.title,
            file_column=columns.file,
            keep=columns.keep,
        )
    opener: Callable[[], IO[bytes]]
    if path == "-":
        opener, name, base = _spool_stdin(), "<stdin>", Path()
    else:
        Path(path).open("rb").close()  # fail now, before any output exists
        opener, name, base = (
            lambda: open(path, "rb", buffering=1 << 16),  # noqa: SIM115 (the caller closes it)
            path,
            Path(path).parent,
        )
    if format in ("csv", "tsv"):
        return CsvSource(opener, name=name, dialect=format, base=base, columns=columns)
    keys = Keys(
        text=columns.text_name,
        id=columns.id or "id",
        title=columns.title or "title",
        file=columns.file or "file",
        keep=columns.keep,
        id_required=columns.id is not None,
    )
    return TextSource(opener, name=name, format=format, base=base, keys=keys)
