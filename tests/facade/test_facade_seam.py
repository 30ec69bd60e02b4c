"""Generated facades are declarations and one-line bodies over one runtime seam.

Read from the generated source (committed facades and the goldens of the fixture protos):
each service module imports ``textservice._facade`` and nothing else of the package but its
``_proto`` messages and its own ``types``; each public function's body is its docstring and one
``return`` statement; the embedding glue and the completion rule are not in it. A version's
index (``__init__.py``) imports its service modules only for type checkers (at run time, on
first use, through ``textservice._lazy``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import textservice
from codegen.paths import REPO_ROOT

PACKAGE = Path(textservice.__file__).resolve().parent
VERSIONS = [PACKAGE / v for v in textservice._versions()]
GOLDEN_VERSIONS = sorted(p.parent for p in (REPO_ROOT / "tests" / "golden").glob("*/__init__.py"))
FACADES = sorted(p for folder in VERSIONS for p in folder.glob("_*.py") if p.name != "__init__.py")
GOLDEN = sorted(p for f in GOLDEN_VERSIONS for p in f.glob("_*.py") if p.name != "__init__.py")
INDEXES = sorted(folder / "__init__.py" for folder in VERSIONS + GOLDEN_VERSIONS)


def _name(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.parent.name}/{path.name}"


def test_every_version_has_service_modules() -> None:
    assert {p.parent.name for p in FACADES} == {p.name for p in VERSIONS}
    assert {p.parent.name for p in GOLDEN} == {p.name for p in GOLDEN_VERSIONS}


@pytest.mark.parametrize("path", INDEXES, ids=_name)
def test_an_index_imports_its_modules_only_for_type_checkers(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    at_run_time = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    assert {ast.unparse(n) for n in at_run_time} == {
        "from __future__ import annotations",
        "from typing import TYPE_CHECKING",
        "from textservice._lazy import lazy_attributes",
    }
    (checking,) = [
        n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    ]
    own = {f"textservice.{path.parent.name}."}
    for node in checking.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        assert any(node.module.startswith(prefix) for prefix in own), node.module


@pytest.mark.parametrize("path", FACADES + GOLDEN, ids=_name)
def test_a_facade_imports_only_the_seam(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    version = path.parent.name
    imported = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("textservice")
        ):
            imported.add(node.module)
            if node.module == "textservice":
                imported |= {f"textservice.{alias.name}" for alias in node.names}
    allowed = {"textservice._facade", f"textservice.{version}.types"}
    assert {m for m in imported if not m.startswith("textservice._proto.")} <= allowed | {
        "textservice"
    }, imported
    assert "textservice._facade" in imported


@pytest.mark.parametrize("path", FACADES + GOLDEN, ids=_name)
def test_public_functions_are_one_statement_over_the_runtime(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    public = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("_")
        and not any(isinstance(d, ast.Name) and d.id == "overload" for d in node.decorator_list)
    ]
    assert public
    for function in public:
        body = function.body
        assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        assert len(body) == 2 and isinstance(body[1], ast.Return), function.name
        calls = [n for n in ast.walk(body[1]) if isinstance(n, ast.Call)]
        runtime = [
            c
            for c in calls
            if isinstance(c.func, ast.Attribute)
            and isinstance(c.func.value, ast.Name)
            and c.func.value.id == "_f"
        ]
        assert runtime, f"{function.name} calls no runtime function"
    # behaviour lives in the runtime, not in the generated module
    assert "candidates[0]" not in text
    assert "isinstance(text, str)" not in text
    assert "run_sync" not in text
