"""What a bench run measures: the contenders, the workload and the plan read from the command line.

Standard library only (the driver runs under any ``python3``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from paths import BENCH, WORK

MODEL = "models/embedding-gecko-001"
API_KEY = "bench-not-a-real-key"
DIM = 768


@dataclass(frozen=True)
class Contender:
    """One way of embedding texts, run as ``<venv python> bench/contenders/<script> --variant``."""

    key: str
    label: str
    venv: str  # "project" or "peer"
    script: str
    variant: str
    single: bool = False  # also run in the single-text latency workload


CONTENDERS = (
    Contender("ours-sync", "ours, sync (lists)", "project", "ours.py", "sync", single=True),
    Contender("ours-async", "ours, async (lists)", "project", "ours.py", "async", single=True),
    Contender("ours-numpy", 'ours, sync, output="numpy"', "project", "ours.py", "numpy"),
    Contender("genai", "google-generativeai 0.7.2", "peer", "peer.py", "genai", single=True),
    Contender("gapic", "GAPIC TextServiceClient", "peer", "peer.py", "gapic", single=True),
    Contender("raw-seq", "raw grpcio stub, sequential", "project", "raw.py", "seq", single=True),
    Contender("raw-8", "raw grpcio stub, 8 in flight (floor)", "project", "raw.py", "inflight8"),
)
STREAMING = Contender(
    "ours-iter", "ours, iter_embeddings (lists, each batch dropped)", "project", "ours.py", "iter"
)
"""The memory row's contender (not in the throughput tables)."""
BY_KEY = {c.key: c for c in (*CONTENDERS, STREAMING)}
FLOOR = "raw-8"
PEER = "genai"
SINGLE_FLOOR = "raw-seq"
MEMORY_NS = (10_000, 100_000)
MEMORY_RATIO = 1.2

IMPORTS = {
    "textservice": (
        "project",
        "import textservice",
    ),
    "textservice-ready": (
        "project",
        "import textservice\ntextservice.generate_embeddings",
    ),
    "google.generativeai": ("peer", "import google.generativeai"),
}
"""Import-time rows: name -> (venv, statement timed in a fresh interpreter)."""
IMPORT_LABELS = {
    "textservice": "`import textservice`",
    "textservice-ready": "`import textservice` + `textservice.generate_embeddings`",
    "google.generativeai": "`import google.generativeai` (0.7.2)",
}


@dataclass
class Plan:
    """The workloads, sizes and repetitions of one run."""

    ns: list[int]
    latencies: list[int]
    rounds: int
    genai_rounds_10k: int
    calls: int
    import_runs: int
    generate_runs: int
    contenders: list[Contender]
    partial: bool  # quick or custom: a smoke run, not the full plan
    memory_ns: list[int] = field(default_factory=lambda: list(MEMORY_NS))
    memory: bool = True
    """Measure the memory row (``iter_embeddings`` at ``memory_ns`` texts)."""
    memory_only: bool = False


def parse_plan(argv: Sequence[str] | None, description: str) -> tuple[Plan, Path, str]:
    """The plan, the report's path and the expected vectors' source, from the command line."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run (N <= 1,000)")
    parser.add_argument("--ns", help="comma-separated N values")
    parser.add_argument("--latencies", help="comma-separated server latencies in ms")
    parser.add_argument("--rounds", type=int)
    parser.add_argument(
        "--genai-rounds-10k", type=int, help="google-generativeai rounds at N=10,000"
    )
    parser.add_argument("--calls", type=int, help="calls per single-text run")
    parser.add_argument("--import-runs", type=int)
    parser.add_argument("--only", help="comma-separated contender keys: " + ",".join(BY_KEY))
    parser.add_argument("--out", help="report path")
    parser.add_argument("--vectors", default="auto", choices=["auto", "fake", "bench"])
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="measure only the memory row and update it in place in the report",
    )
    parser.add_argument("--memory-ns", help="comma-separated N values of the memory row")
    args = parser.parse_args(argv)
    quick = args.quick
    plan = Plan(
        ns=[int(x) for x in args.ns.split(",")]
        if args.ns
        else ([1, 100, 1000] if quick else [1, 100, 1000, 10_000]),
        latencies=[int(x) for x in args.latencies.split(",")] if args.latencies else [0, 100],
        rounds=args.rounds or (2 if quick else 3),
        genai_rounds_10k=args.genai_rounds_10k or args.rounds or (2 if quick else 3),
        calls=args.calls or (50 if quick else 200),
        import_runs=args.import_runs or (3 if quick else 7),
        generate_runs=1 if quick else 3,
        contenders=[BY_KEY[k] for k in args.only.split(",") if BY_KEY[k] is not STREAMING]
        if args.only
        else list(CONTENDERS),
        partial=quick
        or bool(args.ns or args.latencies or args.rounds or args.only or args.calls)
        or bool(args.memory_ns and not args.memory_only),
        memory_ns=[int(x) for x in args.memory_ns.split(",")]
        if args.memory_ns
        else ([10_000, 30_000] if quick else list(MEMORY_NS)),
        memory=not args.only or STREAMING.key in args.only.split(","),
        memory_only=args.memory_only,
    )
    # --memory-only updates the memory row of the full report in place (at its usual sizes).
    full = not args.memory_ns if plan.memory_only else not plan.partial
    default_out = BENCH / "RESULTS.md" if full else WORK / "RESULTS-quick.md"
    out = Path(args.out) if args.out else default_out
    return plan, out, args.vectors
