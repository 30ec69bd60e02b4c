"""Wire compatibility of our betterproto2 classes with protoc's standard Python classes.

For every message of the TextService protos of each version (requests, responses and the
messages inside them), values built the same way on both sides must cross the wire both ways:
bytes from our dataclasses parse with the reference classes to equal values, and the reverse.
"""

from __future__ import annotations

import importlib
import math
import random
import struct
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import betterproto2
import pytest
import reference
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor

pytestmark = pytest.mark.subprocess

VERSIONS = reference.VERSIONS
FILES = ("text_service", "citation", "safety")
CASES = ("empty", "full", "zeros", "specials")
TEXTS = ("héllo 🌍 wörld", "nul\x00inside", "", "日本語テキスト", "\U0001f600" * 3)
FLOATS = (math.nan, math.inf, -math.inf, 1.5, -0.0, 3.4028234663852886e38, 1e-45)
UNKNOWN_FIELD = bytes([0xC0, 0x3E, 42])  # field 1000, varint 42: in no message here

Spec = dict[str, Any]


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
    prefix = f"google.ai.generativelanguage.{version}."
    return full_name.removeprefix(prefix).replace(".", "")


@pytest.fixture(scope="module")
def ref_modules(reference_python: Path) -> dict[str, list[ModuleType]]:
    return {v: [reference.load(reference_python, v, f"{f}_pb2") for f in FILES] for v in VERSIONS}


def _all_message_names() -> list[tuple[str, str]]:
    """(version, message full name) for every message, read from our generated modules."""
    out = []
    for version in VERSIONS:
        module = _ours(version)
        for name in sorted(module.__all__):
            cls = getattr(module, name)
            if isinstance(cls, type) and issubclass(cls, betterproto2.Message):
                out.append((version, name))
    return out


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
        numbers = sorted(v.number for v in field.enum_type.values)
        return 0 if case == "zeros" else numbers[(index + 1) % len(numbers)]
    if kind == FieldDescriptor.TYPE_BYTES:
        return b"" if case == "zeros" else b"\x00\xff" * (index + 1)
    # integer types
    if case == "zeros":
        return 0
    return (2**31 - 1) if case == "specials" else -(index + 7)


def _spec(desc: Descriptor, case: str, depth: int = 0) -> Spec:
    spec: Spec = {}
    if case == "empty":
        return spec
    for i, field in enumerate(desc.fields):
        repeated = field.is_repeated
        if field.message_type is not None:
            if depth >= 3:
                continue
            if repeated:
                spec[field.name] = (
                    [] if case == "zeros" else [_spec(field.message_type, case, depth + 1)] * 2
                )
            else:  # "zeros": an empty sub-message, which is still present
                spec[field.name] = (
                    {} if case == "zeros" else _spec(field.message_type, case, depth + 1)
                )
        elif repeated:
            spec[field.name] = (
                [] if case == "zeros" else [_sample(field, case, i + k) for k in range(3)]
            )
        elif case == "zeros" and not field.has_presence:
            continue  # a zero non-optional scalar is the same as unset
        else:
            spec[field.name] = _sample(field, case, i)
    return spec


def _ref_build(desc: Descriptor, spec: Spec) -> Any:
    msg = message_factory.GetMessageClass(desc)()
    _ref_fill(msg, spec)
    return msg


def _ref_fill(msg: Any, spec: Spec) -> None:
    fields = msg.DESCRIPTOR.fields_by_name
    for name, value in spec.items():
        field = fields[name]
        if field.message_type is not None:
            if field.is_repeated:
                for item in value:
                    _ref_fill(getattr(msg, name).add(), item)
            else:
                getattr(msg, name).SetInParent()
                _ref_fill(getattr(msg, name), value)
        elif field.is_repeated:
            getattr(msg, name).extend(value)
        else:
            setattr(msg, name, value)


def _inner(hint: Any) -> Any:
    """``X`` from ``X``, ``X | None`` or ``list[X]``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return _inner(args[0]) if args else hint


def _ours_build(cls: type[betterproto2.Message], spec: Spec) -> betterproto2.Message:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, value in spec.items():
        inner = _inner(hints[name])
        if isinstance(value, list):
            kwargs[name] = [_ours_value(inner, item) for item in value]
        else:
            kwargs[name] = _ours_value(inner, value)
    return cls(**kwargs)


def _ours_value(inner: Any, value: Any) -> Any:
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


def _canon_ref(msg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        if field.is_repeated:
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


def _canon_ours(msg: betterproto2.Message, desc: Descriptor) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in desc.fields:
        value = getattr(msg, field.name)
        if field.is_repeated:
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
    ref_modules: dict[str, list[ModuleType]], version: str, name: str
) -> tuple[type[betterproto2.Message], Descriptor]:
    ours = getattr(_ours(version), name)
    for module in ref_modules[version]:
        for desc in _descriptors(module):
            if _our_name(desc.full_name, version) == name:
                return ours, desc
    raise AssertionError(f"{version}.{name} has no reference message")


def test_every_message_of_every_version_is_covered(
    ref_modules: dict[str, list[ModuleType]],
) -> None:
    ours = set(_all_message_names())
    theirs = {
        (v, _our_name(d.full_name, v))
        for v, mods in ref_modules.items()
        for m in mods
        for d in _descriptors(m)
    }
    assert ours == theirs
    for version in VERSIONS:
        names = {n for v, n in ours if v == version}
        assert {"GenerateTextRequest", "GenerateTextResponse", "EmbedTextRequest"} <= names
        has_batch = version != "v1beta2"
        assert ("BatchEmbedTextResponse" in names) == has_batch
        assert ("CountTextTokensRequest" in names) == has_batch


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("version", "name"), _all_message_names())
def test_ours_to_reference_and_back(
    ref_modules: dict[str, list[ModuleType]], version: str, name: str, case: str
) -> None:
    ours_cls, desc = _pair(ref_modules, version, name)
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


def test_optional_zero_differs_from_unset(ref_modules: dict[str, list[ModuleType]]) -> None:
    for version in VERSIONS:
        ours_cls, desc = _pair(ref_modules, version, "GenerateTextRequest")
        zero = ours_cls(model="models/m", temperature=0.0, candidate_count=0, top_k=0)
        unset = ours_cls(model="models/m")
        assert bytes(zero) != bytes(unset)
        ref_cls = message_factory.GetMessageClass(desc)
        parsed = ref_cls.FromString(bytes(zero))
        assert parsed.HasField("temperature") and parsed.temperature == 0.0
        assert parsed.HasField("candidate_count") and parsed.candidate_count == 0
        assert not ref_cls.FromString(bytes(unset)).HasField("temperature")
        back = ours_cls.parse(parsed.SerializeToString())
        assert back.temperature == 0.0 and back.candidate_count == 0
        assert back.max_output_tokens is None and back.top_p is None


@pytest.mark.parametrize("version", ["v1beta", "v1beta3"])
def test_batch_of_100_by_768_floats(ref_modules: dict[str, list[ModuleType]], version: str) -> None:
    ours_cls, desc = _pair(ref_modules, version, "BatchEmbedTextResponse")
    rng = random.Random(768)
    rows = [
        [struct.unpack("<f", struct.pack("<f", rng.uniform(-1, 1)))[0] for _ in range(768)]
        for _ in range(100)
    ]
    rows[3][5] = math.nan
    rows[7][0] = -math.inf
    spec: Spec = {"embeddings": [{"value": row} for row in rows]}
    ours = _ours_build(ours_cls, spec)
    ref = _ref_build(desc, spec)
    expected = _canon_ref(ref)
    assert _canon_ref(message_factory.GetMessageClass(desc).FromString(bytes(ours))) == expected
    parsed = ours_cls.parse(ref.SerializeToString())
    assert _canon_ours(parsed, desc) == expected
    assert len(parsed.embeddings) == 100 and all(len(e.value) == 768 for e in parsed.embeddings)
