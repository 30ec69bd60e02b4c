"""Which service embeds with a model: the one rule the CLI and ``textservice.ray`` share.

Google retired TextService's embedding models (``models/embedding-gecko-001`` and its kin);
today's (``models/gemini-embedding-001`` and later) are served by GenerativeService's
EmbedContent/BatchEmbedContents. A caller that takes a model name and embeds with it picks
the function here: ``uses_text_service(model)`` is true for the legacy models, which still go
through TextService ``generate_embeddings`` (for servers and fakes that keep them), and false
for every other model, which goes through ``embed_content``. A standard-library-only leaf.
"""

from __future__ import annotations

__all__ = ["DEFAULT_EMBEDDING_MODEL", "TEXT_SERVICE_MODEL_PREFIX", "uses_text_service"]

DEFAULT_EMBEDDING_MODEL = "models/gemini-embedding-001"
"""The embedding model used when none is given (3,072 dimensions, shorter on request)."""

TEXT_SERVICE_MODEL_PREFIX = "models/embedding-gecko-"
"""The names of the models TextService ``generate_embeddings`` serves."""


def uses_text_service(model: str) -> bool:
    """Whether ``model`` (a resource name such as ``"models/embedding-gecko-001"``) embeds
    through TextService ``generate_embeddings``; otherwise through GenerativeService
    ``embed_content``."""
    return model.startswith(TEXT_SERVICE_MODEL_PREFIX)
