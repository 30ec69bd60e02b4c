"""The governor's settings, checked once when made."""

from __future__ import annotations

import math
from dataclasses import dataclass

from textservice._checks import is_int, is_number
from textservice._governor.cost import UNITS, Unit


def _number(name: str, value: object, *, minimum: float, inclusive: bool = True) -> float:
    if not is_number(value):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    number = float(value)
    ok = number >= minimum if inclusive else number > minimum
    if not (math.isfinite(number) and ok):
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


@dataclass(frozen=True)
class GovernorSettings:
    """How a ``RateGovernor`` throttles. Every limit applies to each (method, model) key.

    Times are in the clock's seconds (real seconds, unless a test's clock says otherwise).
    """

    max_concurrency: int = 8
    """Calls in flight per key at most; the adaptive limit starts here and never exceeds it."""
    requests_per_minute: float | None = None
    """Client-side limit of requests per quota minute (``None``: none)."""
    texts_per_minute: float | None = None
    """Client-side limit of texts per quota minute."""
    tokens_per_minute: float | None = None
    """Client-side limit of estimated tokens (``estimate_tokens``) per quota minute."""
    share: float = 1.0
    """The fraction of every limit this governor takes (``0.25``: one of four machines
    sharing a project's quota). Applies to the limits above and to those learned from the
    server's ``QuotaFailure``."""
    minute: float = 60.0
    """Seconds in a quota minute (a test against a fake whose clock runs 60 times faster
    sets 1)."""
    decrease: float = 0.5
    """The concurrency limit is multiplied by this on RESOURCE_EXHAUSTED."""
    increase: float = 1.0
    """The concurrency limit grows by this per limit's worth of successful calls
    (``increase / limit`` per success)."""
    backoff: float = 1.0
    """First pause after a rejection without ``RetryInfo``; doubled for each further one in
    a row, at most ``minute``."""
    jitter: float = 0.2
    """Waiters held by a pause of ``d`` seconds are released spread over ``jitter * d``
    seconds after it (each at a random point), not all at once."""
    margin: float = 0.01
    """Client-side limits count a call for ``minute * (1 + margin)``: slack for the time a
    request takes to reach the server, so the server never sees one too many per minute (and
    an answered call for at least a ``minute`` after its answer, if that is later)."""
    learn_limits: bool = True
    """Take the limit a per-minute ``QuotaFailure`` names (``quota_value``) as a client-side
    limit of what it counts (requests, texts or tokens), times ``share``."""

    def __post_init__(self) -> None:
        n = self.max_concurrency
        if not is_int(n):
            raise TypeError(f"max_concurrency must be an int, not {type(n).__name__}")
        if n < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {n}")
        for unit in UNITS:
            name = f"{unit}_per_minute"
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _number(name, value, minimum=0, inclusive=False))
        checks: dict[str, tuple[float, bool]] = {
            "minute": (0.0, False),
            "increase": (0.0, False),
            "backoff": (0.0, False),
            "jitter": (0.0, True),
            "margin": (0.0, True),
        }
        for name, (minimum, inclusive) in checks.items():
            object.__setattr__(
                self, name, _number(name, getattr(self, name), minimum=minimum, inclusive=inclusive)
            )
        share = _number("share", self.share, minimum=0.0, inclusive=False)
        if share > 1.0:
            raise ValueError(f"share must be in (0, 1], got {self.share!r}")
        object.__setattr__(self, "share", share)
        decrease = _number("decrease", self.decrease, minimum=0.0, inclusive=False)
        if decrease >= 1.0:
            raise ValueError(f"decrease must be in (0, 1), got {self.decrease!r}")
        object.__setattr__(self, "decrease", decrease)
        if not isinstance(self.learn_limits, bool):
            raise TypeError(f"learn_limits must be a bool, not {type(self.learn_limits).__name__}")

    def limit(self, unit: Unit) -> float | None:
        """The configured limit of ``unit`` per minute, times ``share`` (``None``: none)."""
        value: float | None = getattr(self, f"{unit}_per_minute")
        return None if value is None else value * self.share
