"""The fake's ModelService: ListModels (paged as the API pages) and GetModel, from its catalogue.

Every version with a ModelService in the generated code is tested (``MODEL_SERVICE_VERSIONS``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from grpclib.const import Status
from support.fake_helpers import (
    CONTENT_MODEL,
    EMBED_MODEL,
    MODEL_SERVICE_VERSIONS,
    TEXT_MODEL,
    bad_request_fields,
    module,
    outcome,
)

from textservice.testing import DEFAULT_CATALOGUE, CatalogueModel, FakeServer

per_version = pytest.mark.parametrize("version", MODEL_SERVICE_VERSIONS)


def _run(fake: FakeServer, version: str, calls: list[tuple[str, Any]]) -> list[tuple[Status, Any]]:
    async def go() -> list[tuple[Status, Any]]:
        async with fake.in_memory() as channel:
            return [await outcome(channel, version, method, request) for method, request in calls]

    return asyncio.run(go())


def _ok(fake: FakeServer, version: str, method: str, request: Any) -> Any:
    [(status, response)] = _run(fake, version, [(method, request)])
    assert status is Status.OK, response
    return response


def _pages(fake: FakeServer, version: str, page_size: int) -> list[list[str]]:
    """The names on each page, following ``next_page_token`` to the end."""
    m = module(version)
    pages, token = [], ""
    while True:
        response = _ok(
            fake, version, "ListModels", m.ListModelsRequest(page_size=page_size, page_token=token)
        )
        pages.append([model.name for model in response.models])
        token = response.next_page_token
        if not token:
            return pages


@per_version
def test_the_default_catalogue_is_like_the_apis(version: str) -> None:
    m = module(version)
    models = {
        model.name: model
        for model in _ok(FakeServer(), version, "ListModels", m.ListModelsRequest()).models
    }
    assert list(models) == [TEXT_MODEL, EMBED_MODEL, CONTENT_MODEL, "models/gemini-embedding-2"]
    two = models["models/gemini-embedding-2"]
    assert (two.display_name, two.input_token_limit) == ("Gemini Embedding 2", 8192)
    assert two.supported_generation_methods == ["embedContent", "countTokens"]
    gemini = models[CONTENT_MODEL]
    assert (gemini.version, gemini.display_name, gemini.input_token_limit) == (
        "001", "Gemini Embedding 001", 2048,
    )  # fmt: skip
    assert gemini.output_token_limit == 1
    assert gemini.description == "Obtain a distributed representation of a text."
    assert gemini.supported_generation_methods == ["embedContent", "countTextTokens", "countTokens"]
    gecko = models[EMBED_MODEL]
    assert gecko.supported_generation_methods == ["embedText", "countTextTokens"]
    assert (gecko.display_name, gecko.input_token_limit) == ("Embedding Gecko", 1024)
    bison = models[TEXT_MODEL]
    assert bison.supported_generation_methods == [
        "generateText", "countTextTokens", "createTunedTextModel",
    ]  # fmt: skip
    assert (bison.input_token_limit, bison.output_token_limit, bison.top_k) == (8196, 1024, 40)
    assert bison.temperature == pytest.approx(0.7) and bison.top_p == pytest.approx(0.95)
    assert gemini.temperature is None and gemini.top_k is None  # unset, as the API leaves them


@per_version
def test_get_model(version: str) -> None:
    m = module(version)
    fake = FakeServer()
    model = _ok(fake, version, "GetModel", m.GetModelRequest(name=CONTENT_MODEL))
    listed = _ok(fake, version, "ListModels", m.ListModelsRequest()).models
    assert model == next(entry for entry in listed if entry.name == CONTENT_MODEL)


@per_version
@pytest.mark.parametrize("page_size", [1, 2, 3, 4])
def test_list_models_pages_through_everything_once(version: str, page_size: int) -> None:
    entries = [CatalogueModel(f"models/m-{i}", version="001") for i in range(7)]
    fake = FakeServer(known_models=entries)
    pages = _pages(fake, version, page_size)
    assert [name for page in pages for name in page] == [e.name for e in entries]
    assert all(len(page) == page_size for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= page_size


@pytest.mark.slow  # >= 0.25 s: kept out of make test-fast
@per_version
def test_page_size_defaults_to_50_and_is_capped_at_1000(version: str) -> None:
    entries = [CatalogueModel(f"models/m-{i:04}") for i in range(1201)]
    fake = FakeServer(known_models=entries)
    assert [len(page) for page in _pages(fake, version, 0)] == [50] * 24 + [1]
    assert [len(page) for page in _pages(fake, version, 5000)] == [1000, 201]


@per_version
def test_paging_errors(version: str) -> None:
    m = module(version)
    fake = FakeServer(known_models=[CatalogueModel(f"models/m-{i}") for i in range(3)])
    first = _ok(fake, version, "ListModels", m.ListModelsRequest(page_size=1))
    calls = [
        ("ListModels", m.ListModelsRequest(page_size=-1)),
        ("ListModels", m.ListModelsRequest(page_token="not-a-token")),
        ("ListModels", m.ListModelsRequest(page_token=first.next_page_token + "A")),
        ("ListModels", m.ListModelsRequest(page_token=first.next_page_token)),
    ]
    results = _run(fake, version, calls)
    assert [bad_request_fields(e) for _, e in results[:3]] == [
        ["page_size"],
        ["page_token"],
        ["page_token"],
    ]
    assert [s for s, _ in results] == [Status.INVALID_ARGUMENT] * 3 + [Status.OK]
    assert [model.name for model in results[3][1].models] == ["models/m-1", "models/m-2"]


@per_version
def test_get_model_errors(version: str) -> None:
    m = module(version)
    calls = [
        ("GetModel", m.GetModelRequest()),
        ("GetModel", m.GetModelRequest(name="gemini-embedding-001")),
        ("GetModel", m.GetModelRequest(name="tunedModels/mine")),
        ("GetModel", m.GetModelRequest(name="models/embedding-001")),
    ]
    results = _run(FakeServer(), version, calls)
    assert [s for s, _ in results] == [Status.INVALID_ARGUMENT] * 3 + [Status.NOT_FOUND]
    assert [bad_request_fields(e) for _, e in results[:3]] == [["name"]] * 3
    assert "models/embedding-001" in results[3][1].message


@per_version
def test_known_models_choose_the_catalogue(version: str) -> None:
    m = module(version)
    own = CatalogueModel(
        "models/my-embedder",
        version="7",
        display_name="Mine",
        supported_generation_methods=("embedContent",),
        embedding_dimension=12,
    )
    fake = FakeServer(known_models=[CONTENT_MODEL, "models/just-a-name", own])
    listed = _ok(fake, version, "ListModels", m.ListModelsRequest()).models
    assert [e.name for e in listed] == [CONTENT_MODEL, "models/just-a-name", own.name]
    # a model named only by name serves every method the fake serves (with a model)
    assert listed[1].supported_generation_methods == [
        "embedContent", "countTokens", "embedText", "countTextTokens", "generateText",
    ]  # fmt: skip
    assert (listed[2].version, listed[2].display_name) == ("7", "Mine")
    assert fake.dimension_of(own.name) == 12 and fake.dimension_of("models/just-a-name") == 768
    assert _run(fake, version, [("GetModel", m.GetModelRequest(name=EMBED_MODEL))])[0][0] is (
        Status.NOT_FOUND
    )


@per_version
def test_no_models_at_all(version: str) -> None:
    m = module(version)
    response = _ok(FakeServer(known_models=[]), version, "ListModels", m.ListModelsRequest())
    assert response.models == [] and response.next_page_token == ""


@per_version
def test_any_model_lists_the_default_catalogue_and_gets_any_name(version: str) -> None:
    m = module(version)
    fake = FakeServer(known_models=None)
    listed = _ok(fake, version, "ListModels", m.ListModelsRequest()).models
    assert [e.name for e in listed] == [e.name for e in DEFAULT_CATALOGUE]
    other = _ok(fake, version, "GetModel", m.GetModelRequest(name="models/whatever"))
    assert other.name == "models/whatever" and other.supported_generation_methods


def test_the_catalogue_checks_its_entries() -> None:
    with pytest.raises(ValueError, match="known_models: 'gecko' is not of the form"):
        FakeServer(known_models=["gecko"])
    with pytest.raises(ValueError, match="embedding_dimension must be between"):
        CatalogueModel("models/x", embedding_dimension=0)
    with pytest.raises(TypeError, match="collection of names"):
        FakeServer(known_models=CONTENT_MODEL)
    with pytest.raises(TypeError, match="strict_methods must be a bool, not str"):
        FakeServer(strict_methods="false")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sequence of names"):
        CatalogueModel("models/x", supported_generation_methods="embedContent")  # type: ignore[arg-type]
