"""One generator run: protos -> {path: text} of every generated file, then write or compare."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codegen.errors import CodegenError
from codegen.headers import is_generated, python_header
from codegen.imports import check_imports
from codegen.paths import Layout, api_protos, include_dirs
from codegen.protoc import run_protoc
from codegen.split import packages_to_split, split_packages

COMPILER = "betterproto2-compiler"
_SOURCES_LINE = re.compile(r"^# sources: (.+)$", re.MULTILINE)

FacadeRenderer = Callable[[Path, Layout], dict[str, str]]
"""Renders the facade from a descriptor set: {path relative to the package: text}."""


@dataclass
class GeneratedTree:
    """Every generated file of one run, keyed by its path relative to the package folder."""

    files: dict[str, str] = field(default_factory=dict)

    def roots(self) -> set[str]:
        """Top-level folders (inside the package) that hold generated files."""
        return {path.split("/", 1)[0] for path in self.files}


def _compiler_version() -> str:
    from importlib.metadata import version

    return version("betterproto2_compiler")


def _read_modules(python_dir: Path) -> dict[str, str]:
    """betterproto2's modules by path; its py.typed is dropped.

    ``textservice`` has one ``py.typed`` at its top, which covers ``_proto``.
    """
    raw: dict[str, str] = {}
    for path in sorted(python_dir.rglob("*")):
        if path.is_file() and path.suffix == ".py":
            raw[path.relative_to(python_dir).as_posix()] = path.read_text(encoding="utf-8")
    return raw


def _proto_files(raw: dict[str, str]) -> dict[str, str]:
    """The ``_proto`` modules with our header on each."""
    sources: dict[str, list[str]] = {}
    for rel, text in raw.items():
        match = _SOURCES_LINE.search(text)
        if match:
            sources[rel] = [s.strip() for s in match.group(1).split(",")]
    every = sorted({s for found in sources.values() for s in found})
    tool = f"{COMPILER} {_compiler_version()} via grpc_tools.protoc"
    out: dict[str, str] = {}
    for rel, text in raw.items():
        if rel in sources:
            named = sources[rel]
        else:  # package markers and message_pool.py: everything beneath them
            folder = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
            named = [s for r, found in sources.items() if r.startswith(folder) for s in found]
            named = named or every
        out[f"_proto/{rel}"] = python_header(named, tool) + text
    return out


def build(layout: Layout, facade: FacadeRenderer | None = None) -> GeneratedTree:
    """Run protoc (and the facade renderer, if given) and return every generated file."""
    if not layout.protos.is_dir():
        raise CodegenError(f"proto folder not found: {layout.protos}")
    files = api_protos(layout.protos)
    check_imports(layout.protos, files, include_dirs())
    with tempfile.TemporaryDirectory(prefix="textservice-codegen-") as tmp:
        produced = run_protoc(layout.protos, files, Path(tmp))
        split = packages_to_split(
            produced.descriptor_set.read_bytes(), [f.as_posix() for f in files]
        )
        modules = split_packages(_read_modules(produced.python_dir), split)
        tree = GeneratedTree(_proto_files(modules))
        if facade is not None:
            tree.files.update(facade(produced.descriptor_set, layout))
    return tree


def _generated_roots_on_disk(package: Path) -> set[str]:
    """Folders in the package that a previous run generated (recognised by the header)."""
    roots: set[str] = set()
    if not package.is_dir():
        return roots
    for child in package.iterdir():
        marker = child / "__init__.py"
        if child.is_dir() and marker.is_file() and is_generated(marker.read_text("utf-8")):
            roots.add(child.name)
    return roots


def write(tree: GeneratedTree, package: Path) -> list[str]:
    """Remove every previously generated folder, then write ``tree``; return the paths written."""
    for root in sorted(_generated_roots_on_disk(package) | tree.roots()):
        shutil.rmtree(package / root, ignore_errors=True)
    for rel, text in sorted(tree.files.items()):
        target = package / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
    return sorted(tree.files)


def _files_under(package: Path, roots: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for root in roots:
        base = package / root
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                found[path.relative_to(package).as_posix()] = path.read_text("utf-8")
    return found


def compare(tree: GeneratedTree, package: Path) -> list[str]:
    """Differences between ``tree`` and the files on disk, one line per file, sorted."""
    on_disk = _files_under(package, tree.roots() | _generated_roots_on_disk(package))
    problems = []
    for rel in sorted(set(tree.files) | set(on_disk)):
        if rel not in on_disk:
            problems.append(f"missing: {rel}")
        elif rel not in tree.files:
            problems.append(f"stale (no longer generated): {rel}")
        elif on_disk[rel] != tree.files[rel]:
            problems.append(f"differs: {rel}")
    return problems


__all__ = ["GeneratedTree", "build", "compare", "write"]
