"""Protobuf wire-format primitives: varints, tags and packed float32 runs.

betterproto2 encodes and decodes packed floats one value at a time in Python; these helpers
move a whole run with one ``struct``/``array`` call. They hold no message knowledge: the codec
(``textservice._encoding.codec``) decides when a message may take this path.
"""

from __future__ import annotations

import struct
import sys
from array import array
from functools import lru_cache

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LEN = 2
WIRE_FIXED32 = 5

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
