"""Collecting the suite imports no heavy optional framework (issue 21: a fast ``make test-fast``).

Every pytest worker collects every test module, including those whose tests ``make test-fast``
deselects; a framework imported at a module's top level (Ray, llama-index, langchain,
google-genai, pandas, ...) cost each worker seconds of CPU. Their tests import them in fixtures
or in the tests themselves, so only a test that needs one pays for it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support.paths import REPO

LAZY = (
    "ray",
    "llama_index",
    "langchain_core",
    "langsmith",
    "google.genai",
    "pandas",
    "dask",
)
"""Packages (with their submodules) that only the tests which use them may import."""

_COLLECT = """
import json, sys
import pytest
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests"])
print(json.dumps({"code": int(code), "modules": sorted(sys.modules)}))
"""


@pytest.mark.slow
@pytest.mark.subprocess
def test_collecting_the_suite_imports_no_optional_framework() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _COLLECT], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stdout[-2000:]
    modules = result["modules"]
    found = [p for p in LAZY if any(m == p or m.startswith(p + ".") for m in modules)]
    assert found == [], f"collecting the suite imported {found}"
