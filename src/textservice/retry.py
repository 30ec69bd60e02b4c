"""Retry policy: which failures are retried and how long to wait between attempts.

The waiting is hand-written rather than taken from a retry library (tenacity, backoff): the
policy is gRPC's own (exponential backoff with full jitter, A6 "gRPC Retry Design") plus two
server-driven rules (``RetryInfo`` delays, no retry of a per-day quota), all bounded by the
call's deadline. That is a handful of lines over our error types, and the runtime keeps its
dependencies to betterproto2 and grpclib.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Protocol

from grpclib.const import Status

from textservice._checks import is_int, is_number

__all__ = ["FailedAttempt", "Retry"]


class FailedAttempt(Protocol):
    """What the policy reads of a failure: a ``textservice.TextServiceError`` has all three.

    Read structurally, so this module needs nothing of ``textservice.errors``.
    """

    @property
    def code(self) -> Status:
        """The gRPC status of the failure."""
        ...

    @property
    def retry_delay(self) -> float | None:
        """Seconds the server asked to wait (its ``RetryInfo``), or ``None``."""
        ...

    @property
    def is_daily_quota(self) -> bool:
        """Whether the failure names a per-day quota (waiting will not help)."""
        ...


_CODE_NAMES = frozenset(s.name for s in Status if s is not Status.OK)


@dataclass(frozen=True)
class Retry:
    """An exponential-backoff retry policy (the shape of gRPC's service-config ``retryPolicy``).

    ``retry_codes`` are gRPC status names such as ``"UNAVAILABLE"``. A failure whose code is
    listed is retried after ``backoff(n)`` seconds, or after the server's ``RetryInfo`` delay
    when that is longer, until ``max_attempts`` attempts (the first one included) were made.

    A server delay longer than ``max_retry_delay`` is not waited for: the call fails at once,
    naming the delay. The call's timeout bounds every attempt and wait: a wait that would
    outlast it is not started.

    A client hands ``RESOURCE_EXHAUSTED`` to its rate governor instead of this policy: a
    per-minute quota is waited out (``max_retry_delay`` bounding each server-asked wait,
    ``retry_info`` saying whether ``RetryInfo`` is honoured), not counted against
    ``max_attempts`` (a ``RESOURCE_EXHAUSTED`` naming neither a quota nor a delay is), and
    ``retry=None`` turns that off too. ``delay`` on its own keeps the policy's rule for it:
    retried only after a ``RetryInfo`` delay, never for a per-day quota.
    """

    max_attempts: int = 5
    initial_backoff: float = 1.0
    max_backoff: float = 10.0
    multiplier: float = 1.3
    retry_codes: tuple[str, ...] = ("UNAVAILABLE",)
    retry_info: bool = True
    """Honour a server's ``RetryInfo`` delay on ``RESOURCE_EXHAUSTED``."""
    max_retry_delay: float | None = 60.0
    """The longest server-asked (``RetryInfo``) delay to wait before a retry, in seconds; a
    longer one fails the call at once. ``None``: no limit but the call's timeout (with
    ``timeout=None`` a server could make a call sleep for hours)."""

    def __post_init__(self) -> None:
        if not is_int(self.max_attempts):
            raise TypeError(f"Retry.max_attempts must be an int, got {self.max_attempts!r}")
        if self.max_attempts < 1:
            raise ValueError(f"Retry.max_attempts must be >= 1, got {self.max_attempts}")
        for name in ("initial_backoff", "max_backoff", "multiplier"):
            value = getattr(self, name)
            if not is_number(value):
                raise TypeError(f"Retry.{name} must be a number of seconds, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"Retry.{name} must be finite and >= 0, got {value!r}")
        limit = self.max_retry_delay
        if limit is not None:
            if not is_number(limit):
                raise TypeError(
                    f"Retry.max_retry_delay must be a number of seconds or None, got {limit!r}"
                )
            if not math.isfinite(limit) or limit < 0:
                raise ValueError(f"Retry.max_retry_delay must be finite and >= 0, got {limit!r}")
        if self.multiplier < 1:
            raise ValueError(f"Retry.multiplier must be >= 1, got {self.multiplier}")
        if isinstance(self.retry_codes, str):
            raise TypeError("Retry.retry_codes must be a sequence of status names, not a str")
        codes = tuple(c.name if isinstance(c, Status) else c for c in self.retry_codes)
        unknown = [c for c in codes if c not in _CODE_NAMES]
        if unknown:
            raise ValueError(f"Retry.retry_codes has unknown gRPC status names: {unknown}")
        object.__setattr__(self, "retry_codes", codes)

    def backoff(self, retry_number: int, rand: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry).

        Full jitter: uniform in ``[0, min(initial_backoff * multiplier**(n-1), max_backoff))``;
        ``rand`` (in ``[0, 1)``) replaces the random draw, for tests.
        """
        cap = min(self.initial_backoff * self.multiplier ** (retry_number - 1), self.max_backoff)
        return cap * (random.random() if rand is None else rand)

    def delay(self, error: FailedAttempt, attempts: int, rand: float | None = None) -> float | None:
        """Seconds to wait before retrying after ``attempts`` attempts failed with ``error``.

        ``None`` means do not retry: the code is not retryable, the attempts are used up, the
        quota is a per-day one, or the server asked for a delay over ``max_retry_delay``
        (``refused_delay`` tells that case apart).
        """
        wait = self._wait(error, attempts, rand)
        if wait is None or self._too_long(error):
            return None
        return wait

    def refused_delay(self, error: FailedAttempt, attempts: int) -> float | None:
        """The server's delay when it alone stops a retry (it is over ``max_retry_delay``),
        else ``None``."""
        if self._too_long(error) and self._wait(error, attempts, 0.0) is not None:
            return error.retry_delay
        return None

    def _too_long(self, error: FailedAttempt) -> bool:
        limit, asked = self.max_retry_delay, error.retry_delay
        return limit is not None and asked is not None and asked > limit

    def _wait(self, error: FailedAttempt, attempts: int, rand: float | None) -> float | None:
        if attempts >= self.max_attempts:
            return None
        code = error.code.name
        if code == "RESOURCE_EXHAUSTED":
            if error.is_daily_quota:
                return None
            if code in self.retry_codes:
                return max(self.backoff(attempts, rand), error.retry_delay or 0.0)
            if self.retry_info and error.retry_delay is not None:
                return error.retry_delay
            return None
        if code in self.retry_codes:
            return max(self.backoff(attempts, rand), error.retry_delay or 0.0)
        return None
