"""The ``support.cpu_usage`` plugin: off by default; with ``TEXTSERVICE_CPU_LOG`` set, one line a
test with its own CPU and its children's, read by ``python -m support.cpu_usage``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import cpu_usage
from support.paths import TESTS

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SUITE = """
import subprocess
import sys
import time

SPIN = "import time\\nend = time.process_time() + 0.3\\nwhile time.process_time() < end: pass"


def test_spins_itself():
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass


def test_spins_in_a_child():
    subprocess.run([sys.executable, "-c", SPIN], check=True)


def test_spins_in_a_child_still_running_at_the_end():
    script = SPIN + "\\nprint('spun', flush=True)\\ntime.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert child.stdout.readline() == b"spun\\n"  # 0.3 s of CPU spent, now asleep
    child.kill()  # killed, not reaped: /proc still has it at the end of the test
    KILLED.append(child)


def test_sleeps():
    time.sleep(0.3)


KILLED = []
"""


def _run(tmp_path: Path, log: Path | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_spin.py").write_text(SUITE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != cpu_usage.LOG_ENV}
    if log is not None:
        env[cpu_usage.LOG_ENV] = str(log)
    env["PYTHONPATH"] = str(TESTS)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "support.cpu_usage"]
    command += ["-p", "no:cacheprovider", "-p", "no:langsmith_plugin", "-p", "no:anyio"]
    command += [str(tmp_path / "test_spin.py")]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)


def test_each_test_gets_a_line_with_its_own_and_its_childrens_cpu(tmp_path: Path) -> None:
    log = tmp_path / "cpu.jsonl"
    done = _run(tmp_path, log)
    assert done.returncode == 0, done.stdout + done.stderr
    records = {r["test"].split("::")[1]: r for r in map(json.loads, log.read_text().splitlines())}
    assert set(records) == {
        "test_spins_itself",
        "test_spins_in_a_child",
        "test_spins_in_a_child_still_running_at_the_end",
        "test_sleeps",
    }
    assert records["test_spins_itself"]["own"] >= 0.25
    assert records["test_spins_itself"]["children"] < 0.1
    assert records["test_spins_in_a_child"]["children"] >= 0.25
    assert records["test_spins_in_a_child_still_running_at_the_end"]["children"] >= 0.25
    slept = records["test_sleeps"]
    assert slept["wall"] >= 0.3 and slept["own"] + slept["children"] < 0.1
    ranked = cpu_usage.top(str(log), 3)
    assert "test_sleeps" not in {r["test"].split("::")[1] for r in ranked}


def test_off_without_the_variable(tmp_path: Path) -> None:
    done = _run(tmp_path, None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
    written = sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__")
    assert written == ["test_spin.py"]  # no log anywhere (byte-code aside: make test writes it)
