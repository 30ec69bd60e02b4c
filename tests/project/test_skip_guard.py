"""The ``support.skip_guard`` plugin: a test skipped by ``pytest.importorskip`` because a package
is missing (or too old) fails, unless ``TEXTSERVICE_ALLOW_SKIPS=1``; other skips stay skips. Run
on small suites in an in-process pytest."""

from __future__ import annotations

import pytest
from support.skip_guard import ALLOW_ENV

MISSING = "textservice_no_such_package"

MODULE_LEVEL = f"""
import pytest

pytest.importorskip("{MISSING}")


def test_never_collected():
    pass
"""

IN_TESTS = f"""
import pytest


def test_missing():
    pytest.importorskip("{MISSING}")


def test_too_old():
    pytest.importorskip("pytest", minversion="999")


@pytest.fixture
def needs_missing():
    pytest.importorskip("{MISSING}")


def test_through_a_fixture(needs_missing):
    pass


def test_a_platform_skip():
    pytest.skip("no fork on this platform")


def test_present():
    assert pytest.importorskip("pytest") is pytest
"""


@pytest.fixture(autouse=True)
def strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suites run as in CI, whatever the developer's environment says, with no plugin but
    the guard (the installed ones cost seconds to load)."""
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(test_suite=source)
    return pytester.runpytest_inprocess(
        "-rfEs", "-p", "support.skip_guard", "-p", "no:cacheprovider"
    )


def test_a_module_level_importorskip_of_a_missing_package_fails_collection(
    pytester: pytest.Pytester,
) -> None:
    result = run(pytester, MODULE_LEVEL)
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [f"*could not import '{MISSING}'*", f"*install the dev extra*{ALLOW_ENV}=1*"]
    )


def test_an_importorskip_in_a_test_or_a_fixture_fails_and_other_skips_stay(
    pytester: pytest.Pytester,
) -> None:
    result = run(pytester, IN_TESTS)
    result.assert_outcomes(failed=2, errors=1, skipped=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*required is: '999'*",
            "FAILED *test_missing*could not import*",
            "FAILED *test_too_old*has __version__*",
            "ERROR *test_through_a_fixture*could not import*",
            "SKIPPED *no fork on this platform",
        ],
        consecutive=False,
    )


def test_the_environment_variable_lets_them_skip(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_ENV, "1")
    assert run(pytester, MODULE_LEVEL).ret == pytest.ExitCode.NO_TESTS_COLLECTED
    run(pytester, IN_TESTS).assert_outcomes(skipped=4, passed=1)
