"""The API model read from the real descriptor set of protos/ (one protoc run)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from codegen.descriptors import load_packages
from codegen.model import ApiPackage, Behavior, Kind
from codegen.paths import Layout, api_protos
from codegen.protoc import run_protoc

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def packages() -> dict[str, ApiPackage]:
    layout = Layout.default()
    files = api_protos(layout.protos)
    with tempfile.TemporaryDirectory() as tmp:
        out = run_protoc(layout.protos, files, Path(tmp))
        data = out.descriptor_set.read_bytes()
    found = load_packages(data, layout.protos, [f.as_posix() for f in files])
    return {p.version: p for p in found}


def test_one_package_per_version(packages: dict[str, ApiPackage]) -> None:
    assert sorted(packages) == ["v1beta", "v1beta2", "v1beta3"]
    v1beta = packages["v1beta"]
    assert v1beta.package == "google.ai.generativelanguage.v1beta"
    assert v1beta.service_config == (
        "google/ai/generativelanguage/v1beta/generativeai_grpc_service_config.json"
    )


def test_methods_and_signatures(packages: dict[str, ApiPackage]) -> None:
    v1beta2 = packages["v1beta2"].service("TextService")
    assert v1beta2 is not None
    assert [m.name for m in v1beta2.methods] == ["GenerateText", "EmbedText"]
    v1beta = packages["v1beta"].service("TextService")
    assert v1beta is not None
    assert [m.name for m in v1beta.methods] == [
        "GenerateText",
        "EmbedText",
        "BatchEmbedText",
        "CountTextTokens",
    ]
    generate = v1beta.method("GenerateText")
    assert generate is not None
    assert generate.signatures == (
        (
            "model",
            "prompt",
            "temperature",
            "candidate_count",
            "max_output_tokens",
            "top_p",
            "top_k",
        ),
    )
    assert generate.comment == "Generates a response from the model given an input message."
    assert generate.policy.timeout == 60.0 and generate.policy.retry is not None
    assert generate.policy.retry.retry_codes == ("UNAVAILABLE",)
    v1beta3 = packages["v1beta3"].service("TextService")
    assert v1beta3 is not None
    assert all(m.policy.timeout is None and m.policy.retry is None for m in v1beta3.methods)


def test_fields_behaviours_optional_and_comments(packages: dict[str, ApiPackage]) -> None:
    api = packages["v1beta"]
    request = api.message("google.ai.generativelanguage.v1beta.GenerateTextRequest")
    temperature = request.field("temperature")
    assert temperature is not None and temperature.proto3_optional and not temperature.in_oneof
    assert temperature.kind is Kind.FLOAT and temperature.behaviors == {Behavior.OPTIONAL}
    assert temperature.comment.startswith("Optional. Controls the randomness of the output.")
    model = request.field("model")
    assert model is not None and model.required and not model.nullable
    prompt = request.field("prompt")
    assert prompt is not None and prompt.nullable
    assert prompt.type_name == "google.ai.generativelanguage.v1beta.TextPrompt"
    completion = api.message("google.ai.generativelanguage.v1beta.TextCompletion")
    output = completion.field("output")
    assert output is not None and output.output_only
    filt = api.message("google.ai.generativelanguage.v1beta.ContentFilter")
    assert filt.field("reason") is not None
    enum = api.enums["google.ai.generativelanguage.v1beta.ContentFilter.BlockedReason"]
    assert enum.python_name == "ContentFilterBlockedReason"
    stop = request.field("stop_sequences")
    assert stop is not None and stop.repeated and stop.behaviors == frozenset()
