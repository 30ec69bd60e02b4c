"""Parquet output: ``id`` and ``embedding`` (``fixed_size_list<float32>[dim]``), resumable.

The finished file has one row per record, in input order: ``id`` (int64 when every id is an
integer, as line numbers are; string when every id is a string; an input mixing the two is
refused, a Parquet column has one type), the ``--keep-columns`` columns (a Parquet input's as
they were; CSV's as strings; JSONL's as the one type all of a key's values have: string,
int64, float64 or bool, else JSON text) and ``embedding``. Its key-value metadata
``textservice`` holds ``{"records", "digest", "dimension"}``, so a rerun checks a finished
file against its input from the file alone. pandas, polars, DuckDB and pyarrow read it.

While the job runs, ``OUTPUT.part`` is a folder of numbered segments, each a complete Parquet
file of one row group (up to 8 MiB of embeddings or 16,384 rows), written as batches
complete (to a temporary name, then renamed) with the same metadata after its last row, and
``content``: the :class:`~textservice.cli.digests.ContentDigest` of the ids and embeddings of
every segment up to it. A crash loses at most the rows not yet in a segment (Ctrl-C and
SIGTERM write them first); a rerun reads every segment back, in order: each must be readable,
start where the one before it ended (no segment missing, repeated or out of place), hold the
content its digest says, and hold the input's next ids with the input's digest after them.
Then it goes on with the next segment. Finishing copies
the segments' row groups, in order, into one file next to ``OUTPUT``, fsyncs and renames it,
then removes the folder.

Why segments: a Parquet file's footer (which says where its row groups are) is written only
when the file is closed, so a file cut short by a crash cannot be read or continued, and
pyarrow cannot append to a closed file. The cost is one more read and write of the
embeddings at the end (see bench/RESULTS.md), and twice the output's size on disk meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from array import array
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

from textservice._numpy import require_numpy
from textservice.cli.checkpoints import REPLACE, Checkpoint
from textservice.cli.columns import KeptColumn
from textservice.cli.content_keys import ContentKeys
from textservice.cli.digests import ContentDigest, DigestChain, is_digest, json_default
from textservice.cli.errors import OutputConflictError
from textservice.cli.inputs import Record
from textservice.cli.sources import InputCheck, InputError, require_pyarrow
from textservice.cli.writers.common import (
    EMPTY,
    NEEDS_NUMPY,
    ResumableFile,
    ResumePoint,
    Vectors,
    check_dimension,
    fsync_dir,
)

__all__ = [
    "METADATA_KEY",
    "SEGMENT_BYTES",
    "SEGMENT_ROWS",
    "ParquetOutput",
    "ParquetResults",
    "read_checkpoint",
]

METADATA_KEY = b"textservice"
SEGMENT_BYTES = 8 << 20
"""Embedding bytes per segment (one row group) at most, but at least one batch."""
SEGMENT_ROWS = 16384
"""Rows per segment at most (for short embeddings, whose bytes would make large groups)."""


def _is_count(value: object, least: int) -> bool:
    return type(value) is int and value >= least


def _read_metadata(path: Path) -> dict[str, Any] | None:
    """The ``textservice`` metadata of a Parquet file, its fields checked (``None``: it has
    none); ``ValueError`` saying what is wrong."""
    pq = require_pyarrow()
    import pyarrow as pa

    try:
        metadata = pq.read_metadata(path).metadata or {}
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"not a readable Parquet file ({exc})") from None
    raw = metadata.get(METADATA_KEY)
    if raw is None:
        return None
    try:
        found = json.loads(raw)
        if not isinstance(found, dict) or not {"records", "digest", "dimension"} <= found.keys():
            raise ValueError("missing keys")
        content = found.get("content")
        if (
            not _is_count(found["records"], 1)
            or not _is_count(found["dimension"], 1)
            or not is_digest(found["digest"])
            or (content is not None and not is_digest(content))
        ):
            raise ValueError("a field of the wrong type")
    except ValueError as exc:
        raise ValueError(f"unreadable textservice metadata ({exc})") from None
    return found


def read_checkpoint(path: Path) -> dict[str, Any] | None:
    """The ``textservice`` metadata of a Parquet file, its fields checked (``None``: it has
    none); ``OutputConflictError`` if it cannot be read."""
    try:
        return _read_metadata(path)
    except ValueError as exc:
        raise OutputConflictError(f"{path}: {exc} ({REPLACE})") from None


def _segment_name(index: int) -> str:
    return f"{index:08d}.parquet"


class ParquetOutput(ResumableFile):
    """A resumable Parquet output (see the module docstring)."""

    def __init__(self, path: Path, check: InputCheck, *, overwrite: bool) -> None:
        self._np = require_numpy(*NEEDS_NUMPY)
        self._pq = require_pyarrow()
        import pyarrow as pa

        self._pa = pa
        if check.id_types == {int, str}:
            raise InputError(
                "the input's ids mix integers and strings, and a Parquet column has one type: "
                "make them all strings or all integers (or write .jsonl)"
            )
        if check.wide_id_line is not None:
            raise InputError(
                f"the id on line {check.wide_id_line} of the input is an integer outside "
                "int64, and a Parquet id column of integers is int64: make the ids strings "
                "(or write .jsonl); nothing was sent"
            )
        self._id_type = pa.string() if check.id_types == {str} else pa.int64()
        self._kept: tuple[KeptColumn, ...] = check.kept
        self._kept_types = [self._arrow_type(column) for column in check.kept]
        self._kept_values: list[list[Any]] = [[] for _ in check.kept]
        super().__init__(path, check, overwrite=overwrite)
        self._segments = 0
        self._records = 0
        self._ids: list[Any] = []
        self._rows: list[Any] = []
        self._buffered = 0
        self._content = ContentDigest()  # of every row written, in order
        self._keys: ContentKeys | None = None
        self._key_rows: list[str] = []
        self._with_keys = True  # False: continuing files of a version without a key column
        if overwrite:
            return
        if self.part.is_dir():
            self.point = self._inspect_part()
        elif path.exists():
            self.point = self._inspect(path, finished=True)

    def _inspect(self, source: Path, *, finished: bool) -> ResumePoint:
        try:
            found = _read_metadata(source)
        except ValueError as exc:
            raise self._corrupt(source, None, str(exc)) from None
        if found is None:
            raise OutputConflictError(
                f"{source} has no textservice metadata (it was not written by textservice "
                "embed, or by an older version): it cannot be checked against this input; "
                "pass --overwrite to embed it again"
            )
        dimension = found["dimension"]
        try:
            self._with_keys = "key" in self._pq.read_schema(source).names
        except (self._pa.ArrowException, OSError) as exc:
            raise self._corrupt(source, None, f"unreadable ({exc})") from None
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
    def part_files(self) -> tuple[Path, ...]:
        """The ``.part`` folder."""
        return (self.part,)

    @property
    def resume_file(self) -> Path | None:
        """The ``.part`` folder, if it holds segments."""
        return self.part if self.part.is_dir() and any(self.part.glob("*.parquet")) else None

    def point_digest(self, chain: DigestChain) -> str:
        """The chain's digest (segments and the finished file hold it as it is)."""
        return chain.hexdigest

    def checkpoints(self, *, every: bool) -> Iterator[Checkpoint]:
        """Every segment (or the finished file, to be continued) read back and checked, one
        checkpoint per row group (its ids), the last of a file with the file's digest; with
        ``every=False``, the finished file's digest only."""
        if not self.point.count:
            return
        if not every:
            assert self.point.digest is not None and self.point.source is not None
            yield Checkpoint(self.point.count, self.point.digest, str(self.point.source))
            return
        files = [self.path] if self.point.finished else self._segment_files()
        self._content = ContentDigest()  # of the rows read back, to go on from
        done = 0
        for path in files:
            done = yield from self._file_checkpoints(path, done)

    def _corrupt(self, path: Path, before: int | None, why: str) -> OutputConflictError:
        """The error for a corrupt file (``before``: the records of the segments before it)."""
        if path.parent != self.part:  # the finished output
            return OutputConflictError(f"{path}: {why}: it is corrupt ({REPLACE})")
        kept = (
            " to keep the results before it"
            if before is None
            else f" to keep the {before} results before it"
            if before
            else ""
        )
        return OutputConflictError(
            f"{path}: {why}: the segment is corrupt; remove it and every later segment of "
            f"{self.part}{kept}, or pass --overwrite to start over"
        )

    def _file_checkpoints(self, path: Path, before: int) -> Generator[Checkpoint, None, int]:
        """One file's checkpoints, after its structure and content are checked; the records
        held up to its end."""
        pa, pq = self._pa, self._pq
        try:
            found = _read_metadata(path)
        except ValueError as exc:
            raise self._corrupt(path, before, str(exc)) from None
        if found is None:
            raise self._corrupt(path, before, "no textservice metadata")
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise self._corrupt(path, before, f"unreadable ({exc})") from None
        with parquet:
            count = yield from self._checked_file(parquet, path, before, found)
        return count

    def _checked_file(
        self, parquet: Any, path: Path, before: int, found: dict[str, Any]
    ) -> Generator[Checkpoint, None, int]:
        """The checks and checkpoints of an open Parquet file whose metadata is ``found``."""
        pa = self._pa
        dimension = found["dimension"]
        rows = parquet.metadata.num_rows
        schema = parquet.schema_arrow
        if "embedding" not in schema.names or "id" not in schema.names:
            raise self._corrupt(path, before, f"columns {', '.join(schema.names)}")
        embedding, id_type = schema.field("embedding").type, schema.field("id").type
        if dimension != self.point.dimension or embedding != pa.list_(pa.float32(), dimension):
            raise self._corrupt(
                path,
                before,
                f"embeddings of type {embedding} ({dimension} values by its metadata), not "
                f"the {self.point.dimension} float32 values of {self.point.source}",
            )
        if id_type not in (pa.int64(), pa.string()):
            raise self._corrupt(path, before, f"ids of type {id_type}")
        if found["records"] != before + rows:
            raise self._corrupt(
                path,
                before,
                f"{rows} rows after {before} records, but its metadata says they end at record "
                f"{found['records']} (a segment missing, repeated or out of place)",
            )
        groups = parquet.metadata.num_row_groups
        try:
            for group in range(groups):  # the content first: a corrupt file is named so
                table = parquet.read_row_group(group)
                self._content.add_ids(table.column("id").to_pylist())
                for chunk in table.column("embedding").chunks:
                    self._content.add_vectors(chunk.flatten().to_numpy().data)
        except (pa.ArrowException, OSError) as exc:
            raise self._corrupt(path, before, f"unreadable ({exc})") from None
        content = found.get("content")
        if content is not None and content != self._content.hexdigest:
            raise self._corrupt(
                path, before, "its rows are not those its content digest was made from"
            )
        count = before
        for group in range(groups):  # then the ids, a row group at a time
            try:
                ids = parquet.read_row_group(group, columns=["id"]).column(0).to_pylist()
            except (pa.ArrowException, OSError) as exc:
                raise self._corrupt(path, before, f"unreadable ({exc})") from None
            count += len(ids)
            digest = found["digest"] if group == groups - 1 else None
            yield Checkpoint(count, digest, str(path), ids=ids)
        return count

    def start(self, chain: DigestChain, total: int) -> None:
        """Clear what cannot be kept; continue a finished output that holds a prefix."""
        self._chain = chain
        self._keys = ContentKeys(chain.settings)
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

    def _arrow_type(self, column: KeptColumn) -> Any:
        pa = self._pa
        if column.kind == "arrow":
            return column.arrow_type
        kinds = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}
        return kinds.get(column.kind, pa.string())  # string, and JSON as its text

    def _schema(self, dimension: int) -> Any:
        pa = self._pa
        key = [pa.field("key", pa.string(), nullable=False)] if self._with_keys else []
        return pa.schema(
            [
                pa.field("id", self._id_type, nullable=False),
                *(
                    pa.field(column.name, kind)
                    for column, kind in zip(self._kept, self._kept_types, strict=True)
                ),
                *key,
                pa.field("embedding", pa.list_(pa.float32(), dimension), nullable=False),
            ]
        )

    def _table(self, ids: list[Any], keys: list[str], batches: list[Any], dimension: int) -> Any:
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
        kept = [
            pa.chunked_array([pa.array(values, type=kind)])
            for values, kind in zip(self._kept_values, self._kept_types, strict=True)
        ]
        key = [pa.chunked_array([pa.array(keys, type=pa.string())])] if self._with_keys else []
        return pa.Table.from_arrays(
            [pa.chunked_array([pa.array(ids, type=self._id_type)]), *kept, *key, embedding],
            schema=self._schema(dimension),
        )

    def _checkpoint(self, records: int) -> dict[bytes, bytes]:
        assert self._chain is not None
        found = {
            "records": records,
            "digest": self._chain.hexdigest,
            "dimension": self.dimension,
            "content": self._content.hexdigest,
        }
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
        except BaseException:
            # Closing writes the footer, which fails too when the disk is full: the first
            # error is the one to report.
            with contextlib.suppress(Exception):
                writer.close()
            raise
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
        table = self._table(self._ids, self._key_rows, self._rows, self.dimension)
        final = self.part / _segment_name(self._segments + 1)
        tmp = final.with_suffix(".tmp")
        try:
            self._write_file(tmp, iter([table]), self.dimension, self._records)
            os.replace(tmp, final)
        except BaseException:  # the rows stay buffered, the segment's number free
            tmp.unlink(missing_ok=True)
            raise
        self._segments += 1
        self._ids, self._key_rows, self._rows, self._buffered = [], [], [], 0
        self._kept_values = [[] for _ in self._kept]

    def write(self, records: Sequence[Record], vectors: Vectors) -> None:
        """Add one batch; a segment is written when enough rows are buffered."""
        assert self._chain is not None, "not started"
        check_dimension(self, vectors, self.point.source)
        assert self.dimension is not None
        rows = self._np.asarray(vectors, dtype="<f4")
        assert self._keys is not None
        keys = [self._keys.add(self._chain, record)[1] for record in records]
        if self._with_keys:
            self._key_rows.extend(keys)
        ids = [r.id for r in records]
        self._ids.extend(ids)
        for index, (column, values) in enumerate(zip(self._kept, self._kept_values, strict=True)):
            found = (r.kept[index] for r in records)
            if column.kind == "json":  # JSON values of several types: their JSON text
                found = (None if v is None else json.dumps(v, default=json_default) for v in found)
            values.extend(found)
        self._rows.append(rows)
        self._content.add_ids(ids)
        self._content.add_vectors(self._np.ascontiguousarray(rows).data)
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
            before = 0
            for segment in segments:
                try:
                    table = pq.read_table(segment, schema=self._schema(dimension))
                except (self._pa.ArrowException, OSError) as exc:  # reading, not writing
                    raise self._corrupt(segment, before, f"unreadable ({exc})") from None
                before += len(table)
                yield table

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


_CACHED_GROUPS = 4
"""Row groups of embeddings a reuse keeps read (each at most ``SEGMENT_BYTES``)."""


class ParquetResults:
    """A Parquet output's results, finished or an unfinished run's segments, read for reuse
    (:mod:`..reuse`): the ``key`` column, and rows read a row group at a time (the last few
    groups read are kept, so rows read in about their old order are read once)."""

    def __init__(self, files: Sequence[Path], where: Path) -> None:
        self.where = where
        self._pq = require_pyarrow()
        self._np = require_numpy(*NEEDS_NUMPY)
        self._files = list(files)
        self._starts: list[tuple[int, int, int]] = []  # (first row, file, group), in order
        self._cache: dict[tuple[int, int], Any] = {}

    @classmethod
    def finished(cls, path: Path) -> ParquetResults:
        """A finished output's."""
        return cls([path], path)

    @classmethod
    def unfinished(cls, part: Path) -> ParquetResults:
        """An unfinished run's segments (``part``: its folder)."""
        return cls(sorted(part.glob("*.parquet")), part)

    def keys(self) -> tuple[bytes, array[int]]:
        """Each row's key (files without a ``key`` column have none) and its row."""
        import pyarrow as pa

        from textservice.cli.reuse import unhex_keys

        hexes: list[str] = []
        rows: array[int] = array("q")
        row = 0
        for number, path in enumerate(self._files):
            try:
                parquet = self._pq.ParquetFile(path)
            except (pa.ArrowException, OSError):
                continue  # unreadable: nothing of it is reused
            with parquet:
                keyed = "key" in parquet.schema_arrow.names
                for group in range(parquet.metadata.num_row_groups):
                    size = parquet.metadata.row_group(group).num_rows
                    self._starts.append((row, number, group))
                    if keyed:
                        column = parquet.read_row_group(group, columns=["key"]).column(0)
                        found = column.to_pylist()
                        if any(not isinstance(k, str) or len(k) != 32 for k in found):
                            raise OutputConflictError(
                                f"{path} holds a key that is not 32 hex digits: it is corrupt "
                                f"({REPLACE})"
                            )
                        hexes.extend(found)
                        rows.extend(range(row, row + size))
                    row += size
        try:
            return unhex_keys("".join(hexes).encode("ascii")), rows
        except (ValueError, UnicodeEncodeError):
            raise OutputConflictError(
                f"{self.where} holds a key that is not hex digits: it is corrupt ({REPLACE})"
            ) from None

    def _group(self, file: int, group: int) -> Any:
        """One row group's embeddings as a float32 array (kept in the cache)."""
        key = (file, group)
        found = self._cache.pop(key, None)
        if found is None:
            column = (
                self._pq.ParquetFile(self._files[file])
                .read_row_group(group, columns=["embedding"])
                .column(0)
            )
            flat = column.combine_chunks().flatten().to_numpy()
            found = flat.reshape(len(column), -1).astype("<f4", copy=False)
            if not self._np.isfinite(found).all():
                raise OutputConflictError(
                    f"{self._files[file]} holds an embedding that is not all numbers: it is "
                    f"corrupt ({REPLACE})"
                )
            while len(self._cache) >= _CACHED_GROUPS:
                del self._cache[next(iter(self._cache))]
        self._cache[key] = found  # the most recently used last
        return found

    def read(self, rows: Sequence[int]) -> Any:
        """Rows ``rows`` as a float32 array."""
        import bisect

        np = self._np
        out = None
        for index, row in enumerate(rows):
            at = bisect.bisect_right(self._starts, (row, len(self._files), 0)) - 1
            first, file, group = self._starts[at]
            vectors = self._group(file, group)
            if out is None:
                out = np.empty((len(rows), vectors.shape[1]), dtype="<f4")
            out[index] = vectors[row - first]
        assert out is not None
        return out

    def close(self) -> None:
        """Forget the cached row groups."""
        self._cache.clear()

    def moved(self, old: Path, new: Path) -> None:
        """Its files, under ``old``, are now under ``new``."""
        self.where = new / self.where.relative_to(old)
        self._files = [new / path.relative_to(old) for path in self._files]
