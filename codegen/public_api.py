"""The public signatures of the generated facade functions, and the committed list of them.

A proto update can rename a request field, and with it a public keyword of a facade function:
code calling ``generate_text(temperature=...)`` would break with nothing in the diff of the
generator's own files saying so. So every generated facade function's signature (name,
parameters with their kinds and defaults, per module) is listed in ``codegen/public_api.txt``;
``make check-generated`` fails with a diff when the generated code disagrees with that list,
until the change is accepted with ``make accept-api``, which rewrites it. ``make generate``
records new functions by itself (nothing can depend on them yet) and never changed or removed
ones.

Signatures are read from the generated source with ``ast``, so nothing is imported.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "textservice"

HEADER = """\
# The public functions of textservice's generated facades: `module.function(parameters)`,
# one per line (parameter kinds as in Python: `*` starts the keyword-only ones).
# `make check-generated` fails when the generated code no longer matches this list. Review
# the diff, then run `make accept-api` to accept it. `make generate` adds new functions.
"""


@dataclass(frozen=True)
class Signature:
    """One public function of a facade module."""

    module: str
    """``textservice.v1beta``."""
    name: str
    line: str
    """The whole line: ``[async ]module.name(parameters)``."""

    @property
    def key(self) -> str:
        """``module.name``: what identifies the function across changes."""
        return f"{self.module}.{self.name}"


def _parameters(args: ast.arguments) -> str:
    parts: list[str] = []
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        parts.append(arg.arg if default is None else f"{arg.arg}={ast.unparse(default)}")
        if args.posonlyargs and index == len(args.posonlyargs) - 1:
            parts.append("/")
    if args.vararg is not None:
        parts.append(f"*{args.vararg.arg}")
    elif args.kwonlyargs:
        parts.append("*")
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parts.append(arg.arg if kw_default is None else f"{arg.arg}={ast.unparse(kw_default)}")
    if args.kwarg is not None:
        parts.append(f"**{args.kwarg.arg}")
    return ", ".join(parts)


def _exported(tree: ast.Module) -> set[str] | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__":
            value = ast.literal_eval(node.value)
            return {str(v) for v in value}
    return None


def _is_overload(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(ast.unparse(d).split(".")[-1] == "overload" for d in node.decorator_list)


def module_signatures(module: str, source: str) -> list[Signature]:
    """The public functions of one module's source: those in ``__all__`` (else not
    ``_``-prefixed), each by its implementation (``@overload`` stubs are left out)."""
    tree = ast.parse(source)
    exported = _exported(tree)
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or _is_overload(node):
            continue
        public = node.name in exported if exported is not None else not node.name.startswith("_")
        if not public:
            continue
        prefix = "async " if isinstance(node, ast.AsyncFunctionDef) else ""
        line = f"{prefix}{module}.{node.name}({_parameters(node.args)})"
        found.append(Signature(module, node.name, line))
    return found


def facade_modules(files: Mapping[str, str]) -> dict[str, str]:
    """Module path -> (public module name, source) of each facade module in a generated tree:
    the service modules (``<version>/_<service>.py``) of every generated version package,
    whose functions are public as ``textservice.<version>.<function>``."""
    versions = {
        rel.split("/", 1)[0]
        for rel in files
        if rel.count("/") == 1 and rel.endswith("/__init__.py") and not rel.startswith("_")
    }
    found: dict[str, str] = {}
    for rel, text in files.items():
        folder, _, name = rel.partition("/")
        in_version = folder in versions and "/" not in name and name != "__init__.py"
        if in_version and name.startswith("_") and name.endswith(".py"):
            found[rel] = text
    return found


def signatures(files: Mapping[str, str]) -> list[Signature]:
    """Every public facade function of a generated tree, sorted by module and name."""
    found = [
        s
        for rel, text in facade_modules(files).items()
        for s in module_signatures(f"{PACKAGE}.{rel.split('/', 1)[0]}", text)
    ]
    return sorted(found, key=lambda s: s.key)


def render(found: Iterable[Signature]) -> str:
    """The text of the list."""
    return HEADER + "".join(f"{s.line}\n" for s in sorted(found, key=lambda s: s.key))


def parse(text: str) -> dict[str, str]:
    """``key -> line`` of a list's text (comments and blank lines skipped)."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = line.removeprefix("async ").split("(", 1)[0]
        out[head] = line
    return out


def read_list(path: Path) -> dict[str, str]:
    """The committed list, or an empty one if there is none yet."""
    return parse(path.read_text(encoding="utf-8")) if path.is_file() else {}


@dataclass(frozen=True)
class ApiChanges:
    """How generated signatures differ from the accepted ones."""

    added: tuple[str, ...]
    """Lines of functions the list does not have."""
    changed: tuple[tuple[str, str], ...]
    """(accepted line, generated line) of functions whose signature differs."""
    removed: tuple[str, ...]
    """Accepted lines of functions no longer generated."""

    @property
    def breaking(self) -> bool:
        """A change or removal: callers of the accepted API may break."""
        return bool(self.changed or self.removed)


def changes(accepted: Mapping[str, str], found: Iterable[Signature]) -> ApiChanges:
    """Compare the accepted list with the generated signatures."""
    generated = {s.key: s.line for s in found}
    return ApiChanges(
        added=tuple(generated[k] for k in sorted(generated.keys() - accepted.keys())),
        changed=tuple(
            (accepted[k], generated[k])
            for k in sorted(generated.keys() & accepted.keys())
            if accepted[k] != generated[k]
        ),
        removed=tuple(accepted[k] for k in sorted(accepted.keys() - generated.keys())),
    )


def diff(accepted: Mapping[str, str], found: Iterable[Signature], name: str) -> list[str]:
    """A unified diff from the accepted list to the generated signatures."""
    before = [f"{line}\n" for _, line in sorted(accepted.items())]
    after = [f"{s.line}\n" for s in sorted(found, key=lambda s: s.key)]
    return list(difflib.unified_diff(before, after, name, "generated", n=0))


def with_additions(accepted: Mapping[str, str], found: Iterable[Signature]) -> str:
    """The list's text with the functions it lacks added; accepted lines are kept as they are
    (changed and removed ones too, so the check keeps failing until they are accepted)."""
    lines = dict(accepted)
    for s in found:
        lines.setdefault(s.key, s.line)
    return HEADER + "".join(f"{lines[k]}\n" for k in sorted(lines))


__all__ = [
    "ApiChanges",
    "Signature",
    "changes",
    "diff",
    "facade_modules",
    "module_signatures",
    "parse",
    "read_list",
    "render",
    "signatures",
    "with_additions",
]
