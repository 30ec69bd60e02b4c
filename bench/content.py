# ruff: noqa: RUF001 - the report is markdown with multiplication signs and dashes
"""``embed_content``'s rows of ``make bench``: GenerativeService at 3,072 dimensions.

Today's embedding model (``models/gemini-embedding-001``: 3,072 float32 values per text) is
served by GenerativeService's BatchEmbedContents. This driver times embedding 10,000 texts
through it, at 0 and 100 ms of server latency per call, by:

- ours: ``textservice.embed_content(model, texts)`` (lists of floats) and with
  ``output="numpy"`` (``bench/contenders/content_ours.py``);
- google-generativeai 0.7.2's ``embed_content`` and its GAPIC ``GenerativeServiceClient``
  (``content_peer.py``, in ``bench/.venv-peer``);
- a raw grpcio stub from protoc's standard output, sequential and 8 batches in flight (the
  floor; ``content_raw.py``).

Each contender is its own process against one bench server (``bench/server.py`` with
``--dim 3072``), contenders alternating over rounds; each one's vectors are checked (float32
digest) against the expected ones before its time counts. The section it writes goes between
markers at the end of ``bench/RESULTS.md`` (replaced on each full run, so ``bench/run.py``'s
report and this one can be run apart); a partial run (``--quick`` or other options) writes
``bench/.work/RESULTS-content-quick.md``.

Usage: ``python3 bench/content.py [--quick] [--rounds R] [--n N] [--latencies 0,100]
[--only KEY,KEY] [--out FILE]`` (``make bench`` runs it after ``bench/run.py``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facts import elapsed, git_revision, loadavg, machine, utc_now, versions
from paths import BENCH, PEER_PY, PROJECT_PY, REPO, WORK
from plan import API_KEY
from prepare import BenchServer, build_reference, ensure_peer_venv, log
from sections import splice
from stats import Cell, Run, peak, ratio, wall

MODEL = "models/gemini-embedding-001"
DIM = 3072
EXIT_UNAVAILABLE = 3  # contenders/_common.py
TIMEOUT_S = 900
BEGIN = "<!-- embed_content rows: begin -->"
END = "<!-- embed_content rows: end -->"


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    script: str
    variant: str
    peer: bool = False
    model: str = MODEL
    prefix: str = ""
    """What the client puts before each text (a task instruction): the server's vectors are
    those of the prefixed texts."""


CONTENDERS = (
    Contender("ours", "ours, `embed_content` (lists)", "content_ours.py", "sync"),
    Contender(
        "ours-numpy", 'ours, `embed_content(..., output="numpy")`', "content_ours.py", "numpy"
    ),
    Contender(
        "genai", "google-generativeai 0.7.2 `embed_content`", "content_peer.py", "genai", True
    ),
    Contender("gapic", "GAPIC `GenerativeServiceClient`", "content_peer.py", "gapic", True),
    Contender("raw-seq", "raw grpcio stub, sequential", "content_raw.py", "seq"),
    Contender("raw-8", "raw grpcio stub, 8 in flight (floor)", "content_raw.py", "inflight8"),
)
BY_KEY = {c.key: c for c in CONTENDERS}


def run_contender(contender: Contender, server: BenchServer, ref: Path, n: int) -> Run:
    """One contender process; its vectors checked against the server's expected digest."""
    python = PEER_PY if contender.peer else PROJECT_PY
    args = [
        str(python), str(BENCH / "contenders" / contender.script), f"--variant={contender.variant}",
        "--mode=batch", f"--target={server.target}", f"--model={contender.model}",
        f"--api-key={API_KEY}",
        f"--n={n}", f"--dim={DIM}", f"--ref={ref}",
    ]  # fmt: skip
    expected = server.digest(n, contender.prefix)
    cpu_before = server.command(cmd="stats")["cpu_s"]  # also resets the counters
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=REPO)
    except subprocess.TimeoutExpired:
        return Run(ok=False, error=f"timed out after {TIMEOUT_S} s")
    stats = server.command(cmd="stats")
    lines = done.stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = " | ".join(done.stderr.strip().splitlines()[-5:])
        return Run(ok=False, error=f"exit {done.returncode}, no report: {tail}")
    if not report.get("ok"):
        unavailable = done.returncode == EXIT_UNAVAILABLE
        return Run(ok=False, unavailable=unavailable, error=report.get("error", "failed"))
    if report["digest"] != expected:
        return Run(ok=False, error="vectors differ from the expected float32 vectors")
    return Run(
        ok=True,
        wall_s=report["wall_s"],
        maxrss_kb=report["maxrss_kb"],
        server_cpu_s=stats["cpu_s"] - cpu_before,
        calls=stats["calls"],
        max_in_flight=stats["max_in_flight"],
    )


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f} s"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


@dataclass(frozen=True)
class Target:
    text: str
    measured: str
    met: bool | None

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**not met**", None: "not measured"}[self.met]


def targets(cells: dict[tuple[int, str], Cell]) -> list[Target]:
    """The targets of the TextService rows, for ``embed_content``."""

    def median(latency: int, key: str) -> float | None:
        return cells.get((latency, key), Cell()).median(wall)

    out = []

    def add(text: str, value: float | None, unit: str, met: bool | None) -> None:
        shown = "–" if value is None else f"{value:.2f}× {unit}"
        out.append(Target(text, shown, None if value is None else met))

    floor0 = ratio(median(0, "ours"), median(0, "raw-8"))
    add("0 ms: ours (lists) ≤ 1.0× the floor (raw grpcio, 8 in flight)", floor0, "floor",
        floor0 is not None and floor0 <= 1.0)  # fmt: skip
    seed = ratio(median(0, "genai"), median(0, "ours"))
    add("0 ms: ours (lists) ≥ 25× faster than google-generativeai 0.7.2", seed, "faster",
        seed is not None and seed >= 25)  # fmt: skip
    gapic = ratio(median(100, "gapic"), median(100, "ours"))
    add("100 ms: ours (lists) ≥ 6× faster than the GAPIC client", gapic, "faster",
        gapic is not None and gapic >= 6)  # fmt: skip
    floor100 = ratio(median(100, "ours"), median(100, "raw-8"))
    add("100 ms: ours (lists) ≤ 1.2× the floor (8 in flight)", floor100, "floor",
        floor100 is not None and floor100 <= 1.2)  # fmt: skip
    numpy = ratio(median(0, "ours"), median(0, "ours-numpy"))
    add('0 ms: output="numpy" ≥ 2× faster than lists', numpy, "faster",
        numpy is not None and numpy >= 2)  # fmt: skip
    return out


def table(
    cells: dict[tuple[int, str], Cell], latency: int, n: int, keys: Sequence[str]
) -> list[str]:
    lines = [
        "| contender | median | min – max | ÷ floor | peer ÷ this | server CPU | RPCs | "
        "max in flight | peak RSS | runs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    floor = cells.get((latency, "raw-8"), Cell()).median(wall)
    peer = cells.get((latency, "genai"), Cell()).median(wall)
    for key in keys:
        contender = BY_KEY[key]
        cell = cells.get((latency, key), Cell())
        label = f"**{contender.label}**" if key == "raw-8" else contender.label
        median = cell.median(wall)
        if median is None:
            reason = (cell.failure() or "not run").replace("|", "/")
            lines.append(f"| {label} | {reason} | | | | | | | | |")
            continue
        low, high = cell.span(wall) or (median, median)
        rss = (cell.median(peak) or 0) / 1024
        cpu = cell.median(lambda r: r.server_cpu_s)
        calls = int(cell.median(lambda r: r.calls) or 0)
        in_flight = int(cell.median(lambda r: r.max_in_flight) or 0)
        lines.append(
            f"| {label} | {_s(median)} | {_s(low)} – {_s(high)} | {_x(ratio(median, floor))} | "
            f"{_x(ratio(peer, median))} | {_s(cpu)} | {calls} | {in_flight} | "
            f"{rss:,.0f} MiB | {len(cell.good)} |"
        )
    return lines


def section(
    cells: dict[tuple[int, str], Cell], plan: argparse.Namespace, facts: dict[str, Any]
) -> list[str]:
    found = targets(cells)
    lines = [
        BEGIN,
        f"## `embed_content` (GenerativeService, `{MODEL}`, {DIM:,} dimensions)",
        "",
        f"Measured by `{facts['command']}` on {facts['date']} in {facts['duration']} "
        f"(textservice {facts['revision']}, load average {facts['load']}); vectors: "
        f"{facts['vectors']}. Separate from the TextService report above: same machine, "
        "its own server process and run.",
        "",
        f"Each contender embeds N = {plan.n:,} texts through BatchEmbedContents (100 texts per "
        "call) against `bench/server.py --dim 3072` and returns every vector: lists of Python "
        'floats, or one float32 array for `output="numpy"`. '
        f"{plan.rounds} rounds, contenders alternating; median and min – max of the timed part. "
        "*÷ floor*: ÷ the raw grpcio stub with 8 calls in flight; *peer ÷ this*: how many times "
        "faster than google-generativeai 0.7.2.",
        "",
        "| target | measured | verdict |",
        "|---|---:|---|",
        *(f"| {t.text} | {t.measured} | {t.verdict} |" for t in found),
    ]
    for latency in plan.latencies:
        lines += ["", f"### {latency} ms server latency per call", ""]
        lines += table(cells, latency, plan.n, plan.only)
    lines += ["", "Versions: " + "; ".join(
        f"{venv}: " + ", ".join(f"{k} {v}" for k, v in dists.items())
        for venv, dists in facts["versions"].items()
    ) + ".", END]  # fmt: skip
    return lines


def parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, Path]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: N=1,000, one round")
    parser.add_argument("--n", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--latencies", help="comma-separated server latencies in ms")
    parser.add_argument("--only", help="comma-separated contender keys: " + ",".join(BY_KEY))
    parser.add_argument("--out", help="report path")
    parser.add_argument("--vectors", default="auto", choices=["auto", "fake", "bench"])
    args = parser.parse_args(argv)
    partial = bool(args.quick or args.n or args.rounds or args.latencies or args.only)
    args.n = args.n or (1000 if args.quick else 10_000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.latencies = [int(x) for x in args.latencies.split(",")] if args.latencies else [0, 100]
    args.only = args.only.split(",") if args.only else list(BY_KEY)
    unknown = [k for k in args.only if k not in BY_KEY]
    if unknown:
        parser.error(f"unknown contenders {unknown}; known: {', '.join(BY_KEY)}")
    default = WORK / "RESULTS-content-quick.md" if partial else BENCH / "RESULTS.md"
    return args, Path(args.out) if args.out else default


def main(argv: Sequence[str] | None = None) -> int:
    plan, out = parse(argv)
    if not PROJECT_PY.exists():
        sys.exit("the project venv is missing: run `make venv` (or `make bench`)")
    started, load_start = time.monotonic(), loadavg()
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_peer_venv()
    ref = build_reference()
    server = BenchServer(ref, plan.n, plan.vectors, model=MODEL, dim=DIM)
    log(f"embed_content: server on {server.target} ({DIM} dims); vectors: {server.vectors}")
    cells: dict[tuple[int, str], Cell] = {}
    unavailable: set[str] = set()
    failed = 0
    try:
        for latency in plan.latencies:
            server.command(cmd="latency", ms=latency)
            for round_index in range(plan.rounds):
                k = round_index % len(plan.only)
                for key in [*plan.only[k:], *plan.only[:k]]:
                    if key in unavailable:
                        continue
                    run = run_contender(BY_KEY[key], server, ref, plan.n)
                    cells.setdefault((latency, key), Cell()).runs.append(run)
                    if run.unavailable:
                        unavailable.add(key)
                    failed += (not run.ok) and not run.unavailable
                    status = f"{run.wall_s:.3f} s" if run.ok else run.error
                    where = f"[{latency:>3} ms] round {round_index + 1}/{plan.rounds}"
                    log(f"{where} {key:<10} {status}")
    finally:
        server.stop()
    facts = {
        "command": " ".join(
            ["python3 bench/content.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "date": utc_now(),
        "duration": elapsed(started),
        "load": f"{load_start} → {loadavg()}",
        "revision": git_revision(),
        "vectors": server.vectors,
        "machine": machine(),
        "versions": {
            "project venv": versions(PROJECT_PY, ["textservice", "betterproto2", "grpclib",
                                                  "numpy", "grpcio", "protobuf"]),
            **({"peer venv": versions(PEER_PY, ["google-generativeai",
                                                "google-ai-generativelanguage", "proto-plus",
                                                "protobuf", "grpcio"])}
               if PEER_PY.exists() else {}),
        },
    }  # fmt: skip
    splice(out, "\n".join(section(cells, plan, facts)), BEGIN, END)
    log(f"wrote the embed_content rows to {out} in {facts['duration']}")
    for target in targets(cells):
        log(f"  {target.verdict:>13}  {target.measured:>14}  {target.text}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
