"""``lazy_attributes``: a package's names imported on first use (facades, proto indexes)."""

from __future__ import annotations

import sys
import types

import pytest

from textservice._lazy import lazy_attributes


def test_a_name_is_imported_from_its_module_when_first_asked_for() -> None:
    namespace = {"__name__": "email", "__all__": ["Parser", "Gone"]}
    getattr_, dir_ = lazy_attributes(namespace, {"Parser": ".parser", "Gone": "json"})
    parser = getattr_("Parser")
    assert parser is sys.modules["email.parser"].Parser  # ".parser": within the package
    assert namespace["Parser"] is parser  # kept: module attributes are looked up first
    with pytest.raises(AttributeError, match="module 'email' has no attribute 'Generator'"):
        getattr_("Generator")
    with pytest.raises(AttributeError, match="module 'json' has no attribute 'Gone'"):
        getattr_("Gone")
    assert {"Parser", "Gone", "__name__"} <= set(dir_())


def test_generated_packages_import_their_names_on_first_use() -> None:
    from textservice import v1

    assert isinstance(v1, types.ModuleType)
    assert v1.get_model.__module__ == "textservice.v1._model_service"
    assert "embed_content" in dir(v1)
