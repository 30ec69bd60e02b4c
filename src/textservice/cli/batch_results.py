"""A Batch mode job's results file as a source of vectors for ``textservice embed``'s output.

A results file (downloaded into ``OUTPUT.batch/``) holds one line per request, in no
particular order, each with the content key it was sent with (:mod:`.content_keys`). It is
read as an earlier run's results are for reuse (:class:`~textservice.cli.reuse.Earlier`):
its keys and where each line starts, once; then the lines of the records being written, by
offset, a batch at a time. So the output is written in input order, by the same writers,
with the same digests and keys as an online run's, and the file is never held in memory.

Each vector is made what an online call returns to the writer (``vectors``: float32 rows as
one array, or lists of floats), scaled to unit length with ``--normalize`` by the library's
own functions; a line that failed (its status, or an embedding that is empty or not finite)
gives no vector, and its reason is kept for the report.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from textservice._engine.output_formats import unit_array, unit_lists
from textservice.batches.results import BatchResult, parse_line
from textservice.cli.content_keys import is_key
from textservice.cli.reuse import unhex_keys

__all__ = ["Failure", "ResultsFile"]


@dataclass(frozen=True)
class Failure:
    """Why a request of a job failed."""

    status: str
    """The status' name (``INVALID_ARGUMENT``)."""
    message: str


@dataclass
class ResultsFile:
    """One job's results file, open for reading (see the module docstring)."""

    where: Path
    vectors: Literal["list", "numpy"] = "numpy"
    """What the output's writer takes."""
    normalize: bool = False
    failures: dict[str, Failure] = field(default_factory=dict)
    """The failed requests' reasons by key (hex), filled by ``keys``."""
    _file: IO[bytes] | None = None

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self._file = self.where.open("rb")
        return self._file

    def keys(self) -> tuple[bytes, array[int]]:
        """The keys of the lines that hold a vector (bytes, concatenated) and where each line
        starts; the others' reasons go to ``failures``."""
        hexes = bytearray()
        offsets: array[int] = array("q")
        source = self._open()
        source.seek(0)
        offset = 0
        for line in source:
            start, offset = offset, offset + len(line)
            if not line.strip():
                continue
            result = parse_line(line)
            if result.key is None or not is_key(result.key):
                continue  # not one of ours: no record can have it
            if result.values is None:
                self.failures[result.key] = Failure(result.code.name, result.message)
                continue
            self.failures.pop(result.key, None)
            hexes += result.key.encode("ascii")
            offsets.append(start)
        return unhex_keys(bytes(hexes)), offsets

    def _result(self, offset: int) -> BatchResult:
        source = self._open()
        source.seek(offset)
        return parse_line(source.readline())

    def read(self, rows: Sequence[int]) -> Any:
        """The vectors of the lines at ``rows`` (offsets from ``keys``), in that order."""
        values = [self._result(offset).values for offset in rows]
        if any(v is None for v in values):
            raise ValueError(f"{self.where} changed while it was read")
        if self.vectors == "list":
            lists = [v.tolist() for v in values if v is not None]
            return unit_lists(lists) if self.normalize else lists
        import numpy

        width = len(values[0]) if values and values[0] is not None else 0
        if any(v is not None and len(v) != width for v in values):
            return [v.tolist() for v in values if v is not None]  # the writer names it
        rows_array = numpy.empty((len(values), width), dtype=numpy.float32)
        for index, row in enumerate(values):
            assert row is not None
            rows_array[index] = numpy.frombuffer(row, dtype=numpy.float32)
        return unit_array(rows_array) if self.normalize else rows_array

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def moved(self, old: Path, new: Path) -> None:
        """Its file moved from under ``old`` to under ``new`` (never for results files)."""
        self.close()
        self.where = new / self.where.relative_to(old)
