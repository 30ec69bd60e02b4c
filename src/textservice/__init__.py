"""textservice: a typed, fast client for the Generative Language API's TextService.

The functions here are v1beta's. Every generated API version is an attribute too
(``textservice.v1beta2``, ``textservice.v1beta3``, …), imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textservice.client import (
    QuotaKey,
    QuotaKeyStats,
    QuotaStats,
    TextServiceClient,
    configure,
)
from textservice.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    ClientClosedError,
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

if TYPE_CHECKING:
    from types import ModuleType

# The friendly functions of v1beta, the API version the old google.generativeai library used.
# Other versions: ``textservice.v1beta3``, ``textservice.v1beta2`` (see ``__getattr__``).
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
    "ClientClosedError",
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
    "QuotaKey",
    "QuotaKeyStats",
    "QuotaStats",
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


def _versions() -> list[str]:
    """The generated API versions: the subpackages named like ``v1``, ``v1beta``,
    ``v1beta3`` (``make generate`` writes one per version in ``protos/``)."""
    import pkgutil
    import re

    pattern = re.compile(r"v\d+(?:(?:alpha|beta)\d*)?")
    found = pkgutil.iter_modules(__path__)
    return sorted(m.name for m in found if m.ispkg and pattern.fullmatch(m.name))


def __getattr__(name: str) -> ModuleType:
    """``textservice.<version>``: each generated API version's facade, imported on first use
    (so ``import textservice`` loads only v1beta's)."""
    if name in _versions():
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_versions()})
