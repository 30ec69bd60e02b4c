"""The layout table of ``docs/development.md`` (the README's pointer to the tree) matches the tree:
every hand-written module is named in the row of its folder, and every file a row names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.paths import REPO, TESTS

SRC = REPO / "src" / "textservice"
GENERATED = ("_proto", "v1", "v1beta", "v1beta2", "v1beta3", "v1alpha")


def layout_rows() -> dict[str, str]:
    """Each row of the layout table: its first cell's text -> the whole row."""
    text = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1].strip()
            rows[first] = line
    return rows


def row_for(module: Path, rows: dict[str, str]) -> str | None:
    """The row that must name ``module``: one naming the file itself, else its deepest folder's."""
    relative = module.relative_to(REPO).as_posix()
    for first, row in rows.items():
        if f"`{relative}`" in first or (
            module.parent == SRC and f"`{module.name}`" in first.replace(", ", "` `")
        ):
            return row
    folder = module.parent
    while folder != REPO:
        key = f"`{folder.relative_to(REPO).as_posix()}/`"
        for first, row in rows.items():
            if key in first.split(", "):
                return row
        folder = folder.parent
    return None


def row_folders(first: str) -> list[Path]:
    """The folders a row's first cell names: ``a/``, ``v1*/`` (a glob), or a listed file's."""
    folders: list[Path] = []
    for entry in (e.strip("`") for e in first.split(", ")):
        if entry.endswith("/"):
            folders.extend(p for p in REPO.glob(entry.rstrip("/")) if p.is_dir())
        elif "/" in entry:
            folders.append((REPO / entry).parent)
    return folders


def hand_written_modules() -> list[Path]:
    """Every ``.py`` file of the package that is not generated (a package's index aside)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).parts
        if parts[0] in GENERATED or "__pycache__" in parts:
            continue
        if path.name == "__init__.py" and len(parts) > 1:
            continue
        found.append(path)
    return found


@pytest.mark.parametrize(
    "module", hand_written_modules(), ids=lambda p: p.relative_to(SRC).as_posix()
)
def test_every_hand_written_module_is_named_in_its_folders_row(module: Path) -> None:
    row = row_for(module, layout_rows())
    assert row is not None, f"no layout row covers {module.relative_to(REPO)}"
    assert module.name in row, (
        f"docs/development.md's layout row for {module.parent.relative_to(REPO)}/ does not name "
        f"{module.name}"
    )


def test_every_file_the_layout_names_exists() -> None:
    rows = layout_rows()
    missing = []
    for first, row in rows.items():
        folders = row_folders(first)
        for name in re.findall(r"`([\w/]+\.py)`", row):
            candidates = [REPO / name] + [
                path for folder in folders for path in folder.rglob(Path(name).name)
            ]
            if not any(c.is_file() for c in candidates):
                missing.append(f"{first}: {name}")
    assert not missing, f"the layout names files that are not in the tree: {missing}"


def test_every_test_folder_is_named_in_the_tests_row() -> None:
    row = layout_rows()["`tests/`"]
    folders = sorted(p.name for p in TESTS.iterdir() if p.is_dir() and any(p.glob("test_*.py")))
    assert folders, "no test folder found"
    unnamed = [f for f in folders if f"`{f}/`" not in row]
    assert not unnamed, f"the tests row of the layout does not name {unnamed}"
