"""A new API version copied into ``protos/`` is served by the fake and covered by its test
suites after ``make generate``, with no edit to the fake or to the tests.

A copy of the repository gets v1's protos again as ``v1gamma`` (package and imports renamed),
is regenerated, and runs the fake's GenerativeService, ModelService and contract suites there:
they find the new version in the generated code and test it like v1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codegen.paths import PROTO_PACKAGE_DIR, REPO_ROOT

pytestmark = pytest.mark.subprocess

NEW = "v1gamma"
SUITES = [
    "tests/testing/test_fake_service.py::test_versions_services_and_routes_are_those_of_the_protos",
    "tests/testing/test_fake_generative.py",
    "tests/testing/test_fake_models.py",
    "tests/testing/test_fake_contract_generative.py",
]


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository regenerated with v1's protos added again as v1gamma."""
    root = tmp_path_factory.mktemp("fake-new-version")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("protos", "src", "tests", "codegen"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=ignore)
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    source = root / "protos" / PROTO_PACKAGE_DIR / "v1"
    target = root / "protos" / PROTO_PACKAGE_DIR / NEW
    target.mkdir()
    for path in source.iterdir():
        text = re.sub(
            r"generativelanguage([./])v1\b", rf"generativelanguage\g<1>{NEW}", path.read_text()
        )
        (target / path.name).write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "generate", "--protos", str(root / "protos"),
         "--package", str(root / "src" / "textservice")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (root / "src" / "textservice" / "_proto" / PROTO_PACKAGE_DIR / NEW).is_dir()
    return root


def test_the_fake_suites_cover_the_new_version_unedited(repository: Path) -> None:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(repository / "src"), str(repository / "tests")]),
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES,
         "-k", f"{NEW} or protos", "-W", "error::pytest.PytestUnknownMarkWarning"],
        cwd=repository,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed is not None and int(passed.group(1)) >= 30, done.stdout[-2000:]
    assert "failed" not in done.stdout and "error" not in done.stdout.lower(), done.stdout[-2000:]


def test_the_copy_serves_the_new_version(repository: Path) -> None:
    # the suites above ran against the copy's package, not this checkout's
    script = (
        "import textservice\n"
        "from textservice.testing import FakeServer\n"
        f"assert textservice.__file__.startswith({str(repository)!r}), textservice.__file__\n"
        "print(sorted(FakeServer().versions))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(repository / "src"))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert NEW in done.stdout
