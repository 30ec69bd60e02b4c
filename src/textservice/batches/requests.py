"""A batch's input: its requests as JSON lines, and whether they go inline or as a file.

Each line of an input file is ``{"key": KEY, "request": EmbedContentRequest}`` (the Batch API
guide's JSONL input; the results come back by the same key). The requests are the ones
``embed_content`` would send for the same items, with the same checks (``_facade.content.
RequestJson``: gemini-embedding-2's instruction text, titles only with RETRIEVAL_DOCUMENT,
the dimensionality and media the model takes), written one item at a time so an input of
any length is never held whole.

Inline or file (``plan_input``): the guide takes inline requests up to 20 MB, and an inline
batch's results come back inside the batch itself (every ``get`` of it once it is done, one
JSON document read whole), so requests go inline only when both they and the results they
will make (estimated from the vector length) are under that size; anything larger is a file
uploaded through the Files API, whose results are a file streamed to disk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from textservice._encoding import json_mapping
from textservice._facade.content_calls import RequestJson

__all__ = [
    "INLINE_BYTES",
    "RESULT_BYTES_PER_VALUE",
    "InputPlan",
    "RequestLines",
    "plan_input",
    "write_line",
]

INLINE_BYTES = 20 * 1024 * 1024
"""Inline requests must stay under this size (the Batch API guide: "under 20MB"); larger
batches go as a file."""

RESULT_BYTES_PER_VALUE = 12
"""What a vector's value takes in JSON results, about (``-0.012345679,``): the estimate of an
inline batch's results."""

_MB = 1024 * 1024


def write_line(sink: IO[bytes], key: str, request: dict[str, Any]) -> int:
    """Write one input line ``{"key", "request"}`` to ``sink``; the bytes written."""
    line = json_mapping.dumps({"key": key, "request": request}) + b"\n"
    sink.write(line)
    return len(line)


@dataclass
class RequestLines:
    """Writes a batch's input lines (``key``, item) to a file, counting them."""

    requests: RequestJson
    sink: IO[bytes]
    lines: int = 0
    bytes: int = 0

    def add(self, key: str, item: object, argument: str) -> None:
        """Check ``item`` (``argument`` names it in errors) and write its line."""
        self.bytes += write_line(self.sink, key, self.requests.item(item, argument))
        self.lines += 1

    def add_all(self, keyed: Iterable[tuple[str, object]], argument: str = "contents") -> None:
        """``add`` each ``(key, item)``; ``argument[i]`` names the ``i``-th in errors."""
        for index, (key, item) in enumerate(keyed):
            self.add(key, item, f"{argument}[{index}]")


@dataclass(frozen=True)
class InputPlan:
    """How a batch's requests would be sent."""

    lines: int
    """Requests."""
    bytes: int
    """Their JSON lines' size."""
    result_bytes: int
    """Their results' estimated size."""

    @property
    def inline(self) -> bool:
        """Inline (in the create call) rather than an uploaded file (see the module)."""
        return self.bytes < INLINE_BYTES and self.result_bytes < INLINE_BYTES

    def describe(self) -> str:
        """``"inline: 1,200 requests, 0.4 MB"`` or ``"a file of ... uploaded through the
        Files API"``."""
        size = f"{self.bytes / _MB:,.1f} MB" if self.bytes >= _MB // 10 else f"{self.bytes:,} bytes"
        requests = f"{self.lines:,} request{'' if self.lines == 1 else 's'}"
        if self.inline:
            return f"inline: {requests}, {size} (results expected in the batch itself)"
        return (
            f"as a file: {requests}, {size} of JSON lines, uploaded through the Files API "
            f"(results as a file, about {self.result_bytes / _MB:,.0f} MB)"
        )


def plan_input(lines: int, request_bytes: int, dimension: int) -> InputPlan:
    """The plan for ``lines`` requests written in ``request_bytes`` whose vectors have
    ``dimension`` values."""
    return InputPlan(lines, request_bytes, lines * dimension * RESULT_BYTES_PER_VALUE)
