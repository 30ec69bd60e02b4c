"""What the embedding functions return (each version's ``EmbeddingDict``, ``BatchEmbeddingDict``
and ``ArrayEmbeddingDict`` have the same shapes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:
    from textservice._numpy import Float32Array

__all__ = ["ArrayEmbedding", "Embeddings", "ManyEmbeddings", "OneEmbedding", "embeddings"]


class OneEmbedding(TypedDict):
    """The embedding of one text (the same shape as each version's ``EmbeddingDict``)."""

    embedding: list[float]


class ManyEmbeddings(TypedDict):
    """The embeddings of a sequence of texts (each version's ``BatchEmbeddingDict``)."""

    embedding: list[list[float]]


class ArrayEmbedding(TypedDict):
    """Embeddings as one float32 array (each version's ``ArrayEmbeddingDict``)."""

    embedding: Float32Array


Embeddings = OneEmbedding | ManyEmbeddings | ArrayEmbedding


def embeddings(value: Any) -> Embeddings:
    """``{"embedding": value}``: every output format's result has this one shape (which of
    the types above it is, the output strategy decided: ``_engine.output_formats``)."""
    return cast("Embeddings", {"embedding": value})
