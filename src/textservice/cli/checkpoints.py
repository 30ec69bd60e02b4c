"""Checking an earlier run's results against the input, record by record, before a resume.

Every format says what it holds as a sequence of :class:`Checkpoint`\\ s, read from its files as
they come: a JSONL line is one (its id and digest), a Parquet row group one (its ids; the last
of a file also the digest after it), a ``.npy`` one (the digest after its rows, and the line
its last row is). A format checks its own files as it reads them (valid lines, segments and
rows whose content digest matches, one embedding length) and raises ``OutputConflictError``
naming what is corrupt. :func:`verify_checkpoints` walks the input's records alongside: each
checkpoint's ids must be the input's ids in order and its digest the input's digest after its
last record, so any changed, missing, repeated or reordered result is found, and named, before a
call is made.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from textservice.cli.digests import DigestChain
from textservice.cli.errors import OutputConflictError
from textservice.cli.inputs import Record, RecordId

__all__ = ["REPLACE", "Checkpoint", "verify_checkpoints"]

REPLACE = "pass --overwrite to replace it"


@dataclass(frozen=True)
class Checkpoint:
    """A place in an earlier run's results where they can be compared with the input."""

    count: int
    """Records held up to and including this place."""
    digest: str | None
    """The digest the results hold after those records (see ``ResultWriter.point_digest``;
    ``None``: none here, only ids)."""
    where: str
    """What to name in a message: ``o.jsonl.part: result 7``, a segment's path."""
    ids: Sequence[RecordId] | None = None
    """The ids of the records since the previous checkpoint, as stored (``None``: not
    stored)."""
    last_line: int | None = None
    """The input line the record at ``count`` must be on (``None``: not recorded)."""
    refusal: str | None = None
    """The message when the digest differs (``None``: a generic one naming the records)."""


def _same_id(a: RecordId, b: RecordId) -> bool:
    return type(a) is type(b) and a == b


def verify_checkpoints(
    checkpoints: Iterable[Checkpoint],
    records: Iterator[Record],
    chain: DigestChain,
    digest_of: Callable[[DigestChain], str],
) -> int:
    """Read the input's records into ``chain`` up to each checkpoint and compare; how many
    records the checkpoints hold (all of them read into ``chain``).

    ``records``: the input's, from the first (as many are read as the checkpoints hold);
    ``digest_of``: what a checkpoint's digest should be, given the chain so far.
    """
    done = 0
    for point in checkpoints:
        first, size = done + 1, point.count - done
        if size < 1:
            raise OutputConflictError(
                f"{point.where} holds results up to record {point.count}, not after record "
                f"{done} like the results before it: it is corrupt ({REPLACE})"
            )
        if point.ids is not None and len(point.ids) != size:
            raise OutputConflictError(
                f"{point.where} holds {len(point.ids)} ids for {size} records: it is corrupt "
                f"({REPLACE})"
            )
        last: Record | None = None
        for index in range(size):
            record = next(records, None)
            number = first + index
            if record is None:
                raise OutputConflictError(
                    f"{point.where} holds {point.count} results but the input has only "
                    f"{number - 1} records: it is not this input's output ({REPLACE})"
                )
            if point.ids is not None and not _same_id(point.ids[index], record.id):
                raise OutputConflictError(
                    f"{point.where} has id {json.dumps(point.ids[index])} for record {number} "
                    f"but the input's record {number} (line {record.line}) has id "
                    f"{json.dumps(record.id)}: it is not this input's output, or its results "
                    f"were reordered ({REPLACE})"
                )
            chain.add(record)
            last = record
        assert last is not None
        if point.digest is not None and digest_of(chain) != point.digest:
            if point.refusal is not None:
                raise OutputConflictError(point.refusal)
            span = (
                f"the input's record {point.count} (line {last.line})"
                if first == point.count
                else f"this input (its records {first} to {point.count})"
            )
            raise OutputConflictError(
                f"{point.where} does not match {span}: a text, an id, the model or the options "
                f"differ from the run that wrote it ({REPLACE})"
            )
        if point.last_line is not None and point.last_line != last.line:
            raise OutputConflictError(
                f"{point.where} says its record {point.count} is on line {point.last_line}, but "
                f"it is on line {last.line} of this input: it is corrupt ({REPLACE})"
            )
        done = point.count
    return done
