"""Where the generator reads protos from and writes code to."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from codegen.errors import CodegenError

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The repository root (the folder holding ``protos/``, ``codegen/`` and ``src/``)."""

PROTO_PACKAGE_DIR = Path("google/ai/generativelanguage")
"""Where the API's version folders live inside a proto root."""


PROFILES = REPO_ROOT / "src" / "textservice" / "_profiles.py"
"""The package's model profiles (a standard-library-only module): facts the generator shares."""


@cache
def profiles() -> ModuleType:
    """``textservice._profiles``, loaded from its file: importing the package would import
    the generated code this generator is about to replace."""
    spec = importlib.util.spec_from_file_location("_textservice_profiles", PROFILES)
    if spec is None or spec.loader is None:
        raise CodegenError(f"cannot load {PROFILES}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


API_LIST = REPO_ROOT / "codegen" / "public_api.txt"
"""The accepted public signatures of the generated facades (``codegen.public_api``)."""


@dataclass(frozen=True)
class Layout:
    """The input and output folders of one generator run."""

    protos: Path
    """Root of the vendored API protos (``protos/``)."""
    package: Path
    """The ``textservice`` package folder the generated code goes into."""
    api_list: Path | None = None
    """The accepted public signatures to check the facades against; None: no check."""

    @property
    def proto_out(self) -> Path:
        """Folder of the betterproto2 output (``textservice._proto``)."""
        return self.package / "_proto"

    @classmethod
    def default(cls) -> Layout:
        """The repository's own layout."""
        return cls(
            protos=REPO_ROOT / "protos",
            package=REPO_ROOT / "src" / "textservice",
            api_list=API_LIST,
        )


def _package_root(module: str, what: str, dist: str, depth: int) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise CodegenError(
            f"cannot find {what}: install `{dist}` "
            "(it is in the dev extra: pip install -e '.[dev]')"
        )
    # the module file sits ``depth`` folders below the root of its distribution
    return Path(spec.origin).resolve().parents[depth]


def include_dirs() -> list[Path]:
    """Proto include roots for ``google/api``, ``google/rpc`` and ``google/protobuf``."""
    common = _package_root(
        "google.api.annotations_pb2", "the google/api protos", "googleapis-common-protos", 2
    )
    tools = _package_root("grpc_tools", "grpcio-tools", "grpcio-tools", 0) / "_proto"
    return [common, tools]


def api_protos(protos: Path) -> list[Path]:
    """Every ``.proto`` under ``protos``, relative to it, in a stable order."""
    found = sorted(p.relative_to(protos) for p in protos.rglob("*.proto"))
    if not found:
        raise CodegenError(f"no .proto files under {protos}")
    return found
