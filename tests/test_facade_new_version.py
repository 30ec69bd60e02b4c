"""A new API version (v1beta3's protos renamed v1beta9) generates, imports and passes the
facade checks with no hand edits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codegen.headers import MARKER
from codegen.paths import PROTO_PACKAGE_DIR, REPO_ROOT

pytestmark = pytest.mark.subprocess

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's package regenerated from protos with a v1beta9 added."""
    root = tmp_path_factory.mktemp("newversion")
    protos = root / "protos"
    shutil.copytree(REPO_ROOT / "protos", protos)
    source, target = protos / PROTO_PACKAGE_DIR / "v1beta3", protos / PROTO_PACKAGE_DIR / "v1beta9"
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_text(path.read_text().replace("v1beta3", "v1beta9"))
    package = root / "src" / "textservice"
    shutil.copytree(
        REPO_ROOT / "src" / "textservice", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "codegen",
            "generate",
            "--protos",
            str(protos),
            "--package",
            str(package),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return package


@pytest.mark.slow
def test_the_new_version_gets_a_facade_like_the_one_it_was_copied_from(generated: Path) -> None:
    for name in ("__init__.py", "types.py"):
        new = (generated / "v1beta9" / name).read_text()
        old = (REPO_ROOT / "src" / "textservice" / "v1beta3" / name).read_text()
        assert new.startswith(MARKER)
        assert new == old.replace("v1beta3", "v1beta9")
    # the other versions are untouched
    for version in ("v1beta", "v1beta2", "v1beta3"):
        for name in ("__init__.py", "types.py"):
            committed = REPO_ROOT / "src" / "textservice" / version / name
            assert (generated / version / name).read_text() == committed.read_text()


def test_the_new_version_imports_and_passes_the_facade_checks(generated: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(generated.parent), str(TESTS)]))
    script = (
        "import textservice\nfrom support import facade_checks\n"
        f"assert textservice.__file__.startswith({str(generated)!r}), textservice.__file__\n"
        "print(facade_checks.run_all('textservice.v1beta9'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "check_generate_text" in done.stdout and "check_embeddings" in done.stdout
