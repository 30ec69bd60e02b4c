"""The GenerativeService and ModelService facade functions against the fake (exact values).

``embed_content``, ``count_tokens``, ``list_models`` and ``get_model`` of every generated
version that has them, talking to ``textservice.testing.FakeServer`` in memory: the vectors
are the fake's ``expected_content_embedding`` (a pure function of model, text, task type,
title and dimensionality), so these check what was sent as well as what came back.
"""

from __future__ import annotations

import asyncio
import importlib
import types
from collections.abc import Iterator

import numpy as np
import pytest

import textservice
from textservice.client import Client
from textservice.testing import (
    DEFAULT_CATALOGUE,
    FakeServer,
    expected_content_embedding,
    expected_content_token_count,
)

GEMINI = "models/gemini-embedding-001"
GECKO = "models/embedding-gecko-001"

VERSIONS = [v for v in textservice._versions() if hasattr(getattr(textservice, v), "embed_content")]


@pytest.fixture(params=VERSIONS)
def facade(request: pytest.FixtureRequest) -> types.ModuleType:
    return importlib.import_module(f"textservice.{request.param}")


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer(api_key="test-key")


@pytest.fixture
def client(fake: FakeServer) -> Iterator[Client]:
    with Client("test-key", channel_factory=fake.channel) as made:
        yield made


def test_embed_content_of_todays_model(
    facade: types.ModuleType, fake: FakeServer, client: Client
) -> None:
    one = facade.embed_content(GEMINI, "hello", client=client)
    assert one == {"embedding": expected_content_embedding(GEMINI, "hello")}
    assert len(one["embedding"]) == 3072
    texts = [f"document {i}" for i in range(150)]
    many = facade.embed_content(GEMINI, texts, task_type="document", title="T", client=client)
    expected = [expected_content_embedding(GEMINI, t, "RETRIEVAL_DOCUMENT", "T") for t in texts]
    assert many == {"embedding": expected}
    assert fake.count("BatchEmbedContents") == 2 and fake.count("EmbedContent") == 1


def test_dimensionality_titles_per_item_and_numpy(
    facade: types.ModuleType, fake: FakeServer, client: Client
) -> None:
    items = ["plain", {"text": "own", "title": "Mine"}]
    arrays = facade.embed_content(
        GEMINI,
        items,
        task_type="RETRIEVAL_DOCUMENT",
        title="Call",
        output_dimensionality=768,
        output="numpy",
        client=client,
    )["embedding"]
    assert arrays.shape == (2, 768) and arrays.dtype == np.float32
    assert arrays.tolist() == [
        expected_content_embedding(GEMINI, "plain", "RETRIEVAL_DOCUMENT", "Call", 768),
        expected_content_embedding(GEMINI, "own", "RETRIEVAL_DOCUMENT", "Mine", 768),
    ]
    unit = facade.embed_content(
        GEMINI, "x", output_dimensionality=768, normalize=True, client=client
    )
    raw = np.asarray(expected_content_embedding(GEMINI, "x", dimension=768), dtype=np.float64)
    np.testing.assert_allclose(unit["embedding"], raw / np.linalg.norm(raw), rtol=1e-7)


def test_iter_embed_content_and_async(
    facade: types.ModuleType, fake: FakeServer, client: Client
) -> None:
    texts = [f"t{i}" for i in range(120)]
    batches = list(facade.iter_embed_content(GEMINI, texts, task_type="query", client=client))
    assert [len(b) for b in batches] == [100, 20]
    assert [v for b in batches for v in b] == [
        expected_content_embedding(GEMINI, t, "RETRIEVAL_QUERY") for t in texts
    ]
    result = asyncio.run(facade.embed_content_async(GEMINI, ["a"], client=client))
    assert result == {"embedding": [expected_content_embedding(GEMINI, "a")]}


def test_a_retired_model_through_embed_content_is_not_found(facade: types.ModuleType) -> None:
    # as the real API answers for embedding-gecko-001 today
    strict = FakeServer(strict_methods=True)
    with Client("k", channel_factory=strict.channel) as client:
        with pytest.raises(textservice.NotFound):
            facade.embed_content(GECKO, "hello", client=client)
        assert facade.embed_content(GEMINI, "hello", client=client)["embedding"]


def test_count_tokens(facade: types.ModuleType, fake: FakeServer, client: Client) -> None:
    counted = facade.count_tokens(GEMINI, "one two three", client=client)
    assert counted["total_tokens"] == expected_content_token_count("one two three")
    several = facade.count_tokens(
        GEMINI, ["one two", {"parts": [{"text": "three"}]}], client=client
    )
    assert several["total_tokens"] == expected_content_token_count("one two", "three")
    (request,) = [c.request for c in fake.calls if c.method == "CountTokens"][-1:]
    assert [c.parts[0].text for c in request.contents] == ["one two", "three"]
    twin = asyncio.run(facade.count_tokens_async(GEMINI, "four", client=client))
    assert twin["total_tokens"] == expected_content_token_count("four")


def test_list_models_follows_every_page(
    facade: types.ModuleType, fake: FakeServer, client: Client
) -> None:
    names = [m["name"] for m in facade.list_models(client=client)]
    assert names == [m.name for m in DEFAULT_CATALOGUE]
    calls = fake.count("ListModels")
    paged = list(facade.list_models(page_size=1, client=client))
    assert [m["name"] for m in paged] == names
    assert fake.count("ListModels") - calls == len(names)  # one page per model
    gemini = next(m for m in paged if m["name"] == GEMINI)
    assert "embedContent" in gemini["supported_generation_methods"]

    async def collect() -> list[str]:
        return [m["name"] async for m in facade.list_models_async(page_size=2, client=client)]

    assert asyncio.run(collect()) == names


def test_get_model(facade: types.ModuleType, client: Client) -> None:
    model = facade.get_model(GEMINI, client=client)
    assert model["name"] == GEMINI and "embedContent" in model["supported_generation_methods"]
    with pytest.raises(textservice.NotFound):
        facade.get_model("models/no-such-model", client=client)


def test_listing_checks_its_arguments_before_any_call(
    facade: types.ModuleType, fake: FakeServer, client: Client
) -> None:
    with pytest.raises(TypeError, match="page_size"):
        facade.list_models(page_size="10", client=client)
    with pytest.raises(TypeError, match="request_options"):
        facade.list_models(client=client, request_options={"nope": 1})
    lazy = facade.list_models(client=client)  # nothing is fetched until iterated
    assert fake.count("ListModels") == 0
    assert next(lazy)["name"] == DEFAULT_CATALOGUE[0].name
    assert fake.count("ListModels") == 1
