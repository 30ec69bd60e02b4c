"""What every writer of ``textservice embed``'s results shares: resumable, atomic.

Every file output follows the same steps (docs/cli.md's "Resume" says the same for users):

1. **Inspect** (no change to any file): what an earlier run left, as a :class:`ResumePoint`:
   how many records it holds, the digest after the last of them (:mod:`..digests`), and the
   embedding length. A ``OUTPUT.part`` (an unfinished run) comes first, else a finished
   ``OUTPUT``; ``--overwrite`` ignores both.
2. **Verify** (:mod:`..checkpoints`): every result held is read back and checked (a valid line,
   segment or row block, one embedding length, the content digest of ``.npy`` and Parquet
   results), and compared with the input's records as they are read: their ids in order and
   the digest after them. A corrupt result, or another input, model or server, is refused
   (``OutputConflictError``, exit 4) and nothing is changed. A finished output that already
   holds every record is checked by its last digest only (nothing will be added to it).
3. **Start**: the ``.part`` is cut back to what was verified and opened for appending.
4. **Write** each batch in input order as it completes, flushed, so Ctrl-C, a failed call or a
   crash leaves a resumable ``.part``; **finish** makes ``OUTPUT`` with ``os.replace`` after
   an fsync: ``OUTPUT`` is either absent, the previous file, or complete.

While a run writes, it holds the output's lock (:mod:`..locks`): a second run on the same output
is refused.

The formats: JSONL in :mod:`.jsonl` (standard output too), ``.npy`` in :mod:`.npy`, Parquet in
:mod:`.parquet`; :mod:`.destinations` picks one for ``--output``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

from textservice.cli.checkpoints import Checkpoint
from textservice.cli.digests import DigestChain
from textservice.cli.errors import DimensionChangedError
from textservice.cli.inputs import Record

if TYPE_CHECKING:
    from textservice.cli.sources import InputCheck

__all__ = [
    "EMPTY",
    "NEEDS_NUMPY",
    "OUTPUT_SUFFIXES",
    "EncodedRows",
    "Kind",
    "ResultWriter",
    "ResultsFile",
    "ResumableFile",
    "ResumePoint",
    "Vectors",
    "check_dimension",
    "dimension_changed",
    "fsync_dir",
    "output_kind",
    "partial_path",
    "replace_atomically",
]

Kind = Literal["jsonl", "npy", "parquet"]

Vectors = Any
"""One batch's vectors: a ``(n, dim)`` float32 numpy array, or ``n`` lists of floats."""


NEEDS_NUMPY = ("writing .npy or .parquet", "write JSONL: an output name ending in .jsonl")
"""``require_numpy``'s words for the file outputs that need numpy."""


OUTPUT_SUFFIXES: dict[str, Kind] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".npy": "npy",
    ".parquet": "parquet",
}
"""The output formats by file name suffix (any case); no other suffix is written."""


def output_kind(path: str) -> Kind:
    """The format of an output file by its suffix (:data:`OUTPUT_SUFFIXES`); ``ValueError``
    naming the suffixes for any other name (``out.npz`` once quietly became JSONL)."""
    suffix = Path(path).suffix.lower()
    kind = OUTPUT_SUFFIXES.get(suffix)
    if kind is None:
        shown = f"{suffix!r} is not an output format" if suffix else "no suffix"
        raise ValueError(
            f"{path}: {shown}: the name must end in {', '.join(OUTPUT_SUFFIXES)} (or be '-' "
            "for JSONL on standard output)"
        )
    return kind


def partial_path(path: Path) -> Path:
    """Where results are collected before ``path`` is finished: ``path`` + ``.part``."""
    return path.with_name(path.name + ".part")


@dataclass(frozen=True)
class ResumePoint:
    """What an earlier run left for this output (step 1 of the module docstring)."""

    count: int = 0
    """Records it holds (a prefix of the input's records)."""
    digest: str | None = None
    """The digest it recorded after them (``None`` when it holds none)."""
    source: Path | None = None
    """The file or folder it was read from."""
    dimension: int | None = None
    """The length of its embeddings."""
    finished: bool = False
    """Read from a finished ``OUTPUT`` (not a ``.part``)."""


EMPTY = ResumePoint()


@dataclass(frozen=True)
class EncodedRows:
    """JSONL embeddings already written out (``b"[0.1,-2.5e-05]"`` each), copied from an
    earlier output's lines by a rerun that reuses them (:mod:`..reuse`)."""

    rows: Sequence[bytes]
    dimension: int

    def __len__(self) -> int:
        return len(self.rows)


class ResumableFile:
    """What every file writer holds from the start: its output and ``.part`` paths, the
    input's check, and where a resume starts (``EMPTY`` until the writer inspects them)."""

    def __init__(self, path: Path, check: InputCheck, *, overwrite: bool) -> None:
        self.path = path
        self.part = partial_path(path)
        self.check = check
        self.overwrite = overwrite
        self.dimension: int | None = None
        self.already_complete = False
        self.point = EMPTY
        self._chain: DigestChain | None = None


class ResultsFile:
    """What every earlier output read for reuse (:mod:`..reuse`) holds: where it is, and
    the file open for reading rows."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self._file: IO[bytes] | None = None

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def moved(self, old: Path, new: Path) -> None:
        """Its files, under ``old``, are now under ``new``."""
        self.where = new / self.where.relative_to(old)


class ResultWriter(Protocol):
    """Where ``textservice embed`` puts results, batch by batch in input order."""

    point: ResumePoint
    """What an earlier run left (inspected when made; nothing changed yet)."""
    dimension: int | None
    """The embedding size seen so far, if any."""
    already_complete: bool
    """Whether an earlier run already finished this output (set by ``start``)."""

    @property
    def resume_file(self) -> Path | None:
        """Where partial results are kept for a rerun to resume from (``None``: none)."""

    @property
    def part_files(self) -> tuple[Path, ...]:
        """The files (or folder) of an unfinished run, as a rerun of another input sets them
        aside for reuse (:func:`textservice.cli.reuse.set_aside`)."""

    def point_digest(self, chain: DigestChain) -> str:
        """What a checkpoint's digest should be, given the input's chain over its records."""

    def checkpoints(self, *, every: bool) -> Iterator[Checkpoint]:
        """What ``point`` holds, read back and checked as it is read (``OutputConflictError``
        for a corrupt result), up to ``point.count`` records; with ``every=False``, only what
        is needed to compare its last digest (a finished output left as it is)."""

    def start(self, chain: DigestChain, total: int) -> None:
        """Prepare to append after ``point`` (verified); ``chain`` holds its records and
        ``total`` is the input's record count."""

    def write(self, records: Sequence[Record], vectors: Vectors) -> None:
        """Append one batch of results and flush them."""

    def finish(self) -> None:
        """Make the output complete (atomically for files)."""

    def close(self) -> None:
        """Stop without finishing: what was written stays (a file's ``.part``)."""

    def describe(self) -> str:
        """Where the results are, for messages."""


def check_dimension(writer: ResultWriter, vectors: Vectors, earlier: Path | None = None) -> None:
    """All of one model's embeddings have one length; ``earlier``: where ``writer.dimension``
    came from, if an earlier run's results."""
    if isinstance(vectors, EncodedRows):
        lengths = [vectors.dimension]
    else:
        lengths = [len(v) for v in vectors] if isinstance(vectors, list) else [vectors.shape[1]]
    for length in lengths:
        if writer.dimension is None:
            writer.dimension = length
        elif length != writer.dimension:
            # The digest already rules out another model or input: the server changed.
            if earlier is not None:
                raise DimensionChangedError(
                    f"the server sent an embedding of {length} values, but {earlier} "
                    f"holds ones of {writer.dimension} from an earlier run with the same model "
                    "and options: the server's embeddings changed; pass --overwrite to embed "
                    "everything again",
                    earlier=earlier,
                )
            raise dimension_changed(writer.dimension, length)


def dimension_changed(first: int, later: int) -> DimensionChangedError:
    """The error for an embedding of ``later`` values after ones of ``first`` in this run."""
    return DimensionChangedError(
        f"the server sent an embedding of {later} values after ones of {first} in this run: "
        "a server fault (one model's embeddings all have the same length)"
    )


def replace_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write a new ``path`` through a temporary file in the same folder, fsynced, renamed."""
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


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable; not every platform can open a folder."""
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
