"""Embedding requests written by hand (``embed_requests``), of both services, equal
betterproto2's bytes and its proto3 JSON, and each form is written only when asked for."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest
from grpclib.encoding.proto import ProtoCodec
from hypothesis import given, settings
from hypothesis import strategies as st

from textservice._encoding import request_forms
from textservice._encoding.codec import Codec
from textservice._encoding.embed_requests import (
    ContentFields,
    ContentRequests,
    Document,
    TextRequests,
    prebuilt,
)
from textservice._encoding.json_mapping import to_json

VERSIONS = ("v1", "v1beta")
TEXT_VERSIONS = ("v1beta2", "v1beta3", "v1beta")
BATCH_TEXT_VERSIONS = ("v1beta3", "v1beta")


def _pb(version: str) -> ModuleType:
    return importlib.import_module(f"textservice._proto.google.ai.generativelanguage.{version}")


texts = st.text(max_size=40)  # "" and any code point but lone surrogates (never accepted)
titles = st.none() | st.text(max_size=20)
documents = st.builds(Document, texts, titles)


def _template(pb: ModuleType, model: str, task: int | None, title: str | None, dim: int | None):  # type: ignore[no-untyped-def]
    request = pb.EmbedContentRequest(model=model)
    if task is not None:
        request.task_type = pb.TaskType(task)
    if title is not None:
        request.title = title
    if dim is not None:
        request.output_dimensionality = dim
    return request


def _expected(pb: ModuleType, template, item: Document):  # type: ignore[no-untyped-def]
    """The same request, built the ordinary way."""
    title = template.title if item.title is None else item.title
    return pb.EmbedContentRequest(
        model=template.model,
        content=pb.Content(parts=[pb.Part(text=item.text)]),
        task_type=template.task_type,
        title=title,
        output_dimensionality=template.output_dimensionality,
    )


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=150, deadline=None)
@given(
    model=st.sampled_from(["models/gemini-embedding-001", "models/é", ""]),
    task=st.none() | st.integers(0, 7),
    title=titles,
    dim=st.none() | st.integers(-(2**31), 2**31 - 1),
    items=st.lists(documents, max_size=5),
)
def test_the_bytes_are_betterproto2s(
    version: str,
    model: str,
    task: int | None,
    title: str | None,
    dim: int | None,
    items: list[Document],
) -> None:
    pb = _pb(version)
    template = _template(pb, model, task, title, dim)
    requests = ContentRequests(template, ContentFields(), pb.BatchEmbedContentsRequest(model=model))
    for item in items:
        one = requests.one(item)
        assert bytes(one) == bytes(_expected(pb, template, item))
        # the REST transport's JSON of it is betterproto2's proto3 JSON of the same message
        assert to_json(one) == _expected(pb, template, item).to_dict()
    batch = requests.many(items)
    expected = pb.BatchEmbedContentsRequest(
        model=model, requests=[_expected(pb, template, i) for i in items]
    )
    assert bytes(batch) == bytes(expected)
    assert to_json(batch) == expected.to_dict()


def test_prebuilt_messages_work_with_any_grpclib_codec_and_read_like_the_message() -> None:
    pb = _pb("v1beta")
    template = pb.EmbedContentRequest(
        model="models/m", task_type=pb.TaskType.RETRIEVAL_DOCUMENT, output_dimensionality=8
    )
    requests = ContentRequests(
        template, ContentFields(), pb.BatchEmbedContentsRequest(model="models/m")
    )
    batch = requests.many([Document("a", "T"), Document("b")])
    assert isinstance(batch, pb.BatchEmbedContentsRequest)
    wire = bytes(batch)
    assert ProtoCodec().encode(batch, pb.BatchEmbedContentsRequest) == wire
    assert Codec().encode(batch, pb.BatchEmbedContentsRequest) == wire
    # the model is known without decoding (the rate governor reads it from every request)
    assert batch.__dict__["model"] == "models/m" and "_textservice_decoded" not in batch.__dict__
    assert requests.one(Document("a")).__dict__["model"] == "models/m"
    # other fields are decoded from the bytes when read (a debugger, a log of the request)
    assert batch.model == "models/m"
    assert [r.content.parts[0].text for r in batch.requests] == ["a", "b"]
    assert [r.title for r in batch.requests] == ["T", None]
    assert batch.requests[0].output_dimensionality == 8
    assert repr(batch) == f"<prebuilt BatchEmbedContentsRequest: {len(wire)} bytes>"
    with pytest.raises(AttributeError):
        batch.no_such_field  # noqa: B018


def test_prebuilt_of_any_message_type() -> None:
    pb = _pb("v1beta")
    message = prebuilt(pb.CountTokensRequest, b"\x0a\x01m")
    assert bytes(message) == b"\x0a\x01m" and message.model == "m"
    assert type(message) is type(prebuilt(pb.CountTokensRequest, b""))  # one class per type


def test_a_batch_needs_a_batch_template() -> None:
    pb = _pb("v1")
    requests = ContentRequests(pb.EmbedContentRequest(model="models/m"), ContentFields())
    with pytest.raises(TypeError, match="no batch request type"):
        requests.many([Document("a")])


def test_fields_that_are_not_what_they_are_named_for_are_refused() -> None:
    pb = _pb("v1beta")
    with pytest.raises(TypeError, match="is not a string"):
        ContentRequests(pb.EmbedContentRequest(), ContentFields(title="output_dimensionality"))
    with pytest.raises(TypeError, match="not repeated requests"):
        ContentRequests(
            pb.EmbedContentRequest(), ContentFields(), pb.BatchEmbedContentsRequest(), "model"
        )


# -- TextService: EmbedText and BatchEmbedText --------------------------------------------------

models = st.sampled_from(["models/embedding-gecko-001", "models/é", ""])


@pytest.mark.parametrize("version", TEXT_VERSIONS)
@settings(max_examples=100, deadline=None)
@given(model=models, text=texts)
def test_embed_text_requests_are_betterproto2s(version: str, model: str, text: str) -> None:
    pb = _pb(version)
    request = TextRequests(pb.EmbedTextRequest, "text")(model, text)
    expected = pb.EmbedTextRequest(model=model, text=text)
    assert isinstance(request, pb.EmbedTextRequest)
    assert bytes(request) == bytes(expected)
    assert Codec().encode(request, pb.EmbedTextRequest) == bytes(expected)
    assert to_json(request) == expected.to_dict()


@pytest.mark.parametrize("version", BATCH_TEXT_VERSIONS)
@settings(max_examples=100, deadline=None)
@given(model=models, batch=st.lists(texts, max_size=6))
def test_batch_embed_text_requests_are_betterproto2s(
    version: str, model: str, batch: list[str]
) -> None:
    pb = _pb(version)
    request = TextRequests(pb.BatchEmbedTextRequest, "texts")(model, batch)
    expected = pb.BatchEmbedTextRequest(model=model, texts=batch)
    assert bytes(request) == bytes(expected)
    assert to_json(request) == expected.to_dict()
    # every field reads as it was given, with nothing decoded (the quotas read the texts)
    assert (request.model, request.texts) == (model, batch)
    assert "_textservice_decoded" not in request.__dict__


def test_each_form_is_written_only_when_a_transport_asks_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pb = _pb("v1beta")
    written: list[str] = []
    for name, encoder in list(request_forms.ENCODERS.items()):

        def counted(nodes: list[Any], name: str = name, encoder: Any = encoder) -> Any:
            written.append(name)
            return encoder(nodes)

        monkeypatch.setitem(request_forms.ENCODERS, name, counted)
    template = pb.EmbedContentRequest(model="models/m")
    requests = ContentRequests(template, ContentFields(), pb.BatchEmbedContentsRequest())
    batch = requests.many([Document("a"), Document("b")])
    assert written == []  # described, not yet written in either form
    assert to_json(batch)["requests"][0]["content"] == {"parts": [{"text": "a"}]}
    assert written == ["json"]  # the REST transport's form only
    wire = Codec().encode(batch, pb.BatchEmbedContentsRequest)
    assert bytes(batch) == wire and written == ["json", "wire"]  # written once, then kept
    text = TextRequests(pb.EmbedTextRequest, "text")("models/m", "a")
    assert Codec().encode(text, pb.EmbedTextRequest) == bytes(
        pb.EmbedTextRequest(model="models/m", text="a")
    )
    assert written == ["json", "wire", "wire"]  # both services' requests, one path


def test_text_requests_refuse_fields_that_are_not_strings() -> None:
    pb = _pb("v1beta")
    with pytest.raises(TypeError, match=r"BatchEmbedTextRequest.requests is not a string"):
        TextRequests(pb.BatchEmbedTextRequest, "requests")("models/m", [])
    with pytest.raises(TypeError, match=r"EmbedTextRequest.nope is not a string"):
        TextRequests(pb.EmbedTextRequest, "nope")("models/m", "a")


def test_a_prebuilt_request_equals_the_plain_message_it_describes() -> None:
    pb = _pb("v1beta")
    one = TextRequests(pb.EmbedTextRequest, "text")
    request = one("models/m", "a")
    assert request == pb.EmbedTextRequest(model="models/m", text="a")
    assert pb.EmbedTextRequest(model="models/m", text="a") == request
    assert request == one("models/m", "a")
    assert request != pb.EmbedTextRequest(model="models/m", text="b")
    assert request != pb.CountTextTokensRequest(model="models/m")
