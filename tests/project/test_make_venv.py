"""The Makefile's venv rule, run with fake interpreters: too old a Python never makes a venv,
and a broken or half-made ``.venv`` is never reused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO

ROOT = REPO

pytestmark = [
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
    pytest.mark.subprocess,
]

# A stand-in for a Python of any version: it answers the version checks as that version,
# makes a "venv" holding a copy of itself, and "installs" with pip only when 3.11+ (the
# real pip refuses a project that requires a newer Python). Every call is logged.
FAKE_PYTHON = """\
#!{executable}
import os, shutil, sys
VERSION = {version!r}
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join([sys.argv[0], *args]) + "\\n")
if args == ["--version"]:
    print("Python %d.%d.%d" % VERSION)
elif args[:1] == ["-c"]:
    sys.version_info = (*VERSION, "final", 0)
    exec(compile(args[1], "<string>", "exec"), {{"__name__": "__main__"}})
elif args[:2] == ["-m", "venv"]:
    os.makedirs(os.path.join(args[2], "bin"))
    shutil.copy(__file__, os.path.join(args[2], "bin", "python"))
    if os.environ.get("FAKE_VENV_FAILS"):  # e.g. Debian without python3-venv: no pip
        sys.exit("Error: ensurepip is not available")
elif args[:2] == ["-m", "pip"]:
    if VERSION < (3, 11) and "install" in args:
        sys.exit("ERROR: Package 'textservice' requires a different Python")
else:
    sys.exit("fake python: unexpected arguments %r" % (args,))
"""


def fake_python(folder: Path, name: str, version: tuple[int, int, int], log: Path) -> Path:
    path = folder / name
    path.write_text(FAKE_PYTHON.format(executable=sys.executable, version=version, log=str(log)))
    path.chmod(0o755)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the project's Makefile, pyproject.toml and lock, nothing else."""
    for name in ("Makefile", "pyproject.toml", "requirements-dev.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def make_venv(project: Path, python: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # Not the settings of a make this test may run under (`make test`).
    inherited = {
        k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    return subprocess.run(
        [str(shutil.which("make")), "--no-print-directory", "venv", f"PYTHON={python}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**inherited, **env},
    )


def test_too_old_a_python_is_refused_before_any_venv_is_made(project: Path) -> None:
    log = project / "calls.log"
    old = fake_python(project, "python3.10", (3, 10, 14), log)
    done = make_venv(project, old)
    assert done.returncode != 0
    assert "Python 3.10.14" in done.stderr and "3.11" in done.stderr
    assert "PYTHON=" in done.stderr  # says how to pick another interpreter
    assert not (project / ".venv").exists()
    assert " -m venv " not in log.read_text()


def test_a_venv_of_an_old_python_is_replaced_not_reused(project: Path) -> None:
    log = project / "calls.log"
    # What an earlier `make demo PYTHON=python3.10` left (before the version check existed).
    (project / ".venv" / "bin").mkdir(parents=True)
    fake_python(project / ".venv" / "bin", "python", (3, 10, 14), log)
    new = fake_python(project, "python3.12", (3, 12, 1), log)
    done = make_venv(project, new)
    assert done.returncode == 0, done.stderr
    assert "removing .venv" in done.stdout
    assert "VERSION = (3, 12, 1)" in (project / ".venv" / "bin" / "python").read_text()
    assert (project / ".venv" / ".installed").exists()
    assert f"{new} -m venv .venv" in log.read_text()
    again = make_venv(project, new)  # up to date: nothing rebuilt
    assert again.returncode == 0 and "removing" not in again.stdout


def test_a_venv_whose_creation_failed_is_removed(project: Path) -> None:
    log = project / "calls.log"
    python = fake_python(project, "python3.11", (3, 11, 9), log)
    done = make_venv(project, python, FAKE_VENV_FAILS="1")
    assert done.returncode != 0
    assert not (project / ".venv").exists()  # no half-made venv for the next run
    done = make_venv(project, python)
    assert done.returncode == 0, done.stderr
    assert (project / ".venv" / ".installed").exists()


def test_every_install_into_the_venv_is_pinned_by_the_lock(project: Path) -> None:
    log = project / "calls.log"
    python = fake_python(project, "python3.11", (3, 11, 9), log)
    done = make_venv(project, python)
    assert done.returncode == 0, done.stderr
    installs = [line for line in log.read_text().splitlines() if " -m pip install " in line]
    assert [line.split(" -m pip install ", 1)[1] for line in installs] == [
        "-q -c requirements-dev.txt --upgrade pip",
        "-q -c requirements-dev.txt --build-constraint requirements-dev.txt -e .[dev]",
    ]
    stamp = (project / ".venv" / ".installed").stat().st_mtime
    os.utime(project / "requirements-dev.txt", (stamp + 1, stamp + 1))  # a newer lock
    again = make_venv(project, python)
    assert again.returncode == 0 and " -m pip install " in again.stdout
