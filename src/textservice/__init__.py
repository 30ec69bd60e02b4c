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
from textservice.streaming import iter_embeddings, iter_embeddings_async

__version__ = "0.1.0"

__all__ = [
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "DataLoss",
    "DeadlineExceeded",
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
    "iter_embeddings",
    "iter_embeddings_async",
]
