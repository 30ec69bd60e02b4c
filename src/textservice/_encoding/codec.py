"""The grpclib message codec: betterproto2 messages, with a fast path for embeddings.

betterproto2 moves packed floats one value at a time in Python (~70 ms for a 100 x 768
``BatchEmbedTextResponse``). ``Codec`` writes and reads the embedding-bearing responses of
every API version by hand instead, one ``struct``/``array`` call per vector, and hands every
other message, and every wire form it does not recognise, to betterproto2 unchanged.

Which messages take the fast path is decided from their betterproto2 field metadata, not
their names: a message whose only field is field 1, a message (optional or repeated), whose
only field is field 1, a repeated ``float``. That is ``EmbedTextResponse`` and
``BatchEmbedTextResponse`` (with ``Embedding``) of v1beta2, v1beta3 and v1beta; if a future
proto adds a field to them, they simply stop matching and use the generic path.

The embedding requests of both services are written by hand where they are made
(``textservice._encoding.embed_requests``): they reach this codec as prebuilt messages that
give their own bytes.

All fast paths give exactly what betterproto2 gives (bytes on encode; equal messages on
decode); ``tests/encoding/test_codec.py`` checks that property on arbitrary values and wire forms.

For ``output="numpy"`` an RPC's reply type is ``textservice._encoding.arrays.ArrayReply``
instead of a message class; like any type without a fast path here, it is decoded by its own
``FromString``, which reads the packed float runs straight into a float32 array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from types import EllipsisType
from typing import Any

import betterproto2
from grpclib.encoding.proto import ProtoCodec

from textservice._encoding.metadata import message_metadata
from textservice._encoding.wire import (
    WIRE_LEN,
    WireError,
    encode_varint,
    fields,
    float32_run_is_small,
    pack_float32,
    read_varint,
    tag,
    unpack_float32,
)

_FIELD1_LEN = tag(1, WIRE_LEN)  # b"\x0a": the key of field 1 of every message involved


@dataclass(frozen=True)
class EmbeddingLayout:
    """How an embedding-bearing message is laid out (see the module docstring)."""

    field: str
    """Name of the message's field 1 (``embedding`` or ``embeddings``)."""
    repeated: bool
    embedding_type: type[betterproto2.Message]
    values_field: str
    """Name of the embedding's repeated float field 1 (``value``)."""


def _only_field(cls: object) -> tuple[str, Any] | None:
    """The name and metadata of a message class's only field, when it is a plain field 1."""
    if not (isinstance(cls, type) and issubclass(cls, betterproto2.Message)):
        return None
    fields = message_metadata(cls).meta_by_field_name
    if len(fields) != 1:
        return None
    ((name, meta),) = fields.items()
    if meta.number != 1 or meta.map_meta is not None or meta.unwrap is not None:
        return None
    if meta.group is not None:
        return None
    return name, meta


@cache
def embedding_layout(message_type: Any) -> EmbeddingLayout | None:
    """The layout of ``message_type`` if it takes the fast path, else ``None``."""
    outer = _only_field(message_type)
    if outer is None:
        return None
    name, meta = outer
    if meta.proto_type != betterproto2.TYPE_MESSAGE:
        return None
    if not (meta.repeated or meta.optional):
        return None
    inner_type = message_metadata(message_type).cls_by_field[name]
    inner = _only_field(inner_type)
    if inner is None:
        return None
    values_name, values_meta = inner
    if values_meta.proto_type != betterproto2.TYPE_FLOAT or not values_meta.repeated:
        return None
    return EmbeddingLayout(name, bool(meta.repeated), inner_type, values_name)


def _unknown(message: betterproto2.Message) -> bytes:
    return getattr(message, "_unknown_fields", b"")


def _encode_embedding(embedding: object, layout: EmbeddingLayout) -> bytes | None:
    """Field 1 holding ``embedding``, or ``None`` when betterproto2 must do it."""
    if type(embedding) is not layout.embedding_type:
        return None
    assert isinstance(embedding, betterproto2.Message)
    if _unknown(embedding):
        return None
    values = getattr(embedding, layout.values_field)
    if type(values) is not list:  # betterproto2 treats other sequences differently
        return None
    if values:
        try:
            packed = pack_float32(values)
        except (TypeError, ValueError, OverflowError):  # struct.error is a ValueError too
            return None  # betterproto2 raises its own error for these values
        body = _FIELD1_LEN + encode_varint(len(packed)) + packed
    else:
        body = b""
    return _FIELD1_LEN + encode_varint(len(body)) + body


def encode_fast(message: betterproto2.Message, layout: EmbeddingLayout) -> bytes | None:
    """The bytes betterproto2 would write for ``message``, or ``None`` to let it write them."""
    if _unknown(message):
        return None
    value = getattr(message, layout.field)
    if not layout.repeated:
        if value is None:
            return b""
        return _encode_embedding(value, layout)
    if type(value) is not list:
        return None
    parts = []
    for embedding in value:
        part = _encode_embedding(embedding, layout)
        if part is None:
            return None
        parts.append(part)
    return b"".join(parts)


def _decode_embedding(
    data: bytes, pos: int, stop: int, layout: EmbeddingLayout
) -> tuple[betterproto2.Message, bool] | None:
    """The embedding of the canonical bytes ``data[pos:stop]`` (one packed run, or nothing)
    and whether its values are all finite; ``None`` for another form."""
    if pos == stop:
        return layout.embedding_type(**{layout.values_field: []}), True
    if data[pos] != _FIELD1_LEN[0]:
        return None
    length, start = read_varint(data, pos + 1)
    if start + length != stop or length % 4:
        return None
    values = unpack_float32(memoryview(data)[start:stop])
    finite = float32_run_is_small(data, start, stop) or math.isfinite(sum(values))
    return layout.embedding_type(**{layout.values_field: values}), finite


_NOT_FINITE = "_textservice_not_finite"
"""The attribute ``decode_fast`` leaves on a message: where it saw NaN or an infinity."""


def seen_not_finite(message: Any) -> int | EllipsisType | None:
    """What ``decode_fast`` saw in ``message``'s embeddings: the position of the first one
    holding NaN or an infinity, ``None`` when every value is finite, or ``...`` when the
    message was not decoded by it (then nobody looked)."""
    found: int | EllipsisType | None = getattr(message, _NOT_FINITE, ...)
    return found


def decode_fast(
    data: bytes, message_type: type[betterproto2.Message], layout: EmbeddingLayout
) -> betterproto2.Message | None:
    """Parse the canonical wire form of an embedding-bearing message, else ``None``.

    Canonical: only field 1 entries (at most one for a singular field), each embedding
    holding a single packed float run. Anything else (unpacked or split floats, unknown
    fields, truncation) is left to betterproto2, so its results and quirks stay the rule.

    The message also records whether its values are finite, read from the bytes on the way
    (``seen_not_finite``): the engine refuses NaN and infinities, and this costs it far less
    than a pass over the floats.
    """
    data = bytes(data)
    end = len(data)
    pos = 0
    embeddings: list[betterproto2.Message] = []
    not_finite: int | None = None
    try:
        while pos < end:
            if data[pos] != _FIELD1_LEN[0]:
                return None
            length, pos = read_varint(data, pos + 1)
            stop = pos + length
            if stop > end:
                return None
            found = _decode_embedding(data, pos, stop, layout)
            if found is None:
                return None
            embedding, finite = found
            if not finite and not_finite is None:
                not_finite = len(embeddings)
            embeddings.append(embedding)
            pos = stop
    except WireError:
        return None
    if layout.repeated:
        message = message_type(**{layout.field: embeddings})
    elif len(embeddings) > 1:
        return None
    else:
        message = message_type(**{layout.field: embeddings[0] if embeddings else None})
    setattr(message, _NOT_FINITE, not_finite)  # not a field: no effect on bytes or equality
    return message


def check_wire(data: bytes, message_type: type[betterproto2.Message]) -> None:
    """Raise ``WireError`` unless ``data`` is well-formed protobuf for ``message_type``,
    its nested messages included (``wire.fields``: no zero key, no unknown wire type, no
    field past its end).

    betterproto2 accepts what is not protobuf and keeps unknown fields by appending bytes,
    which takes time quadratic in their count: 2 MiB of zero bytes (a million "fields" of
    number 0) costs it a minute of CPU. One pass here, a few times cheaper per field than
    betterproto2's own, refuses them at once.
    """
    meta = message_metadata(message_type)
    for number, wire_type, start, end in fields(data):
        if wire_type != WIRE_LEN:
            continue
        name = meta.field_name_by_number.get(number)
        if name is None:
            continue
        if meta.meta_by_field_name[name].proto_type not in _NESTED:
            continue
        nested = meta.cls_by_field.get(name)
        if isinstance(nested, type) and issubclass(nested, betterproto2.Message):
            check_wire(data[start:end], nested)


_NESTED = frozenset({betterproto2.TYPE_MESSAGE, betterproto2.TYPE_MAP})


class RawReply:
    """Stands for a reply type in an RPC whose caller decodes the bytes itself: grpclib's
    codecs call ``FromString(data)``, which hands the bytes back as they are."""

    @staticmethod
    def FromString(data: bytes) -> bytes:  # the name grpclib's codecs call
        """``data`` itself."""
        return data


def decode_quick(data: bytes, reply: Any) -> Any:
    """``data`` decoded as ``reply`` by a fast path (linear in its size, a few milliseconds a
    megabyte), or ``None`` when only ``decode_slow`` can: embedding messages in their
    canonical form, and a stand-in's own fast path (its ``decode_quick``)."""
    quick = getattr(reply, "decode_quick", None)
    if quick is not None:
        return quick(data)
    layout = embedding_layout(reply)
    if layout is not None:
        return decode_fast(data, reply, layout)
    return None


def decode_slow(data: bytes, reply: Any) -> Any:
    """``data`` decoded as ``reply`` by any path, betterproto2's included (what ``Codec``
    does; a stand-in's own ``decode_slow``)."""
    slow = getattr(reply, "decode_slow", None)
    if slow is not None:
        return slow(data)
    return _CODEC.decode(data, reply)


class Codec(ProtoCodec):
    """grpclib codec for betterproto2 messages, fast for embedding responses.

    Pass it to ``grpclib.client.Channel(codec=Codec(), ...)`` or ``grpclib.server.Server``.
    """

    def encode(self, message: Any, message_type: Any) -> bytes:
        """Serialise ``message`` (which must be a ``message_type``)."""
        if not isinstance(message, message_type):
            raise TypeError(f"Message must be of type {message_type!r}, not {type(message)!r}")
        cls: Any = type(message)
        if cls is message_type:
            layout = embedding_layout(cls)
            if layout is not None:
                fast = encode_fast(message, layout)
                if fast is not None:
                    return fast
        return bytes(message)  # a prebuilt request (``embed_requests``) gives its own bytes

    def decode(self, data: bytes, message_type: Any) -> Any:
        """Parse ``data`` as a ``message_type`` (``WireError`` for bytes that are not
        protobuf: ``check_wire``)."""
        layout = embedding_layout(message_type)
        if layout is not None:
            fast = decode_fast(data, message_type, layout)
            if fast is not None:
                return fast
        if isinstance(message_type, type) and issubclass(message_type, betterproto2.Message):
            check_wire(data, message_type)
        return message_type.FromString(data)


_CODEC = Codec()
