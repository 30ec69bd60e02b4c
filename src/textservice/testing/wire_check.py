"""A strict look at request bytes before betterproto2 parses them.

betterproto2's parser is lenient: a known field sent with the wrong wire type becomes a
value of the wrong Python type (an ``int`` where a ``str`` belongs), and a truncated field is
read short without complaint. A server must answer such bytes with an error, not crash on
them later, so the fake checks every field's framing, wire type and UTF-8 first, as
protobuf's own parsers do.
"""

from __future__ import annotations

import betterproto2

from textservice._encoding.metadata import message_metadata
from textservice._encoding.wire import (
    WIRE_FIXED32,
    WIRE_FIXED64,
    WIRE_LEN,
    WIRE_VARINT,
    WireError,
    read_varint,
)

_VARINT_TYPES = frozenset(
    {
        betterproto2.TYPE_ENUM,
        betterproto2.TYPE_BOOL,
        betterproto2.TYPE_INT32,
        betterproto2.TYPE_INT64,
        betterproto2.TYPE_UINT32,
        betterproto2.TYPE_UINT64,
        betterproto2.TYPE_SINT32,
        betterproto2.TYPE_SINT64,
    }
)
_FIXED32_TYPES = frozenset(
    {betterproto2.TYPE_FLOAT, betterproto2.TYPE_FIXED32, betterproto2.TYPE_SFIXED32}
)
_FIXED64_TYPES = frozenset(
    {betterproto2.TYPE_DOUBLE, betterproto2.TYPE_FIXED64, betterproto2.TYPE_SFIXED64}
)
_NESTED_TYPES = frozenset({betterproto2.TYPE_MESSAGE, betterproto2.TYPE_MAP})
MAX_DEPTH = 64
"""Nesting deeper than this is refused (protobuf's parsers stop at 100)."""


def _wire_type_of(proto_type: str) -> int:
    if proto_type in _VARINT_TYPES:
        return WIRE_VARINT
    if proto_type in _FIXED32_TYPES:
        return WIRE_FIXED32
    if proto_type in _FIXED64_TYPES:
        return WIRE_FIXED64
    return WIRE_LEN


def _check_packed(payload: memoryview, proto_type: str) -> None:
    if proto_type in _FIXED32_TYPES:
        if len(payload) % 4:
            raise WireError("packed fixed32 values are not a multiple of 4 bytes")
    elif proto_type in _FIXED64_TYPES:
        if len(payload) % 8:
            raise WireError("packed fixed64 values are not a multiple of 8 bytes")
    else:
        pos = 0
        while pos < len(payload):
            _, pos = read_varint(payload, pos)


def _check(
    data: memoryview, message_type: type[betterproto2.Message], path: str, depth: int
) -> None:
    if depth > MAX_DEPTH:
        raise WireError(f"{path or 'message'}: nested more than {MAX_DEPTH} levels")
    proto = message_metadata(message_type)
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0 is not allowed")
        payload: memoryview | None = None
        if wire_type == WIRE_VARINT:
            _, pos = read_varint(data, pos)
        elif wire_type in (WIRE_FIXED32, WIRE_FIXED64):
            pos += 4 if wire_type == WIRE_FIXED32 else 8
            if pos > end:
                raise WireError(f"field {number}: data ends inside a fixed-size value")
        elif wire_type == WIRE_LEN:
            length, pos = read_varint(data, pos)
            if pos + length > end:
                raise WireError(f"field {number}: length {length} runs past the end")
            payload = data[pos : pos + length]
            pos += length
        else:
            raise WireError(f"field {number}: unsupported wire type {wire_type}")
        name = proto.field_name_by_number.get(number)
        if name is None:
            continue  # unknown fields are kept, not judged
        meta = proto.meta_by_field_name[name]
        where = f"{path}{name}"
        expected = _wire_type_of(meta.proto_type)
        if wire_type != expected:
            packable = meta.repeated and expected != WIRE_LEN
            if not (packable and wire_type == WIRE_LEN):
                raise WireError(f"{where}: wire type {wire_type}, expected {expected}")
            assert payload is not None
            _check_packed(payload, meta.proto_type)
            continue
        if payload is None:
            continue
        if meta.proto_type == betterproto2.TYPE_STRING:
            try:
                str(payload, "utf-8")
            except UnicodeDecodeError:
                raise WireError(f"{where}: string is not valid UTF-8") from None
        elif meta.proto_type in _NESTED_TYPES and meta.unwrap is None:
            _check(payload, proto.cls_by_field[name], f"{where}.", depth + 1)


def wire_problem(data: bytes, message_type: type[betterproto2.Message]) -> str | None:
    """What is wrong with ``data`` as a ``message_type``, or ``None`` if it is well-formed."""
    try:
        _check(memoryview(data), message_type, "", 0)
    except WireError as exc:
        return str(exc)
    return None
