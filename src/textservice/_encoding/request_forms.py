"""One description of a request, and the form each transport sends it in.

The embedding requests written by hand (``embed_requests``) are described once, as a list of
``Node``s in betterproto2's field order: strings, repeated strings, media data, messages,
repeated messages, and runs of fixed fields encoded once per call (``Fixed``: their bytes and
their JSON members, both from betterproto2). Each transport reads that one description with
its own encoder, chosen from ``ENCODERS`` once per transport (as httpx picks a content
decoder): ``"wire"`` writes the protobuf bytes the gRPC transport sends, ``"json"`` the proto3
JSON object the REST transport sends. The rules of both forms (which empty values are left
out, bytes as base64) are here and nowhere else.

A ``prebuilt`` message carries a description: an instance of a subclass of the request
class whose ``bytes()`` (and ``SerializeToString()``, for any grpclib codec) are the wire
form, written when first asked for and kept (a retry sends the same bytes, media files read
once), and whose ``prebuilt_json`` is the JSON form (written at each ask: it is not kept).
A field read from it is decoded from the bytes, except the ``known`` ones.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from textservice._encoding.media import Blob
from textservice._encoding.wire import encode_varint

# betterproto2 is imported where a message is read, not when a facade is (issue 21)
if TYPE_CHECKING:
    import betterproto2

__all__ = [
    "ENCODERS",
    "Data",
    "Field",
    "Fixed",
    "Message",
    "Messages",
    "Node",
    "Text",
    "TextContent",
    "Texts",
    "encode_json",
    "encode_wire",
    "prebuilt",
    "prebuilt_json",
]

M = TypeVar("M", bound="betterproto2.Message")


class Field(NamedTuple):
    """A field as both forms name it: its key (tag bytes) and its proto3 JSON name."""

    key: bytes
    json: str
    always: bool = False
    """Written even when empty (a oneof member or proto3 ``optional`` string); a plain
    string, or empty bytes, is left out."""


class Fixed(NamedTuple):
    """Fields encoded once for many requests: their bytes and their JSON members."""

    wire: bytes
    json: tuple[tuple[str, Any], ...]


class Text(NamedTuple):
    """A string field."""

    field: Field
    value: str


class Texts(NamedTuple):
    """A repeated string field (every element written, empty ones too)."""

    field: Field
    values: list[str]


class Data(NamedTuple):
    """A bytes field holding a media part's data, read when its form is written."""

    field: Field
    blob: Blob


class Message(NamedTuple):
    """A message field (written even when it holds nothing)."""

    field: Field
    nodes: list[Node]


class Messages(NamedTuple):
    """A repeated message field."""

    field: Field
    items: list[list[Node]]


class TextContent(NamedTuple):
    """A message field holding one message of one string: ``content { parts { text } }``,
    the common shape of an embedding item, written without a walk (its own node for speed:
    the same bytes and JSON as the ``Message``/``Messages``/``Text`` it stands for)."""

    fields: tuple[Field, Field, Field]
    """The outer message field, its repeated message field, that message's string field."""
    value: str


Node = Fixed | Text | Texts | Data | Message | Messages | TextContent
"""One part of a request's description."""


def encode_wire(nodes: list[Node]) -> bytes:
    """The protobuf bytes of ``nodes``: byte for byte what betterproto2 writes."""
    out: list[bytes] = []
    put = out.append
    node: Any  # read by position: the hot path of every embedding request
    for node in nodes:
        kind = type(node)
        if kind is Text:
            key, _, always = node[0]
            data = node[1].encode("utf-8")
            if data or always:
                put(key + encode_varint(len(data)) + data)
        elif kind is Fixed:
            put(node[0])
        elif kind is TextContent:
            outer, inner, text = node[0]
            data = node[1].encode("utf-8")
            part = text[0] + encode_varint(len(data)) + data if data or text[2] else b""
            parts = inner[0] + encode_varint(len(part)) + part
            put(outer[0] + encode_varint(len(parts)) + parts)
        elif kind is Message:
            body = encode_wire(node[1])
            put(node[0][0] + encode_varint(len(body)) + body)
        elif kind is Messages:
            key = node[0][0]
            for item in node[1]:
                first = item[0] if len(item) == 1 else None
                if type(first) is Text and first[1]:  # a text part: no call for it
                    data = first[1].encode("utf-8")
                    body = first[0][0] + encode_varint(len(data)) + data
                else:
                    body = encode_wire(item)
                put(key + encode_varint(len(body)) + body)
        elif kind is Texts:
            key = node[0][0]
            for value in node[1]:
                data = value.encode("utf-8")
                put(key + encode_varint(len(data)) + data)
        else:
            key, _, always = node[0]
            data = node[1].read()
            if data or always:
                put(key + encode_varint(len(data)) + data)
    return b"".join(out)


def encode_json(nodes: list[Node]) -> dict[str, Any]:
    """The proto3 JSON object of ``nodes``: what betterproto2's ``to_dict()`` gives (default
    values left out, bytes as standard base64 with padding)."""
    out: dict[str, Any] = {}
    node: Any
    for node in nodes:
        kind = type(node)
        if kind is Text:
            _, name, always = node[0]
            if node[1] or always:
                out[name] = node[1]
        elif kind is Fixed:
            out.update(node[1])
        elif kind is TextContent:
            outer, inner, text = node[0]
            part = {text[1]: node[1]} if node[1] or text[2] else {}
            out[outer[1]] = {inner[1]: [part]}
        elif kind is Message:
            out[node[0][1]] = encode_json(node[1])
        elif kind is Messages:
            if node[1]:  # an empty repeated field is left out
                out[node[0][1]] = [_json_item(item) for item in node[1]]
        elif kind is Texts:
            if node[1]:
                out[node[0][1]] = list(node[1])
        else:
            _, name, always = node[0]
            data = node[1].read()
            if data or always:
                out[name] = base64.b64encode(data).decode("ascii")
    return out


def _json_item(nodes: list[Node]) -> dict[str, Any]:
    first: Any = nodes[0] if len(nodes) == 1 else None
    if type(first) is Text and first[1]:  # a text part: no walk for it
        return {first[0][1]: first[1]}
    return encode_json(nodes)


ENCODERS: dict[str, Callable[[list[Node]], Any]] = {"wire": encode_wire, "json": encode_json}
"""The form each transport sends, by name: gRPC's ``"wire"``, REST's ``"json"``."""


# -- prebuilt messages ----------------------------------------------------------------------


def _prebuilt_bytes(self: Any) -> bytes:
    state = self.__dict__
    data: bytes | None = state.get("_textservice_bytes")
    if data is None:  # written once, when first asked for (a retry sends the same bytes)
        data = state["_textservice_bytes"] = ENCODERS["wire"](state["_textservice_nodes"])
    return data


def _plain(self: Any) -> Any:
    """The plain message a prebuilt one describes, decoded from its bytes once."""
    state = self.__dict__
    decoded = state.get("_textservice_decoded")
    if decoded is None:
        base: Any = type(self).__mro__[1]
        decoded = state["_textservice_decoded"] = base.FromString(_prebuilt_bytes(self))
    return decoded


def _prebuilt_getattr(self: Any, name: str) -> Any:
    # Only called for names the instance lacks: its fields, decoded on first use.
    if name.startswith("__") or name.startswith("_textservice_"):
        raise AttributeError(name)
    return getattr(_plain(self), name)


def _prebuilt_eq(self: Any, other: object) -> bool:
    # Equal to the plain message it describes (a dataclass's ``==`` wants the same class).
    base = type(self).__mro__[1]
    if not isinstance(other, base):
        return NotImplemented  # type: ignore[no-any-return]
    plain = _plain(other) if type(other) is type(self) else other
    return bool(_plain(self) == plain)


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
        "__eq__": _prebuilt_eq,
        "__hash__": None,
        "__doc__": f"A {message_type.__name__} written by hand (see ``prebuilt``).",
    }
    subclass: type[M] = type(f"Prebuilt{message_type.__name__}", (message_type,), namespace)
    return subclass


def prebuilt(message_type: type[M], nodes: list[Node] | bytes, **known: Any) -> M:
    """A ``message_type`` described by ``nodes`` (or given as its bytes, with no JSON form):
    see the module docstring. ``known``: fields given with the values the description holds
    (the ``model``, which the rate governor reads from every request), read without
    decoding."""
    cls = _prebuilt_class(message_type)
    message: M = object.__new__(cls)
    state = message.__dict__
    state.update(known)
    if isinstance(nodes, bytes):
        state["_textservice_bytes"] = nodes
    else:
        state["_textservice_nodes"] = nodes
    return message


def prebuilt_json(message: object) -> dict[str, Any] | None:
    """The proto3 JSON object of a prebuilt message described by nodes (a new dict each
    time), else ``None``."""
    state = getattr(message, "__dict__", None)
    nodes: list[Node] | None = state.get("_textservice_nodes") if state is not None else None
    return None if nodes is None else ENCODERS["json"](nodes)
