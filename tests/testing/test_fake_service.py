"""The fake answers every RPC of every version, in memory and over TCP, deterministically."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import grpclib.client
import pytest
from grpclib.const import Cardinality, Status
from support import reference
from support.fake_helpers import (
    BATCH_VERSIONS,
    EMBED_MODEL,
    TEXT_MODEL,
    VERSIONS,
    call,
    module,
    outcome,
    tcp_channel,
)

from textservice.testing import (
    FakeServer,
    expected_completion,
    expected_embedding,
    expected_token_count,
)
from textservice.testing.versions import api_versions


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def _services_in_the_protos(reference_python: Path) -> dict[tuple[str, str], set[str]]:
    """(version, service) -> RPC names, as protoc's own descriptors of ``protos/`` say."""
    found: dict[tuple[str, str], set[str]] = {}
    for version in reference.VERSIONS:
        for name in reference.proto_names(version):
            pb2 = reference.load(reference_python, version, f"{name}_pb2")
            for service in pb2.DESCRIPTOR.services_by_name.values():
                found[version, service.name] = {method.name for method in service.methods}
    return found


@pytest.mark.subprocess
def test_versions_services_and_routes_are_those_of_the_protos(reference_python: Path) -> None:
    expected = _services_in_the_protos(reference_python)
    found = {(v.name, s.name): set(s.methods) for v in api_versions() for s in v.services}
    assert found == expected
    fake = FakeServer()
    assert fake.versions == tuple(sorted({version for version, _ in expected}))
    servables = fake.servables()
    services = [(v, s) for v in api_versions() for s in v.services]
    assert len(servables) == len(services) == len(expected)
    for servable, (version, service) in zip(servables, services, strict=True):
        assert isinstance(servable, version.message(f"{service.name}Base"))
        assert set(servable.__mapping__()) == {route for route, _ in service.handlers}
        assert {r.rsplit("/", 1)[1] for r in servable.__mapping__()} == expected[
            version.name, service.name
        ]


def test_the_fake_answers_the_rpcs_it_says_it_does() -> None:
    # TextService, GenerativeService' embedding and token RPCs, ModelService's model listing,
    # and v1beta's Batch mode and Files API (REST only at Google; served on the fake's REST face)
    fake = FakeServer()
    assert set(fake.methods) == {
        "GenerateText", "EmbedText", "BatchEmbedText", "CountTextTokens",
        "EmbedContent", "BatchEmbedContents", "CountTokens", "ListModels", "GetModel",
        "AsyncBatchEmbedContent", "GetBatch", "ListBatches", "CancelBatch", "DeleteBatch",
        "GetFile", "ListFiles", "DeleteFile",
    }  # fmt: skip
    assert set(FakeServer(versions=["v1"]).methods) == {
        "EmbedContent", "BatchEmbedContents", "CountTokens", "ListModels", "GetModel",
    }  # fmt: skip
    assert set(FakeServer(versions=["v1beta2"]).methods) == {"GenerateText", "EmbedText"}


@pytest.mark.parametrize("version", VERSIONS)
def test_embed_text_gives_the_expected_vector(version: str) -> None:
    fake = FakeServer()
    mod = module(version)

    async def go() -> Any:
        async with fake.in_memory() as channel:
            return await call(
                channel, version, "EmbedText", mod.EmbedTextRequest(model=EMBED_MODEL, text="hi")
            )

    response = run(go())
    assert response.embedding.value == expected_embedding(EMBED_MODEL, "hi")


@pytest.mark.parametrize("version", BATCH_VERSIONS)
def test_batch_embed_text_matches_embed_text(version: str) -> None:
    fake = FakeServer(embedding_dimension=32)
    mod = module(version)
    texts = [f"text {i}" for i in range(100)]

    async def go() -> tuple[Any, Any]:
        async with fake.in_memory() as channel:
            batch = await call(
                channel,
                version,
                "BatchEmbedText",
                mod.BatchEmbedTextRequest(model=EMBED_MODEL, texts=texts),
            )
            single = await call(
                channel,
                version,
                "EmbedText",
                mod.EmbedTextRequest(model=EMBED_MODEL, text=texts[57]),
            )
            return batch, single

    batch, single = run(go())
    assert [e.value for e in batch.embeddings] == [
        expected_embedding(EMBED_MODEL, t, 32) for t in texts
    ]
    assert batch.embeddings[57].value == single.embedding.value


def test_v1beta_batch_with_requests() -> None:
    fake = FakeServer(embedding_dimension=8)
    mod = module("v1beta")
    inner = [mod.EmbedTextRequest(model=EMBED_MODEL, text=t) for t in ("a", "b", "")]

    async def go() -> Any:
        async with fake.in_memory() as channel:
            return await call(
                channel,
                "v1beta",
                "BatchEmbedText",
                mod.BatchEmbedTextRequest(model=EMBED_MODEL, requests=inner),
            )

    response = run(go())
    assert [e.value for e in response.embeddings] == [
        expected_embedding(EMBED_MODEL, t, 8) for t in ("a", "b", "")
    ]


def test_same_vector_in_every_version() -> None:
    fake = FakeServer(embedding_dimension=16)

    async def go() -> list[list[float]]:
        async with fake.in_memory() as channel:
            out = []
            for version in VERSIONS:
                mod = module(version)
                response = await call(
                    channel,
                    version,
                    "EmbedText",
                    mod.EmbedTextRequest(model=EMBED_MODEL, text="same"),
                )
                out.append(response.embedding.value)
            return out

    first, *others = run(go())
    assert all(other == first for other in others)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("count", [None, 1, 3, 8])
def test_generate_text_honours_candidate_count(version: str, count: int | None) -> None:
    fake = FakeServer()
    mod = module(version)
    request = mod.GenerateTextRequest(
        model=TEXT_MODEL, prompt=mod.TextPrompt(text="Write a haiku"), candidate_count=count
    )

    async def go() -> Any:
        async with fake.in_memory() as channel:
            return await call(channel, version, "GenerateText", request)

    response = run(go())
    assert [c.output for c in response.candidates] == [
        expected_completion(TEXT_MODEL, "Write a haiku", i) for i in range(count or 1)
    ]
    assert response.filters == [] and response.safety_feedback == []


def test_generate_text_max_output_tokens() -> None:
    fake = FakeServer()
    mod = module("v1beta")
    request = mod.GenerateTextRequest(
        model=TEXT_MODEL, prompt=mod.TextPrompt(text="one two three"), max_output_tokens=4
    )

    async def go() -> Any:
        async with fake.in_memory() as channel:
            return await call(channel, "v1beta", "GenerateText", request)

    output = run(go()).candidates[0].output
    assert output == expected_completion(TEXT_MODEL, "one two three", 0, 4)
    assert expected_token_count(output) == 4


@pytest.mark.parametrize("version", VERSIONS)
def test_generate_text_extras(version: str) -> None:
    fake = FakeServer()
    fake.set_generate_text_extras(
        filters=[{"reason": "SAFETY", "message": "blocked by the fake"}],
        safety_feedback=[
            {
                "rating": {"category": "HARM_CATEGORY_TOXICITY", "probability": "HIGH"},
                "setting": {
                    "category": "HARM_CATEGORY_TOXICITY",
                    "threshold": "BLOCK_LOW_AND_ABOVE",
                },
            }
        ],
        safety_ratings=[{"category": "HARM_CATEGORY_VIOLENCE", "probability": "LOW"}],
        citation_sources=[{"startIndex": 0, "endIndex": 10, "uri": "https://example.com/x"}],
    )
    mod = module(version)
    request = mod.GenerateTextRequest(
        model=TEXT_MODEL, prompt=mod.TextPrompt(text="p"), candidate_count=2
    )

    async def go() -> Any:
        async with fake.in_memory() as channel:
            first = await call(channel, version, "GenerateText", request)
            fake.set_generate_text_extras(filters=[{"reason": "OTHER"}], blocked=True)
            second = await call(channel, version, "GenerateText", request)
            fake.set_generate_text_extras()
            third = await call(channel, version, "GenerateText", request)
            return first, second, third

    first, second, third = run(go())
    assert first.filters[0].reason == mod.ContentFilterBlockedReason.SAFETY
    assert first.filters[0].message == "blocked by the fake"
    feedback = first.safety_feedback[0]
    assert feedback.rating.probability.name == "HIGH"
    assert feedback.setting.threshold.name == "BLOCK_LOW_AND_ABOVE"
    assert len(first.candidates) == 2
    for candidate in first.candidates:
        assert candidate.safety_ratings[0].category.name == "VIOLENCE"
        source = candidate.citation_metadata.citation_sources[0]
        assert (source.start_index, source.end_index, source.uri) == (
            0,
            10,
            "https://example.com/x",
        )
    assert second.candidates == [] and second.filters[0].reason.name == "OTHER"
    assert len(third.candidates) == 2 and third.filters == []


def test_generate_text_extras_are_checked() -> None:
    fake = FakeServer()
    with pytest.raises(ValueError, match=r"filters\[0\]: Unknown value NOPE"):
        fake.set_generate_text_extras(filters=[{"reason": "NOPE"}])
    with pytest.raises(ValueError, match=r"citation_sources\[1\]"):
        fake.set_generate_text_extras(citation_sources=[{}, {"bogus": 1}])
    with pytest.raises(TypeError, match=r"safety_ratings\[0\] must be a dict"):
        fake.set_generate_text_extras(safety_ratings=["HIGH"])  # type: ignore[list-item]


@pytest.mark.parametrize("version", BATCH_VERSIONS)
def test_count_text_tokens(version: str) -> None:
    fake = FakeServer()
    mod = module(version)
    text = "How many tokens, exactly?"

    async def go() -> Any:
        async with fake.in_memory() as channel:
            return await call(
                channel,
                version,
                "CountTextTokens",
                mod.CountTextTokensRequest(model=TEXT_MODEL, prompt=mod.TextPrompt(text=text)),
            )

    assert run(go()).token_count == expected_token_count(text) == 6  # 4 words, 2 marks


def test_v1beta2_has_no_batch_route() -> None:
    fake = FakeServer()
    mod = module("v1beta3")  # borrow v1beta3's messages: the route is what matters

    async def go() -> Status:
        async with fake.in_memory() as channel:
            try:
                async with channel.request(
                    "/google.ai.generativelanguage.v1beta2.TextService/BatchEmbedText",
                    Cardinality.UNARY_UNARY,
                    mod.BatchEmbedTextRequest,
                    mod.BatchEmbedTextResponse,
                ) as stream:
                    await stream.send_message(
                        mod.BatchEmbedTextRequest(model=EMBED_MODEL, texts=["x"]), end=True
                    )
                    await stream.recv_message()
            except grpclib.exceptions.GRPCError as exc:
                return exc.status
            return Status.OK

    assert run(go()) is Status.UNIMPLEMENTED


def test_serving_only_some_versions() -> None:
    fake = FakeServer(versions=["v1beta"])
    assert fake.versions == ("v1beta",)
    mod = module("v1beta3")

    async def go() -> tuple[Status, Status]:
        async with fake.in_memory() as channel:
            request = mod.EmbedTextRequest(model=EMBED_MODEL, text="x")
            absent, _ = await outcome(channel, "v1beta3", "EmbedText", request)
            present, _ = await outcome(
                channel,
                "v1beta",
                "EmbedText",
                module("v1beta").EmbedTextRequest(model=EMBED_MODEL, text="x"),
            )
            return absent, present

    assert run(go()) == (Status.UNIMPLEMENTED, Status.OK)
    with pytest.raises(ValueError, match="unknown API version 'v999'"):
        FakeServer(versions=["v999"])


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="api_key"):
        FakeServer(api_key="")
    with pytest.raises(ValueError, match="embedding_dimension must be between"):
        FakeServer(embedding_dimension=0)
    with pytest.raises(ValueError, match="known_models: 'gecko'"):
        FakeServer(known_models=["gecko"])
    with pytest.raises(TypeError, match="known_models must be a collection"):
        FakeServer(known_models="models/x")


def test_channel_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError, match="inside a running event loop"):
        FakeServer().channel()


def test_channels_on_many_loops_share_one_state() -> None:
    fake = FakeServer(embedding_dimension=4)
    mod = module("v1beta")
    results: list[list[float]] = []
    lock = threading.Lock()

    async def worker(n: int) -> None:
        channel = fake.channel()  # bound to this thread's loop
        try:
            for i in range(n):
                response = await call(
                    channel,
                    "v1beta",
                    "EmbedText",
                    mod.EmbedTextRequest(model=EMBED_MODEL, text=str(i)),
                )
                with lock:
                    results.append(response.embedding.value)
        finally:
            channel.close()

    threads = [threading.Thread(target=asyncio.run, args=(worker(5),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 20
    assert fake.count("EmbedText") == 20
    assert sorted(map(tuple, results)) == sorted(
        tuple(expected_embedding(EMBED_MODEL, str(i), 4)) for i in range(5) for _ in range(4)
    )


@pytest.mark.network
def test_serve_async_on_a_free_port() -> None:
    fake = FakeServer()
    mod = module("v1beta3")

    async def go() -> tuple[int, Any]:
        async with fake.serve_async() as address:
            assert address.host == "127.0.0.1" and address.target == f"127.0.0.1:{address.port}"
            channel = tcp_channel(address.host, address.port)
            try:
                response = await call(
                    channel,
                    "v1beta3",
                    "EmbedText",
                    mod.EmbedTextRequest(model=EMBED_MODEL, text="t"),
                )
            finally:
                channel.close()
            return address.port, response

    port, response = run(go())
    assert port > 0
    assert response.embedding.value == expected_embedding(EMBED_MODEL, "t")


@pytest.mark.network
def test_serve_from_sync_code_and_from_inside_a_loop() -> None:
    fake = FakeServer()
    mod = module("v1beta")

    async def use(address: Any) -> Any:
        channel = tcp_channel(address.host, address.port)
        try:
            return await call(
                channel,
                "v1beta",
                "CountTextTokens",
                mod.CountTextTokensRequest(model=TEXT_MODEL, prompt=mod.TextPrompt(text="a b")),
            )
        finally:
            channel.close()

    with fake.serve() as address:  # sync code: a background thread serves
        assert run(use(address)).token_count == 2

    async def inside_a_loop() -> int:
        with fake.serve() as address:  # does not block this loop
            response = await use(address)
        return int(response.token_count)

    assert run(inside_a_loop()) == 2
    assert fake.count("CountTextTokens") == 2


@pytest.mark.network
def test_stopping_the_server_closes_client_connections() -> None:
    fake = FakeServer()
    mod = module("v1beta")

    async def go() -> Status | str:
        with fake.serve() as address:
            channel = tcp_channel(address.host, address.port)
            await call(
                channel, "v1beta", "EmbedText", mod.EmbedTextRequest(model=EMBED_MODEL, text="a")
            )
        try:  # the server is gone: the open connection was closed, not left hanging
            await call(
                channel,
                "v1beta",
                "EmbedText",
                mod.EmbedTextRequest(model=EMBED_MODEL, text="a"),
                timeout=5,
            )
        except (OSError, grpclib.exceptions.StreamTerminatedError) as exc:
            return type(exc).__name__
        finally:
            channel.close()
        return "answered"

    assert run(go()) != "answered"


@pytest.mark.network
def test_serve_reports_a_busy_port() -> None:
    fake = FakeServer()
    with fake.serve() as address, pytest.raises(OSError), fake.serve(port=address.port):
        pass
