# ruff: noqa: RUF001 - the report is markdown with multiplication signs and dashes
"""The REST rows of ``make bench``: ours over gRPC and REST against google-genai (REST only).

10,000 texts of ``models/gemini-embedding-001`` (3,072 float32 values each) at 0 and 100 ms
of server latency per call, every vector kept as lists of floats, by:

- ours over gRPC (``bench/server.py``, grpcio, per-text bytes cached) and ours over REST
  (``Client(transport="rest")``) against ``bench/rest_server.py`` (HTTP/JSON, per-text JSON
  cached): ``textservice.embed_content(model, texts)``, 100 texts a call, 8 in flight;
- google-genai 3.3.0's ``client.models.embed_content`` on chunks of 100, one after the other
  and from 8 threads, against the same REST server.

Each contender is its own process (``bench/contenders/rest_clients.py``), contenders
alternating over rounds, its vectors checked against the expected float32 digest before its
time counts. Reported per contender: wall time, the client's own CPU (user + system, all
threads: a JSON server is slow, so the client's cost is shown apart from the wait), the
server's CPU during the run, peak RSS. The section goes between markers at the end of
``bench/RESULTS.md``; a partial run (``--quick`` or options) writes
``bench/.work/RESULTS-rest-quick.md``.

Usage: ``python3 bench/rest.py [--quick] [--rounds R] [--n N] [--latencies 0,100]
[--only KEY,KEY] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facts import elapsed, git_revision, loadavg, utc_now, versions
from paths import BENCH, PROJECT_PY, REPO, WORK
from plan import API_KEY
from prepare import BenchServer, build_reference, log
from sections import splice

MODEL = "models/gemini-embedding-001"
DIM = 3072
TIMEOUT_S = 1200
BEGIN = "<!-- rest rows: begin -->"
END = "<!-- rest rows: end -->"

CONTENDERS = {
    "ours-grpc": "ours over gRPC, `embed_content`",
    "ours-rest": 'ours over REST, `embed_content` (`transport="rest"`)',
    "genai-seq": "google-genai 3.3.0, chunks of 100, sequential",
    "genai-8": "google-genai 3.3.0, chunks of 100, 8 threads",
}


@dataclass
class Run:
    ok: bool
    error: str = ""
    wall_s: float = 0.0
    cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    maxrss_kb: int = 0
    calls: int = 0


@dataclass
class Cell:
    runs: list[Run] = field(default_factory=list)

    def median(self, key: str) -> float | None:
        values = [getattr(r, key) for r in self.runs if r.ok]
        return statistics.median(values) if values else None


class RestServer:
    """``bench/rest_server.py`` in its own process (JSON lines on stdin and stdout)."""

    def __init__(self, prewarm: int) -> None:
        self.process = subprocess.Popen(
            [str(PROJECT_PY), str(BENCH / "rest_server.py"), f"--model={MODEL}",
             f"--dim={DIM}", f"--api-key={API_KEY}", f"--prewarm={prewarm}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        hello = self._read()
        self.target = f"127.0.0.1:{hello['port']}"

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"REST bench server exited ({self.process.wait()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def command(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def run_contender(key: str, server: Any, expected: str, n: int) -> Run:
    args = [
        str(PROJECT_PY), str(BENCH / "contenders" / "rest_clients.py"), f"--variant={key}",
        "--mode=batch", f"--target={server.target}", f"--model={MODEL}",
        f"--api-key={API_KEY}", f"--n={n}", f"--dim={DIM}",
    ]  # fmt: skip
    before = server.command(cmd="stats")["cpu_s"]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=REPO)
    except subprocess.TimeoutExpired:
        return Run(ok=False, error=f"timed out after {TIMEOUT_S} s")
    stats = server.command(cmd="stats")
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return Run(ok=False, error=f"exit {done.returncode}: {done.stderr.strip()[-300:]}")
    if not report.get("ok"):
        return Run(ok=False, error=str(report.get("error", "failed")))
    if report["digest"] != expected:
        return Run(ok=False, error="vectors differ from the expected float32 vectors")
    return Run(
        ok=True,
        wall_s=report["wall_s"],
        cpu_s=report["cpu_s"],
        server_cpu_s=stats["cpu_s"] - before,
        maxrss_kb=report["maxrss_kb"],
        calls=stats["calls"],
    )


def _x(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def targets(cells: dict[tuple[int, str], Cell]) -> list[tuple[str, str, bool | None]]:
    out: list[tuple[str, str, bool | None]] = []
    for latency in sorted({lat for lat, _ in cells}):

        def med(key: str, what: str = "wall_s", lat: int = latency) -> float | None:
            return cells.get((lat, key), Cell()).median(what)

        rest, genai8 = med("ours-rest"), med("genai-8")
        grpc, genai_seq = med("ours-grpc"), med("genai-seq")
        r1 = None if rest is None or genai8 is None else genai8 / rest
        r2 = None if grpc is None or genai_seq is None else genai_seq / grpc
        rss_rest, rss_genai = med("ours-rest", "maxrss_kb"), med("genai-8", "maxrss_kb")
        out.append(
            (
                f"{latency} ms: ours over REST ≥ 3× faster than google-genai, 8 threads",
                "–" if r1 is None else f"{r1:.2f}×",
                None if r1 is None else r1 >= 3,
            )
        )
        out.append(
            (
                f"{latency} ms: ours over gRPC ≥ 10× faster than google-genai, sequential",
                "–" if r2 is None else f"{r2:.2f}×",
                None if r2 is None else r2 >= 10,
            )
        )
        rss_ok = None if rss_rest is None or rss_genai is None else rss_rest <= rss_genai
        shown = "–" if rss_ok is None else f"{rss_rest / 1024:,.0f} vs {rss_genai / 1024:,.0f} MiB"  # type: ignore[operator]
        out.append((f"{latency} ms: REST's peak RSS ≤ google-genai's (8 threads)", shown, rss_ok))
    return out  # fmt: skip


def section(
    cells: dict[tuple[int, str], Cell], plan: argparse.Namespace, facts: dict[str, Any]
) -> list[str]:
    verdict = {True: "met", False: "**not met**", None: "not measured"}
    lines = [
        BEGIN,
        f"## REST: ours over gRPC and REST, and google-genai ({MODEL}, {DIM:,} dimensions)",
        "",
        f"Measured by `{facts['command']}` on {facts['date']} in {facts['duration']} "
        f"(textservice {facts['revision']}, load average {facts['load']}: a shared 2-core "
        "machine, so a quiet re-run may replace these numbers).",
        "",
        f"N = {plan.n:,} texts, every vector kept as lists of floats; {plan.rounds} rounds, "
        "contenders alternating; medians. gRPC: `bench/server.py`; REST: "
        "`bench/rest_server.py` (both cache each text's encoded vector, so the server's work "
        "per call is small). *client CPU*: the contender process's user + system time during "
        "the timed part; *server CPU*: the server's during the whole run.",
        "",
        "| target | measured | verdict |",
        "|---|---:|---|",
        *(f"| {t} | {m} | {verdict[v]} |" for t, m, v in targets(cells)),
    ]
    for latency in plan.latencies:
        lines += ["", f"### {latency} ms server latency per call", "",
                  "| contender | wall | client CPU | server CPU | calls | peak RSS | runs |",
                  "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for key in plan.only:
            cell = cells.get((latency, key), Cell())
            wall = cell.median("wall_s")
            if wall is None:
                why = next((r.error for r in cell.runs if not r.ok), "not run").replace("|", "/")
                lines.append(f"| {CONTENDERS[key]} | {why} | | | | | |")
                continue
            lines.append(
                f"| {CONTENDERS[key]} | {wall:.2f} s | {cell.median('cpu_s'):.2f} s | "
                f"{cell.median('server_cpu_s'):.2f} s | {int(cell.median('calls') or 0)} | "
                f"{(cell.median('maxrss_kb') or 0) / 1024:,.0f} MiB | "
                f"{sum(r.ok for r in cell.runs)} |"
            )
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in facts["versions"].items())
              + ".", END]  # fmt: skip
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: N=1,000, one round")
    parser.add_argument("--n", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--latencies")
    parser.add_argument("--only")
    parser.add_argument("--out")
    plan = parser.parse_args(argv)
    partial = bool(plan.quick or plan.n or plan.rounds or plan.latencies or plan.only)
    plan.n = plan.n or (1000 if plan.quick else 10_000)
    plan.rounds = plan.rounds or (1 if plan.quick else 2)
    plan.latencies = [int(x) for x in plan.latencies.split(",")] if plan.latencies else [0, 100]
    plan.only = plan.only.split(",") if plan.only else list(CONTENDERS)
    out = (
        Path(plan.out)
        if plan.out
        else (WORK / "RESULTS-rest-quick.md" if partial else BENCH / "RESULTS.md")
    )
    started, load_start = time.monotonic(), loadavg()
    WORK.mkdir(parents=True, exist_ok=True)
    grpc = BenchServer(build_reference(), plan.n, "auto", model=MODEL, dim=DIM)
    rest = RestServer(plan.n)
    expected = grpc.digest(plan.n)
    cells: dict[tuple[int, str], Cell] = {}
    failed = 0
    try:
        for latency in plan.latencies:
            grpc.command(cmd="latency", ms=latency)
            rest.command(cmd="latency", ms=latency)
            for round_index in range(plan.rounds):
                k = round_index % len(plan.only)
                for key in [*plan.only[k:], *plan.only[:k]]:
                    server = grpc if key == "ours-grpc" else rest
                    run = run_contender(key, server, expected, plan.n)
                    cells.setdefault((latency, key), Cell()).runs.append(run)
                    failed += not run.ok
                    status = f"{run.wall_s:.2f} s (CPU {run.cpu_s:.2f} s)" if run.ok else run.error
                    where = f"[{latency:>3} ms] round {round_index + 1}/{plan.rounds}"
                    log(f"{where} {key:<10} {status}")
    finally:
        grpc.stop()
        rest.stop()
    facts = {
        "command": " ".join(["python3 bench/rest.py", *(sys.argv[1:] if argv is None else argv)]),
        "date": utc_now(),
        "duration": elapsed(started),
        "load": f"{load_start} → {loadavg()}",
        "revision": git_revision(),
        "versions": versions(
            PROJECT_PY, ["textservice", "httpx", "orjson", "google-genai", "grpclib"]
        ),
    }
    splice(out, "\n".join(section(cells, plan, facts)), BEGIN, END)
    log(f"wrote the REST rows to {out} in {facts['duration']}")
    for text, measured, met in targets(cells):
        log(f"  {({True: 'met', False: 'NOT MET', None: '-'})[met]:>8}  {measured:>20}  {text}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
