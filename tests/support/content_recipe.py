"""GenerativeService's EmbedContent and BatchEmbedContents as an engine recipe built by hand
(no facade), for the tests that drive the engine with it (engine/test_engine_content_recipe.py,
governor/test_client_quotas.py)."""

from __future__ import annotations

from dataclasses import dataclass

from support.transports import http_of
from textservice._engine.recipes import EmbedRecipe, ManyTexts, OneText
from textservice._proto.google.ai.generativelanguage import v1beta as pb
from textservice._transport.methods import MethodSpec

SERVICE = "google.ai.generativelanguage.v1beta.GenerativeService"


@dataclass(frozen=True)
class ContentParams:
    """What an EmbedContent request holds besides its text."""

    model: str
    task_type: pb.TaskType
    title: str | None
    output_dimensionality: int | None


def _request(p: ContentParams, text: str) -> pb.EmbedContentRequest:
    return pb.EmbedContentRequest(
        model=p.model,
        content=pb.Content(parts=[pb.Part(text=text)]),
        task_type=p.task_type,
        title=p.title,
        output_dimensionality=p.output_dimensionality,
    )


RECIPE: EmbedRecipe[ContentParams, str] = EmbedRecipe(
    one=OneText(
        MethodSpec(
            SERVICE,
            "EmbedContent",
            pb.EmbedContentRequest,
            pb.EmbedContentResponse,
            10.0,
            None,
            http_of("v1beta", "GenerativeService", "EmbedContent"),
        ),
        _request,
        lambda r: r.embedding.values if r.embedding else [],
    ),
    many=ManyTexts(
        MethodSpec(
            SERVICE,
            "BatchEmbedContents",
            pb.BatchEmbedContentsRequest,
            pb.BatchEmbedContentsResponse,
            10.0,
            None,
            http_of("v1beta", "GenerativeService", "BatchEmbedContents"),
        ),
        lambda p, texts: pb.BatchEmbedContentsRequest(
            model=p.model, requests=[_request(p, t) for t in texts]
        ),
        lambda r: [e.values for e in r.embeddings],
        max_texts=100,
    ),
)
