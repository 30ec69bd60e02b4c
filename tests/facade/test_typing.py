"""mypy --strict on uses of the facade: correct ones pass, wrong ones fail where marked.

Each ``tests/typecheck/bad_*.py`` marks the line that must fail with ``# E: <error code>``;
every ``*_ok.py`` (``usage_ok.py``, ``content_ok.py``) must pass, with its ``assert_type``
checks. One mypy run covers them all.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import TESTS

from codegen.paths import REPO_ROOT

pytestmark = pytest.mark.subprocess

CASES = TESTS / "typecheck"
_MARK = re.compile(r"#\s*E:\s*([\w-]+)")
_ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")


@pytest.fixture(scope="module")
def mypy_errors() -> dict[str, list[tuple[int, str]]]:
    files = sorted(CASES.glob("*.py"))
    options = ["--strict", "--no-error-summary", "--show-error-codes", "--no-pretty"]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", *options, *(str(f.relative_to(REPO_ROOT)) for f in files)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    found: dict[str, list[tuple[int, str]]] = {f.name: [] for f in files}
    for line in done.stdout.splitlines():
        match = _ERROR.match(line)
        if match:
            found[Path(match["file"]).name].append((int(match["line"]), match["code"]))
    return found


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.glob("*_ok.py")))
def test_correct_usage_type_checks(
    case: str, mypy_errors: dict[str, list[tuple[int, str]]]
) -> None:
    assert {"usage_ok.py", "content_ok.py"} <= {p.name for p in CASES.glob("*_ok.py")}
    assert mypy_errors[case] == []


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.glob("bad_*.py")))
def test_wrong_usage_fails_where_marked(
    case: str, mypy_errors: dict[str, list[tuple[int, str]]]
) -> None:
    lines = (CASES / case).read_text().splitlines()
    expected = [(n, m[1]) for n, text in enumerate(lines, 1) if (m := _MARK.search(text))]
    assert expected, f"{case} marks no line"
    assert sorted(set(mypy_errors[case])) == expected
