# ruff: noqa: RUF001 - the report is markdown with multiplication, division signs and dashes
"""The markdown report: ``bench/RESULTS.md`` (or the quick report), and the memory row's section
that ``--memory-only`` splices into an existing report.

Standard library only (the driver runs under any ``python3``).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facts import Facts
from paths import BENCH
from plan import FLOOR, IMPORT_LABELS, PEER, SINGLE_FLOOR, Plan
from sections import MEASURED_HEADING, TARGETS_HEADING, carry_over, put_target_rows, splice_text
from stats import Cell, fmt_ratio, fmt_s, growth, median_of, peak, per_call, ratio, wall
from targets import MEMORY_TARGET, Target

MEMORY_BEGIN = "<!-- memory row: begin -->"
MEMORY_END = "<!-- memory row: end -->"
TARGETS_TABLE = ("| target | measured | verdict |", "|---|---:|---|")
NOTES = BENCH / "NOTES.md"
"""The maintainers' reading of the targets, kept beside the numbers and included in reports."""


@dataclass
class Results:
    """What one full run measured (the report is written from it)."""

    cells: dict[tuple[int, int, str], Cell] = field(default_factory=dict)
    """(latency ms, N, contender key) -> its runs embedding N texts."""
    single: dict[str, Cell] = field(default_factory=dict)
    """contender key -> its single-text latency runs."""
    imports: dict[str, list[float] | str] = field(default_factory=dict)
    """import row -> its times, or why it could not be measured."""
    generate: tuple[list[float], str] = ([], "not measured")
    """``make generate`` times and a note on its output."""
    profiles: list[tuple[str, str]] = field(default_factory=list)
    """(title, text) of the profiles of targets not met."""


class Footnotes:
    """Long failure reasons, numbered once per table instead of repeated in every row."""

    def __init__(self) -> None:
        self._texts: list[str] = []

    def ref(self, text: str) -> str:
        """``"kind [n]"`` for ``"kind: reason"``, the reason numbered once."""
        kind, _, reason = text.partition(": ")
        if reason not in self._texts:
            self._texts.append(reason)
        return f"{kind} [{self._texts.index(reason) + 1}]"

    def render(self) -> list[str]:
        """The numbered reasons, to follow the table."""
        numbered = [f"[{i}] {text.replace('|', '/')}  " for i, text in enumerate(self._texts, 1)]
        return ["", *numbered] if numbered else []


def throughput_table(
    cells: dict[tuple[int, int, str], Cell], plan: Plan, latency: int
) -> list[str]:
    """The table of embedding N texts at ``latency`` ms, every N and contender."""
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


def memory_only_provenance(
    date: str, duration: str, revision: str, load: tuple[str, str], rounds: int
) -> str:
    """The memory section's first paragraph when ``--memory-only`` measured it."""
    return (
        f"Measured on its own by `python3 bench/run.py --memory-only` on {date} in {duration} "
        f"(textservice {revision}, load average {load[0]} → {load[1]}, "
        f"{rounds} rounds); the rest of this report is from the run named at its top. It is "
        "one ratio measured side by side in one run, like the other targets."
    )


def write_memory_row(path: Path, section: list[str], target: Target) -> None:
    """``--memory-only``'s output: spliced into the report at ``path`` (see ``splice_memory``),
    or, when there is none, a new file holding the section and its target."""
    if path.is_file():
        splice_memory(path, section, target)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join([*section, "", *TARGETS_TABLE, target.row, ""]), encoding="utf-8")


def splice_memory(path: Path, section: list[str], target: Target) -> None:
    """Put the memory section and its target row into an existing report, replacing the
    previous ones; the rest of the report is left as it was."""
    text = splice_text(
        path.read_text(encoding="utf-8"),
        "\n".join(section),
        MEMORY_BEGIN,
        MEMORY_END,
        before=MEASURED_HEADING,
    )
    text = put_target_rows(text, f"| {MEMORY_TARGET}", [target.row])
    path.write_text(text, encoding="utf-8")


def write_report(
    path: Path,
    plan: Plan,
    results: Results,
    targets: Sequence[Target],
    facts: Facts,
    memory: list[str],
) -> None:
    """Write the report of a run to ``path`` (``memory``: the memory section, if measured)."""
    out: list[str] = []
    add = out.append
    title = "Benchmark results" + (
        " (SMOKE / PARTIAL RUN: not the final numbers)" if plan.partial else ""
    )
    add(f"# {title}\n")
    add(
        f"Generated by `{facts.command}` (what `make bench` runs, with its options) "
        f"on {facts.date} in {facts.duration}. Do not edit by hand: run it again.\n"
    )
    add("## Machine and versions\n")
    add("| | |\n|---|---|")
    for key, value in facts.machine.items():
        add(f"| {key} | {value} |")
    add(f"| load average (start → end) | {facts.load_start} → {facts.load_end} |")
    add(f"| textservice | {facts.revision} |")
    for venv, found in facts.versions.items():
        add(f"| {venv} | " + ", ".join(f"{k} {v}" for k, v in found.items()) + " |")
    add(f"| expected vectors | {facts.vectors} |")
    add("")
    add(TARGETS_HEADING + "\n")
    add("\n".join(TARGETS_TABLE))
    for t in targets:
        add(t.row)
    add("")
    if memory:
        out.extend(memory)
        add("")
    add(MEASURED_HEADING + "\n")
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
        out.extend(throughput_table(results.cells, plan, latency))
        add("")
    add(f"## Single-text call latency ({plan.calls} sequential calls per run, 0 ms)\n")
    add("| contender | median per call | min – max of run medians | ÷ GAPIC | ÷ raw stub | runs |")
    add("|---|---:|---:|---:|---:|---:|")
    gapic = results.single.get("gapic", Cell()).median(per_call)
    raw = results.single.get(SINGLE_FLOOR, Cell()).median(per_call)
    notes = Footnotes()
    for contender in plan.contenders:
        if not contender.single:
            continue
        cell = results.single.get(contender.key, Cell())
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
    peer_median = median_of(results.imports.get("google.generativeai"))
    for name, times in results.imports.items():
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
    gen_times, gen_note = results.generate
    if gen_times:
        add(
            f"Median {fmt_s(statistics.median(gen_times))} over {len(gen_times)} run(s) "
            f"(min {fmt_s(min(gen_times))}, max {fmt_s(max(gen_times))}), in a scratch copy of "
            f"the repository with the project venv; {gen_note}.\n"
        )
    else:
        add(f"{gen_note}.\n")
    if NOTES.is_file():
        add(NOTES.read_text(encoding="utf-8").rstrip() + "\n")
    if results.profiles:
        add("## Profiles of targets not met\n")
        for title, text in results.profiles:
            add(f"<details><summary>{title}</summary>\n\n```\n{text.rstrip()}\n```\n</details>\n")
    text = "\n".join(out) + "\n"
    if path.exists():  # the sections of the other scripts (and of none) stay
        text = carry_over(path.read_text(encoding="utf-8"), text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
