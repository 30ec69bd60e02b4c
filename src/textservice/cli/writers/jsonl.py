"""JSONL results of ``textservice embed``: standard output, or a resumable file (the steps
every file output follows: :mod:`.common`).

The ``.part`` is the output itself, one ``{"id", "digest", "embedding"}`` line per record; a
torn last line is cut off and redone.

JSONL embeddings are the exact float32 values as JSON numbers that parse back to exactly those
values (as Python floats). With pyarrow installed they are formatted from the float32 rows by
Arrow's compute kernels, about four times faster than Python's float repr; without it, from
the lists of Python floats the client returns.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from textservice.cli.checkpoints import REPLACE, Checkpoint
from textservice.cli.content_keys import ContentKeys, is_key
from textservice.cli.digests import DigestChain, VectorSettings, is_digest, json_default
from textservice.cli.errors import OutputConflictError
from textservice.cli.inputs import Record, RecordId
from textservice.cli.writers.common import (
    EMPTY,
    EncodedRows,
    ResultsFile,
    ResumePoint,
    Vectors,
    check_dimension,
    fsync_dir,
    partial_path,
)

__all__ = [
    "JsonlFile",
    "Scan",
    "StdoutOutput",
    "encode_result",
    "iter_result_checkpoints",
    "scan_results",
]


def encode_result(
    record_id: RecordId,
    digest: str,
    vector: Sequence[float],
    kept: Sequence[tuple[str, object]] = (),
    *,
    key: str | None = None,
) -> bytes:
    """One JSONL result line, newline included, from a list of floats; ``kept``: the
    ``--keep-columns`` names and values, after the id; ``key``: the record's content key
    (:mod:`..content_keys`; ``None``: none, as before keys existed), before the embedding."""
    obj: dict[str, Any] = {"id": record_id, **dict(kept), "digest": digest}
    if key is not None:
        obj["key"] = key
    obj["embedding"] = list(vector)
    return json.dumps(obj, separators=(",", ":"), default=json_default).encode("utf-8") + b"\n"


def _kept_json(names: Sequence[str], record: Record) -> str:
    """The kept columns of one result line: ``,"name":value`` each (``""``: none)."""
    return "".join(
        f",{json.dumps(name)}:{json.dumps(value, separators=(',', ':'), default=json_default)}"
        for name, value in zip(names, record.kept, strict=True)
    )


def _float_arrays(rows: Any) -> list[str] | None:
    """Each row of a float32 array as the inside of a JSON array (``"0.1,-2.5e-05"``), or
    ``None`` without pyarrow.

    Each value is written as the shortest decimal that reads back as the same float64, i.e.
    exactly the float32 value (the float64 of a float32 is exact).
    """
    try:
        import pyarrow
        import pyarrow.compute
    except ImportError:
        return None
    import numpy

    count, dim = rows.shape
    values = pyarrow.array(rows.astype(numpy.float64).ravel())
    strings = pyarrow.compute.cast(values, pyarrow.string())
    offsets = pyarrow.array(numpy.arange(0, count * dim + 1, dim, dtype=numpy.int32))
    lists = pyarrow.ListArray.from_arrays(offsets, strings)
    joined: list[str] = pyarrow.compute.binary_join(lists, ",").to_pylist()
    return joined


def encode_batch(
    records: Sequence[Record],
    vectors: Vectors,
    chain: DigestChain,
    keep: Sequence[str] = (),
    keys: ContentKeys | None = None,
) -> bytes:
    """The JSONL lines of one batch; each record is added to ``chain`` for its digest and
    given its content key (by ``keys``, default: the chain's settings'); ``keep``: the names
    of the records' kept columns."""
    keys = keys if keys is not None else ContentKeys(chain.settings)
    added = [keys.add(chain, r) for r in records]  # (digest, key) of each
    if isinstance(vectors, EncodedRows):
        return b"".join(
            b'{"id":%s%s,"digest":"%s","key":"%s","embedding":%s}\n'
            % (
                json.dumps(r.id).encode("ascii"),
                _kept_json(keep, r).encode("ascii") if keep else b"",
                digest.encode(),
                key.encode(),
                v,
            )
            for r, (digest, key), v in zip(records, added, vectors.rows, strict=True)
        )
    texts = None if isinstance(vectors, list) else _float_arrays(vectors)
    if texts is None:
        rows = vectors if isinstance(vectors, list) else vectors.astype("float64").tolist()
        return b"".join(
            encode_result(r.id, digest, v, list(zip(keep, r.kept, strict=True)), key=key)
            for r, (digest, key), v in zip(records, added, rows, strict=True)
        )
    return "".join(
        f'{{"id":{json.dumps(r.id)}{_kept_json(keep, r) if keep else ""},'
        f'"digest":"{digest}","key":"{key}","embedding":[{t}]}}\n'
        for r, (digest, key), t in zip(records, added, texts, strict=True)
    ).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _load_result(raw: bytes) -> dict[str, Any]:
    """One result line (no newline) as an object whose ``id``, ``digest`` and ``embedding`` have
    the right types; ``ValueError`` saying what is wrong if not."""
    try:
        # UTF-8, as written (json.loads would guess an encoding for bytes: NULs read as
        # UTF-32); NaN and Infinity are not JSON (Python's json reads them unless told not to).
        obj = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except ValueError as exc:  # UnicodeDecodeError included
        raise ValueError(f"not a JSON result line ({exc})") from None
    if not isinstance(obj, dict) or "id" not in obj or "embedding" not in obj:
        raise ValueError('expected an object with "id" and "embedding"')
    record_id = obj["id"]
    if isinstance(record_id, bool) or not isinstance(record_id, str | int):
        raise ValueError('"id" must be a string or an integer')
    digest = obj.get("digest")
    if digest is not None and not isinstance(digest, str):
        raise ValueError('"digest" must be a string')
    key = obj.get("key")
    if key is not None and not is_key(key):
        raise ValueError(f'"key" {json.dumps(key)} is no content key')
    vector = obj["embedding"]
    if not isinstance(vector, list) or not all(type(x) is float or type(x) is int for x in vector):
        raise ValueError('"embedding" must be a list of numbers')
    return obj


@dataclass(frozen=True)
class Scan:
    """What a results file holds, found without parsing every line."""

    count: int
    """Complete lines."""
    valid_bytes: int
    """Length of the file up to the end of its last complete line."""
    last: bytes | None
    """The last complete line, without its newline (``None``: no lines)."""


_CHUNK = 1 << 20


def scan_results(path: Path, *, allow_torn_tail: bool) -> Scan:
    """Count the complete lines of ``path`` and find the last one, reading it in chunks.

    A last line without a newline (a torn write) is left out when allowed, else an error.
    """
    count = 0
    last_end = -1  # offset of the last newline
    previous_end = -1  # offset of the newline before it
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            newlines = chunk.count(b"\n")
            if newlines:
                end = chunk.rfind(b"\n")
                previous_end = size + chunk.rfind(b"\n", 0, end) if newlines > 1 else last_end
                last_end = size + end
                count += newlines
            size += len(chunk)
        if size > last_end + 1 and not allow_torn_tail:
            raise OutputConflictError(f"{path}:{count + 1}: incomplete last line")
        last = None
        if count:
            f.seek(previous_end + 1)
            last = f.read(last_end - previous_end - 1)
    return Scan(count, last_end + 1, last)


def _corrupt_line(source: Path, number: int, why: str) -> OutputConflictError:
    kept = (
        f"to keep the {number - 1} results before it, cut the file there (head -n {number - 1}); "
        if number > 1
        else ""
    )
    return OutputConflictError(
        f"{source}:{number}: {why}: the results are corrupt from this line on; {kept}"
        f"pass --overwrite to start over"
    )


def iter_result_checkpoints(path: Path, count: int) -> Iterator[Checkpoint]:
    """Read the first ``count`` lines of a JSONL result file back, each checked (valid JSON with
    an id, a digest and an embedding of finite numbers, the same length on every line), as one
    checkpoint per line; ``OutputConflictError`` naming the first bad line."""
    dimension: int | None = None
    with open(path, "rb") as f:
        for number in range(1, count + 1):
            raw = f.readline()
            if not raw.endswith(b"\n"):
                raise _corrupt_line(path, number, "incomplete line")
            try:
                obj = _load_result(raw[:-1])
            except ValueError as exc:
                raise _corrupt_line(path, number, str(exc)) from None
            digest, length = obj.get("digest"), len(obj["embedding"])
            if digest is None:
                raise no_digest(path)
            if not is_digest(digest):
                raise _corrupt_line(path, number, f'"digest" {json.dumps(digest)} is no digest')
            if not length:
                raise _corrupt_line(path, number, "an empty embedding")
            if dimension is None:
                dimension = length
            elif length != dimension:
                raise _corrupt_line(
                    path, number, f"an embedding of {length} values after ones of {dimension}"
                )
            yield Checkpoint(number, digest, f"{path}: result {number}", ids=(obj["id"],))


def no_digest(source: Path) -> OutputConflictError:
    """The error for an output written before digests existed."""
    return OutputConflictError(
        f"{source} has no input digests (it was written by an older version of textservice): "
        "it cannot be checked against this input; pass --overwrite to embed it again"
    )


class StdoutOutput:
    """JSONL to standard output: streamed per batch, no resume."""

    def __init__(self, stream: IO[bytes] | None = None, *, keep: Sequence[str] = ()) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer
        self._keep = keep
        self._chain: DigestChain | None = None
        self.point = EMPTY
        self.dimension: int | None = None
        self.already_complete = False

    @property
    def resume_file(self) -> Path | None:
        """``None``: standard output cannot be resumed."""
        return None

    @property
    def part_files(self) -> tuple[Path, ...]:
        """None."""
        return ()

    def point_digest(self, chain: DigestChain) -> str:
        """The chain's digest (a result line holds it as it is)."""
        return chain.hexdigest

    def checkpoints(self, *, every: bool) -> Iterator[Checkpoint]:
        """None: standard output holds no earlier results."""
        return iter(())

    def start(self, chain: DigestChain, total: int) -> None:
        """Take the digest chain."""
        self._chain = chain
        self._keys = ContentKeys(chain.settings)

    def write(self, records: Sequence[Record], vectors: Vectors) -> None:
        """Write one batch of JSONL lines and flush."""
        assert self._chain is not None, "not started"
        check_dimension(self, vectors)
        self._stream.write(encode_batch(records, vectors, self._chain, self._keep, self._keys))
        self._stream.flush()

    def finish(self) -> None:
        """Flush."""
        self._stream.flush()

    def close(self) -> None:
        """Flush what can still be delivered."""
        with contextlib.suppress(BrokenPipeError):  # the reader is gone: nothing more to do
            self._stream.flush()

    def describe(self) -> str:
        """``standard output``."""
        return "standard output"


class JsonlFile:
    """A resumable JSONL file (see the module docstring)."""

    def __init__(self, path: Path, *, settings: VectorSettings, overwrite: bool) -> None:
        self.path = path
        self.part = partial_path(path)
        self.overwrite = overwrite
        self._settings = settings
        self._keep = settings.keep_columns or ()
        self.dimension: int | None = None
        self.already_complete = False
        self._chain: DigestChain | None = None
        self._file: IO[bytes] | None = None
        self._valid_bytes = 0
        self.point = EMPTY
        if overwrite:
            return
        if self.part.exists():
            self.point = self._inspect(self.part, allow_torn_tail=True)
        elif path.exists():
            self.point = self._inspect(path, allow_torn_tail=False)

    def _inspect(self, source: Path, *, allow_torn_tail: bool) -> ResumePoint:
        # Cheap: count the lines and parse only the last (checkpoints() reads them all).
        scan = scan_results(source, allow_torn_tail=allow_torn_tail)
        self._valid_bytes = scan.valid_bytes
        if scan.last is None:
            return ResumePoint(source=source, finished=source == self.path)
        try:
            last = _load_result(scan.last)
        except ValueError as exc:
            raise _corrupt_line(source, scan.count, str(exc)) from None
        digest = last.get("digest")
        if digest is None:
            raise no_digest(source)
        dimension = len(last["embedding"])
        return ResumePoint(scan.count, digest, source, dimension, source == self.path)

    @property
    def part_files(self) -> tuple[Path, ...]:
        """The ``.part``."""
        return (self.part,)

    @property
    def resume_file(self) -> Path | None:
        """The ``.part``, if it exists and holds results."""
        try:
            return self.part if self.part.stat().st_size > 0 else None
        except FileNotFoundError:
            return None

    def point_digest(self, chain: DigestChain) -> str:
        """The chain's digest (a result line holds it as it is)."""
        return chain.hexdigest

    def checkpoints(self, *, every: bool) -> Iterator[Checkpoint]:
        """Every line read back and checked, each a checkpoint (its id and digest); with
        ``every=False``, the last line only (parsed when inspected)."""
        source, count = self.point.source, self.point.count
        if source is None or not count:
            return
        if every:
            yield from iter_result_checkpoints(source, count)
            return
        assert self.point.digest is not None
        yield Checkpoint(count, self.point.digest, f"{source}: result {count}")

    def start(self, chain: DigestChain, total: int) -> None:
        """Cut the ``.part`` back to its complete lines, or continue a finished output in it."""
        self._chain = chain
        self._keys = ContentKeys(chain.settings)
        self.dimension = self.point.dimension
        if self.overwrite:
            self.part.unlink(missing_ok=True)
        elif self.point.finished and self.point.count == total:
            self.already_complete = True
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.point.finished:  # the input grew: continue the finished output in a .part
            shutil.copyfile(self.path, self.part)
        elif self.point.source is not None:
            os.truncate(self.part, self._valid_bytes)
        self._file = open(self.part, "ab")  # noqa: SIM115

    def write(self, records: Sequence[Record], vectors: Vectors) -> None:
        """Append one batch to ``.part`` and flush it."""
        assert self._file is not None and self._chain is not None, "not started, or closed"
        check_dimension(self, vectors, self.point.source)
        self._file.write(encode_batch(records, vectors, self._chain, self._keep, self._keys))
        self._file.flush()

    def finish(self) -> None:
        """Turn ``.part`` into the output atomically."""
        if self.already_complete:
            return
        assert self._file is not None, "output already closed"
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self.part, self.path)
        fsync_dir(self.path.parent)

    def close(self) -> None:
        """Close ``.part``: kept for resuming if it holds results, else removed."""
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()  # may fail (a full disk): a torn tail is cut off by the rerun
            finally:
                if self.resume_file is None:
                    self.part.unlink(missing_ok=True)

    def describe(self) -> str:
        """The output path."""
        return str(self.path)


_EMBEDDING_FIELD = b',"embedding":['
_KEY_FIELD = b'"key":"'
_NUMBERS = re.compile(rb"\[-?[0-9][0-9.eE+-]*(?:,-?[0-9][0-9.eE+-]*)*\]")


def _fields(line: bytes) -> tuple[int, bytes | None]:
    """Where a result line's embedding starts (-1: nowhere), and its key's hex digits
    (``None``: none): our lines end ``,"key":"<32 hex>","embedding":[numbers]}``, and the
    numbers hold no ``"``, so the last ``,"embedding":[`` is the field, whatever the kept
    columns before it hold."""
    at = line.rfind(_EMBEDDING_FIELD)
    if at < 0:
        return -1, None
    key = line[max(0, at - 40) : at]
    if len(key) == 40 and key.startswith(_KEY_FIELD) and key.endswith(b'"'):
        return at, key[7:39]
    return at, None


class JsonlResults(ResultsFile):
    """A JSONL output's results, finished or an unfinished run's, read for reuse
    (:mod:`..reuse`): its lines' keys, and any line's embedding copied as it was written.

    Our lines have a fixed shape, so a key and an embedding are found without parsing the
    line (:func:`_fields`). A line without a key (written before keys existed), or not ending
    in a newline, is not reused; an embedding that is not a list of plain numbers is an error
    naming the line.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._offsets: array[int] = array("q")
        self._dimension: int | None = None

    def keys(self) -> tuple[bytes, array[int]]:
        """Each keyed line's key, and its line number (0-based) as its row."""
        from textservice.cli.reuse import unhex_keys

        hexes = bytearray()
        rows: array[int] = array("q")
        offset = 0
        with open(self.where, "rb") as f:
            for number, line in enumerate(f):
                self._offsets.append(offset)
                offset += len(line)
                _, key = _fields(line)
                if key is not None and line.endswith(b"\n"):
                    hexes += key
                    rows.append(number)
        try:
            return unhex_keys(bytes(hexes)), rows
        except ValueError:
            raise OutputConflictError(
                f"{self.where} holds a key that is not hex digits: it is corrupt ({REPLACE})"
            ) from None

    def read(self, rows: Sequence[int]) -> EncodedRows:
        """The embeddings of lines ``rows`` (0-based), as written."""
        if self._file is None:
            self._file = open(self.where, "rb")  # noqa: SIM115
        found = []
        for row in rows:
            self._file.seek(self._offsets[row])
            line = self._file.readline()
            at, _ = _fields(line)
            vector = line[at + len(_EMBEDDING_FIELD) - 1 : -2] if at >= 0 else b""
            if not line.endswith(b"}\n") or _NUMBERS.fullmatch(vector) is None:
                raise _corrupt_line(self.where, row + 1, '"embedding" is not a list of numbers')
            dimension = vector.count(b",") + 1
            if self._dimension is None:
                self._dimension = dimension
            elif dimension != self._dimension:
                raise _corrupt_line(
                    self.where,
                    row + 1,
                    f"an embedding of {dimension} values after ones of {self._dimension}",
                )
            found.append(vector)
        return EncodedRows(found, self._dimension or 0)
