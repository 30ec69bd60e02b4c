"""Generated facades are declarations and one-line bodies over one runtime seam.

Read from the generated source (committed facades and the goldens of the fixture protos):
each imports ``textservice._facade`` and nothing else of the package but its ``_proto``
messages and its own ``types``; each public function's body is its docstring and one
``return`` statement; the embedding glue and the completion rule are not in it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import textservice
from codegen.paths import REPO_ROOT

PACKAGE = Path(textservice.__file__).resolve().parent
FACADES = sorted(PACKAGE / v / "__init__.py" for v in textservice._versions())
GOLDEN = sorted((REPO_ROOT / "tests" / "golden").glob("*/__init__.py"))


def _name(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.parent.name}"


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
