"""Correct uses of embed_content, count_tokens and the ModelService functions: mypy --strict
must accept this file and its assert_types."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import assert_type

import numpy
import numpy.typing

import textservice
from textservice import v1
from textservice._proto.google.ai.generativelanguage import v1beta as pb
from textservice.v1beta import (
    ArrayEmbeddingDict,
    BatchEmbeddingDict,
    CountTokensResponseDict,
    EmbeddingDict,
    ModelDict,
)

MODEL = "models/gemini-embedding-001"


async def use(
    client: textservice.Client, texts: Sequence[str], items: list[str | Mapping[str, str | None]]
) -> None:
    one = textservice.embed_content(MODEL, "hello")
    assert_type(one, EmbeddingDict)
    assert_type(one["embedding"], list[float])
    titled = textservice.embed_content(MODEL, {"text": "t", "title": "T"}, "document")
    assert_type(titled, EmbeddingDict)
    many = textservice.embed_content(MODEL, ["a", "b"], client=client)
    assert_type(many, BatchEmbeddingDict)
    assert_type(many["embedding"], list[list[float]])
    assert_type(textservice.embed_content(MODEL, items, task_type=2), BatchEmbeddingDict)
    assert_type(textservice.embed_content(MODEL, ("a",)), BatchEmbeddingDict)
    either = textservice.embed_content(MODEL, texts, task_type=pb.TaskType.RETRIEVAL_QUERY)
    assert_type(either, EmbeddingDict | BatchEmbeddingDict)
    awaited = await textservice.embed_content_async(MODEL, "x", output_dimensionality=768)
    assert_type(awaited, EmbeddingDict)
    stable = v1.embed_content(MODEL, ["x"], normalize=True)
    assert_type(stable, v1.BatchEmbeddingDict)

    Float32 = numpy.typing.NDArray[numpy.float32]
    array = textservice.embed_content(MODEL, texts, output="numpy", normalize=True)
    assert_type(array, ArrayEmbeddingDict)
    assert_type(array["embedding"], Float32)
    arrays = await v1.embed_content_async(MODEL, "x", output="numpy")
    assert_type(arrays["embedding"], Float32)

    assert_type(textservice.iter_embed_content(MODEL, texts), Iterator[list[list[float]]])
    assert_type(
        v1.iter_embed_content(MODEL, items, task_type="query", output="numpy"), Iterator[Float32]
    )
    stream = textservice.iter_embed_content_async(MODEL, texts, batch_size=50)
    assert_type(stream, AsyncIterator[list[list[float]]])

    counted = textservice.count_tokens(MODEL, "how many tokens?")
    assert_type(counted, CountTokensResponseDict)
    assert_type(counted["total_tokens"], int)
    assert_type((await v1.count_tokens_async(MODEL, ["a", "b"]))["total_tokens"], int)

    for model in textservice.list_models(page_size=50):
        assert_type(model, ModelDict)
        assert_type(model["supported_generation_methods"], list[str])
    async for listed in v1.list_models_async():
        assert_type(listed["name"], str)
    assert_type(textservice.get_model(MODEL)["input_token_limit"], int)
    tuned = textservice.get_tuned_model("tunedModels/t")
    if tuned["create_time"] is not None:
        assert_type(tuned["create_time"].year, int)  # a datetime
    assert_type(textservice.delete_tuned_model("tunedModels/t"), textservice.v1beta.EmptyDict)
