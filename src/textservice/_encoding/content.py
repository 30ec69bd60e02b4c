"""EmbedContent requests written by hand: a call's fixed fields encoded once, each item spliced in.

An embedding call sends the same model, task type and output dimensionality with every text;
only the text (a ``Content`` of one text ``Part``) and the title change from item to item.
Building a betterproto2 ``EmbedContentRequest`` (with its ``Content`` and ``Part``) per text
and serialising a ``BatchEmbedContentsRequest`` of 100 of them costs about 35 ms in pure
Python, several times what the rest of a batch costs. ``ContentRequests`` instead encodes each
fixed field once with betterproto2, and per item writes only the text's and the title's bytes,
in betterproto2's field order: the bytes are exactly the ones betterproto2 writes for the
same message (``tests/test_content_requests.py`` checks it on arbitrary values).

Field numbers and which fields exist come from betterproto2's metadata of the classes the
generated facade names (the request, its content field, the content's parts, the part's text
field, the title field), so a proto that renumbers or adds fields still encodes correctly.

The result is a ``prebuilt`` message: an instance of a subclass of the request class that
serialises to the bytes already written (for any grpclib codec: ``bytes(message)`` and
``message.SerializeToString()`` both return them), and decodes them only if a field is read.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from textservice._encoding.media import Blob
from textservice._encoding.metadata import json_name, message_metadata
from textservice._encoding.wire import WIRE_LEN, encode_varint, tag

# betterproto2 is imported where a message is read, not when a facade is imported (issue 21)
if TYPE_CHECKING:
    import betterproto2

__all__ = ["Blob", "ContentFields", "ContentRequests", "Document", "Instruction", "prebuilt"]

Instruction = Callable[[str, "str | None"], str]
"""Formats an item's text and title (``None``: none) into the text sent (a model that takes
the task in its text, ``textservice._profiles``)."""

MODEL = "model"
"""The request field naming the model: set on prebuilt requests, so reading it is free."""

M = TypeVar("M", bound="betterproto2.Message")


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
    data: bytes = self.__dict__["_textservice_bytes"]
    return data


def _prebuilt_getattr(self: Any, name: str) -> Any:
    # Only called for names the instance lacks: its fields, decoded on first use.
    if name.startswith("__") or name == "_textservice_bytes":
        raise AttributeError(name)
    state = self.__dict__
    decoded = state.get("_textservice_decoded")
    if decoded is None:
        base: Any = type(self).__mro__[1]
        decoded = state["_textservice_decoded"] = base.FromString(state["_textservice_bytes"])
    return getattr(decoded, name)


def _prebuilt_repr(self: Any) -> str:
    base = type(self).__mro__[1].__name__
    return f"<prebuilt {base}: {len(self.__dict__['_textservice_bytes'])} bytes>"


@cache
def _prebuilt_class(message_type: type[M]) -> type[M]:
    namespace = {
        # betterproto2 resolves the field annotations (``to_dict``) in the class's module
        "__module__": message_type.__module__,
        "__bytes__": _prebuilt_bytes,
        "SerializeToString": _prebuilt_bytes,
        "__getattr__": _prebuilt_getattr,
        "__repr__": _prebuilt_repr,
        "__doc__": f"A {message_type.__name__} serialised in advance (see ``prebuilt``).",
    }
    subclass: type[M] = type(f"Prebuilt{message_type.__name__}", (message_type,), namespace)
    return subclass


JsonWriter = Callable[[], dict[str, Any]]
"""Writes a prebuilt message's proto3 JSON object when the REST transport asks for it."""


def prebuilt(message_type: type[M], data: bytes, json: JsonWriter | None = None, **known: Any) -> M:
    """A ``message_type`` whose serialised form is ``data``: ``bytes()`` of it (and
    ``SerializeToString()``) return ``data``; its fields are decoded from ``data`` when read,
    except the ``known`` ones, given with the values ``data`` holds (the ``model``, which the
    rate governor reads from every request, so reading it costs no decoding). ``json``, when
    given, writes the same message's proto3 JSON object (``prebuilt_json``: the REST transport
    sends it as it is; gRPC calls never write it)."""
    cls = _prebuilt_class(message_type)
    message: M = object.__new__(cls)
    message.__dict__.update(known)
    message.__dict__["_textservice_bytes"] = data
    message.__dict__["_textservice_json"] = json
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
        import betterproto2

        self.one_type: type[betterproto2.Message] = type(template)
        meta = message_metadata(self.one_type)
        content = meta.meta_by_field_name[fields.content]
        content_type = meta.cls_by_field[fields.content]
        parts_meta = message_metadata(content_type)
        parts = parts_meta.meta_by_field_name[fields.parts]
        part_type = parts_meta.cls_by_field[fields.parts]
        text = message_metadata(part_type).meta_by_field_name[fields.text]
        if content.proto_type != betterproto2.TYPE_MESSAGE or not parts.repeated:
            raise TypeError(f"{self.one_type.__name__}.{fields.content} is not a Content")
        if text.proto_type != betterproto2.TYPE_STRING or text.repeated:
            raise TypeError(f"{part_type.__name__}.{fields.text} is not a string")
        self._content_key = tag(content.number, WIRE_LEN)
        self._parts_key = tag(parts.number, WIRE_LEN)
        self._text_key = tag(text.number, WIRE_LEN)
        # a oneof member (or proto3 optional) is written even when empty; a plain string is not
        self._text_always = text.group is not None or bool(text.optional)
        slots = [fields.content]
        self._title_always = False
        self._title_key = b""
        call_title: str | None = None
        if fields.title is not None:
            title = meta.meta_by_field_name[fields.title]
            if title.proto_type != betterproto2.TYPE_STRING or title.repeated:
                raise TypeError(f"{self.one_type.__name__}.{fields.title} is not a string")
            self._title_key = tag(title.number, WIRE_LEN)
            self._title_always = title.group is not None or bool(title.optional)
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
        self._json_names = (
            json_name(fields.content),
            json_name(fields.parts),
            json_name(fields.text),
            None if fields.title is None else json_name(fields.title),
        )
        self._json_fixed = {
            k: v for k, v in template.to_dict().items() if k not in self._json_names
        }
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

    def _text_part(self, text: str) -> bytes:
        data = text.encode("utf-8")
        return _len_field(self._text_key, data) if data or self._text_always else b""

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
            _len_field(key, self._text_part(p) if isinstance(p, str) else self._blob_part(p))
            for p in self._sent_parts(item, title)
        )

    def _title(self, item: Document) -> str | None:
        """The title field's value for ``item`` (``None``: the field is not written)."""
        title = self._call_title if item.title is None else item.title
        if title is None or self._instruction is not None or not (title or self._title_always):
            return None
        return title

    def _item(self, item: Document) -> bytes:
        title = self._call_title if item.title is None else item.title
        content = _len_field(self._content_key, self._parts(item, title))
        sent = self._title(item)
        title_bytes = b"" if sent is None else _len_field(self._title_key, sent.encode("utf-8"))
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
            return {self._json_names[2]: part} if part or self._text_always else {}
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
        content, parts, _, title_name = self._json_names
        title = self._call_title if item.title is None else item.title
        sent = [self._part_json(p) for p in self._sent_parts(item, title)]
        out = {**self._json_fixed, content: {parts: sent}}
        sent_title = self._title(item)
        if title_name is not None and sent_title is not None:
            out[title_name] = sent_title
        return out

    def one(self, item: Document) -> Any:
        """The request for one item (its JSON form, written only for the REST transport,
        reads the item's files again: holding their bytes for it would double a gRPC call's
        memory)."""
        return prebuilt(
            self.one_type, self._item(item), lambda: self._item_json(item), **self._known
        )

    def many(self, items: list[Document]) -> Any:
        """The batch request for ``items`` (needs a ``batch_template``)."""
        if self.batch_type is None:
            raise TypeError("no batch request type was given")
        key, item = self._requests_key, self._item
        requests = b"".join([_len_field(key, item(i)) for i in items])
        out = [s if isinstance(s, bytes) else requests for s in self._batch_segments]

        def written() -> dict[str, Any]:
            value = dict(self._batch_json_fixed)
            if items:  # proto3 JSON leaves an empty repeated field out
                value[self._requests_json] = [self._item_json(i) for i in items]
            return value

        return prebuilt(self.batch_type, b"".join(out), written, **self._batch_known)
