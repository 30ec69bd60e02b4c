# ruff: noqa: RUF001, RUF002 - the report is markdown with multiplication signs and dashes
"""The quota scenario of ``make bench`` (standard library only): a big list against a quota.

N texts (20,000 by default) in batches of 100, against a server that allows 10 calls a second
(a quota of 10 requests per minute on a quota clock 60 times faster: the API's per-minute
quota scaled down, so a quota minute lasts a second) and answers each call it lets through in
100 ms; over the quota it answers RESOURCE_EXHAUSTED at once, with a ``QuotaFailure`` and a
``RetryInfo`` as the API does (``bench/quota_server.py``: textservice's fake). The ideal is N /
100 / 10 seconds: every second of the quota used, nothing wasted.

Contenders (``bench/contenders/quota_job.py``, one process each, one after the other, the server's
quota reset before each): ours with default settings (its quota clock as fast as the
server's), ours with the quota given (``requests_per_minute=10``), google-generativeai 0.7.2
and its GAPIC client (sequential, as google-generativeai sends its batches, and from 8
threads) with their default retry settings (``bench/.venv-peer``, made by ``bench/run.py``'s
set-up). For each: wall time of the call (after one untimed warm-up
call), texts embedded, the vectors' float32 digest checked against the expected one, and the
server's count of accepted and rejected calls.

Targets: ours (both) ≤ 1.1× the ideal, 0 texts failed, rejected calls ≤ 10 % of accepted
ones; the peers' outcome is reported as it is.

Usage: ``python3 bench/quota.py [--n 20000] [--rounds 1] [--out FILE]``. The default (a
full run) puts its section into ``bench/RESULTS.md`` (between markers, replacing the previous
one, and its rows into the targets table); ``--quick`` (N = 2,000) or any other ``--out``
writes a report of its own (``bench/.work/RESULTS-quota-quick.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facts import elapsed, git_revision, loadavg, utc_now
from measure import CONTENDER_TIMEOUT_S
from paths import BENCH, PEER_PY, PROJECT_PY, REPO, WORK
from plan import API_KEY, DIM, MODEL
from prepare import ensure_peer_venv, log
from sections import MEASURED_HEADING, put_target_rows, splice_text

RPM = 10
TIME_SCALE = 60.0
LATENCY_MS = 100.0
BATCH = 100
CALLS_PER_SECOND = RPM * TIME_SCALE / 60.0
TARGET_RATIO = 1.1
TARGET_REJECTED = 0.10
BEGIN = "<!-- quota scenario: begin -->"
END = "<!-- quota scenario: end -->"
TARGET_PREFIX = "| quota scenario"


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    venv: str  # "project" or "peer"
    ours: bool


CONTENDERS = (
    Contender("ours", "ours, default settings", "project", True),
    Contender("ours-quota", "ours, quota given (`requests_per_minute=10`)", "project", True),
    Contender("genai", "google-generativeai 0.7.2 (default retry)", "peer", False),
    Contender("gapic", "GAPIC TextServiceClient (default retry)", "peer", False),
    Contender("gapic-8", "GAPIC TextServiceClient, 8 threads (default retry)", "peer", False),
)


@dataclass
class Result:
    contender: Contender
    report: dict[str, Any]
    server: dict[str, Any]
    expected_digest: str

    @property
    def ok(self) -> bool:
        return bool(self.report.get("ok"))

    @property
    def right(self) -> bool:
        """Every text embedded, and the vectors are the expected ones, in order."""
        return self.ok and self.report.get("digest") == self.expected_digest

    @property
    def wall(self) -> float:
        return float(self.report.get("wall_s") or 0.0)

    @property
    def texts(self) -> int:
        """Texts embedded: the contender's count, else the server's (a failed peer)."""
        told = self.report.get("texts")
        return int(told) if told is not None else int(self.server["texts_embedded"])

    @property
    def rejected_share(self) -> float:
        accepted = self.server["accepted"]
        return self.server["rejected"] / accepted if accepted else float("inf")


class Server:
    """``bench/quota_server.py`` in its own process, driven by JSON lines."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [
                str(PROJECT_PY),
                str(BENCH / "quota_server.py"),
                "--rpm", str(RPM),
                "--time-scale", str(TIME_SCALE),
                "--latency-ms", str(LATENCY_MS),
                "--dim", str(DIM),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        ready = self._read()
        self.target = f"127.0.0.1:{ready['port']}"

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("the quota bench server stopped")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        with contextlib.suppress(SystemExit, BrokenPipeError):  # it may have stopped already
            self.ask(cmd="quit")
        self.process.wait(timeout=30)


def run_one(server: Server, contender: Contender, n: int, expected: str) -> Result:
    server.ask(cmd="reset")
    python = PROJECT_PY if contender.venv == "project" else PEER_PY
    done = subprocess.run(
        [
            str(python),
            str(BENCH / "contenders" / "quota_job.py"),
            "--variant", contender.key,
            "--target", server.target,
            "--model", MODEL,
            "--api-key", API_KEY,
            "--n", str(n),
            "--rpm", str(RPM),
            "--time-scale", str(TIME_SCALE),
        ],
        capture_output=True,
        text=True,
        timeout=CONTENDER_TIMEOUT_S,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    report: dict[str, Any] = (
        json.loads(lines[-1])
        if lines
        else {"ok": False, "error": f"no report (exit {done.returncode}): {done.stderr[-300:]}"}
    )
    return Result(contender, report, server.ask(cmd="stats"), expected)


def outcome(result: Result, ideal: float) -> str:
    if result.report.get("unavailable"):
        return f"not available: {result.report.get('error')}"
    if not result.ok:
        error = str(result.report.get("error"))
        shown = error if len(error) <= 120 else error[:119] + "…"
        return f"**failed** after {result.wall:.1f} s: {shown}"
    if not result.right:
        return "**wrong vectors** (digest differs)"
    return f"done in {result.wall:.1f} s ({result.wall / ideal:.2f}× ideal)"


def section(results: list[Result], n: int, ideal: float, provenance: str) -> list[str]:
    lines = [
        BEGIN,
        "## Quota scenario: a big list against a per-minute quota",
        "",
        provenance,
        "",
        f"{n:,} texts in batches of {BATCH} ({n // BATCH} calls) against textservice's fake "
        f"(`bench/quota_server.py`) with a quota of {RPM} requests per minute on a quota clock "
        f"{TIME_SCALE:g} times faster than real time: {CALLS_PER_SECOND:g} calls a second, "
        "counted in fixed (one-second) minutes as Google Cloud's rate quotas are; a call let "
        f"through is answered in {LATENCY_MS:g} ms, one over the quota at once with "
        "RESOURCE_EXHAUSTED, a `QuotaFailure` (`quota_id`, `quota_value`) and a `RetryInfo` "
        f"until the next minute. The ideal is N / {BATCH} / {CALLS_PER_SECOND:g} = "
        f"{ideal:g} s. Each contender is one process after one untimed warm-up call; the "
        "quota is reset before each. *accepted* and *rejected* are the server's counts of "
        "BatchEmbedText calls; *texts* the texts embedded (for a failed call that does not "
        "say how far it got, the server's count); *vectors* whether every vector came "
        "back float32-equal to the expected one, in input order; *accepted per quota minute* "
        "the server's accepted calls in each of its (one-second) minutes. The peers send "
        "their batches one after another (google-generativeai's `generate_embeddings` does), "
        "or from 8 threads (the GAPIC client's calls, as a user would to go faster). Ours "
        "runs with its quota clock as fast as the server's "
        f"(`quota_time_scale={TIME_SCALE:g}`: the scaling of the scenario, as a real job's "
        "minute is 60 s) and otherwise default settings, or "
        f"with the quota given as well (`requests_per_minute={RPM}`).",
        "",
        "| contender | outcome | wall s | × ideal | texts | vectors | accepted | rejected "
        "(% of accepted) | accepted per quota minute |",
        "|---|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in results:
        share = r.rejected_share
        per_minute = r.server["accepted_per_minute"]
        shown = ", ".join(map(str, per_minute[:6])) + (", …" if len(per_minute) > 6 else "")
        lines.append(
            f"| {r.contender.label} | {outcome(r, ideal)} | {r.wall:.2f} | "
            f"{f'{r.wall / ideal:.2f}×' if r.right else '-'} | {r.texts:,} | "
            f"{'right' if r.right else '-'} | "
            f"{r.server['accepted']} | {r.server['rejected']} "
            f"({100 * share:.1f} %) | {shown} |"
        )
    lines += ["", END]
    return lines


def target_rows(results: list[Result], ideal: float) -> list[str]:
    rows = []
    for key in ("ours", "ours-quota"):
        mine = [r for r in results if r.contender.key == key]
        if not mine:
            continue
        label = mine[0].contender.label
        walls = [r.wall for r in mine if r.right]
        failed = max(0, max(len(_texts_wanted(r)) - r.texts for r in mine))
        worst_share = max(r.rejected_share for r in mine)
        ratio = statistics.median(walls) / ideal if walls else float("inf")
        met = bool(walls) and len(walls) == len(mine) and ratio <= TARGET_RATIO
        met = met and failed == 0 and worst_share <= TARGET_REJECTED
        rows.append(
            f"{TARGET_PREFIX}: {label}: ≤ {TARGET_RATIO}× ideal ({ideal:g} s), 0 texts failed, "
            f"rejected calls ≤ {TARGET_REJECTED:.0%} of accepted | {ratio:.2f}× ideal, "
            f"{failed} failed, {100 * worst_share:.1f} % rejected | "
            f"{'met' if met else '**not met**'} |"
        )
    return rows


def _texts_wanted(result: Result) -> range:
    return range(int(result.report.get("n") or 0))


def splice(path: Path, block: list[str], rows: list[str]) -> None:
    """Put the section and its target rows into an existing report, replacing old ones."""
    text = splice_text(
        path.read_text(encoding="utf-8"), "\n".join(block), BEGIN, END, before=MEASURED_HEADING
    )
    path.write_text(put_target_rows(text, TARGET_PREFIX, rows), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=None, help="texts (default 20,000)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each contender")
    parser.add_argument("--quick", action="store_true", help="N = 2,000: a smoke run")
    parser.add_argument("--only", default="", help="contender keys, comma-separated")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    n = args.n or (2_000 if args.quick else 20_000)
    full = args.out is None and not args.quick and args.n is None and not args.only
    out = args.out or (BENCH / "RESULTS.md" if full else WORK / "RESULTS-quota-quick.md")
    chosen = [c for c in CONTENDERS if not args.only or c.key in args.only.split(",")]
    if any(c.venv == "peer" for c in chosen):
        ensure_peer_venv()
    ideal = n / BATCH / CALLS_PER_SECOND
    started = time.monotonic()
    load_before = loadavg()
    log(f"quota scenario: N={n:,}, ideal {ideal:g} s, {len(chosen)} contenders")
    server = Server()
    results: list[Result] = []
    try:
        expected = server.ask(cmd="digest", model=MODEL, n=n)["digest"]
        for round_index in range(args.rounds):
            for contender in chosen:
                result = run_one(server, contender, n, expected)
                log(
                    f"  round {round_index + 1}: {contender.key}: {outcome(result, ideal)}; "
                    f"accepted {result.server['accepted']}, rejected {result.server['rejected']}"
                )
                results.append(result)
    finally:
        server.close()
    provenance = (
        f"Measured by `python3 bench/quota.py` (part of `make bench`) on {utc_now()} in "
        f"{elapsed(started)} (textservice {git_revision()}, "
        f"load average {load_before} → {loadavg()}, {args.rounds} round(s)); the rest "
        "of this report is from the run named at its top."
    )
    block = section(results, n, ideal, provenance)
    rows = target_rows(results, ideal)
    if full and out.exists():
        splice(out, block, rows)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        report = ["# Quota scenario (partial run)", "", "| target | measured | verdict |"]
        report += ["|---|---|---|", *rows, "", *block, ""]
        out.write_text("\n".join(report), encoding="utf-8")
    log(f"quota scenario: wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
