# ruff: noqa: RUF001 - the report is markdown with multiplication, division signs and dashes
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
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
WORK = BENCH / ".work"
PROJECT_PY = REPO / ".venv" / "bin" / "python"
PEER_VENV = BENCH / ".venv-peer"
PEER_PY = PEER_VENV / "bin" / "python"
PEER_REQUIREMENTS = BENCH / "requirements-peer.txt"

MODEL = "models/embedding-gecko-001"
API_KEY = "bench-not-a-real-key"
DIM = 768
EXIT_UNAVAILABLE = 3  # contenders/_common.py
CONTENDER_TIMEOUT_S = 600


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
    Contender("ours-async", "ours, async (lists)", "project", "ours.py", "async"),
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
MEMORY_BEGIN = "<!-- memory row: begin -->"
MEMORY_END = "<!-- memory row: end -->"
MEMORY_TARGET = "iter_embeddings peak RSS (each batch dropped)"
"""How the memory row's target line starts (``--memory-only`` finds it by this)."""


# --------------------------------------------------------------------------------------------
# setup


_STARTED = time.monotonic()


def log(message: str) -> None:
    """Progress, prefixed with the time since the driver started."""
    minutes, seconds = divmod(int(time.monotonic() - _STARTED), 60)
    print(f"{minutes:02d}:{seconds:02d} {message}", flush=True)


def ensure_peer_venv() -> None:
    """Create ``bench/.venv-peer`` from requirements-peer.txt (again when that file changes)."""
    stamp = PEER_VENV / ".installed"
    wanted = hashlib.sha256(PEER_REQUIREMENTS.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == wanted and PEER_PY.exists():
        return
    log(f"setup: creating {PEER_VENV.relative_to(REPO)} (google-generativeai 0.7.2)")
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(PEER_PY), "-m", "pip", "install", "-q", "-r", str(PEER_REQUIREMENTS)], check=True
    )
    stamp.write_text(wanted + "\n")


def build_reference() -> Path:
    """protoc's standard Python/grpcio modules of protos/ (``tsref.*``), for server and floor."""
    done = subprocess.run(
        [str(PROJECT_PY), str(BENCH / "refbuild.py"), str(WORK / "ref")],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# the server


class BenchServer:
    """``bench/server.py`` in its own process, driven over stdin/stdout JSON lines."""

    def __init__(self, ref: Path, prewarm: int, vectors: str) -> None:
        self.process = subprocess.Popen(
            [
                str(PROJECT_PY),
                str(BENCH / "server.py"),
                f"--ref={ref}",
                f"--api-key={API_KEY}",
                f"--model={MODEL}",
                f"--dim={DIM}",
                f"--prewarm={prewarm}",
                f"--vectors={vectors}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = self._read()
        self.port: int = hello["port"]
        self.vectors: str = hello["vectors"]
        self.target = f"127.0.0.1:{self.port}"
        self._digests: dict[int, str] = {}

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"bench server exited ({self.process.wait()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def command(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        reply = self._read()
        if not reply.get("ok"):
            raise RuntimeError(f"bench server: {reply}")
        return reply

    def digest(self, n: int) -> str:
        """Expected float32 digest of the first ``n`` workload texts' vectors."""
        if n not in self._digests:
            self._digests[n] = self.command(cmd="digest", model=MODEL, n=n)["digest"]
        return self._digests[n]

    def stats(self) -> dict[str, Any]:
        """Counts since the last call (RPCs, texts, most in flight), then reset; and ``cpu_s``,
        the server's user + system CPU time so far (``getrusage``: all threads, microseconds)."""
        return self.command(cmd="stats")

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --------------------------------------------------------------------------------------------
# running contenders


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


def python_for(contender: Contender) -> Path:
    return PROJECT_PY if contender.venv == "project" else PEER_PY


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
        str(python_for(contender)),
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


# --------------------------------------------------------------------------------------------
# other measurements


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
IMPORT_LABELS = {
    "textservice": "`import textservice`",
    "textservice-ready": "`import textservice` + `textservice.generate_embeddings`",
    "google.generativeai": "`import google.generativeai` (0.7.2)",
}


def measure_imports(runs: int) -> dict[str, list[float] | str]:
    """Median-able import times, alternating; one untimed run each first (byte-code caches)."""
    out: dict[str, list[float] | str] = {}
    names = list(IMPORTS)
    for name in names:
        venv, statement = IMPORTS[name]
        first = time_import(PROJECT_PY if venv == "project" else PEER_PY, statement)
        out[name] = first if isinstance(first, str) else []
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            times = out[name]
            if isinstance(times, str):
                continue
            venv, statement = IMPORTS[name]
            got = time_import(PROJECT_PY if venv == "project" else PEER_PY, statement)
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


def growth(run: Run) -> float:
    """How much the process's resident memory grew during the timed call: its peak RSS minus
    its RSS just before (the texts and the connected client are already in the latter)."""
    return max(0, run.maxrss_kb - run.rss_before_kb)


def peak(run: Run) -> float:
    return run.maxrss_kb


def memory_target_text(ns: Sequence[int]) -> str:
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


def memory_section(cells: dict[int, Cell], ns: Sequence[int], provenance: str) -> list[str]:
    """The memory row's section of the report, between markers (``--memory-only`` replaces
    it in place)."""
    out = [
        MEMORY_BEGIN,
        "## Memory: `iter_embeddings` with each batch dropped\n",
        provenance + "\n",
        "Each run is its own process (`bench/contenders/ours.py --variant iter`): it builds the "
        "texts and the client, makes one warm-up call, then iterates "
        "`textservice.iter_embeddings(model, texts, client=...)` (lists of floats, 8 calls in "
        "flight, 0 ms server latency), digests each batch's float32 values and drops it; the "
        "digest is checked against the expected vectors like every other run. *peak RSS* is "
        "the process's `ru_maxrss`; *before the call* its resident memory just before "
        "iterating: interpreter, imports, client and the input texts (which grow with their "
        "number, and which the caller holds whatever the library does); *growth* is the "
        "difference, the memory the iteration itself needed. Bounded memory means the growth "
        "does not depend on the number of texts: the target compares it (the absolute peaks' "
        "ratio is shown beside it).\n",
        "| texts | peak RSS (median) | min – max | before the call | growth during the call "
        "| wall time (median) | runs |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = Footnotes()
    for n in ns:
        cell = cells.get(n, Cell())
        rss = cell.median(peak)
        if rss is None:
            why = notes.ref(cell.failure()) if cell.failure() else "not run"
            out.append(f"| {n:,} | {why} | | | | | |")
            continue
        low, high = cell.span(peak) or (0, 0)
        before = cell.median(lambda r: r.rss_before_kb) or 0
        out.append(
            f"| {n:,} | {rss / 1024:.0f} MiB | {low / 1024:.0f} – {high / 1024:.0f} MiB | "
            f"{before / 1024:.0f} MiB | {(cell.median(growth) or 0) / 1024:.0f} MiB | "
            f"{fmt_s(cell.median(wall))} | {len(cell.good)} |"
        )
    out.extend(notes.render())
    out.append(MEMORY_END)
    return out


def splice_memory(path: Path, section: list[str], target: Target) -> None:
    """Put the memory section and its target row into an existing report, replacing the
    previous ones; the rest of the report is left as it was."""
    text = path.read_text(encoding="utf-8")
    block = "\n".join(section)
    if MEMORY_BEGIN in text and MEMORY_END in text:
        head, rest = text.split(MEMORY_BEGIN, 1)
        text = head + block + rest.split(MEMORY_END, 1)[1]
    else:
        anchor = "## How it was measured"
        if anchor not in text:
            raise SystemExit(f"{path}: no '{anchor}' section to put the memory row before")
        text = text.replace(anchor, block + "\n\n" + anchor, 1)
    row = f"| {target.text} | {target.measured} | {target.verdict} |"
    lines = text.split("\n")
    prefix = f"| {MEMORY_TARGET}"
    found = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    if found:
        lines[found[0]] = row
    else:
        start = lines.index("## Targets (from this one run; ratios, not timed tests)")
        end = start + 1
        while end < len(lines) and not lines[end].startswith("|"):
            end += 1
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        lines.insert(end, row)
    path.write_text("\n".join(lines), encoding="utf-8")


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
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    provenance = (
        f"Measured on its own by `python3 bench/run.py --memory-only` on {date} in {minutes} min "
        f"{seconds} s (textservice {git_revision()}, load average {load_start} → {loadavg()}, "
        f"{rounds} rounds); the rest of this report is from the run named at its top. It is "
        "one ratio measured side by side in one run, like the other targets."
    )
    target = memory_target(cells, ns)
    section = memory_section(cells, ns, provenance)
    if out_path.is_file():
        splice_memory(out_path, section, target)
    else:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        table = ["| target | measured | verdict |", "|---|---:|---|"]
        row = f"| {target.text} | {target.measured} | {target.verdict} |"
        out_path.write_text("\n".join([*section, "", *table, row, ""]), encoding="utf-8")
    log(f"wrote the memory row to {out_path}")
    log(f"  {target.verdict:>13}  {target.measured:>16}  {target.text}")
    failed = sum(not r.ok for cell in cells.values() for r in cell.runs)
    return 1 if failed else 0


# --------------------------------------------------------------------------------------------
# machine and versions


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "cpus": f"{len(os.sched_getaffinity(0))} usable ({os.cpu_count()} online), {cpu}",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def versions(python: Path, dists: Sequence[str]) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m\n"
        "def v(d):\n"
        "    try:\n        return m.version(d)\n"
        "    except m.PackageNotFoundError:\n        return 'not installed'\n"
        f"print(json.dumps({{d: v(d) for d in {list(dists)!r}}}))\n"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, str] = json.loads(done.stdout)
    return result


def git_revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return rev + (" (with uncommitted changes)" if dirty else "")


# --------------------------------------------------------------------------------------------
# statistics and the report


@dataclass
class Cell:
    """All runs of one contender in one workload."""

    runs: list[Run] = field(default_factory=list)

    @property
    def good(self) -> list[Run]:
        return [r for r in self.runs if r.ok]

    def median(self, value: Callable[[Run], float]) -> float | None:
        good = self.good
        return statistics.median(value(r) for r in good) if good else None

    def span(self, value: Callable[[Run], float]) -> tuple[float, float] | None:
        good = self.good
        return (min(value(r) for r in good), max(value(r) for r in good)) if good else None

    def failure(self) -> str:
        bad = [r for r in self.runs if not r.ok]
        if not bad:
            return ""
        kind = "not available" if all(r.unavailable for r in bad) else "FAILED"
        return f"{kind}: {bad[0].error}"


def wall(r: Run) -> float:
    return r.wall_s


def per_call(r: Run) -> float:
    return r.per_call_median_s


def fmt_s(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    return f"{value:.3f} s"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}×" if value < 0.1 else f"{value:.2f}×"


class Footnotes:
    """Long failure reasons, numbered once per table instead of repeated in every row."""

    def __init__(self) -> None:
        self._texts: list[str] = []

    def ref(self, text: str) -> str:
        kind, _, reason = text.partition(": ")
        if reason not in self._texts:
            self._texts.append(reason)
        return f"{kind} [{self._texts.index(reason) + 1}]"

    def render(self) -> list[str]:
        numbered = [f"[{i}] {text.replace('|', '/')}  " for i, text in enumerate(self._texts, 1)]
        return ["", *numbered] if numbered else []


def median_of(times: list[float] | str | None) -> float | None:
    """Median of measured times; ``None`` for an error message or no runs."""
    return statistics.median(times) if isinstance(times, list) and times else None


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


@dataclass
class Target:
    text: str
    measured: str
    met: bool | None  # None: not measured
    profile: tuple[tuple[int, int, str], ...] = ()
    """(latency ms, N, contender key) to profile when not met, or ``IMPORT``."""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**not met**", None: "not measured"}[self.met]


@dataclass
class Plan:
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


def throughput_table(
    cells: dict[tuple[int, int, str], Cell], plan: Plan, latency: int
) -> list[str]:
    notes = Footnotes()
    lines = [
        "| N | contender | median | min – max | ÷ floor | peer ÷ this | server CPU | "
        "RPCs | max in flight | peak RSS | runs |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in plan.ns:
        floor = cells.get((latency, n, FLOOR), Cell()).median(wall)
        peer = cells.get((latency, n, PEER), Cell()).median(wall)
        for contender in plan.contenders:
            cell = cells.get((latency, n, contender.key), Cell())
            median = cell.median(wall)
            label = f"**{contender.label}**" if contender.key == FLOOR else contender.label
            if median is None:
                why = notes.ref(cell.failure()) if cell.failure() else "not run"
                lines.append(f"| {n:,} | {label} | {why} | | | | | | | | |")
                continue
            low, high = cell.span(wall) or (0.0, 0.0)
            cpu = cell.median(lambda r: r.server_cpu_s)
            rss = cell.median(lambda r: r.maxrss_kb) or 0
            calls = cell.median(lambda r: r.calls) or 0
            in_flight = max(r.max_in_flight for r in cell.good)
            share = f" ({100 * (cpu or 0) / median:.0f}%)" if median >= 0.05 else ""
            lines.append(
                f"| {n:,} | {label} | {fmt_s(median)} | {fmt_s(low)} – {fmt_s(high)} | "
                f"{fmt_ratio(ratio(median, floor))} | {fmt_ratio(ratio(peer, median))} | "
                f"{fmt_s(cpu)}{share} | {calls:.0f} | {in_flight} | "
                f"{rss / 1024:.0f} MiB | {len(cell.good)}"
                + (f", {notes.ref(cell.failure())}" if cell.failure() else "")
                + " |"
            )
    return lines + notes.render()


def evaluate(
    cells: dict[tuple[int, int, str], Cell],
    single: dict[str, Cell],
    imports: dict[str, list[float] | str],
) -> list[Target]:
    def med(latency: int, n: int, key: str) -> float | None:
        return cells.get((latency, n, key), Cell()).median(wall)

    def check(
        text: str,
        value: float | None,
        ok: Callable[[float], bool],
        unit: str,
        profile: tuple[tuple[int, int, str], ...] = (),
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
            "single-text sync call: median ≤ 1.5× the GAPIC client's",
            ratio(single_ours, single_gapic),
            lambda v: v <= 1.5,
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


IMPORT = (-1, -1, "import")
"""Profile marker: show ``python -X importtime`` of the facade import."""


def write_report(
    path: Path,
    plan: Plan,
    cells: dict[tuple[int, int, str], Cell],
    single: dict[str, Cell],
    imports: dict[str, list[float] | str],
    generate: tuple[list[float], str],
    targets: list[Target],
    profiles: list[tuple[str, str]],
    facts: dict[str, Any],
    memory: list[str],
) -> None:
    out: list[str] = []
    add = out.append
    title = "Benchmark results" + (
        " (SMOKE / PARTIAL RUN: not the final numbers)" if plan.partial else ""
    )
    add(f"# {title}\n")
    add(
        f"Generated by `{facts['command']}` (what `make bench` runs, with its options) "
        f"on {facts['date']} in {facts['duration']}. Do not edit by hand: run it again.\n"
    )
    add("## Machine and versions\n")
    add("| | |\n|---|---|")
    for key, value in facts["machine"].items():
        add(f"| {key} | {value} |")
    add(f"| load average (start → end) | {facts['load_start']} → {facts['load_end']} |")
    add(f"| textservice | {facts['revision']} |")
    for venv, found in facts["versions"].items():
        add(f"| {venv} | " + ", ".join(f"{k} {v}" for k, v in found.items()) + " |")
    add(f"| expected vectors | {facts['vectors']} |")
    add("")
    add("## Targets (from this one run; ratios, not timed tests)\n")
    add("| target | measured | verdict |\n|---|---:|---|")
    for t in targets:
        add(f"| {t.text} | {t.measured} | {t.verdict} |")
    add("")
    if memory:
        out.extend(memory)
        add("")
    add("## How it was measured\n")
    genai_note = (
        f" google-generativeai ran {plan.genai_rounds_10k} round(s) at N=10,000 (it takes tens of "
        "seconds per run there) to keep `make bench` under 15 minutes."
        if plan.genai_rounds_10k < plan.rounds and 10_000 in plan.ns
        else ""
    )
    add(
        "- One bench server process (`bench/server.py`: grpcio, protoc's `_pb2`, cached response "
        "bytes) serves every contender; 0 ms or 100 ms latency is added per call on the server. "
        "*server CPU* is the server's user+system CPU time during that contender's process, "
        "and its share of the contender's timed wall time (it includes the one warm-up call)."
    )
    add(
        "- Each contender runs in its own process: it builds its client, makes one untimed "
        "warm-up EmbedText call, then times the workload. Its vectors are checked against the "
        "expected vectors (float32-equal, via a SHA-256 of the float32 values in order) before "
        "its time counts; a run that fails the check shows as FAILED."
    )
    add(
        f"- {plan.rounds} rounds per workload, contenders alternating (the starting contender "
        f"rotates each round); tables show the median and min – max over rounds.{genai_note}"
    )
    add(
        "- *÷ floor*: median ÷ the raw grpcio stub with 8 batches in flight (1.00× = as fast as "
        "the floor, lower is better). *peer ÷ this*: google-generativeai's median ÷ this one's "
        "(how many times faster than the peer). All list outputs are lists of Python floats."
    )
    add(
        "- *RPCs*/*max in flight*: counted by the server (including the warm-up call). "
        "*peak RSS*: `ru_maxrss` of the contender process (interpreter, imports and result)."
    )
    add("")
    for latency in plan.latencies:
        add(f"## Embedding N texts, {latency} ms server latency per call\n")
        out.extend(throughput_table(cells, plan, latency))
        add("")
    add(f"## Single-text call latency (sync, {plan.calls} sequential calls per run, 0 ms)\n")
    add("| contender | median per call | min – max of run medians | ÷ GAPIC | ÷ raw stub | runs |")
    add("|---|---:|---:|---:|---:|---:|")
    gapic = single.get("gapic", Cell()).median(per_call)
    raw = single.get(SINGLE_FLOOR, Cell()).median(per_call)
    notes = Footnotes()
    for contender in plan.contenders:
        if not contender.single:
            continue
        cell = single.get(contender.key, Cell())
        median = cell.median(per_call)
        if median is None:
            why = notes.ref(cell.failure()) if cell.failure() else "not run"
            add(f"| {contender.label} | {why} | | | | |")
            continue
        low, high = cell.span(per_call) or (0.0, 0.0)
        add(
            f"| {contender.label} | {fmt_s(median)} | {fmt_s(low)} – {fmt_s(high)} | "
            f"{fmt_ratio(ratio(median, gapic))} | {fmt_ratio(ratio(median, raw))} | "
            f"{len(cell.good)} |"
        )
    out.extend(notes.render())
    add("")
    add(f"## Import time (fresh interpreter, start-up excluded, {plan.import_runs} runs)\n")
    add("| import | median | min – max | ÷ google.generativeai |\n|---|---:|---:|---:|")
    peer_median = median_of(imports.get("google.generativeai"))
    for name, times in imports.items():
        if isinstance(times, str) or not times:
            add(f"| {IMPORT_LABELS[name]} | not available: {times or 'no runs'} | | |")
            continue
        median = statistics.median(times)
        add(
            f"| {IMPORT_LABELS[name]} | {fmt_s(median)} | {fmt_s(min(times))} – "
            f"{fmt_s(max(times))} | {fmt_ratio(ratio(median, peer_median))} |"
        )
    add("")
    add("## `make generate`\n")
    gen_times, gen_note = generate
    if gen_times:
        add(
            f"Median {fmt_s(statistics.median(gen_times))} over {len(gen_times)} run(s) "
            f"(min {fmt_s(min(gen_times))}, max {fmt_s(max(gen_times))}), in a scratch copy of "
            f"the repository with the project venv; {gen_note}.\n"
        )
    else:
        add(f"{gen_note}.\n")
    notes = Path(__file__).resolve().parent / "NOTES.md"
    if notes.is_file():  # the maintainers' reading of the targets, kept beside the numbers
        add(notes.read_text(encoding="utf-8").rstrip() + "\n")
    if profiles:
        add("## Profiles of targets not met\n")
        for title, text in profiles:
            add(f"<details><summary>{title}</summary>\n\n```\n{text.rstrip()}\n```\n</details>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# main


def parse_plan(argv: Sequence[str] | None) -> tuple[Plan, Path, str]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
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


def main(argv: Sequence[str] | None = None) -> int:
    plan, out_path, vector_source = parse_plan(argv)
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
    cells: dict[tuple[int, int, str], Cell] = {}
    single: dict[str, Cell] = {}
    memory_cells: dict[int, Cell] = {}
    profiles: list[tuple[str, str]] = []
    failed_checks = 0
    unavailable: dict[tuple[str, str], str] = {}  # (contender, mode) -> why not importable

    def run_or_skip(contender: Contender, mode: str, n: int) -> Run:
        """Run a contender; once it proved unavailable, skip its later runs in that mode."""
        if (contender.key, mode) in unavailable:
            return Run(ok=False, unavailable=True, error=unavailable[contender.key, mode])
        run = run_contender(contender, server, ref, mode, n)
        if run.unavailable:
            unavailable[contender.key, mode] = run.error
        return run

    try:
        for latency in plan.latencies:
            server.command(cmd="latency", ms=latency)
            for n in plan.ns:
                for round_index in range(plan.rounds):
                    for contender in rotated(plan.contenders, round_index):
                        slow = contender.key == PEER and n >= 10_000
                        if slow and round_index >= plan.genai_rounds_10k:
                            continue
                        run = run_or_skip(contender, "batch", n)
                        cells.setdefault((latency, n, contender.key), Cell()).runs.append(run)
                        failed_checks += (not run.ok) and not run.unavailable
                        status = (
                            f"{run.wall_s:.3f} s (server CPU {run.server_cpu_s:.2f} s)"
                            if run.ok
                            else run.error
                        )
                        log(
                            f"[{latency:>3} ms] N={n:<6} round {round_index + 1}/{plan.rounds} "
                            f"{contender.key:<10} {status}"
                        )
        if plan.memory:
            memory_cells = measure_memory(server, ref, plan.memory_ns, plan.rounds)
            failed_checks += sum(not r.ok for c in memory_cells.values() for r in c.runs)
        server.command(cmd="latency", ms=0)
        single_contenders = [c for c in plan.contenders if c.single]
        for round_index in range(plan.rounds):
            for contender in rotated(single_contenders, round_index):
                run = run_or_skip(contender, "single", plan.calls)
                single.setdefault(contender.key, Cell()).runs.append(run)
                failed_checks += (not run.ok) and not run.unavailable
                status = f"median {run.per_call_median_s * 1000:.2f} ms" if run.ok else run.error
                log(f"[single] round {round_index + 1}/{plan.rounds} {contender.key:<10} {status}")
        log("imports ...")
        imports = measure_imports(plan.import_runs)
        log("make generate ...")
        generate = measure_generate(plan.generate_runs)
        targets = evaluate(cells, single, imports)
        if plan.memory:
            targets.append(memory_target(memory_cells, plan.memory_ns))
        for target in (t for t in targets if t.met is False):
            for latency, n, key in target.profile:
                if (latency, n, key) == IMPORT:
                    title = "import textservice (python -X importtime, cumulative)"
                    text = import_profile()
                else:
                    title = f"{BY_KEY[key].label}, N={n:,}, {latency} ms (cProfile, timed part)"
                    if any(t == title for t, _ in profiles):
                        continue
                    server.command(cmd="latency", ms=latency)
                    run = run_contender(BY_KEY[key], server, ref, "batch", n, profile=True)
                    text = run.profile if run.ok else run.error
                profiles.append((title, text))
    finally:
        server.stop()
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    facts = {
        "command": " ".join(["python3 bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "duration": f"{minutes} min {seconds} s",
        "machine": machine(),
        "load_start": load_start,
        "load_end": loadavg(),
        "revision": git_revision(),
        "versions": {
            "project venv (ours, floor, server)": versions(
                PROJECT_PY,
                ["textservice", "betterproto2", "grpclib", "numpy", "grpcio", "protobuf"],
            ),
            **(
                {
                    "peer venv": versions(
                        PEER_PY,
                        [
                            "google-generativeai",
                            "google-ai-generativelanguage",
                            "google-api-core",
                            "proto-plus",
                            "protobuf",
                            "grpcio",
                        ],
                    )
                }
                if PEER_PY.exists()
                else {}
            ),
        },
        "vectors": server.vectors,
    }
    memory = (
        memory_section(memory_cells, plan.memory_ns, "Measured in this run.") if plan.memory else []
    )
    write_report(out_path, plan, cells, single, imports, generate, targets, profiles, facts, memory)
    log(f"wrote {out_path} in {facts['duration']}")
    for target in targets:
        log(f"  {target.verdict:>13}  {target.measured:>16}  {target.text}")
    if failed_checks:
        log(f"{failed_checks} contender run(s) FAILED (see the report)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
