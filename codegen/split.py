"""One module per proto file for the API packages, behind a lazy package index.

betterproto2 writes a proto package as one module. v1beta's holds GenerativeService, the
retriever, model and tuning messages beside TextService's, and importing it would build every
class and import ``google.protobuf``, ``google.type`` and ``google.longrunning`` too, all to
embed a text. So each API package's module is split here, statement by statement (class
bodies are kept as betterproto2 wrote them): ``v1beta/_text_service.py`` holds the classes of
``text_service.proto`` and imports the sibling modules and packages they reference, and
``v1beta/__init__.py`` becomes an index that imports a class's module on first access (PEP
562 ``__getattr__``), with ``TYPE_CHECKING`` re-exports for type checkers.

A file's services (the grpclib client stub and server base betterproto2 writes for each) go
to a module of their own, ``v1beta/_text_service_grpc.py``: ``betterproto2.grpclib`` imports
``grpclib.server`` (and with it ``h2`` and ``asyncio``) for the server bases, which a program
that only builds and reads messages (the facade's requests go through the runtime's own
call path) need not load.

Loading a module registers its messages in betterproto2's message pool, as before; a message
of a file nobody used is not registered until its module is imported.

Each module then goes through the same ruff fixes betterproto2 applies to its own output
(unused imports dropped, imports and ``__all__`` sorted, formatted).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from google.protobuf import descriptor_pb2

from codegen.descriptors import walk_messages
from codegen.errors import CodegenError
from codegen.formatting import ruff_files
from codegen.names import python_class_name
from codegen.templating import environment

BETTERPROTO_FIXES = "I,F401,TC005,RUF022"
"""The ruff rules betterproto2's compiler fixes in its output; applied to each split module."""

INDEX_TEMPLATE = "proto_index.py.j2"

GRPC_SUFFIX = "_grpc"
"""Added to a file's module name for the module of its services."""

_REGISTER = "default_message_pool.register_message"
_PREAMBLE_NAMES = frozenset({"_COMPILER_VERSION"})


@dataclass(frozen=True)
class SplitPackage:
    """Which proto file defines each top-level class of one betterproto2 package module."""

    package: str
    """e.g. ``google.ai.generativelanguage.v1beta``."""
    files: tuple[str, ...]
    """The package's proto files, sorted."""
    owners: Mapping[str, str]
    """Python class name -> the proto file defining it."""
    services: frozenset[str] = frozenset()
    """The service classes (``...Stub``, ``...Base``) among ``owners``: each file's go to its
    ``_grpc`` module (``module_of_class``)."""

    @property
    def module_path(self) -> str:
        """The package module betterproto2 writes, relative to its output root."""
        return "/".join(self.package.split(".")) + "/__init__.py"

    def module_of(self, file: str) -> str:
        """The split module's name for ``file``: ``_text_service``."""
        return "_" + PurePosixPath(file).stem

    def module_of_class(self, name: str) -> str:
        """The split module of the class ``name``: its file's (``_text_service``), or for a
        service class its file's services module (``_text_service_grpc``)."""
        module = self.module_of(self.owners[name])
        return module + GRPC_SUFFIX if name in self.services else module


def packages_to_split(descriptor_set: bytes, api_files: Iterable[str]) -> dict[str, SplitPackage]:
    """A ``SplitPackage`` per package of ``api_files`` (paths relative to the proto root)."""
    wanted = set(api_files)
    by_package: dict[str, list[descriptor_pb2.FileDescriptorProto]] = {}
    for proto in descriptor_pb2.FileDescriptorSet.FromString(descriptor_set).file:
        if proto.name in wanted:
            by_package.setdefault(proto.package, []).append(proto)
    found = {}
    for package, protos in sorted(by_package.items()):
        if not package:
            raise CodegenError(f"{protos[0].name}: a proto without a package cannot be generated")
        owners: dict[str, str] = {}
        services: set[str] = set()
        stems: dict[str, str] = {}
        for proto in protos:
            stem = PurePosixPath(proto.name).stem
            if stem in stems:
                raise CodegenError(
                    f"{stems[stem]} and {proto.name} (package {package}) would both be "
                    f"module _{stem}: rename one of the files"
                )
            stems[stem] = proto.name
            for name in _class_names(proto):
                owners[name] = proto.name
            services.update(_service_names(proto))
        for proto in protos:
            stem = PurePosixPath(proto.name).stem
            if proto.service and stem + GRPC_SUFFIX in stems:
                raise CodegenError(
                    f"the services of {proto.name} and the file {stems[stem + GRPC_SUFFIX]} "
                    f"(package {package}) would both be module _{stem}{GRPC_SUFFIX}: rename "
                    "one of the files"
                )
        found[package] = SplitPackage(
            package, tuple(sorted(stems.values())), owners, frozenset(services)
        )
    return found


def _service_names(proto: descriptor_pb2.FileDescriptorProto) -> Iterator[str]:
    """betterproto2's class names for the services of one file: a stub and a server base."""
    for service in proto.service:
        yield python_class_name(service.name) + "Stub"
        yield python_class_name(service.name) + "Base"


def _class_names(proto: descriptor_pb2.FileDescriptorProto) -> Iterator[str]:
    """betterproto2's top-level class names for the types and services of one file."""
    for enum in proto.enum_type:
        yield python_class_name(enum.name)
    for message, _, prefixed, _ in walk_messages(proto.message_type, proto.package, "", ()):
        if message.options.map_entry:
            continue
        yield python_class_name(prefixed)
        for enum in message.enum_type:
            yield python_class_name(f"{prefixed}.{enum.name}")
    yield from _service_names(proto)


# -- reading betterproto2's module ------------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    """One top-level statement of the package module."""

    text: str
    owner: str | None
    """The split module a class (or its registration) goes to (``SplitPackage.module_of_class``);
    None for shared lines."""
    is_import: bool
    uses: frozenset[str]
    """Names the statement refers to, string annotations included."""
    defines: str | None = None
    """The class a class statement defines."""


def _segment(lines: list[str], node: ast.stmt) -> str:
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    assert node.end_lineno is not None
    return "\n".join(lines[start - 1 : node.end_lineno])


def _annotation_names(text: str) -> set[str]:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _uses(node: ast.AST) -> frozenset[str]:
    names: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        annotations: list[ast.expr | None] = []
        if isinstance(sub, ast.AnnAssign | ast.arg):
            annotations.append(sub.annotation)
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(sub.returns)
        for annotation in annotations:
            for part in ast.walk(annotation) if annotation is not None else ():
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    names |= _annotation_names(part.value)
    return frozenset(names)


def _registered_class(node: ast.stmt) -> str | None:
    """``X`` for ``default_message_pool.register_message("pkg", "X", X)``."""
    if (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func) == _REGISTER
        and len(node.value.args) == 3
        and isinstance(node.value.args[2], ast.Name)
    ):
        return node.value.args[2].id
    return None


def _is_preamble(node: ast.stmt) -> bool:
    """``if TYPE_CHECKING:`` imports, ``_COMPILER_VERSION = ...`` and the version check."""
    if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
        return all(isinstance(s, ast.Import | ast.ImportFrom) for s in node.body)
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Name) and t.id in _PREAMBLE_NAMES for t in node.targets)
    return isinstance(node, ast.Expr) and ast.unparse(node).startswith(
        "betterproto2.check_compiler_version("
    )


def _statements(source: str, split: SplitPackage) -> list[_Statement]:
    lines = source.split("\n")
    out: list[_Statement] = []
    for node in ast.parse(source).body:
        where = f"{split.module_path} line {node.lineno}"
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__":
            continue  # each module gets its own
        owner: str | None = None
        if isinstance(node, ast.ClassDef):
            if node.name not in split.owners:
                raise CodegenError(
                    f"{where}: class {node.name} matches no type or service of the package's "
                    "proto files, so it cannot be placed in a module per file"
                )
            owner = split.module_of_class(node.name)
        elif (registered := _registered_class(node)) is not None:
            if registered not in split.owners:
                raise CodegenError(f"{where}: registers unknown class {registered}")
            owner = split.module_of_class(registered)
        elif not isinstance(node, ast.Import | ast.ImportFrom) and not _is_preamble(node):
            raise CodegenError(
                f"{where}: unexpected statement in betterproto2's output, cannot split it: "
                f"{ast.unparse(node)[:80]}"
            )
        out.append(
            _Statement(
                text=_segment(lines, node),
                owner=owner,
                is_import=isinstance(node, ast.Import | ast.ImportFrom),
                uses=_uses(node),
                defines=node.name if isinstance(node, ast.ClassDef) else None,
            )
        )
    return out


# -- writing the split modules ----------------------------------------------------------------


def _module_text(module: str, file: str, statements: list[_Statement], split: SplitPackage) -> str:
    own = [s for s in statements if s.owner == module]
    defined = sorted(s.defines for s in own if s.defines)
    used = frozenset().union(*(s.uses for s in own))
    siblings: dict[str, list[str]] = {}
    for name in sorted(used):
        if name in split.owners and split.module_of_class(name) != module:
            siblings.setdefault(split.module_of_class(name), []).append(name)
    sibling_imports = [
        f"from .{module} import {', '.join(names)}" for module, names in sorted(siblings.items())
    ]
    header = [
        "# Generated by the protocol buffer compiler.  DO NOT EDIT!",
        f"# sources: {file}",
        "# plugin: python-betterproto2, one module per proto file (textservice codegen/split.py)",
        "# This file has been @generated",
        "",
        f"__all__ = ({''.join(repr(n) + ', ' for n in defined)})",
    ]
    kept = [s for s in statements if s.owner is None or s.owner == module]
    first_class = next(i for i, s in enumerate(kept) if s.owner is not None)
    last_import = max((i for i in range(first_class) if kept[i].is_import), default=-1)
    if sibling_imports:
        sibling = _Statement("\n".join(sibling_imports), None, True, frozenset())
        kept.insert(last_import + 1, sibling)
    text = "\n".join(header) + "\n\n"
    for previous, statement in zip([None, *kept], kept, strict=False):
        if previous is not None:
            if previous.owner or statement.owner:
                text += "\n\n\n"
            elif previous.is_import != statement.is_import or "\n" in previous.text:
                text += "\n\n"
            else:
                text += "\n"
        text += statement.text
    # unused shared imports are dropped by ruff (F401), as betterproto2 does for its modules
    return text + "\n"


def _index_text(split: SplitPackage, classes: Iterable[str]) -> str:
    return (
        environment()
        .get_template(INDEX_TEMPLATE)
        .render(
            package=split.package,
            files=split.files,
            modules={name: split.module_of_class(name) for name in sorted(classes)},
        )
    )


def split_packages(
    modules: Mapping[str, str], packages: Mapping[str, SplitPackage]
) -> dict[str, str]:
    """``modules`` (betterproto2's output, by path) with each package of ``packages`` split.

    A package's ``__init__.py`` is replaced by the index and its classes move to one module
    per proto file (and one for each file's services); other modules are returned unchanged.
    """
    out = dict(modules)
    produced: dict[str, str] = {}
    for split in packages.values():
        source = out.pop(split.module_path, None)
        if source is None:
            raise CodegenError(f"betterproto2 wrote no {split.module_path} for {split.package}")
        statements = _statements(source, split)
        folder = split.module_path.rsplit("/", 1)[0]
        present = {s.owner for s in statements if s.owner is not None}
        for file in split.files:
            for module in (split.module_of(file), split.module_of(file) + GRPC_SUFFIX):
                if module in present:
                    path = f"{folder}/{module}.py"
                    produced[path] = _module_text(module, file, statements, split)
        classes = [s.defines for s in statements if s.defines]
        produced[split.module_path] = _index_text(split, classes)
    clash = sorted(set(produced) & set(out))
    if clash:
        raise CodegenError(f"a split module would replace a betterproto2 module: {clash[0]}")
    out.update(ruff_files(produced, BETTERPROTO_FIXES, "the split betterproto2 modules"))
    return out


__all__ = ["SplitPackage", "packages_to_split", "split_packages"]
