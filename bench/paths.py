"""Where the bench's files and interpreters are (standard library only)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
WORK = BENCH / ".work"
"""Scratch space of a run (reference modules, the ``make generate`` copy, quick reports)."""
PROJECT_PY = REPO / ".venv" / "bin" / "python"
PEER_VENV = BENCH / ".venv-peer"
PEER_PY = PEER_VENV / "bin" / "python"
PEER_REQUIREMENTS = BENCH / "requirements-peer.txt"


def python_for(venv: str) -> Path:
    """The interpreter of ``venv``: ``"project"`` (the project's ``.venv``) or ``"peer"``."""
    return PROJECT_PY if venv == "project" else PEER_PY
