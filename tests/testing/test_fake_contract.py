"""One contract, two servers: our fake and a reference TextService on grpcio/protobuf.

Our client side (betterproto2 stubs over a grpclib channel with the package's ``Codec`` and
``StatusDetailsCodec``) must see the same values and the same errors from both. The
reference (``support/reference_server.py``) is independent of the fake, so agreement checks the
fake's wire behaviour (packed floats, trailers, status details) against Google's runtimes, and
the documented recipes (embeddings, completions, token counts) against a second reading.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError
from support.fake_helpers import (
    BATCH_VERSIONS,
    EMBED_MODEL,
    TEXT_MODEL,
    VERSIONS,
    bad_request_fields,
    module,
    outcome,
    tcp_channel,
)
from support.reference_server import ReferenceServer

from textservice._proto.google import rpc
from textservice.testing import (
    FakeServer,
    expected_completion,
    expected_embedding,
    expected_token_count,
    quota_failure,
    retry_info,
)

# subprocess: the reference server's modules are built by protoc (the session fixture
# reference_python), in whichever test of the run needs them first
pytestmark = [pytest.mark.network, pytest.mark.subprocess]

KEY = "contract-test-key"
AUTH = {"x-goog-api-key": KEY}


@dataclass
class Target:
    """A running server of the contract suite."""

    name: str
    port: int
    fail_next_unavailable: Callable[[float, str], None]
    """Make the next call fail: UNAVAILABLE with RetryInfo(seconds) and a QuotaFailure."""


@pytest.fixture(scope="module")
def fake_target() -> Iterator[Target]:
    fake = FakeServer(api_key=KEY)

    def fail(seconds: float, subject: str) -> None:
        fake.faults.fail_next(
            1,
            "UNAVAILABLE",
            message="try later",
            details=[retry_info(seconds), quota_failure("over quota", subject=subject)],
        )

    with fake.serve() as address:
        yield Target("fake", address.port, fail)


@pytest.fixture(scope="module")
def reference_target(reference_python: Path) -> Iterator[Target]:
    server = ReferenceServer(reference_python, api_key=KEY)

    def fail(seconds: float, subject: str) -> None:
        retry = error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(
                seconds=int(seconds), nanos=round((seconds % 1) * 1e9)
            )
        )
        quota = error_details_pb2.QuotaFailure()
        violation = quota.violations.add()
        violation.subject = subject
        violation.description = "over quota"
        violation.quota_metric = "generativelanguage.googleapis.com/generate_requests_per_model"
        violation.quota_id = "GenerateRequestsPerMinutePerProjectPerModel"
        server.fail_next(grpc.StatusCode.UNAVAILABLE, "try later", [retry, quota])

    with server:
        yield Target("reference", server.port, fail)


@pytest.fixture(params=["fake", "reference"])
def target(request: pytest.FixtureRequest) -> Target:
    fixture = "fake_target" if request.param == "fake" else "reference_target"
    found: Target = request.getfixturevalue(fixture)
    return found


def _run(target: Target, calls: list[tuple[str, str, Any]], metadata: Any = AUTH) -> list[Any]:
    async def go() -> list[Any]:
        channel = tcp_channel("127.0.0.1", target.port)
        try:
            return [
                await outcome(channel, version, method, request, metadata=metadata)
                for version, method, request in calls
            ]
        finally:
            channel.close()

    return asyncio.run(go())


def _ok(target: Target, version: str, method: str, request: Any) -> Any:
    [(status, response)] = _run(target, [(version, method, request)])
    assert status is Status.OK, (target.name, response)
    return response


# -- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_embed_text(target: Target, version: str) -> None:
    m = module(version)
    text = "Pack my box with five dozen liquor jugs — ünïcødé ✓"
    response = _ok(target, version, "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL, text=text))
    assert response.embedding.value == expected_embedding(EMBED_MODEL, text)


@pytest.mark.parametrize("version", BATCH_VERSIONS)
def test_batch_embed_text(target: Target, version: str) -> None:
    m = module(version)
    texts = [f"sentence number {i}" for i in range(100)]
    response = _ok(
        target, version, "BatchEmbedText", m.BatchEmbedTextRequest(model=EMBED_MODEL, texts=texts)
    )
    assert [e.value for e in response.embeddings] == [
        expected_embedding(EMBED_MODEL, t) for t in texts
    ]


def test_batch_embed_text_with_requests(target: Target) -> None:
    m = module("v1beta")
    inner = [m.EmbedTextRequest(model="tunedModels/t1", text=t) for t in ("x", "y")]
    response = _ok(
        target,
        "v1beta",
        "BatchEmbedText",
        m.BatchEmbedTextRequest(model="tunedModels/t1", requests=inner),
    )
    assert [e.value for e in response.embeddings] == [
        expected_embedding("tunedModels/t1", t) for t in ("x", "y")
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_generate_text(target: Target, version: str) -> None:
    m = module(version)
    request = m.GenerateTextRequest(
        model=TEXT_MODEL,
        prompt=m.TextPrompt(text="Tell me, briefly: why?"),
        candidate_count=3,
        max_output_tokens=7,
    )
    response = _ok(target, version, "GenerateText", request)
    assert [c.output for c in response.candidates] == [
        expected_completion(TEXT_MODEL, "Tell me, briefly: why?", i, 7) for i in range(3)
    ]


@pytest.mark.parametrize("version", BATCH_VERSIONS)
def test_count_text_tokens(target: Target, version: str) -> None:
    m = module(version)
    text = "Count: these, tokens — please!"
    response = _ok(
        target,
        version,
        "CountTextTokens",
        m.CountTextTokensRequest(model=TEXT_MODEL, prompt=m.TextPrompt(text=text)),
    )
    assert response.token_count == expected_token_count(text) == 8


# -- errors -----------------------------------------------------------------------------------


def _error_cases() -> list[tuple[str, str, Any, Status, str | None]]:
    """(version, method, request, status, field named by BadRequest)."""
    cases: list[tuple[str, str, Any, Status, str | None]] = []
    for version in VERSIONS:
        m = module(version)
        prompt = m.TextPrompt(text="p")
        cases += [
            (
                version,
                "GenerateText",
                m.GenerateTextRequest(prompt=prompt),
                Status.INVALID_ARGUMENT,
                "model",
            ),
            (
                version,
                "GenerateText",
                m.GenerateTextRequest(model="text-bison-001", prompt=prompt),
                Status.INVALID_ARGUMENT,
                "model",
            ),
            (
                version,
                "GenerateText",
                m.GenerateTextRequest(model=TEXT_MODEL),
                Status.INVALID_ARGUMENT,
                "prompt",
            ),
            (
                version,
                "GenerateText",
                m.GenerateTextRequest(model=TEXT_MODEL, prompt=m.TextPrompt()),
                Status.INVALID_ARGUMENT,
                "prompt.text",
            ),
            (
                version,
                "GenerateText",
                m.GenerateTextRequest(model=TEXT_MODEL, prompt=prompt, candidate_count=9),
                Status.INVALID_ARGUMENT,
                "candidate_count",
            ),
            (
                version,
                "GenerateText",
                m.GenerateTextRequest(
                    model=TEXT_MODEL, prompt=prompt, safety_settings=[m.SafetySetting()]
                ),
                Status.INVALID_ARGUMENT,
                "safety_settings[0].category",
            ),
            (
                version,
                "EmbedText",
                m.EmbedTextRequest(model="models/unknown-model", text="x"),
                Status.NOT_FOUND,
                None,
            ),
        ]
        if version != "v1beta":
            cases.append(
                (
                    version,
                    "EmbedText",
                    m.EmbedTextRequest(model=EMBED_MODEL),
                    Status.INVALID_ARGUMENT,
                    "text",
                )
            )
        if version in BATCH_VERSIONS:
            cases += [
                (
                    version,
                    "BatchEmbedText",
                    m.BatchEmbedTextRequest(model=EMBED_MODEL, texts=["t"] * 101),
                    Status.INVALID_ARGUMENT,
                    "texts",
                ),
                (
                    version,
                    "CountTextTokens",
                    m.CountTextTokensRequest(model=TEXT_MODEL),
                    Status.INVALID_ARGUMENT,
                    "prompt",
                ),
            ]
    m = module("v1beta")
    cases += [
        (
            "v1beta",
            "BatchEmbedText",
            m.BatchEmbedTextRequest(
                model=EMBED_MODEL, texts=["a"], requests=[m.EmbedTextRequest(model=EMBED_MODEL)]
            ),
            Status.INVALID_ARGUMENT,
            "requests",
        ),
        (
            "v1beta",
            "BatchEmbedText",
            m.BatchEmbedTextRequest(
                model=EMBED_MODEL, requests=[m.EmbedTextRequest(model=TEXT_MODEL, text="a")]
            ),
            Status.INVALID_ARGUMENT,
            "requests[0].model",
        ),
    ]
    return cases


def test_errors(target: Target) -> None:
    cases = _error_cases()
    results = _run(target, [(v, m, r) for v, m, r, _, _ in cases])
    for (version, method, request, status, field), (got, error) in zip(cases, results, strict=True):
        assert got is status, (target.name, version, method, request, error)
        assert isinstance(error, GRPCError)
        assert bad_request_fields(error) == ([field] if field else [])
        if field:
            assert error.message is not None and error.message.startswith(f"{field}: ")


def test_api_key(target: Target) -> None:
    m = module("v1beta3")
    call = ("v1beta3", "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL, text="x"))
    [(missing, _)] = _run(target, [call], metadata=None)
    [(wrong, _)] = _run(target, [call], metadata={"x-goog-api-key": "nope"})
    assert missing is wrong is Status.UNAUTHENTICATED


def test_v1beta2_has_no_batch_embed_text(target: Target) -> None:
    m = module("v1beta3")

    async def go() -> Status:
        channel = tcp_channel("127.0.0.1", target.port)
        try:
            async with channel.request(
                "/google.ai.generativelanguage.v1beta2.TextService/BatchEmbedText",
                Cardinality.UNARY_UNARY,
                m.BatchEmbedTextRequest,
                m.BatchEmbedTextResponse,
                metadata=AUTH,
            ) as stream:
                await stream.send_message(
                    m.BatchEmbedTextRequest(model=EMBED_MODEL, texts=["x"]), end=True
                )
                await stream.recv_message()
        except GRPCError as exc:
            return exc.status
        finally:
            channel.close()
        return Status.OK

    assert asyncio.run(go()) is Status.UNIMPLEMENTED


def test_status_details_decode_the_same(target: Target) -> None:
    m = module("v1beta")
    target.fail_next_unavailable(1.25, "project:contract")
    call = ("v1beta", "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL, text="x"))
    [(status, error), (after, _)] = _run(target, [call, call])
    assert (status, after) == (Status.UNAVAILABLE, Status.OK)
    assert error.message == "try later"
    retry, quota = error.details
    assert isinstance(retry, rpc.RetryInfo)
    assert retry.retry_delay == datetime.timedelta(seconds=1.25)
    assert isinstance(quota, rpc.QuotaFailure)
    assert [(v.subject, v.description, v.quota_id) for v in quota.violations] == [
        ("project:contract", "over quota", "GenerateRequestsPerMinutePerProjectPerModel")
    ]


def test_both_servers_answer_a_mixed_session_identically(
    fake_target: Target, reference_target: Target
) -> None:
    calls: list[tuple[str, str, Any]] = [(v, m, r) for v, m, r, _, _ in _error_cases()]
    for version in VERSIONS:
        m = module(version)
        calls.append((version, "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL, text=version)))
        calls.append(
            (
                version,
                "GenerateText",
                m.GenerateTextRequest(model="tunedModels/x", prompt=m.TextPrompt(text=version)),
            )
        )

    def summary(target: Target) -> list[tuple[Status, Any]]:
        out: list[tuple[Status, Any]] = []
        for status, result in _run(target, calls):
            if status is Status.OK:
                out.append((status, result.to_dict()))
            else:
                out.append((status, bad_request_fields(result)))
        return out

    assert summary(fake_target) == summary(reference_target)


# -- the facade client, against both servers -------------------------------------------------

FACADES = {version: f"textservice.{version}" for version in VERSIONS}


def _client(target: Target, key: str = KEY) -> Any:
    from textservice import Client

    return Client(key, endpoint=f"127.0.0.1:{target.port}", insecure=True)


def _facade(version: str) -> Any:
    import importlib

    return importlib.import_module(FACADES[version])


@pytest.mark.parametrize("version", VERSIONS)
def test_facade_embeddings(target: Target, version: str) -> None:
    facade = _facade(version)
    texts = [f"client text {i} — ✓" for i in range(130)]
    with _client(target) as client:
        one = facade.generate_embeddings(EMBED_MODEL, "solo", client=client)
        many = facade.generate_embeddings(EMBED_MODEL, texts, client=client)
        empty = facade.generate_embeddings(EMBED_MODEL, [], client=client)
    assert one == {"embedding": expected_embedding(EMBED_MODEL, "solo")}
    assert many == {"embedding": [expected_embedding(EMBED_MODEL, t) for t in texts]}
    assert empty == {"embedding": []}


@pytest.mark.parametrize("version", VERSIONS)
def test_facade_text_and_tokens(target: Target, version: str) -> None:
    facade = _facade(version)
    prompt = "Tell me, briefly: why?"
    with _client(target) as client:
        completion = facade.generate_text(
            model=TEXT_MODEL, prompt=prompt, candidate_count=2, max_output_tokens=7, client=client
        )
        tokens = (
            facade.count_text_tokens(TEXT_MODEL, "Count: these, tokens — please!", client=client)
            if hasattr(facade, "count_text_tokens")
            else None
        )
    outputs = [expected_completion(TEXT_MODEL, prompt, i, 7) for i in range(2)]
    assert [c["output"] for c in completion["candidates"]] == outputs
    assert completion["result"] == outputs[0]
    if tokens is not None:
        assert tokens == {"token_count": 8}


def test_facade_errors_are_the_same_typed_errors(target: Target) -> None:
    import textservice

    with _client(target) as client:
        with pytest.raises(textservice.NotFound):
            textservice.generate_embeddings("models/no-such-model", "x", client=client)
        with pytest.raises(textservice.InvalidArgument) as bad:
            textservice.generate_text(
                model=TEXT_MODEL, prompt="p", candidate_count=9, client=client
            )
        assert "candidate_count" in str(bad.value)
    with _client(target, key="wrong-key") as client, pytest.raises(textservice.Unauthenticated):
        textservice.generate_embeddings(EMBED_MODEL, "x", client=client)


def test_facade_retries_unavailable_with_retry_info(target: Target) -> None:
    import textservice
    from textservice import Retry

    target.fail_next_unavailable(0.05, "projects/contract")
    fast = Retry(max_attempts=3, initial_backoff=0.01, max_backoff=0.05)
    with _client(target) as client:
        result = textservice.generate_embeddings(
            EMBED_MODEL, "after a failure", client=client, request_options={"retry": fast}
        )
    assert result == {"embedding": expected_embedding(EMBED_MODEL, "after a failure")}
