"""Request field values from facade arguments: the checks and conversions generated code uses.

Each function takes the user's value and the parameter's name, and returns the value a request
field holds, or raises ``TypeError``/``ValueError`` naming the parameter. They run before any
network, in the caller's thread. (betterproto2 does not check values when a message is built;
it fails later, while serialising, with messages that do not name the argument.)
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from textservice._checks import encodable, is_int, is_number, kind
from textservice._encoding.metadata import message_metadata

# betterproto2 is imported where a message is read, not when a facade is imported (issue 21)
if TYPE_CHECKING:
    import betterproto2

    from textservice._proto.google.protobuf import ListValue, Struct, Value

__all__ = [
    "ContentTypes",
    "JsonValue",
    "binary",
    "boolean",
    "content",
    "contents",
    "duration",
    "encodable",
    "enum",
    "floating",
    "int32",
    "int64",
    "json_list",
    "json_object",
    "json_value",
    "message",
    "repeated",
    "string",
    "strings",
    "timestamp",
    "uint32",
    "uint64",
]

JsonValue: TypeAlias = (
    "bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
)
"""What a ``google.protobuf.Value`` argument takes: a JSON-like Python value (``None``, a
``bool``, a finite number, a ``str``, a sequence of them or a mapping with ``str`` keys)."""

T = TypeVar("T")
M = TypeVar("M", bound="betterproto2.Message")
E = TypeVar("E", bound="betterproto2.Enum")


def string(value: object, argument: str) -> str:
    """A ``str`` that can be encoded as UTF-8."""
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a str, not {kind(value)}")
    return encodable(value, argument)


def binary(value: object, argument: str) -> bytes:
    """``bytes`` (``bytearray``/``memoryview`` are copied to ``bytes``)."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{argument} must be bytes, not {kind(value)}")
    return bytes(value)


def boolean(value: object, argument: str) -> bool:
    """A ``bool``."""
    if not isinstance(value, bool):
        raise TypeError(f"{argument} must be a bool, not {kind(value)}")
    return value


def floating(value: object, argument: str) -> float:
    """A real number (``int`` or ``float``, not ``bool``), as ``float``; NaN is rejected."""
    if not is_number(value):
        raise TypeError(f"{argument} must be a number, not {kind(value)}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{argument} must be a number, not NaN")
    return number


def _integer(value: object, argument: str, low: int, high: int) -> int:
    if not is_int(value):
        raise TypeError(f"{argument} must be an int, not {kind(value)}")
    if not low <= value <= high:
        raise ValueError(f"{argument} must be between {low} and {high}, got {value}")
    return int(value)


def int32(value: object, argument: str) -> int:
    """An ``int`` in the signed 32-bit range."""
    return _integer(value, argument, -(2**31), 2**31 - 1)


def int64(value: object, argument: str) -> int:
    """An ``int`` in the signed 64-bit range."""
    return _integer(value, argument, -(2**63), 2**63 - 1)


def uint32(value: object, argument: str) -> int:
    """An ``int`` in the unsigned 32-bit range."""
    return _integer(value, argument, 0, 2**32 - 1)


def uint64(value: object, argument: str) -> int:
    """An ``int`` in the unsigned 64-bit range."""
    return _integer(value, argument, 0, 2**64 - 1)


def enum(cls: type[E], value: object, argument: str) -> E:
    """A member of ``cls``, given the member, its value or its (proto or Python) name."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        number = cls.betterproto_renamed_proto_names_to_value().get(value)
        if number is not None:
            return cls(number)
        try:
            return cls.from_string(value)
        except ValueError:
            pass
    elif is_int(value):
        # betterproto2 turns unknown numbers into "unknown" members; an argument must be known
        if any(member.value == value for member in cls):
            return cls(value)
    else:
        raise TypeError(f"{argument} must be a {cls.__name__} or its name, not {kind(value)}")
    names = ", ".join(member.name for member in cls)
    raise ValueError(f"{argument}: {value!r} is not a {cls.__name__} (one of {names})")


ContentTypes: TypeAlias = "Mapping[type[betterproto2.Message], tuple[str, str]]"
"""The ``Content``-like messages of an API version, each with its parts and the part's text
field (``{Content: ("parts", "text")}``), as the generated facade declares them."""


def _texts_as_contents(
    cls: type[betterproto2.Message], value: Mapping[str, object], types: ContentTypes, at: str
) -> dict[str, object]:
    """``value`` (a mapping of ``cls``'s fields) with every ``str`` given for a ``Content``-like
    field, at any depth, made a content of one text part (``{"parts": [{"text": s}]}``); a bare
    ``str`` for a repeated one is one item."""
    import betterproto2
    from betterproto2.casing import safe_snake_case

    meta = message_metadata(cls)
    out: dict[str, object] = {}
    for key, item in value.items():
        name = safe_snake_case(key) if isinstance(key, str) else key
        field_cls = meta.cls_by_field.get(name) if isinstance(name, str) else None
        field_meta = meta.meta_by_field_name.get(name) if isinstance(name, str) else None
        plain = field_meta is None or field_meta.proto_type != betterproto2.TYPE_MESSAGE
        if field_cls is None or field_meta is None or plain or field_meta.unwrap:
            out[key] = item
        elif not field_meta.repeated:
            out[key] = _content_item(field_cls, item, types, f"{at}.{key}")
        elif isinstance(item, str | Mapping) or not isinstance(item, Iterable):
            out[key] = [_content_item(field_cls, item, types, f"{at}.{key}")]
        else:
            out[key] = [
                _content_item(field_cls, one, types, f"{at}.{key}[{index}]")
                for index, one in enumerate(item)
            ]
    return out


def _content_item(
    cls: type[betterproto2.Message], value: object, types: ContentTypes, at: str
) -> object:
    if isinstance(value, str) and cls in types:
        parts, text = types[cls]
        return {parts: [{text: encodable(value, at)}]}
    if isinstance(value, Mapping):
        return _texts_as_contents(cls, value, types, at)
    return value


def message(
    cls: type[M],
    value: object,
    argument: str,
    *,
    text_field: str | None = None,
    contents: ContentTypes | None = None,
) -> M:
    """An instance of ``cls``, given one, a mapping of its fields, or (when ``text_field`` names
    the message's one text field, as for ``TextPrompt``) a plain ``str``. With ``contents``, a
    ``str`` given in the mapping for a ``Content``-like field (at any depth) is a content of
    one text part, as a ``Content`` argument's is."""
    if isinstance(value, cls):
        return value
    if text_field is not None and isinstance(value, str):
        return cls(**{text_field: encodable(value, argument)})
    if isinstance(value, Mapping):
        if contents:
            value = _texts_as_contents(cls, value, contents, argument)
        try:
            return cls.from_dict(value)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise ValueError(f"{argument}: not a valid {cls.__name__}: {detail}") from None
    accepted = f"a {cls.__name__} or a mapping of its fields"
    if text_field is not None:
        accepted = f"a str, {accepted}"
    raise TypeError(f"{argument} must be {accepted}, not {kind(value)}")


def repeated(value: object, argument: str, item: Callable[[object, str], T]) -> list[T]:
    """A list made from an iterable (not a ``str``, ``bytes`` or mapping), each item converted
    by ``item(value, "argument[i]")``."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{argument} must be a sequence, not {kind(value)}")
    return [item(one, f"{argument}[{index}]") for index, one in enumerate(value)]


def strings(value: object, argument: str) -> list[str]:
    """A list of ``str`` from one ``str`` or an iterable of them."""
    if isinstance(value, str):
        return [value]
    return repeated(value, argument, string)


def content(cls: type[M], value: object, argument: str, *, parts: str, text: str) -> M:
    """A ``Content``-like message ``cls``: one, a mapping of its fields, or a ``str`` (a content
    of one part holding that text; ``parts`` and ``text`` name the fields)."""
    if isinstance(value, str):
        part = message_metadata(cls).cls_by_field[parts]
        return cls(**{parts: [part(**{text: encodable(value, argument)})]})
    try:
        return message(cls, value, argument)
    except TypeError:
        raise TypeError(
            f"{argument} must be a str, a {cls.__name__} or a mapping of its fields, "
            f"not {kind(value)}"
        ) from None


def contents(cls: type[M], value: object, argument: str, *, parts: str, text: str) -> list[M]:
    """A list of ``Content``-like messages from one item (a ``str``, a ``cls`` or a mapping of
    its fields) or a sequence of them, each converted by ``content``."""
    if isinstance(value, str | cls | Mapping):
        return [content(cls, value, argument, parts=parts, text=text)]
    return repeated(
        value, argument, lambda one, name: content(cls, one, name, parts=parts, text=text)
    )


def timestamp(value: object, argument: str) -> datetime.datetime:
    """A timezone-aware ``datetime`` (a ``google.protobuf.Timestamp``, which betterproto2 holds
    as one and cannot encode without a timezone)."""
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"{argument} must be a datetime.datetime, not {kind(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{argument} must be timezone-aware (e.g. datetime.now(timezone.utc)), got {value!r}"
        )
    return value


def duration(value: object, argument: str) -> datetime.timedelta:
    """A ``timedelta`` (a ``google.protobuf.Duration``; betterproto2 holds it as one)."""
    if not isinstance(value, datetime.timedelta):
        raise TypeError(f"{argument} must be a datetime.timedelta, not {kind(value)}")
    return value


# -- JSON-like values: google.protobuf.Value, Struct and ListValue -----------------------------
#
# betterproto2's own ``Value.from_dict`` takes only ``dict``/``list`` containers, lets NaN and
# non-``str`` keys through (the API then fails on them), and names no position in its errors;
# these check the whole value first and say where it is wrong (``parameters["a"][2]``).


def _json_sequence(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def json_value(value: object, argument: str) -> Value:
    """A ``google.protobuf.Value`` from a JSON-like value (see ``JsonValue``)."""
    return _value(value, argument, ())


def json_object(value: object, argument: str) -> Struct:
    """A ``google.protobuf.Struct`` from a mapping with ``str`` keys and JSON-like values."""
    return _object(value, argument, ())


def json_list(value: object, argument: str) -> ListValue:
    """A ``google.protobuf.ListValue`` from a sequence (not a ``str``) of JSON-like values."""
    return _list(value, argument, ())


def _inside(value: object, argument: str, inside: tuple[int, ...]) -> tuple[int, ...]:
    """``inside`` (the containers holding ``value``) and ``value``; a container holding itself
    has no JSON form."""
    if id(value) in inside:
        raise ValueError(f"{argument} holds itself (a circular reference has no JSON form)")
    return (*inside, id(value))


def _value(value: object, argument: str, inside: tuple[int, ...]) -> Value:
    from textservice._proto.google import protobuf as wkt

    if value is None:
        return wkt.Value(null_value=wkt.NullValue.NULL_VALUE)
    if isinstance(value, bool):
        return wkt.Value(bool_value=value)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int beyond a double's range
            number = math.inf
        if not math.isfinite(number):
            raise ValueError(f"{argument} must be a finite number (JSON has no {value!r})")
        return wkt.Value(number_value=number)
    if isinstance(value, str):
        return wkt.Value(string_value=encodable(value, argument))
    if isinstance(value, Mapping):
        return wkt.Value(struct_value=_object(value, argument, inside))
    if _json_sequence(value):
        return wkt.Value(list_value=_list(value, argument, inside))
    raise TypeError(
        f"{argument} must be a JSON-like value (None, bool, int, float, str, a sequence or a "
        f"mapping with str keys), not {kind(value)}"
    )


def _object(value: object, argument: str, inside: tuple[int, ...]) -> Struct:
    from textservice._proto.google import protobuf as wkt

    if not isinstance(value, Mapping):
        raise TypeError(f"{argument} must be a mapping with str keys, not {kind(value)}")
    inside = _inside(value, argument, inside)
    fields = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"{argument}: keys must be str, not {kind(key)} ({key!r})")
        fields[encodable(key, argument)] = _value(item, f"{argument}[{key!r}]", inside)
    return wkt.Struct(fields=fields)


def _list(value: object, argument: str, inside: tuple[int, ...]) -> ListValue:
    from textservice._proto.google import protobuf as wkt

    if not _json_sequence(value):
        raise TypeError(f"{argument} must be a sequence of JSON-like values, not {kind(value)}")
    assert isinstance(value, Sequence)
    inside = _inside(value, argument, inside)
    return wkt.ListValue(
        values=[_value(item, f"{argument}[{index}]", inside) for index, item in enumerate(value)]
    )
