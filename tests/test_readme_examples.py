"""The README's "Testing your code" example runs as a user's own test suite would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _section_code(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, f"no python example under {title!r}"
    return blocks[0]


def test_testing_your_code_example_passes(tmp_path: Path) -> None:
    (tmp_path / "test_user_example.py").write_text(_section_code("Testing your code"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout[-3000:]
