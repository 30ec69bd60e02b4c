"""Writing ``textservice embed`` results: JSONL or ``.npy``, resumable, finished atomically.

How a file output stays valid and is never resumed from another input (also in the README):

- Results go first to ``OUTPUT.part``, one JSON line per record, whatever the final format:
  for a JSONL output the final lines (``{"id": …, "digest": …, "embedding": […]}``); for a
  ``.npy`` output ``{"id": …, "digest": …, "f32": "<base64 of the little-endian float32
  values>"}`` (exact, and much cheaper to write than JSON numbers). Batches are appended in
  input order and the file is flushed after each, so a crash or Ctrl-C leaves a valid prefix
  of the results (at worst with one torn last line, which the next run cuts off and redoes).
- ``"digest"`` chains the model, the options that change vectors and every record so far
  (:mod:`textservice.cli.digests`). A rerun counts the complete lines of ``OUTPUT.part`` and
  compares the last one's digest with its own input's after as many records: equal means the
  ``.part`` holds the first records of this very input, so only the rest is embedded. Only
  that one line is parsed, not every vector. An existing finished ``OUTPUT`` counts too: when
  it already holds every record there is nothing to do, and a JSONL one that holds a prefix
  (the input grew) is continued; a finished ``.npy`` keeps its digest in ``OUTPUT.digest``.
  Anything that does not match the input (or has no digest: an older version's output) is
  an error, never changed, unless ``--overwrite`` is given.
- At the end the results become ``OUTPUT`` with ``os.replace`` (atomic on POSIX): a JSONL
  output is the ``.part`` itself, fsynced and renamed; a ``.npy`` output is built from the
  ``.part`` (every line's digest checked once more), written to a temporary file in the same
  folder, fsynced and renamed, then ``OUTPUT.digest`` likewise, and the ``.part`` removed.
  ``OUTPUT`` is therefore either absent, the previous file, or complete.
- ``.npy`` rows follow the input's lines: row ``i`` is line ``i + 1``; the row of a bad line
  skipped with ``--skip-bad`` is all NaN. The array is float32 (the API's own precision).
- JSONL embeddings are the exact float32 values, written as JSON numbers that parse back to
  exactly those values.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, NoReturn, Protocol

from textservice.cli.digests import DigestChain, VectorSettings, digest_path, npy_digest
from textservice.cli.inputs import Input, Record, RecordId

Kind = Literal["jsonl", "npy"]

__all__ = [
    "DimensionChangedError",
    "FileOutput",
    "Kind",
    "NumpyMissingError",
    "OutputConflictError",
    "ResultLine",
    "ResultWriter",
    "Scan",
    "StdoutOutput",
    "encode_result",
    "iter_results",
    "open_output",
    "output_kind",
    "parse_result",
    "partial_path",
    "scan_results",
]

_REPLACE = "pass --overwrite to replace it"


class OutputConflictError(Exception):
    """An existing output or partial file is corrupt or does not belong to this input."""


class DimensionChangedError(Exception):
    """The server sent embeddings of another length than before for the same model and
    options: a fault of the server (or a change on its side), not of the output."""

    def __init__(self, message: str, *, earlier: Path | None = None) -> None:
        super().__init__(message)
        self.earlier = earlier
        """The earlier run's results whose length differs (``None``: this run's)."""


class NumpyMissingError(Exception):
    """``.npy`` output was asked for but numpy is not installed."""


def output_kind(path: str) -> Kind:
    """``npy`` for a ``.npy`` file name, else ``jsonl``."""
    return "npy" if path.lower().endswith(".npy") else "jsonl"


def partial_path(path: Path) -> Path:
    """Where results are collected before ``path`` is finished: ``path`` + ``.part``."""
    return path.with_name(path.name + ".part")


def encode_result(
    record_id: RecordId, digest: str, vector: Sequence[float], *, packed: bool = False
) -> bytes:
    """One result line, newline included.

    ``packed`` (the ``.part`` of a ``.npy`` output) stores the vector as base64 of its
    little-endian float32 bytes under ``"f32"``: exact, and ~50x faster to write and read
    than JSON numbers, which a ``.npy`` output never shows anyone.
    """
    obj: dict[str, Any] = {"id": record_id, "digest": digest}
    if packed:
        raw = struct.pack(f"<{len(vector)}f", *vector)
        obj["f32"] = base64.b64encode(raw).decode("ascii")
    else:
        obj["embedding"] = list(vector)
    return json.dumps(obj, separators=(",", ":")).encode("utf-8") + b"\n"


def _encode_batch(
    records: Sequence[Record],
    vectors: Sequence[Sequence[float]],
    chain: DigestChain,
    *,
    packed: bool = False,
) -> bytes:
    return b"".join(
        encode_result(r.id, chain.add(r), v, packed=packed)
        for r, v in zip(records, vectors, strict=True)
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


@dataclass(frozen=True)
class ResultLine:
    """One parsed result line: its id, digest (``None`` if absent) and vector."""

    id: RecordId
    digest: str | None
    embedding: list[float] | None
    """The vector of a JSONL line."""
    f32: bytes | None
    """The little-endian float32 bytes of a packed (``.npy`` output's ``.part``) line."""

    @property
    def dimension(self) -> int:
        """The vector's length."""
        return len(self.embedding) if self.embedding is not None else len(self.f32 or b"") // 4


def parse_result(raw: bytes, where: str) -> ResultLine:
    """Parse one result line (no newline); ``OutputConflictError`` naming ``where`` if bad."""
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise OutputConflictError(f"{where}: not a JSON result line ({exc})") from None
    if not isinstance(obj, dict) or "id" not in obj or not ("embedding" in obj or "f32" in obj):
        raise OutputConflictError(f'{where}: expected an object with "id" and "embedding"')
    record_id = obj["id"]
    if isinstance(record_id, bool) or not isinstance(record_id, str | int):
        raise OutputConflictError(f'{where}: "id" must be a string or an integer')
    digest = obj.get("digest")
    if digest is not None and not isinstance(digest, str):
        raise OutputConflictError(f'{where}: "digest" must be a string')
    if "f32" in obj:
        try:
            packed = base64.b64decode(obj["f32"], validate=True)
            if len(packed) % 4:
                raise ValueError("not a whole number of float32 values")
        except (TypeError, ValueError) as exc:
            raise OutputConflictError(f'{where}: bad "f32" ({exc})') from None
        return ResultLine(record_id, digest, None, packed)
    vector = obj["embedding"]
    if not isinstance(vector, list) or not all(type(x) is float or type(x) is int for x in vector):
        raise OutputConflictError(f'{where}: "embedding" must be a list of numbers')
    return ResultLine(record_id, digest, [float(x) for x in vector], None)


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


def iter_results(path: Path) -> Iterator[ResultLine]:
    """Parse every complete line of ``path`` in order (a torn last line is left out)."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                return
            yield parse_result(raw[:-1], f"{path}:{number}")


def _no_digest(source: Path) -> OutputConflictError:
    return OutputConflictError(
        f"{source} has no input digests (it was written by an older version of textservice): "
        "it cannot be checked against this input; pass --overwrite to embed it again"
    )


class ResultWriter(Protocol):
    """Where ``textservice embed`` puts results, batch by batch in input order."""

    done: int
    """How many of the input's records were already done before this run (a prefix)."""
    dimension: int | None
    """The embedding size seen so far, if any."""
    already_complete: bool
    """Whether an earlier run already finished this output (nothing to write)."""

    @property
    def resume_file(self) -> Path | None:
        """Where partial results are kept for a rerun to resume from (``None``: none)."""

    def write(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        """Append one batch of results and flush them."""

    def finish(self) -> None:
        """Make the output complete (atomically for files)."""

    def close(self) -> None:
        """Stop without finishing: what was written stays (a file's ``.part``)."""

    def describe(self) -> str:
        """Where the results are, for messages."""


def _check_dimension(
    writer: ResultWriter, vectors: Sequence[Sequence[float]], earlier: Path | None = None
) -> None:
    """All of one model's embeddings have one length; ``earlier``: where ``writer.dimension``
    came from, if an earlier run's results."""
    for vector in vectors:
        if writer.dimension is None:
            writer.dimension = len(vector)
        elif len(vector) != writer.dimension:
            # The digest already rules out another model or input: the server changed.
            if earlier is not None:
                raise DimensionChangedError(
                    f"the server sent an embedding of {len(vector)} values, but {earlier} "
                    f"holds ones of {writer.dimension} from an earlier run with the same model "
                    "and options: the server's embeddings changed; pass --overwrite to embed "
                    "everything again",
                    earlier=earlier,
                )
            raise DimensionChangedError(
                f"the server sent an embedding of {len(vector)} values after ones of "
                f"{writer.dimension} in this run: a server fault (one model's embeddings all "
                "have the same length)"
            )


class StdoutOutput:
    """JSONL to standard output: streamed per batch, no resume."""

    def __init__(self, settings: VectorSettings, stream: IO[bytes] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer
        self._chain = DigestChain(settings)
        self.done = 0
        self.dimension: int | None = None
        self.already_complete = False

    @property
    def resume_file(self) -> Path | None:
        """``None``: standard output cannot be resumed."""
        return None

    def write(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        """Write one batch of JSONL lines and flush."""
        _check_dimension(self, vectors)
        self._stream.write(_encode_batch(records, vectors, self._chain))
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


class FileOutput:
    """A resumable file output (see the module docstring for the design)."""

    def __init__(
        self,
        path: Path,
        inp: Input,
        *,
        kind: Kind,
        settings: VectorSettings,
        overwrite: bool,
    ) -> None:
        self.path = path
        self.part = partial_path(path)
        self.kind = kind
        self.input = inp
        self.settings = settings
        self.done = 0
        self.dimension: int | None = None
        self.already_complete = False
        self._np: Any = _numpy() if kind == "npy" else None
        self._chain = DigestChain(settings)
        self._file: IO[bytes] | None = None
        self._dimension_from: Path | None = None  # the earlier run's file it came from

        records = inp.records
        continue_from: Path | None = None  # a finished JSONL output to continue in the .part
        if overwrite:
            self.part.unlink(missing_ok=True)
        elif self.part.exists():
            scan = self._resume_from(self.part, allow_torn_tail=True)
            os.truncate(self.part, scan.valid_bytes)
        elif path.exists():
            if kind == "npy":
                self._check_finished_npy()
                self.already_complete = True
                self.done = len(records)
            else:
                self._resume_from(path, allow_torn_tail=False)
                if self.done == len(records):
                    self.already_complete = True
                else:
                    continue_from = path
        if not self.already_complete:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if continue_from is not None:
                shutil.copyfile(continue_from, self.part)
            self._file = open(self.part, "ab")  # noqa: SIM115

    @property
    def resume_file(self) -> Path | None:
        """The ``.part``, if it exists and holds results."""
        try:
            return self.part if self.part.stat().st_size > 0 else None
        except FileNotFoundError:
            return None

    def _resume_from(self, source: Path, *, allow_torn_tail: bool) -> Scan:
        # Cheap: count the lines, parse only the last, hash the input's texts up to there.
        scan = scan_results(source, allow_torn_tail=allow_torn_tail)
        records = self.input.records
        if scan.count > len(records):
            raise OutputConflictError(
                f"{source} holds {scan.count} results but the input has only {len(records)} "
                f"records: it is not this input's output ({_REPLACE})"
            )
        if scan.last is not None:
            last = parse_result(scan.last, f"{source}:{scan.count}")
            if last.digest is None:
                raise _no_digest(source)
            if last.digest != self._chain.add_all(records[: scan.count]):
                self._mismatch(source)
            self.dimension = last.dimension
            self._dimension_from = source
        self.done = scan.count
        return scan

    def _mismatch(self, source: Path) -> NoReturn:
        """Name the first result of ``source`` that does not match the input."""
        chain = DigestChain(self.settings)
        for index, (found, record) in enumerate(
            zip(iter_results(source), self.input.records, strict=False)
        ):
            where = f"{source}: result {index + 1}"
            if found.digest is None:
                raise _no_digest(source)
            expected = chain.add(record)
            if type(found.id) is not type(record.id) or found.id != record.id:
                raise OutputConflictError(
                    f"{where} has id {json.dumps(found.id)} but the input's record "
                    f"{index + 1} (line {record.line}) has id {json.dumps(record.id)}: it is "
                    f"not this input's output ({_REPLACE})"
                )
            if found.digest != expected:
                raise OutputConflictError(
                    f"{where} does not match the input's record {index + 1} (line "
                    f"{record.line}): that text, the model or the options differ from the run "
                    f"that wrote it ({_REPLACE})"
                )
        raise OutputConflictError(f"{source} does not match this input ({_REPLACE})")

    def _check_finished_npy(self) -> None:
        sidecar = digest_path(self.path)
        try:
            found = json.loads(sidecar.read_bytes())["digest"]
        except FileNotFoundError:
            raise OutputConflictError(
                f"{self.path} has no {sidecar.name} (it was written by an older version of "
                "textservice, or that file was removed): it cannot be checked against this "
                "input; pass --overwrite to embed it again"
            ) from None
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise OutputConflictError(
                f"{sidecar}: not a textservice digest file ({type(exc).__name__}: {exc}); "
                f"{_REPLACE}"
            ) from None
        records = self.input.records
        lines = self.input.line_count
        if found != npy_digest(self._chain.add_all(records), lines, records):
            raise OutputConflictError(
                f"{self.path} was made from another input, model or options ({sidecar.name} "
                f"does not match): it is not this input's output ({_REPLACE})"
            )
        np = self._np
        try:
            array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise OutputConflictError(f"{self.path}: not a readable .npy file ({exc})") from None
        shape, dtype = array.shape, array.dtype
        del array  # the header is all that is needed
        if len(shape) != 2 or shape[0] != lines or dtype != np.float32:
            raise OutputConflictError(
                f"{self.path} holds a {dtype} array of shape {shape}, not the (lines, "
                f"dimension) float32 one its digest describes: it is corrupt ({_REPLACE})"
            )
        self.dimension = int(shape[1])

    def write(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        """Append one batch to ``.part`` and flush it."""
        assert self._file is not None, "output already complete or closed"
        _check_dimension(self, vectors, self._dimension_from)
        self._file.write(_encode_batch(records, vectors, self._chain, packed=self.kind == "npy"))
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
        if self.kind == "jsonl":
            os.replace(self.part, self.path)
        else:
            self._write_npy()
            self.part.unlink()
        _fsync_dir(self.path.parent)

    def _write_npy(self) -> None:
        np = self._np
        records = self.input.records
        chain = DigestChain(self.settings)
        rows = None
        count = 0
        for found in iter_results(self.part):
            where = f"{self.part}:{count + 1}"
            if count == len(records) or found.digest != chain.add(records[count]):
                raise OutputConflictError(
                    f"{where} does not match the input's record {count + 1}: the file "
                    "changed during the run?"
                )
            if found.f32 is None:
                raise OutputConflictError(f'{where}: expected a packed "f32" vector')
            if rows is None:
                shape = (self.input.line_count, found.dimension)
                rows = np.full(shape, np.nan, dtype=np.float32)
            elif found.dimension != rows.shape[1]:
                raise OutputConflictError(
                    f"{where}: embedding has {found.dimension} values, earlier ones have "
                    f"{rows.shape[1]}"
                )
            rows[records[count].line - 1] = np.frombuffer(found.f32, dtype="<f4")
            count += 1
        if count != len(records):
            raise RuntimeError(f"{self.part} holds {count} of {len(records)} results")
        if rows is None:  # no records at all: one empty row per (bad) line
            rows = np.full((self.input.line_count, 0), np.nan, dtype=np.float32)
        array = rows
        _replace_atomically(self.path, lambda f: np.save(f, array, allow_pickle=False))
        digest = npy_digest(chain.hexdigest, self.input.line_count, records)
        sidecar = json.dumps({"digest": digest, "records": count, "lines": len(rows)})
        _replace_atomically(digest_path(self.path), lambda f: f.write(sidecar.encode() + b"\n"))

    def close(self) -> None:
        """Close ``.part``: kept for resuming if it holds results, else removed."""
        if self._file is not None:
            self._file.close()
            self._file = None
            if self.resume_file is None:
                self.part.unlink(missing_ok=True)

    def describe(self) -> str:
        """The output path."""
        return str(self.path)


def _replace_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    # A temporary name in the same folder (so the rename stays on one file system),
    # created like any other file (mkstemp's 0600 would not follow the umask).
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


def open_output(
    path: str | None, inp: Input, *, settings: VectorSettings, overwrite: bool
) -> FileOutput | StdoutOutput:
    """The writer for ``--output`` (``None`` or ``"-"``: standard output)."""
    if path is None or path == "-":
        return StdoutOutput(settings)
    return FileOutput(
        Path(path), inp, kind=output_kind(path), settings=settings, overwrite=overwrite
    )
