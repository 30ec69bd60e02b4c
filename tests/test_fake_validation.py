"""The fake rejects requests as the API does, naming the field; API key and model checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import reference
from fake_helpers import (
    BATCH_VERSIONS,
    EMBED_MODEL,
    TEXT_MODEL,
    VERSIONS,
    bad_request_fields,
    module,
    outcome,
)
from grpclib.const import Status

from textservice.testing import FakeTextService
from textservice.testing.validation import REQUIRED_FIELDS
from textservice.testing.versions import api_versions


def _outcomes(
    fake: FakeTextService,
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
    if version != "v1beta":
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
    if version == "v1beta3":
        cases.append(("BatchEmbedText", m.BatchEmbedTextRequest(model=EMBED_MODEL), "texts"))
    if version == "v1beta":
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
    fake = FakeTextService()
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
    statuses = [status for status, _ in _outcomes(FakeTextService(), calls)]
    assert statuses == [Status.OK] * len(calls)


def test_unknown_model_is_not_found() -> None:
    m = module("v1beta")
    request = m.EmbedTextRequest(model="models/no-such-model", text="x")
    [(status, error)] = _outcomes(FakeTextService(), [("v1beta", "EmbedText", request)])
    assert status is Status.NOT_FOUND
    assert "models/no-such-model is not found for API version v1beta" in error.message


def test_known_models_are_configurable() -> None:
    m = module("v1beta")
    calls = [
        ("v1beta", "EmbedText", m.EmbedTextRequest(model="models/mine", text="x")),
        ("v1beta", "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL, text="x")),
        ("v1beta", "EmbedText", m.EmbedTextRequest(model="tunedModels/t", text="x")),
    ]
    strict = FakeTextService(known_models=["models/mine"], accept_tuned_models=False)
    assert [s for s, _ in _outcomes(strict, calls)] == [
        Status.OK,
        Status.NOT_FOUND,
        Status.NOT_FOUND,
    ]
    anything = FakeTextService(known_models=None)
    assert [s for s, _ in _outcomes(anything, calls)] == [Status.OK] * 3


def test_api_key_is_required_when_configured() -> None:
    m = module("v1beta3")
    call = ("v1beta3", "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL, text="x"))
    fake = FakeTextService(api_key="the-right-key")
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


def _request_messages(version_module: Any) -> dict[str, Any]:
    """Descriptors of every message reachable from the service's request types."""
    service = version_module.DESCRIPTOR.services_by_name["TextService"]
    found: dict[str, Any] = {}
    pending = [method.input_type for method in service.methods]
    while pending:
        desc = pending.pop()
        if desc.name in found:
            continue
        found[desc.name] = desc
        pending += [f.message_type for f in desc.fields if f.message_type is not None]
    return found


@pytest.mark.subprocess
def test_required_fields_match_the_protos(reference_python: Path) -> None:
    from google.api import field_behavior_pb2

    for version in (v.name for v in api_versions()):
        pb2 = reference.load(reference_python, version, "text_service_pb2")
        expected: dict[str, tuple[str, ...]] = {}
        for name, desc in _request_messages(pb2).items():
            required = tuple(
                f.name
                for f in desc.fields
                if field_behavior_pb2.REQUIRED
                in f.GetOptions().Extensions[field_behavior_pb2.field_behavior]
            )
            if required:
                expected[name] = required
        assert dict(REQUIRED_FIELDS[version]) == expected, version
