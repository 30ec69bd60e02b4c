"""Reference protobuf classes: protoc's standard Python (and grpcio) output of ``protos/``.

Built into a temporary folder, never into ``src/``. The proto files are copied under a
``tsref/`` prefix (their ``import`` lines rewritten to match) so that the modules do not land
in ``google.ai.generativelanguage``, which Google's installed client already owns. Message and
service full names are unchanged, so the wire format and the gRPC routes are the real ones.

Vendored protos outside the API folder (``google/longrunning/operations.proto``) are not
compiled: googleapis-common-protos already registers them in protobuf's pool under the same
file names, so the API modules import its ``google.longrunning.operations_pb2``.

protobuf's default descriptor pool holds those full names once per process: never import
Google's ``google.ai.generativelanguage`` client in a process that loads these modules.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
PREFIX = "tsref"
API_DIR = "google/ai/generativelanguage"
VERSIONS = tuple(sorted(p.name for p in (REPO / "protos" / API_DIR).iterdir() if p.is_dir()))
"""Every vendored API version (a folder of ``protos/google/ai/generativelanguage``)."""


def proto_names(version: str) -> tuple[str, ...]:
    """The stems of a version's proto files (``text_service``, ``citation``, ...), sorted."""
    return tuple(sorted(p.stem for p in (REPO / "protos" / API_DIR / version).glob("*.proto")))


def versions_with(name: str) -> tuple[str, ...]:
    """The versions that have the proto file ``name`` (a stem such as ``text_service``)."""
    return tuple(v for v in VERSIONS if name in proto_names(v))


def build(out: Path) -> Path:
    """Compile the vendored protos with protoc's python and grpc_python generators.

    Returns the folder to put on ``sys.path``; modules are ``tsref.google.ai…_pb2``.
    """
    from codegen.paths import include_dirs  # the generator's own include roots

    source_root = out / "protos"
    python_root = out / "python"
    python_root.mkdir(parents=True, exist_ok=True)
    files = []
    for proto in sorted((REPO / "protos" / API_DIR).rglob("*.proto")):
        rel = proto.relative_to(REPO / "protos")
        text = proto.read_text(encoding="utf-8").replace(
            f'import "{API_DIR}/', f'import "{PREFIX}/{API_DIR}/'
        )
        target = source_root / PREFIX / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        files.append(f"{PREFIX}/{rel.as_posix()}")
    args = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{source_root}",
        f"-I{REPO / 'protos'}",  # vendored imports outside the API folder
        *(f"-I{d}" for d in include_dirs()),
        f"--python_out={python_root}",
        f"--grpc_python_out={python_root}",
        *files,
    ]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"protoc (reference build) failed: {done.stderr}")
    return python_root


def load(python_root: Path, version: str, name: str = "text_service") -> ModuleType:
    """Import ``tsref.google.ai.generativelanguage.<version>.<name>_pb2`` from a build."""
    if "google.ai.generativelanguage_v1beta" in sys.modules:
        raise RuntimeError("Google's client is loaded here; reference modules would clash")
    if str(python_root) not in sys.path:
        sys.path.insert(0, str(python_root))
    return importlib.import_module(f"{PREFIX}.{API_DIR.replace('/', '.')}.{version}.{name}")
