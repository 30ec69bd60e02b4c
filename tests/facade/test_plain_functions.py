"""Plain functions: every unary RPC without a friendly function gets one, typed by its request
and response (ModelService's tuned models, GenerativeService's GenerateContent, ...).

Against the recording servicer of ``tests/content_server.py``; results are checked against
their TypedDicts (``facade_checks.check_conforms``), well-known types included.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Iterator

import pytest
from grpclib.const import Cardinality
from support.content_server import MODELS, UPDATED, Recorded, client_for, proto
from support.facade_checks import check_conforms

import textservice
from codegen.names import snake_name
from textservice import v1beta
from textservice.client import Client
from textservice.testing.versions import api_versions
from textservice.v1beta.types import GenerateContentResponseDict, PartDict

MODEL = "models/gemini-2.5-flash"


@pytest.fixture
def served() -> Iterator[tuple[Client, Recorded]]:
    client, recorded = client_for("v1beta")
    with client:
        yield client, recorded


def _first_part(result: GenerateContentResponseDict) -> PartDict:
    """The first part of the first candidate's content (which the servicer always sets)."""
    content = result["candidates"][0]["content"]
    assert content is not None
    return content["parts"][0]


def _returns(function: typing.Any) -> typing.Any:
    return typing.get_type_hints(function)["return"]


def test_generate_content_takes_a_str_and_returns_its_typed_dict(
    served: tuple[Client, Recorded],
) -> None:
    client, recorded = served
    result = v1beta.generate_content(MODEL, "hello", client=client)
    assert _first_part(result)["text"] == "echo: hello"
    check_conforms(result, _returns(v1beta.generate_content), "generate_content")
    (request,) = recorded.of("GenerateContent")
    pb = proto("v1beta")
    assert request.contents == [pb.Content(parts=[pb.Part(text="hello")])]
    both = v1beta.generate_content(
        MODEL, ["a", {"role": "user", "parts": [{"text": "b"}]}], client=client
    )
    assert _first_part(both)["text"] == "echo: a b"


def test_struct_results_are_json_like_values(served: tuple[Client, Recorded]) -> None:
    client, _ = served
    result = asyncio.run(v1beta.generate_content_async(MODEL, "call:Paris", client=client))
    call = _first_part(result)["function_call"]
    assert call is not None and call["name"] == "forecast"
    assert call["args"] == {"city": "Paris", "days": 3.0, "tags": [True]}
    check_conforms(result, _returns(v1beta.generate_content), "function call")


def test_a_paged_list_follows_every_page_lazily(served: tuple[Client, Recorded]) -> None:
    client, recorded = served
    models = v1beta.list_models(page_size=1, client=client)
    assert recorded.count("ListModels") == 0  # nothing fetched before iterating
    assert [m["name"] for m in models] == list(MODELS)
    assert [r.page_token for r in recorded.of("ListModels")] == ["", "1", "2"]
    for model in v1beta.list_models(client=client):
        check_conforms(model, typing.get_args(_returns(v1beta.list_models))[0], "model")


def test_a_page_token_sent_twice_is_an_error_not_an_endless_list() -> None:
    client, recorded = client_for("v1beta", repeat_token=True)
    with client, pytest.raises(textservice.Internal, match="page token '1' twice"):
        list(v1beta.list_models(page_size=1, client=client))
    assert recorded.count("ListModels") == 2


def test_well_known_types_in_and_out(served: tuple[Client, Recorded]) -> None:
    client, recorded = served
    # a FieldMask argument (google.protobuf), a datetime back (a Timestamp)
    updated = v1beta.update_tuned_model(
        {"name": "tunedModels/t", "display_name": "new"},
        update_mask={"paths": ["display_name"]},
        client=client,
    )
    assert updated["update_time"] == UPDATED and updated["display_name"] == "new"
    check_conforms(updated, _returns(v1beta.update_tuned_model), "tuned model")
    (request,) = recorded.of("UpdateTunedModel")
    assert request.update_mask.paths == ["display_name"]
    # google.protobuf.Empty back: an empty dict
    assert v1beta.delete_tuned_model("tunedModels/t", client=client) == {}
    # a long-running operation from another package, its Any metadata as type_url and bytes
    operation = v1beta.create_tuned_model(
        {"base_model": "models/x"}, tuned_model_id="mine", client=client
    )
    assert operation["name"] == "tunedModels/mine/operations/1"
    assert operation["metadata"] == {
        "type_url": "type.googleapis.com/x.Metadata",
        "value": b"\x08\x01",
    }
    check_conforms(operation, _returns(v1beta.create_tuned_model), "operation")


def test_bad_arguments_fail_before_any_call(served: tuple[Client, Recorded]) -> None:
    client, recorded = served
    with pytest.raises(TypeError, match="update_mask"):
        v1beta.update_tuned_model({"name": "t"}, update_mask=3, client=client)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="contents"):
        v1beta.generate_content(MODEL, 3, client=client)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"contents\[1\]"):
        v1beta.generate_content(MODEL, ["a", 3], client=client)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="name"):
        v1beta.get_model(3, client=client)  # type: ignore[arg-type]
    assert recorded.requests == {}


def test_every_unary_rpc_has_a_function_and_streaming_ones_none() -> None:
    # read from the generated service bases of every version (their routes and cardinalities):
    # a unary RPC is callable by its name in snake case (EmbedContentV2 -> embed_content_v2),
    # or through the friendly function of its shape; a streaming one has no function
    friendly = {"BatchEmbedContents": "embed_content", "EmbedText": "generate_embeddings",
                "BatchEmbedText": "generate_embeddings"}  # fmt: skip
    checked = 0
    for version in api_versions():
        facade = getattr(textservice, version.name)
        for service in version.services:
            for method, (_, handler) in zip(service.methods, service.handlers, strict=True):
                function = friendly.get(method, snake_name(method))
                if handler.cardinality is not Cardinality.UNARY_UNARY:
                    assert not hasattr(facade, function), (version.name, method)
                else:
                    assert callable(getattr(facade, function)), (version.name, method)
                    checked += 1
    assert checked >= 28  # v1: 6, v1beta: 16, v1beta3: 4, v1beta2: 2 (in today's protos)
