"""Responses as plain dicts: what the generated facades return.

The shape (keys, value types) is the contract of the TypedDicts generated in
``textservice.<version>.types``: every field is present under its snake-case name, nested
messages are dicts, repeated fields are lists, maps are dicts, enum values stay enum members,
and a message or ``optional`` field that is not set is ``None``. Well-known types are Python
values: ``Timestamp`` a ``datetime``, ``Duration`` a ``timedelta``, the wrappers their scalar
(betterproto2 holds them so already), and ``Struct``/``Value``/``ListValue`` the JSON-like
values they stand for (``dict``, ``None``/``float``/``str``/``bool``/``dict``/``list``,
``list``); ``Any`` is ``{"type_url": str, "value": bytes}``.

This is betterproto2's ``to_dict`` in its Python output mode, written out here because that
mode fails on ``Struct``/``Value``/``ListValue`` (their ``to_dict`` supports only the JSON
mode) and on an ``Any`` whose type it has not registered (``GenerateContentResponse`` holds
``Struct``s in function calls; a long-running ``Operation`` holds ``Any``s).
"""

from __future__ import annotations

from typing import Any

import betterproto2

from textservice._encoding.metadata import message_metadata
from textservice._proto.message_pool import default_message_pool

__all__ = ["to_dict"]

_STRUCT = "google.protobuf.Struct"
_VALUE = "google.protobuf.Value"
_LIST_VALUE = "google.protobuf.ListValue"
_ANY = "google.protobuf.Any"


def to_dict(message: betterproto2.Message) -> dict[str, Any]:
    """``message`` as nested dicts (see the module docstring for the shape)."""
    if not isinstance(message, betterproto2.Message):
        raise TypeError(f"expected a betterproto2 message, got {type(message).__name__}")
    shaped: dict[str, Any] = _message(message)
    return shaped


def _proto_name(message: betterproto2.Message) -> str:
    """The message's full proto name, from the message pool its module registered it in."""
    url = default_message_pool.type_to_url.get(type(message), "")
    return url.rsplit("/", 1)[-1]


def _message(message: betterproto2.Message) -> Any:
    special = _WELL_KNOWN.get(_proto_name(message))
    if special is not None:
        return special(message)
    meta = message_metadata(type(message))
    out: dict[str, Any] = {}
    for name, field in meta.meta_by_field_name.items():
        value = getattr(message, name)
        key = betterproto2.Casing.SNAKE(name).rstrip("_")
        if field.repeated:
            out[key] = [_value(v, field.proto_type, field.unwrap) for v in value]
        elif field.proto_type == betterproto2.TYPE_MAP:
            assert field.map_meta is not None
            inner = field.map_meta[1]
            out[key] = {k: _value(v, inner.proto_type, inner.unwrap) for k, v in value.items()}
        elif value is None:
            out[key] = None
        else:
            out[key] = _value(value, field.proto_type, field.unwrap)
    return out


def _value(value: Any, proto_type: str, unwrap: object) -> Any:
    if proto_type == betterproto2.TYPE_MESSAGE and unwrap is None:
        return _message(value)
    return value  # scalars, enum members, and unwrapped well-known types (datetime, ...)


def _struct(message: Any) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in message.fields.items()}


def _list_value(message: Any) -> list[Any]:
    return [_json_value(value) for value in message.values]


def _json_value(message: Any) -> Any:
    """A ``Value``: the one of its fields that is set (``None`` for ``null_value`` or none)."""
    if message.struct_value is not None:
        return _struct(message.struct_value)
    if message.list_value is not None:
        return _list_value(message.list_value)
    for name in ("number_value", "string_value", "bool_value"):
        value = getattr(message, name)
        if value is not None:
            return value
    return None


def _any(message: Any) -> dict[str, Any]:
    return {"type_url": message.type_url, "value": message.value}


_WELL_KNOWN = {_STRUCT: _struct, _VALUE: _json_value, _LIST_VALUE: _list_value, _ANY: _any}
"""Well-known messages whose dict is not their fields (see the module docstring)."""
