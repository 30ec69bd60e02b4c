"""One generator run: protos -> {path: text} of every generated file, then write or compare."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from codegen.descriptors import load_packages
from codegen.errors import CodegenError
from codegen.headers import is_generated, python_header
from codegen.imports import check_imports
from codegen.model import ApiPackage
from codegen.paths import Layout, api_protos, include_dirs
from codegen.protoc import run_protoc
from codegen.split import packages_to_split, split_packages

COMPILER = "betterproto2-compiler"
_SOURCES_LINE = re.compile(r"^# sources: (.+)$", re.MULTILINE)

Renderer = Callable[[list[ApiPackage]], dict[str, str]]
"""Renders files from the API model of the protos: {path relative to the package: text}."""


@dataclass
class GeneratedTree:
    """Every generated file of one run, keyed by its path relative to the package folder.

    A top-level folder with a generated ``__init__.py`` belongs to the generator (it is removed
    and written again as a whole); any other generated file sits among hand-written ones and
    is handled alone.
    """

    files: dict[str, str] = field(default_factory=dict)

    def roots(self) -> set[str]:
        """Top-level folders (inside the package) the generator owns."""
        return {
            path.split("/", 1)[0]
            for path in self.files
            if "/" in path and f"{path.split('/', 1)[0]}/__init__.py" in self.files
        }

    def loose(self) -> set[str]:
        """Generated files outside the owned folders."""
        roots = self.roots()
        return {path for path in self.files if path.split("/", 1)[0] not in roots}


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


def build(
    layout: Layout, renderers: Iterable[Renderer] = (), *, only: str | None = None
) -> GeneratedTree:
    """Run protoc, then each renderer on the API model; return every generated file.

    ``only`` names a top folder of the proto root: the protos outside it are left out.
    """
    if not layout.protos.is_dir():
        raise CodegenError(f"proto folder not found: {layout.protos}")
    files = [f for f in api_protos(layout.protos) if only is None or f.parts[0] == only]
    if not files:
        raise CodegenError(f"no .proto files under {layout.protos / (only or '')}")
    names = [f.as_posix() for f in files]
    check_imports(layout.protos, files, include_dirs())
    with tempfile.TemporaryDirectory(prefix="textservice-codegen-") as tmp:
        produced = run_protoc(layout.protos, files, Path(tmp))
        descriptors = produced.descriptor_set.read_bytes()
        modules = split_packages(
            _read_modules(produced.python_dir), packages_to_split(descriptors, names)
        )
        tree = GeneratedTree(_proto_files(modules))
    packages = load_packages(descriptors, layout.protos, names)
    for render in renderers:
        for rel, text in render(packages).items():
            if rel in tree.files:
                raise CodegenError(f"two parts of the generator would both write {rel}")
            tree.files[rel] = text
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


def _loose_on_disk(package: Path, roots: set[str]) -> set[str]:
    """Generated files (recognised by the header) outside the generated folders."""
    found: set[str] = set()
    if not package.is_dir():
        return found
    for path in package.rglob("*.py"):
        rel = path.relative_to(package)
        if rel.parts[0] in roots or "__pycache__" in rel.parts:
            continue
        with path.open(encoding="utf-8") as handle:
            if is_generated(handle.readline()):
                found.add(rel.as_posix())
    return found


def write(tree: GeneratedTree, package: Path) -> list[str]:
    """Remove every previously generated folder and file, then write ``tree``; return the paths
    written."""
    roots = _generated_roots_on_disk(package) | tree.roots()
    for root in sorted(roots):
        shutil.rmtree(package / root, ignore_errors=True)
    for rel in sorted(_loose_on_disk(package, roots) - set(tree.files)):
        (package / rel).unlink()
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
    roots = tree.roots() | _generated_roots_on_disk(package)
    on_disk = _files_under(package, roots)
    for rel in _loose_on_disk(package, roots) | _existing(package, tree):
        on_disk[rel] = (package / rel).read_text("utf-8")
    problems = []
    for rel in sorted(set(tree.files) | set(on_disk)):
        if rel not in on_disk:
            problems.append(f"missing: {rel}")
        elif rel not in tree.files:
            problems.append(f"stale (no longer generated): {rel}")
        elif on_disk[rel] != tree.files[rel]:
            problems.append(f"differs: {rel}")
    return problems


def _existing(package: Path, tree: GeneratedTree) -> set[str]:
    """The tree's loose files that exist on disk (generated or not)."""
    return {rel for rel in tree.loose() if (package / rel).is_file()}


__all__ = ["GeneratedTree", "Renderer", "build", "compare", "write"]
