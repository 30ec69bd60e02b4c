"""The REST transport's pieces on their own: path templates, the HTTP form of a request (both
ways), the proto3 JSON mapping, Google's JSON error body and the HTTP status table."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest
from grpclib.const import Status
from hypothesis import given
from hypothesis import strategies as st
from support.transports import http_of

from textservice import (
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unknown,
)
from textservice._encoding import json_mapping
from textservice._encoding.arrays import array_reply
from textservice._proto.google import rpc
from textservice._proto.google.ai.generativelanguage import v1beta as pb
from textservice._transport.methods import HttpRule, MethodSpec
from textservice._transport.rest.errors import HTTP_STATUS, error_body, error_from_response
from textservice._transport.rest.http_call import (
    NoBinding,
    encode_request,
    request_from_http,
    route_of,
)
from textservice._transport.rest.templates import parse

MODEL = "models/gemini-embedding-001"


def spec(name: str, request: type, response: type, service: str = "GenerativeService") -> Any:
    return MethodSpec(
        f"google.ai.generativelanguage.v1beta.{service}",
        name,
        request,
        response,
        None,
        None,
        http_of("v1beta", service, name),
    )


BATCH = spec("BatchEmbedContents", pb.BatchEmbedContentsRequest, pb.BatchEmbedContentsResponse)
GENERATE = spec("GenerateContent", pb.GenerateContentRequest, pb.GenerateContentResponse)
LIST = spec("ListModels", pb.ListModelsRequest, pb.ListModelsResponse, "ModelService")
UPDATE = spec("UpdateTunedModel", pb.UpdateTunedModelRequest, pb.TunedModel, "ModelService")


# -- path templates ------------------------------------------------------------------------


def test_a_template_expands_and_matches_back() -> None:
    template = parse("/v1beta/{model=models/*}:batchEmbedContents")
    assert template.variables == ("model",)
    path = template.expand({"model": MODEL})
    assert path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert template.match(path) == {"model": MODEL}
    # a value of another form fits no binding of this template
    assert template.expand({"model": "tunedModels/x"}) is None
    assert template.expand({}) is None
    assert template.match("/v1beta/tunedModels/x:batchEmbedContents") is None


def test_nested_fields_bare_variables_and_escaping() -> None:
    template = parse("/v1beta/{tuned_model.name=tunedModels/*}")
    assert template.variables == ("tuned_model.name",)
    bare = parse("/v1/things/{id}")
    assert bare.expand({"id": "a b?"}) == "/v1/things/a%20b%3F"
    assert bare.match("/v1/things/a%20b%3F") == {"id": "a b?"}
    assert bare.expand({"id": "a/b"}) is None  # one segment only
    many = parse("/v1/{name=files/**}")
    assert many.expand({"name": "files/a/b"}) == "/v1/files/a/b"


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1))
def test_any_segment_value_round_trips(value: str) -> None:
    template = parse("/v1/{model=models/*}:x")
    path = template.expand({"model": f"models/{value}"})
    if "/" in value:
        assert path is None
    else:
        assert path is not None and template.match(path) == {"model": f"models/{value}"}


def test_stray_braces_are_refused() -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse("/v1/{model")


# -- requests as HTTP, and back ------------------------------------------------------------


def test_body_star_leaves_the_path_fields_out() -> None:
    request = pb.BatchEmbedContentsRequest(
        model=MODEL,
        requests=[
            pb.EmbedContentRequest(
                model=MODEL,
                content=pb.Content(parts=[pb.Part(text="hi")]),
                task_type=pb.TaskType.RETRIEVAL_QUERY,
                output_dimensionality=8,
            )
        ],
    )
    call = encode_request(BATCH, request)
    assert (call.verb, call.path, call.query) == (
        "POST",
        "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        (),
    )
    assert call.body is not None
    body = json_mapping.loads(call.body)
    assert body == {
        "requests": [
            {
                "model": MODEL,
                "content": {"parts": [{"text": "hi"}]},
                "taskType": "RETRIEVAL_QUERY",
                "outputDimensionality": 8,
            }
        ]
    }
    found = route_of([BATCH], "POST", call.path)
    assert found is not None
    method, rule, values = found
    assert request_from_http(method, rule, values, [], body) == request


def test_additional_bindings_are_tried_in_order() -> None:
    request = pb.GenerateContentRequest(model="tunedModels/mine")
    assert encode_request(GENERATE, request).path == "/v1beta/tunedModels/mine:generateContent"
    with pytest.raises(NoBinding, match="fits none of its bindings"):
        encode_request(GENERATE, pb.GenerateContentRequest(model="elsewhere/x"))


def test_get_sends_the_fields_as_query_parameters() -> None:
    call = encode_request(LIST, pb.ListModelsRequest(page_size=50, page_token="next"))
    assert (call.verb, call.path, call.body) == ("GET", "/v1beta/models", None)
    assert call.query == (("pageSize", "50"), ("pageToken", "next"))
    found = route_of([LIST], "GET", "/v1beta/models")
    assert found is not None
    # either spelling of a name is read (the proto3 JSON spec's rule for parsers)
    for query in (call.query, (("page_size", "50"), ("page_token", "next"))):
        request = request_from_http(found[0], found[1], found[2], query, None)
        assert request == pb.ListModelsRequest(page_size=50, page_token="next")


def test_a_field_body_with_a_nested_path_field() -> None:
    request = pb.UpdateTunedModelRequest(
        tuned_model=pb.TunedModel(name="tunedModels/mine", display_name="Mine")
    )
    call = encode_request(UPDATE, request)
    assert (call.verb, call.path) == ("PATCH", "/v1beta/tunedModels/mine")
    assert call.body is not None
    assert json_mapping.loads(call.body) == {"displayName": "Mine"}
    found = route_of([UPDATE], "PATCH", call.path)
    assert found is not None
    back = request_from_http(
        found[0], found[1], found[2], call.query, json_mapping.loads(call.body)
    )
    assert back == request


def test_unknown_fields_are_refused_by_the_server_side() -> None:
    found = route_of([BATCH], "POST", "/v1beta/models/x:batchEmbedContents")
    assert found is not None
    with pytest.raises(KeyError, match="bogus"):
        request_from_http(found[0], found[1], found[2], [], {"bogus": 1})
    with pytest.raises(KeyError, match="unknown query parameter"):
        request_from_http(found[0], found[1], found[2], [("nope", "1")], {})


# -- the JSON mapping ----------------------------------------------------------------------


def test_proto3_json_of_int64_bytes_enums_and_durations() -> None:
    blob = pb.Part(inline_data=pb.Blob(mime_type="image/png", data=b"\x89PNG"))
    assert json_mapping.to_json(blob) == {
        "inlineData": {"mimeType": "image/png", "data": "iVBORw=="}
    }
    usage = pb.CountTokensResponse(total_tokens=7)
    assert json_mapping.to_json(usage) == {"totalTokens": 7}
    info = rpc.RetryInfo(retry_delay=datetime.timedelta(seconds=38))
    assert json_mapping.any_to_json(info) == {
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        "retryDelay": "38s",
    }
    assert json_mapping.any_from_json({"@type": info_url(), "retryDelay": "1.5s"}) == rpc.RetryInfo(
        retry_delay=datetime.timedelta(seconds=1.5)
    )
    # only what follows the type URL's last "/" names the type
    for url in ("google.rpc.RetryInfo", "example.com/x/google.rpc.RetryInfo"):
        assert json_mapping.any_from_json({"@type": url, "retryDelay": "2s"}) == rpc.RetryInfo(
            retry_delay=datetime.timedelta(seconds=2)
        )


def info_url() -> str:
    return "type.googleapis.com/google.rpc.RetryInfo"


def test_responses_ignore_unknown_fields_and_give_float32() -> None:
    data = b'{"embeddings": [{"values": [0.1, 2]}], "usageMetadata": {"x": 1}}'
    response = json_mapping.message_from_json(pb.BatchEmbedContentsResponse, data)
    assert response.embeddings[0].values == [0.10000000149011612, 2.0]
    model = json_mapping.message_from_json(pb.Model, b'{"name": "m", "temperature": 0.7, "new": 1}')
    assert model.temperature == 0.699999988079071
    for bad in (b'["a"]', b"[null]", b"[[1]]", b'{"a": 1}'):
        with pytest.raises((TypeError, ValueError)):
            json_mapping.message_from_json(
                pb.BatchEmbedContentsResponse, b'{"embeddings": [{"values": %s}]}' % bad
            )
    with pytest.raises(ValueError):
        json_mapping.message_from_json(pb.Model, b"<html>")


@pytest.mark.parametrize("output", ["message", "array"])
def test_floats_in_every_spelling_a_server_writes(output: str) -> None:
    # proto3 JSON's strings (names and digits), Python's bare words, numbers past float32 and
    # past a double: all read, the non-finite ones as what they mean (the engine refuses them)
    data = (
        b'{"embeddings": [{"values": ["NaN", "Infinity", "-Infinity", "1.5", 0.5, 1e39, -1e400]},'
        b' {"values": [NaN, Infinity, -Infinity, 2, 1e-50, 3.4028234663852886e38, 1e400]}]}'
    )
    if output == "message":
        response = json_mapping.message_from_json(pb.BatchEmbedContentsResponse, data)
        rows = [e.values for e in response.embeddings]
    else:
        reply = array_reply(pb.BatchEmbedContentsResponse)
        assert reply is not None
        rows = reply.FromJson(data).tolist()  # type: ignore[union-attr]
    inf = math.inf
    assert [[str(v) for v in row] for row in rows] == [
        [str(v) for v in [math.nan, inf, -inf, 1.5, 0.5, inf, -inf]],
        [str(v) for v in [math.nan, inf, -inf, 2.0, 0.0, 3.4028234663852886e38, inf]],
    ]
    assert json_mapping.float_to_json(math.nan) == "NaN"
    assert [json_mapping.float_to_json(v) for v in (inf, -inf, 0.25)] == [
        "Infinity",
        "-Infinity",
        0.25,
    ]


# -- errors --------------------------------------------------------------------------------


def test_googles_error_body_becomes_the_typed_error_with_its_details() -> None:
    body = (
        b'{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED",'
        b' "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations":'
        b' [{"quotaMetric": "m", "quotaId": "EmbedPerMinute", "quotaValue": "100"}]},'
        b' {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "38s"},'
        b' {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"url": "https://x"}]},'
        b' {"@type": "type.googleapis.com/some.Unknown", "a": 1}]}}'
    )
    error = error_from_response(429, body)
    assert isinstance(error, ResourceExhausted)
    assert error.message == "Quota exceeded"
    assert error.retry_delay == 38.0
    assert error.quota_id == "EmbedPerMinute" and error.quota_value == 100
    assert isinstance(error.details[2], rpc.Help)
    assert error.details[3] == {"@type": "type.googleapis.com/some.Unknown", "a": 1}


def test_error_bodies_round_trip_through_the_fakes_writer() -> None:
    details = [
        rpc.ErrorInfo(reason="API_KEY_INVALID", domain="googleapis.com"),
        rpc.BadRequest(field_violations=[rpc.BadRequestFieldViolation(field="requests")]),
    ]
    error = error_from_response(400, error_body(Status.INVALID_ARGUMENT, "bad", details))
    assert isinstance(error, InvalidArgument)
    assert list(error.details) == details


def test_a_body_without_a_status_takes_the_http_codes() -> None:
    assert isinstance(error_from_response(404, b'{"error": {"code": 404}}'), NotFound)
    assert isinstance(error_from_response(401, b'{"error": {"message": "k"}}'), Unauthenticated)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (502, b"<html><body>Bad Gateway</body></html>", Unavailable),
        (503, b"", Unavailable),
        (504, b"upstream timed out", Unavailable),
        (429, b"slow down", Unavailable),
        (403, b"<html>Forbidden by proxy</html>", Unknown),
        (500, b'{"unexpected": true}', Unknown),
        (400, b'["not", "an", "object"]', Unknown),
    ],
)
def test_a_page_that_is_not_googles_error_body_is_a_clear_error(
    status: int, body: bytes, kind: type
) -> None:
    error = error_from_response(status, body)
    assert type(error) is kind
    assert f"HTTP {status}" in error.message


def test_the_status_table_covers_every_code() -> None:
    assert set(HTTP_STATUS) == set(Status)
    wanted = {
        Status.INVALID_ARGUMENT: 400,
        Status.UNAUTHENTICATED: 401,
        Status.PERMISSION_DENIED: 403,
        Status.NOT_FOUND: 404,
        Status.RESOURCE_EXHAUSTED: 429,
        Status.INTERNAL: 500,
        Status.UNAVAILABLE: 503,
        Status.DEADLINE_EXCEEDED: 504,
    }
    assert {code: HTTP_STATUS[code] for code in wanted} == wanted


def test_a_method_without_bindings_cannot_go_over_rest() -> None:
    bare = MethodSpec("s", "M", pb.CountTokensRequest, pb.CountTokensResponse, None, None)
    with pytest.raises(NoBinding, match=r"M has no REST binding .* transport=\"grpc\""):
        encode_request(bare, pb.CountTokensRequest(model=MODEL))
    assert HttpRule("GET", "/x").body == ""


@pytest.mark.parametrize("code", [c for c in Status if c is not Status.OK], ids=lambda c: c.name)
def test_every_code_round_trips_through_the_body_and_its_status(code: Status) -> None:
    error = error_from_response(HTTP_STATUS[code], error_body(code, "m"))
    assert error.code is code and error.message == "m"
    # without a "status" the HTTP status decides: the first code listed with it
    bare = error_from_response(HTTP_STATUS[code], b'{"error": {"message": "m"}}')
    assert HTTP_STATUS[bare.code] == HTTP_STATUS[code]


def test_either_spelling_of_a_name_is_read_in_bodies_and_replies() -> None:
    found = route_of([BATCH], "POST", "/v1beta/models/gemini-embedding-001:batchEmbedContents")
    assert found is not None
    camel = {"requests": [{"content": {"parts": [{"text": "a"}]}, "taskType": "CLUSTERING",
                           "outputDimensionality": "8"}]}  # fmt: skip
    snake = {"requests": [{"content": {"parts": [{"text": "a"}]}, "task_type": "CLUSTERING",
                           "output_dimensionality": 8}]}  # fmt: skip
    read = [request_from_http(found[0], found[1], found[2], [], body) for body in (camel, snake)]
    assert read[0] == read[1]
    assert read[0].requests[0].output_dimensionality == 8
    model = json_mapping.message_from_json(pb.Model, b'{"input_token_limit": "2048"}')
    assert model.input_token_limit == 2048
