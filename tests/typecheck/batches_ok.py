"""Correct uses of Batch mode's results: mypy --strict must accept this file and its
assert_types (one overload set serves ``embeddings`` and ``embeddings_async``)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, assert_type

import numpy
import numpy.typing

import textservice
from textservice import batches
from textservice._facade.results import ArrayEmbedding, ManyEmbeddings


async def use(client: textservice.Client) -> None:
    lists = batches.embeddings("batches/b", client=client)
    assert_type(lists, ManyEmbeddings)
    assert_type(lists["embedding"], list[list[float]])
    assert_type(batches.embeddings("batches/b", output="list", normalize=True), ManyEmbeddings)
    array = batches.embeddings("batches/b", output="numpy", client=client)
    assert_type(array, ArrayEmbedding)
    assert_type(array["embedding"], numpy.typing.NDArray[numpy.float32])

    pending = batches.embeddings_async("batches/b", client=client)
    _ = assert_type(pending, Coroutine[Any, Any, ManyEmbeddings])  # (_: not an unused coroutine)
    assert_type(await pending, ManyEmbeddings)
    awaited = await batches.embeddings_async("batches/b", output="numpy", request_options={})
    assert_type(awaited, ArrayEmbedding)
    assert_type(asyncio.run(batches.embeddings_async("batches/b")), ManyEmbeddings)
