"""Golden files: the facade rendered from the small fixture protos under ``tests/protos``.

``python -m codegen golden`` (``make golden``) rewrites ``tests/golden``; the test suite
renders the fixtures again and compares, so a change to the templates or the plan shows up as
a reviewable diff of small files, one edge case per folder.
"""

from __future__ import annotations

from pathlib import Path

from codegen.facade import render_facade
from codegen.paths import REPO_ROOT, Layout
from codegen.pipeline import GeneratedTree, build, compare, write

FIXTURE_PROTOS = REPO_ROOT / "tests" / "protos"
"""The proto root of the test protos: ``fixtures/``, one small proto package per edge case
(TextService-like, or GenerativeService-like), and ``googleapis/``, Google's real protos of
other days (not rendered here)."""

FIXTURES = "fixtures"
"""The folder of ``FIXTURE_PROTOS`` holding the edge cases the golden files are made from."""

GOLDEN = REPO_ROOT / "tests" / "golden"
"""Where the rendered facades of the fixtures are committed."""


def render_golden(protos: Path = FIXTURE_PROTOS) -> GeneratedTree:
    """The facade files of the fixture protos (the betterproto2 output is left out)."""
    tree = build(Layout(protos=protos, package=GOLDEN), [render_facade], only=FIXTURES)
    return GeneratedTree({k: v for k, v in tree.files.items() if not k.startswith("_proto/")})


def update_golden(protos: Path = FIXTURE_PROTOS, golden: Path = GOLDEN) -> list[str]:
    """Rewrite ``golden`` (previously generated folders are removed first)."""
    return write(render_golden(protos), golden)


def golden_differences(protos: Path = FIXTURE_PROTOS, golden: Path = GOLDEN) -> list[str]:
    """How the committed golden files differ from a fresh rendering (empty when equal)."""
    return compare(render_golden(protos), golden)
