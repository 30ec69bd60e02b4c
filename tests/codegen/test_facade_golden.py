"""Golden files of the facade rendered from the edge-case fixture protos, and their behaviour."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import TESTS

from codegen.golden import FIXTURE_PROTOS, GOLDEN, golden_differences
from codegen.headers import MARKER
from codegen.paths import REPO_ROOT

CASES = (
    "content_rpcs",
    "docstring_escapes",
    "message_argument",
    "nested_arguments",
    "no_batch",
    "optional_scalars",
    "renamed_options",
    "renamed_rpcs",
    "reserved_names",
)


@pytest.mark.slow
@pytest.mark.subprocess
def test_golden_files_are_up_to_date() -> None:
    assert golden_differences() == [], "run `make golden` and review the diff"


def test_one_fixture_per_edge_case_and_golden_files_for_each() -> None:
    assert sorted(p.name for p in (FIXTURE_PROTOS / "fixtures").iterdir()) == list(CASES)
    for case in CASES:
        names = sorted(p.name for p in (GOLDEN / case).glob("*.py"))
        assert {"__init__.py", "types.py"} < set(names)  # and a module per service
        (proto,) = (FIXTURE_PROTOS / "fixtures" / case).glob("*.proto")
        for name in names:
            text = (GOLDEN / case / name).read_text()
            assert text.startswith(MARKER)
            assert f"fixtures/{case}/{proto.name}" in text.split('"""', 1)[0]
            ast.parse(text)  # valid Python, whatever the comments held


def test_golden_reflects_the_protos() -> None:
    no_batch = (GOLDEN / "no_batch" / "_text_service.py").read_text()
    assert "many=None," in no_batch  # the recipe has no batch RPC
    assert "BatchEmbedText" not in no_batch.split('"""', 2)[2]
    reserved = (GOLDEN / "reserved_names" / "_text_service.py").read_text()
    for name in ("type_", "from_", "client_", "request"):
        assert f"    {name}: " in reserved
    # the request builder's local steps aside for the `request` parameter
    assert "request_ = _pb.GenerateTextRequest(" in reserved
    assert "CandidateDict = TypedDict(" in (GOLDEN / "reserved_names" / "types.py").read_text()
    optional = (GOLDEN / "optional_scalars" / "_text_service.py").read_text()
    assert "temperature: float | None = None" in optional
    assert "default_timeout=12.5" in optional and "default_retry=None" in optional


@pytest.fixture(scope="module")
def fixture_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package regenerated from protos/ plus the fixtures (so both import together)."""
    root = tmp_path_factory.mktemp("fixtures")
    protos = root / "protos"
    shutil.copytree(REPO_ROOT / "protos", protos)
    shutil.copytree(FIXTURE_PROTOS / "fixtures", protos / "fixtures")
    package = root / "src" / "textservice"
    shutil.copytree(
        REPO_ROOT / "src" / "textservice", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    command = ["generate", "--protos", str(protos), "--package", str(package)]
    done = subprocess.run(
        [sys.executable, "-m", "codegen", *command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return package


@pytest.mark.slow
@pytest.mark.subprocess
def test_fixture_facades_match_the_golden_files(fixture_package: Path) -> None:
    for case in CASES:
        names = sorted(p.name for p in (GOLDEN / case).glob("*.py"))
        assert names == sorted(p.name for p in (fixture_package / case).glob("*.py")), case
        for name in names:
            generated = (fixture_package / case / name).read_text()
            assert generated == (GOLDEN / case / name).read_text(), f"{case}/{name}"


@pytest.mark.subprocess
def test_fixture_facades_behave(fixture_package: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fixture_package.parent), str(TESTS)]))
    done = subprocess.run(
        [sys.executable, "-m", "support.fixture_checks"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed:") == len(CASES)
