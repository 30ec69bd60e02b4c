"""The committed facades with a TextService (found in the generated code: v1beta, v1beta3,
v1beta2 today) against the fake TextService."""

from __future__ import annotations

import importlib
import importlib.util
import types
from collections.abc import Callable

import pytest
from support import facade_checks

import textservice

VERSIONS = tuple(
    f"textservice.{v}"
    for v in textservice._versions()
    if importlib.util.find_spec(f"textservice.{v}._text_service") is not None
)
"""The versions whose facade has a TextService module."""


def test_the_text_service_versions_are_found() -> None:
    assert {"textservice.v1beta", "textservice.v1beta3", "textservice.v1beta2"} <= set(VERSIONS)
    assert "textservice.v1" not in VERSIONS  # v1 has no TextService


@pytest.mark.parametrize("check", facade_checks.CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("module", VERSIONS)
def test_facade(module: str, check: Callable[[types.ModuleType], None]) -> None:
    check(importlib.import_module(module))


def test_v1beta2_has_only_what_its_protos_have() -> None:
    v1beta2 = importlib.import_module("textservice.v1beta2")
    assert hasattr(v1beta2, "generate_embeddings") and hasattr(v1beta2, "generate_text")
    assert not hasattr(v1beta2, "count_text_tokens")
    module = facade_checks.text_service_module(v1beta2)
    assert hasattr(module, "_EMBED_TEXT") and not hasattr(module, "_BATCH_EMBED_TEXT")


def test_package_reexports_v1beta() -> None:
    v1beta = importlib.import_module("textservice.v1beta")
    for name in v1beta.__all__:
        assert getattr(textservice, name) is getattr(v1beta, name), name
        assert name in textservice.__all__


def test_default_policies_come_from_the_service_config() -> None:
    v1beta = importlib.import_module("textservice.v1beta")
    v1beta3 = importlib.import_module("textservice.v1beta3")
    spec = facade_checks.text_service_module(v1beta)._BATCH_EMBED_TEXT
    assert spec.route == "/google.ai.generativelanguage.v1beta.TextService/BatchEmbedText"
    assert spec.default_timeout == 60.0
    assert spec.default_retry == textservice.Retry(
        max_attempts=5,
        initial_backoff=1.0,
        max_backoff=10.0,
        multiplier=1.3,
        retry_codes=("UNAVAILABLE",),
    )
    # v1beta3's service config names no v1beta3 method (as in Google's own client)
    generate_text = facade_checks.text_service_module(v1beta3)._GENERATE_TEXT
    assert generate_text.default_timeout is None
    assert generate_text.default_retry is None
