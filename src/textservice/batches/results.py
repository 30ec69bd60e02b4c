"""A batch's results, one at a time: from its results file (read line by line from disk) or
from the responses of an inline batch.

A results file's line is ``{"key": KEY, "response": EmbedContentResponse}`` or, for a request
that failed, the key and its status (``"error"``, as an inline response names it, or
``"status"``: both are read). Lines come in no particular order; the key says which request
each answers. An embedding is read as the float32 values the API sent (``json_mapping``, as
for an online call over REST); one that is empty, or holds NaN or an infinity, is a failed
result, never a vector.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grpclib.const import Status

from textservice._encoding import json_mapping

__all__ = ["BatchResult", "inline_results", "parse_line", "read_results"]

_EMBEDDING = ("embedding",)


@dataclass(frozen=True)
class BatchResult:
    """One request's result: its vector, or why it failed."""

    key: str | None
    """The key it was sent with (``None``: none, for an inline request without one)."""
    values: array[float] | None
    """The embedding's float32 values (``None``: it failed)."""
    code: Status = Status.OK
    """Why it failed (``OK``: it did not)."""
    message: str = ""

    @property
    def ok(self) -> bool:
        """Whether it has a vector."""
        return self.values is not None


def _status(value: Any) -> tuple[Status, str]:
    if not isinstance(value, Mapping):
        return Status.UNKNOWN, "the result holds neither a response nor a status"
    code = value.get("code", Status.UNKNOWN.value)
    try:
        status = Status(int(code))
    except (TypeError, ValueError):
        status = Status.UNKNOWN
    if status is Status.OK:
        status = Status.UNKNOWN
    message = value.get("message")
    return status, message if isinstance(message, str) and message else status.name


def _vector(response: Any) -> tuple[array[float] | None, str]:
    """A response's values as float32 (``None`` and why, when it holds no usable vector)."""
    embedding = response.get("embedding") if isinstance(response, Mapping) else None
    numbers = embedding.get("values") if isinstance(embedding, Mapping) else None
    if not isinstance(numbers, list) or not numbers:
        return None, "the response holds no embedding"
    values: array[float] = array("f")
    try:
        json_mapping.extend_float32(values, numbers)
    except (TypeError, ValueError) as exc:
        return None, f"the embedding is not numbers: {exc}"
    if not all(map(math.isfinite, values)):
        return None, "the embedding holds NaN or an infinity"
    return values, ""


def _result(key: Any, response: Any, error: Any) -> BatchResult:
    shown = key if isinstance(key, str) else None
    if response is not None:
        values, why = _vector(response)
        if values is not None:
            return BatchResult(shown, values)
        return BatchResult(shown, None, Status.INTERNAL, why)
    code, message = _status(error)
    return BatchResult(shown, None, code, message)


def parse_line(line: bytes) -> BatchResult:
    """One line of a results file (``ValueError`` for one that is not a JSON object)."""
    value = json_mapping.loads(line)
    if not isinstance(value, Mapping):
        raise ValueError("a results line must be a JSON object")
    error = value.get("error", value.get("status"))
    return _result(value.get("key"), value.get("response"), error)


def read_results(path: Path) -> Iterator[BatchResult]:
    """The results in the file at ``path``, line by line (never all in memory)."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield parse_line(line)
            except ValueError as exc:
                raise ValueError(f"{path}: line {number} is not a result: {exc}") from None


def inline_results(responses: list[Any]) -> Iterator[BatchResult]:
    """The results of an inline batch (its ``inlined_responses``, as dicts), in request order;
    a response's ``metadata["key"]`` is its key."""
    for item in responses:
        metadata = item.get("metadata") or {}
        key = metadata.get("key") if isinstance(metadata, Mapping) else None
        yield _result(key, item.get("response"), item.get("error"))
