"""Which service embeds with a model, and the model used when none is given.

Google retired TextService's embedding models (``models/embedding-gecko-001`` and its kin);
today's (``models/gemini-embedding-2``, ``models/gemini-embedding-001``) are served by
GenerativeService's EmbedContent/BatchEmbedContents. A caller that takes a model name and
embeds with it (the CLI, ``textservice.ray``) picks the function here:
``uses_text_service(model)`` is true for the legacy models, which still go through TextService
``generate_embeddings`` (for servers and fakes that keep them), and false for every other
model, which goes through ``embed_content``. The rule itself is the model's profile
(``textservice._profiles``).
"""

from __future__ import annotations

from textservice._profiles import profile_for

__all__ = ["DEFAULT_EMBEDDING_MODEL", "uses_text_service"]

DEFAULT_EMBEDDING_MODEL = "models/gemini-embedding-2"
"""The embedding model used when none is given (3,072 dimensions, shorter on request; text,
images, PDFs, audio and video)."""


def uses_text_service(model: str) -> bool:
    """Whether ``model`` (a resource name such as ``"models/embedding-gecko-001"``) embeds
    through TextService ``generate_embeddings``; otherwise through GenerativeService
    ``embed_content``."""
    return profile_for(model).service == "text"
