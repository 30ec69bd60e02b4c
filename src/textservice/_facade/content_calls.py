"""``embed_content``: GenerativeService's EmbedContent/BatchEmbedContents as one function.

A generated facade declares a ``ContentRecipe`` (its two methods, where the vectors are, and
which request fields hold the per-item content and title) and a request builder for the
call's fixed fields (model, task type, title, output dimensionality and whatever else the
request gains in a later proto). This module checks what only makes sense together (a title
needs the RETRIEVAL_DOCUMENT task type; a dimensionality is positive), turns ``content`` into
``Document`` items, and runs them on the same ordered, bounded-concurrency engine as
``generate_embeddings``: one item by EmbedContent, a sequence by BatchEmbedContents calls of
at most 100 items, in input order. Requests are written by hand (``_encoding.embed_requests``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from textservice._checks import encodable, is_int, is_stream, kind
from textservice._encoding.embed_requests import ContentFields, ContentRequests, Document
from textservice._engine.output_formats import output_for
from textservice._engine.recipes import EmbedRecipe, ManyTexts, OneText
from textservice._engine.spec import EmbedSpec
from textservice._facade.clients import get_client
from textservice._facade.deprecation import deprecated
from textservice._facade.media import check_media, is_media, media_item, request_size
from textservice._facade.results import Embeddings, embeddings
from textservice._facade.twins import (
    Iteration,
    async_batches,
    async_call,
    sync_batches,
    sync_call,
)
from textservice._profiles import (
    MAX_BATCH_ITEMS,
    MAX_REQUEST_BYTES,
    TASK_TYPE_ALIASES,
    TITLED_TASK,
    ModelProfile,
    profile_for,
    takes_title,
    task_name,
)
from textservice._transport.methods import MethodSpec
from textservice._transport.options import check_request_options
from textservice.client import call_path

# The engine (asyncio, the RPC layer, the rate governor) and betterproto2 are imported by the
# functions that run calls, on a client's first call, not when a facade is imported (issue 21).
if TYPE_CHECKING:
    import betterproto2

    from textservice._transport.callpath import CallPath

__all__ = [
    "ContentRecipe",
    "Document",
    "RequestJson",
    "check_items",
    "embed_content",
    "embed_content_async",
    "iter_embed_content",
    "iter_embed_content_async",
    "task_type",
]

E = TypeVar("E", bound="betterproto2.Enum")

ITEM_KEYS = ("text", "title")
"""The keys of an item given as a mapping."""


def task_type(cls: type[E], value: object, argument: str) -> E:
    """A member of the task type enum ``cls``: the member, its number, or its name or one of
    ``TASK_TYPE_ALIASES`` in any case, when ``cls`` has that member; else ``ValueError`` listing
    the names (``TypeError`` for a value that is none of these kinds)."""
    if isinstance(value, cls):
        return value
    names = {member.name: member for member in cls}
    if isinstance(value, str):
        member = names.get(task_name(value) or "")
        if member is not None:
            return member
    elif is_int(value):
        # betterproto2 turns unknown numbers into "unknown" members; an argument must be known
        for member in cls:
            if member.value == value:
                return member
    else:
        raise TypeError(
            f"{argument} must be a {cls.__name__}, its number or its name, not {kind(value)}"
        )
    accepted = [m.name for m in cls] + [a for a, name in TASK_TYPE_ALIASES.items() if name in names]
    raise ValueError(
        f"{argument}: {value!r} is not a {cls.__name__} of this API version "
        f"(one of {', '.join(accepted)}, in any case, or their numbers)"
    )


# -- items ----------------------------------------------------------------------------------


def _document(value: object, argument: str) -> Document:
    """One item: a ``str``, a mapping ``{"text": str, "title": str}`` (title optional), or a
    media item (``_facade.media``)."""
    if isinstance(value, Document):
        return value
    if isinstance(value, str):
        return Document(encodable(value, argument))
    if is_media(value):
        return media_item(value, argument)
    if not isinstance(value, Mapping):
        nested = " (nested sequences are not accepted)" if isinstance(value, Iterable) else ""
        raise TypeError(
            f'{argument} must be a str, a mapping {{"text": str, "title": str}} or a media '
            f"item (a path, a blob or parts), got {kind(value)}{nested}"
        )
    unknown = [k for k in value if k not in ITEM_KEYS]
    if unknown:
        raise ValueError(
            f"{argument} has unknown key {unknown[0]!r} (an item's keys are 'text' and 'title'; "
            "a blob's 'mime_type' and 'data'; a media item's 'parts' and 'title')"
        )
    if "text" not in value:
        raise ValueError(f"{argument} has no 'text'")
    text, title = value["text"], value.get("title")
    if not isinstance(text, str):
        raise TypeError(f"{argument}['text'] must be a str, got {kind(text)}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"{argument}['title'] must be a str or None, got {kind(title)}")
    checked_title = None if title is None else encodable(title, f"{argument}['title']")
    return Document(encodable(text, f"{argument}['text']"), checked_title)


def check_items(content: object, argument: str = "content") -> Document | list[Document]:
    """One item (a ``str`` or a mapping) or a new list of them (from a list, tuple or other
    ordered iterable, generators included); ``TypeError``/``ValueError`` naming the index.
    ``Document`` items (already checked) are taken as they are."""
    if isinstance(content, Document):
        return content
    if isinstance(content, str | Mapping | os.PathLike):
        return _document(content, argument)
    if content is None or isinstance(content, bytes | bytearray | memoryview):
        extra = " (decode bytes to str first)" if content is not None else ""
        raise TypeError(
            f"{argument} must be a str, a mapping or a sequence of them, got {kind(content)}{extra}"
        )
    if isinstance(content, AbstractSet) or not isinstance(content, Iterable):
        reason = " (a set has no order)" if isinstance(content, AbstractSet) else ""
        raise TypeError(
            f"{argument} must be a str, a mapping or a sequence of them, "
            f"got {kind(content)}{reason}"
        )
    return [_document(item, f"{argument}[{i}]") for i, item in enumerate(content)]


def _check_many(contents: object) -> list[Document] | None:
    """``contents`` of ``iter_embed_content`` as a new list of items, checked now; ``None``
    for a stream (``is_stream``: read and checked item by item as it is embedded)."""
    if isinstance(contents, str | Mapping | os.PathLike):
        raise TypeError("contents must be a sequence of items, not a single one (use [content])")
    if is_stream(contents):
        return None
    checked = check_items(contents, "contents")
    assert isinstance(checked, list)
    return checked


def _check_normalize(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"normalize must be a bool, got {kind(value)}")
    return value


# -- the recipe -----------------------------------------------------------------------------


def _text(item: Document) -> str:
    """What the rate governor counts of an item: its text (with its title, if any)."""
    return item.text if item.title is None else f"{item.title}\n{item.text}"


def _weight(item: Document) -> int:
    """What an item adds to a request against ``MAX_REQUEST_BYTES``: a media item's size
    (a text's is left out, as the batches of a list are sized by their largest media item)."""
    return request_size(item) if item.parts else 0


def _one_request(requests: ContentRequests, item: Document) -> Any:
    return requests.one(item)


def _many_requests(requests: ContentRequests, items: list[Document]) -> Any:
    return requests.many(items)


@dataclass(frozen=True)
class ContentRecipe:
    """How an API version embeds content: declared once by its generated facade."""

    one: MethodSpec[Any, Any]
    """EmbedContent."""
    vector: Callable[[Any], list[float]]
    """EmbedContent's response's vector (``[]`` when it has none)."""
    many: MethodSpec[Any, Any] | None = None
    """BatchEmbedContents, when the version has it."""
    vectors: Callable[[Any], list[list[float]]] | None = None
    """BatchEmbedContents' response's vectors, in request order."""
    fields: ContentFields = field(default_factory=ContentFields)
    """Where a request keeps an item's content and title (``title=None``: it has none)."""
    requests: str = "requests"
    """The batch request's repeated field of single requests."""
    task_type: str | None = "task_type"
    """The request's task type field (``None``: it has none)."""
    dimensionality: str | None = "output_dimensionality"
    """The request's output dimensionality field (``None``: it has none)."""
    max_items: int = MAX_BATCH_ITEMS
    """The most items one batch request may hold."""
    deprecated_title: str | None = None
    """What an item's title warns (the protos mark the title field deprecated), else None."""
    engine: EmbedRecipe[ContentRequests, Document] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        many = None
        if self.many is not None:
            if self.vectors is None:
                raise TypeError("ContentRecipe: a batch method needs vectors")
            many = ManyTexts(self.many, _many_requests, self.vectors, max_texts=self.max_items)
        one = OneText(self.one, _one_request, self.vector)
        engine = EmbedRecipe(one, many, text=_text, weight=_weight, budget=MAX_REQUEST_BYTES)
        object.__setattr__(self, "engine", engine)

    def requests_for(
        self, template: betterproto2.Message, profile: ModelProfile
    ) -> ContentRequests:
        """The encoder of one call's requests. A model that takes the task in its text
        (``profile.task_in_text``) gets the instruction text and never the task type and
        title fields."""
        batch = None
        if self.many is not None:
            batch = self.many.request_type(model=getattr(template, "model"))  # noqa: B009
        instruction = None
        title: str | None = None
        if profile.task_in_text:
            task = getattr(template, self.task_type) if self.task_type else None
            name = None if task is None or int(task) == 0 else str(task.name)
            instruction = profile.instruction(name)
            unset = {f: None for f in (self.task_type, self.fields.title) if f is not None}
            if self.fields.title is not None:
                title = getattr(template, self.fields.title)
            template = dataclasses.replace(template, **unset)  # type: ignore[type-var]
        return ContentRequests(
            template,
            self.fields,
            batch,
            self.requests,
            instruction=instruction,
            instruction_title=title,
        )

    def check(
        self,
        template: betterproto2.Message,
        items: Document | list[Document],
        profile: ModelProfile,
    ) -> int:
        """The rules between fields: a positive dimensionality (in the model's range, where
        its profile has one); titles (the call's or an item's) only with the
        RETRIEVAL_DOCUMENT task type, and only if the request has one; media items as the
        model's profile takes them. The largest media item's size (0: none)."""
        model = str(getattr(template, "model", ""))
        many = not isinstance(items, Document)
        listed = items if isinstance(items, list) else [items]
        largest = check_media(
            listed, model, profile, "contents" if many else "content", one=not many
        )
        self._check_dimensionality(template, profile)
        self._check_titles(template, listed)
        return largest

    def checked_stream(
        self, template: betterproto2.Message, contents: Iterable[object], profile: ModelProfile
    ) -> Iterator[Document]:
        """``contents`` read item by item, each checked as ``check`` checks a list's items
        (an error names the item's index, raised when it is read); the call's own rules are
        checked now."""
        self._check_dimensionality(template, profile)
        self._check_titles(template, [])
        return self._stream(template, contents, profile)

    def _stream(
        self, template: betterproto2.Message, contents: Iterable[object], profile: ModelProfile
    ) -> Iterator[Document]:
        model = str(getattr(template, "model", ""))
        titled = False
        for index, value in enumerate(contents):
            name = f"contents[{index}]"
            item = _document(value, name)
            if item.parts:
                check_media([item], model, profile, name, one=True)
            if item.title is not None and not titled:  # the rule is the call's: once
                self._check_titles(template, [item], index)
                titled = True
            yield item

    def _check_dimensionality(self, template: betterproto2.Message, profile: ModelProfile) -> None:
        if self.dimensionality is None:
            return
        dim = getattr(template, self.dimensionality)
        model = str(getattr(template, "model", ""))
        error = (
            None if dim is None else profile.dimensionality_error(dim, model, self.dimensionality)
        )
        if error is not None:
            raise ValueError(error)

    def _check_titles(
        self, template: betterproto2.Message, titled: list[Document], offset: int = 0
    ) -> None:
        call_title = getattr(template, self.fields.title) if self.fields.title else None
        first = next((i for i, d in enumerate(titled) if d.title is not None), None)
        if call_title is None and first is None:
            return
        if self.deprecated_title is not None and first is not None:
            deprecated(f"item {offset + first}'s title: {self.deprecated_title}")
        if self.fields.title is None:
            raise ValueError("this API version's requests have no title")
        task = getattr(template, self.task_type) if self.task_type else None
        if not takes_title(None if task is None else task.name):
            got = "none" if task is None else task.name
            raise ValueError(
                f"a title needs task_type={TITLED_TASK!r} (got {got}): the API uses titles "
                "only for documents embedded for retrieval"
            )


class RequestJson:
    """The requests of one call's items, one item at a time, as proto3 JSON: Batch mode's
    input (``textservice.batches``). Each item gets ``embed_content``'s checks (its form,
    media the model takes, titles and the task type, the dimensionality) and the very request
    ``embed_content`` would send for it, instruction text included; nothing holds more than
    one item."""

    def __init__(self, recipe: ContentRecipe, template: betterproto2.Message) -> None:
        self._recipe = recipe
        self._template = template
        self._profile = profile_for(str(getattr(template, "model", "")))
        recipe.check(template, [], self._profile)  # the call's own fields, before any item
        self._requests = recipe.requests_for(template, self._profile)

    def item(self, value: object, argument: str) -> dict[str, Any]:
        """The request for ``value`` (an item as ``embed_content`` takes it; ``argument``
        names it in errors: ``contents[3]``)."""
        item = _document(value, argument)
        self._recipe.check(self._template, item, self._profile)
        return self._requests.one_json(item)


# -- calls ----------------------------------------------------------------------------------


def _fitting(
    engine: EmbedRecipe[ContentRequests, Document], largest: int
) -> EmbedRecipe[ContentRequests, Document]:
    """``engine`` with batches of at most as many items as fit the API's request size when
    each is ``largest`` bytes (media; 0: text only, batches as they are)."""
    many = engine.many
    if many is None or largest == 0:
        return engine
    fits = max(1, MAX_REQUEST_BYTES // largest)
    if fits >= many.max_texts:
        return engine
    return dataclasses.replace(engine, many=dataclasses.replace(many, max_texts=fits))


@dataclass(frozen=True)
class _Call:
    """An ``embed_content`` call, its arguments checked."""

    spec: EmbedSpec[ContentRequests, Document, Any, Any]
    """Its requests built by the call's encoder, with the recipe's engine, its batches cut to
    fit the API's request size (media)."""
    items: Document | list[Document] | Iterator[Document]
    """One item, a list of them, or a stream of them checked as read (``iter_embed_content``)."""

    @classmethod
    def checked(
        cls,
        recipe: ContentRecipe,
        template: betterproto2.Message,
        content: object,
        client: object,
        request_options: object,
        output: object,
        normalize: object,
        *,
        stream: bool = False,
    ) -> _Call:
        """Checked in this order, in the caller's thread, before any network (``content``
        may be items checked already). With ``stream``, ``content`` is an iterable read (and
        its items checked) only as the call embeds it."""
        profile = profile_for(str(getattr(template, "model", "")))
        items: Document | list[Document] | Iterator[Document]
        if stream:
            assert isinstance(content, Iterable)
            items, largest = recipe.checked_stream(template, content, profile), 0
        else:
            items = check_items(content)
            largest = recipe.check(template, items, profile)
        options = check_request_options(request_options)
        chosen = output_for(output, _check_normalize(normalize))
        requests = recipe.requests_for(template, profile)
        path = call_path(get_client(client))
        spec = EmbedSpec(path, _fitting(recipe.engine, largest), requests, options, chosen)
        return cls(spec, items)

    @property
    def path(self) -> CallPath:
        """The client's call path."""
        return self.spec.path

    @property
    def max_batch(self) -> int:
        """The most items one batch call of this call holds."""
        many = self.spec.recipe.many
        return many.max_texts if many is not None else 1

    async def run(self) -> Embeddings:
        from textservice._engine import embed as _engine

        items = self.items
        assert isinstance(items, Document | list)
        if isinstance(items, Document):
            return embeddings(await _engine.embed_one(self.spec, items))
        return embeddings(await _engine.embed_many(self.spec, items))


embed_content = sync_call(
    _Call.checked,
    "``embed_content``: one item, or a sequence of them, from synchronous code. ``template`` "
    "is the request holding the call's fixed fields (built and checked by the facade).",
)
embed_content_async = async_call(
    _Call.checked, "``embed_content_async``: ``embed_content`` on the caller's event loop."
)


def _iteration(
    recipe: ContentRecipe,
    template: betterproto2.Message,
    contents: object,
    client: object,
    request_options: object,
    batch_size: object,
    progress: object,
    output: object,
    normalize: object,
) -> Iteration:
    """An ``iter_embed_content`` call, its arguments checked (a stream's items as read)."""
    from textservice._engine.embed import check_batch_size, check_progress

    listed = _check_many(contents)
    given = contents if listed is None else listed
    call = _Call.checked(
        recipe, template, given, client, request_options, output, normalize, stream=listed is None
    )
    size = min(check_batch_size(recipe.engine, batch_size), call.max_batch)
    assert not isinstance(call.items, Document)
    return Iteration(call.spec, call.items, size, check_progress(progress))


iter_embed_content = sync_batches(
    _iteration, "``iter_embed_content``: batches of embeddings for synchronous code."
)
iter_embed_content_async = async_batches(
    _iteration,
    "``iter_embed_content_async``: batches of embeddings as an async iterator.",
)
