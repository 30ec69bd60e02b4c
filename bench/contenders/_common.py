"""What every contender shares: the workload texts, the command line, the JSON report.

Standard library only: contenders run in different venvs (the project's ``.venv`` for ours and
the raw grpcio floor, ``bench/.venv-peer`` for google-generativeai 0.7.2 and its GAPIC client),
and the bench server (project venv) imports ``texts`` and ``digest_float32`` from here too, so
both sides agree on the inputs and on how vectors are compared.

A contender module defines ``batch(args, texts)`` and/or ``single(args, texts)`` per variant and
calls ``main()``. Each function builds its client, makes one untimed warm-up call (connection
set-up, lazy imports), then times only the workload and returns what it measured with the
vectors it got. ``main`` checks the shape, digests the vectors as float32 and prints one JSON
line; the driver compares the digest with the server's expected one before the time counts.
"""

from __future__ import annotations

import argparse
import array
import hashlib
import json
import resource
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

API_KEY_HEADER = "x-goog-api-key"
WARM_UP_TEXT = "warm-up call (not timed)"
BATCH_LIMIT = 100
"""BatchEmbedText takes at most 100 texts."""

EXIT_UNAVAILABLE = 3
"""Exit status when the contender's library cannot be imported (e.g. ours before the merge)."""


def texts(n: int) -> list[str]:
    """The first ``n`` workload texts (distinct, some non-ASCII)."""
    return [f"bench text {i}: café, naïve — the quick brown fox" for i in range(n)]


def chunks(items: Sequence[str], size: int = BATCH_LIMIT) -> list[Sequence[str]]:
    """``items`` in consecutive slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def digest_float32(vectors: Iterable[Iterable[float]]) -> str:
    """SHA-256 of the vectors as little-endian float32, concatenated in order.

    Equal digests mean every value is float32-equal (bit for bit) to the other side's.
    Values that are not exactly float32 are rounded to the nearest float32 first, which is the
    comparison the issue asks for ("float32-equal").
    """
    digest = hashlib.sha256()
    for vector in vectors:
        packed = array.array("f", vector)
        if sys.byteorder != "little":
            packed.byteswap()
        digest.update(packed)
    return digest.hexdigest()


class StreamedVectors:
    """Vectors seen one batch at a time and not kept (a streaming contender): their count, their
    lengths and their float32 digest, computed as ``digest_float32`` would over all of them."""

    def __init__(self) -> None:
        self.count = 0
        self.dims: set[int] = set()
        self._digest = hashlib.sha256()

    def update(self, batch: Iterable[Iterable[float]]) -> None:
        """Digest one batch of vectors (lists of floats, or the rows of a float32 array)."""
        for vector in batch:
            packed = array.array("f", vector)
            if sys.byteorder != "little":
                packed.byteswap()
            self._digest.update(packed)
            self.dims.add(len(packed))
            self.count += 1

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def current_rss_kb() -> int:
    """The process's resident set size now, in KiB (Linux ``/proc/self/statm``; else the
    peak so far, ``ru_maxrss``)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() // 1024
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Unavailable(Exception):
    """The contender's library is not importable here; the driver reports it as not measured."""


@dataclass
class Measured:
    """What a contender function returns."""

    vectors: Any
    """list of vectors (lists of floats), an (n, dim) float32 array for array output, or
    ``StreamedVectors`` for a contender that drops each batch once digested."""
    wall_s: float = 0.0
    """Batch mode: wall time of the whole workload."""
    per_call_s: list[float] = field(default_factory=list)
    """Single mode: wall time of each call."""
    rss_before_kb: int = 0
    """The process's resident memory just before the timed call (``current_rss_kb``), when
    the contender records it (0: not recorded)."""
    cpu_s: float = 0.0
    """Batch mode: this process's CPU seconds (user + system, every thread) during the
    workload, when the contender records it (``cpu_seconds``; 0: not recorded)."""


def cpu_seconds() -> float:
    """This process's CPU time so far, user and system, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


Variant = Callable[[argparse.Namespace, list[str]], Measured]


def parse_args(variants: Iterable[str]) -> argparse.Namespace:
    """The command line every contender takes (the driver builds it)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", required=True, choices=sorted(variants))
    parser.add_argument("--mode", required=True, choices=["batch", "single"])
    parser.add_argument("--target", required=True, help="host:port of the bench server")
    parser.add_argument("--model", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--n", type=int, required=True, help="texts (batch) or calls (single)")
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--ref", default="", help="folder of the tsref reference modules")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed part")
    return parser.parse_args()


def metadata(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The API key header, as grpcio and GAPIC take per-call metadata."""
    return [(API_KEY_HEADER, args.api_key)]


_profiler: Any = None
"""A ``cProfile.Profile`` with ``--profile``: it records only the timed parts."""


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """``fn()``'s wall time and result (profiled with ``--profile``)."""
    if _profiler is not None:
        _profiler.enable()
    start = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    if _profiler is not None:
        _profiler.disable()
    return wall, result


async def timed_async(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """``await fn()``'s wall time and result (profiled with ``--profile``)."""
    if _profiler is not None:
        _profiler.enable()
    start = time.perf_counter()
    result = await fn()
    wall = time.perf_counter() - start
    if _profiler is not None:
        _profiler.disable()
    return wall, result


def _check_shape(vectors: Any, count: int, dim: int) -> tuple[str, str]:
    """Digest of ``vectors`` after checking there are ``count`` of length ``dim``."""
    if isinstance(vectors, StreamedVectors):  # digested batch by batch as they came
        if vectors.count != count or vectors.dims - {dim}:
            raise AssertionError(
                f"streamed: expected {count} vectors of {dim}, got {vectors.count} of "
                f"{sorted(vectors.dims)}"
            )
        return "streamed batches (not kept)", vectors.hexdigest()
    if hasattr(vectors, "dtype"):  # array output: digest its float32 bytes as they are
        if str(vectors.dtype) != "float32" or tuple(vectors.shape) != (count, dim):
            raise AssertionError(
                f"array output: expected float32 ({count}, {dim}), "
                f"got {vectors.dtype} {tuple(vectors.shape)}"
            )
        digest = hashlib.sha256()
        for row in vectors:  # row by row: no full copy to inflate the process's peak RSS
            digest.update(row.astype("<f4", copy=False).tobytes())
        return "array float32", digest.hexdigest()
    if len(vectors) != count:
        raise AssertionError(f"expected {count} vectors, got {len(vectors)}")
    kinds = set()
    for i, vector in enumerate(vectors):
        if len(vector) != dim:
            raise AssertionError(f"vector {i} has {len(vector)} values, expected {dim}")
        kinds.add(type(vector).__name__)
    inner = {type(x).__name__ for x in vectors[0]} if count else set()
    return f"{'/'.join(sorted(kinds))} of {'/'.join(sorted(inner))}", digest_float32(vectors)


def main(variants: dict[str, dict[str, Variant]]) -> None:
    """Run the variant and mode named on the command line; print one JSON line.

    ``variants`` maps a variant name to ``{"batch": fn, "single": fn}`` (either may be absent).
    """
    args = parse_args(variants)
    report: dict[str, Any] = {"variant": args.variant, "mode": args.mode, "n": args.n}
    fn = variants[args.variant].get(args.mode)
    if fn is None:
        report.update(ok=False, unavailable=True, error=f"no {args.mode} mode")
        print(json.dumps(report))
        sys.exit(EXIT_UNAVAILABLE)
    global _profiler
    if args.profile:
        import cProfile

        _profiler = cProfile.Profile()
    try:
        measured = fn(args, texts(args.n))
        # peak RSS of the work itself, before the check below allocates anything
        maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        output_type, digest = _check_shape(measured.vectors, args.n, args.dim)
    except Unavailable as exc:
        report.update(ok=False, unavailable=True, error=str(exc))
        print(json.dumps(report))
        sys.exit(EXIT_UNAVAILABLE)
    except Exception as exc:
        report.update(ok=False, error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())
        print(json.dumps(report))
        sys.exit(1)
    report.update(
        ok=True,
        wall_s=measured.wall_s,
        per_call_s=measured.per_call_s,
        digest=digest,
        output_type=output_type,
        maxrss_kb=maxrss_kb,
        rss_before_kb=measured.rss_before_kb,
        cpu_s=measured.cpu_s,
    )
    if _profiler is not None:
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(_profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
        report["profile"] = out.getvalue()
    print(json.dumps(report))


def run_single_calls(call: Callable[[str], Any], items: list[str]) -> Measured:
    """Time ``call(text)`` once per text, sequentially (single-text latency mode)."""
    vectors = []
    per_call = []
    for text in items:
        start = time.perf_counter()
        vector = call(text)
        per_call.append(time.perf_counter() - start)
        vectors.append(vector)
    return Measured(vectors=vectors, per_call_s=per_call, wall_s=sum(per_call))


async def run_single_calls_async(
    call: Callable[[str], Awaitable[Any]], items: list[str]
) -> Measured:
    """``run_single_calls`` for an async call, awaited on the running loop."""
    vectors = []
    per_call = []
    for text in items:
        start = time.perf_counter()
        vector = await call(text)
        per_call.append(time.perf_counter() - start)
        vectors.append(vector)
    return Measured(vectors=vectors, per_call_s=per_call, wall_s=sum(per_call))
