"""Retry policy: which status codes are retried and how long to wait between attempts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Retry:
    """An exponential-backoff retry policy (the shape of gRPC's service-config ``retryPolicy``).

    ``retry_codes`` are gRPC status names such as ``"UNAVAILABLE"``.
    """

    max_attempts: int = 5
    initial_backoff: float = 1.0
    max_backoff: float = 10.0
    multiplier: float = 1.3
    retry_codes: tuple[str, ...] = ("UNAVAILABLE",)
