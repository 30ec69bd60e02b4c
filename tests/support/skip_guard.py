"""A pytest plugin that fails, rather than skips, a test whose optional package is missing.

``pytest.importorskip("pyarrow")`` skips quietly when pyarrow is not installed, so a CI venv that
lost a package would pass with a whole suite unrun. Every optional package the tests import is in
the ``dev`` extra, so such a skip means a broken venv: this plugin turns it into a failure (at
collection for a module-level ``importorskip``, which stops the run as any collection error does;
in the test otherwise). Other skips (no ``fork``
on this platform, ...) stay skips. ``TEXTSERVICE_ALLOW_SKIPS=1`` lets a developer run the suite in
a venv without the optional packages. Loaded by ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

ALLOW_ENV = "TEXTSERVICE_ALLOW_SKIPS"


def _missing_package(report: pytest.CollectReport | pytest.TestReport) -> str | None:
    """The skip reason of ``report`` if it is ``importorskip``'s, else None."""
    if not report.skipped or not isinstance(report.longrepr, tuple):
        return None
    reason = str(report.longrepr[2]).removeprefix("Skipped: ")
    # pytest.importorskip raises a plain ``Skipped``: its message is the only sign of where it
    # came from ("could not import 'x': ..." for a missing module, "module 'x' has __version__
    # ..., required is: ..." for one older than ``minversion``; _pytest/outcomes.py).
    if reason.startswith("could not import ") or (
        reason.startswith("module ") and ", required is: " in reason
    ):
        return reason
    return None


def _fail(report: pytest.CollectReport | pytest.TestReport) -> None:
    """Make a missing-package skip of ``report`` a failure (unless allowed)."""
    if os.environ.get(ALLOW_ENV) == "1":
        return
    reason = _missing_package(report)
    if reason is None:
        return
    report.outcome = "failed"
    report.longrepr = (
        f"{reason}\nan optional package the tests need is missing: install the dev extra "
        f"(make venv), or set {ALLOW_ENV}=1 to skip these tests"
    )


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A module-level ``importorskip`` fails the module's collection."""
    report = yield
    _fail(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """An ``importorskip`` in a test or a fixture fails that phase of the test."""
    report = yield
    _fail(report)
    return report
