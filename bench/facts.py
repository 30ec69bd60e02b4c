"""What the report says about the run's machine, versions and revision (standard library only)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from paths import REPO


def machine() -> dict[str, str]:
    """CPUs, memory, OS and Python of this machine (Linux ``/proc``)."""
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
    """The 1, 5 and 15 minute load averages now."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def versions(python: Path, dists: Sequence[str]) -> dict[str, str]:
    """The installed version of each of ``dists`` in ``python``'s environment."""
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


def utc_now() -> str:
    """The date and time now, as the report writes them."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def elapsed(started: float) -> str:
    """``"M min S s"`` since ``started`` (a ``time.monotonic()`` value)."""
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    return f"{minutes} min {seconds} s"


def git_revision() -> str:
    """The checkout's short revision, saying so when it has uncommitted changes (other than
    the report itself, which the scripts of one ``make bench`` write in turn)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/RESULTS.md")
    return rev + (" (with uncommitted changes)" if dirty else "")


@dataclass(frozen=True)
class Facts:
    """The report's header: how, when and where the run was made."""

    command: str
    date: str
    duration: str
    machine: dict[str, str]
    load_start: str
    load_end: str
    revision: str
    versions: dict[str, dict[str, str]]
    """venv label -> distribution -> version."""
    vectors: str
    """Where the expected vectors came from."""
