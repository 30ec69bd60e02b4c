"""Responses as plain dicts (``textservice._encoding.dicts``), well-known types included."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import betterproto2
import pytest

from textservice._encoding.dicts import to_dict
from textservice._encoding.metadata import message_metadata
from textservice._proto.google import longrunning as lr
from textservice._proto.google import protobuf as wkt
from textservice._proto.google.ai.generativelanguage import v1beta as pb
from textservice.testing.versions import api_versions


def dict_key(field: dataclasses.Field[Any]) -> str:
    """The key ``to_dict`` gives a field: its snake-case name, without a keyword's ``_``."""
    return field.name.rstrip("_")


def _betterproto2(message: betterproto2.Message) -> dict[str, Any]:
    return message.to_dict(
        output_format=betterproto2.OutputFormat.PYTHON,
        casing=betterproto2.Casing.SNAKE,
        include_default_values=True,
    )


def _with_a(wrapped: type, value: object) -> list[betterproto2.Message]:
    """A message of some generated version with a singular field of the well-known type
    ``wrapped`` (held unwrapped), set to ``value``: found in the generated code, as which
    message has one changes with the protos (v1beta's ``VideoMetadata`` came in 2025-08)."""
    for version in api_versions():
        for name in getattr(version.module, "__all__", ()):
            cls = getattr(version.module, name)
            if not (isinstance(cls, type) and issubclass(cls, betterproto2.Message)):
                continue
            for attribute, meta in message_metadata(cls).meta_by_field_name.items():
                if meta.unwrap is not None and meta.unwrap() is wrapped and not meta.repeated:
                    return [cls(**{attribute: value})]
    return []


PLAIN = [
    pb.GenerateTextResponse(
        candidates=[pb.TextCompletion(output="o")],
        filters=[pb.ContentFilter(reason=pb.ContentFilterBlockedReason.OTHER)],
    ),
    pb.Model(name="models/m", input_token_limit=3, supported_generation_methods=["embedContent"]),
    pb.Schema(type=pb.Type.OBJECT, properties={"a": pb.Schema(type=pb.Type.STRING)}),  # a map
    *_with_a(wkt.Duration, datetime.timedelta(seconds=3)),  # an unwrapped Duration
    pb.TunedModel(create_time=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)),
    pb.CountTokensResponse(total_tokens=7),
]


@pytest.mark.parametrize("message", PLAIN, ids=lambda m: type(m).__name__)
def test_same_as_betterproto2_where_it_works(message: betterproto2.Message) -> None:
    parsed = type(message).parse(bytes(message))  # as the client receives it
    assert to_dict(parsed) == _betterproto2(parsed)
    assert to_dict(type(message)()) == _betterproto2(type(message)())


def test_struct_value_and_list_value_are_json_like_values() -> None:
    # betterproto2's to_dict raises on these in its Python mode (a function call's arguments)
    args = wkt.Struct(
        fields={
            "n": wkt.Value(number_value=1.5),
            "s": wkt.Value(string_value="x"),
            "b": wkt.Value(bool_value=False),
            "z": wkt.Value(null_value=wkt.NullValue.NULL_VALUE),
            "l": wkt.Value(
                list_value=wkt.ListValue(
                    values=[wkt.Value(string_value="y"), wkt.Value(struct_value=wkt.Struct())]
                )
            ),
        }
    )
    call = pb.FunctionCall(name="f", args=args)
    with pytest.raises(AssertionError):
        _betterproto2(call)
    shaped = to_dict(pb.FunctionCall.parse(bytes(call)))
    assert set(shaped) == {dict_key(f) for f in dataclasses.fields(pb.FunctionCall)}
    assert shaped["name"] == "f"
    assert shaped["args"] == {"n": 1.5, "s": "x", "b": False, "z": None, "l": ["y", {}]}
    assert to_dict(pb.FunctionCall(name="f"))["args"] is None  # unset: None, like any message


def test_any_is_its_type_url_and_bytes_even_when_unregistered() -> None:
    operation = lr.Operation(
        name="tunedModels/t/operations/o",
        done=True,
        response=wkt.Any(type_url="type.googleapis.com/unknown.Type", value=b"\x08\x01"),
    )
    shaped = to_dict(lr.Operation.parse(bytes(operation)))
    assert shaped["response"] == {
        "type_url": "type.googleapis.com/unknown.Type",
        "value": b"\x08\x01",
    }
    assert shaped["metadata"] is None and shaped["error"] is None and shaped["done"] is True


def test_not_a_message() -> None:
    with pytest.raises(TypeError, match="betterproto2 message"):
        to_dict({"not": "a message"})  # type: ignore[arg-type]
