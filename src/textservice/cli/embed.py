"""``textservice embed``'s loop: input records in, resumable results out, with progress."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from textservice._engine.embed import length_change
from textservice.cli.inputs import Record
from textservice.cli.progress import Progress
from textservice.cli.reuse import Reuse
from textservice.cli.services import EmbedBatches, embedded
from textservice.cli.writers.common import ResultWriter, dimension_changed
from textservice.errors import TextServiceError

__all__ = ["EmbedBatches", "EmbedSummary", "embed_records", "format_summary"]


@dataclass
class EmbedSummary:
    """What a run did, for the closing line."""

    embedded: int = 0
    """Records embedded by this run."""
    reused: int = 0
    """Records whose vector this run copied from an earlier output (:mod:`.reuse`)."""
    dropped: int | None = None
    """Earlier results no record has any more (``None``: nothing was reused)."""
    resumed: int = 0
    """Records already done by an earlier run."""
    skipped: int = 0
    """Bad input lines skipped (``--skip-bad``)."""
    dimension: int | None = None
    seconds: float = 0.0
    destination: str = ""
    quota_wait: float = 0.0
    """Seconds during which calls were held back for quota (``QuotaStats.throttled_for``)."""
    rejected: int = 0
    """Calls the server refused for quota (RESOURCE_EXHAUSTED), each sent again later."""
    jobs: tuple[str, ...] = ()
    """The Batch mode jobs whose results this run wrote (``--batch-mode``)."""


async def embed_records(
    records: Iterator[Record],
    writer: ResultWriter,
    embed_batches: EmbedBatches,
    *,
    progress: Progress,
    summary: EmbedSummary,
    reuse: tuple[Reuse, Iterator[Record], int] | None = None,
) -> None:
    """Embed ``records`` (those after ``writer.point``) and hand each batch to ``writer`` in
    order; with ``reuse`` (the plan, the records to embed read again, the batch size), the
    vectors it holds are copied instead.

    ``summary`` is updated as batches arrive, so it is right even when this is interrupted
    (its ``seconds`` are the caller's to set).
    """
    done = writer.point.count
    summary.resumed = done

    def take(batch: Sequence[Record], vectors: Any, reused: bool) -> None:
        writer.write(batch, vectors)
        if reused:
            summary.reused += len(batch)
        else:
            summary.embedded += len(batch)
        summary.dimension = writer.dimension
        progress.update(done + summary.embedded + summary.reused)

    try:
        if reuse is None:
            async with contextlib.aclosing(embedded(records, embed_batches)) as results:
                async for batch, vectors in results:
                    take(batch, vectors, False)
            return
        plan, to_embed, batch_size = reuse
        batches = plan.batches(records, to_embed, embed_batches, batch_size=batch_size)
        async with contextlib.aclosing(batches):  # its embedding calls end with it, however
            async for copied, vectors, reused in batches:
                take(copied, vectors, reused)
    except TextServiceError as exc:
        # the library refuses a call's batches changing length before the writer sees them
        lengths = length_change(exc)
        if lengths is None:
            raise
        raise dimension_changed(*lengths) from exc


def format_summary(summary: EmbedSummary, *, finished: bool = True) -> str:
    """One line: count, dimension, time, throughput, where the results are."""
    rate = summary.embedded / summary.seconds if summary.seconds > 0 else 0.0
    # No dimension before the first vector (an empty input, or a failure before any).
    dimension = f", dimension {summary.dimension}," if summary.dimension is not None else ""
    verb = "embedded" if finished else "embedded so far"
    parts = [
        f"{verb} {summary.embedded} texts{dimension} "
        f"in {summary.seconds:.2f} s ({rate:,.0f} texts/s)"
    ]
    if summary.dropped is not None:
        parts.append(
            f"reused {summary.reused}, embedded {summary.embedded}, dropped {summary.dropped}"
        )
    if summary.jobs:
        parts.append(f"in Batch mode: {', '.join(summary.jobs)}")
    if summary.resumed:
        parts.append(f"{summary.resumed} already done")
    if summary.skipped:
        parts.append(f"{summary.skipped} bad lines skipped")
    if summary.quota_wait > 0 or summary.rejected:
        calls = f"{summary.rejected} call{'' if summary.rejected == 1 else 's'}"
        parts.append(
            f"{summary.quota_wait:.1f} s waiting for quota ({calls} over quota, sent again)"
        )
    return "; ".join(parts) + f" -> {summary.destination}"
