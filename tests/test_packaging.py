"""`pip install .` in a clean venv: importable, with no protoc, grpcio or protobuf installed."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

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


def test_wheel_installs_and_imports_without_build_tools(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(REPO)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    done = subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert sys.executable != str(python)
