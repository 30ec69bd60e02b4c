"""Running ruff over generated Python: import sorting, fixes and formatting, in a temporary folder.

The repository's ruff settings are used, so the output is what ``make lint`` expects; the
folder lives outside the repository, so ``extend-exclude`` does not skip anything.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from codegen.errors import CodegenError
from codegen.paths import REPO_ROOT
from codegen.protoc import tool_path

RUFF_CONFIG = REPO_ROOT / "pyproject.toml"
"""The ruff settings generated code is formatted with (the repository's own)."""


def _ruff() -> str:
    found = shutil.which("ruff", path=tool_path())
    if found is None:  # tool_path already checked; keeps mypy and readers sure
        raise CodegenError("ruff is not installed: pip install -e '.[dev]'")
    return found


def ruff_files(
    files: Mapping[str, str], fixes: str, what: str, config: Path = RUFF_CONFIG
) -> dict[str, str]:
    """``files`` after ``ruff check --fix --select <fixes>`` and ``ruff format``.

    ``what`` names the files in errors (``the rendered facade``).
    """
    if not files:
        return {}
    ruff = _ruff()
    with tempfile.TemporaryDirectory(prefix="textservice-ruff-") as tmp:
        root = Path(tmp)
        for rel, text in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        common = ["--no-cache", "--config", str(config), "--quiet"]
        steps = [
            [ruff, "check", "--fix", "--select", fixes, *common, "."],
            [ruff, "format", *common, "."],
        ]
        for args in steps:
            done = subprocess.run(args, cwd=root, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                detail = (done.stdout + done.stderr).replace(str(root) + "/", "")
                raise CodegenError(f"ruff failed on {what}:\n{detail.strip()}")
        return {rel: (root / rel).read_text(encoding="utf-8") for rel in sorted(files)}


__all__ = ["RUFF_CONFIG", "ruff_files"]
