"""The fake's answers to valid requests, one generic function per RPC for every version.

The same inputs give the same answer in every API version: embeddings from
``vectors.expected_embedding``, completions from ``generation.expected_completion``, token
counts from ``generation.expected_token_count``. Messages are built with the classes of the
version that was called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from textservice.testing.generation import (
    DEFAULT_CANDIDATE_COUNT,
    expected_completion,
    expected_token_count,
)
from textservice.testing.vectors import expected_embedding
from textservice.testing.versions import ApiVersion, api_versions

Spec = Mapping[str, Any]
"""A message in proto-JSON form, e.g. ``{"reason": "SAFETY", "message": "blocked"}``."""


@dataclass(frozen=True)
class GenerateTextExtras:
    """What GenerateText adds to its answer besides the completions (none by default).

    Each entry is a message as a dict in proto-JSON form (enum values by name), built with
    the called version's classes: ``filters`` are ``ContentFilter``s, ``safety_feedback``
    ``SafetyFeedback``s, ``safety_ratings`` ``SafetyRating``s and ``citation_sources``
    ``CitationSource``s put on every candidate. ``blocked`` answers with no candidates
    (as the API does when a filter blocks the prompt).
    """

    filters: tuple[Spec, ...] = ()
    safety_feedback: tuple[Spec, ...] = ()
    safety_ratings: tuple[Spec, ...] = ()
    citation_sources: tuple[Spec, ...] = ()
    blocked: bool = False

    @classmethod
    def of(
        cls,
        *,
        filters: Sequence[Spec] = (),
        safety_feedback: Sequence[Spec] = (),
        safety_ratings: Sequence[Spec] = (),
        citation_sources: Sequence[Spec] = (),
        blocked: bool = False,
    ) -> GenerateTextExtras:
        """Extras checked against the message classes of every version (``ValueError``)."""
        extras = cls(
            tuple(filters),
            tuple(safety_feedback),
            tuple(safety_ratings),
            tuple(citation_sources),
            bool(blocked),
        )
        for version in api_versions():
            extras.build(version)
        return extras

    def build(self, version: ApiVersion) -> dict[str, list[Any]]:
        """The messages of ``version``, by field; ``ValueError`` naming a bad entry."""
        groups = {
            "filters": ("ContentFilter", self.filters),
            "safety_feedback": ("SafetyFeedback", self.safety_feedback),
            "safety_ratings": ("SafetyRating", self.safety_ratings),
            "citation_sources": ("CitationSource", self.citation_sources),
        }
        out: dict[str, list[Any]] = {}
        for field, (type_name, specs) in groups.items():
            message_type = version.message(type_name)
            built = []
            for index, spec in enumerate(specs):
                if not isinstance(spec, Mapping):
                    raise TypeError(f"{field}[{index}] must be a dict, not {type(spec).__name__}")
                try:
                    built.append(message_type.from_dict(dict(spec)))
                except (KeyError, ValueError, TypeError, AttributeError) as exc:
                    raise ValueError(f"{field}[{index}]: {exc}") from None
            out[field] = built
        return out


def generate_text(version: ApiVersion, request: Any, extras: GenerateTextExtras) -> Any:
    """A ``GenerateTextResponse`` with ``candidate_count`` deterministic candidates."""
    built = extras.build(version)
    count = request.candidate_count or DEFAULT_CANDIDATE_COUNT
    citation = None
    if built["citation_sources"]:
        citation = version.message("CitationMetadata")(citation_sources=built["citation_sources"])
    completion = version.message("TextCompletion")
    candidates = [
        completion(
            output=expected_completion(
                request.model, request.prompt.text, index, request.max_output_tokens
            ),
            safety_ratings=list(built["safety_ratings"]),
            citation_metadata=citation,
        )
        for index in range(count)
    ]
    return version.message("GenerateTextResponse")(
        candidates=[] if extras.blocked else candidates,
        filters=built["filters"],
        safety_feedback=built["safety_feedback"],
    )


def _embedding(version: ApiVersion, model: str, text: str, dim: int) -> Any:
    return version.message("Embedding")(value=expected_embedding(model, text, dim))


def embed_text(version: ApiVersion, request: Any, dim: int) -> Any:
    """An ``EmbedTextResponse`` with the text's embedding."""
    return version.message("EmbedTextResponse")(
        embedding=_embedding(version, request.model, request.text, dim)
    )


def batch_embed_text(version: ApiVersion, request: Any, dim: int) -> Any:
    """A ``BatchEmbedTextResponse``: one embedding per text (or per v1beta request), in order."""
    if request.texts:
        pairs = [(request.model, text) for text in request.texts]
    else:
        pairs = [(inner.model, inner.text) for inner in getattr(request, "requests", [])]
    return version.message("BatchEmbedTextResponse")(
        embeddings=[_embedding(version, model, text, dim) for model, text in pairs]
    )


def count_text_tokens(version: ApiVersion, request: Any) -> Any:
    """A ``CountTextTokensResponse`` with the prompt's deterministic token count."""
    return version.message("CountTextTokensResponse")(
        token_count=expected_token_count(request.prompt.text)
    )
