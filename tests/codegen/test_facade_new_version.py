"""A new API version generates, imports and passes the facade's checks with no hand edits:
v1beta3's protos renamed v1beta9 (TextService), and v1's (GenerativeService and ModelService)
as v2, whose ``embed_content`` suites find it in the generated code (or the next free names,
once protos/ has a v1beta9 or a v2)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import TESTS

from codegen import import_layers, public_api
from codegen.headers import MARKER
from codegen.paths import PROTO_PACKAGE_DIR, REPO_ROOT

pytestmark = pytest.mark.subprocess


def _absent(prefix: str, first: int) -> str:
    """A version name no folder in protos/ has yet (one may be added there any day)."""
    folder = REPO_ROOT / "protos" / PROTO_PACKAGE_DIR
    names = (f"{prefix}{n}" for n in range(first, 1000))
    return next(name for name in names if not (folder / name).exists())


TEXT_NEW = _absent("v1beta", 9)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's package regenerated from protos with v1beta3 copied as TEXT_NEW."""
    root = tmp_path_factory.mktemp("newversion")
    protos = root / "protos"
    shutil.copytree(REPO_ROOT / "protos", protos)
    source, target = protos / PROTO_PACKAGE_DIR / "v1beta3", protos / PROTO_PACKAGE_DIR / TEXT_NEW
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_text(path.read_text().replace("v1beta3", TEXT_NEW))
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
    names = sorted(p.name for p in (REPO_ROOT / "src" / "textservice" / "v1beta3").glob("*.py"))
    assert names == ["__init__.py", "_text_service.py", "types.py"]
    assert sorted(p.name for p in (generated / TEXT_NEW).glob("*.py")) == names
    for name in names:
        new = (generated / TEXT_NEW / name).read_text()
        old = (REPO_ROOT / "src" / "textservice" / "v1beta3" / name).read_text()
        assert new.startswith(MARKER)
        assert new == old.replace("v1beta3", TEXT_NEW)
    # the other versions are untouched
    for version in ("v1", "v1beta", "v1beta2", "v1beta3"):
        for committed in (REPO_ROOT / "src" / "textservice" / version).glob("*.py"):
            assert (generated / version / committed.name).read_text() == committed.read_text()


def test_the_new_version_imports_and_passes_the_facade_checks(generated: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(generated.parent), str(TESTS)]))
    script = (
        "import textservice\nfrom support import facade_checks\n"
        f"assert textservice.__file__.startswith({str(generated)!r}), textservice.__file__\n"
        f"print(facade_checks.run_all('textservice.{TEXT_NEW}'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "check_generate_text" in done.stdout and "check_embeddings" in done.stdout


# -- a new version of GenerativeService and ModelService ---------------------------------------

NEW = _absent("v", 2)
SUITES = [
    "tests/facade/embed_content/test_embed_content.py",
    "tests/facade/test_facade_generative.py",
]
"""Suites that find the versions with ``embed_content`` in the generated code."""


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository regenerated with v1's protos added again as v2."""
    root = tmp_path_factory.mktemp("facade-new-generative-version")
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
    return root


def test_the_new_generative_version_gets_v1s_functions(repository: Path) -> None:
    package = repository / "src" / "textservice"
    files = {
        str(p.relative_to(package)): p.read_text()
        for folder in ("v1", NEW)
        for p in (package / folder).glob("*.py")
    }
    found = public_api.signatures(files)
    old = sorted(s.line.replace("textservice.v1.", "#") for s in found if s.module.endswith(".v1"))
    new = sorted(
        s.line.replace(f"textservice.{NEW}.", "#") for s in found if s.module.endswith(NEW)
    )
    assert old == new and len(new) >= 12  # embed_content, count_tokens, ... and their twins
    index = (package / NEW / "__init__.py").read_text()
    assert index.startswith(MARKER) and "GenerativeService: ``embed_content``" in index


def test_the_embedding_suites_cover_the_new_version_unedited(repository: Path) -> None:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(repository / "src"), str(repository / "tests")]),
    )
    script = "import textservice; print(textservice.__file__)"
    where = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert where.stdout.startswith(str(repository)), where.stdout + where.stderr
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES, "-k", NEW],
        cwd=repository,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed is not None and int(passed.group(1)) >= 50, done.stdout[-2000:]


@pytest.mark.slow
def test_the_import_layers_take_the_new_version_unedited(repository: Path) -> None:
    package = repository / "src" / "textservice"
    assert NEW in import_layers.facade_packages(package)
    settings = import_layers.read_settings(repository / "pyproject.toml")
    contracts = import_layers.expand(settings, import_layers.facade_packages(package))["contracts"]
    facades = next(c for c in contracts if c["id"] == "generated-facades")
    assert f"textservice.{NEW}" in facades["source_modules"]
    env = dict(os.environ, PYTHONPATH=str(repository / "src"))
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "lint-imports", "--package", str(package)],
        cwd=repository,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{len(contracts)} kept, 0 broken" in done.stdout, done.stdout[-2000:]
