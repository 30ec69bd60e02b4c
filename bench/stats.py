# ruff: noqa: RUF001 - numbers are written with multiplication signs and dashes
"""Statistics over contender runs: outcomes, cells of runs, medians, ratios and how they read.

Standard library only (the driver runs under any ``python3``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Run:
    """One contender process's outcome."""

    ok: bool
    unavailable: bool = False
    error: str = ""
    wall_s: float = 0.0
    per_call_median_s: float = 0.0
    maxrss_kb: int = 0
    rss_before_kb: int = 0
    """Resident memory just before the timed call (recorded by the streaming contender)."""
    server_cpu_s: float = 0.0
    calls: int = 0
    max_in_flight: int = 0
    output_type: str = ""
    profile: str = ""


@dataclass
class Cell:
    """All runs of one contender in one workload."""

    runs: list[Run] = field(default_factory=list)

    @property
    def good(self) -> list[Run]:
        """The runs that passed their checks."""
        return [r for r in self.runs if r.ok]

    def median(self, value: Callable[[Run], float]) -> float | None:
        """Median of ``value`` over the good runs (``None``: none)."""
        good = self.good
        return statistics.median(value(r) for r in good) if good else None

    def span(self, value: Callable[[Run], float]) -> tuple[float, float] | None:
        """Least and greatest ``value`` over the good runs (``None``: none)."""
        good = self.good
        return (min(value(r) for r in good), max(value(r) for r in good)) if good else None

    def failure(self) -> str:
        """Why runs failed (``"not available: ..."`` or ``"FAILED: ..."``), or ``""``."""
        bad = [r for r in self.runs if not r.ok]
        if not bad:
            return ""
        kind = "not available" if all(r.unavailable for r in bad) else "FAILED"
        return f"{kind}: {bad[0].error}"


def wall(r: Run) -> float:
    """Wall time of the timed workload."""
    return r.wall_s


def per_call(r: Run) -> float:
    """Median time of one call (single-text mode)."""
    return r.per_call_median_s


def growth(run: Run) -> float:
    """How much the process's resident memory grew during the timed call: its peak RSS minus
    its RSS just before (the texts and the connected client are already in the latter)."""
    return max(0, run.maxrss_kb - run.rss_before_kb)


def peak(run: Run) -> float:
    """The process's peak RSS in KiB."""
    return run.maxrss_kb


def median_of(times: list[float] | str | None) -> float | None:
    """Median of measured times; ``None`` for an error message or no runs."""
    return statistics.median(times) if isinstance(times, list) and times else None


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or ``None`` when either is missing or ``b`` is 0."""
    return None if a is None or b is None or b == 0 else a / b


def fmt_s(value: float | None) -> str:
    """Seconds as the report writes them (ms below 10 ms; a dash for none)."""
    if value is None:
        return "–"
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    return f"{value:.3f} s"


def fmt_ratio(value: float | None) -> str:
    """A ratio as the report writes it (a dash for none)."""
    if value is None:
        return "–"
    return f"{value:.3f}×" if value < 0.1 else f"{value:.2f}×"
