"""RPC shapes, recognised from request and response structure; the table of friendly functions.

A *shape* says what an RPC does, whatever it is called: ``EmbedText`` and ``EmbedContent`` both
embed one input (a request naming a ``model`` and carrying one payload, a response holding a
repeated float field at most one message deep); ``BatchEmbedText`` and ``BatchEmbedContents``
both embed a batch (repeated payloads, or repeated single-embed requests, and repeated
embeddings back). The *payload* says what the caller passes: a string, a prompt message
wrapping one string, a ``Content``-like message (repeated parts that may hold text), or a
sequence of them. Which argument is the payload comes from the first ``method_signature``
(``"model,text"``), else from the first request field that can be one.

``FRIENDLY_FUNCTIONS`` is the only place deciding which (shape, payload) pairs get a friendly
facade function and under which name. Every other unary RPC gets a *plain* function named after
it (``GetModel`` -> ``get_model``: the request's fields as arguments, the response as a
TypedDict), so no RPC of the protos is invisible; a plain RPC of the ``LIST`` shape (pages of
items: ``page_size``/``page_token`` in, ``next_page_token`` and one repeated message field out)
gets an iterator over every item of every page instead of one page. Streaming RPCs are
``STREAMING`` and get no function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from codegen.model import ApiPackage, Field, Kind, Message, Method, Service
from codegen.names import snake_name

T = TypeVar("T")

MODEL_FIELD = "model"
"""The request field naming the model; every shape but ``PLAIN`` needs one."""


class Shape(Enum):
    """What an RPC does."""

    EMBED = "embed"
    """Embeds one payload: one vector back."""
    BATCH_EMBED = "batch_embed"
    """Embeds a batch of payloads: repeated vectors back."""
    COUNT_TOKENS = "count_tokens"
    """Counts the tokens of a payload: an integer ``*token*`` field back."""
    GENERATE = "generate"
    """Generates from a payload: repeated candidates back, each with a text or content output."""
    LIST = "list"
    """Lists items in pages: a plain RPC whose function iterates over every page."""
    PLAIN = "plain"
    """Any other unary RPC."""
    STREAMING = "streaming"
    """Client or server streaming: the facade does not wrap it."""


class Payload(Enum):
    """What a request carries besides its model."""

    TEXT = "text"
    """A string field (``EmbedTextRequest.text``)."""
    TEXTS = "texts"
    """A repeated string field (``BatchEmbedTextRequest.texts``)."""
    PROMPT = "prompt"
    """A message whose only settable field is a string (``TextPrompt``)."""
    CONTENT = "content"
    """A ``Content``-like message: repeated parts, each of which may be a text."""
    CONTENTS = "contents"
    """Repeated ``Content``-like messages."""
    REQUESTS = "requests"
    """Repeated single-embed requests (``BatchEmbedContentsRequest.requests``)."""


@dataclass(frozen=True)
class Classified:
    """One RPC's shape and, for shapes with one, its payload field."""

    method: Method
    shape: Shape
    payload: Payload | None = None
    payload_field: Field | None = None


@dataclass(frozen=True)
class FriendlyFunction:
    """A row of ``FRIENDLY_FUNCTIONS``: a facade function for an RPC shape and payload."""

    name: str
    """The public function (its ``_async`` twin is added)."""
    shape: Shape
    """``EMBED`` stands for the embed-one RPC with its batch RPC, when the service has one."""
    payload: Payload
    iterator: str | None = None
    """For embeddings: the name of the batch-by-batch iterator function."""
    keyword_only: bool = False
    """All request arguments are keyword-only."""
    default_model: str | None = None
    """A default for the ``model`` argument."""
    first_candidate_result: bool = False
    """The result dict gains ``result``: the first candidate's output (None without any)."""
    rpcs: tuple[str, ...] = ()
    """The RPCs the row is for, by name, when several have its shape (see ``pick``)."""
    batch_rpcs: tuple[str, ...] = ()
    """For ``EMBED``: the batch RPCs it prefers, by name, when several pair with its RPC."""


DEFAULT_TEXT_MODEL = "models/text-bison-001"
"""``generate_text``'s default model, as in the old ``google.generativeai`` library."""

FRIENDLY_FUNCTIONS: tuple[FriendlyFunction, ...] = (
    FriendlyFunction(
        "generate_embeddings",
        Shape.EMBED,
        Payload.TEXT,
        iterator="iter_embeddings",
        rpcs=("EmbedText",),
        batch_rpcs=("BatchEmbedText",),
    ),
    FriendlyFunction(
        "embed_content",
        Shape.EMBED,
        Payload.CONTENT,
        iterator="iter_embed_content",
        rpcs=("EmbedContent",),
        batch_rpcs=("BatchEmbedContents",),
    ),
    FriendlyFunction(
        "generate_text",
        Shape.GENERATE,
        Payload.PROMPT,
        keyword_only=True,
        default_model=DEFAULT_TEXT_MODEL,
        first_candidate_result=True,
        rpcs=("GenerateText",),
    ),
    FriendlyFunction(
        "count_text_tokens", Shape.COUNT_TOKENS, Payload.PROMPT, rpcs=("CountTextTokens",)
    ),
    FriendlyFunction("count_tokens", Shape.COUNT_TOKENS, Payload.CONTENTS, rpcs=("CountTokens",)),
)
"""Which RPC shapes get friendly functions, and their names: the only place this is decided.

An RPC whose shape and payload are not listed here (``GenerateContent``: ``GENERATE`` with
``CONTENTS``) gets a plain function named after it, like any other unary RPC. So does an RPC
of a listed shape that another RPC of that shape wins (``pick``): an ``EmbedContentV2`` beside
``EmbedContent`` gets a plain ``embed_content_v2``, and ``embed_content`` stays
``EmbedContent``'s.
"""

PAGE_SIZE, PAGE_TOKEN, NEXT_PAGE_TOKEN = "page_size", "page_token", "next_page_token"
"""The fields of a paged list RPC (Google's AIP-158)."""


# -- recognising structures -------------------------------------------------------------------


def _settable(message: Message) -> list[Field]:
    return [f for f in message.fields if not f.output_only]


def text_wrapper(message: Message) -> Field | None:
    """The field of a message whose only settable field is a singular string (``TextPrompt``)."""
    settable = _settable(message)
    if len(settable) == 1 and settable[0].kind is Kind.STRING and not settable[0].repeated:
        return settable[0]
    return None


def content_parts(message: Message, api: ApiPackage) -> tuple[Field, Field] | None:
    """(repeated parts field, the part's text field) of a ``Content``-like message: repeated
    parts, each a message that may hold a text (a string field in a ``oneof``)."""
    for f in message.fields:
        if f.repeated and f.kind is Kind.MESSAGE and f.type_name in api.messages:
            part = api.message(f.type_name)
            for p in part.fields:
                if p.kind is Kind.STRING and not p.repeated and p.oneof:
                    return f, p
    return None


def _is_content(message: Message, api: ApiPackage) -> bool:
    return content_parts(message, api) is not None


def vector_path(message: Message, api: ApiPackage) -> tuple[Field, ...] | None:
    """Fields leading from ``message`` to a repeated float field (at most one message deep)."""
    for f in message.fields:
        if f.repeated and f.kind.is_float:
            return (f,)
    for f in message.fields:
        if f.kind is Kind.MESSAGE and not f.repeated and f.type_name in api.messages:
            inner = vector_path(api.message(f.type_name), api)
            if inner is not None and len(inner) == 1:
                return (f, *inner)
    return None


def batch_vectors(message: Message, api: ApiPackage) -> tuple[Field, Field] | None:
    """(repeated message field, its repeated float field): ``embeddings[i].value``."""
    for f in message.fields:
        if f.repeated and f.kind is Kind.MESSAGE and f.type_name in api.messages:
            inner = vector_path(api.message(f.type_name), api)
            if inner is not None and len(inner) == 1:
                return f, inner[0]
    return None


def _payload_kind(f: Field, api: ApiPackage, embed_requests: set[str]) -> Payload | None:
    if f.kind is Kind.STRING:
        return Payload.TEXTS if f.repeated else Payload.TEXT
    if f.kind is not Kind.MESSAGE or f.type_name not in api.messages:
        return None
    message = api.message(f.type_name)
    if f.repeated:
        if f.type_name in embed_requests:
            return Payload.REQUESTS
        return Payload.CONTENTS if _is_content(message, api) else None
    if text_wrapper(message) is not None:
        return Payload.PROMPT
    return Payload.CONTENT if _is_content(message, api) else None


def _payload(
    method: Method, api: ApiPackage, embed_requests: set[str]
) -> tuple[Payload, Field] | None:
    """The payload kind and field of a request with a string ``model``, if it has one."""
    request = api.message(method.input_type)
    model = request.field(MODEL_FIELD)
    if model is None or model.kind is not Kind.STRING or model.repeated:
        return None
    signature = method.signatures[0] if method.signatures else ()
    named = [f for n in signature if n != MODEL_FIELD and (f := request.field(n)) is not None]
    candidates = named[:1] or [f for f in _settable(request) if f.name != MODEL_FIELD]
    for f in candidates:
        kind = _payload_kind(f, api, embed_requests)
        if kind is not None:
            return kind, f
    return None


def _counts_tokens(response: Message) -> bool:
    """A singular integer field about tokens (``token_count``, ``total_tokens``)."""
    return any(f.kind.is_integer and not f.repeated and "token" in f.name for f in response.fields)


def _has_candidates(response: Message, api: ApiPackage) -> bool:
    """A repeated message field whose messages hold a string or ``Content``-like output."""
    for f in response.fields:
        if f.repeated and f.kind is Kind.MESSAGE and f.type_name in api.messages:
            for out in api.message(f.type_name).fields:
                if out.repeated:
                    continue
                if out.kind is Kind.STRING:
                    return True
                if (
                    out.kind is Kind.MESSAGE
                    and out.type_name in api.messages
                    and _is_content(api.message(out.type_name), api)
                ):
                    return True
    return False


def _is_single_embed(method: Method, api: ApiPackage) -> bool:
    found = _payload(method, api, set())
    return (
        found is not None
        and found[0] in (Payload.TEXT, Payload.CONTENT)
        and vector_path(api.message(method.output_type), api) is not None
    )


def page_items(method: Method, api: ApiPackage) -> Field | None:
    """The response's repeated message field of a paged list RPC, else ``None``."""
    request, response = api.message(method.input_type), api.message(method.output_type)
    size, token = request.field(PAGE_SIZE), request.field(PAGE_TOKEN)
    following = response.field(NEXT_PAGE_TOKEN)
    if (
        size is None
        or not size.kind.is_integer
        or token is None
        or token.kind is not Kind.STRING
        or following is None
        or following.kind is not Kind.STRING
    ):
        return None
    items = [f for f in response.fields if f.repeated and f.kind is Kind.MESSAGE]
    return items[0] if len(items) == 1 else None


def _plain(method: Method, api: ApiPackage) -> Classified:
    if page_items(method, api) is not None:
        return Classified(method, Shape.LIST)
    return Classified(method, Shape.PLAIN)


def classify(method: Method, api: ApiPackage, service: Service | None = None) -> Classified:
    """The shape of ``method``; ``service`` (its siblings) lets a batch RPC be recognised by
    its repeated single-embed requests."""
    if method.streaming:
        return Classified(method, Shape.STREAMING)
    siblings = service.methods if service is not None else (method,)
    embed_requests = {m.input_type for m in siblings if _is_single_embed(m, api)}
    found = _payload(method, api, embed_requests)
    if found is None:
        return _plain(method, api)
    payload, field = found
    response = api.message(method.output_type)
    if payload in (Payload.TEXT, Payload.CONTENT) and vector_path(response, api) is not None:
        return Classified(method, Shape.EMBED, payload, field)
    if payload in (Payload.TEXTS, Payload.REQUESTS) and batch_vectors(response, api) is not None:
        return Classified(method, Shape.BATCH_EMBED, payload, field)
    if payload in (Payload.PROMPT, Payload.CONTENTS):
        if _has_candidates(response, api):
            return Classified(method, Shape.GENERATE, payload, field)
        if _counts_tokens(response):
            return Classified(method, Shape.COUNT_TOKENS, payload, field)
    return _plain(method, api)


def classify_service(service: Service, api: ApiPackage) -> tuple[Classified, ...]:
    """Every RPC of ``service``, classified, in declaration order."""
    return tuple(classify(m, api, service) for m in service.methods)


# -- matching the table -----------------------------------------------------------------------


def pick(
    candidates: Sequence[T], name: Callable[[T], str], preferred: Sequence[str], row: str
) -> T:
    """The one of several RPCs (or services' RPCs) of one shape that a row of the table wraps.

    In order: the first of ``preferred`` (the row's explicit list of RPC names) that is among
    them; else the one named after the row (``count_tokens`` -> ``CountTokens``); else the
    first declared. The others keep their plain functions, so generation never stops on a tie.
    """
    by_name = {name(c): c for c in candidates}
    for wanted in preferred:
        if wanted in by_name:
            return by_name[wanted]
    named = [c for c in candidates if snake_name(name(c)) == row]
    return named[0] if named else candidates[0]


@dataclass(frozen=True)
class Match:
    """A row of ``FRIENDLY_FUNCTIONS`` and the RPCs that implement it in one service."""

    function: FriendlyFunction
    service: Service
    rpc: Classified
    """The RPC (for ``EMBED``: the embed-one RPC)."""
    batch: Classified | None = None
    """For ``EMBED``: the service's batch RPC for the same payload, if it has one."""


def _pairs_with(single: Classified, batch: Classified, api: ApiPackage) -> bool:
    """A batch RPC embeds what ``single`` embeds: repeated ``single`` requests, or texts for
    a text embedding."""
    if batch.payload is Payload.REQUESTS:
        return batch.payload_field is not None and (
            batch.payload_field.type_name == single.method.input_type
        )
    return batch.payload is Payload.TEXTS and single.payload is Payload.TEXT


def match_service(
    service: Service, api: ApiPackage, table: Iterable[FriendlyFunction] = FRIENDLY_FUNCTIONS
) -> list[Match]:
    """The table rows ``service`` implements. When several RPCs fit one row (``EmbedContent``
    and an ``EmbedContentV2`` of the same request and response), ``pick`` says which one the
    row wraps; the others get plain functions."""
    classified = classify_service(service, api)
    matches = []
    for row in table:
        fits = [c for c in classified if c.shape is row.shape and c.payload is row.payload]
        if not fits:
            continue
        chosen = pick(fits, _rpc_name, row.rpcs, row.name)
        batch = None
        if row.shape is Shape.EMBED:
            batches = [
                c
                for c in classified
                if c.shape is Shape.BATCH_EMBED and _pairs_with(chosen, c, api)
            ]
            single = chosen.method.name
            named = (*row.batch_rpcs, f"Batch{single}s", f"Batch{single}")
            batch = pick(batches, _rpc_name, named, "") if batches else None
        matches.append(Match(row, service, chosen, batch))
    return matches


def _rpc_name(classified: Classified) -> str:
    return classified.method.name


__all__ = [
    "DEFAULT_TEXT_MODEL",
    "FRIENDLY_FUNCTIONS",
    "NEXT_PAGE_TOKEN",
    "PAGE_SIZE",
    "PAGE_TOKEN",
    "Classified",
    "FriendlyFunction",
    "Match",
    "Payload",
    "Shape",
    "batch_vectors",
    "classify",
    "classify_service",
    "content_parts",
    "match_service",
    "page_items",
    "pick",
    "text_wrapper",
    "vector_path",
]
