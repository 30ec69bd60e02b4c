"""Media files as ``textservice embed`` inputs: a folder's files, and the files JSONL lines
(``"file"``) and Parquet rows (``--file-column``) name (their records are made in
``textservice.cli.inputs`` and ``textservice.cli.sources``).

A file record carries its path, not its bytes: the library reads the file when its batch is
sent, and the resume digest reads it once more to hash it (``file_digest``), so a changed
image changes the digest. A file is checked on the input's first pass (it exists, its
suffix is a media type an embedding model takes, it fits in one request); a file that fails
is a bad record, listed like a bad line.

``-i DIR`` embeds every file under ``DIR``, recursively, in sorted order (each folder's
entries sorted by name, a subfolder's files at its place), the id of each being its path
relative to ``DIR`` with ``/``. Hidden files and folders (a name starting with ``.``) are
left out. The walk holds one folder's listing at a time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from textservice._profiles import MAX_REQUEST_BYTES, MEDIA_SUFFIXES

__all__ = ["check_file", "file_digest", "walk"]


def check_file(path: Path) -> str | None:
    """Why ``path`` cannot be embedded as a media file (``None``: it can)."""
    suffix = path.suffix.lower()
    if suffix not in MEDIA_SUFFIXES:
        shown = f"{suffix!r}" if suffix else "no suffix"
        return f"unsupported file type ({shown}; embedded: {', '.join(MEDIA_SUFFIXES)})"
    try:
        stat = path.stat()
    except OSError as exc:
        return f"cannot read {str(path)!r}: {exc.strerror or exc}"
    if not path.is_file():
        return f"{str(path)!r} is not a regular file"
    if stat.st_size > MAX_REQUEST_BYTES:
        return f"{stat.st_size:,} bytes, more than one request takes ({MAX_REQUEST_BYTES:,})"
    return None


def file_digest(path: Path) -> str:
    """The BLAKE2b digest (hex, 16 bytes) of the file's bytes, read in chunks."""
    with path.open("rb") as source:
        return hashlib.file_digest(source, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def walk(root: Path) -> Iterator[Path]:
    """Every file under ``root``, recursively, in sorted order (see the module docstring)."""
    with os.scandir(root) as listing:
        entries = sorted((e for e in listing if not e.name.startswith(".")), key=lambda e: e.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from walk(Path(entry.path))
        else:
            yield Path(entry.path)
