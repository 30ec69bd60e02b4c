"""The proto3 JSON mapping of our messages: what the REST transport and the fake's REST face send.

The mapping itself (lowerCamel names, int64 as strings, bytes as base64, enums by name, the
well-known types: ``Duration`` as ``"38s"``, ``Timestamp`` as RFC 3339, ``Struct``...) is
betterproto2's ``to_dict``/``from_dict``, which implement https://protobuf.dev/programming-guides/json/
and, reading, take both the lowerCamel and the snake_case spelling of a name, as that spec
asks of parsers. Written here by hand is only what betterproto2 does not do:

- ``google.protobuf.Any`` in the JSON form Google's error bodies use (``{"@type": url,
  ...fields}``), by the message pool's types;
- bytes to and from text, with orjson (see ``loads``);
- embedding responses read without betterproto2's per-value work (``read_embeddings``): a
  ``BatchEmbedContentsResponse`` of 100 x 3,072 values is ~0.3 M floats, which
  ``from_dict`` would check one by one.

Floats come back as float32, as they do over gRPC: the API's ``float`` fields (embeddings,
temperatures) are float32 values printed in decimal; ``array("f", ...)`` rounds each parsed
double back to that float32, so both transports return the very same numbers. Values no
number can write travel as proto3 JSON writes them (``"NaN"``, ``"Infinity"``,
``"-Infinity"``; ``NON_FINITE``), or as the bare words Python's ``json`` writes, and a number
past float32 reads as an infinity: all read here, for the engine to refuse them by item.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

import betterproto2
import orjson

from textservice._encoding.codec import EmbeddingLayout, embedding_layout
from textservice._encoding.metadata import json_name, message_metadata
from textservice._encoding.request_forms import prebuilt_json

__all__ = [
    "any_from_json",
    "any_to_json",
    "dumps",
    "embedding_values",
    "extend_float32",
    "float_to_json",
    "from_json",
    "json_name",
    "loads",
    "message_from_json",
    "read_embeddings",
    "to_json",
]

M = TypeVar("M", bound=betterproto2.Message)

ANY_TYPE_KEY = "@type"
"""The key naming the type of an ``Any`` in JSON."""
_TYPE_URL_PREFIX = "type.googleapis.com/"


NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
"""The strings proto3 JSON writes for the float values that are not numbers
(https://protobuf.dev/programming-guides/json/: "NaN", "Infinity", "-Infinity"; betterproto2's
``to_dict`` writes them too)."""


def loads(data: bytes | str) -> Any:
    """JSON text as Python values.

    orjson, chosen by measurement: a 100 x 3,072 embedding response (6.9 MB of JSON) takes
    38 ms with it and 145 ms with the standard library's ``json`` (regular expressions into
    ``numpy.fromstring``, for arrays, took 121 ms). What orjson refuses is read again by the
    standard library, which also takes the bare ``NaN``, ``Infinity`` and ``-Infinity`` that
    Python's own ``json.dumps`` writes, and numbers past a double (as infinities): a server
    that writes them answers a vector no embedding can be, which the engine refuses naming
    the item, rather than a reply nothing can read. Anything else fails both (``ValueError``),
    each in time linear in the bytes.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def float_to_json(value: float) -> float | str:
    """A float as proto3 JSON writes it: the number, or its name in ``NON_FINITE``."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def extend_float32(out: array[float], numbers: list[Any]) -> None:
    """Append a JSON array of float values to ``out``, each rounded to float32 (a number past
    float32 becomes an infinity). Proto3 JSON writes a float as a number or as a string (a
    number's digits, or a name in ``NON_FINITE``); parsers take both. Anything else raises
    ``TypeError`` or ``ValueError``."""
    try:
        out.fromlist(numbers)  # all numbers (the usual case): C speed
    except TypeError:  # ``out`` is left unchanged
        out.fromlist([_float(value) for value in numbers])


def _float(value: Any) -> float:
    if isinstance(value, str):
        named = NON_FINITE.get(value)
        return float(value) if named is None else named
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"a float must be a JSON number or string, got {_kind(value)}")


def dumps(value: Any) -> bytes:
    """Python values as compact UTF-8 JSON (orjson: see ``loads``); numpy arrays as JSON
    arrays (float32 ones in their shortest decimal form)."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def to_json(message: betterproto2.Message) -> dict[str, Any]:
    """``message`` as a proto3 JSON object (default values left out); a prebuilt request
    (``_encoding.embed_requests``) gives the object written with its bytes."""
    written = prebuilt_json(message)
    if written is not None:
        return written
    return message.to_dict()


def from_json(message_type: type[M], value: Mapping[str, Any], *, strict: bool = False) -> M:
    """A ``message_type`` from its proto3 JSON object (either spelling of each name).

    Unknown fields are ignored (a newer API may add some), unless ``strict`` (the fake's
    check of a request): then they raise ``KeyError``. Wrong value types raise ``ValueError``,
    ``TypeError`` or ``KeyError``.
    """
    if not isinstance(value, Mapping):
        raise TypeError(f"a {message_type.__name__} must be a JSON object, got {_kind(value)}")
    message = message_type.from_dict(value, ignore_unknown_fields=not strict)
    _float32(message)
    return message


def _float32(message: betterproto2.Message) -> None:
    """Round the ``float`` fields of ``message`` (and of the messages it holds) to float32, in
    place: the values the same message has over gRPC (JSON's decimals parse as doubles)."""
    meta = message_metadata(type(message))
    for name, field in meta.meta_by_field_name.items():
        value = getattr(message, name)
        if value is None or field.unwrap is not None:
            continue
        if field.proto_type == betterproto2.TYPE_FLOAT:
            if field.repeated:
                setattr(message, name, array("f", value).tolist())
            else:
                setattr(message, name, array("f", [value])[0])
        elif field.proto_type == betterproto2.TYPE_MESSAGE:
            for inner in value if field.repeated else [value]:
                _float32(inner)
        elif (
            field.proto_type == betterproto2.TYPE_MAP
            and field.map_meta is not None
            and field.map_meta[1].proto_type == betterproto2.TYPE_MESSAGE
        ):
            for inner in value.values():
                _float32(inner)


def message_from_json(message_type: type[M], data: bytes) -> M:
    """A response message from JSON bytes: embedding responses by ``read_embeddings``, any
    other by ``from_json``. Raises ``ValueError`` (orjson's ``JSONDecodeError`` is one),
    ``TypeError`` or ``KeyError`` for what is not such a message."""
    value = loads(data)
    layout = embedding_layout(message_type)
    if layout is not None:
        return _embedding_message(message_type, layout, value)
    return from_json(message_type, value)


@cache
def _names(layout: EmbeddingLayout) -> tuple[str, str, str, str]:
    return (
        json_name(layout.field),
        layout.field,
        json_name(layout.values_field),
        layout.values_field,
    )


def read_embeddings(layout: EmbeddingLayout, value: Any) -> list[list[float]]:
    """The vectors of an embedding response's JSON object, as float32 values: one per
    embedding of a repeated field; one (or none, when unset) for a singular one. The
    object's arrays of values are emptied as they are read."""
    vectors = []
    for numbers in embedding_values(layout, value):
        row: array[float] = array("f")
        extend_float32(row, numbers)
        vectors.append(row.tolist())
        numbers.clear()  # the parsed row goes at once: a batch's values are not held twice
    return vectors


def embedding_values(layout: EmbeddingLayout, value: Any) -> list[list[Any]]:
    """The JSON arrays of an embedding response's values, as parsed (unchecked numbers)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"the response must be a JSON object, got {_kind(value)}")
    field, field_snake, values, values_snake = _names(layout)
    found = value.get(field, value.get(field_snake))
    if found is None:
        return []
    items = found if layout.repeated else [found]
    if not isinstance(items, list):
        raise TypeError(f"{field} must be a JSON array, got {_kind(items)}")
    vectors = []
    for item in items:
        if not isinstance(item, Mapping):
            raise TypeError(f"an embedding must be a JSON object, got {_kind(item)}")
        numbers = item.get(values, item.get(values_snake, []))
        if not isinstance(numbers, list):
            raise TypeError(f"{values} must be a JSON array, got {_kind(numbers)}")
        vectors.append(numbers)
    return vectors


def _embedding_message(message_type: type[M], layout: EmbeddingLayout, value: Any) -> M:
    vectors = read_embeddings(layout, value)
    embeddings = [layout.embedding_type(**{layout.values_field: v}) for v in vectors]
    if layout.repeated:
        return message_type(**{layout.field: embeddings})
    return message_type(**{layout.field: embeddings[0] if embeddings else None})


def any_to_json(message: betterproto2.Message) -> dict[str, Any]:
    """A message as the JSON of a ``google.protobuf.Any`` holding it: ``{"@type": url, ...}``."""
    from textservice._proto.message_pool import default_message_pool

    url = default_message_pool.type_to_url[type(message)]
    return {ANY_TYPE_KEY: url, **message.to_dict()}


def any_from_json(value: Any) -> Any:
    """The message a JSON ``Any`` holds, by its ``@type`` (a type of ``google.rpc`` or any
    other in the message pool); an object of an unknown type is kept as the dict it is."""
    from textservice._proto.google import rpc  # noqa: F401  (registers the error details)
    from textservice._proto.message_pool import default_message_pool

    if not isinstance(value, Mapping):
        raise TypeError(f"a google.protobuf.Any must be a JSON object, got {_kind(value)}")
    url = value.get(ANY_TYPE_KEY)
    known = None
    if isinstance(url, str):
        # the type URL's host part is not part of the type: take any host (or none), as
        # protobuf's own Any handling reads only what follows the last "/"
        name = url.rsplit("/", 1)[-1]
        known = default_message_pool.url_to_type.get(f"{_TYPE_URL_PREFIX}{name}")
    if known is None:
        return dict(value)
    fields = {k: v for k, v in value.items() if k != ANY_TYPE_KEY}
    return known.from_dict(fields, ignore_unknown_fields=True)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
