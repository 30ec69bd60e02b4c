"""``make lint``'s import layers, with the generated facades filled in.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``), written once. Where they
name the generated facade packages (``textservice.v1``, ``textservice.v1beta``, ...), they say
``{facade}`` instead, because those packages are whatever ``make generate`` wrote: a new
version folder in ``protos/`` must not need a hand edit here. This module finds the facades on
disk, expands the contracts and runs import-linter on the result. import-linter has no
wildcards for layers (its module expressions cover forbidden contracts only, and not part of a
name like ``v*``), hence the expansion here.

Expansion: a layer holding ``{facade}`` becomes one layer of the facades as independent
siblings (``"v1 | v1beta | ..."``); in any other list, an item holding ``{facade}`` becomes
one item per facade.
"""

from __future__ import annotations

import json
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from codegen.errors import CodegenError
from codegen.headers import is_generated
from codegen.paths import REPO_ROOT

PLACEHOLDER = "{facade}"
"""Where a contract names every generated facade package."""

PYPROJECT = REPO_ROOT / "pyproject.toml"


def facade_packages(package: Path) -> list[str]:
    """The generated facades in ``package``: generated subpackages not named ``_...``."""
    found = []
    for child in package.iterdir():
        marker = child / "__init__.py"
        if (
            child.is_dir()
            and not child.name.startswith("_")
            and marker.is_file()
            and is_generated(marker.read_text("utf-8"))
        ):
            found.append(child.name)
    return sorted(found)


def _expand_list(key: str, items: list[Any], facades: list[str]) -> list[Any]:
    expanded: list[Any] = []
    for item in items:
        if not (isinstance(item, str) and PLACEHOLDER in item):
            expanded.append(item)
        elif key == "layers":  # one layer: the facades side by side, independent
            expanded.append(" | ".join(item.replace(PLACEHOLDER, f) for f in facades))
        else:
            expanded.extend(item.replace(PLACEHOLDER, f) for f in facades)
    return expanded


def expand(settings: dict[str, Any], facades: list[str]) -> dict[str, Any]:
    """``[tool.importlinter]`` with every ``{facade}`` replaced by ``facades``."""
    if not facades:
        raise CodegenError("no generated facade package found: run `make generate`")
    contracts = []
    for contract in settings.get("contracts", []):
        contracts.append(
            {
                key: _expand_list(key, value, facades) if isinstance(value, list) else value
                for key, value in contract.items()
            }
        )
    return {**settings, "contracts": contracts}


def _toml_value(value: Any) -> str:
    # JSON strings, booleans and arrays of strings are valid TOML; nothing else is used here.
    if isinstance(value, str | bool) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return json.dumps(value)
    raise CodegenError(f"cannot write {value!r} into an import-linter contract")


def render(settings: dict[str, Any]) -> str:
    """``settings`` as a TOML file import-linter reads (``[tool.importlinter]``)."""
    lines = ["[tool.importlinter]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in settings.items() if k != "contracts"]
    for contract in settings["contracts"]:
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in contract.items()]
    return "\n".join(lines) + "\n"


def read_settings(pyproject: Path = PYPROJECT) -> dict[str, Any]:
    """``[tool.importlinter]`` as written in ``pyproject``."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    settings: dict[str, Any] = config["tool"]["importlinter"]
    return settings


def lint(package: Path) -> int:
    """Run import-linter on the contracts expanded for ``package``'s facades; its exit code.

    The ``textservice`` that import-linter analyses is the one Python imports (the installed
    or ``PYTHONPATH`` one), so ``package`` must be that one.
    """
    import importlib.util

    from importlinter.cli import lint_imports

    spec = importlib.util.find_spec("textservice")
    searched = [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
    if package.resolve() not in searched:
        raise CodegenError(
            f"Python imports textservice from {searched or 'nowhere'}, not {package}: "
            "set PYTHONPATH to the folder holding it"
        )
    settings = expand(read_settings(), facade_packages(package))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "importlinter.toml"
        config.write_text(render(settings), encoding="utf-8")
        return lint_imports(config_filename=str(config), no_cache=True, no_logo=True)


__all__ = ["PLACEHOLDER", "expand", "facade_packages", "lint", "read_settings", "render"]
