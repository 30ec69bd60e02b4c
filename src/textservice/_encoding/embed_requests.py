"""Embedding requests described by hand, for both services and both transports.

An embedding call sends the same model (and for GenerativeService the same task type and
output dimensionality) with every text; only the text (for EmbedContent a ``Content`` of one
text ``Part``) and the title change from item to item. Building betterproto2 messages per
text and serialising a batch of 100 of them costs about 35 ms in pure Python, several times
what the rest of a batch costs. So every embedding request of either service is described
here, from the classes' field metadata, without building a message:

- ``ContentRequests`` (EmbedContent, BatchEmbedContents) encodes each run of fixed fields
  once with betterproto2 (bytes and JSON) and per item describes only its text, media and
  title;
- ``TextRequests`` (TextService's EmbedText, BatchEmbedText) describes the model and texts.

Each description (``request_forms``: its ``Node``s) is returned as a ``prebuilt`` message,
which each transport writes in its own form only: the protobuf bytes for gRPC, the proto3
JSON object for REST. The bytes are exactly the ones betterproto2 writes
for the same message and the JSON its ``to_dict()`` (``tests/encoding/test_content_requests.py``
checks both on arbitrary values).

Field numbers and which fields exist come from betterproto2's metadata of the classes the
generated facade names (the request, its content field, the content's parts, the part's text
field, the title field), so a proto that renumbers or adds fields still encodes correctly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from textservice._encoding.media import Blob
from textservice._encoding.metadata import json_name, message_metadata
from textservice._encoding.request_forms import (
    Data,
    Field,
    Fixed,
    Message,
    Messages,
    Node,
    Text,
    TextContent,
    Texts,
    encode_json,
    prebuilt,
    prebuilt_json,
)
from textservice._encoding.wire import WIRE_LEN, tag

# betterproto2 is imported where a message is read, not when a facade is (issue 21)
if TYPE_CHECKING:
    import betterproto2

__all__ = [
    "Blob",
    "ContentFields",
    "ContentRequests",
    "Document",
    "Instruction",
    "TextRequests",
    "prebuilt",
    "prebuilt_json",
]

Instruction = Callable[[str, "str | None"], str]
"""Formats an item's text and title (``None``: none) into the text sent (a model that takes
the task in its text, ``textservice._profiles``)."""

MODEL = "model"
"""The request field naming the model: set on prebuilt requests, so reading it is free."""


@dataclass(frozen=True, slots=True)
class Document:
    """One item to embed: its text, and its own title (``None``: the call's title, if any).

    A media item has ``parts`` instead (texts and ``Blob``s, in order: one ``Content``, one
    vector); its ``text`` is then its text parts joined, as the rate governor counts it."""

    text: str
    title: str | None = None
    parts: tuple[str | Blob, ...] = ()


# -- the encoders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentFields:
    """Where an EmbedContent-like request keeps what changes per item (proto field names as
    betterproto2 spells them): ``content``, a message with repeated ``parts``, each holding a
    string ``text``; and an optional string ``title``."""

    content: str = "content"
    parts: str = "parts"
    text: str = "text"
    title: str | None = "title"
    inline_data: str | None = "inline_data"
    """The part's ``Blob`` field (``mime_type``, ``data``) for media (``None``: none)."""


def _field(message_type: type[betterproto2.Message], name: str, proto_type: str) -> Field:
    """``message_type``'s field ``name`` of ``proto_type`` (repeated or not), else
    ``TypeError``."""
    import betterproto2

    meta = message_metadata(message_type).meta_by_field_name.get(name)
    if meta is None or meta.proto_type != proto_type:
        what = "a string" if proto_type == betterproto2.TYPE_STRING else f"a {proto_type}"
        raise TypeError(f"{message_type.__name__}.{name} is not {what}")
    always = meta.group is not None or bool(meta.optional)
    return Field(tag(meta.number, WIRE_LEN), json_name(name), always)


def _single_string(message_type: type[betterproto2.Message], name: str) -> Field:
    """``message_type``'s string field ``name`` (not repeated), else ``TypeError``."""
    import betterproto2

    field = _field(message_type, name, betterproto2.TYPE_STRING)
    if message_metadata(message_type).meta_by_field_name[name].repeated:
        raise TypeError(f"{message_type.__name__}.{name} is not a string")
    return field


def _fixed(template: betterproto2.Message, slots: Sequence[str]) -> list[Fixed | str]:
    """The template's fields in betterproto2's order: each run of fixed ones encoded once (its
    bytes and its JSON members), and the names in ``slots`` where an item's nodes go."""
    cls = type(template)
    out: list[Fixed | str] = []
    for name in message_metadata(cls).meta_by_field_name:
        if name in slots:
            out.append(name)
            continue
        alone = cls(**{name: getattr(template, name)})
        wire, json = bytes(alone), tuple(alone.to_dict().items())
        if not wire and not json:
            continue
        last = out[-1] if out else None
        if isinstance(last, Fixed):
            out[-1] = Fixed(last.wire + wire, last.json + json)
        else:
            out.append(Fixed(wire, json))
    return out


_NOTHING = Fixed(b"", ())
"""A slot left empty (no title): nothing in either form."""


class ContentRequests:
    """The requests of one embedding call, written by hand (see the module docstring).

    ``template`` holds the call's fixed fields (model, task type, title, dimensionality...)
    and no content. ``batch_template``, when given, is the batch request with its fixed fields
    (the model) and no items; ``requests`` names its repeated field of single requests.

    With ``instruction``, each item's text is sent as ``instruction(text, title)`` and no
    title field is written (the template should then hold no task type or title either);
    ``instruction_title`` is then the title of the items without their own.
    """

    def __init__(
        self,
        template: betterproto2.Message,
        fields: ContentFields,
        batch_template: betterproto2.Message | None = None,
        requests: str = "requests",
        *,
        instruction: Instruction | None = None,
        instruction_title: str | None = None,
    ) -> None:
        import betterproto2

        self.one_type: type[betterproto2.Message] = type(template)
        meta = message_metadata(self.one_type)
        content_type = meta.cls_by_field[fields.content]
        parts_meta = message_metadata(content_type)
        part_type = parts_meta.cls_by_field[fields.parts]
        if not parts_meta.meta_by_field_name[fields.parts].repeated:
            raise TypeError(f"{self.one_type.__name__}.{fields.content} is not a Content")
        self._content = _field(self.one_type, fields.content, betterproto2.TYPE_MESSAGE)
        self._parts = _field(content_type, fields.parts, betterproto2.TYPE_MESSAGE)
        self._text = _single_string(part_type, fields.text)
        self._text_content = (self._content, self._parts, self._text)
        slots = [fields.content]
        self._title: Field | None = None
        call_title: str | None = None
        if fields.title is not None:
            self._title = _single_string(self.one_type, fields.title)
            call_title = getattr(template, fields.title)
            slots.append(fields.title)
        self._title_slot = fields.title
        self._content_slot = fields.content
        self._call_title = call_title
        self._instruction = instruction
        if instruction is not None:
            self._call_title = instruction_title
        self._blob: tuple[Field, Field, Field] | None = None
        inline = fields.inline_data
        if inline is not None and inline in message_metadata(part_type).meta_by_field_name:
            blob_type = message_metadata(part_type).cls_by_field[inline]
            self._blob = (
                _field(part_type, inline, betterproto2.TYPE_MESSAGE),
                _field(blob_type, "mime_type", betterproto2.TYPE_STRING),
                _field(blob_type, "data", betterproto2.TYPE_BYTES),
            )
        self._known = {MODEL: getattr(template, MODEL)} if MODEL in meta.meta_by_field_name else {}
        self._segments = _fixed(template, slots)
        self.batch_type: type[betterproto2.Message] | None = None
        if batch_template is not None:
            self.batch_type = type(batch_template)
            batch_meta = message_metadata(self.batch_type)
            repeated = batch_meta.meta_by_field_name[requests]
            if not repeated.repeated or batch_meta.cls_by_field[requests] is not self.one_type:
                raise TypeError(f"{self.batch_type.__name__}.{requests} is not repeated requests")
            self._requests = _field(self.batch_type, requests, betterproto2.TYPE_MESSAGE)
            self._batch_segments = _fixed(batch_template, [requests])
            has_model = MODEL in batch_meta.meta_by_field_name
            self._batch_known = {MODEL: getattr(batch_template, MODEL)} if has_model else {}

    def _sent_parts(self, item: Document, title: str | None) -> list[str | Blob]:
        """The content's parts as sent: the item's text, or its parts (the first text
        formatted by the instruction, which stands first on its own when the item has no
        text)."""
        instruction = self._instruction
        if not item.parts:
            return [item.text if instruction is None else instruction(item.text, title)]
        out: list[str | Blob] = []
        pending = instruction
        for part in item.parts:
            if isinstance(part, str) and pending is not None:
                part, pending = pending(part, title), None
            out.append(part)
        if pending is not None:
            out.insert(0, pending("", title))
        return out

    def _part(self, part: str | Blob) -> list[Node]:
        if isinstance(part, str):
            return [Text(self._text, part)]
        if self._blob is None:
            raise TypeError(f"{self.one_type.__name__}'s parts take no inline media")
        inline, mime, data = self._blob
        return [Message(inline, [Text(mime, part.mime_type), Data(data, part)])]

    def _item(self, item: Document) -> list[Node]:
        """The description of ``item``'s request."""
        title = self._call_title if item.title is None else item.title
        content: Node
        if item.parts or self._instruction is not None:
            parts = [self._part(p) for p in self._sent_parts(item, title)]
            content = Message(self._content, [Messages(self._parts, parts)])
        else:  # the common case: one text part
            content = TextContent(self._text_content, item.text)
        titled: Node = _NOTHING
        if self._title is not None and title is not None and self._instruction is None:
            titled = Text(self._title, title)
        slots = {self._content_slot: content, self._title_slot: titled}
        return [s if type(s) is Fixed else slots[s] for s in self._segments]  # type: ignore[index]

    def one_json(self, item: Document) -> dict[str, Any]:
        """The request for one item as its proto3 JSON object (a Batch mode input line's
        ``request``): what ``one`` sends over REST."""
        return encode_json(self._item(item))

    def one(self, item: Document) -> Any:
        """The request for one item (its media files are read when its transport's form is
        written: once for gRPC's bytes, kept for a retry; for REST's JSON at each write)."""
        return prebuilt(self.one_type, self._item(item), **self._known)

    def many(self, items: list[Document]) -> Any:
        """The batch request for ``items`` (needs a ``batch_template``)."""
        if self.batch_type is None:
            raise TypeError("no batch request type was given")
        requests = Messages(self._requests, [self._item(i) for i in items])
        nodes: list[Node] = [s if isinstance(s, Fixed) else requests for s in self._batch_segments]
        return prebuilt(self.batch_type, nodes, **self._batch_known)


@dataclass(frozen=True)
class _TextLayout:
    """Where a TextService request keeps its model and its text(s)."""

    model: Field
    texts: Field
    many: bool
    """``texts`` is repeated (BatchEmbedText)."""
    model_first: bool
    """betterproto2 writes ``model`` before ``texts``."""
    names: tuple[str, str]
    """The model's and the texts' field names."""
    unset: tuple[tuple[str, Any], ...]
    """Every field's unset value."""


@cache
def _text_layout(message_type: type[betterproto2.Message], texts: str, model: str) -> _TextLayout:
    import betterproto2

    meta = message_metadata(message_type).meta_by_field_name
    text_field = _field(message_type, texts, betterproto2.TYPE_STRING)
    order = list(meta)  # the order betterproto2 writes fields in
    unset = message_type()
    return _TextLayout(
        _single_string(message_type, model),
        text_field,
        bool(meta[texts].repeated),
        order.index(model) < order.index(texts),
        (model, texts),
        tuple((name, getattr(unset, name)) for name in meta),
    )


class NamedClass(Protocol):
    """A class named rather than imported (``textservice._transport.methods.MessageRef``):
    ``resolve()`` imports its module."""

    def resolve(self) -> type[Any]: ...


class TextRequests:
    """TextService's embedding requests, written by hand: EmbedText's (``model`` and one
    ``text``) or BatchEmbedText's (``model`` and repeated ``texts``), every other field unset.
    Called as the recipe's request builder: ``requests(model, text)`` (one text, or a list
    of them when ``texts`` names a repeated field). The fields are looked up on the first
    call (a ``TypeError`` then if they are not strings), not when a facade is imported."""

    def __init__(
        self,
        message_type: type[betterproto2.Message] | NamedClass,
        texts: str,
        model: str = MODEL,
    ) -> None:
        self._type = message_type
        self._names = (texts, model)

    @property
    def message_type(self) -> type[betterproto2.Message]:
        """The request class (a ``NamedClass`` is resolved now: its module imported)."""
        kind = self._type
        return kind if isinstance(kind, type) else kind.resolve()

    def __call__(self, model: str, text: str | list[str]) -> Any:
        """The request for ``text`` (already checked: ``str``s that encode as UTF-8)."""
        layout = _text_layout(self.message_type, *self._names)
        given: Node
        if layout.many:
            values: Any = list(text)
            given = Texts(layout.texts, values)
        else:
            values = text
            given = Text(layout.texts, values)
        named = Text(layout.model, model)
        nodes: list[Node] = [named, given] if layout.model_first else [given, named]
        known = {k: list(v) if isinstance(v, list) else v for k, v in layout.unset}
        model_name, texts_name = layout.names
        known[model_name] = model  # every field is known: reading one decodes nothing
        known[texts_name] = values
        return prebuilt(self.message_type, nodes, **known)
