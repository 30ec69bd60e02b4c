"""Counts kept per key (a tuple: version, method, status, model, quota...), read back with
some parts of the key left open: the request log's and the quota ledger's queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

__all__ = ["tally"]

K = TypeVar("K", bound=tuple[object, ...])


def tally(counts: Mapping[K, int], *wanted: object) -> int:
    """The sum of the ``counts`` whose key matches ``wanted`` part by part (``None``: any)."""
    return sum(
        n
        for key, n in counts.items()
        if all(part is None or part == got for part, got in zip(wanted, key, strict=True))
    )
