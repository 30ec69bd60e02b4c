"""The ``support.marker_guard`` plugin: a test that starts a process or opens an internet socket
without its marker fails, naming the marker; marked tests and in-process work pass. Run on a
small suite in a pytest of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from support.paths import TESTS

pytestmark = pytest.mark.subprocess


SUITE = """
import asyncio
import socket
import subprocess
import sys
import threading

import pytest

PYTHON = [sys.executable, "-c", "pass"]


def test_unmarked_process():
    subprocess.run(PYTHON, check=True)


def test_unmarked_socket():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))


def test_unmarked_socket_in_a_thread_that_swallows_the_error():
    def connect():
        try:
            socket.create_connection(("127.0.0.1", 9), timeout=1).close()
        except Exception:
            pass

    thread = threading.Thread(target=connect)
    thread.start()
    thread.join()


@pytest.fixture
def spawned():
    return subprocess.run(PYTHON, check=True).returncode


def test_unmarked_with_a_fixture_that_starts_a_process(spawned):
    assert spawned == 0


@pytest.mark.subprocess
def test_marked_process_but_unmarked_socket():
    subprocess.run(PYTHON, check=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))


def test_in_process_work_and_asyncio_loops_pass():
    a, b = socket.socketpair()  # what an event loop wakes itself with
    a.close()
    b.close()
    assert asyncio.run(asyncio.sleep(0, result=7)) == 7


@pytest.mark.subprocess
@pytest.mark.network
def test_marked_tests_do_both(monkeypatch):
    # its own patch of a guarded method is undone before the next test
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: None)
    subprocess.run(PYTHON, check=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))


def test_after_a_test_that_patched_connect_the_guard_is_back():
    with socket.socket() as sock:
        sock.connect(("127.0.0.1", 9))
"""

INI = """[pytest]
addopts = --strict-markers -p support.marker_guard -p no:cacheprovider
markers =
    subprocess: starts a process
    network: opens a socket
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The outcome lines of the suite above run with the plugin (``-rA``)."""
    folder = tmp_path_factory.mktemp("suite")
    (folder / "pytest.ini").write_text(INI)
    (folder / "test_suite.py").write_text(SUITE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:randomly", str(folder)],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # some of its tests fail
    return done.stdout


def _outcome(report: str, test: str) -> str:
    found = re.findall(rf"^(PASSED|FAILED|ERROR) test_suite\.py::{test}\b.*$", report, re.M)
    assert len(found) == 1, (test, report)
    return str(found[0])


def _failure_text(report: str, test: str) -> str:
    return report.split(f"_ {test} _", 1)[1].split("\n_", 1)[0]


@pytest.mark.parametrize(
    ("test", "marker"),
    [
        ("test_unmarked_process", "subprocess"),
        ("test_unmarked_socket", "network"),
        ("test_unmarked_socket_in_a_thread_that_swallows_the_error", "network"),
        ("test_marked_process_but_unmarked_socket", "network"),
        ("test_after_a_test_that_patched_connect_the_guard_is_back", "network"),
    ],
)
def test_an_effect_without_its_marker_fails_naming_the_marker(
    report: str, test: str, marker: str
) -> None:
    assert _outcome(report, test) == "FAILED"
    assert f"test_suite.py::{test} needs @pytest.mark.{marker}:" in _failure_text(report, test)


def test_a_fixture_that_starts_a_process_is_an_error_at_setup(report: str) -> None:
    test = "test_unmarked_with_a_fixture_that_starts_a_process"
    assert _outcome(report, test) == "ERROR"
    assert "needs @pytest.mark.subprocess:" in report.split(f"ERROR at setup of {test}", 1)[1]


def test_marked_tests_and_in_process_work_pass(report: str) -> None:
    assert _outcome(report, "test_in_process_work_and_asyncio_loops_pass") == "PASSED"
    assert _outcome(report, "test_marked_tests_do_both") == "PASSED"


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("suite", ["test_fake_contract_generative.py", "test_fake_contract.py"])
def test_a_contract_suite_run_alone_declares_the_reference_build(suite: str) -> None:
    # alone, its first test builds the reference server's modules (protoc, in a process):
    # every test of the suite may be that first one, so each is marked subprocess
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(TESTS / "testing" / suite),
        ],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " error" not in done.stdout and "passed" in done.stdout, done.stdout[-3000:]
