"""The benchmark driver behind ``make bench`` (standard library only).

One command prepares what it needs, starts one bench server in its own process, runs every
contender in its own process against it (alternating contenders, several rounds), checks each
contender's vectors against the expected float32 vectors before its time counts, and writes a
markdown report (``bench/RESULTS.md`` for a full run, ``bench/.work/RESULTS-quick.md`` for
``--quick``).

Contenders (``bench/contenders/``): ours (sync, async, numpy output), google-generativeai 0.7.2,
its GAPIC ``TextServiceClient``, and a raw grpcio stub from protoc's standard output, sequential
and with 8 batches in flight (the floor). Also: import time, single-text latency, peak RSS,
``make generate`` time, and the memory row: peak RSS of ``iter_embeddings`` at 10,000 and
100,000 texts with each batch dropped (bounded memory means the two are close).

Usage: ``python3 bench/run.py [--quick] [--rounds R] [--ns 1,100] [--latencies 0,100]
[--only KEY,KEY] [--out FILE]`` (``make bench``, ``make bench BENCH_QUICK=1``);
``python3 bench/run.py --memory-only`` measures only the memory row and updates it in place in
``bench/RESULTS.md`` (saying so there), leaving the rest of the report as it was.

This module is the driver; the rest lives beside it: ``plan`` (contenders, workload, command
line), ``prepare`` (peer venv, reference modules, the server process), ``measure`` (running
contenders, imports, ``make generate``, the memory row), ``stats`` (runs, medians, ratios),
``targets`` (what a run is judged by), ``facts`` (machine and versions) and ``report`` (the
markdown).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from facts import Facts, elapsed, git_revision, loadavg, machine, utc_now, versions
from measure import Contenders, measure_generate, measure_imports, measure_memory
from paths import PEER_PY, PROJECT_PY, WORK
from plan import parse_plan
from prepare import BenchServer, build_reference, ensure_peer_venv, log
from report import (
    Results,
    memory_only_provenance,
    memory_section,
    write_memory_row,
    write_report,
)
from stats import Cell
from targets import evaluate, memory_target

PROJECT_DISTS = ["textservice", "betterproto2", "grpclib", "numpy", "grpcio", "protobuf"]
PEER_DISTS = [
    "google-generativeai",
    "google-ai-generativelanguage",
    "google-api-core",
    "proto-plus",
    "protobuf",
    "grpcio",
]
"""The distributions whose versions the report names, per venv."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the plan named on the command line; 1 when a contender run failed its checks."""
    plan, out_path, vector_source = parse_plan(argv, __doc__ or "")
    if not PROJECT_PY.exists():
        sys.exit("the project venv is missing: run `make venv` (or `make bench`)")
    if plan.memory_only:
        return memory_only(plan.memory_ns, plan.rounds, out_path, vector_source)
    started = time.monotonic()
    load_start = loadavg()
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_peer_venv()
    ref = build_reference()
    prewarm = max([*plan.ns, plan.calls, *(plan.memory_ns if plan.memory else [])])
    server = BenchServer(ref, prewarm=prewarm, vectors=vector_source)
    log(f"server: pid {server.process.pid} on {server.target}; vectors: {server.vectors}")
    results = Results()
    memory_cells: dict[int, Cell] = {}
    contenders = Contenders(server, ref)
    try:
        results.cells = contenders.throughput(plan)
        if plan.memory:
            memory_cells = contenders.memory(plan.memory_ns, plan.rounds)
        results.single = contenders.single(plan)
        log("imports ...")
        results.imports = measure_imports(plan.import_runs)
        log("make generate ...")
        results.generate = measure_generate(plan.generate_runs)
        targets = evaluate(results.cells, results.single, results.imports)
        if plan.memory:
            targets.append(memory_target(memory_cells, plan.memory_ns))
        results.profiles = contenders.profiles(targets)
    finally:
        server.stop()
    facts = Facts(
        command=" ".join(["python3 bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
        date=utc_now(),
        duration=elapsed(started),
        machine=machine(),
        load_start=load_start,
        load_end=loadavg(),
        revision=git_revision(),
        versions={
            "project venv (ours, floor, server)": versions(PROJECT_PY, PROJECT_DISTS),
            **({"peer venv": versions(PEER_PY, PEER_DISTS)} if PEER_PY.exists() else {}),
        },
        vectors=server.vectors,
    )
    memory = (
        memory_section(memory_cells, plan.memory_ns, "Measured in this run.") if plan.memory else []
    )
    write_report(out_path, plan, results, targets, facts, memory)
    log(f"wrote {out_path} in {facts.duration}")
    for target in targets:
        log(f"  {target.verdict:>13}  {target.measured:>16}  {target.text}")
    if contenders.failed_checks:
        log(f"{contenders.failed_checks} contender run(s) FAILED (see the report)")
        return 1
    return 0


def memory_only(ns: Sequence[int], rounds: int, out_path: Path, vector_source: str) -> int:
    """``--memory-only``: measure the memory row and update it in ``out_path`` in place."""
    started = time.monotonic()
    load_start = loadavg()
    WORK.mkdir(parents=True, exist_ok=True)
    ref = build_reference()
    server = BenchServer(ref, prewarm=max(ns), vectors=vector_source)
    log(f"server: pid {server.process.pid} on {server.target}; vectors: {server.vectors}")
    try:
        cells = measure_memory(server, ref, ns, rounds)
    finally:
        server.stop()
    provenance = memory_only_provenance(
        utc_now(), elapsed(started), git_revision(), (load_start, loadavg()), rounds
    )
    target = memory_target(cells, ns)
    write_memory_row(out_path, memory_section(cells, ns, provenance), target)
    log(f"wrote the memory row to {out_path}")
    log(f"  {target.verdict:>13}  {target.measured:>16}  {target.text}")
    failed = sum(not r.ok for cell in cells.values() for r in cell.runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
