"""Protobuf wire-format primitives: varints, tags and packed float32 runs.

betterproto2 encodes and decodes packed floats one value at a time in Python; these helpers
move a whole run with one ``struct``/``array`` call. They hold no message knowledge: the codec
(``textservice._encoding.codec``) decides when a message may take this path.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterator
from functools import lru_cache

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LEN = 2
WIRE_START_GROUP = 3
WIRE_END_GROUP = 4
WIRE_FIXED32 = 5

MAX_FIELD_NUMBER = (1 << 29) - 1
"""The largest field number protobuf allows."""

MAX_VARINT_BYTES = 10
"""A varint never takes more than ten bytes (64 bits, seven per byte)."""

_HOST_IS_LITTLE_ENDIAN = sys.byteorder == "little"
_ARRAY_FLOAT_IS_FLOAT32 = array("f").itemsize == 4


class WireError(ValueError):
    """Bytes that are not well-formed protobuf wire format."""


def tag(field_number: int, wire_type: int) -> bytes:
    """The encoded key of a field: ``(number << 3) | wire type`` as a varint."""
    return encode_varint((field_number << 3) | wire_type)


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer below 2**64 as a varint."""
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode the varint at ``data[pos]``; return ``(value, position after it)``.

    Raises ``WireError`` when the data ends inside the varint or it runs past ten bytes.
    """
    result = 0
    shift = 0
    end = len(data)
    for _ in range(MAX_VARINT_BYTES):
        if pos >= end:
            raise WireError("data ends inside a varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise WireError("varint longer than ten bytes")


def fields(
    data: bytes, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, int, int, int]]:
    """The fields of the message ``data[start:end]``, in order: ``(number, wire type, value
    start, value end)`` of each (for a LEN field, its payload after the length; a group is
    passed over whole).

    Raises ``WireError`` for what Google's protobuf runtime refuses too: a field number 0
    (a zero byte where a key belongs: betterproto2 reads a run of zeros as a million empty
    fields) or over ``MAX_FIELD_NUMBER``, a wire type protobuf does not have (6, 7), a
    group not closed by its own end, a field running past the end, a varint over ten bytes.
    """
    stop = len(data) if end is None else end
    pos = start
    while pos < stop:
        number, wire_type, value, following = _field(data, pos, stop)
        if wire_type == WIRE_END_GROUP:
            raise WireError(f"the end of group {number} at byte {pos}, which was not started")
        yield number, wire_type, value, following
        pos = following


def _field(data: bytes, pos: int, stop: int) -> tuple[int, int, int, int]:
    """The field whose key is at ``data[pos]``: number, wire type, value start and end."""
    key, after = read_varint(data, pos)
    number, wire_type = key >> 3, key & 7
    if number == 0:
        raise WireError(f"field number 0 at byte {pos} (a zero key is not protobuf)")
    if number > MAX_FIELD_NUMBER:
        raise WireError(f"field number {number} at byte {pos} is over {MAX_FIELD_NUMBER}")
    if wire_type == WIRE_VARINT:
        following = read_varint(data, after)[1]
    elif wire_type == WIRE_FIXED64:
        following = after + 8
    elif wire_type == WIRE_FIXED32:
        following = after + 4
    elif wire_type == WIRE_LEN:
        length, after = read_varint(data, after)
        following = after + length
    elif wire_type == WIRE_START_GROUP:
        following = _group_end(data, after, stop, number)
    elif wire_type == WIRE_END_GROUP:
        following = after
    else:
        raise WireError(f"wire type {wire_type} at byte {pos} (field {number})")
    if following > stop:
        raise WireError(f"field {number} at byte {pos} runs past the end ({stop} bytes)")
    return number, wire_type, after, following


def _group_end(data: bytes, pos: int, stop: int, number: int) -> int:
    """Where the group ``number`` whose fields start at ``pos`` ends (after its end key)."""
    while pos < stop:
        inner, wire_type, _, pos = _field(data, pos, stop)
        if wire_type == WIRE_END_GROUP:
            if inner != number:
                raise WireError(f"group {number} ended by the end of group {inner}")
            return pos
    raise WireError(f"group {number} is not closed")


@lru_cache(maxsize=64)
def _float32_struct(count: int) -> struct.Struct:
    return struct.Struct(f"<{count}f")


def pack_float32(values: list[float]) -> bytes:
    """Little-endian float32 bytes of ``values``, exactly as protobuf packs a float field.

    Each value is converted as ``struct.pack("<f", v)`` converts it (betterproto2 does the
    same per value), so out-of-range values raise ``OverflowError`` here too.
    """
    return _float32_struct(len(values)).pack(*values)


def float32_run_is_small(data: bytes, start: int, end: int) -> bool:
    """Whether every float32 of the packed little-endian run ``data[start:end]`` is below
    2**127 in magnitude, read from the bytes alone: then none is NaN or an infinity.

    A float32 is NaN or infinite when its eight exponent bits are all ones; its top byte then
    reads 0x7F or 0xFF. One strided copy of the top bytes and two searches decide for a whole
    run, several times cheaper than a Python pass over the unpacked floats. ``False`` means
    some value is that large (NaN, an infinity, or a finite value of 2**127 or more): the
    caller looks at the values themselves.
    """
    top = data[start + 3 : end : 4]
    return b"\x7f" not in top and b"\xff" not in top


def unpack_float32(data: bytes | memoryview) -> list[float]:
    """Python floats of a packed little-endian float32 run (``len(data) % 4 == 0``)."""
    if len(data) % 4:
        raise WireError(f"packed float32 run of {len(data)} bytes is not a multiple of 4")
    if not _ARRAY_FLOAT_IS_FLOAT32:  # no such CPython platform is known; stay correct anyway
        return list(_float32_struct(len(data) // 4).unpack(data))
    values = array("f")
    values.frombytes(data)
    if not _HOST_IS_LITTLE_ENDIAN:
        values.byteswap()
    return values.tolist()
