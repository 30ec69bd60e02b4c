"""The fake's embeddings: deterministic, cheap, exactly representable float32 vectors.

The vector of ``(model, text)`` is a pure function of the two strings, so tests can compute
the value they expect (``expected_embedding``) instead of only checking shapes, and every API
version, EmbedText and BatchEmbedText alike, answers the same vector for the same input.

How a vector is made (a documented, stable recipe, version ``v1``):

1. ``seed = b"textservice.testing/embedding/v1\\x00" + len(model_utf8) as 4 little-endian
   bytes + model_utf8 + text_utf8``;
2. ``raw = shake_256(seed).digest(4 * dim)``, read as ``dim`` little-endian float32 words;
3. in each word the top byte (sign bit and seven high exponent bits) becomes
   ``(byte & 0x80) | 0x3C``: the sign and the low exponent bit stay random, the magnitude
   lands in ``[2**-7, 2**-5)``, so every value is finite, non-zero and float32.

A vector for a smaller ``dim`` is the prefix of the one for a larger ``dim``. The vectors are
not normalised and carry no meaning: equal texts give equal vectors, different texts give
(practically always) different ones.
"""

from __future__ import annotations

import hashlib

from textservice._checks import is_int
from textservice._encoding.wire import unpack_float32

DEFAULT_DIMENSION = 768
"""Length of the fake's embeddings unless configured otherwise."""

MAX_DIMENSION = 65536
"""The largest dimension the fake accepts."""

_SEED_PREFIX = b"textservice.testing/embedding/v1\x00"
# top byte of each little-endian float32 word: keep the sign bit, set the exponent's high bits
_TOP_BYTE = bytes((b & 0x80) | 0x3C for b in range(256))


def check_dimension(dim: object, name: str = "dim") -> int:
    """``dim`` as an ``int`` in ``1..MAX_DIMENSION``; ``TypeError``/``ValueError`` otherwise."""
    if not is_int(dim):
        raise TypeError(f"{name} must be an int, not {type(dim).__name__}")
    if not 1 <= dim <= MAX_DIMENSION:
        raise ValueError(f"{name} must be between 1 and {MAX_DIMENSION}, got {dim}")
    return dim


def _utf8(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not encodable as UTF-8: {exc.reason}") from None


def embedding_bytes(model: str, text: str, dim: int = DEFAULT_DIMENSION) -> bytes:
    """The vector of ``(model, text)`` as ``4 * dim`` little-endian float32 bytes."""
    model_bytes = _utf8(model, "model")
    text_bytes = _utf8(text, "text")
    dim = check_dimension(dim)
    seed = _SEED_PREFIX + len(model_bytes).to_bytes(4, "little") + model_bytes + text_bytes
    words = bytearray(hashlib.shake_256(seed).digest(4 * dim))
    words[3::4] = words[3::4].translate(_TOP_BYTE)
    return bytes(words)


def expected_embedding(model: str, text: str, dim: int = DEFAULT_DIMENSION) -> list[float]:
    """The embedding the fake returns for ``text`` embedded with ``model``.

    ``model`` is the resource name exactly as sent (``"models/embedding-gecko-001"``) and
    ``dim`` the fake's configured dimension. The values are float32 numbers as Python floats,
    so they compare equal (``==``) to what a client decodes from the wire.
    """
    return unpack_float32(embedding_bytes(model, text, dim))
