# ruff: noqa: RUF001 - the report is markdown with multiplication signs and dashes
"""gemini-embedding-2's task instructions in ``make bench``: what formatting them costs.

``models/gemini-embedding-2`` takes its task in the text (``task: search result | query:
{content}``, ``textservice._profiles``), so ``embed_content(model, texts, task_type="query")``
writes a different text into every item. This driver times 10,000 texts through
``embed_content`` (BatchEmbedContents, lists) with and without ``task_type="query"``, at 0 ms
of server latency, contenders alternating (``bench/contenders/content_ours.py``, variants
``sync`` and ``query``) against one bench server (``bench/server.py``, which also prewarms
the instruction-prefixed texts, so both sides are served from its cache). Each run's vectors
are checked against the server's vectors of the texts the client should have sent (the
prefixed ones for ``query``), so a run that sent the wrong text does not count.

Its section goes between markers in ``bench/RESULTS.md``; a partial run (``--quick`` or other
options) writes ``bench/.work/RESULTS-instructions-quick.md``.

Usage: ``python3 bench/instructions.py [--quick] [--rounds R] [--n N] [--out FILE]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from content import Contender, run_contender
from facts import elapsed, git_revision, loadavg, utc_now
from paths import BENCH, PROJECT_PY, WORK
from prepare import BenchServer, build_reference, log
from sections import splice
from stats import Cell, ratio, wall

MODEL = "models/gemini-embedding-2"
DIM = 3072
LIMIT = 1.05
CORES = 2
BEGIN = "<!-- gemini-embedding-2 instructions: begin -->"
END = "<!-- gemini-embedding-2 instructions: end -->"


def query_prefix() -> str:
    """The text ``task_type="query"`` puts before each item, from the project's profiles
    (their one home; this driver runs outside the project's venv)."""
    code = (
        "from textservice._profiles import TASK_INSTRUCTIONS as t; "
        "print(t['RETRIEVAL_QUERY']('', None), end='')"
    )
    return subprocess.run(
        [str(PROJECT_PY), "-c", code], capture_output=True, text=True, check=True
    ).stdout


def contenders(prefix: str) -> tuple[Contender, Contender]:
    plain = Contender("plain", "`embed_content(model, texts)`", "content_ours.py", "sync")
    query = Contender(
        "query", '`embed_content(model, texts, task_type="query")`', "content_ours.py", "query"
    )
    return (
        Contender(**{**plain.__dict__, "model": MODEL}),
        Contender(**{**query.__dict__, "model": MODEL, "prefix": prefix}),
    )


def parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, Path]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: N=1,000, one round")
    parser.add_argument("--n", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--vectors", default="auto", choices=["auto", "fake", "bench"])
    parser.add_argument("--out", help="report path")
    args = parser.parse_args(argv)
    partial = bool(args.quick or args.n or args.rounds)
    args.n = args.n or (1000 if args.quick else 10_000)
    args.rounds = args.rounds or (1 if args.quick else 5)
    default = WORK / "RESULTS-instructions-quick.md" if partial else BENCH / "RESULTS.md"
    return args, Path(args.out) if args.out else default


def main(argv: Sequence[str] | None = None) -> int:
    plan, out = parse(argv)
    if not PROJECT_PY.exists():
        sys.exit("the project venv is missing: run `make venv` (or `make bench`)")
    started, load_start = time.monotonic(), loadavg()
    WORK.mkdir(parents=True, exist_ok=True)
    prefix = query_prefix()
    ref = build_reference()
    server = BenchServer(ref, plan.n, plan.vectors, model=MODEL, dim=DIM, prefixes=(prefix,))
    pair = contenders(prefix)
    cells: dict[str, Cell] = {c.key: Cell() for c in pair}
    failed = 0
    try:
        server.command(cmd="latency", ms=0)
        for index in range(plan.rounds):
            order = pair if index % 2 == 0 else pair[::-1]
            for contender in order:
                run = run_contender(contender, server, ref, plan.n)
                cells[contender.key].runs.append(run)
                failed += not run.ok
                status = f"{run.wall_s:.3f} s" if run.ok else run.error
                log(f"round {index + 1}/{plan.rounds} {contender.key:<6} {status}")
    finally:
        server.stop()
    plain, query = (cells[c.key].median(wall) for c in pair)
    cost = ratio(query, plain)
    met = "–" if cost is None else ("met" if cost <= LIMIT else "**not met**")
    command = " ".join(["python3 bench/instructions.py", *(sys.argv[1:] if argv is None else argv)])
    load_end = loadavg()
    busy = max(float(x) for x in f"{load_start} {load_end}".split()) > CORES
    provisional = (
        f" **Provisional**: the load average rose above {CORES} (the machine's cores, shared "
        "with other work) during the run, so the times are noisy; the ratio is of medians."
        if busy
        else ""
    )
    lines = [
        BEGIN,
        f"## gemini-embedding-2: task instructions (`{MODEL}`, {DIM:,} dimensions)",
        "",
        f"Measured by `{command}` on {utc_now()} in {elapsed(started)} (textservice "
        f"{git_revision()}, load average {load_start} → {load_end}); vectors: "
        f"{server.vectors}. N = {plan.n:,} texts, lists, 0 ms server latency, {plan.rounds} "
        "rounds alternating; each run's vectors checked against those of the texts it should "
        f'have sent (with the instruction `{prefix}…` for `task_type="query"`).{provisional}',
        "",
        "| target | measured | verdict |",
        "|---|---:|---|",
        f'| `task_type="query"` ≤ {LIMIT:.2f}× plain `embed_content` | '
        + ("–" if cost is None else f"{cost:.3f}×")
        + f" | {met} |",
        "",
        "| call | median | min – max | runs |",
        "|---|---:|---:|---:|",
    ]
    for contender in pair:
        cell = cells[contender.key]
        median = cell.median(wall)
        low, high = cell.span(wall) or (median, median)
        if median is None or low is None or high is None:
            lines.append(f"| {contender.label} | {cell.failure() or 'not run'} | | |")
        else:
            lines.append(
                f"| {contender.label} | {median:.3f} s | {low:.3f} – {high:.3f} s | "
                f"{len(cell.good)} |"
            )
    lines.append(END)
    splice(out, "\n".join(lines), BEGIN, END)
    log(f"wrote the instruction rows to {out}: query ÷ plain = {cost}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
