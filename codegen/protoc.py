"""Running ``grpc_tools.protoc`` with the betterproto2 plugin and the descriptor-set writer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from codegen.errors import CodegenError
from codegen.paths import REPO_ROOT, include_dirs

PLUGIN_NAME = "protoc-gen-python_betterproto2"

# grpclib async client stubs and async server bases; betterproto2's "sync" clients are
# grpcio-based, which we do not want at runtime.
PLUGIN_OPTIONS = "client_generation=async,server_generation=async"

EXTRA_PROTOS = ("google/rpc/status.proto", "google/rpc/error_details.proto")
"""Compiled beside the API protos: the runtime decodes ``grpc-status-details-bin`` with them."""


@dataclass(frozen=True)
class ProtocOutput:
    """What one protoc run produced."""

    python_dir: Path
    """betterproto2 output root (holds ``google/…`` packages and ``message_pool.py``)."""
    descriptor_set: Path
    """``FileDescriptorSet`` with imports and source info (comments)."""


def _tool_dir() -> Path:
    """The folder holding this interpreter's console scripts (the venv's ``bin``)."""
    return Path(sys.executable).parent


def find_plugin() -> Path:
    """Locate the betterproto2 protoc plugin, or explain how to get it."""
    local = _tool_dir() / PLUGIN_NAME
    if local.exists():
        return local
    found = shutil.which(PLUGIN_NAME)
    if found is None:
        raise CodegenError(
            f"the betterproto2 protoc plugin ({PLUGIN_NAME}) is not installed: "
            "pip install -e '.[dev]' (it comes with betterproto2-compiler)"
        )
    return Path(found)


def tool_path() -> str:
    """PATH for protoc and its plugin: this venv's scripts first (the plugin calls ``ruff``)."""
    path = os.pathsep.join([str(_tool_dir()), os.environ.get("PATH", "")])
    if shutil.which("ruff", path=path) is None:
        raise CodegenError(
            "ruff is not installed, and the betterproto2 plugin formats its output with it: "
            "pip install -e '.[dev]'"
        )
    return path


def run_protoc(protos: Path, files: list[Path], out: Path) -> ProtocOutput:
    """Compile ``files`` (relative to ``protos``) into ``out``; raise CodegenError on failure."""
    try:
        import grpc_tools  # noqa: F401  (only checking that it is installed)
    except ImportError as exc:
        raise CodegenError("grpcio-tools is not installed: pip install -e '.[dev]'") from exc
    plugin = find_plugin()
    protos, out = protos.resolve(), out.resolve()
    python_dir = out / "python"
    python_dir.mkdir(parents=True)
    descriptor_set = out / "descriptors.binpb"
    includes = [f"-I{protos}", *(f"-I{d}" for d in include_dirs())]
    args = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        *includes,
        f"--plugin={PLUGIN_NAME}={plugin}",
        f"--python_betterproto2_out={python_dir}",
        f"--python_betterproto2_opt={PLUGIN_OPTIONS}",
        f"--descriptor_set_out={descriptor_set}",
        "--include_imports",
        "--include_source_info",
        *(f.as_posix() for f in files),
        *EXTRA_PROTOS,
    ]
    env = dict(os.environ, PATH=tool_path())
    # The plugin formats its output with `ruff` reading stdin, which takes its settings from
    # the working directory: run in the repository so the output never depends on the caller's.
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=False)
    if proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}"
        raise CodegenError(f"protoc failed:\n{message}")
    return ProtocOutput(python_dir=python_dir, descriptor_set=descriptor_set)
