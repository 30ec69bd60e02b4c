"""Inline media of an embedding item: bytes given by the caller, or a file read when sent.

A ``Blob`` is one ``inline_data`` part (``Blob{mime_type, data}`` in the protos). A file's
blob holds its path and size only: its bytes are read when the request that carries it is
written (``ContentRequests``, as its batch is sent), so a call over many files holds the
files of the requests in flight, never all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Blob"]


@dataclass(frozen=True, slots=True)
class Blob:
    """One media part: its mime type and its bytes (``data``), or the file they are in."""

    mime_type: str
    data: bytes | None = None
    path: Path | None = None
    size: int = 0
    """Bytes of data (the file's size when it was checked)."""

    @classmethod
    def of_bytes(cls, mime_type: str, data: bytes) -> Blob:
        """A blob of ``data``."""
        return cls(mime_type, bytes(data), None, len(data))

    @classmethod
    def of_file(cls, mime_type: str, path: Path) -> Blob:
        """A blob of the file at ``path``, read later (``OSError`` now if it cannot be
        stat'ed, or is not a regular file)."""
        stat = path.stat()
        if not path.is_file():
            raise IsADirectoryError(f"{path} is not a regular file")
        return cls(mime_type, None, path, stat.st_size)

    def read(self) -> bytes:
        """The bytes: ``data``, or the file's content as it is now."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()
