"""``expected_embedding`` and friends: deterministic, float32, following the documented recipe."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.reference_server import embedding as recipe_with_numpy  # written apart from the fake

from textservice.testing import (
    DEFAULT_DIMENSION,
    expected_completion,
    expected_content_embedding,
    expected_embedding,
    expected_token_count,
)
from textservice.testing.catalogue import MAX_DIMENSION
from textservice.testing.vectors import embedding_bytes

MODEL = "models/embedding-gecko-001"


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=30), st.sampled_from([MODEL, "tunedModels/x", "models/é"]))
def test_matches_the_documented_recipe(text: str, model: str) -> None:
    assert expected_embedding(model, text, 64) == recipe_with_numpy(model, text, 64)


TASK_TYPES = st.sampled_from(["", "RETRIEVAL_DOCUMENT", "RETRIEVAL_QUERY", "CLUSTERING"])


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=30), TASK_TYPES, st.text(max_size=10))
def test_content_embeddings_match_the_documented_recipe(text: str, task: str, title: str) -> None:
    model = "models/gemini-embedding-001"
    expected = recipe_with_numpy(model, text, 3072, task, title)
    assert expected_content_embedding(model, text, task or None, title or None) == expected
    assert expected_content_embedding(model, text, task.lower(), title, 16) == expected[:16]


def test_content_embeddings_without_options_are_text_embeddings() -> None:
    for model in (MODEL, "models/gemini-embedding-001", "tunedModels/t"):
        for task in (None, "", "TASK_TYPE_UNSPECIFIED", "task_type_unspecified"):
            assert expected_content_embedding(model, "x", task) == expected_embedding(model, "x")


def test_task_type_and_title_are_part_of_the_vector() -> None:
    model = "models/gemini-embedding-001"
    vectors = {
        tuple(expected_content_embedding(model, "x", task, title, 8))
        for task, title in [
            (None, None),
            ("RETRIEVAL_QUERY", None),
            ("RETRIEVAL_DOCUMENT", None),
            ("RETRIEVAL_DOCUMENT", "t"),
            ("RETRIEVAL_DOCUMENT", "u"),
        ]
    }
    assert len(vectors) == 5


def test_dimension_follows_the_default_catalogue() -> None:
    assert len(expected_embedding("models/gemini-embedding-001", "x")) == 3072
    assert len(expected_content_embedding("models/gemini-embedding-001", "x")) == 3072
    assert len(expected_content_embedding(MODEL, "x")) == 768
    assert len(expected_content_embedding("models/not-listed", "x")) == 768
    assert len(expected_content_embedding("models/not-listed", "x", dimension=5)) == 5


def test_task_type_names_and_members() -> None:
    from textservice._proto.google.ai.generativelanguage import v1

    member = v1.TaskType.SEMANTIC_SIMILARITY
    assert expected_content_embedding(MODEL, "x", member) == expected_content_embedding(
        MODEL, "x", "semantic_similarity"
    )
    with pytest.raises(TypeError, match="task_type must be a name"):
        expected_content_embedding(MODEL, "x", 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="title must be a str"):
        expected_content_embedding(MODEL, "x", "CLUSTERING", b"t")  # type: ignore[arg-type]


def test_default_dimension_and_determinism() -> None:
    first = expected_embedding(MODEL, "hello")
    assert len(first) == DEFAULT_DIMENSION == 768
    assert expected_embedding(MODEL, "hello") == first
    assert expected_embedding(MODEL, "hello!") != first
    assert expected_embedding("models/text-bison-001", "hello") != first


def test_values_are_float32_in_the_documented_range() -> None:
    values = expected_embedding(MODEL, "range check", 4096)
    for value in values:
        assert struct.unpack("<f", struct.pack("<f", value))[0] == value  # exactly float32
        assert 2**-7 <= abs(value) < 2**-5
    assert any(v < 0 for v in values) and any(v > 0 for v in values)
    assert embedding_bytes(MODEL, "range check", 4096) == struct.pack("<4096f", *values)


def test_smaller_dimension_is_a_prefix() -> None:
    assert expected_embedding(MODEL, "x", 16) == expected_embedding(MODEL, "x", 768)[:16]


def test_model_and_text_boundary_is_unambiguous() -> None:
    # the model's length is part of the seed, so moving characters across the boundary matters
    assert expected_embedding("models/ab", "c", 8) != expected_embedding("models/a", "bc", 8)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((1, "t"), TypeError, "model must be a str"),
        ((MODEL, b"t"), TypeError, "text must be a str"),
        ((MODEL, "t", 0), ValueError, "dim must be between 1"),
        ((MODEL, "t", MAX_DIMENSION + 1), ValueError, "dim must be between 1"),
        ((MODEL, "t", 2.0), TypeError, "dim must be an int"),
        ((MODEL, "t", True), TypeError, "dim must be an int"),
        ((MODEL, "\ud800"), ValueError, "text is not encodable"),
    ],
)
def test_bad_arguments(args: tuple[object, ...], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        expected_embedding(*args)  # type: ignore[arg-type]


def test_token_count() -> None:
    assert expected_token_count("") == 0
    assert expected_token_count("Hello, world!") == 4  # Hello , world !
    assert expected_token_count("  spaced   out  ") == 2
    assert expected_token_count("naïve café") == 2
    with pytest.raises(TypeError, match="text must be a str"):
        expected_token_count(3)  # type: ignore[arg-type]


def test_completion() -> None:
    text = expected_completion("models/text-bison-001", "Say hi", 1)
    assert text == "Completion 2 by models/text-bison-001: Say hi"
    short = expected_completion("models/text-bison-001", "Say hi", 0, max_output_tokens=3)
    assert short == "Completion 1 by"
    assert expected_completion("models/m", "p", 0, max_output_tokens=0) == ""
    assert expected_completion("models/m", "p", 0, max_output_tokens=1000).endswith(": p")
    with pytest.raises(ValueError, match="index"):
        expected_completion("models/m", "p", -1)
