"""The README's wheel, built and installed in a clean venv: importable, with no protoc, grpcio or
protobuf installed."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from support.paths import REPO

README = REPO / "README.md"
INSTALL_SECTION = "Install and a first call with a real key"

CHECK = """
import importlib.util, textservice
from textservice._proto.google.ai.generativelanguage import v1beta
assert v1beta.BatchEmbedTextRequest(model="models/m", texts=["a"]).texts == ["a"]
for absent in ("grpc_tools", "grpc", "google.protobuf"):
    try:
        found = importlib.util.find_spec(absent) is not None
    except ModuleNotFoundError:
        found = False
    assert not found, absent + " should not be installed"
print("ok")
"""


def readme_commands(section: str) -> list[list[str]]:
    """The shell commands of a README section's ``sh`` blocks, comments dropped."""
    text = README.read_text(encoding="utf-8").split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    lines = [
        line for block in re.findall(r"```sh\n(.*?)```", text, re.S) for line in block.splitlines()
    ]
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


@pytest.mark.slow
@pytest.mark.subprocess
def test_readme_wheel_builds_installs_and_imports_without_build_tools(tmp_path: Path) -> None:
    # The README's own build command, writing to tmp_path instead of ./dist.
    (build,) = [
        argv for argv in readme_commands(INSTALL_SECTION) if argv[1:4] == ["-m", "pip", "wheel"]
    ]
    dist = tmp_path / "dist"
    argv = [sys.executable, *build[1:]]
    argv[argv.index("dist")] = str(dist)
    built = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = dist.glob("textservice-*.whl")
    _check_licenses(wheel)
    _check_version(wheel)
    with zipfile.ZipFile(wheel) as archive:  # `make demo` generates its sample into build/
        assert "textservice/cli/sample.txt" not in archive.namelist()
        assert "textservice/cli/sample.py" in archive.namelist()

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    done = subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert sys.executable != str(python)


def _check_licenses(wheel: Path) -> None:
    """The wheel carries the project's license and the vendored protos', and says which."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (info,) = {name.split("/")[0] for name in names if ".dist-info/" in name}
        licenses = sorted(name for name in names if name.startswith(f"{info}/licenses/"))
        assert licenses == [f"{info}/licenses/LICENSE", f"{info}/licenses/protos/LICENSE"]
        text = archive.read(f"{info}/licenses/LICENSE").decode()
        metadata = archive.read(f"{info}/METADATA").decode().split("\n\n", 1)[0].splitlines()
    assert text == (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License\n                           Version 2.0")
    assert "License-Expression: Apache-2.0" in metadata
    assert {"License-File: LICENSE", "License-File: protos/LICENSE"} <= set(metadata)


def _check_version(wheel: Path) -> None:
    """The wheel's version is ``textservice.__version__``, the one place it is written."""
    import textservice

    assert wheel.name.startswith(f"textservice-{textservice.__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        headers = archive.read(metadata).decode().split("\n\n", 1)[0].splitlines()
    assert f"Version: {textservice.__version__}" in headers
    # what the package is for: today's embedding service first, not only the legacy one
    (summary,) = [h for h in headers if h.startswith("Summary: ")]
    assert "Gemini" in summary and "GenerativeService" in summary


def test_readme_installs_from_the_checkout() -> None:
    commands = readme_commands(INSTALL_SECTION)
    assert ["pip", "install", "."] in commands
    assert ["pip", "install", "-e", ".[dev]"] in commands


_INDEX_INSTALL = re.compile(r"pip install ['\"]?textservice\b")


def test_nothing_tells_users_to_install_textservice_from_the_index() -> None:
    # The package is not on PyPI: every install hint names the checkout, a wheel, or numpy.
    files = [README, REPO / "CHANGELOG.md", REPO / "pyproject.toml", REPO / "Makefile"]
    files += sorted((REPO / "docs").glob("*.md"))
    for folder in ("src/textservice", "codegen"):
        files += [p for p in (REPO / folder).rglob("*.py") if "_proto" not in p.parts]
    hits = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _INDEX_INSTALL.search(line) and "does not install this" not in line
    ]
    assert not hits, hits
    # ...and the one sentence exempted above does say so.
    assert "`pip install textservice` does not install this" in README.read_text(encoding="utf-8")
