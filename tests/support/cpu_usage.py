"""A pytest plugin that records each test's CPU time, off unless ``TEXTSERVICE_CPU_LOG`` is set.

Wall durations (``--durations``) are inflated when workers and other jobs share the cores; CPU
seconds are not. With ``TEXTSERVICE_CPU_LOG=FILE``, every pytest process (each xdist worker
too) appends one JSON line a test to FILE: its wall time and the CPU seconds (user + system) of
the process itself (all its threads), of the children it reaped (``RUSAGE_CHILDREN``: a
``subprocess.run``, a stopped Ray node), and of its descendants still alive at the end (read
from ``/proc``: a shared server or cluster that outlives the test). A session-scoped fixture
counts in the first test that uses it. ``python -m support.cpu_usage FILE [N]`` (from
``tests/``) prints the top N. Loaded by ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

LOG_ENV = "TEXTSERVICE_CPU_LOG"
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _descendants_cpu(root: int) -> dict[int, float]:
    """CPU seconds so far of each live descendant of process ``root`` (Linux ``/proc``)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        # Fields after the command name (in parentheses, which may hold spaces): state, ppid,
        # ...; utime and stime are fields 14 and 15 of the whole line (proc(5)).
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    found: dict[int, float] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = times[pid]
                frontier.append(pid)
    return found


def _sample() -> tuple[float, float, float]:
    """Wall clock, own CPU, reaped children's CPU."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), own.ru_utime + own.ru_stime, reaped.ru_utime + reaped.ru_stime


_PATH = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Take the log's path from the environment; a process that runs tests takes it out, so
    a pytest that a test starts (its CPU is that test's) writes no lines of its own. An xdist
    controller leaves it in for its workers."""
    path = os.environ.get(LOG_ENV, "")
    config.stash[_PATH] = path
    controller = getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput")
    if path and not controller:
        del os.environ[LOG_ENV]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Measure ``item``'s set-up, call and tear-down together."""
    path = item.config.stash.get(_PATH, "")
    if not path:
        return (yield)
    # /proc is read outside the measured span: its cost is not the test's.
    live0 = _descendants_cpu(os.getpid())
    wall0, own0, reaped0 = _sample()
    try:
        return (yield)
    finally:
        wall1, own1, reaped1 = _sample()
        live1 = _descendants_cpu(os.getpid())
        live = sum(cpu - live0.get(pid, 0.0) for pid, cpu in live1.items())
        record = {
            "test": item.nodeid,
            "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
            "wall": round(wall1 - wall0, 3),
            "own": round(own1 - own0, 3),
            "children": round(reaped1 - reaped0 + max(live, 0.0), 3),
        }
        with open(path, "a", encoding="utf-8") as log:  # one short line: appends don't mix
            log.write(json.dumps(record) + "\n")


def top(path: str, count: int = 25) -> list[dict[str, Any]]:
    """The ``count`` records of the log at ``path`` with the most CPU (own + children)."""
    records = [json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line]
    for record in records:
        record["cpu"] = record["own"] + record["children"]
    return sorted(records, key=lambda r: -r["cpu"])[:count]


def main(argv: list[str]) -> None:
    """Print the log's total and its top tests by CPU seconds."""
    path, count = argv[0], int(argv[1]) if len(argv) > 1 else 25
    every = top(path, 10**9)
    total = sum(r["cpu"] for r in every)
    print(f"{len(every)} tests, {total:.1f} CPU s (own + children), {path}")
    print(f"{'cpu':>7} {'own':>7} {'child':>7} {'wall':>7}  test")
    for r in every[:count]:
        print(f"{r['cpu']:7.2f} {r['own']:7.2f} {r['children']:7.2f} {r['wall']:7.2f}  {r['test']}")


if __name__ == "__main__":
    main(sys.argv[1:])
