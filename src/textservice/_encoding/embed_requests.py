"""Embedding requests written by hand, for both services and both transports.

An embedding call sends the same model (and for GenerativeService the same task type and
output dimensionality) with every text; only the text (for EmbedContent a ``Content`` of one
text ``Part``) and the title change from item to item. Building betterproto2 messages per
text and serialising a batch of 100 of them costs about 35 ms in pure Python, several times
what the rest of a batch costs. So every embedding request of either service is described
once here and written straight to the form its transport sends:

- ``ContentRequests`` (EmbedContent, BatchEmbedContents) encodes each fixed field once with
  betterproto2 and per item writes only the text's, the media's and the title's bytes;
- ``TextRequests`` (TextService's EmbedText, BatchEmbedText) writes the model and the texts.

Each returns a ``prebuilt`` message: an instance of a subclass of the request class holding
the two writers of the same request, the protobuf wire bytes (what the gRPC transport sends:
``bytes(message)``, ``message.SerializeToString()``, for any grpclib codec) and its proto3
JSON object (what the REST transport sends: ``prebuilt_json``). Each form is written only when
a transport asks for it, so a gRPC call never writes JSON and a REST call never writes bytes;
a field read from the message is decoded from the bytes. The bytes are exactly the ones
betterproto2 writes for the same message and the JSON its ``to_dict()``
(``tests/test_content_requests.py`` checks both on arbitrary values).

Field numbers and which fields exist come from betterproto2's metadata of the classes the
generated facade names (the request, its content field, the content's parts, the part's text
field, the title field), so a proto that renumbers or adds fields still encodes correctly.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import betterproto2

from textservice._encoding.media import Blob
from textservice._encoding.metadata import json_name, message_metadata
from textservice._encoding.wire import WIRE_LEN, encode_varint, tag

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

M = TypeVar("M", bound=betterproto2.Message)


@dataclass(frozen=True, slots=True)
class Document:
    """One item to embed: its text, and its own title (``None``: the call's title, if any).

    A media item has ``parts`` instead (texts and ``Blob``s, in order: one ``Content``, one
    vector); its ``text`` is then its text parts joined, as the rate governor counts it."""

    text: str
    title: str | None = None
    parts: tuple[str | Blob, ...] = ()


# -- prebuilt messages ----------------------------------------------------------------------


def _prebuilt_bytes(self: Any) -> bytes:
    state = self.__dict__
    data: bytes | None = state.get("_textservice_bytes")
    if data is None:  # written once, when first asked for (a retry sends the same bytes)
        data = state["_textservice_bytes"] = state["_textservice_wire"]()
    return data


def _prebuilt_getattr(self: Any, name: str) -> Any:
    # Only called for names the instance lacks: its fields, decoded on first use.
    if name.startswith("__") or name.startswith("_textservice_"):
        raise AttributeError(name)
    state = self.__dict__
    decoded = state.get("_textservice_decoded")
    if decoded is None:
        base: Any = type(self).__mro__[1]
        decoded = state["_textservice_decoded"] = base.FromString(_prebuilt_bytes(self))
    return getattr(decoded, name)


def _prebuilt_repr(self: Any) -> str:
    base = type(self).__mro__[1].__name__
    return f"<prebuilt {base}: {len(_prebuilt_bytes(self))} bytes>"


@cache
def _prebuilt_class(message_type: type[M]) -> type[M]:
    namespace = {
        # betterproto2 resolves the field annotations (``to_dict``) in the class's module
        "__module__": message_type.__module__,
        "__bytes__": _prebuilt_bytes,
        "SerializeToString": _prebuilt_bytes,
        "__getattr__": _prebuilt_getattr,
        "__repr__": _prebuilt_repr,
        "__doc__": f"A {message_type.__name__} written by hand (see ``prebuilt``).",
    }
    subclass: type[M] = type(f"Prebuilt{message_type.__name__}", (message_type,), namespace)
    return subclass


JsonWriter = Callable[[], dict[str, Any]]
"""Writes a prebuilt message's proto3 JSON object when the REST transport asks for it."""


def prebuilt(
    message_type: type[M],
    wire: bytes | Callable[[], bytes],
    json: JsonWriter | None = None,
    **known: Any,
) -> M:
    """A ``message_type`` whose serialised form is ``wire`` (bytes, or what writes them when
    first asked for): ``bytes()`` of it (and ``SerializeToString()``) return them; its fields
    are decoded from them when read, except the ``known`` ones, given with the values the
    bytes hold (the ``model``, which the rate governor reads from every request, so reading
    it costs no decoding). ``json``, when given, writes the same message's proto3 JSON object
    (``prebuilt_json``: the REST transport sends it as it is; gRPC calls never write it)."""
    cls = _prebuilt_class(message_type)
    message: M = object.__new__(cls)
    state = message.__dict__
    state.update(known)
    if isinstance(wire, bytes):
        state["_textservice_bytes"] = wire
    else:
        state["_textservice_wire"] = wire
    state["_textservice_json"] = json
    return message


def prebuilt_json(message: object) -> dict[str, Any] | None:
    """The proto3 JSON object of a prebuilt message made with a ``json`` writer (a new dict
    each time), else ``None``."""
    state = getattr(message, "__dict__", None)
    writer: JsonWriter | None = state.get("_textservice_json") if state is not None else None
    return None if writer is None else writer()


# -- the encoder ----------------------------------------------------------------------------


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


def _len_field(key: bytes, body: bytes) -> bytes:
    return key + encode_varint(len(body)) + body


@dataclass(frozen=True)
class _StringField:
    """A string field of a request, as both forms write it."""

    name: str
    key: bytes
    """Its tag bytes (number, wire type LEN)."""
    json: str
    """Its proto3 JSON name."""
    always: bool
    """Written even when empty (a oneof member or proto3 ``optional``); a plain string is not."""

    def wire(self, value: str) -> bytes:
        data = value.encode("utf-8")
        return _len_field(self.key, data) if data or self.always else b""


def _single_string(message_type: type[betterproto2.Message], name: str) -> _StringField:
    """``_string_field``, not repeated."""
    field = _string_field(message_type, name)
    if message_metadata(message_type).meta_by_field_name[name].repeated:
        raise TypeError(f"{message_type.__name__}.{name} is not a string")
    return field


def _string_field(message_type: type[betterproto2.Message], name: str) -> _StringField:
    """``message_type``'s field ``name`` (a string, or repeated strings), else ``TypeError``."""
    meta = message_metadata(message_type).meta_by_field_name.get(name)
    if meta is None or meta.proto_type != betterproto2.TYPE_STRING:
        raise TypeError(f"{message_type.__name__}.{name} is not a string")
    always = meta.group is not None or bool(meta.optional)
    return _StringField(name, tag(meta.number, WIRE_LEN), json_name(name), always)


def _segments(template: betterproto2.Message, slots: Sequence[str]) -> list[bytes | str]:
    """The template's fields in betterproto2's order: each fixed one's bytes (consecutive ones
    joined), and the names in ``slots`` where an item's bytes go."""
    cls = type(template)
    out: list[bytes | str] = []
    for name in message_metadata(cls).meta_by_field_name:
        if name in slots:
            out.append(name)
            continue
        alone = bytes(cls(**{name: getattr(template, name)}))
        if alone:
            if out and isinstance(out[-1], bytes):
                out[-1] += alone
            else:
                out.append(alone)
    return out


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
        self.one_type: type[betterproto2.Message] = type(template)
        meta = message_metadata(self.one_type)
        content = meta.meta_by_field_name[fields.content]
        content_type = meta.cls_by_field[fields.content]
        parts_meta = message_metadata(content_type)
        parts = parts_meta.meta_by_field_name[fields.parts]
        part_type = parts_meta.cls_by_field[fields.parts]
        if content.proto_type != betterproto2.TYPE_MESSAGE or not parts.repeated:
            raise TypeError(f"{self.one_type.__name__}.{fields.content} is not a Content")
        self._text = _single_string(part_type, fields.text)
        self._content_key = tag(content.number, WIRE_LEN)
        self._parts_key = tag(parts.number, WIRE_LEN)
        slots = [fields.content]
        self._title: _StringField | None = None
        call_title: str | None = None
        if fields.title is not None:
            self._title = _single_string(self.one_type, fields.title)
            call_title = getattr(template, fields.title)
            slots.append(fields.title)
        self._title_field = fields.title
        self._call_title = call_title
        self._instruction = instruction
        if instruction is not None:
            self._call_title = instruction_title
        self._blob_keys: tuple[bytes, bytes, bytes] | None = None
        inline = fields.inline_data
        if inline is not None and inline in message_metadata(part_type).meta_by_field_name:
            blob_meta = message_metadata(part_type)
            blob_type = blob_meta.cls_by_field[inline]
            blob_fields = message_metadata(blob_type).meta_by_field_name
            self._blob_keys = (
                tag(blob_meta.meta_by_field_name[inline].number, WIRE_LEN),
                tag(blob_fields["mime_type"].number, WIRE_LEN),
                tag(blob_fields["data"].number, WIRE_LEN),
            )
            self._blob_json = (json_name(inline), json_name("mime_type"), json_name("data"))
        self._known = {MODEL: getattr(template, MODEL)} if MODEL in meta.meta_by_field_name else {}
        self._segments = _segments(template, slots)
        # the same request as proto3 JSON (for the REST transport): the fixed fields once
        self._json_names = (json_name(fields.content), json_name(fields.parts))
        per_item = {*self._json_names, *(f.json for f in (self._title,) if f is not None)}
        self._json_fixed = {k: v for k, v in template.to_dict().items() if k not in per_item}
        self.batch_type: type[betterproto2.Message] | None = None
        if batch_template is not None:
            self.batch_type = type(batch_template)
            batch_meta = message_metadata(self.batch_type)
            repeated = batch_meta.meta_by_field_name[requests]
            if not repeated.repeated or batch_meta.cls_by_field[requests] is not self.one_type:
                raise TypeError(f"{self.batch_type.__name__}.{requests} is not repeated requests")
            self._requests_key = tag(repeated.number, WIRE_LEN)
            self._batch_segments = _segments(batch_template, [requests])
            has_model = MODEL in batch_meta.meta_by_field_name
            self._batch_known = {MODEL: getattr(batch_template, MODEL)} if has_model else {}
            self._requests_json = json_name(requests)
            self._batch_json_fixed = {
                k: v for k, v in batch_template.to_dict().items() if k != self._requests_json
            }

    def _blob_part(self, blob: Blob) -> bytes:
        if self._blob_keys is None:
            raise TypeError(f"{self.one_type.__name__}'s parts take no inline media")
        inline_key, mime_key, data_key = self._blob_keys
        mime, data = blob.mime_type.encode("utf-8"), blob.read()
        body = (_len_field(mime_key, mime) if mime else b"") + (
            _len_field(data_key, data) if data else b""
        )
        return _len_field(inline_key, body)

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

    def _parts(self, item: Document, title: str | None) -> bytes:
        key = self._parts_key
        return b"".join(
            _len_field(key, self._text.wire(p) if isinstance(p, str) else self._blob_part(p))
            for p in self._sent_parts(item, title)
        )

    def _sent_title(self, item: Document) -> str | None:
        """The title field's value for ``item`` (``None``: the field is not written)."""
        title = self._call_title if item.title is None else item.title
        field = self._title
        if title is None or field is None or self._instruction is not None:
            return None
        return title if title or field.always else None

    def _item(self, item: Document) -> bytes:
        title = self._call_title if item.title is None else item.title
        content = _len_field(self._content_key, self._parts(item, title))
        sent = self._sent_title(item)
        title_bytes = b"" if sent is None or self._title is None else self._title.wire(sent)
        out = []
        for segment in self._segments:
            if isinstance(segment, bytes):
                out.append(segment)
            elif segment == self._title_field:
                out.append(title_bytes)
            else:
                out.append(content)
        return b"".join(out)

    def _part_json(self, part: str | Blob) -> dict[str, Any]:
        if isinstance(part, str):
            return {self._text.json: part} if part or self._text.always else {}
        if self._blob_keys is None:
            raise TypeError(f"{self.one_type.__name__}'s parts take no inline media")
        inline, mime_name, data_name = self._blob_json
        blob: dict[str, Any] = {}
        if part.mime_type:
            blob[mime_name] = part.mime_type
        data = part.read()
        if data:  # proto3 JSON: bytes as standard base64 with padding
            blob[data_name] = base64.b64encode(data).decode("ascii")
        return {inline: blob}

    def _item_json(self, item: Document) -> dict[str, Any]:
        """The item's request as proto3 JSON (what ``_item`` writes, field for field)."""
        content, parts = self._json_names
        title = self._call_title if item.title is None else item.title
        sent = [self._part_json(p) for p in self._sent_parts(item, title)]
        out = {**self._json_fixed, content: {parts: sent}}
        sent_title = self._sent_title(item)
        if self._title is not None and sent_title is not None:
            out[self._title.json] = sent_title
        return out

    def one(self, item: Document) -> Any:
        """The request for one item: its media files are read when its transport's form is
        written (once for gRPC's bytes, kept for a retry; for REST's JSON at each write)."""
        return prebuilt(
            self.one_type, lambda: self._item(item), lambda: self._item_json(item), **self._known
        )

    def many(self, items: list[Document]) -> Any:
        """The batch request for ``items`` (needs a ``batch_template``)."""
        if self.batch_type is None:
            raise TypeError("no batch request type was given")

        def wire() -> bytes:
            key, item = self._requests_key, self._item
            requests = b"".join([_len_field(key, item(i)) for i in items])
            return b"".join(s if isinstance(s, bytes) else requests for s in self._batch_segments)

        def json() -> dict[str, Any]:
            value = dict(self._batch_json_fixed)
            if items:  # proto3 JSON leaves an empty repeated field out
                value[self._requests_json] = [self._item_json(i) for i in items]
            return value

        return prebuilt(self.batch_type, wire, json, **self._batch_known)


@dataclass(frozen=True)
class _TextLayout:
    """Where a TextService request keeps its model and its text(s)."""

    model: _StringField
    texts: _StringField
    many: bool
    """``texts`` is repeated (BatchEmbedText)."""
    model_first: bool
    """betterproto2 writes ``model`` before ``texts``."""
    unset: tuple[tuple[str, Any], ...]
    """Every field's unset value."""


@cache
def _text_layout(message_type: type[betterproto2.Message], texts: str, model: str) -> _TextLayout:
    meta = message_metadata(message_type).meta_by_field_name
    text_field = _string_field(message_type, texts)
    order = list(meta)  # the order betterproto2 writes fields in
    unset = message_type()
    return _TextLayout(
        _single_string(message_type, model),
        text_field,
        bool(meta[texts].repeated),
        order.index(model) < order.index(texts),
        tuple((name, getattr(unset, name)) for name in meta),
    )


class TextRequests:
    """TextService's embedding requests, written by hand: EmbedText's (``model`` and one
    ``text``) or BatchEmbedText's (``model`` and repeated ``texts``), every other field unset.
    Called as the recipe's request builder: ``requests(model, text)`` (one text, or a list
    of them when ``texts`` names a repeated field). The fields are looked up on the first
    call (a ``TypeError`` then if they are not strings), not when a facade is imported."""

    def __init__(
        self, message_type: type[betterproto2.Message], texts: str, model: str = MODEL
    ) -> None:
        self.message_type = message_type
        self._names = (texts, model)

    def __call__(self, model: str, text: str | list[str]) -> Any:
        """The request for ``text`` (already checked: ``str``s that encode as UTF-8)."""
        layout = _text_layout(self.message_type, *self._names)
        values: list[str] = list(text) if layout.many else [text]  # type: ignore[list-item]
        texts, model_field = layout.texts, layout.model

        def wire() -> bytes:
            if layout.many:  # a repeated string writes every element, empty ones too
                body = b"".join(_len_field(texts.key, v.encode("utf-8")) for v in values)
            else:
                body = texts.wire(values[0])
            head = model_field.wire(model)
            return head + body if layout.model_first else body + head

        def json() -> dict[str, Any]:
            out: dict[str, Any] = {}
            if model or model_field.always:
                out[model_field.json] = model
            if layout.many:
                if values:  # proto3 JSON leaves an empty repeated field out
                    out[texts.json] = list(values)
            elif values[0] or texts.always:
                out[texts.json] = values[0]
            return out

        known = {k: list(v) if isinstance(v, list) else v for k, v in layout.unset}
        known[model_field.name] = model  # every field is known: reading one decodes nothing
        known[texts.name] = values if layout.many else values[0]
        return prebuilt(self.message_type, wire, json, **known)
