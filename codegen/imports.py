"""Checking the ``import`` lines of the vendored protos before protoc runs.

protoc alone reports a missing import as ``File not found`` for the imported path, without
saying which of our files wanted it or what to do. The usual cause is a Google proto that
googleapis-common-protos ships under another name (``google/longrunning/operations.proto`` is
``operations_proto.proto`` there), so the error names the importing file, the missing path,
any look-alike file in the include roots, and where to put a verbatim copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codegen.errors import CodegenError

_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_IMPORT = re.compile(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;', re.MULTILINE)


def proto_imports(text: str) -> list[str]:
    """The paths a ``.proto`` source imports, in order (comments are ignored)."""
    return _IMPORT.findall(_COMMENTS.sub("", text))


@dataclass(frozen=True)
class MissingImport:
    """An import that no proto root holds."""

    importer: str
    """The importing file, relative to the proto folder."""
    path: str
    """The imported path as written."""
    look_alikes: tuple[str, ...]
    """Files of the include roots in the same folder whose name starts with the missing stem."""


def _look_alikes(path: str, includes: Sequence[Path]) -> tuple[str, ...]:
    folder, _, name = path.rpartition("/")
    stem = name.removesuffix(".proto")
    found: set[str] = set()
    for root in includes:
        directory = root / folder if folder else root
        if directory.is_dir():
            found.update(
                f"{folder}/{p.name}" if folder else p.name
                for p in directory.glob(f"{stem}*.proto")
                if p.name != name
            )
    return tuple(sorted(found))


def missing_imports(
    protos: Path, files: Iterable[Path], includes: Sequence[Path]
) -> list[MissingImport]:
    """Imports of ``files`` (relative to ``protos``) found neither there nor in ``includes``."""
    roots = [protos, *includes]
    missing: list[MissingImport] = []
    for rel in files:
        text = (protos / rel).read_text(encoding="utf-8")
        for path in proto_imports(text):
            if not any((root / path).is_file() for root in roots):
                missing.append(MissingImport(rel.as_posix(), path, _look_alikes(path, includes)))
    return missing


def describe(problem: MissingImport) -> str:
    """What is missing and what to do about it, for a ``CodegenError``."""
    lines = [
        f"{problem.importer} imports {problem.path}, which is neither in protos/ nor in the "
        "include roots (googleapis-common-protos, grpcio-tools)."
    ]
    if problem.look_alikes:
        names = ", ".join(problem.look_alikes)
        lines.append(
            f"  The include roots hold {names}: perhaps the same proto under another name, "
            "which protoc cannot use for this import."
        )
    lines.append(
        f"  Fix: copy {problem.path} verbatim from github.com/googleapis/googleapis (Apache-2.0, "
        f"covered by protos/LICENSE) to protos/{problem.path}, then run `make generate` again "
        '(docs/development.md, "Regenerating after a proto update").'
    )
    return "\n".join(lines)


def check_imports(protos: Path, files: Iterable[Path], includes: Sequence[Path]) -> None:
    """``CodegenError`` describing every import that protoc would not find."""
    problems = missing_imports(protos, files, includes)
    if problems:
        raise CodegenError(
            "a proto imports a file that cannot be found:\n"
            + "\n".join(describe(p) for p in problems)
        )


__all__ = ["MissingImport", "check_imports", "describe", "missing_imports", "proto_imports"]
