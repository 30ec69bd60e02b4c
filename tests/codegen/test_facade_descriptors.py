"""The API model read from the real descriptor set of protos/ (one protoc run)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from codegen.descriptors import load_packages
from codegen.model import ApiPackage, Behavior, HttpRule, Kind
from codegen.paths import PROTO_PACKAGE_DIR, Layout, api_protos
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
    # google/longrunning/operations.proto is vendored for v1beta's ModelService
    folders = {p.name for p in (Layout.default().protos / PROTO_PACKAGE_DIR).iterdir()}
    assert set(packages) == {"longrunning", *folders}
    assert folders >= {"v1", "v1beta", "v1beta2", "v1beta3"}
    assert packages["longrunning"].package == "google.longrunning"
    v1beta = packages["v1beta"]
    assert v1beta.package == "google.ai.generativelanguage.v1beta"
    assert v1beta.service_config == (
        "google/ai/generativelanguage/v1beta/generativeai_grpc_service_config.json"
    )


def test_methods_and_signatures(packages: dict[str, ApiPackage]) -> None:
    declared = _declared(Layout.default().protos)
    for package in packages.values():  # in declaration order
        for service in package.services:
            expected = list(declared[package.package][service.name])
            assert [m.name for m in service.methods] == expected
    v1beta = packages["v1beta"].service("TextService")
    assert v1beta is not None
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


def test_http_rules_with_additional_bindings(packages: dict[str, ApiPackage]) -> None:
    generative = packages["v1beta"].service("GenerativeService")
    models = packages["v1beta"].service("ModelService")
    assert generative is not None and models is not None
    batch = generative.method("BatchEmbedContents")
    generate = generative.method("GenerateContent")
    listing = models.method("ListModels")
    update = models.method("UpdateTunedModel")
    assert batch is not None and generate is not None
    assert listing is not None and update is not None
    assert batch.http == (HttpRule("POST", "/v1beta/{model=models/*}:batchEmbedContents", "*"),)
    # the rule first, then its additional_bindings in order
    assert [rule.path for rule in generate.http] == [
        "/v1beta/{model=models/*}:generateContent",
        "/v1beta/{model=tunedModels/*}:generateContent",
        "/v1beta/{model=dynamic/*}:generateContent",
    ]
    assert listing.http == (HttpRule("GET", "/v1beta/models", ""),)
    assert update.http == (
        HttpRule("PATCH", "/v1beta/{tuned_model.name=tunedModels/*}", "tuned_model"),
    )
    # every unary RPC of the API has a REST face
    without = [
        f"{s.full_name}.{m.name}"
        for p in packages.values()
        if p.package.startswith("google.ai.")
        for s in p.services
        for m in s.methods
        if not m.http and not m.streaming
    ]
    assert without == []


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


_DECLARATION = re.compile(
    r"\bpackage\s+([\w.]+)\s*;"
    r"|\bservice\s+(\w+)\s*\{"
    r"|\brpc\s+(\w+)\s*\(\s*(stream\s+)?[\w.]+\s*\)\s*returns\s*\(\s*(stream\s+)?[\w.]+\s*\)"
)


def _declared(protos: Path) -> dict[str, dict[str, dict[str, tuple[bool, bool]]]]:
    """package -> service -> RPC -> (client streams, server streams), read from the .proto
    files' text (comments removed): what the model must hold, found without protoc."""
    found: dict[str, dict[str, dict[str, tuple[bool, bool]]]] = {}
    for path in sorted(protos.rglob("*.proto")):
        text = re.sub(r"//[^\n]*", "", path.read_text(encoding="utf-8"))
        package = service = ""
        for m in _DECLARATION.finditer(text):
            if m.group(1):
                package = m.group(1)
            elif m.group(2):
                service = m.group(2)
                found.setdefault(package, {})[service] = {}
            else:
                found[package][service][m.group(3)] = (bool(m.group(4)), bool(m.group(5)))
    return found


def test_every_service_and_rpc_of_every_package(packages: dict[str, ApiPackage]) -> None:
    declared = _declared(Layout.default().protos)
    read = {
        p.package: {
            s.name: {m.name: (m.client_streaming, m.server_streaming) for m in s.methods}
            for s in p.services
        }
        for p in packages.values()
    }
    assert read == {package: services for package, services in declared.items() if services}
    assert all(p.services for p in packages.values())  # every version folder has a service
    generative = packages["v1beta"].service("GenerativeService")
    assert generative is not None and generative.file.endswith("v1beta/generative_service.proto")
    embed = generative.method("EmbedContent")
    assert embed is not None and not embed.streaming and embed.signatures == (("model", "content"),)
    # v1beta's service config names GenerativeService: every RPC has its default policy
    assert embed.policy.timeout == 60.0 and embed.policy.retry is not None


def test_oneofs_enum_values_and_deprecation(packages: dict[str, ApiPackage]) -> None:
    api = packages["v1beta"]
    part = api.message("google.ai.generativelanguage.v1beta.Part")
    assert part.file == "google/ai/generativelanguage/v1beta/content.proto"
    data = part.oneofs["data"]
    assert [f.name for f in data][:2] == ["text", "inline_data"]
    text = part.field("text")
    assert text is not None and text.oneof == "data" and text.in_oneof and text.nullable
    # a proto3 `optional` field's synthetic oneof is not a oneof
    request = api.message("google.ai.generativelanguage.v1beta.EmbedContentRequest")
    title = request.field("title")
    assert title is not None and title.proto3_optional and title.oneof is None
    assert request.oneofs == {}
    assert [f.name for f in request.required_fields] == ["model", "content"]
    category = api.enums["google.ai.generativelanguage.v1beta.HarmCategory"]
    values = {v.name: v for v in category.values}
    assert values["HARM_CATEGORY_CIVIC_INTEGRITY"].deprecated
    assert values["HARM_CATEGORY_CIVIC_INTEGRITY"].number == 11
    assert not values["HARM_CATEGORY_UNSPECIFIED"].deprecated
    assert values["HARM_CATEGORY_UNSPECIFIED"].comment.startswith("Category is unspecified")
    task = api.enums["google.ai.generativelanguage.v1beta.TaskType"]
    assert "RETRIEVAL_DOCUMENT" in {v.name for v in task.values}
    # REQUIRED and OUTPUT_ONLY
    model = api.message("google.ai.generativelanguage.v1beta.Model")
    assert (name := model.field("name")) is not None and name.required
    tuned = api.message("google.ai.generativelanguage.v1beta.TunedModel")
    assert (state := tuned.field("state")) is not None and state.output_only
    assert state.kind is Kind.ENUM and not state.required
    created = tuned.field("create_time")
    assert created is not None and created.type_name == "google.protobuf.Timestamp"
