"""``_fields`` (argument -> request field value) and ``_shapes`` (response -> dicts)."""

from __future__ import annotations

import importlib
import math
import sys
import typing
from typing import Any

import betterproto2
import pytest
from support.facade_checks import check_conforms

from textservice._encoding import dicts as _shapes
from textservice._facade import fields as _fields
from textservice._proto.google.ai.generativelanguage import v1beta as pb

VERSIONS = ("v1beta", "v1beta2", "v1beta3")


def test_scalars() -> None:
    assert _fields.string("a", "x") == "a"
    assert _fields.floating(1, "x") == 1.0 and isinstance(_fields.floating(1, "x"), float)
    assert _fields.int32(-(2**31), "x") == -(2**31)
    assert _fields.uint64(2**64 - 1, "x") == 2**64 - 1
    assert _fields.boolean(False, "x") is False
    assert _fields.binary(bytearray(b"ab"), "x") == b"ab"
    cases: list[tuple[Any, Any, type[Exception], str]] = [
        (_fields.string, b"a", TypeError, "x must be a str, not bytes"),
        (_fields.floating, True, TypeError, "x must be a number, not bool"),
        (_fields.floating, "1", TypeError, "x must be a number"),
        (_fields.floating, math.nan, ValueError, "NaN"),
        (_fields.int32, 2**31, ValueError, "between"),
        (_fields.int32, 1.0, TypeError, "x must be an int"),
        (_fields.uint32, -1, ValueError, "between 0"),
        (_fields.int64, True, TypeError, "not bool"),
        (_fields.boolean, 1, TypeError, "x must be a bool"),
        (_fields.binary, "s", TypeError, "x must be bytes"),
    ]
    for convert, value, error, words in cases:
        with pytest.raises(error, match=words):
            convert(value, "x")


def test_enums_by_member_name_or_known_number() -> None:
    cls = pb.SafetySettingHarmBlockThreshold
    assert _fields.enum(cls, cls.BLOCK_NONE, "t") is cls.BLOCK_NONE
    assert _fields.enum(cls, "BLOCK_NONE", "t") is cls.BLOCK_NONE
    assert _fields.enum(pb.HarmCategory, "HARM_CATEGORY_TOXICITY", "c") is pb.HarmCategory.TOXICITY
    assert _fields.enum(pb.HarmCategory, "TOXICITY", "c") is pb.HarmCategory.TOXICITY
    assert _fields.enum(cls, 4, "t") is cls.BLOCK_NONE
    with pytest.raises(ValueError, match="t: 99 is not a SafetySettingHarmBlockThreshold"):
        _fields.enum(cls, 99, "t")
    with pytest.raises(ValueError, match="'NOPE'"):
        _fields.enum(cls, "NOPE", "t")
    with pytest.raises(TypeError, match="t must be a SafetySettingHarmBlockThreshold"):
        _fields.enum(cls, 1.5, "t")
    with pytest.raises(TypeError):
        _fields.enum(cls, True, "t")


def test_messages_from_instances_mappings_and_strings() -> None:
    prompt = pb.TextPrompt(text="hi")
    assert _fields.message(pb.TextPrompt, prompt, "prompt", text_field="text") is prompt
    assert _fields.message(pb.TextPrompt, "hi", "prompt", text_field="text") == prompt
    setting = _fields.message(
        pb.SafetySetting, {"category": "HARM_CATEGORY_VIOLENCE", "threshold": 2}, "s"
    )
    assert setting.category is pb.HarmCategory.VIOLENCE
    assert setting.threshold is pb.SafetySettingHarmBlockThreshold.BLOCK_MEDIUM_AND_ABOVE
    with pytest.raises(TypeError, match="s must be a SafetySetting or a mapping"):
        _fields.message(pb.SafetySetting, "x", "s")
    with pytest.raises(TypeError, match="prompt must be a str, a TextPrompt"):
        _fields.message(pb.TextPrompt, 3, "prompt", text_field="text")
    with pytest.raises(ValueError, match="s: not a valid SafetySetting: Unknown field 'color'"):
        _fields.message(pb.SafetySetting, {"color": 1}, "s")
    other_version = importlib.import_module(
        "textservice._proto.google.ai.generativelanguage.v1beta3"
    )
    with pytest.raises(TypeError):
        _fields.message(pb.TextPrompt, other_version.TextPrompt(text="x"), "prompt")


def test_json_like_values_for_value_struct_and_list_value() -> None:
    from textservice._proto.google import protobuf as wkt

    value = _fields.json_value({"a": [1, None, True, "x"], "b": {"c": 2.5}}, "p")
    # the same message betterproto2 parses from the same JSON
    assert value == wkt.Value.from_dict({"a": [1, None, True, "x"], "b": {"c": 2.5}})
    assert _fields.json_object({}, "s") == wkt.Struct()
    assert _fields.json_list(("a", 1), "l") == wkt.ListValue.from_dict(["a", 1])
    assert _fields.json_value(None, "p") == wkt.Value(null_value=wkt.NullValue.NULL_VALUE)
    assert _fields.json_value(2**60, "p").number_value == float(2**60)
    cases: list[tuple[Any, Any, type[Exception], str]] = [
        (_fields.json_value, math.inf, ValueError, "p must be a finite number"),
        (_fields.json_value, [10**400], ValueError, r"p\[0\] must be a finite number"),
        (_fields.json_value, {"k": b"x"}, TypeError, r"p\['k'\] must be a JSON-like value"),
        (_fields.json_value, {"k": {1, 2}}, TypeError, "not set"),
        (_fields.json_value, {"k": "\ud800"}, ValueError, "lone surrogate"),
        (_fields.json_object, {2: "x"}, TypeError, "p: keys must be str, not int"),
        (_fields.json_object, ["x"], TypeError, "p must be a mapping with str keys"),
        (_fields.json_list, "abc", TypeError, "p must be a sequence of JSON-like values"),
    ]
    for convert, bad, kind, words in cases:
        with pytest.raises(kind, match=words):
            convert(bad, "p")
    looped: dict[str, Any] = {"a": [1]}
    looped["a"].append(looped)
    with pytest.raises(ValueError, match=r"p\['a'\]\[1\] holds itself"):
        _fields.json_value(looped, "p")
    shared = [1, 2]  # the same list twice is no loop
    assert _fields.json_list([shared, shared], "p").to_dict() == [[1, 2], [1, 2]]


def test_timestamps_and_durations() -> None:
    import datetime

    when = datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)
    assert _fields.timestamp(when, "t") is when
    assert _fields.duration(datetime.timedelta(seconds=-1), "d") == datetime.timedelta(seconds=-1)
    with pytest.raises(ValueError, match="t must be timezone-aware"):
        _fields.timestamp(datetime.datetime(2026, 1, 2), "t")
    with pytest.raises(TypeError, match=r"t must be a datetime\.datetime, not str"):
        _fields.timestamp("2026-01-02T00:00:00Z", "t")
    with pytest.raises(TypeError, match=r"d must be a datetime\.timedelta, not int"):
        _fields.duration(5, "d")


def test_a_str_for_a_content_inside_a_mapping() -> None:
    types: _fields.ContentTypes = {pb.Content: ("parts", "text")}
    request = _fields.message(
        pb.GenerateContentRequest,
        {"model": "models/m", "contents": ["hi", {"parts": [{"text": "b"}]}],
         "systemInstruction": "be brief"},
        "request",
        contents=types,
    )  # fmt: skip
    assert request.contents == [
        pb.Content(parts=[pb.Part(text="hi")]),
        pb.Content(parts=[pb.Part(text="b")]),
    ]
    assert request.system_instruction == pb.Content(parts=[pb.Part(text="be brief")])
    one = _fields.message(pb.GenerateContentRequest, {"contents": "x"}, "r", contents=types)
    assert one.contents == [pb.Content(parts=[pb.Part(text="x")])]
    # without the table (a message with no Content in it), a str is still refused
    with pytest.raises(ValueError, match="r: not a valid GenerateContentRequest"):
        _fields.message(pb.GenerateContentRequest, {"contents": ["x"]}, "r")
    with pytest.raises(ValueError, match="lone surrogate"):
        _fields.message(pb.GenerateContentRequest, {"contents": ["\ud800"]}, "r", contents=types)


def test_deprecations_warn_about_nested_fields_and_enum_values() -> None:
    import warnings

    from textservice._facade.deprecation import Deprecations

    deprecations = Deprecations(
        package="p",
        fields={pb.SafetySetting: ("threshold",)},
        values={pb.HarmCategory: {11: "HARM_CATEGORY_CIVIC_INTEGRITY"}},
    )
    threshold = pb.SafetySettingHarmBlockThreshold(1)
    settings = [
        pb.SafetySetting(category=pb.HarmCategory.HARASSMENT),
        pb.SafetySetting(category=pb.HarmCategory(11), threshold=threshold),
    ]
    request = pb.GenerateContentRequest(model="models/m", safety_settings=settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert deprecations.checked(request, "request") is request
        deprecations.checked(pb.HarmCategory.HARASSMENT, "category")  # not deprecated
    messages = [str(w.message) for w in caught]
    assert messages == [
        "textservice(request=...): request.safety_settings[1].category: the HarmCategory "
        "HARM_CATEGORY_CIVIC_INTEGRITY is deprecated in p",
        "textservice(request=...): request.safety_settings[1].threshold: the field "
        "SafetySetting.threshold is deprecated in p",
    ]
    assert {w.filename for w in caught} == {__file__}


def test_repeated_and_strings() -> None:
    assert _fields.strings("one", "stop") == ["one"]
    assert _fields.strings(("a", "b"), "stop") == ["a", "b"]
    assert _fields.repeated((x for x in [1, 2]), "n", _fields.int32) == [1, 2]
    with pytest.raises(TypeError, match=r"stop\[1\] must be a str"):
        _fields.strings(["a", 2], "stop")
    for bad in (b"ab", {"a": 1}, 5):
        with pytest.raises(TypeError, match="n must be a sequence"):
            _fields.repeated(bad, "n", _fields.int32)


def _full(cls: type[Any], version: Any, depth: int = 0) -> Any:
    """A message of ``cls`` with every field set (nested messages too)."""
    # the names of the class's own module: a package's index loads its modules lazily
    hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
    values: dict[str, Any] = {}
    for name, meta in cls._betterproto.meta_by_field_name.items():
        hint = hints[name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        inner = args[0] if args else hint
        if isinstance(inner, type) and issubclass(inner, betterproto2.Message):
            one = _full(inner, version, depth + 1)
        elif isinstance(inner, type) and issubclass(inner, betterproto2.Enum):
            one = list(inner)[1]
        else:
            one = {int: 7, float: 0.5, str: "s", bool: True, bytes: b"b"}[inner]
        values[name] = [one, one] if meta.repeated else one
    return cls(**values)


@pytest.mark.parametrize("version", VERSIONS)
def test_to_dict_matches_the_generated_typed_dicts(version: str) -> None:
    proto = importlib.import_module(f"textservice._proto.google.ai.generativelanguage.{version}")
    types = importlib.import_module(f"textservice.{version}.types")
    shapes = {"GenerateTextResponse": types.GenerateTextResponseDict}
    if hasattr(types, "CountTextTokensResponseDict"):
        shapes["CountTextTokensResponse"] = types.CountTextTokensResponseDict
    for name, typed in shapes.items():
        message = getattr(proto, name)
        full = _full(message, proto)
        parsed = message.parse(bytes(full))  # as the client receives it
        check_conforms(_shapes.to_dict(parsed), typed, name)
        check_conforms(_shapes.to_dict(message()), typed, f"empty {name}")


def test_to_dict_keeps_enums_and_sets_unset_messages_to_none() -> None:
    response = pb.GenerateTextResponse(
        candidates=[pb.TextCompletion(output="o")],
        filters=[pb.ContentFilter(reason=pb.ContentFilterBlockedReason.OTHER)],
    )
    shaped = _shapes.to_dict(pb.GenerateTextResponse.parse(bytes(response)))
    assert shaped == {
        "candidates": [{"output": "o", "safety_ratings": [], "citation_metadata": None}],
        "filters": [{"reason": pb.ContentFilterBlockedReason.OTHER, "message": None}],
        "safety_feedback": [],
    }
    assert shaped["filters"][0]["reason"] is pb.ContentFilterBlockedReason.OTHER
    with pytest.raises(TypeError, match="betterproto2 message"):
        _shapes.to_dict({"not": "a message"})  # type: ignore[arg-type]
