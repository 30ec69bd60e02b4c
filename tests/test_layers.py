"""The import-layer contracts in pyproject.toml name every generated API version.

``make lint`` runs ``lint-imports`` with those contracts; its layers contract is exhaustive, so
a new version folder fails it until listed. This test says which names to add.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import textservice

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_every_generated_version_is_a_layer_and_a_checked_facade() -> None:
    versions = textservice._versions()
    assert versions, "no generated version found"
    contracts = _contracts()
    layers = contracts["layers"]["layers"]
    assert isinstance(layers, list)
    version_line = next(line for line in layers if line.split("|")[0].strip() in versions)
    assert sorted(name.strip() for name in version_line.split("|")) == versions
    sources = contracts["generated-facades"]["source_modules"]
    assert isinstance(sources, list)
    assert sorted(sources) == [f"textservice.{v}" for v in versions]
