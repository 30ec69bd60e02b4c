"""Where the tests and the repository are, for tests in any folder under ``tests/``."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
"""The ``tests/`` folder."""

REPO = TESTS.parent
"""The repository's root."""
