"""The suite run as a background job, SIGINT ignored (``make test &`` in a script, CI under
``nohup``): the Ctrl-C tests still see a KeyboardInterrupt (``tests/conftest.py``)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from support.paths import REPO


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.subprocess
def test_the_ctrl_c_tests_pass_when_the_suite_starts_with_sigint_ignored() -> None:
    test = "tests/transport/test_bridge.py::test_keyboard_interrupt_cancels_the_call_and_leaves"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            test + "_the_bridge_usable",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
        ],
        cwd=REPO,
        preexec_fn=_ignore_sigint,  # what a shell does to a background job
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
