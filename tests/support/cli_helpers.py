"""Running the ``textservice`` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MODEL = "models/embedding-gecko-001"
CLI = [sys.executable, "-m", "textservice.cli"]
TIMEOUT = 60


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without an API key, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "GOOGLE_API_KEY"}
    env.update(extra or {})
    return env


def run_cli(
    args: Sequence[str],
    *,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``textservice ARGS`` to completion, capturing text stdout and stderr."""
    return subprocess.run(
        [*CLI, *args],
        input=stdin.decode("utf-8", "surrogateescape") if stdin is not None else None,
        capture_output=True,
        text=True,
        env=cli_env(env),
        cwd=cwd,
        timeout=TIMEOUT,
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_lines(path: Path, texts: Sequence[str]) -> Path:
    """``texts`` as a text-lines input file."""
    path.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    return path


def texts(count: int, prefix: str = "text") -> list[str]:
    """``count`` distinct, deterministic texts."""
    return [f"{prefix} {i}: the quick brown fox {i * 7 % 13} jumps" for i in range(count)]


def results_in(part: Path) -> int:
    """How many results an unfinished output (``OUTPUT.part``) holds, as a rerun reads them:
    complete JSONL lines; a ``.npy``'s header checkpoint; a Parquet folder's last segment."""
    if part.is_dir():  # Parquet segments
        from textservice.cli.parquet_output import read_checkpoint

        segments = sorted(part.glob("*.parquet"))
        found = read_checkpoint(segments[-1]) if segments else None
        return int(found["records"]) if found else 0
    if not part.exists():
        return 0
    if part.name.endswith(".npy.part"):
        from textservice.cli.npy_output import HEADER_SIZE, read_npy_header

        with part.open("rb") as f:
            raw = f.read(HEADER_SIZE)
        if len(raw) < HEADER_SIZE:
            return 0
        _, checkpoint = read_npy_header(raw, part)
        return int(checkpoint["records"]) if checkpoint else 0
    return part.read_bytes().count(b"\n")
