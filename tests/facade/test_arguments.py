"""Argument checks done before any network call (model, texts, options, metadata)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from textservice._checks import check_count, check_model, check_seconds, check_text
from textservice._transport.callpath import check_metadata
from textservice._transport.options import RequestOptions, check_request_options
from textservice.retry import Retry


@dataclass
class FakeModel:
    name: object


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("models/embedding-gecko-001", "models/embedding-gecko-001"),
        ("tunedModels/my-model-123", "tunedModels/my-model-123"),
        (FakeModel("models/text-bison-001"), "models/text-bison-001"),
        # a bare id gets "models/", as google-genai's t_model gives it
        ("gemini-embedding-001", "models/gemini-embedding-001"),
        ("embedding-gecko-001", "models/embedding-gecko-001"),
        (FakeModel("gemini-embedding-2"), "models/gemini-embedding-2"),
        ("models", "models/models"),
    ],
)
def test_check_model_accepts_resource_names(model: object, expected: str) -> None:
    assert check_model(model) == expected


@pytest.mark.parametrize(
    "name",
    [
        "model/x",
        "models/",
        "tunedModels/",
        "",
        " ",
        "gemini embedding",
        "gemini-embedding-001 ",
        "\tgemini",
        "/gemini-embedding-001",
        "gemini-embedding-001/",
        "publishers/google/models/x",
        "models/a/b",
        "models//x",
    ],
)
def test_check_model_rejects_bad_names(name: str) -> None:
    with pytest.raises(ValueError, match="model name must start with"):
        check_model(name)


@pytest.mark.parametrize("model", [None, 3, b"models/x", FakeModel(5), object()])
def test_check_model_rejects_wrong_types(model: object) -> None:
    with pytest.raises(TypeError, match="model must be"):
        check_model(model)


def test_check_text_single_and_many() -> None:
    assert check_text("hello") == "hello"
    assert check_text(["a", "b"]) == ["a", "b"]
    assert check_text(("a", "b")) == ["a", "b"]
    assert check_text(t for t in ["x", "y", "z"]) == ["x", "y", "z"]
    source = ["a"]
    copied = check_text(source)
    assert copied == source and copied is not source


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "got NoneType"),
        (b"abc", "decode bytes"),
        (bytearray(b"abc"), "decode bytes"),
        (5, "got int"),
        (1.5, "got float"),
        ({"a": 1}, "no order"),
        ({"a", "b"}, "no order"),
        (["a", 3], r"text\[1\] must be a str, got int"),
        (["a", ["b"]], r"text\[1\].*nested"),
        ([None], r"text\[0\] must be a str, got NoneType"),
        ([b"x"], r"text\[0\] must be a str, got bytes"),
    ],
)
def test_check_text_rejects(text: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        check_text(text)


def test_check_request_options_defaults_and_values() -> None:
    assert check_request_options(None) == RequestOptions()
    assert check_request_options({}) == RequestOptions()
    policy = Retry(max_attempts=2)
    options = check_request_options({"timeout": 2, "retry": policy})
    assert options.timeout == 2.0 and options.retry is policy
    disabled = check_request_options({"timeout": None, "retry": None})
    assert disabled.timeout is None and disabled.retry is None
    assert check_request_options({"timeout": math.inf}).timeout is None


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"timeuot": 3}, TypeError, "unknown keys 'timeuot'"),
        ({"timeout": -1}, ValueError, "positive"),
        ({"timeout": 0}, ValueError, "positive"),
        ({"timeout": math.nan}, ValueError, "positive"),
        ({"timeout": "3"}, TypeError, "number of seconds"),
        ({"timeout": True}, TypeError, "number of seconds"),
        ({"retry": 3}, TypeError, "textservice.Retry or None"),
        ({"retry": {"max_attempts": 3}}, TypeError, "textservice.Retry or None"),
        ([("timeout", 3)], TypeError, "must be a mapping"),
    ],
)
def test_check_request_options_rejects(
    options: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        check_request_options(options)


def test_check_timeout_and_concurrency() -> None:
    assert check_seconds(None) is None
    assert check_seconds(0.5) == 0.5
    assert check_count(1, "max_concurrency") == 1
    with pytest.raises(ValueError, match="max_concurrency must be >= 1"):
        check_count(0, "max_concurrency")
    with pytest.raises(TypeError, match="max_concurrency must be an int"):
        check_count(2.0, "max_concurrency")
    with pytest.raises(TypeError, match="max_concurrency must be an int"):
        check_count(True, "max_concurrency")


def test_check_metadata() -> None:
    assert check_metadata(None) == ()
    assert check_metadata({"x-team": "a"}) == (("x-team", "a"),)
    assert check_metadata([("x-a", "1"), ("x-a", "2"), ("x-b-bin", b"\0")]) == (
        ("x-a", "1"),
        ("x-a", "2"),
        ("x-b-bin", b"\0"),
    )
    with pytest.raises(ValueError, match="pass api_key="):
        check_metadata({"x-goog-api-key": "k"})
    with pytest.raises(ValueError, match="lowercase"):
        check_metadata({"X-Team": "a"})
    with pytest.raises(TypeError, match="must be bytes"):
        check_metadata({"x-b-bin": "text"})
    with pytest.raises(TypeError, match="must be str"):
        check_metadata({"x-a": 1})
    with pytest.raises(TypeError, match="mapping or a sequence"):
        check_metadata("x-a=1")
