"""What a run does with an earlier run's files: resume them, reuse them, or refuse them.

1. The output's earlier results (its ``.part``, else the finished ``OUTPUT``) are verified
   against the input record by record (:mod:`.checkpoints`). If they are this input's, the
   run resumes where they end, as it always has.
2. If they are sound but made from another input, model or options
   (:class:`~textservice.cli.errors.InputChangedError`), the run starts a new output and
   reuses every earlier vector whose content key one of its records has
   (:mod:`.reuse`): a ``.part`` of another input is first set aside in ``OUTPUT.reuse/``.
   Earlier results without keys (written before keys existed) are refused as before.
3. Either way, earlier results other than those resumed (the finished ``OUTPUT`` behind a
   ``.part``, runs set aside) are reused for the records still to embed.

Corrupt results are refused whatever the case (``OutputConflictError``, exit 4), nothing
changed. ``--overwrite`` skips all of this: a full run, the runs set aside removed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textservice.cli.checkpoints import verify_checkpoints
from textservice.cli.content_keys import ContentKeys
from textservice.cli.digests import DigestChain, VectorSettings
from textservice.cli.errors import InputChangedError
from textservice.cli.inputs import Record
from textservice.cli.reuse import Earlier, Reuse, aside_folders, remove_asides, set_aside
from textservice.cli.sources import InputCheck, Source
from textservice.cli.writers.common import ResultWriter
from textservice.cli.writers.destinations import earlier_finished, earlier_unfinished, open_output

__all__ = ["Prepared", "prepare", "reuse_plan", "verify_earlier"]


@dataclass
class Prepared:
    """An output ready to start: its writer, the records still to write (an iterator past
    the resumed ones), the digest chain over those resumed, and what is reused."""

    writer: ResultWriter
    records: Iterator[Record]
    chain: DigestChain
    reuse: Reuse | None = None


def verify_earlier(
    writer: ResultWriter,
    source: Source,
    check: InputCheck,
    chain: DigestChain,
    *,
    name_difference: bool = True,
) -> Any:
    """Check what an earlier run left, record by record, against the input (reading the
    records it holds into ``chain``); the rest of the records, to embed.

    A finished output that holds every record is compared by its last digest only (nothing
    will be added to it); when that differs, ``name_difference`` reads it again to name the
    first result that differs (a rerun that reuses it has no need to)."""
    point = writer.point
    complete = point.finished and point.count == check.record_count
    records = source.records(check)
    try:
        done = verify_checkpoints(
            writer.checkpoints(every=not complete), records, chain, writer.point_digest
        )
    except InputChangedError as exc:
        if name_difference:
            raise _named(exc, writer, source, check, chain.settings) from None
        raise
    assert done == point.count, f"checked {done} of {point.count} results"
    return records


def _named(
    exc: InputChangedError,
    writer: ResultWriter,
    source: Source,
    check: InputCheck,
    settings: VectorSettings,
) -> InputChangedError:
    """The error refusing ``writer``'s earlier results, naming the first result that differs
    where the format can (a finished output was compared by its last digest only)."""
    point = writer.point
    if not (point.finished and point.count == check.record_count):
        return exc
    try:
        verify_checkpoints(
            writer.checkpoints(every=True),
            source.records(check),
            DigestChain(settings),
            writer.point_digest,
        )
    except InputChangedError as named:
        return named
    return exc


def prepare(
    output_path: str | None,
    source: Source,
    check: InputCheck,
    *,
    settings: VectorSettings,
    overwrite: bool,
    note: Callable[[str], object],
) -> Prepared:
    """The output of this run, its earlier results resumed, reused or refused (see the
    module docstring); ``note`` tells the user what is reused. Nothing is changed on disk
    before it returns, except a ``.part`` of another input set aside."""
    writer = open_output(output_path, check, settings=settings, overwrite=overwrite)
    chain = DigestChain(settings)
    if output_path is None or output_path == "-":
        return Prepared(writer, source.records(check), chain)
    output = Path(output_path)
    if overwrite:
        remove_asides(output)
        return Prepared(writer, source.records(check), chain)
    changed: InputChangedError | None = None
    before = copy.copy(chain)
    try:
        records = verify_earlier(writer, source, check, chain, name_difference=False)
    except InputChangedError as exc:
        changed = exc
    keys = ContentKeys(settings)
    sources: list[Earlier] = []
    in_place: Earlier | None = None
    if changed is not None and writer.point.source is not None and not writer.point.finished:
        in_place = earlier_unfinished(output.parent, output)  # the .part of another input
        if in_place is not None:
            sources.append(in_place)
    if output.is_file() and not (changed is None and writer.point.finished):
        finished = earlier_finished(output)
        if finished is not None:
            sources.append(finished)
    sources += [s for f in aside_folders(output) if (s := earlier_unfinished(f, output))]
    done = 0 if changed is not None else writer.point.count
    try:
        reuse = (
            Reuse.plan(sources, keys, source.records(check), check.line_count, done=done)
            if sources
            else None
        )
    except BaseException:
        for earlier in sources:
            earlier.close()
        raise
    if changed is not None:
        if reuse is None or reuse.index.total == 0:
            if reuse is not None:
                reuse.close()
            raise _named(changed, writer, source, check, settings) from None
        if writer.point.source is not None and not writer.point.finished:
            folder = set_aside(writer.part_files, output)
            if in_place is not None:
                in_place.moved(output.parent, folder)
        writer = open_output(output_path, check, settings=settings, overwrite=True)
        chain, records = before, source.records(check)
    if reuse is not None:
        if changed is not None or reuse.reused:
            note(_describe(reuse, output, changed is not None))
        if reuse.reused == 0:  # nothing to copy: an ordinary run
            reuse.close()
            reuse = None
    return Prepared(writer, records, chain, reuse)


def _describe(reuse: Reuse, output: Path, changed: bool) -> str:
    """What is reused, for the user."""
    index = reuse.index
    what = (
        f"{output} holds results of another input"
        if changed
        else f"{output}'s earlier results are reused for the texts left"
    )
    text = (
        f"{what}: reusing {reuse.reused:,} of them, embedding {_texts(reuse.embedded)}, "
        f"dropping {reuse.dropped:,} (results whose text is no longer in the input)"
    )
    if index.other_settings:
        text += (
            f"; {index.other_settings:,} of its results were made with another model or "
            "options and are not reused"
        )
    if index.other_settings == index.total:
        text = (
            f"{output} was made with another model or options: none of its "
            f"{index.total:,} results is reused; embedding all {_texts(reuse.embedded)}"
        )
    return text


def _texts(count: int) -> str:
    return f"{count:,} text{'' if count == 1 else 's'}"


def reuse_plan(
    output_path: str | None, source: Source, check: InputCheck, *, settings: VectorSettings
) -> tuple[int, Reuse | None]:
    """What a run would find in ``output_path``, changing nothing (``--dry-run``): how many
    records it would resume past, and what it would reuse (``None``: nothing)."""
    if output_path is None or output_path == "-":
        return 0, None
    output = Path(output_path)
    writer = open_output(output_path, check, settings=settings, overwrite=False)
    changed = False
    try:
        verify_earlier(writer, source, check, DigestChain(settings), name_difference=False)
    except InputChangedError:
        changed = True
    sources: list[Earlier] = []
    if changed and writer.point.source is not None and not writer.point.finished:
        found = earlier_unfinished(output.parent, output)
        if found is not None:
            sources.append(found)
    if output.is_file() and not (not changed and writer.point.finished):
        finished = earlier_finished(output)
        if finished is not None:
            sources.append(finished)
    sources += [s for f in aside_folders(output) if (s := earlier_unfinished(f, output))]
    done = 0 if changed else writer.point.count
    if not sources:
        return done, None
    return done, Reuse.plan(
        sources, ContentKeys(settings), source.records(check), check.line_count, done=done
    )
