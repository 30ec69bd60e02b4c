"""The committed facades (v1beta, v1beta3, v1beta2) against the fake TextService."""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable

import pytest
from support import facade_checks

import textservice

VERSIONS = ("textservice.v1beta", "textservice.v1beta3", "textservice.v1beta2")


@pytest.mark.parametrize("check", facade_checks.CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("module", VERSIONS)
def test_facade(module: str, check: Callable[[types.ModuleType], None]) -> None:
    check(importlib.import_module(module))


def test_v1beta2_has_only_what_its_protos_have() -> None:
    v1beta2 = importlib.import_module("textservice.v1beta2")
    assert hasattr(v1beta2, "generate_embeddings") and hasattr(v1beta2, "generate_text")
    assert not hasattr(v1beta2, "count_text_tokens")
    assert not hasattr(v1beta2, "_BATCH_EMBED_TEXT")


def test_package_reexports_v1beta() -> None:
    v1beta = importlib.import_module("textservice.v1beta")
    for name in v1beta.__all__:
        assert getattr(textservice, name) is getattr(v1beta, name), name
        assert name in textservice.__all__


def test_default_policies_come_from_the_service_config() -> None:
    v1beta = importlib.import_module("textservice.v1beta")
    v1beta3 = importlib.import_module("textservice.v1beta3")
    spec = v1beta._BATCH_EMBED_TEXT
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
    assert v1beta3._GENERATE_TEXT.default_timeout is None
    assert v1beta3._GENERATE_TEXT.default_retry is None
