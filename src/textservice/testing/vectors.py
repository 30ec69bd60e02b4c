"""The fake's embeddings: deterministic, cheap, exactly representable float32 vectors.

The vector of ``(model, text)`` (and, for EmbedContent, its task type and title) is a pure
function of those values, so tests can compute the value they expect (``expected_embedding``,
``expected_content_embedding``) instead of only checking shapes. Every API version, single and
batch RPCs alike, answers the same vector for the same input.

How a vector is made (a documented, stable recipe, version ``v1``):

1. ``seed = b"textservice.testing/embedding/v1\\x00" + len(model_utf8) as 4 little-endian
   bytes + model_utf8 + task + text_utf8``, where ``task`` is empty when the request sets no
   task type (or ``TASK_TYPE_UNSPECIFIED``) and no title, and otherwise is ``b"\\xff" +
   len(task_type_name) as 4 little-endian bytes + task_type_name (ASCII, e.g.
   "RETRIEVAL_DOCUMENT"; empty for none) + len(title_utf8) as 4 little-endian bytes +
   title_utf8``. (``0xff`` never occurs in UTF-8, so no text can forge it.) EmbedText and an
   EmbedContent without task type or title give the same vector for the same text;
2. ``raw = shake_256(seed).digest(4 * dim)``, read as ``dim`` little-endian float32 words;
3. in each word the top byte (sign bit and seven high exponent bits) becomes
   ``(byte & 0x80) | 0x3C``: the sign and the low exponent bit stay random, the magnitude
   lands in ``[2**-7, 2**-5)``, so every value is finite, non-zero and float32.

A vector for a smaller ``dim`` is the prefix of the one for a larger ``dim``, which is what
``output_dimensionality`` asks for: the first ``d`` values. The vectors are not normalised and
carry no meaning: equal inputs give equal vectors, different ones (practically always)
different vectors.

Models that aggregate a content's parts into one vector and ignore the task type and title
fields (``gemini-embedding-2``: ``textservice._profiles``) get ``expected_parts_embedding``:
the seed is ``b"textservice.testing/parts/v1\x00"`` + the model as above + per part, in
order, ``b"t"`` + len + text_utf8 for a text or ``b"b"`` + len + mime_utf8 + len + data for a
blob (lengths as 4 little-endian bytes); steps 2 and 3 as above; then the first ``dim``
values are scaled to unit length in float32 (computed in double precision), as the API
returns them for this model, shortened or not.
"""

from __future__ import annotations

import enum
import hashlib
import math
import operator
from array import array
from collections.abc import Sequence
from typing import Any

from textservice._encoding.wire import unpack_float32
from textservice.testing.catalogue import (
    DEFAULT_DIMENSION,
    MAX_DIMENSION,
    check_dimension,
    default_dimension,
)

__all__ = [
    "DEFAULT_DIMENSION",
    "MAX_DIMENSION",
    "check_dimension",
    "embedding_bytes",
    "expected_content_embedding",
    "expected_embedding",
    "expected_parts_embedding",
    "task_type_name",
]

_SEED_PREFIX = b"textservice.testing/embedding/v1\x00"
_PARTS_PREFIX = b"textservice.testing/parts/v1\x00"
_TASK_MARK = b"\xff"
_UNSPECIFIED = "TASK_TYPE_UNSPECIFIED"
# top byte of each little-endian float32 word: keep the sign bit, set the exponent's high bits
_TOP_BYTE = bytes((b & 0x80) | 0x3C for b in range(256))


def _utf8(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not encodable as UTF-8: {exc.reason}") from None


def task_type_name(task_type: str | enum.Enum | None) -> str:
    """The task type as the recipe reads it: its enum name in capitals, ``""`` for none.

    ``None``, ``""`` and ``TASK_TYPE_UNSPECIFIED`` (in any case) all mean no task type.
    """
    if task_type is None:
        return ""
    if isinstance(task_type, enum.Enum):
        name = task_type.name
    elif isinstance(task_type, str):
        name = task_type.upper()
    else:
        raise TypeError(
            f"task_type must be a name such as 'RETRIEVAL_DOCUMENT' or an enum member, "
            f"not {type(task_type).__name__}"
        )
    if not name.isascii():
        raise ValueError(f"task_type {task_type!r} is not a task type name")
    return "" if name == _UNSPECIFIED else name


def embedding_bytes(
    model: str,
    text: str,
    dim: int = DEFAULT_DIMENSION,
    *,
    task_type: str | enum.Enum | None = None,
    title: str | None = None,
) -> bytes:
    """The vector of ``(model, text, task_type, title)`` as ``4 * dim`` little-endian float32
    bytes."""
    model_bytes = _utf8(model, "model")
    text_bytes = _utf8(text, "text")
    title_bytes = b"" if title is None else _utf8(title, "title")
    task = task_type_name(task_type).encode("ascii")
    dim = check_dimension(dim)
    seed = _SEED_PREFIX + len(model_bytes).to_bytes(4, "little") + model_bytes
    if task or title_bytes:
        seed += _TASK_MARK + len(task).to_bytes(4, "little") + task
        seed += len(title_bytes).to_bytes(4, "little") + title_bytes
    return _words(hashlib.shake_256(seed + text_bytes), dim)


def _words(shake: Any, dim: int) -> bytes:
    words = bytearray(shake.digest(4 * dim))
    words[3::4] = words[3::4].translate(_TOP_BYTE)
    return bytes(words)


def _length_prefixed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "little") + data


Part = str | tuple[str, bytes]
"""A content part as the fake reads it: a text, or a blob's ``(mime_type, data)``."""


def expected_parts_embedding(
    model: str, parts: Sequence[Part], dimension: int | None = None
) -> list[float]:
    """The embedding the fake returns for a content of ``parts`` (texts and ``(mime_type,
    data)`` blobs, in order) from a model that aggregates them (``gemini-embedding-2``):
    one unit-length vector of ``dimension`` values (``None``: the model's length, 3,072).
    The request's task type and title do not change it."""
    shake = hashlib.shake_256(_PARTS_PREFIX + _length_prefixed(_utf8(model, "model")))
    for index, part in enumerate(parts):
        if isinstance(part, str):
            shake.update(b"t" + _length_prefixed(_utf8(part, f"parts[{index}]")))
        else:
            mime, data = part
            shake.update(
                b"b" + _length_prefixed(_utf8(mime, "mime_type")) + _length_prefixed(bytes(data))
            )
    values = unpack_float32(_words(shake, check_dimension(_length(model, dimension))))
    norm = math.sqrt(math.fsum(map(operator.mul, values, values)))
    return array("f", [v / norm for v in values]).tolist()  # rounded to float32


def _length(model: object, dim: int | None) -> int:
    if dim is not None:
        return dim
    return default_dimension(model) if isinstance(model, str) else DEFAULT_DIMENSION


def expected_embedding(model: str, text: str, dim: int | None = None) -> list[float]:
    """The embedding the fake's EmbedText and BatchEmbedText return for ``text``.

    ``model`` is the resource name exactly as sent (``"models/embedding-gecko-001"``) and
    ``dim`` the length: by default the model's in the default catalogue (768 for
    ``embedding-gecko-001`` and for models it does not list, 3,072 for
    ``gemini-embedding-001``); pass the fake's ``embedding_dimension`` if you set one. The
    values are float32 numbers as Python floats, so they compare equal (``==``) to what a
    client decodes from the wire.
    """
    return unpack_float32(embedding_bytes(model, text, _length(model, dim)))


def expected_content_embedding(
    model: str,
    text: str,
    task_type: str | enum.Enum | None = None,
    title: str | None = None,
    dimension: int | None = None,
) -> list[float]:
    """The embedding the fake's EmbedContent and BatchEmbedContents return.

    ``text`` is the content's text: the text of its parts joined with nothing between them
    (the fake embeds the whole content, as the API does). ``task_type`` is the request's task
    type (a name such as ``"RETRIEVAL_DOCUMENT"``, any case, or the enum member; ``None``:
    none), ``title`` its title, and ``dimension`` its ``output_dimensionality`` (``None``: the
    model's whole length, 3,072 for ``gemini-embedding-001``; the fake keeps the first
    ``dimension`` values). With no task type and no title it equals ``expected_embedding``.
    """
    size = _length(model, dimension)
    return unpack_float32(embedding_bytes(model, text, size, task_type=task_type, title=title))
