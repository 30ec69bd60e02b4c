"""Reusing an earlier run's vectors: a rerun on a changed input embeds only what changed.

Every result of a file output carries its content key (:mod:`.content_keys`: a hash of the
text, title, media bytes, model and options). When a rerun finds that the output (or its
``.part``) was made from another input, it does not refuse it: it reads the keys the earlier
results hold into a :class:`ReuseIndex`, works out which of its own records have a key there
(:class:`Reuse`), and writes a new output in input order, copying each of those vectors from
the earlier file by its row (or line) and embedding only the others. The new output replaces
the old one atomically when it is finished, as any output does.

- **Which earlier results.** The finished ``OUTPUT`` (unless it is the one being continued),
  and any unfinished run's files set aside in ``OUTPUT.reuse/`` (:func:`set_aside`): a
  ``.part`` of another input is moved there before the new ``.part`` is started, so that a
  rerun stopped midway still has them; a finished run removes the folder.
- **Memory.** The index holds 16 bytes of key, 8 of row and 2 of source per distinct key,
  about 26 MiB for a million results (sorted arrays, looked up with ``searchsorted``), plus 8
  bytes per input line for the plan. Vectors are read from the earlier file a run of records
  at a time, by offset, never all at once.
- **Another model or options.** The first bytes of every key name the settings, so results
  of another model or options are counted apart and never reused; the rerun says so.
- **Order and resume.** The records are read twice, in step: once to write (each either
  copied or waiting for its embedding), once to feed the embedding calls with the records to
  embed. A ``.part`` written this way is an ordinary one: a rerun resumes it exactly and
  goes on reusing from the same earlier files.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from array import array
from collections.abc import AsyncGenerator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from textservice.cli.content_keys import KEY_SIZE, ContentKeys
from textservice.cli.inputs import Record
from textservice.cli.services import EmbedBatches, embedded

__all__ = [
    "Earlier",
    "Reuse",
    "ReuseIndex",
    "aside_folders",
    "remove_asides",
    "reuse_folder",
    "set_aside",
    "unhex_keys",
]

Vectors = Any
"""One batch's vectors, as the output's writer takes them."""


class Earlier(Protocol):
    """An earlier run's results, open for reuse (one format's reader)."""

    where: Path
    """What to name in messages."""

    def keys(self) -> tuple[bytes, array[int]]:
        """Every result's key (``KEY_SIZE`` bytes each, concatenated) and its row (what
        :meth:`read` takes), for the results that have a key."""

    def read(self, rows: Sequence[int]) -> Vectors:
        """The vectors of ``rows``, in that order, as the output's writer takes them."""

    def close(self) -> None:
        """Release its files."""

    def moved(self, old: Path, new: Path) -> None:
        """Its files, under the folder ``old``, are now under ``new`` (set aside)."""


def _np() -> Any:
    import numpy

    return numpy


_HEX_VALUES = bytes(range(256)).translate(bytes.maketrans(b"0123456789abcdef", bytes(range(16))))


def unhex_keys(hexes: bytes) -> bytes:
    """Keys' hex digits (``2 * KEY_SIZE`` lowercase digits each, concatenated) as bytes;
    ``ValueError`` if any is not a lowercase hex digit."""
    np = _np()
    digits = np.frombuffer(hexes, dtype=np.uint8)
    table = np.frombuffer(_HEX_VALUES, dtype=np.uint8).copy()
    valid = np.zeros(256, dtype=bool)
    valid[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = True
    if len(digits) % 2 or not valid[digits].all():
        raise ValueError("not a key's hex digits")
    values = table[digits]
    return bytes((values[0::2] << 4) | values[1::2])


class ReuseIndex:
    """The keys of earlier results, sorted, each with where its vector is (see the module
    docstring); ``tag``: the settings' part of this run's keys (others are not taken)."""

    def __init__(self, sources: Sequence[Earlier], tag: bytes) -> None:
        np = _np()
        wanted = np.frombuffer(tag, dtype="<u4")[0]
        keys, numbers, rows = [], [], []
        self.total = 0
        """Earlier results with a key."""
        self.other_settings = 0
        """Of those, results of another model or options."""
        for number, source in enumerate(sources):
            packed, found = source.keys()
            batch = np.frombuffer(packed, dtype=f"S{KEY_SIZE}")
            tags = np.frombuffer(packed, dtype="<u4")[:: KEY_SIZE // 4]
            same = tags == wanted
            self.total += len(batch)
            self.other_settings += int(len(batch) - same.sum())
            keys.append(batch[same])
            rows.append(np.frombuffer(found, dtype=np.int64)[same])
            numbers.append(np.full(int(same.sum()), number, dtype=np.int16))
        every = np.concatenate(keys) if keys else np.empty(0, dtype=f"S{KEY_SIZE}")
        order = np.argsort(every, kind="stable")  # the first source's copy of a key first
        every = every[order]
        first = np.ones(len(every), dtype=bool)
        first[1:] = every[1:] != every[:-1]
        self.keys = every[first]
        self.source = (np.concatenate(numbers) if numbers else np.empty(0, np.int16))[order][first]
        self.rows = (np.concatenate(rows) if rows else np.empty(0, np.int64))[order][first]

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, keys: Any) -> Any:
        """Each of ``keys`` (an ``S16`` array)'s entry in the index, or -1."""
        np = _np()
        if not len(self.keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.searchsorted(self.keys, keys)
        at = np.minimum(at, len(self.keys) - 1)
        return np.where(self.keys[at] == keys, at, -1).astype(np.int64)

    def nbytes(self) -> int:
        """The memory its arrays take."""
        return int(self.keys.nbytes + self.source.nbytes + self.rows.nbytes)


@dataclass
class Reuse:
    """Which records of this input reuse an earlier vector, and the copying and embedding
    of a run that does (see the module docstring)."""

    sources: Sequence[Earlier]
    index: ReuseIndex
    entries: Any
    """Per input line (index 0 unused): the index entry of its record's vector, or -1."""
    reused: int
    """Records after the resume point whose vector is reused."""
    embedded: int
    """Records after the resume point to embed."""
    dropped: int
    """Earlier results (distinct keys of this model and options) no record has any more."""

    @classmethod
    def plan(
        cls,
        sources: Sequence[Earlier],
        keys: ContentKeys,
        records: Iterator[Record],
        line_count: int,
        *,
        done: int = 0,
    ) -> Reuse:
        """The plan for ``records`` (every record of the input, in order; their keys are
        made now), of which the first ``done`` are already in the output."""
        np = _np()
        index = ReuseIndex(sources, keys.tag)
        packed = bytearray()
        lines: array[int] = array("q")
        for record in records:
            packed += keys.key(record)
            lines.append(record.line)
        mine = np.frombuffer(bytes(packed), dtype=f"S{KEY_SIZE}")
        found = index.find(mine)
        entries = np.full(line_count + 1, -1, dtype=np.int64)
        entries[np.frombuffer(lines, dtype=np.int64)] = found
        later = found[done:]
        reused = int((later >= 0).sum())
        dropped = int(np.isin(index.keys, mine, invert=True).sum()) if len(index) else 0
        return cls(sources, index, entries, reused, len(later) - reused, dropped)

    def read(self, entries: Sequence[int]) -> Vectors:
        """The vectors of index ``entries``, in order (from one or more sources)."""
        np = _np()
        at = np.asarray(entries, dtype=np.int64)
        sources, rows = self.index.source[at], self.index.rows[at]
        if (sources == sources[0]).all():
            return self.sources[int(sources[0])].read(rows.tolist())
        parts = {
            int(n): self.sources[int(n)].read(rows[sources == n].tolist())
            for n in np.unique(sources)
        }
        taken = dict.fromkeys(parts, 0)
        ordered = []
        for n in sources.tolist():
            ordered.append(parts[n][taken[n]])
            taken[n] += 1
        first = parts[int(sources[0])]
        if hasattr(first, "rows"):  # JSONL text rows (EncodedRows)
            return type(first)(ordered, first.dimension)
        return np.stack(ordered)

    async def batches(
        self,
        records: Iterator[Record],
        to_embed: Iterator[Record],
        embed: EmbedBatches,
        *,
        batch_size: int,
    ) -> AsyncGenerator[tuple[Sequence[Record], Vectors, bool], None]:
        """``(records, vectors, reused)`` in input order: runs of ``records`` whose vector
        is copied, and runs whose vector was embedded. ``to_embed``: the same records read
        again, only those to embed (the embedding calls run ahead of the writing)."""
        done = embedded(to_embed, embed)
        held: Sequence[Record] = []  # the current embedded batch
        vectors: Any = None
        cursor = 0  # its records written so far (or waiting in the run below)
        run_start: int | None = None  # where its run of records to write starts
        copies: list[Record] = []
        copied: list[int] = []
        entries = self.entries
        try:
            for record in records:
                entry = int(entries[record.line])
                if entry >= 0:
                    if run_start is not None:
                        yield held[run_start:cursor], vectors[run_start:cursor], False
                        run_start = None
                    copies.append(record)
                    copied.append(entry)
                    if len(copies) >= batch_size:
                        yield copies, self.read(copied), True
                        copies, copied = [], []
                    continue
                if copies:
                    yield copies, self.read(copied), True
                    copies, copied = [], []
                if cursor == len(held):
                    if run_start is not None:
                        yield held[run_start:cursor], vectors[run_start:cursor], False
                        run_start = None
                    try:
                        held, vectors = await anext(done)
                    except StopAsyncIteration:
                        raise RuntimeError(f"no embedding came for line {record.line}") from None
                    cursor = 0
                if held[cursor].line != record.line:
                    raise RuntimeError(
                        f"the embeddings are out of step: line {held[cursor].line} came for "
                        f"line {record.line}"
                    )
                if run_start is None:
                    run_start = cursor
                cursor += 1
            if run_start is not None:
                yield held[run_start:cursor], vectors[run_start:cursor], False
            if copies:
                yield copies, self.read(copied), True
            if cursor != len(held) or await anext(done, None) is not None:
                raise RuntimeError("more embeddings came than records to embed")
        finally:
            await done.aclose()

    def close(self) -> None:
        """Close the earlier files."""
        for source in self.sources:
            source.close()


def left_to_embed(records: Iterable[Record], done: int, reuse: Reuse | None) -> Iterator[Record]:
    """The records a run still sends: ``records`` past the ``done`` first (resumed), less
    those whose vector ``reuse`` copies from an earlier output."""
    left = itertools.islice(records, done, None)
    if reuse is None:
        return left
    entries = reuse.entries
    return (r for r in left if entries[r.line] < 0)


def reuse_folder(output: Path) -> Path:
    """Where unfinished runs of another input are kept for reuse: ``OUTPUT`` + ``.reuse``."""
    return output.with_name(output.name + ".reuse")


def aside_folders(output: Path) -> list[Path]:
    """The unfinished runs set aside for ``output``, oldest first."""
    folder = reuse_folder(output)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()]
    return sorted(found, key=lambda p: int(p.name))


def set_aside(files: Sequence[Path], output: Path) -> Path:
    """Move an unfinished run's ``files`` (those that exist) into a new numbered folder of
    ``OUTPUT.reuse``; that folder."""
    existing = aside_folders(output)
    folder = reuse_folder(output) / str(int(existing[-1].name) + 1 if existing else 1)
    folder.mkdir(parents=True)
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, folder / path.name)
    return folder


def remove_asides(output: Path) -> None:
    """Remove ``OUTPUT.reuse`` (once ``output`` is finished, or started over)."""
    shutil.rmtree(reuse_folder(output), ignore_errors=True)
