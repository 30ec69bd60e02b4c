"""The fake's answers to valid requests: one function per RPC, the same for every version.

The same inputs give the same answer in every API version: embeddings from
``vectors.expected_embedding`` / ``expected_content_embedding``, completions from
``generation.expected_completion``, token counts from ``generation.expected_token_count``,
models from the catalogue (``textservice.testing.catalogue``). Messages are built with the
classes of the version that was called, from the fields those classes have
(``ApiVersion.build``): a field an older or newer version lacks (``prompt_tokens_details``
before 2025-04) is left out, never an error. EmbedContent's options are read through their
roles (``validation.role``), found by field number.

``ANSWERS`` maps ``(service, RPC)`` names to their answer; an RPC it does not list is one the
fake does not implement (it answers ``UNIMPLEMENTED``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from textservice._profiles import profile_for
from textservice.testing._field_roles import (
    CONTENT,
    OUTPUT_DIMENSIONALITY,
    REQUESTS,
    TASK_TYPE,
    TITLE,
)
from textservice.testing.catalogue import ModelPolicy, model_not_found
from textservice.testing.generation import (
    DEFAULT_CANDIDATE_COUNT,
    expected_completion,
    expected_content_token_count,
    expected_token_count,
    within_limit,
)
from textservice.testing.validation import content_parts, content_texts, invalid_argument, role
from textservice.testing.vectors import (
    expected_content_embedding,
    expected_embedding,
    expected_parts_embedding,
)
from textservice.testing.versions import ApiVersion, Later, Service, api_versions

LongInputs = Literal["truncate", "reject"]
"""What the fake's EmbedContent does with an input over its model's token limit."""

Spec = Mapping[str, Any]
"""A message in proto-JSON form, e.g. ``{"reason": "SAFETY", "message": "blocked"}``."""


class ExtrasArgs(TypedDict, total=False):
    """The keyword arguments of ``GenerateTextExtras.of`` (its signature holds the defaults),
    which ``FakeServer.set_generate_text_extras`` hands on."""

    filters: Sequence[Spec]
    safety_feedback: Sequence[Spec]
    safety_ratings: Sequence[Spec]
    citation_sources: Sequence[Spec]
    blocked: bool


DEFAULT_PAGE_SIZE = 50
"""ListModels' page size when the request sets none, as the API's."""

MAX_PAGE_SIZE = 1000
"""ListModels returns at most this many models per page, whatever the request asks."""

_PAGE_TOKEN_PREFIX = "models:"


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
            if version.service("TextService") is not None:
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


@dataclass(frozen=True)
class Context:
    """What an answer may depend on besides the request: the fake's configuration."""

    models: ModelPolicy
    extras: GenerateTextExtras
    generation_methods: tuple[str, ...]
    """What a catalogue entry serving every method lists (the methods the fake serves)."""
    long_inputs: LongInputs = "truncate"
    """What EmbedContent does with an input over its model's token limit (see
    ``FakeServer``'s ``long_inputs``)."""
    batch_mode: object | None = None
    """The Batch mode and Files API store (``textservice.testing.batch_mode.BatchMode``),
    whose methods answer those RPCs."""


def _batch_mode(context: Context) -> object:
    if context.batch_mode is None:
        raise RuntimeError("this fake has no Batch mode store")
    return context.batch_mode


def _batch_answer(name: str) -> Answer:
    """The answer of a Batch mode or Files API RPC: the store's method ``name``."""

    def answer(context: Context, version: ApiVersion, request: Any) -> Any:
        method: Callable[[ApiVersion, Any], Any] = getattr(_batch_mode(context), name)
        return method(version, request)

    answer.__name__ = name
    return answer


def generate_text(context: Context, version: ApiVersion, request: Any) -> Any:
    """A ``GenerateTextResponse`` with ``candidate_count`` deterministic candidates."""
    extras = context.extras
    built = extras.build(version)
    count = request.candidate_count or DEFAULT_CANDIDATE_COUNT
    citation = None
    if built["citation_sources"]:
        citation = version.build("CitationMetadata", citation_sources=built["citation_sources"])
    candidates = [
        version.build(
            "TextCompletion",
            output=expected_completion(
                request.model, request.prompt.text, index, request.max_output_tokens
            ),
            safety_ratings=list(built["safety_ratings"]),
            citation_metadata=citation,
        )
        for index in range(count)
    ]
    return version.build(
        "GenerateTextResponse",
        candidates=[] if extras.blocked else candidates,
        filters=built["filters"],
        safety_feedback=built["safety_feedback"],
    )


def _embedding(version: ApiVersion, model: str, text: str, dim: int) -> Any:
    return version.build("Embedding", value=expected_embedding(model, text, dim))


def embed_text(context: Context, version: ApiVersion, request: Any) -> Any:
    """An ``EmbedTextResponse`` with the text's embedding."""
    dim = context.models.dimension_of(request.model)
    return version.build(
        "EmbedTextResponse", embedding=_embedding(version, request.model, request.text, dim)
    )


def batch_embed_text(context: Context, version: ApiVersion, request: Any) -> Any:
    """A ``BatchEmbedTextResponse``: one embedding per text (or per v1beta request), in order."""
    if request.texts:
        pairs = [(request.model, text) for text in request.texts]
    else:
        pairs = [(inner.model, inner.text) for inner in getattr(request, "requests", [])]
    dim = context.models.dimension_of(request.model)
    return version.build(
        "BatchEmbedTextResponse",
        embeddings=[_embedding(version, model, text, dim) for model, text in pairs],
    )


def count_text_tokens(context: Context, version: ApiVersion, request: Any) -> Any:
    """A ``CountTextTokensResponse`` with the prompt's deterministic token count."""
    return version.build(
        "CountTextTokensResponse", token_count=expected_token_count(request.prompt.text)
    )


def _content_embedding(context: Context, version: ApiVersion, request: Any) -> Any:
    """One ``ContentEmbedding``: the first ``output_dimensionality`` values of the vector of
    the content's text (its parts joined, cut to the model's token limit), task type and
    title; for a model that aggregates
    parts and takes its task in the text (``gemini-embedding-2``), the unit-length vector of
    its parts in order, whatever its task type and title fields say. Each field is read
    through its role: a version without the field has none."""
    parts = content_parts(role(request, CONTENT), "content.", request.model)
    limit = profile_for(request.model).input_tokens
    parts, held = within_limit(parts, limit)
    if limit is not None and held > limit and context.long_inputs == "reject":
        raise invalid_argument(
            "content",
            f"the input token count ({held}) exceeds the maximum number of tokens allowed "
            f"({limit})",
        )
    dim = role(request, OUTPUT_DIMENSIONALITY) or context.models.dimension_of(request.model)
    if profile_for(request.model).task_in_text:
        values = expected_parts_embedding(request.model, parts, dim)
    else:
        text = "".join(p for p in parts if isinstance(p, str))
        task, title = role(request, TASK_TYPE), role(request, TITLE)
        values = expected_content_embedding(request.model, text, task, title, dim)
    return version.build("ContentEmbedding", values=values)


def embed_content(context: Context, version: ApiVersion, request: Any) -> Any:
    """An ``EmbedContentResponse`` with the content's embedding."""
    return version.build(
        "EmbedContentResponse", embedding=_content_embedding(context, version, request)
    )


def batch_embed_contents(context: Context, version: ApiVersion, request: Any) -> Any:
    """A ``BatchEmbedContentsResponse``: one embedding per request, in order."""
    requests = role(request, REQUESTS) or []
    return version.build(
        "BatchEmbedContentsResponse",
        embeddings=[_content_embedding(context, version, inner) for inner in requests],
    )


def _counted_texts(request: Any) -> list[str]:
    nested = getattr(request, "generate_content_request", None)
    contents = list(request.contents)
    if nested is not None:
        instruction = getattr(nested, "system_instruction", None)
        contents = ([instruction] if instruction is not None else []) + list(nested.contents)
    return [text for c in contents for text in content_texts(c, "", allow_empty=True)]


def count_tokens(context: Context, version: ApiVersion, request: Any) -> Any:
    """A ``CountTokensResponse``: ``expected_content_token_count`` of every text part, all of
    it in the ``TEXT`` modality."""
    total = expected_content_token_count(*_counted_texts(request))
    details = Later(  # only in versions whose response has it (v1beta since 2025-04)
        lambda: [
            version.build("ModalityTokenCount", modality=version.message("Modality").TEXT,
                          token_count=total)
        ]
    )  # fmt: skip
    return version.build("CountTokensResponse", total_tokens=total, prompt_tokens_details=details)


def page_token(offset: int) -> str:
    """The ``next_page_token`` of a ListModels page that ends before model ``offset``."""
    raw = f"{_PAGE_TOKEN_PREFIX}{offset}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _page_offset(token: str, size: int) -> int:
    """The first model of the page ``token`` asks for; ``INVALID_ARGUMENT`` if it is not one
    of the fake's tokens."""
    if not token:
        return 0
    offset = -1
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        if raw.startswith(_PAGE_TOKEN_PREFIX):
            offset = int(raw.removeprefix(_PAGE_TOKEN_PREFIX))
    except (ValueError, binascii.Error):  # UnicodeDecodeError is a ValueError
        pass
    if not 0 < offset <= size or page_token(offset) != token:
        raise invalid_argument("page_token", f"{token!r} is not a page token of this listing")
    return offset


def list_models(context: Context, version: ApiVersion, request: Any) -> Any:
    """A ``ListModelsResponse``: a page of the catalogue, with the next page's token."""
    listed = context.models.listed()
    start = _page_offset(request.page_token, len(listed))
    size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    end = min(start + size, len(listed))
    model_type = version.message("Model")
    return version.build(
        "ListModelsResponse",
        models=[m.message(model_type, context.generation_methods) for m in listed[start:end]],
        next_page_token=page_token(end) if end < len(listed) else "",
    )


def get_model(context: Context, version: ApiVersion, request: Any) -> Any:
    """The ``Model`` called ``request.name``, or ``NOT_FOUND``."""
    entry = context.models.find(request.name)
    if entry is None:
        raise model_not_found(request.name, version.name)
    return entry.message(version.message("Model"), context.generation_methods)


Answer = Callable[[Context, ApiVersion, Any], Any]

ANSWERS: Mapping[tuple[str, str], Answer] = {
    ("TextService", "GenerateText"): generate_text,
    ("TextService", "EmbedText"): embed_text,
    ("TextService", "BatchEmbedText"): batch_embed_text,
    ("TextService", "CountTextTokens"): count_text_tokens,
    ("GenerativeService", "EmbedContent"): embed_content,
    ("GenerativeService", "BatchEmbedContents"): batch_embed_contents,
    ("GenerativeService", "CountTokens"): count_tokens,
    ("ModelService", "ListModels"): list_models,
    ("ModelService", "GetModel"): get_model,
    ("BatchService", "AsyncBatchEmbedContent"): _batch_answer("create"),
    ("BatchService", "GetBatch"): _batch_answer("get"),
    ("BatchService", "ListBatches"): _batch_answer("list"),
    ("BatchService", "CancelBatch"): _batch_answer("cancel"),
    ("BatchService", "DeleteBatch"): _batch_answer("delete"),
    ("FileService", "GetFile"): _batch_answer("get_file"),
    ("FileService", "ListFiles"): _batch_answer("list_files"),
    ("FileService", "DeleteFile"): _batch_answer("delete_file"),
}
"""The RPCs the fake implements, by service and RPC name (in any version that has them)."""


def implemented(service: Service) -> tuple[str, ...]:
    """The RPCs of ``service`` the fake answers (the others answer ``UNIMPLEMENTED``)."""
    return tuple(m for m in service.methods if (service.name, m) in ANSWERS)


def implemented_methods(versions: Iterable[ApiVersion] | None = None) -> tuple[str, ...]:
    """The names of the RPCs the fake answers in ``versions`` (default: every generated
    one), in order of first appearance."""
    found: dict[str, None] = {}
    for version in api_versions() if versions is None else versions:
        for service in version.services:
            found.update(dict.fromkeys(implemented(service)))
    return tuple(found)


def generation_methods(versions: Sequence[ApiVersion]) -> tuple[str, ...]:
    """The generation methods (``embedContent``, ...) of the RPCs the fake answers that name
    a model, in order of first appearance."""
    found: dict[str, None] = {}
    for version in versions:
        for service in version.services:
            for method, (_, handler) in zip(service.methods, service.handlers, strict=True):
                takes_model = "model" in getattr(handler.request_type, "__dataclass_fields__", {})
                if (service.name, method) in ANSWERS and takes_model:
                    found[service.generation_method(method)] = None
    return tuple(found)
