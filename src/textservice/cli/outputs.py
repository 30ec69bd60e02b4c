"""Writing ``textservice embed`` results: JSONL or ``.npy``, resumable, finished atomically.

How a file output stays valid whatever happens (the design, also in the README):

- Results go first to ``OUTPUT.part``, one JSON line per record, whatever the final format:
  for a JSONL output the final lines (``{"id": …, "embedding": […]}``); for a ``.npy``
  output ``{"id": …, "f32": "<base64 of the little-endian float32 values>"}`` (exact, and much
  cheaper to write than JSON numbers). Batches are appended in input order and the file is
  flushed after each, so a crash or Ctrl-C leaves a valid prefix of the results (at worst with
  one torn last line, which the next run cuts off and redoes).
- A rerun with the same output reads ``OUTPUT.part``, checks that its ids are the first ids of
  the input, and embeds only the rest. An existing finished ``OUTPUT`` counts too: when it
  already holds every record there is nothing to do, and a JSONL one that holds a prefix (the
  input grew) is continued. Anything that does not match the input is an error, never
  overwritten, unless ``--overwrite`` is given.
- At the end the results become ``OUTPUT`` with ``os.replace`` (atomic on POSIX): a JSONL
  output is the ``.part`` itself, fsynced and renamed; a ``.npy`` output is written to a
  temporary file in the same folder, fsynced, renamed, and then the ``.part`` is removed.
  ``OUTPUT`` is therefore either absent, the previous file, or complete.
- ``.npy`` rows follow the input's lines: row ``i`` is line ``i + 1``; the row of a bad line
  skipped with ``--skip-bad`` is all NaN. The array is float32 (the API's own precision).
- JSONL embeddings are the exact float32 values, written as JSON numbers that parse back to
  exactly those values.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from textservice.cli.inputs import Input, Record, RecordId

Kind = Literal["jsonl", "npy"]

__all__ = [
    "FileOutput",
    "Kind",
    "NumpyMissingError",
    "OutputConflictError",
    "ResultWriter",
    "StdoutOutput",
    "encode_result",
    "open_output",
    "output_kind",
    "partial_path",
    "read_results",
]


class OutputConflictError(Exception):
    """An existing output or partial file is corrupt or does not belong to this input."""


class NumpyMissingError(Exception):
    """``.npy`` output was asked for but numpy is not installed."""


def output_kind(path: str) -> Kind:
    """``npy`` for a ``.npy`` file name, else ``jsonl``."""
    return "npy" if path.lower().endswith(".npy") else "jsonl"


def partial_path(path: Path) -> Path:
    """Where results are collected before ``path`` is finished: ``path`` + ``.part``."""
    return path.with_name(path.name + ".part")


def encode_result(record_id: RecordId, vector: Sequence[float], *, packed: bool = False) -> bytes:
    """One result line, newline included.

    ``packed`` (the ``.part`` of a ``.npy`` output) stores the vector as base64 of its
    little-endian float32 bytes under ``"f32"``: exact, and ~50x faster to write and read
    than JSON numbers, which a ``.npy`` output never shows anyone.
    """
    if packed:
        raw = struct.pack(f"<{len(vector)}f", *vector)
        obj: dict[str, Any] = {"id": record_id, "f32": base64.b64encode(raw).decode("ascii")}
    else:
        obj = {"id": record_id, "embedding": list(vector)}
    return json.dumps(obj, separators=(",", ":")).encode("utf-8") + b"\n"


def _encode_batch(
    records: Sequence[Record], vectors: Sequence[Sequence[float]], *, packed: bool = False
) -> bytes:
    return b"".join(
        encode_result(r.id, v, packed=packed) for r, v in zip(records, vectors, strict=True)
    )


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        raise NumpyMissingError(
            "writing .npy needs numpy: pip install numpy "
            "(or write JSONL: an output name not ending in .npy)"
        ) from None
    return numpy


@dataclass
class _Results:
    ids: list[RecordId]
    vectors: list[list[float]]
    valid_bytes: int
    """Length of the file up to the end of its last complete line."""


def _parse_result(raw: bytes, where: str) -> tuple[RecordId, list[float]]:
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise OutputConflictError(f"{where}: not a JSON result line ({exc})") from None
    if not isinstance(obj, dict) or "id" not in obj or not ("embedding" in obj or "f32" in obj):
        raise OutputConflictError(f'{where}: expected an object with "id" and "embedding"')
    record_id = obj["id"]
    if isinstance(record_id, bool) or not isinstance(record_id, str | int):
        raise OutputConflictError(f'{where}: "id" must be a string or an integer')
    if "f32" in obj:
        try:
            raw_vector = base64.b64decode(obj["f32"], validate=True)
            if len(raw_vector) % 4:
                raise ValueError("not a whole number of float32 values")
        except (TypeError, ValueError) as exc:
            raise OutputConflictError(f'{where}: bad "f32" ({exc})') from None
        return record_id, list(struct.unpack(f"<{len(raw_vector) // 4}f", raw_vector))
    vector = obj["embedding"]
    if not isinstance(vector, list) or not all(type(x) is float or type(x) is int for x in vector):
        raise OutputConflictError(f'{where}: "embedding" must be a list of numbers')
    return record_id, [float(x) for x in vector]


def read_results(path: Path, *, allow_torn_tail: bool) -> _Results:
    """Parse a JSONL results file; a last line without newline is dropped if allowed."""
    data = path.read_bytes()
    ids: list[RecordId] = []
    vectors: list[list[float]] = []
    offset = 0
    number = 0
    while offset < len(data):
        end = data.find(b"\n", offset)
        number += 1
        if end < 0:
            if allow_torn_tail:
                break  # an interrupted write: redo that record
            raise OutputConflictError(f"{path}:{number}: incomplete last line")
        record_id, vector = _parse_result(data[offset:end], f"{path}:{number}")
        if vectors and len(vector) != len(vectors[0]):
            raise OutputConflictError(
                f"{path}:{number}: embedding has {len(vector)} values, "
                f"earlier ones have {len(vectors[0])}"
            )
        ids.append(record_id)
        vectors.append(vector)
        offset = end + 1
    return _Results(ids, vectors, offset)


def _check_prefix(ids: list[RecordId], records: list[Record], source: Path) -> None:
    if len(ids) > len(records):
        raise OutputConflictError(
            f"{source} holds {len(ids)} results but the input has only {len(records)} "
            "records: it is not this input's output (pass --overwrite to replace it)"
        )
    for i, (got, record) in enumerate(zip(ids, records, strict=False)):
        if type(got) is not type(record.id) or got != record.id:
            raise OutputConflictError(
                f"{source}: result {i + 1} has id {json.dumps(got)} but the input's record "
                f"{i + 1} (line {record.line}) has id {json.dumps(record.id)}: it is not this "
                "input's output (pass --overwrite to replace it)"
            )


class ResultWriter(Protocol):
    """Where ``textservice embed`` puts results, batch by batch in input order."""

    done: int
    """How many of the input's records were already done before this run (a prefix)."""
    dimension: int | None
    """The embedding size seen so far, if any."""
    already_complete: bool
    """Whether an earlier run already finished this output (nothing to write)."""
    resume_file: Path | None
    """Where partial results stay for a rerun to resume from (``None``: no resume)."""

    def write(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        """Append one batch of results and flush them."""

    def finish(self) -> None:
        """Make the output complete (atomically for files)."""

    def close(self) -> None:
        """Stop without finishing: what was written stays (a file's ``.part``)."""

    def describe(self) -> str:
        """Where the results are, for messages."""


def _check_dimension(writer: ResultWriter, vectors: Sequence[Sequence[float]]) -> None:
    for vector in vectors:
        if writer.dimension is None:
            writer.dimension = len(vector)
        elif len(vector) != writer.dimension:
            raise OutputConflictError(
                f"got an embedding of {len(vector)} values after ones of {writer.dimension} "
                "(a different model than the partial output's?)"
            )


class StdoutOutput:
    """JSONL to standard output: streamed per batch, no resume."""

    def __init__(self, stream: IO[bytes] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer
        self.done = 0
        self.dimension: int | None = None
        self.already_complete = False
        self.resume_file: Path | None = None

    def write(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        """Write one batch of JSONL lines and flush."""
        _check_dimension(self, vectors)
        self._stream.write(_encode_batch(records, vectors))
        self._stream.flush()

    def finish(self) -> None:
        """Flush."""
        self._stream.flush()

    def close(self) -> None:
        """Flush."""
        self._stream.flush()

    def describe(self) -> str:
        """``standard output``."""
        return "standard output"


class FileOutput:
    """A resumable file output (see the module docstring for the design)."""

    def __init__(self, path: Path, inp: Input, *, kind: Kind, overwrite: bool) -> None:
        self.path = path
        self.part = partial_path(path)
        self.kind = kind
        self.input = inp
        self.done = 0
        self.dimension: int | None = None
        self.already_complete = False
        self.resume_file: Path | None = self.part
        self._np: Any = _numpy() if kind == "npy" else None
        self._rows: Any = None  # the .npy array being filled
        self._file: IO[bytes] | None = None

        records = inp.records
        start_bytes: bytes | None = None  # content to seed a new .part with
        if overwrite:
            self.part.unlink(missing_ok=True)
        elif self.part.exists():
            found = read_results(self.part, allow_torn_tail=True)
            _check_prefix(found.ids, records, self.part)
            os.truncate(self.part, found.valid_bytes)
            self._adopt(found.vectors)
        elif path.exists():
            if kind == "npy":
                self._check_finished_npy()
                self.already_complete = True
                self.done = len(records)
            else:
                found = read_results(path, allow_torn_tail=False)
                _check_prefix(found.ids, records, path)
                self._adopt(found.vectors)
                if self.done == len(records):
                    self.already_complete = True
                else:
                    start_bytes = path.read_bytes()
        if not self.already_complete:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.part, "wb" if start_bytes is not None or overwrite else "ab")  # noqa: SIM115
            if start_bytes is not None:
                self._file.write(start_bytes)
                self._file.flush()

    def _adopt(self, vectors: list[list[float]]) -> None:
        self.done = len(vectors)
        if vectors:
            self.dimension = len(vectors[0])
            self._keep(self.input.records[: len(vectors)], vectors)

    def _keep(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        # A .npy output also keeps its rows in memory (the final array's size), so finishing
        # does not parse the .part again.
        if self._np is None or not vectors:
            return
        if self._rows is None:
            shape = (self.input.line_count, len(vectors[0]))
            self._rows = self._np.full(shape, self._np.nan, dtype=self._np.float32)
        for record, vector in zip(records, vectors, strict=True):
            self._rows[record.line - 1] = vector

    def _check_finished_npy(self) -> None:
        np = self._np
        try:
            array = np.load(self.path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise OutputConflictError(f"{self.path}: not a readable .npy file ({exc})") from None
        lines = self.input.line_count
        if array.ndim != 2 or array.shape[0] != lines:
            raise OutputConflictError(
                f"{self.path} has shape {array.shape} but the input has {lines} lines: it is "
                "not this input's output (pass --overwrite to replace it)"
            )
        rows = [r.line - 1 for r in self.input.records]
        if rows and not bool(np.isfinite(array[rows]).all()):
            raise OutputConflictError(
                f"{self.path} lacks embeddings for some of the input's records "
                "(pass --overwrite to replace it)"
            )
        self.dimension = int(array.shape[1])

    def write(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        """Append one batch to ``.part`` and flush it."""
        assert self._file is not None, "output already complete or closed"
        _check_dimension(self, vectors)
        self._file.write(_encode_batch(records, vectors, packed=self.kind == "npy"))
        self._file.flush()
        self._keep(records, vectors)

    def finish(self) -> None:
        """Turn ``.part`` into the output atomically."""
        if self.already_complete:
            return
        assert self._file is not None, "output already closed"
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        if self.kind == "jsonl":
            os.replace(self.part, self.path)
        else:
            self._write_npy()
            self.part.unlink()
        _fsync_dir(self.path.parent)

    def _write_npy(self) -> None:
        np = self._np
        array = self._rows
        if array is None:  # no records at all: one empty row per (bad) line
            array = np.full((self.input.line_count, 0), np.nan, dtype=np.float32)
        # A temporary name in the same folder (so the rename stays on one file system),
        # created like any other file (mkstemp's 0600 would not follow the umask).
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                np.save(f, array, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def close(self) -> None:
        """Close ``.part`` (kept for resuming)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def describe(self) -> str:
        """The output path."""
        return str(self.path)


def _fsync_dir(folder: Path) -> None:
    # Make the rename itself durable; not every platform can open a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_output(path: str | None, inp: Input, *, overwrite: bool) -> FileOutput | StdoutOutput:
    """The writer for ``--output`` (``None`` or ``"-"``: standard output)."""
    if path is None or path == "-":
        return StdoutOutput()
    return FileOutput(Path(path), inp, kind=output_kind(path), overwrite=overwrite)
