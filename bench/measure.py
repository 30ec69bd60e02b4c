"""Timing: contender processes against the bench server, imports, ``make generate``, memory.

Standard library only (the driver runs under any ``python3``). Every measurement runs in its
own process; this module starts them, checks what they report and keeps their outcomes.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from paths import BENCH, PROJECT_PY, REPO, WORK, python_for
from plan import API_KEY, BY_KEY, DIM, IMPORTS, MODEL, PEER, STREAMING, Contender, Plan
from prepare import BenchServer, log
from stats import Cell, Run, growth
from targets import IMPORT, Target

EXIT_UNAVAILABLE = 3  # contenders/_common.py
CONTENDER_TIMEOUT_S = 600


def run_contender(
    contender: Contender,
    server: BenchServer,
    ref: Path,
    mode: str,
    n: int,
    profile: bool = False,
) -> Run:
    """Run one contender process, verify its vectors, return its timing."""
    args = [
        str(python_for(contender.venv)),
        str(BENCH / "contenders" / contender.script),
        f"--variant={contender.variant}",
        f"--mode={mode}",
        f"--target={server.target}",
        f"--model={MODEL}",
        f"--api-key={API_KEY}",
        f"--n={n}",
        f"--dim={DIM}",
        f"--ref={ref}",
        *(["--profile"] if profile else []),
    ]
    expected = server.digest(n)
    cpu_before = server.stats()["cpu_s"]  # also resets the counters
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=CONTENDER_TIMEOUT_S, cwd=REPO
        )
    except subprocess.TimeoutExpired:
        return Run(ok=False, error=f"timed out after {CONTENDER_TIMEOUT_S} s")
    stats = server.stats()
    cpu = stats["cpu_s"] - cpu_before
    lines = done.stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = done.stderr.strip().splitlines()[-5:]
        return Run(ok=False, error=f"exit {done.returncode}, no report: {' | '.join(tail)}")
    if not report.get("ok"):
        return Run(
            ok=False,
            unavailable=done.returncode == EXIT_UNAVAILABLE,
            error=report.get("error", "failed"),
        )
    if report["digest"] != expected:
        return Run(ok=False, error="vectors differ from the expected float32 vectors")
    per_call = report.get("per_call_s") or []
    return Run(
        ok=True,
        wall_s=report["wall_s"],
        per_call_median_s=statistics.median(per_call) if per_call else 0.0,
        maxrss_kb=report["maxrss_kb"],
        rss_before_kb=report.get("rss_before_kb", 0),
        server_cpu_s=cpu,
        calls=stats["calls"],
        max_in_flight=stats["max_in_flight"],
        output_type=report.get("output_type", ""),
        profile=report.get("profile", ""),
    )


def rotated(items: Sequence[Contender], round_index: int) -> list[Contender]:
    """``items`` starting at a different one each round, so no contender always goes first."""
    k = round_index % len(items)
    return [*items[k:], *items[:k]]


@dataclass
class Contenders:
    """Runs contenders against one server, skipping those that proved unavailable."""

    server: BenchServer
    ref: Path
    failed_checks: int = 0
    """Runs that failed (not counting contenders that are not available)."""
    unavailable: dict[tuple[str, str], str] = field(default_factory=dict)
    """(contender, mode) -> why it is not importable."""

    def run(self, contender: Contender, mode: str, n: int) -> Run:
        """Run a contender; once it proved unavailable, skip its later runs in that mode."""
        if (contender.key, mode) in self.unavailable:
            return Run(ok=False, unavailable=True, error=self.unavailable[contender.key, mode])
        run = run_contender(contender, self.server, self.ref, mode, n)
        if run.unavailable:
            self.unavailable[contender.key, mode] = run.error
        self.failed_checks += (not run.ok) and not run.unavailable
        return run

    def throughput(self, plan: Plan) -> dict[tuple[int, int, str], Cell]:
        """Every contender at every latency and N, rounds alternating contenders."""
        cells: dict[tuple[int, int, str], Cell] = {}
        for latency in plan.latencies:
            self.server.command(cmd="latency", ms=latency)
            for n in plan.ns:
                for round_index in range(plan.rounds):
                    for contender in rotated(plan.contenders, round_index):
                        slow = contender.key == PEER and n >= 10_000
                        if slow and round_index >= plan.genai_rounds_10k:
                            continue
                        run = self.run(contender, "batch", n)
                        cells.setdefault((latency, n, contender.key), Cell()).runs.append(run)
                        status = (
                            f"{run.wall_s:.3f} s (server CPU {run.server_cpu_s:.2f} s)"
                            if run.ok
                            else run.error
                        )
                        log(
                            f"[{latency:>3} ms] N={n:<6} round {round_index + 1}/{plan.rounds} "
                            f"{contender.key:<10} {status}"
                        )
        return cells

    def single(self, plan: Plan) -> dict[str, Cell]:
        """Single-text call latency of the contenders that have that mode (0 ms)."""
        self.server.command(cmd="latency", ms=0)
        single: dict[str, Cell] = {}
        single_contenders = [c for c in plan.contenders if c.single]
        for round_index in range(plan.rounds):
            for contender in rotated(single_contenders, round_index):
                run = self.run(contender, "single", plan.calls)
                single.setdefault(contender.key, Cell()).runs.append(run)
                status = f"median {run.per_call_median_s * 1000:.2f} ms" if run.ok else run.error
                log(f"[single] round {round_index + 1}/{plan.rounds} {contender.key:<10} {status}")
        return single

    def memory(self, ns: Sequence[int], rounds: int) -> dict[int, Cell]:
        """The memory row (see ``measure_memory``), its failures counted."""
        cells = measure_memory(self.server, self.ref, ns, rounds)
        self.failed_checks += sum(not r.ok for c in cells.values() for r in c.runs)
        return cells

    def profiles(self, targets: Sequence[Target]) -> list[tuple[str, str]]:
        """(title, profile) of the workloads named by the targets that were not met."""
        profiles: list[tuple[str, str]] = []
        for target in (t for t in targets if t.met is False):
            for latency, n, key in target.profile:
                if (latency, n, key) == IMPORT:
                    title = "import textservice (python -X importtime, cumulative)"
                    text = import_profile()
                else:
                    title = f"{BY_KEY[key].label}, N={n:,}, {latency} ms (cProfile, timed part)"
                    if any(t == title for t, _ in profiles):
                        continue
                    self.server.command(cmd="latency", ms=latency)
                    run = run_contender(BY_KEY[key], self.server, self.ref, "batch", n, True)
                    text = run.profile if run.ok else run.error
                profiles.append((title, text))
        return profiles


# --------------------------------------------------------------------------------------------
# imports and make generate


def time_import(python: Path, statement: str) -> float | str:
    """Seconds to run ``statement`` in a fresh interpreter (start-up excluded), or the error."""
    code = (
        "import time, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "t = time.perf_counter()\n"
        f"{statement}\n"
        "print(time.perf_counter() - t)\n"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=WORK)
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    return float(done.stdout.strip().splitlines()[-1])


def measure_imports(runs: int) -> dict[str, list[float] | str]:
    """Median-able import times, alternating; one untimed run each first (byte-code caches)."""
    out: dict[str, list[float] | str] = {}
    names = list(IMPORTS)
    for name in names:
        venv, statement = IMPORTS[name]
        first = time_import(python_for(venv), statement)
        out[name] = first if isinstance(first, str) else []
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            times = out[name]
            if isinstance(times, str):
                continue
            venv, statement = IMPORTS[name]
            got = time_import(python_for(venv), statement)
            if isinstance(got, str):
                out[name] = got
            else:
                times.append(got)
    return out


def import_profile() -> str:
    """``python -X importtime`` of the facade import: the 20 largest cumulative entries."""
    done = subprocess.run(
        [str(PROJECT_PY), "-X", "importtime", "-c", IMPORTS["textservice-ready"][1]],
        capture_output=True,
        text=True,
        cwd=WORK,
    )
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = (part.strip() for part in line[12:].split("|"))
            rows.append((int(cumulative), name))
    rows.sort(reverse=True)
    return "\n".join(f"{us / 1000:8.1f} ms  {name}" for us, name in rows[:20])


def measure_generate(runs: int) -> tuple[list[float], str]:
    """``make generate`` wall times in a scratch copy of the repository (not the work tree)."""
    copy = WORK / "generate-copy"
    shutil.rmtree(copy, ignore_errors=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        return [], "not measured: not a git checkout"
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to(REPO / ".venv")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(
            ["make", "-o", ".venv/.installed", "generate"], cwd=copy, capture_output=True, text=True
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            return [], f"failed: {done.stderr.strip()[-300:]}"
    same = subprocess.run(
        [
            "diff",
            "-rq",
            "-x",
            "__pycache__",
            "-x",
            "*.egg-info",
            str(copy / "src"),
            str(REPO / "src"),
        ],
        capture_output=True,
        text=True,
    )
    note = (
        "output identical to the committed code"
        if same.returncode == 0
        else ("output differs from the committed code: " + same.stdout.strip()[:300])
    )
    return times, note


# --------------------------------------------------------------------------------------------
# the memory row: iter_embeddings' peak RSS must not grow with its input


def measure_memory(
    server: BenchServer, ref: Path, ns: Sequence[int], rounds: int
) -> dict[int, Cell]:
    """Peak RSS of the streaming contender at each size, one process per run, sizes
    alternating (the smaller first in even rounds)."""
    server.command(cmd="latency", ms=0)
    cells: dict[int, Cell] = {n: Cell() for n in ns}
    for round_index in range(rounds):
        order = list(ns) if round_index % 2 == 0 else list(reversed(ns))
        for n in order:
            run = run_contender(STREAMING, server, ref, "batch", n)
            cells[n].runs.append(run)
            status = (
                f"peak RSS {run.maxrss_kb / 1024:.0f} MiB (+{growth(run) / 1024:.0f} MiB during "
                f"the call), {run.wall_s:.2f} s"
                if run.ok
                else run.error
            )
            log(f"[memory] N={n:<7} round {round_index + 1}/{rounds} {status}")
    return cells
