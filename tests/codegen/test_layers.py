"""The import-layer contracts (pyproject.toml, run by ``python -m codegen lint-imports``) cover
every generated API version without naming any: ``{facade}`` is filled in from the generated
packages on disk, so a new version folder needs no hand edit
(tests/codegen/test_facade_new_version.py lints a regenerated copy with one more version)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from support.paths import REPO

import textservice
from codegen import import_layers
from codegen.errors import CodegenError

PYPROJECT = REPO / "pyproject.toml"
PACKAGE = Path(textservice.__file__).parent


def _contracts(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in settings["contracts"]}


def test_the_facades_found_on_disk_are_the_generated_versions() -> None:
    versions = textservice._versions()
    assert versions, "no generated version found"
    assert import_layers.facade_packages(PACKAGE) == versions


def test_pyproject_names_no_version_by_hand() -> None:
    text = PYPROJECT.read_text(encoding="utf-8")
    settings = tomllib.loads(text)["tool"]["importlinter"]
    for contract in settings["contracts"]:
        for value in contract.values():
            for item in value if isinstance(value, list) else [value]:
                for version in textservice._versions():
                    assert f"textservice.{version}" not in str(item).split(" | ")
                    assert version not in str(item).split(" | ")


def test_expanded_contracts_name_every_generated_version() -> None:
    versions = textservice._versions()
    contracts = _contracts(import_layers.expand(import_layers.read_settings(), versions))
    layers = contracts["layers"]["layers"]
    version_line = next(line for line in layers if line.split("|")[0].strip() in versions)
    assert sorted(name.strip() for name in version_line.split("|")) == versions
    assert sorted(contracts["generated-facades"]["source_modules"]) == [
        f"textservice.{v}" for v in versions
    ]


def test_expansion_of_a_layer_and_of_a_list() -> None:
    settings: dict[str, Any] = {
        "root_package": "pkg",
        "contracts": [
            {
                "id": "a",
                "layers": ["top", "{facade}", "bottom"],
                "source_modules": ["pkg.{facade}", "pkg.other"],
                "exhaustive": True,
            }
        ],
    }
    (contract,) = import_layers.expand(settings, ["v1", "v2"])["contracts"]
    assert contract["layers"] == ["top", "v1 | v2", "bottom"]
    assert contract["source_modules"] == ["pkg.v1", "pkg.v2", "pkg.other"]
    assert contract["exhaustive"] is True
    assert settings["contracts"][0]["layers"] == ["top", "{facade}", "bottom"]  # not changed


def test_rendered_config_reads_back_as_the_same_settings() -> None:
    settings = import_layers.expand(import_layers.read_settings(), ["v1", "v1beta"])
    assert tomllib.loads(import_layers.render(settings))["tool"]["importlinter"] == settings


def test_no_facade_is_an_error_naming_make_generate(tmp_path: Path) -> None:
    with pytest.raises(CodegenError, match="make generate"):
        import_layers.expand(import_layers.read_settings(), import_layers.facade_packages(tmp_path))


def test_a_package_python_does_not_import_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CodegenError, match="PYTHONPATH"):
        import_layers.lint(tmp_path)
