"""The fake rejects requests as the API does, naming the field; API key and model checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from support import reference
from support.fake_helpers import (
    BATCH_VERSIONS,
    EMBED_MODEL,
    TEXT_MODEL,
    VERSIONS,
    bad_request_fields,
    has_field,
    module,
    outcome,
)

from textservice.testing import FakeServer
from textservice.testing._required_fields import REQUIRED_FIELDS
from textservice.testing.catalogue import ModelPolicy
from textservice.testing.validation import full_name, missing_required, validate
from textservice.testing.versions import version_named


def _outcomes(
    fake: FakeServer,
    calls: list[tuple[str, str, Any]],
    metadata: dict[str, str] | None = None,
) -> list[tuple[Status, Any]]:
    async def go() -> list[tuple[Status, Any]]:
        async with fake.in_memory() as channel:
            return [
                await outcome(channel, version, method, request, metadata=metadata)
                for version, method, request in calls
            ]

    return asyncio.run(go())


def _required(message_type: Any, field: str) -> bool:
    """Whether the protos of the message's version mark ``field`` REQUIRED."""
    return field in REQUIRED_FIELDS.get(full_name(message_type) or "", ())


def _invalid_cases(version: str) -> list[tuple[str, Any, str]]:
    """(method, request, field named in the error) for one version."""
    m = module(version)
    prompt = m.TextPrompt(text="hi")
    cases = [
        ("GenerateText", m.GenerateTextRequest(prompt=prompt), "model"),
        ("GenerateText", m.GenerateTextRequest(model="text-bison-001", prompt=prompt), "model"),
        ("GenerateText", m.GenerateTextRequest(model="models/", prompt=prompt), "model"),
        ("GenerateText", m.GenerateTextRequest(model="models/a/b", prompt=prompt), "model"),
        ("GenerateText", m.GenerateTextRequest(model=TEXT_MODEL), "prompt"),
        (
            "GenerateText",
            m.GenerateTextRequest(model=TEXT_MODEL, prompt=m.TextPrompt()),
            "prompt.text",
        ),
        (
            "GenerateText",
            m.GenerateTextRequest(model=TEXT_MODEL, prompt=prompt, candidate_count=0),
            "candidate_count",
        ),
        (
            "GenerateText",
            m.GenerateTextRequest(model=TEXT_MODEL, prompt=prompt, candidate_count=9),
            "candidate_count",
        ),
        (
            "GenerateText",
            m.GenerateTextRequest(
                model=TEXT_MODEL,
                prompt=prompt,
                safety_settings=[
                    m.SafetySetting(
                        category=m.HarmCategory(2), threshold=m.SafetySettingHarmBlockThreshold(1)
                    ),
                    m.SafetySetting(category=m.HarmCategory(3)),
                ],
            ),
            "safety_settings[1].threshold",
        ),
        ("EmbedText", m.EmbedTextRequest(text="x"), "model"),
        ("EmbedText", m.EmbedTextRequest(model="gecko", text="x"), "model"),
    ]
    if _required(m.EmbedTextRequest, "text"):  # OPTIONAL in v1beta and v1alpha
        cases.append(("EmbedText", m.EmbedTextRequest(model=EMBED_MODEL), "text"))
    if version in BATCH_VERSIONS:
        cases += [
            ("BatchEmbedText", m.BatchEmbedTextRequest(texts=["x"]), "model"),
            (
                "BatchEmbedText",
                m.BatchEmbedTextRequest(model=EMBED_MODEL, texts=["x"] * 101),
                "texts",
            ),
            ("CountTextTokens", m.CountTextTokensRequest(model=TEXT_MODEL), "prompt"),
            ("CountTextTokens", m.CountTextTokensRequest(prompt=prompt), "model"),
        ]
    if version in BATCH_VERSIONS and _required(m.BatchEmbedTextRequest, "texts"):
        cases.append(("BatchEmbedText", m.BatchEmbedTextRequest(model=EMBED_MODEL), "texts"))
    if version in BATCH_VERSIONS and has_field(m.BatchEmbedTextRequest, "requests"):
        inner = m.EmbedTextRequest(model=EMBED_MODEL, text="a")
        cases += [
            (
                "BatchEmbedText",
                m.BatchEmbedTextRequest(model=EMBED_MODEL, texts=["a"], requests=[inner]),
                "requests",
            ),
            (
                "BatchEmbedText",
                m.BatchEmbedTextRequest(model=EMBED_MODEL, requests=[inner] * 101),
                "requests",
            ),
            (
                "BatchEmbedText",
                m.BatchEmbedTextRequest(
                    model=EMBED_MODEL, requests=[inner, m.EmbedTextRequest(text="b")]
                ),
                "requests[1].model",
            ),
            (
                "BatchEmbedText",
                m.BatchEmbedTextRequest(
                    model=EMBED_MODEL, requests=[m.EmbedTextRequest(model=TEXT_MODEL, text="b")]
                ),
                "requests[0].model",
            ),
        ]
    return cases


@pytest.mark.parametrize("version", VERSIONS)
def test_invalid_arguments_name_the_field(version: str) -> None:
    cases = _invalid_cases(version)
    fake = FakeServer()
    results = _outcomes(fake, [(version, method, request) for method, request, _ in cases])
    for (method, request, field), (status, error) in zip(cases, results, strict=True):
        assert status is Status.INVALID_ARGUMENT, (method, request)
        assert error.message.startswith(f"{field}: "), (error.message, field)
        assert bad_request_fields(error) == [field]
    assert fake.count(status=Status.INVALID_ARGUMENT) == len(cases)


@pytest.mark.parametrize("version", VERSIONS)
def test_boundaries_that_are_valid(version: str) -> None:
    m = module(version)
    prompt = m.TextPrompt(text="hi")
    calls: list[tuple[str, str, Any]] = [
        (
            version,
            "GenerateText",
            m.GenerateTextRequest(model=TEXT_MODEL, prompt=prompt, candidate_count=8),
        ),
        (
            version,
            "GenerateText",
            m.GenerateTextRequest(model="tunedModels/my-model-7", prompt=prompt),
        ),
    ]
    if version in BATCH_VERSIONS:
        calls.append(
            (
                version,
                "BatchEmbedText",
                m.BatchEmbedTextRequest(model=EMBED_MODEL, texts=["x"] * 100),
            )
        )
    if version == "v1beta":  # text is optional there, and an empty batch is allowed
        calls.append((version, "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL)))
        calls.append((version, "BatchEmbedText", m.BatchEmbedTextRequest(model=EMBED_MODEL)))
    statuses = [status for status, _ in _outcomes(FakeServer(), calls)]
    assert statuses == [Status.OK] * len(calls)


def test_unknown_model_is_not_found() -> None:
    m = module("v1beta")
    request = m.EmbedTextRequest(model="models/no-such-model", text="x")
    [(status, error)] = _outcomes(FakeServer(), [("v1beta", "EmbedText", request)])
    assert status is Status.NOT_FOUND
    assert "models/no-such-model is not found for API version v1beta" in error.message


def test_known_models_are_configurable() -> None:
    m = module("v1beta")
    calls = [
        ("v1beta", "EmbedText", m.EmbedTextRequest(model="models/mine", text="x")),
        ("v1beta", "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL, text="x")),
        ("v1beta", "EmbedText", m.EmbedTextRequest(model="tunedModels/t", text="x")),
    ]
    strict = FakeServer(known_models=["models/mine"], accept_tuned_models=False)
    assert [s for s, _ in _outcomes(strict, calls)] == [
        Status.OK,
        Status.NOT_FOUND,
        Status.NOT_FOUND,
    ]
    anything = FakeServer(known_models=None)
    assert [s for s, _ in _outcomes(anything, calls)] == [Status.OK] * 3


def test_strict_methods_guards_textservice_too() -> None:
    gemini = "models/gemini-embedding-001"
    calls: list[tuple[str, str, Any]] = []
    for version in BATCH_VERSIONS:
        m = module(version)
        calls += [
            (version, "EmbedText", m.EmbedTextRequest(model=gemini, text="x")),
            (version, "BatchEmbedText", m.BatchEmbedTextRequest(model=gemini, texts=["x"])),
            (version, "GenerateText", m.GenerateTextRequest(
                model=EMBED_MODEL, prompt=m.TextPrompt(text="x"))),
            (version, "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL, text="x")),
            (version, "BatchEmbedText", m.BatchEmbedTextRequest(model=EMBED_MODEL, texts=["x"])),
            (version, "CountTextTokens", m.CountTextTokensRequest(
                model=gemini, prompt=m.TextPrompt(text="x"))),
            (version, "GenerateText", m.GenerateTextRequest(
                model=TEXT_MODEL, prompt=m.TextPrompt(text="x"))),
        ]  # fmt: skip
    strict = _outcomes(FakeServer(strict_methods=True), calls)
    per_version = [Status.NOT_FOUND] * 3 + [Status.OK] * 4
    assert [s for s, _ in strict] == per_version * len(BATCH_VERSIONS)
    assert strict[1][1].message.endswith(
        "or is not supported for embedText. Call ListModels to see the list of available "
        "models and their supported methods."
    )
    lenient = _outcomes(FakeServer(), calls)
    assert [s for s, _ in lenient] == [Status.OK] * len(calls)


def test_api_key_is_required_when_configured() -> None:
    m = module("v1beta3")
    call = ("v1beta3", "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL, text="x"))
    fake = FakeServer(api_key="the-right-key")
    [(missing, missing_error)] = _outcomes(fake, [call])
    [(wrong, wrong_error)] = _outcomes(fake, [call], {"x-goog-api-key": "a-wrong-key"})
    [(right, _)] = _outcomes(fake, [call], {"x-goog-api-key": "the-right-key"})
    assert (missing, wrong, right) == (Status.UNAUTHENTICATED, Status.UNAUTHENTICATED, Status.OK)
    assert "x-goog-api-key" in missing_error.message
    assert "not valid" in wrong_error.message
    for text in (missing_error.message, wrong_error.message, repr(fake), repr(fake.calls)):
        assert "the-right-key" not in text and "a-wrong-key" not in text
    # auth comes before argument checks, as at Google's front end
    bad = ("v1beta3", "EmbedText", m.EmbedTextRequest(model="bad", text="x"))
    assert _outcomes(fake, [bad])[0][0] is Status.UNAUTHENTICATED


# -- the table of required fields is the protos' field_behavior --------------------------


def _request_messages(pb2_modules: list[Any]) -> dict[str, Any]:
    """Descriptors of every message reachable from the request types of every service."""
    found: dict[str, Any] = {}
    pending = [
        method.input_type
        for module in pb2_modules
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]
    while pending:
        desc = pending.pop()
        if desc.full_name in found:
            continue
        found[desc.full_name] = desc
        for f in desc.fields:
            if f.message_type is None:
                continue
            if f.message_type.GetOptions().map_entry:
                value = f.message_type.fields_by_name["value"]
                if value.message_type is not None:
                    pending.append(value.message_type)
            else:
                pending.append(f.message_type)
    return found


@pytest.mark.subprocess
def test_required_fields_match_the_protos(reference_python: Path) -> None:
    """The generated table equals what protoc's own descriptors say, for every version."""
    from google.api import field_behavior_pb2

    expected: dict[str, tuple[str, ...]] = {}
    for version in reference.VERSIONS:
        modules = [
            reference.load(reference_python, version, f"{name}_pb2")
            for name in reference.proto_names(version)
        ]
        for name, desc in _request_messages(modules).items():
            required = tuple(
                f.name
                for f in desc.fields
                if field_behavior_pb2.REQUIRED
                in f.GetOptions().Extensions[field_behavior_pb2.field_behavior]
            )
            if required:
                expected[name] = required
    assert dict(REQUIRED_FIELDS) == expected
    assert {name.split(".")[3] for name in expected} == set(reference.VERSIONS)
    v1 = "google.ai.generativelanguage.v1."
    assert REQUIRED_FIELDS[v1 + "EmbedContentRequest"] == ("model", "content")
    assert REQUIRED_FIELDS[v1 + "BatchEmbedContentsRequest"] == ("model", "requests")


def test_messages_of_services_the_fake_does_not_serve_are_checked_too() -> None:
    from textservice._proto.google.ai.generativelanguage import v1, v1beta

    request = v1.BatchEmbedContentsRequest(
        model="models/m",
        requests=[
            v1.EmbedContentRequest(model="models/m", content=v1.Content(parts=[v1.Part(text="a")])),
            v1.EmbedContentRequest(model="models/m"),
        ],
    )
    assert missing_required(request) == "requests[1].content"
    # a map's message values: Schema.properties[...] needs its `type`
    schema = v1beta.Schema(
        type=v1beta.Type.OBJECT, properties={"a": v1beta.Schema(type=v1beta.Type.STRING)}
    )
    assert missing_required(schema) is None
    schema.properties["b"] = v1beta.Schema()
    assert missing_required(schema) == "properties['b'].type"


def test_a_request_without_a_model_field_is_validated_by_its_own_fields() -> None:
    # GetModel names the model in `name`: no model checks, no AttributeError
    from textservice._proto.google.ai.generativelanguage import v1beta

    policy = ModelPolicy.of(None, accept_tuned_models=True)
    service = version_named("v1beta").service("ModelService")
    assert service is not None
    validate(service, "GetModel", v1beta.GetModelRequest(name="models/m"), policy)
    with pytest.raises(GRPCError, match="name: required field is missing") as raised:
        validate(service, "GetModel", v1beta.GetModelRequest(), policy)
    assert raised.value.status is Status.INVALID_ARGUMENT
