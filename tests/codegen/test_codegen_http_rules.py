"""``google.api.http`` rules read into the codegen model, built by hand (no protoc)."""

from __future__ import annotations

import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

from codegen.descriptors import _http_rules
from codegen.errors import CodegenError
from codegen.model import HttpRule


def _options(rule: http_pb2.HttpRule | None) -> descriptor_pb2.MethodOptions:
    options = descriptor_pb2.MethodOptions()
    if rule is not None:
        options.Extensions[annotations_pb2.http].CopyFrom(rule)
    return options


def test_no_rule_is_no_rest_face() -> None:
    assert _http_rules(_options(None)) == ()


def test_verbs_custom_bodies_and_additional_bindings() -> None:
    rule = http_pb2.HttpRule(
        get="/v1/{name=models/*}",
        additional_bindings=[
            http_pb2.HttpRule(post="/v1/{name=tunedModels/*}:x", body="*"),
            http_pb2.HttpRule(
                custom=http_pb2.CustomHttpPattern(kind="head", path="/v1/x"), body="thing"
            ),
        ],
    )
    assert _http_rules(_options(rule)) == (
        HttpRule("GET", "/v1/{name=models/*}", ""),
        HttpRule("POST", "/v1/{name=tunedModels/*}:x", "*"),
        HttpRule("HEAD", "/v1/x", "thing"),
    )


def test_a_rule_without_a_pattern_is_an_error() -> None:
    with pytest.raises(CodegenError, match="without a pattern"):
        _http_rules(_options(http_pb2.HttpRule(body="*")))
