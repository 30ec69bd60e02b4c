"""Correct uses of the facade: mypy --strict must accept this file and its assert_types."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import assert_type

import numpy
import numpy.typing

import textservice
from textservice import v1beta2, v1beta3
from textservice._proto.google.ai.generativelanguage import v1beta as pb
from textservice.v1beta import (
    ArrayEmbeddingDict,
    BatchEmbeddingDict,
    Completion,
    CountTextTokensResponseDict,
    EmbeddingDict,
)


async def use(client: textservice.Client, texts: Sequence[str]) -> None:
    one = textservice.generate_embeddings("models/embedding-gecko-001", "hello")
    assert_type(one, EmbeddingDict)
    assert_type(one["embedding"], list[float])
    many = textservice.generate_embeddings("models/embedding-gecko-001", ["a", "b"], client)
    assert_type(many, BatchEmbeddingDict)
    assert_type(many["embedding"], list[list[float]])
    assert_type(textservice.generate_embeddings("models/e", ("a",)), BatchEmbeddingDict)
    either = textservice.generate_embeddings("models/e", texts)
    assert_type(either, EmbeddingDict | BatchEmbeddingDict)
    awaited = await textservice.generate_embeddings_async("models/e", "x", client=client)
    assert_type(awaited, EmbeddingDict)
    assert_type(v1beta2.generate_embeddings("models/e", ["x"]), v1beta2.BatchEmbeddingDict)
    listed = textservice.generate_embeddings("models/e", ["x"], client, output="list")
    assert_type(listed, BatchEmbeddingDict)

    # output="numpy": one float32 array, whatever the text argument
    Float32 = numpy.typing.NDArray[numpy.float32]
    array = textservice.generate_embeddings("models/e", "x", output="numpy")
    assert_type(array, ArrayEmbeddingDict)
    assert_type(array["embedding"], Float32)
    assert_type(
        textservice.generate_embeddings("models/e", texts, output="numpy"), ArrayEmbeddingDict
    )
    arrays = await textservice.generate_embeddings_async("models/e", ["a"], output="numpy")
    assert_type(arrays["embedding"], Float32)
    old = v1beta2.generate_embeddings("models/e", ("a",), output="numpy")
    assert_type(old, v1beta2.ArrayEmbeddingDict)

    # iter_embeddings: lists or arrays per batch, in every version
    assert_type(textservice.iter_embeddings("models/e", texts), Iterator[list[list[float]]])
    assert_type(
        v1beta3.iter_embeddings("models/e", texts, batch_size=10, output="numpy"),
        Iterator[Float32],
    )
    stream = v1beta2.iter_embeddings_async("models/e", texts, progress=lambda d, t: None)
    assert_type(stream, AsyncIterator[list[list[float]]])
    async for batch in textservice.iter_embeddings_async("models/e", texts, output="numpy"):
        assert_type(batch, Float32)

    completion = textservice.generate_text(
        prompt="Write a haiku",
        temperature=0.5,
        candidate_count=2,
        stop_sequences="\n",
        safety_settings=[{"category": "HARM_CATEGORY_TOXICITY", "threshold": 2}],
        request_options={"timeout": 10.0, "retry": textservice.Retry(max_attempts=2)},
    )
    assert_type(completion, Completion)
    assert_type(completion["result"], str | None)
    assert_type(completion["candidates"][0]["output"], str)
    rating = completion["candidates"][0]["safety_ratings"][0]
    assert_type(rating["probability"], pb.SafetyRatingHarmProbability)
    assert_type(completion["filters"][0]["reason"], pb.ContentFilterBlockedReason)
    citation = completion["candidates"][0]["citation_metadata"]
    if citation is not None:
        assert_type(citation["citation_sources"][0]["start_index"], int | None)
    prompt = pb.TextPrompt(text="hi")
    assert_type(await textservice.generate_text_async(prompt=prompt), Completion)

    counted = textservice.count_text_tokens("models/text-bison-001", "hello", client)
    assert_type(counted, CountTextTokensResponseDict)
    assert_type(counted["token_count"], int)


def configured() -> None:
    client = textservice.configure(
        "key", endpoint="127.0.0.1:1", insecure=True, timeout=5, retry=None, max_concurrency=4
    )
    assert_type(client, textservice.Client)
    again = textservice.configure(retry=textservice.Retry(max_attempts=2))
    assert_type(again, textservice.Client)
    limited = textservice.configure(
        requests_per_minute=600, tokens_per_minute=1e6, quota_share=0.25, quota_time_scale=60
    )
    stats = limited.quota_stats()
    assert_type(stats, textservice.QuotaStats)
    assert_type(stats.waited, float)
    assert_type(stats.keys[textservice.QuotaKey("BatchEmbedText", "m")].limit, float)
