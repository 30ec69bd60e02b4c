"""The working habits hold: the lock pins every dependency, the git hooks run what ``make lint``
runs, and the version is written in one place."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support.paths import REPO

ROOT = REPO
LOCK = ROOT / "requirements-dev.txt"


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _pins() -> dict[str, str]:
    """The lock's ``name==version`` lines, by canonical name."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, sep, version = requirement.partition("==")
            assert sep and version, f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def test_the_lock_pins_every_dependency_within_its_range() -> None:
    # `make venv` installs with the lock as constraints: a dependency missing from it would be
    # installed at whatever version is newest that day (run `make lock` after adding one).
    project = _pyproject()
    declared = [
        *project["project"]["dependencies"],
        *(r for extra in project["project"]["optional-dependencies"].values() for r in extra),
        *project["build-system"]["requires"],
    ]
    pins = _pins()
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in {LOCK.name}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{LOCK.name} pins {name}=={pins[name]}, outside pyproject.toml's {text!r}"
        )


def test_the_runtime_dependencies_stay_ranges() -> None:
    # Only betterproto2 is pinned exactly (generated code checks its version at import).
    exact = [
        r for r in _pyproject()["project"]["dependencies"] if "==" in r and "betterproto2" not in r
    ]
    assert exact == []


def test_the_version_is_written_once() -> None:
    project = _pyproject()
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    source = ROOT / project["tool"]["hatch"]["version"]["path"]
    assert source == ROOT / "src" / "textservice" / "__init__.py"
    found = re.findall(r"^__version__ = \"(.+)\"$", source.read_text(encoding="utf-8"), re.M)
    import textservice

    assert found == [textservice.__version__]


def _make_dry_run(*targets: str) -> list[str]:
    """The commands ``make TARGETS`` would run (the venv taken as made)."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("needs make")
    inherited = {
        k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    done = subprocess.run(
        [make, "--no-print-directory", "-n", "-o", ".venv/.installed", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=inherited,
        check=True,
    )
    return done.stdout.splitlines()


def _hook_entries() -> list[str]:
    import yaml  # pre-commit's own dependency (dev extra)

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = config["repos"]
    assert repo["repo"] == "local"  # nothing fetched at commit time
    for hook in repo["hooks"]:
        assert hook["language"] == "system" and hook["pass_filenames"] is False, hook["id"]
        assert hook["entry"].startswith(".venv/bin/"), hook["id"]  # the venv's pinned tools
    return [hook["entry"] for hook in repo["hooks"]]


@pytest.mark.subprocess
def test_the_git_hooks_run_what_make_lint_and_check_generated_run() -> None:
    assert sorted(_hook_entries()) == sorted(_make_dry_run("check-generated", "lint"))
