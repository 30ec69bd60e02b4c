"""Parquet output: ``id`` and ``embedding`` (``fixed_size_list<float32>[dim]``), resumable.

The finished file has one row per record, in input order: ``id`` (int64 when every id is an
integer, as line numbers are; string when every id is a string; an input mixing the two is
refused, a Parquet column has one type) and ``embedding``. Its key-value metadata
``textservice`` holds ``{"records", "digest", "dimension"}``, so a rerun checks a finished
file against its input from the file alone. pandas, polars, DuckDB and pyarrow read it.

While the job runs, ``OUTPUT.part`` is a folder of numbered segments, each a complete Parquet
file of one row group (up to 8 MiB of embeddings or 16,384 rows), written as batches
complete (to a temporary name, then renamed) with the same metadata after its last row. A
crash loses at most the rows not yet in a segment; a rerun reads the last segment's metadata,
verifies the digest against its input and goes on with the next segment. Finishing copies
the segments' row groups, in order, into one file next to ``OUTPUT``, fsyncs and renames it,
then removes the folder.

Why segments: a Parquet file's footer (which says where its row groups are) is written only
when the file is closed, so a file cut short by a crash cannot be read or continued, and
pyarrow cannot append to a closed file. The cost is one more read and write of the
embeddings at the end (see bench/RESULTS.md), and twice the output's size on disk meanwhile.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from textservice.cli.digests import DigestChain
from textservice.cli.inputs import Record
from textservice.cli.outputs import (
    EMPTY,
    REPLACE,
    OutputConflictError,
    ResumePoint,
    Vectors,
    check_dimension,
    fsync_dir,
    generic_mismatch,
    partial_path,
    require_numpy,
)
from textservice.cli.sources import InputCheck, InputError, require_pyarrow

__all__ = ["METADATA_KEY", "SEGMENT_BYTES", "SEGMENT_ROWS", "ParquetOutput", "read_checkpoint"]

METADATA_KEY = b"textservice"
SEGMENT_BYTES = 8 << 20
"""Embedding bytes per segment (one row group) at most, but at least one batch."""
SEGMENT_ROWS = 16384
"""Rows per segment at most (for short embeddings, whose bytes would make large groups)."""


def read_checkpoint(path: Path) -> dict[str, Any] | None:
    """The ``textservice`` metadata of a Parquet file (``None``: it has none)."""
    pq = require_pyarrow()
    import pyarrow as pa

    try:
        metadata = pq.read_metadata(path).metadata or {}
    except (pa.ArrowException, OSError) as exc:
        raise OutputConflictError(
            f"{path}: not a readable Parquet file ({exc}; {REPLACE})"
        ) from None
    raw = metadata.get(METADATA_KEY)
    if raw is None:
        return None
    try:
        found = json.loads(raw)
        if not isinstance(found, dict) or not {"records", "digest", "dimension"} <= found.keys():
            raise ValueError("missing keys")
    except ValueError as exc:
        raise OutputConflictError(f"{path}: unreadable textservice metadata ({exc})") from None
    return found


def _segment_name(index: int) -> str:
    return f"{index:08d}.parquet"


class ParquetOutput:
    """A resumable Parquet output (see the module docstring)."""

    def __init__(self, path: Path, check: InputCheck, *, overwrite: bool) -> None:
        self._np = require_numpy()
        self._pq = require_pyarrow()
        import pyarrow as pa

        self._pa = pa
        if check.id_types == {int, str}:
            raise InputError(
                "the input's ids mix integers and strings, and a Parquet column has one type: "
                "make them all strings or all integers (or write .jsonl)"
            )
        self._id_type = pa.string() if check.id_types == {str} else pa.int64()
        self.path = path
        self.part = partial_path(path)
        self.check = check
        self.overwrite = overwrite
        self.dimension: int | None = None
        self.already_complete = False
        self.point = EMPTY
        self._chain: DigestChain | None = None
        self._segments = 0
        self._records = 0
        self._ids: list[Any] = []
        self._rows: list[Any] = []
        self._buffered = 0
        if overwrite:
            return
        if self.part.is_dir():
            self.point = self._inspect_part()
        elif path.exists():
            self.point = self._inspect(path, finished=True)

    def _inspect(self, source: Path, *, finished: bool) -> ResumePoint:
        found = read_checkpoint(source)
        if found is None:
            raise OutputConflictError(
                f"{source} has no textservice metadata (it was not written by textservice "
                "embed, or by an older version): it cannot be checked against this input; "
                "pass --overwrite to embed it again"
            )
        dimension = found["dimension"]
        return ResumePoint(found["records"], found["digest"], source, dimension, finished)

    def _segment_files(self) -> list[Path]:
        names = sorted(p.name for p in self.part.glob("*.parquet"))
        expected = [_segment_name(i) for i in range(1, len(names) + 1)]
        if names != expected:
            raise OutputConflictError(
                f"{self.part} holds segments {', '.join(names[:5])}..., not 1 to {len(names)} in "
                f"order: it is corrupt ({REPLACE})"
            )
        return [self.part / name for name in names]

    def _inspect_part(self) -> ResumePoint:
        segments = self._segment_files()
        self._segments = len(segments)
        if not segments:
            return EMPTY
        return self._inspect(segments[-1], finished=False)

    @property
    def resume_file(self) -> Path | None:
        """The ``.part`` folder, if it holds segments."""
        return self.part if self.part.is_dir() and any(self.part.glob("*.parquet")) else None

    def point_digest(self, chain: DigestChain) -> str:
        """The chain's digest (segments and the finished file hold it as it is)."""
        return chain.hexdigest

    def mismatch(self, records: Iterator[Record]) -> NoReturn:
        """The conflict (segments hold one digest each, after their last row)."""
        assert self.point.source is not None
        generic_mismatch(self.point.source)

    def start(self, chain: DigestChain, total: int) -> None:
        """Clear what cannot be kept; continue a finished output that holds a prefix."""
        self._chain = chain
        self.dimension = self.point.dimension
        self._records = self.point.count
        if self.overwrite:
            shutil.rmtree(self.part, ignore_errors=True)
        if self.point.finished and self.point.count == total:
            self.already_complete = True
            return
        self.part.mkdir(parents=True, exist_ok=True)
        for stray in self.part.glob("*.tmp"):  # a segment a crash left unrenamed
            stray.unlink()
        if self.point.finished:  # the input grew: the finished file is the first segment
            shutil.copyfile(self.path, self.part / _segment_name(1))
            self._segments = 1

    def _schema(self, dimension: int) -> Any:
        pa = self._pa
        return pa.schema(
            [
                pa.field("id", self._id_type, nullable=False),
                pa.field("embedding", pa.list_(pa.float32(), dimension), nullable=False),
            ]
        )

    def _table(self, ids: list[Any], batches: list[Any], dimension: int) -> Any:
        # One chunk per batch, over the batches' own float32 buffers: no copy of the rows.
        pa = self._pa
        embedding = pa.chunked_array(
            [
                pa.FixedSizeListArray.from_arrays(
                    pa.array(rows.reshape(-1), type=pa.float32()), dimension
                )
                for rows in batches
            ],
            type=pa.list_(pa.float32(), dimension),
        )
        return pa.Table.from_arrays(
            [pa.chunked_array([pa.array(ids, type=self._id_type)]), embedding],
            schema=self._schema(dimension),
        )

    def _checkpoint(self, records: int) -> dict[bytes, bytes]:
        assert self._chain is not None
        found = {"records": records, "digest": self._chain.hexdigest, "dimension": self.dimension}
        return {METADATA_KEY: json.dumps(found).encode("ascii")}

    def _write_file(self, path: Path, tables: Iterator[Any], dimension: int, records: int) -> None:
        schema = self._schema(dimension).with_metadata(self._checkpoint(records))
        # A path, not a Python file object: pyarrow then writes through its own file (a
        # Python one costs several times the row group in memory).
        writer = self._pq.ParquetWriter(
            str(path),
            schema,
            # floats do not compress: spend no time trying, and no dictionary either
            compression={"id": "snappy", "embedding": "none"},
            use_dictionary=["id"],
            write_statistics=["id"],
        )
        try:
            for table in tables:  # each table is one row group
                writer.write_table(
                    table.replace_schema_metadata(schema.metadata), row_group_size=len(table)
                )
        finally:
            writer.close()
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _flush_segment(self) -> None:
        if not self._buffered:
            return
        assert self.dimension is not None
        table = self._table(self._ids, self._rows, self.dimension)
        self._segments += 1
        final = self.part / _segment_name(self._segments)
        tmp = final.with_suffix(".tmp")
        self._write_file(tmp, iter([table]), self.dimension, self._records)
        os.replace(tmp, final)
        self._ids, self._rows, self._buffered = [], [], 0

    def write(self, records: Sequence[Record], vectors: Vectors) -> None:
        """Add one batch; a segment is written when enough rows are buffered."""
        assert self._chain is not None, "not started"
        check_dimension(self, vectors, self.point.source)
        assert self.dimension is not None
        rows = self._np.asarray(vectors, dtype="<f4")
        for record in records:
            self._chain.add(record)
        self._ids.extend(r.id for r in records)
        self._rows.append(rows)
        self._records += len(records)
        self._buffered += rows.nbytes
        if self._buffered >= SEGMENT_BYTES or len(self._ids) >= SEGMENT_ROWS:
            self._flush_segment()

    def finish(self) -> None:
        """Write the last segment, join the segments into ``OUTPUT``, remove the folder."""
        if self.already_complete:
            return
        self._flush_segment()
        segments = self._segment_files()
        dimension = self.dimension if self.dimension is not None else 0
        pq = self._pq

        def tables() -> Iterator[Any]:
            for segment in segments:
                yield pq.read_table(segment, schema=self._schema(dimension))

        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self._write_file(tmp, tables(), dimension, self._records)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(self.path.parent)
        shutil.rmtree(self.part)

    def close(self) -> None:
        """Keep what is done: the buffered rows become one more segment."""
        if self._chain is not None and self.part.is_dir():
            try:
                self._flush_segment()
            finally:
                if self.resume_file is None:
                    shutil.rmtree(self.part, ignore_errors=True)

    def describe(self) -> str:
        """The output path."""
        return str(self.path)
