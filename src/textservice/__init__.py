"""textservice: a typed, fast client for the Generative Language API's TextService."""

from textservice.client import TextServiceClient, configure
from textservice.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    MissingAPIKeyError,
    NotFound,
    OutOfRange,
    PartialEmbeddings,
    PermissionDenied,
    ResourceExhausted,
    TextServiceError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)
from textservice.retry import Retry

# The friendly functions of v1beta, the API version the old google.generativeai library used.
# Other versions: ``textservice.v1beta3``, ``textservice.v1beta2``.
from textservice.v1beta import (
    ArrayEmbeddingDict,
    BatchEmbeddingDict,
    Completion,
    CountTextTokensResponseDict,
    EmbeddingDict,
    count_text_tokens,
    count_text_tokens_async,
    generate_embeddings,
    generate_embeddings_async,
    generate_text,
    generate_text_async,
    iter_embeddings,
    iter_embeddings_async,
)

__version__ = "0.1.0"

__all__ = [
    "Aborted",
    "AlreadyExists",
    "ArrayEmbeddingDict",
    "BatchEmbeddingDict",
    "Cancelled",
    "Completion",
    "CountTextTokensResponseDict",
    "DataLoss",
    "DeadlineExceeded",
    "EmbeddingDict",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "MissingAPIKeyError",
    "NotFound",
    "OutOfRange",
    "PartialEmbeddings",
    "PermissionDenied",
    "ResourceExhausted",
    "Retry",
    "TextServiceClient",
    "TextServiceError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "configure",
    "count_text_tokens",
    "count_text_tokens_async",
    "generate_embeddings",
    "generate_embeddings_async",
    "generate_text",
    "generate_text_async",
    "iter_embeddings",
    "iter_embeddings_async",
]
