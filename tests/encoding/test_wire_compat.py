"""Wire compatibility of our betterproto2 classes with protoc's standard Python classes.

For every message of every proto file of each version (requests, responses and the messages
inside them: TextService, GenerativeService, ModelService, ...), values built the same way on
both sides must cross the wire both ways: bytes from our dataclasses parse with the reference
classes to equal values, and the reverse. A ``oneof`` gets one member set, each member in turn
(``full@k`` cases); maps, ``google.protobuf`` Timestamp and Duration (datetime and timedelta on
our side), Struct and Value are built as well.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import math
import random
import struct
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import betterproto2
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from support import reference

from codegen.names import python_class_name, python_field_name

pytestmark = pytest.mark.subprocess

VERSIONS = reference.VERSIONS
CASES = ("empty", "full", "zeros", "specials")
TEXTS = ("héllo 🌍 wörld", "nul\x00inside", "", "日本語テキスト", "\U0001f600" * 3)
FLOATS = (math.nan, math.inf, -math.inf, 1.5, -0.0, 3.4028234663852886e38, 1e-45)
UNKNOWN_FIELD = bytes([0xC0, 0x3E, 42])  # field 1000, varint 42: in no message here
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
TIMESTAMP, DURATION = "google.protobuf.Timestamp", "google.protobuf.Duration"

Spec = dict[str, Any]


class MapSpec(dict[Any, Any]):
    """The value of a map field in a spec (a plain dict is a message)."""


# -- the messages under test -------------------------------------------------------------


def _ours(version: str) -> ModuleType:
    return importlib.import_module(f"textservice._proto.google.ai.generativelanguage.{version}")


def _descriptors(module: ModuleType) -> Iterator[Descriptor]:
    def walk(desc: Descriptor) -> Iterator[Descriptor]:
        yield desc
        for nested in desc.nested_types:
            if not nested.GetOptions().map_entry:
                yield from walk(nested)

    for desc in module.DESCRIPTOR.message_types_by_name.values():
        yield from walk(desc)


def _our_name(full_name: str, version: str) -> str:
    """betterproto2's class name of a message (nested names are joined)."""
    prefix = f"google.ai.generativelanguage.{version}."
    return python_class_name(full_name.removeprefix(prefix))


@pytest.fixture(scope="module")
def ref_descriptors(reference_python: Path) -> dict[tuple[str, str], Descriptor]:
    """(version, our class name) -> the reference descriptor, for every proto file."""
    found = {}
    for version in VERSIONS:
        for name in reference.proto_names(version):
            module = reference.load(reference_python, version, f"{name}_pb2")
            for desc in _descriptors(module):
                found[version, _our_name(desc.full_name, version)] = desc
    return found


def _real_oneofs(desc: Descriptor) -> list[list[FieldDescriptor]]:
    """The declared oneofs (not the synthetic one of each proto3 ``optional`` field)."""
    return [
        list(o.fields)
        for o in desc.oneofs
        if not (len(o.fields) == 1 and o.name == "_" + o.fields[0].name)
    ]


def _all_message_names() -> list[tuple[str, str]]:
    """(version, message name) for every message, read from our generated modules."""
    out = []
    for version in VERSIONS:
        module = _ours(version)
        for name in sorted(module.__all__):
            cls = getattr(module, name)
            if isinstance(cls, type) and issubclass(cls, betterproto2.Message):
                out.append((version, name))
    return out


def _cases() -> list[tuple[str, str, str]]:
    """(version, name, case): each case, plus ``full@k`` for the k-th member of every oneof."""
    out = []
    for version, name in _all_message_names():
        out += [(version, name, case) for case in CASES]
        cls = getattr(_ours(version), name)
        widest = max((len(v) for v in _oneof_sizes(cls)), default=1)
        out += [(version, name, f"full@{k}") for k in range(1, widest)]
    return out


def _oneof_sizes(cls: type[betterproto2.Message]) -> list[list[str]]:
    """Our class's oneof groups and their fields."""
    groups: dict[str, list[str]] = {}
    for f in dataclasses.fields(cast(Any, cls)):  # betterproto2 messages are dataclasses
        group = betterproto2.FieldMetadata.get(f).group
        if group:
            groups.setdefault(group, []).append(f.name)
    return list(groups.values())


# -- building equal values on both sides -------------------------------------------------


def _sample(field: FieldDescriptor, case: str, index: int) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return TEXTS[index % len(TEXTS)] if case != "zeros" else ""
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        if case == "zeros":
            return 0.0
        return FLOATS[index % len(FLOATS)] if case == "specials" else 0.25 * (index + 1)
    if kind == FieldDescriptor.TYPE_BOOL:
        return case != "zeros"
    if kind == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        numbers = sorted(v.number for v in field.enum_type.values)
        return 0 if case == "zeros" else numbers[(index + 1) % len(numbers)]
    if kind == FieldDescriptor.TYPE_BYTES:
        return b"" if case == "zeros" else b"\x00\xff" * (index + 1)
    # integer types
    if case == "zeros":
        return 0
    return (2**31 - 1) if case == "specials" else -(index + 7)


def _time_spec(full_name: str, case: str, index: int) -> Spec:
    """A Timestamp or Duration our datetime/timedelta can hold exactly (whole microseconds)."""
    if case == "zeros":
        return {}
    if full_name == TIMESTAMP:
        seconds = 253402300799 if case == "specials" else 1_700_000_000 + index  # 9999-12-31
    else:
        seconds = 86400 * 36500 if case == "specials" else 5 + index
    return {"seconds": seconds, "nanos": 999_999_000 if case == "specials" else 250_000}


def _spec(desc: Descriptor, case: str, depth: int = 0, index: int = 0) -> Spec:
    base, _, choice = case.partition("@")
    if base == "empty":
        return {}
    if desc.full_name in (TIMESTAMP, DURATION):
        return _time_spec(desc.full_name, base, index)
    skipped = {
        f.name
        for members in _real_oneofs(desc)
        for i, f in enumerate(members)
        if i != int(choice or 0) % len(members)
    }
    spec: Spec = {}
    for i, field in enumerate(desc.fields):
        if field.name in skipped:
            continue
        message = field.message_type
        if message is not None and message.GetOptions().map_entry:
            value_field = message.fields_by_name["value"]
            if base == "zeros" or (value_field.message_type is not None and depth >= 3):
                spec[field.name] = MapSpec()
                continue
            key = _sample(message.fields_by_name["key"], "full", i)
            spec[field.name] = MapSpec({key: _value(value_field, case, depth, i)})
        elif message is not None:
            if depth >= 3:
                continue
            if field.is_repeated:
                item = _spec(message, case, depth + 1, i)
                spec[field.name] = [] if base == "zeros" else [item, item]
            else:  # "zeros": an empty sub-message, which is still present
                spec[field.name] = {} if base == "zeros" else _spec(message, case, depth + 1, i)
        elif field.is_repeated:
            spec[field.name] = (
                [] if base == "zeros" else [_sample(field, base, i + k) for k in range(3)]
            )
        elif base == "zeros" and not field.has_presence:
            continue  # a zero non-optional scalar is the same as unset
        else:
            spec[field.name] = _sample(field, base, i)
    return spec


def _value(field: FieldDescriptor, case: str, depth: int, index: int) -> Any:
    if field.message_type is not None:
        return _spec(field.message_type, case, depth + 1, index)
    return _sample(field, case.partition("@")[0], index)


def _ref_build(desc: Descriptor, spec: Spec) -> Any:
    msg = message_factory.GetMessageClass(desc)()
    _ref_fill(msg, spec)
    return msg


def _ref_fill(msg: Any, spec: Spec) -> None:
    fields = msg.DESCRIPTOR.fields_by_name
    for name, value in spec.items():
        field = fields[name]
        target = getattr(msg, name)
        if isinstance(value, MapSpec):
            is_message = field.message_type.fields_by_name["value"].message_type is not None
            for key, item in value.items():
                if is_message:
                    _ref_fill(target[key], item)
                else:
                    target[key] = item
        elif field.message_type is not None:
            if field.is_repeated:
                for item in value:
                    _ref_fill(target.add(), item)
            else:
                target.SetInParent()
                _ref_fill(target, value)
        elif field.is_repeated:
            target.extend(value)
        else:
            setattr(msg, name, value)


def _inner(hint: Any) -> Any:
    """``X`` from ``X``, ``X | None`` or ``list[X]``; ``dict[K, V]`` stays as it is."""
    if typing.get_origin(hint) is dict:
        return hint
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return _inner(args[0]) if args else hint


def _ours_build(cls: type[betterproto2.Message], spec: Spec) -> betterproto2.Message:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for proto_name, value in spec.items():
        name = python_field_name(proto_name)
        inner = _inner(hints[name])
        if isinstance(value, MapSpec):
            item_type = typing.get_args(inner)[1]
            kwargs[name] = {k: _ours_value(item_type, v) for k, v in value.items()}
        elif isinstance(value, list):
            kwargs[name] = [_ours_value(inner, item) for item in value]
        else:
            kwargs[name] = _ours_value(inner, value)
    return cls(**kwargs)


def _ours_value(inner: Any, value: Any) -> Any:
    if inner is datetime.datetime:
        return EPOCH + datetime.timedelta(
            seconds=value.get("seconds", 0), microseconds=value.get("nanos", 0) // 1000
        )
    if inner is datetime.timedelta:
        return datetime.timedelta(
            seconds=value.get("seconds", 0), microseconds=value.get("nanos", 0) // 1000
        )
    if isinstance(value, dict):
        return _ours_build(inner, value)
    if isinstance(inner, type) and issubclass(inner, betterproto2.Enum):
        return inner(value)
    return value


# -- comparing values, NaN-safe (floats by their bits) -------------------------------------


def _canon_scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_FLOAT:
        return struct.pack("<f", value)
    if field.type == FieldDescriptor.TYPE_DOUBLE:
        return struct.pack("<d", value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return int(value)
    return value


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _canon_ref(msg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        if _is_map(field):
            assert field.message_type is not None
            item = field.message_type.fields_by_name["value"]
            out[field.name] = {
                k: _canon_ref(v) if item.message_type else _canon_scalar(item, v)
                for k, v in value.items()
            }
        elif field.is_repeated:
            if field.message_type is not None:
                out[field.name] = [_canon_ref(v) for v in value]
            else:
                out[field.name] = [_canon_scalar(field, v) for v in value]
        elif field.message_type is not None:
            out[field.name] = _canon_ref(value) if msg.HasField(field.name) else None
        elif field.has_presence and not msg.HasField(field.name):
            out[field.name] = None
        else:
            out[field.name] = _canon_scalar(field, value)
    return out


def _canon_time(value: datetime.datetime | datetime.timedelta) -> dict[str, Any]:
    """A datetime or timedelta as the Timestamp or Duration fields protoc's classes hold."""
    span = value - EPOCH if isinstance(value, datetime.datetime) else value
    seconds = span.days * 86400 + span.seconds
    return {"seconds": seconds, "nanos": span.microseconds * 1000}


def _canon_ours(msg: Any, desc: Descriptor) -> dict[str, Any]:
    if desc.full_name in (TIMESTAMP, DURATION):
        return _canon_time(msg)
    out: dict[str, Any] = {}
    for field in desc.fields:
        value = getattr(msg, python_field_name(field.name))
        if _is_map(field):
            assert field.message_type is not None
            item = field.message_type.fields_by_name["value"]
            inner = item.message_type
            out[field.name] = {
                k: _canon_ours(v, inner) if inner else _canon_scalar(item, v)
                for k, v in value.items()
            }
        elif field.is_repeated:
            if field.message_type is not None:
                out[field.name] = [_canon_ours(v, field.message_type) for v in value]
            else:
                out[field.name] = [_canon_scalar(field, v) for v in value]
        elif field.message_type is not None:
            out[field.name] = None if value is None else _canon_ours(value, field.message_type)
        elif value is None:
            out[field.name] = None
        else:
            out[field.name] = _canon_scalar(field, value)
    return out


# -- the tests ---------------------------------------------------------------------------


def _pair(
    ref_descriptors: dict[tuple[str, str], Descriptor], version: str, name: str
) -> tuple[Any, Descriptor]:
    """Our message class ``name`` (read by its fields' names) and the reference descriptor."""
    ours = getattr(_ours(version), name)
    desc = ref_descriptors.get((version, name))
    if desc is None:
        raise AssertionError(f"{version}.{name} has no reference message")
    return ours, desc


def test_every_message_of_every_version_is_covered(
    ref_descriptors: dict[tuple[str, str], Descriptor],
) -> None:
    ours = set(_all_message_names())
    assert ours == set(ref_descriptors)
    assert {v for v, _ in ours} == set(VERSIONS) >= {"v1", "v1beta", "v1beta2", "v1beta3"}
    for version in VERSIONS:
        names = {n for v, n in ours if v == version}
        text = version in reference.versions_with("text_service")
        assert ("EmbedTextRequest" in names) == text
        assert ("BatchEmbedTextResponse" in names) == (text and version != "v1beta2")
        generative = version in reference.versions_with("generative_service")
        assert generative or version not in ("v1", "v1beta")
        assert {
            "EmbedContentRequest",
            "BatchEmbedContentsResponse",
            "ContentEmbedding",
            "CountTokensRequest",
            "GenerateContentResponse",
        } <= names or not generative
        models = version in reference.versions_with("model_service")
        assert models or version not in ("v1", "v1beta")
        assert ("ListModelsResponse" in names) == models


@pytest.mark.parametrize(("version", "name", "case"), _cases())
def test_ours_to_reference_and_back(
    ref_descriptors: dict[tuple[str, str], Descriptor], version: str, name: str, case: str
) -> None:
    ours_cls, desc = _pair(ref_descriptors, version, name)
    spec = _spec(desc, case)
    ours = _ours_build(ours_cls, spec)
    ref = _ref_build(desc, spec)
    expected = _canon_ref(ref)
    assert _canon_ours(ours, desc) == expected  # both sides hold the same values

    from_ours = message_factory.GetMessageClass(desc).FromString(bytes(ours))
    assert _canon_ref(from_ours) == expected

    from_ref = ours_cls.parse(ref.SerializeToString())
    assert _canon_ours(from_ref, desc) == expected

    # unknown fields are skipped by both parsers, known values unchanged
    with_unknown_ours = ours_cls.parse(ref.SerializeToString() + UNKNOWN_FIELD)
    assert _canon_ours(with_unknown_ours, desc) == expected
    with_unknown_ref = message_factory.GetMessageClass(desc).FromString(bytes(ours) + UNKNOWN_FIELD)
    assert _canon_ref(with_unknown_ref) == expected


def test_every_oneof_member_is_sent_by_some_case(
    ref_descriptors: dict[tuple[str, str], Descriptor],
) -> None:
    cases: dict[tuple[str, str], list[str]] = {}
    for version, name, case in _cases():
        cases.setdefault((version, name), []).append(case)
    checked = 0
    for (version, name), desc in ref_descriptors.items():
        for members in _real_oneofs(desc):
            sent = {f for case in cases[version, name] for f in _spec(desc, case)}
            assert {f.name for f in members} <= sent, (version, name)
            checked += 1
    # every oneof of the reference's own reading of the protos was checked (whatever they hold)
    declared = sum(len(_real_oneofs(desc)) for desc in ref_descriptors.values())
    assert checked == declared and checked > 0


def test_optional_zero_differs_from_unset(
    ref_descriptors: dict[tuple[str, str], Descriptor],
) -> None:
    for version in reference.versions_with("text_service"):
        ours_cls, desc = _pair(ref_descriptors, version, "GenerateTextRequest")
        zero = ours_cls(model="models/m", temperature=0.0, candidate_count=0, top_k=0)
        unset = ours_cls(model="models/m")
        assert bytes(zero) != bytes(unset)
        ref_cls: Any = message_factory.GetMessageClass(desc)  # its fields: read by name
        parsed = ref_cls.FromString(bytes(zero))
        assert parsed.HasField("temperature") and parsed.temperature == 0.0
        assert parsed.HasField("candidate_count") and parsed.candidate_count == 0
        assert not ref_cls.FromString(bytes(unset)).HasField("temperature")
        back = ours_cls.parse(parsed.SerializeToString())
        assert back.temperature == 0.0 and back.candidate_count == 0
        assert back.max_output_tokens is None and back.top_p is None


def _random_rows(count: int, dimension: int) -> list[list[float]]:
    rng = random.Random(dimension)
    rows = [
        [struct.unpack("<f", struct.pack("<f", rng.uniform(-1, 1)))[0] for _ in range(dimension)]
        for _ in range(count)
    ]
    rows[3][5] = math.nan
    rows[7][0] = -math.inf
    return rows


@pytest.mark.parametrize(
    ("version", "message", "embeddings", "values", "dimension"),
    [
        ("v1beta", "BatchEmbedTextResponse", "embeddings", "value", 768),
        ("v1beta3", "BatchEmbedTextResponse", "embeddings", "value", 768),
        ("v1", "BatchEmbedContentsResponse", "embeddings", "values", 3072),
        ("v1beta", "BatchEmbedContentsResponse", "embeddings", "values", 3072),
    ],
)
def test_a_batch_of_100_embeddings(
    ref_descriptors: dict[tuple[str, str], Descriptor],
    version: str,
    message: str,
    embeddings: str,
    values: str,
    dimension: int,
) -> None:
    ours_cls, desc = _pair(ref_descriptors, version, message)
    spec: Spec = {embeddings: [{values: row} for row in _random_rows(100, dimension)]}
    ours = _ours_build(ours_cls, spec)
    ref = _ref_build(desc, spec)
    expected = _canon_ref(ref)
    assert _canon_ref(message_factory.GetMessageClass(desc).FromString(bytes(ours))) == expected
    parsed = ours_cls.parse(ref.SerializeToString())
    assert _canon_ours(parsed, desc) == expected
    vectors = getattr(parsed, embeddings)
    assert len(vectors) == 100 and all(len(getattr(e, values)) == dimension for e in vectors)
