# ruff: noqa: RUF001 - the targets are written with multiplication signs
"""The targets a run is judged by: ratios measured side by side in one run, met or not.

Standard library only (the driver runs under any ``python3``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from plan import FLOOR, MEMORY_RATIO, PEER
from stats import Cell, fmt_ratio, growth, median_of, peak, per_call, ratio, wall

MEMORY_TARGET = "iter_embeddings peak RSS (each batch dropped)"
"""How the memory row's target line starts (``--memory-only`` finds it by this)."""

ProfileKey = tuple[int, int, str]
"""(latency ms, N, contender key) of a workload to profile, or ``IMPORT``."""

IMPORT: ProfileKey = (-1, -1, "import")
"""Profile marker: show ``python -X importtime`` of the facade import."""


@dataclass
class Target:
    """One target: its text, what was measured and whether it was met."""

    text: str
    measured: str
    met: bool | None  # None: not measured
    profile: tuple[ProfileKey, ...] = ()
    """(latency ms, N, contender key) to profile when not met, or ``IMPORT``."""

    @property
    def verdict(self) -> str:
        """``met``, ``**not met**`` or ``not measured``."""
        return {True: "met", False: "**not met**", None: "not measured"}[self.met]

    @property
    def row(self) -> str:
        """The target's row in the report's table of targets."""
        return f"| {self.text} | {self.measured} | {self.verdict} |"


def evaluate(
    cells: dict[tuple[int, int, str], Cell],
    single: dict[str, Cell],
    imports: dict[str, list[float] | str],
) -> list[Target]:
    """The throughput, latency, import and RSS targets of a run."""

    def med(latency: int, n: int, key: str) -> float | None:
        return cells.get((latency, n, key), Cell()).median(wall)

    def check(
        text: str,
        value: float | None,
        ok: Callable[[float], bool],
        unit: str,
        profile: tuple[ProfileKey, ...] = (),
    ) -> Target:
        if value is None:
            return Target(text, "–", None, profile)
        return Target(text, f"{value:.2f}{unit}", ok(value), profile)

    # Profiled when not met. The async variant too: its event loop runs in the profiled thread,
    # whereas a sync bridge may run the loop in a helper thread that cProfile does not see.
    lists0 = ((0, 10_000, "ours-sync"), (0, 10_000, "ours-async"))
    lists100 = ((100, 10_000, "ours-sync"), (100, 10_000, "ours-async"))

    big = 10_000
    ours0, ours100 = med(0, big, "ours-sync"), med(100, big, "ours-sync")
    single_ours = single.get("ours-sync", Cell()).median(per_call)
    single_gapic = single.get("gapic", Cell()).median(per_call)
    import_ratio = ratio(
        median_of(imports.get("textservice-ready")), median_of(imports.get("google.generativeai"))
    )
    rss_ours = cells.get((0, big, "ours-sync"), Cell()).median(lambda r: r.maxrss_kb)
    rss_peer = cells.get((0, big, PEER), Cell()).median(lambda r: r.maxrss_kb)
    return [
        check(
            "N=10,000, 0 ms: ours (sync, lists) ≤ 1.0× the floor (raw grpcio, 8 in flight)",
            ratio(ours0, med(0, big, FLOOR)),
            lambda v: v <= 1.0,
            "× floor",
            lists0,
        ),
        check(
            "N=10,000, 0 ms: ours (sync) ≥ 25× faster than google-generativeai 0.7.2",
            ratio(med(0, big, PEER), ours0),
            lambda v: v >= 25,
            "× faster",
            lists0,
        ),
        check(
            "N=10,000, 100 ms: ours (sync) ≥ 6× faster than the GAPIC client",
            ratio(med(100, big, "gapic"), ours100),
            lambda v: v >= 6,
            "× faster",
            lists100,
        ),
        check(
            "N=10,000, 100 ms: ours (sync) ≤ 1.2× the floor (8 in flight)",
            ratio(ours100, med(100, big, FLOOR)),
            lambda v: v <= 1.2,
            "× floor",
            lists100,
        ),
        check(
            "single-text sync call: median ≤ 1.0× the GAPIC client's (issue 21)",
            ratio(single_ours, single_gapic),
            lambda v: v <= 1.0,
            "× GAPIC",
        ),
        check(
            "import textservice (+ generate_embeddings) ≤ 0.3× import google.generativeai",
            import_ratio,
            lambda v: v <= 0.3,
            "×",
            (IMPORT,),
        ),
        check(
            "peak RSS at N=10,000 (0 ms): ours (sync) ≤ google-generativeai's",
            ratio(rss_ours, rss_peer),
            lambda v: v <= 1.0,
            "× peer's RSS",
        ),
        check(
            'N=10,000, 0 ms: output="numpy" ≥ 2× faster than list output (sync)',
            ratio(ours0, med(0, big, "ours-numpy")),
            lambda v: v >= 2,
            "× faster",
            ((0, 10_000, "ours-numpy"),),
        ),
    ]


def memory_target_text(ns: Sequence[int]) -> str:
    """The memory row's target line for sizes ``ns``."""
    low, high = min(ns), max(ns)
    return (
        f"{MEMORY_TARGET}, its growth during the call: {high:,} texts ≤ {MEMORY_RATIO}× "
        f"{low:,} texts"
    )


def memory_target(cells: dict[int, Cell], ns: Sequence[int]) -> Target:
    """Median growth during the call at the largest size ÷ at the smallest (the absolute
    peaks' ratio is shown beside it)."""
    low, high = cells.get(min(ns), Cell()), cells.get(max(ns), Cell())
    value = ratio(high.median(growth), low.median(growth))
    text = memory_target_text(ns)
    if value is None:
        return Target(text, "–", None)
    absolute = ratio(high.median(peak), low.median(peak))
    shown = f"{value:.2f}× (absolute peaks: {fmt_ratio(absolute)})"
    return Target(text, shown, value <= MEMORY_RATIO)
