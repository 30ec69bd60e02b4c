"""``.npy`` output: float32 rows appended to the file in input order, never the whole array.

Row ``i`` of the array is input line ``i + 1``; the row of a bad line skipped with
``--skip-bad`` is all NaN. ``OUTPUT.part`` is an ``.npy`` file from the first batch on: its
header (written first, with the final shape: every line of the input, and the embedding
length of the first batch) is followed by the rows written so far. Rows go from the
response's float32 array straight to the file; nothing holds more than one batch, and no
memory map is used (its written pages would count as the process's memory).

Resume needs no other file: the ``.part``'s header region has room for a checkpoint, a
comment after the header's dictionary (``# textservice {"records": …, "rows": …,
"digest": …, "content": …}``), rewritten in place after each batch's rows are flushed
(``content``: the :class:`~textservice.cli.digests.ContentDigest` of the rows). A rerun reads
it, checks its fields against each other and the file (and the input: the last record it
counts must be on line ``rows``), reads the rows back to compare their content digest,
verifies the digest against its input, cuts the file back to the checkpointed rows and appends
the rest. A crash between the rows and the checkpoint only costs that batch again.

Finishing fills the NaN rows of trailing bad lines, rewrites the header without the comment
(numpy and other readers see a plain ``.npy``), writes ``OUTPUT.digest`` (the ``.npy`` format
has no room for it; see :func:`~textservice.cli.digests.npy_digest`) and renames the
``.part`` to ``OUTPUT``. A finished ``OUTPUT`` is compared with its ``OUTPUT.digest`` by a rerun.

The header is written by hand (the format is a fixed 10-byte prefix and a Python dict literal,
see numpy's ``numpy.lib.format``) because numpy's own writers pad it to the shortest length,
while the checkpoint needs a region of fixed size that can be rewritten in place.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import struct
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TypeGuard

from textservice._numpy import require_numpy
from textservice.cli.checkpoints import REPLACE, Checkpoint
from textservice.cli.content_keys import ContentKeys
from textservice.cli.digests import ContentDigest, DigestChain, digest_path, is_digest, npy_digest
from textservice.cli.errors import InputChangedError, OutputConflictError
from textservice.cli.files import file_digest
from textservice.cli.inputs import Record
from textservice.cli.sources import InputCheck
from textservice.cli.writers.common import (
    EMPTY,
    NEEDS_NUMPY,
    ResultsFile,
    ResumableFile,
    ResumePoint,
    Vectors,
    check_dimension,
    fsync_dir,
    partial_path,
    replace_atomically,
)

__all__ = ["HEADER_SIZE", "NpyFile", "NpyResults", "ids_path", "npy_header", "read_npy_header"]

HEADER_SIZE = 512
"""Bytes before the first row: magic, version, header length, dict, checkpoint, padding."""

_MAGIC = b"\x93NUMPY\x01\x00"
_CHECKPOINT = " # textservice "
_NAN_CHUNK = 1024  # NaN rows written at a time
_READ_CHUNK = 8 << 20  # bytes of rows read back at a time


def _count(value: object) -> TypeGuard[int]:
    return type(value) is int and value >= 0


def ids_path(output: Path) -> Path:
    """The ``.npy`` output's ids and keys: ``OUTPUT`` + ``.ids.jsonl`` (one
    ``{"row", "id", "key"}`` line per record, in row order)."""
    return output.with_name(output.name + ".ids.jsonl")


def _id_line(record: Record, key: str) -> bytes:
    row = json.dumps(record.id)  # ASCII: non-ASCII characters escaped
    return f'{{"row":{record.line - 1},"id":{row},"key":"{key}"}}\n'.encode("ascii")


def npy_header(rows: int, dim: int, checkpoint: dict[str, Any] | None = None) -> bytes:
    """The ``HEADER_SIZE`` bytes of a float32 ``(rows, dim)`` array's header."""
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}"
    if checkpoint is not None:
        text += _CHECKPOINT + json.dumps(checkpoint, separators=(",", ":"))
    length = HEADER_SIZE - len(_MAGIC) - 2
    body = text.encode("ascii")
    if len(body) >= length:
        raise ValueError("the .npy header does not fit")  # shapes and digests are short
    return _MAGIC + struct.pack("<H", length) + body.ljust(length - 1) + b"\n"


def read_npy_header(raw: bytes, where: Path) -> tuple[tuple[int, int], dict[str, Any] | None]:
    """The shape and checkpoint of a header made by :func:`npy_header`."""
    if len(raw) < HEADER_SIZE or not raw.startswith(_MAGIC):
        raise OutputConflictError(f"{where}: not a .npy file written by textservice ({REPLACE})")
    text = raw[10:HEADER_SIZE].decode("ascii", "replace")
    array_part, _, checkpoint = text.partition(_CHECKPOINT)
    try:
        header = ast.literal_eval(array_part.strip())
        shape = header["shape"]
        found = json.loads(checkpoint) if checkpoint.strip() else None
        if header["descr"] != "<f4" or len(shape) != 2:
            raise ValueError("not a 2-D float32 array")
    except (ValueError, SyntaxError, KeyError, TypeError) as exc:
        raise OutputConflictError(f"{where}: unreadable .npy header ({exc}; {REPLACE})") from None
    return (int(shape[0]), int(shape[1])), found


class NpyFile(ResumableFile):
    """A resumable ``.npy`` output (see the module docstring)."""

    def __init__(self, path: Path, check: InputCheck, *, overwrite: bool) -> None:
        self._np = require_numpy(*NEEDS_NUMPY)
        super().__init__(path, check, overwrite=overwrite)
        self._file: IO[bytes] | None = None
        self._rows = 0  # rows in the .part after its header
        self._records = 0  # records done (in the .part)
        self._layout = False  # point.digest is a finished array's (npy_digest)
        self._content = ContentDigest()  # of the rows in the .part
        self._content_found: str | None = None  # the .part's checkpoint's, if it has one
        self.ids_part = partial_path(ids_path(path))
        self._ids: IO[bytes] | None = None  # the .part's ids file, open for appending
        self._ids_found: int | None = None  # its length by the .part's checkpoint (None: none)
        self._with_ids = True  # False: continuing a .part of a version without ids files
        self._other_input: str | None = None  # why the .part is of another input
        self._keys: ContentKeys | None = None
        if overwrite:
            return
        if self.part.exists():
            self.point = self._inspect_part()
        elif path.exists():
            self.point = self._inspect_finished()
            self._layout = True

    def _inspect_part(self) -> ResumePoint:
        with open(self.part, "rb") as f:
            raw = f.read(HEADER_SIZE)
        if not raw:
            return EMPTY
        (lines, dim), checkpoint = read_npy_header(raw, self.part)
        if checkpoint is None:  # stopped before its first batch was checkpointed
            return EMPTY
        records, rows, digest, content = self._checkpoint_fields(checkpoint, lines, dim)
        if lines != self.check.line_count:  # refused (or reused) when verified
            self._other_input = (
                f"{self.part} was started for an input of {lines} lines, this one has "
                f"{self.check.line_count}: it is not this input's output ({REPLACE})"
            )
        self._rows = rows
        self._content_found = content
        ids = checkpoint.get("ids") if isinstance(checkpoint, dict) else None
        self._ids_found = ids if _count(ids) else None
        return ResumePoint(records, digest, self.part, dim)

    def _checkpoint_fields(
        self, checkpoint: object, lines: int, dim: int
    ) -> tuple[int, int, str, str | None]:
        """The checkpoint's records, rows, digest and content digest, checked against each
        other, the header and the file's size."""

        def corrupt(why: str) -> OutputConflictError:
            return OutputConflictError(f"{self.part}: {why}: its checkpoint is corrupt ({REPLACE})")

        if not isinstance(checkpoint, dict):
            raise corrupt("the checkpoint is not a JSON object")
        records, rows = checkpoint.get("records"), checkpoint.get("rows")
        digest, content = checkpoint.get("digest"), checkpoint.get("content")
        if not _count(records) or not _count(rows):
            raise corrupt(
                f'"records" ({json.dumps(records)}) and "rows" ({json.dumps(rows)}) must be '
                "whole numbers"
            )
        if not is_digest(digest) or (content is not None and not is_digest(content)):
            raise corrupt('"digest" and "content" must be digests')
        if dim < 1:
            raise corrupt(f"embeddings of {dim} values")
        if not 1 <= records <= rows <= lines:
            raise corrupt(f"{records} records in {rows} rows of an input of {lines} lines")
        if self.part.stat().st_size < HEADER_SIZE + rows * dim * 4:
            raise corrupt(f"the file is shorter than its {rows} rows of {dim} values")
        return records, rows, digest, content

    def _inspect_finished(self) -> ResumePoint:
        sidecar = digest_path(self.path)
        try:
            found = json.loads(sidecar.read_bytes())
            digest, records, lines = found["digest"], found["records"], found["lines"]
            if not is_digest(digest) or not _count(records) or not _count(lines):
                raise ValueError("a field of the wrong type")
            if records > lines:
                raise ValueError(f"{records} records in {lines} lines")
        except FileNotFoundError:
            raise OutputConflictError(
                f"{self.path} has no {sidecar.name} (it was written by an older version of "
                "textservice, or that file was removed): it cannot be checked against this "
                "input; pass --overwrite to embed it again"
            ) from None
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise OutputConflictError(
                f"{sidecar}: not a textservice digest file ({type(exc).__name__}: {exc}); {REPLACE}"
            ) from None
        np = self._np
        try:
            with open(self.path, "rb") as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        except (ValueError, OSError) as exc:
            raise OutputConflictError(f"{self.path}: not a readable .npy file ({exc})") from None
        if len(shape) != 2 or shape[0] != lines or dtype != np.float32:
            raise OutputConflictError(
                f"{self.path} holds a {dtype} array of shape {shape}, not the (lines, "
                f"dimension) float32 one its digest describes: it is corrupt ({REPLACE})"
            )
        return ResumePoint(records, digest, self.path, int(shape[1]), finished=True)

    @property
    def resume_file(self) -> Path | None:
        """The ``.part``, if it holds checkpointed results."""
        return self.part if self._records > 0 and self.part.exists() else None

    def point_digest(self, chain: DigestChain) -> str:
        """For a finished array, its digest: the chain and the rows its records fill."""
        if self._layout:
            return npy_digest(chain.hexdigest, self.check.line_count, self.check.record_lines())
        return chain.hexdigest

    def checkpoints(self, *, every: bool) -> Iterator[Checkpoint]:
        """One checkpoint. A finished array's digest covers the input's whole layout; a
        ``.part``'s rows are read back first, and their content digest compared."""
        del every  # one checkpoint either way
        if self._layout:
            refusal = (
                f"{self.path} was made from another input, model or options "
                f"({digest_path(self.path).name} does not match): it is not this input's "
                f"output ({REPLACE})"
            )
            if self.point.count != self.check.record_count:  # it holds every record it has
                raise InputChangedError(refusal)
            if self.point.count:
                assert self.point.digest is not None
                yield Checkpoint(
                    self.point.count, self.point.digest, str(self.path), refusal=refusal
                )
            return
        if not self.point.count:
            return
        if self._other_input is not None:
            raise InputChangedError(self._other_input)
        assert self.point.digest is not None
        assert self.point.dimension is not None
        left = self._rows * self.point.dimension * 4
        self._content = ContentDigest()  # of the rows read back, to go on from
        with open(self.part, "rb") as f:
            f.seek(HEADER_SIZE)
            while left:
                chunk = f.read(min(left, _READ_CHUNK))
                if not chunk:
                    raise OutputConflictError(
                        f"{self.part} is shorter than its checkpoint says: it is corrupt "
                        f"({REPLACE})"
                    )
                self._content.add_vectors(chunk)
                left -= len(chunk)
        found = self._content_found
        if found is not None and found != self._content.hexdigest:
            raise OutputConflictError(
                f"{self.part}: its {self._rows} rows are not those its checkpoint's content "
                f"digest was made from (changed after they were written): it is corrupt "
                f"({REPLACE})"
            )
        yield Checkpoint(self.point.count, self.point.digest, str(self.part), last_line=self._rows)

    def start(self, chain: DigestChain, total: int) -> None:
        """Cut the ``.part`` (and its ids file) back to its checkpoint and open it for
        appending."""
        self._chain = chain
        self._keys = ContentKeys(chain.settings)
        self.dimension = self.point.dimension
        self._records = self.point.count
        if self.overwrite:
            self.part.unlink(missing_ok=True)
            self.ids_part.unlink(missing_ok=True)
        if self.point.finished:
            # the layout digest covers every record: verified, it holds them all
            assert self.point.count == total, "a finished .npy is never continued"
            self.already_complete = True
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.point.count:
            assert self.dimension is not None
            self._reopen_ids()
            os.truncate(self.part, HEADER_SIZE + self._rows * self.dimension * 4)
            self._file = open(self.part, "r+b")  # noqa: SIM115
            self._file.seek(0, os.SEEK_END)
        else:
            self.part.unlink(missing_ok=True)  # a header without results: start over

    def _reopen_ids(self) -> None:
        """Cut the ``.part``'s ids file back to its checkpoint and open it for appending (a
        ``.part`` without one, of an earlier version, is finished without one)."""
        size = self._ids_found
        if size is None:
            self._with_ids = False
            return
        try:
            held = self.ids_part.stat().st_size
        except FileNotFoundError:
            held = -1
        if held < size:
            raise OutputConflictError(
                f"{self.ids_part} is shorter than {self.part}'s checkpoint says ({held} bytes, "
                f"not {size}): it is corrupt ({REPLACE})"
            )
        os.truncate(self.ids_part, size)
        self._ids = open(self.ids_part, "ab")  # noqa: SIM115

    def _open_new(self, dim: int) -> IO[bytes]:
        f = open(self.part, "wb")  # noqa: SIM115
        f.write(npy_header(self.check.line_count, dim))
        self._rows = 0
        self._content = ContentDigest()
        self._ids = open(self.ids_part, "wb")  # noqa: SIM115
        self._with_ids = True
        return f

    @property
    def part_files(self) -> tuple[Path, ...]:
        """The ``.part`` and its ids file."""
        return (self.part, self.ids_part)

    def _put(self, f: IO[bytes], rows: bytes) -> None:
        """Append rows' bytes to the file and to its content digest."""
        f.write(rows)
        self._content.add_vectors(rows)

    def _write_nan(self, f: IO[bytes], count: int) -> None:
        assert self.dimension is not None
        np = self._np
        block = np.full((min(count, _NAN_CHUNK), self.dimension), np.nan, dtype="<f4")
        while count > 0:
            step = min(count, len(block))
            self._put(f, block[:step].tobytes())
            count -= step
            self._rows += step

    def write(self, records: Sequence[Record], vectors: Vectors) -> None:
        """Append one batch's rows (NaN rows for bad lines before them), then checkpoint."""
        assert self._chain is not None, "not started"
        check_dimension(self, vectors, self.point.source)
        assert self.dimension is not None
        rows = self._np.asarray(vectors, dtype="<f4")
        f = self._file if self._file is not None else self._open_new(self.dimension)
        self._file = f
        run_start = 0
        assert self._keys is not None
        keys = []
        for index, record in enumerate(records):
            gap = record.line - 1 - (self._rows + index - run_start)
            if gap:
                self._put(f, rows[run_start:index].tobytes())
                self._rows += index - run_start
                run_start = index
                self._write_nan(f, gap)
            keys.append(self._keys.add(self._chain, record)[1])
        self._put(f, rows[run_start:].tobytes())
        self._rows += len(records) - run_start
        self._records += len(records)
        f.flush()
        checkpoint: dict[str, Any] = {
            "records": self._records,
            "rows": self._rows,
            "digest": self._chain.hexdigest,
            "content": self._content.hexdigest,
        }
        if self._ids is not None:
            self._ids.write(b"".join(_id_line(r, k) for r, k in zip(records, keys, strict=True)))
            self._ids.flush()
            checkpoint["ids"] = self._ids.tell()
        os.pwrite(f.fileno(), npy_header(self.check.line_count, self.dimension, checkpoint), 0)

    def finish(self) -> None:
        """Fill trailing NaN rows, clean the header, write the digest, rename the ``.part``."""
        if self.already_complete:
            return
        assert self._chain is not None, "not started"
        lines = self.check.line_count
        if self._file is None:  # no record at all: one empty row per (bad) line
            self.dimension = 0
            self._file = self._open_new(0)
        f = self._file
        self._write_nan(f, lines - self._rows)
        f.flush()
        os.pwrite(f.fileno(), npy_header(lines, self.dimension or 0), 0)
        os.fsync(f.fileno())
        f.close()
        self._file = None
        digest = npy_digest(self._chain.hexdigest, lines, self.check.record_lines())
        found: dict[str, Any] = {"digest": digest, "records": self._records, "lines": lines}
        ids = self._close_ids()
        if ids is not None:
            found["ids"] = ids
        sidecar = json.dumps(found)
        # The digest first: a crash before the rename leaves the complete .part to finish.
        # It names the ids file's bytes: one left from an earlier output is never taken.
        replace_atomically(digest_path(self.path), lambda out: out.write(sidecar.encode() + b"\n"))
        os.replace(self.part, self.path)
        if ids is not None:
            os.replace(self.ids_part, ids_path(self.path))
        else:
            ids_path(self.path).unlink(missing_ok=True)
        fsync_dir(self.path.parent)

    def _close_ids(self) -> str | None:
        """Close the ids file, fsynced; its digest (``None``: there is none)."""
        if self._ids is None or not self._with_ids:
            return None
        self._ids.flush()
        os.fsync(self._ids.fileno())
        self._ids.close()
        self._ids = None
        return file_digest(self.ids_part)

    def close(self) -> None:
        """Close ``.part``: kept for resuming if it holds results, else removed."""
        if self._ids is not None:
            ids, self._ids = self._ids, None
            with contextlib.suppress(OSError):  # cut back to the checkpoint by the rerun
                ids.close()
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()  # may fail (a full disk): a torn tail is cut off by the rerun
            finally:
                if self._records == self.point.count == 0:
                    self.part.unlink(missing_ok=True)
                    self.ids_part.unlink(missing_ok=True)

    def describe(self) -> str:
        """The output path."""
        return str(self.path)


class NpyResults(ResultsFile):
    """A ``.npy`` output's results, finished or an unfinished run's ``.part``, read for reuse
    (:mod:`..reuse`): the keys of its ids file, and rows read by number."""

    def __init__(
        self, data: Path, ids: Path, *, offset: int, dimension: int, rows: int, ids_bytes: int
    ) -> None:
        super().__init__(data)
        self._ids = ids
        self._offset = offset
        self._dimension = dimension
        self._rows = rows
        self._ids_bytes = ids_bytes

    @classmethod
    def finished(cls, path: Path) -> NpyResults | None:
        """``path``'s results, if its digest file names an ids file that is there (one left
        by a crash between the renames of a finish is put in place now); ``None`` if not."""
        np = require_numpy(*NEEDS_NUMPY)
        try:
            found = json.loads(digest_path(path).read_bytes())
            wanted = found.get("ids") if isinstance(found, dict) else None
        except (OSError, ValueError):
            return None
        if not isinstance(wanted, str):
            return None
        ids = ids_path(path)
        if not _same_digest(ids, wanted):
            left = partial_path(ids)  # renamed last by a finish that stopped before it
            if partial_path(path).exists() or not _same_digest(left, wanted):
                return None
            os.replace(left, ids)
        try:
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read(f)
                offset = f.tell()
        except (ValueError, OSError):
            return None
        if len(shape) != 2 or dtype != np.float32:
            return None
        return cls(
            path,
            ids,
            offset=offset,
            dimension=int(shape[1]),
            rows=int(shape[0]),
            ids_bytes=ids.stat().st_size,
        )

    @classmethod
    def unfinished(cls, part: Path, ids_part: Path) -> NpyResults | None:
        """An unfinished run's results (its ``.part`` and ids file), up to its checkpoint;
        ``None`` if it has none, or no ids file."""
        try:
            with open(part, "rb") as f:
                raw = f.read(HEADER_SIZE)
            (_, dimension), checkpoint = read_npy_header(raw, part)
        except (OSError, OutputConflictError):
            return None
        if not isinstance(checkpoint, dict):
            return None
        rows, ids = checkpoint.get("rows"), checkpoint.get("ids")
        if not _count(rows) or not _count(ids) or dimension < 1:
            return None
        try:
            if (
                ids_part.stat().st_size < ids
                or part.stat().st_size < HEADER_SIZE + rows * dimension * 4
            ):
                return None
        except OSError:
            return None
        return cls(
            part, ids_part, offset=HEADER_SIZE, dimension=dimension, rows=rows, ids_bytes=ids
        )

    def keys(self) -> tuple[bytes, array[int]]:
        """Each record's key and its row."""
        from textservice.cli.reuse import unhex_keys

        hexes = bytearray()
        rows: array[int] = array("q")
        with open(self._ids, "rb") as f:
            left = self._ids_bytes  # lines past it were written after the last checkpoint
            for number, line in enumerate(f, start=1):
                if left <= 0:
                    break
                left -= len(line)
                self._take(line, number, hexes, rows)
        try:
            return unhex_keys(bytes(hexes)), rows
        except ValueError:
            raise OutputConflictError(
                f"{self._ids} holds a key that is not hex digits: it is corrupt ({REPLACE})"
            ) from None

    def _take(self, line: bytes, number: int, hexes: bytearray, rows: array[int]) -> None:
        """Add one line's key and row to ``hexes`` and ``rows``."""
        try:
            found = json.loads(line)
            row, key = found["row"], found["key"]
            if not _count(row) or row >= self._rows or not isinstance(key, str) or len(key) != 32:
                raise ValueError("a field of the wrong type or length")
            hexes += key.encode("ascii")
        except (ValueError, KeyError, TypeError, UnicodeEncodeError) as exc:
            raise OutputConflictError(
                f"{self._ids}:{number}: not a row's id and key ({exc}): it is corrupt ({REPLACE})"
            ) from None
        rows.append(row)

    def read(self, rows: Sequence[int]) -> Any:
        """Rows ``rows`` as a float32 array (``OutputConflictError`` for a row that is not
        all finite numbers)."""
        np = require_numpy(*NEEDS_NUMPY)
        if self._file is None:
            self._file = open(self.where, "rb")  # noqa: SIM115
        size = self._dimension * 4
        out = np.empty((len(rows), self._dimension), dtype="<f4")
        index = 0
        while index < len(rows):  # a run of consecutive rows is one read
            end = index + 1
            while end < len(rows) and rows[end] == rows[end - 1] + 1:
                end += 1
            data = os.pread(
                self._file.fileno(), size * (end - index), self._offset + rows[index] * size
            )
            if len(data) != size * (end - index):
                raise OutputConflictError(f"{self.where} is shorter than its rows: it is corrupt")
            out[index:end] = np.frombuffer(data, dtype="<f4").reshape(end - index, -1)
            index = end
        if not np.isfinite(out).all():
            raise OutputConflictError(
                f"{self.where} holds a row that is not all numbers where its ids file names a "
                f"result: it is corrupt ({REPLACE})"
            )
        return out

    def moved(self, old: Path, new: Path) -> None:
        """Its files, under ``old``, are now under ``new``."""
        super().moved(old, new)
        self._ids = new / self._ids.relative_to(old)


def _same_digest(path: Path, wanted: str) -> bool:
    try:
        return file_digest(path) == wanted
    except OSError:
        return False
