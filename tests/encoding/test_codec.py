"""The fast embedding path of ``textservice._encoding.codec.Codec`` gives exactly what
betterproto2 gives.

Encode: the same bytes as ``bytes(message)``. Decode: a message equal (values compared bit
for bit, NaNs included) to ``Message.parse(data)``, for canonical bytes and for every other
wire form (which the codec hands to betterproto2). Array output
(``textservice._encoding.arrays``): the same values as the list output, for every wire form.
"""

from __future__ import annotations

import functools
import math
import struct
import time
from typing import Any, cast

import betterproto2
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fake_helpers import VERSIONS, module

from textservice import errors
from textservice._encoding import arrays as _arrays
from textservice._encoding import codec as _codec
from textservice._encoding import wire as _wire
from textservice._encoding.codec import Codec, embedding_layout

codec = Codec()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

float32s = st.floats(width=32, allow_nan=True, allow_infinity=True)
vectors = st.lists(float32s, max_size=40)
batch_versions = [v for v in VERSIONS if hasattr(module(v), "BatchEmbedTextResponse")]


def _bits(values: list[float]) -> list[bytes]:
    return [struct.pack("<d", v) for v in values]


def _ndarray(value: object) -> npt.NDArray[np.float32]:
    """``value``, an array (not the lists a reply falls back to)."""
    assert isinstance(value, np.ndarray), type(value)
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal messages, floats compared by their bits (so NaN equals the same NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, betterproto2.Message):
        if a._unknown_fields != b._unknown_fields:
            return False
        names = [f for f in cast(Any, a).__dataclass_fields__ if not f.startswith("_")]
        return all(_same(getattr(a, n), getattr(b, n)) for n in names)
    return bool(a == b)


def _embedding(version: str, values: list[float]) -> Any:
    return module(version).Embedding(value=values)


# -- which messages take the fast path ----------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_layout_found_for_embedding_responses_only(version: str) -> None:
    mod = module(version)
    single = embedding_layout(mod.EmbedTextResponse)
    assert single is not None
    assert (single.field, single.repeated, single.embedding_type) == (
        "embedding",
        False,
        mod.Embedding,
    )
    if hasattr(mod, "BatchEmbedTextResponse"):
        batch = embedding_layout(mod.BatchEmbedTextResponse)
        assert batch is not None
        assert (batch.field, batch.repeated) == ("embeddings", True)
    for name in ("Embedding", "GenerateTextResponse", "EmbedTextRequest", "TextPrompt"):
        assert embedding_layout(getattr(mod, name)) is None
    assert embedding_layout(int) is None


def test_encode_checks_the_message_type() -> None:
    mod = module("v1beta")
    with pytest.raises(TypeError, match="Message must be of type"):
        codec.encode(mod.EmbedTextRequest(), mod.EmbedTextResponse)


# -- encode ----------------------------------------------------------------------------------


@SETTINGS
@given(st.sampled_from(VERSIONS), st.none() | vectors)
def test_encode_single_matches_generic(version: str, values: list[float] | None) -> None:
    mod = module(version)
    message = mod.EmbedTextResponse(
        embedding=None if values is None else _embedding(version, values)
    )
    assert codec.encode(message, mod.EmbedTextResponse) == bytes(message)
    if values is not None:  # and it really took the fast path
        layout = embedding_layout(mod.EmbedTextResponse)
        assert layout is not None and _codec.encode_fast(message, layout) is not None


@SETTINGS
@given(st.sampled_from(batch_versions), st.lists(vectors, max_size=6))
def test_encode_batch_matches_generic(version: str, batch: list[list[float]]) -> None:
    mod = module(version)
    message = mod.BatchEmbedTextResponse(embeddings=[_embedding(version, v) for v in batch])
    layout = embedding_layout(mod.BatchEmbedTextResponse)
    assert layout is not None
    fast = _codec.encode_fast(message, layout)
    assert fast is not None
    assert fast == bytes(message)
    assert codec.encode(message, mod.BatchEmbedTextResponse) == bytes(message)


def test_encode_falls_back_for_odd_values() -> None:
    mod = module("v1beta")
    layout = embedding_layout(mod.BatchEmbedTextResponse)
    assert layout is not None
    odd = [
        mod.BatchEmbedTextResponse(embeddings=[mod.Embedding(value=(1.0, 2.0))]),  # a tuple
        mod.BatchEmbedTextResponse(embeddings=[mod.Embedding(value=[1.0, 2])]),  # an int
    ]
    unknown = mod.BatchEmbedTextResponse(embeddings=[mod.Embedding(value=[1.0])])
    unknown._unknown_fields = b"\xc0\x3e\x2a"  # field 1000, varint 42
    inner_unknown = mod.Embedding(value=[1.0])
    inner_unknown._unknown_fields = b"\xc0\x3e\x2a"
    for message in [
        *odd,
        unknown,
        mod.BatchEmbedTextResponse(embeddings=[inner_unknown]),
    ]:
        assert codec.encode(message, type(message)) == bytes(message)
    # the tuple and the unknown fields are not handled by the fast path
    assert _codec.encode_fast(odd[0], layout) is None
    assert _codec.encode_fast(unknown, layout) is None
    assert bytes(unknown).endswith(b"\xc0\x3e\x2a")


def test_encode_out_of_range_raises_like_generic() -> None:
    mod = module("v1beta")
    message = mod.EmbedTextResponse(embedding=mod.Embedding(value=[1e300]))
    with pytest.raises(OverflowError):
        bytes(message)
    with pytest.raises(OverflowError):
        codec.encode(message, mod.EmbedTextResponse)


def test_subclass_instance_uses_generic_path() -> None:
    mod = module("v1beta")

    class Sub(mod.EmbedTextResponse):  # type: ignore[name-defined,misc]
        pass

    message = Sub(embedding=mod.Embedding(value=[0.5]))
    assert codec.encode(message, mod.EmbedTextResponse) == bytes(message)


# -- decode ----------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    return _wire.encode_varint(n)


def _len_field(number: int, payload: bytes) -> bytes:
    return _wire.tag(number, 2) + _varint(len(payload)) + payload


def _packed(values: list[float]) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


@st.composite
def embedding_wire(draw: st.DrawFn) -> bytes:
    """Bytes of one Embedding in canonical or odd forms."""
    values = draw(vectors)
    form = draw(st.sampled_from(["canonical", "empty", "unpacked", "split", "unknown", "zero-run"]))
    if form == "canonical":
        return _len_field(1, _packed(values)) if values else b""
    if form == "empty":
        return b""
    if form == "zero-run":
        return _len_field(1, b"")
    if form == "unpacked":
        return b"".join(b"\x0d" + struct.pack("<f", v) for v in values)
    if form == "split":
        cut = draw(st.integers(0, len(values)))
        return _len_field(1, _packed(values[:cut])) + _len_field(1, _packed(values[cut:]))
    return _len_field(1, _packed(values)) + b"\xc0\x3e" + _varint(draw(st.integers(0, 300)))


@st.composite
def batch_wire(draw: st.DrawFn) -> bytes:
    """Bytes of a (Batch)EmbedTextResponse: field-1 embeddings, maybe odd extras."""
    parts = [_len_field(1, e) for e in draw(st.lists(embedding_wire(), max_size=5))]
    extra = draw(st.sampled_from(["none", "unknown", "truncate", "junk-tail", "long-length"]))
    data = b"".join(parts)
    if extra == "unknown":
        data += b"\x10\x07"  # field 2, varint 7
    elif extra == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif extra == "junk-tail":
        data += b"\x0a"
    elif extra == "long-length":
        data += b"\x0a\xff\xff\xff\xff\x0f"
    return data


def _generic(data: bytes, message_type: Any) -> tuple[str, Any]:
    try:
        return "ok", message_type.parse(data)
    except Exception as exc:
        return "error", type(exc)


def _ours(data: bytes, message_type: Any) -> tuple[str, Any]:
    try:
        return "ok", codec.decode(data, message_type)
    except Exception as exc:
        return "error", type(exc)


@functools.cache
def _google_message(name: str) -> Any:
    """``name`` (``EmbedTextResponse`` or ``BatchEmbedTextResponse``) as a class of Google's
    protobuf runtime (upb), built from a descriptor: the judge of what is protobuf. (The
    wire form of these messages is the same in every version: field 1 holding embeddings
    whose field 1 is a repeated float.)"""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="check.proto", package="check")
    file.syntax = "proto3"
    embedding = file.message_type.add(name="Embedding")
    embedding.field.add(name="value", number=1, type=field.TYPE_FLOAT, label=field.LABEL_REPEATED)
    for message, label in (
        ("EmbedTextResponse", field.LABEL_OPTIONAL),
        ("BatchEmbedTextResponse", field.LABEL_REPEATED),
    ):
        file.message_type.add(name=message).field.add(
            name="embedding",
            number=1,
            type=field.TYPE_MESSAGE,
            type_name=".check.Embedding",
            label=label,
        )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"check.{name}"))


def _google_refuses(data: bytes, name: str) -> bool:
    from google.protobuf.message import DecodeError

    try:
        _google_message(name).FromString(data)
    except DecodeError:
        return True
    return False


def _check_like_betterproto2(data: bytes, version: str, name: str) -> None:
    """Our decoding gives what betterproto2 gives, except that bytes which are not protobuf
    are refused (``WireError``) where betterproto2 may read something out of them."""
    message_type = getattr(module(version), name)
    expected, got = _generic(data, message_type), _ours(data, message_type)
    if got == ("error", _wire.WireError):
        assert _google_refuses(data, name)
        return
    assert expected[0] == got[0]
    if expected[0] == "ok":
        assert _same(got[1], expected[1])
    else:
        assert got[1] is expected[1]


@SETTINGS
@given(st.sampled_from(batch_versions), batch_wire())
def test_decode_batch_matches_generic(version: str, data: bytes) -> None:
    _check_like_betterproto2(data, version, "BatchEmbedTextResponse")


@SETTINGS
@given(st.sampled_from(VERSIONS), batch_wire())
def test_decode_single_matches_generic(version: str, data: bytes) -> None:
    _check_like_betterproto2(data, version, "EmbedTextResponse")


@SETTINGS
@given(st.sampled_from(batch_versions), st.binary(max_size=40))
def test_what_the_wire_check_refuses_google_refuses_too(version: str, data: bytes) -> None:
    try:
        _codec.check_wire(data, module(version).BatchEmbedTextResponse)
    except _wire.WireError:
        assert _google_refuses(data, "BatchEmbedTextResponse")
    else:
        assert not _google_refuses(data, "BatchEmbedTextResponse")


@pytest.mark.parametrize(
    "data",
    [
        b"\x00" * (2 << 20),  # 2 MiB of zeros: a million fields of number 0 to betterproto2
        b"\x0a\x05" + b"\x00" * 5,  # zeros inside an embedding
        b"\x0a\x03\x0a\x01",  # a nested field running past its message's end
        b"\x0b\x0a\x00",  # a group never closed
        b"\x0e",  # wire type 6
    ],
    ids=["zeros", "nested zeros", "nested overrun", "open group", "wire type 6"],
)
def test_malformed_bytes_are_refused_fast(data: bytes) -> None:
    mod = module("v1beta")
    started = time.perf_counter()
    with pytest.raises(_wire.WireError):
        codec.decode(data, mod.BatchEmbedTextResponse)
    with pytest.raises(_wire.WireError):
        codec.decode(data, mod.GenerateTextResponse)
    assert time.perf_counter() - started < 0.5  # betterproto2 takes a minute on the zeros


@SETTINGS
@given(st.sampled_from(batch_versions), st.lists(vectors, max_size=5))
def test_decode_fast_path_taken_for_canonical_bytes(version: str, batch: list[list[float]]) -> None:
    mod = module(version)
    message = mod.BatchEmbedTextResponse(embeddings=[_embedding(version, v) for v in batch])
    data = bytes(message)
    layout = embedding_layout(mod.BatchEmbedTextResponse)
    assert layout is not None
    fast: Any = _codec.decode_fast(data, mod.BatchEmbedTextResponse, layout)
    assert fast is not None
    assert _same(fast, mod.BatchEmbedTextResponse.parse(data))
    assert [_bits(e.value) for e in fast.embeddings] == [_bits(v) for v in batch]


@SETTINGS
@given(
    st.lists(st.lists(st.floats(width=32), min_size=1, max_size=6), min_size=1, max_size=5),
)
def test_decode_fast_path_sees_nan_and_infinities(batch: list[list[float]]) -> None:
    mod = module("v1beta")
    data = bytes(mod.BatchEmbedTextResponse(embeddings=[mod.Embedding(value=v) for v in batch]))
    layout = embedding_layout(mod.BatchEmbedTextResponse)
    assert layout is not None
    fast = _codec.decode_fast(data, mod.BatchEmbedTextResponse, layout)
    bad = [k for k, v in enumerate(batch) if not all(math.isfinite(x) for x in v)]
    assert _codec.seen_not_finite(fast) == (bad[0] if bad else None)
    assert _codec.seen_not_finite(mod.BatchEmbedTextResponse.parse(data)) is ...  # not looked


def test_the_top_byte_screen_of_float32_runs() -> None:
    cases = {
        1.0: True,
        -(2.0**126): True,
        float.fromhex("0x1.fffffep+126"): True,  # the largest value below 2**127
        2.0**127: False,  # finite, but the screen cannot tell it from an infinity
        -3.4028234663852886e38: False,
        math.inf: False,
        -math.inf: False,
        math.nan: False,
    }
    for value, small in cases.items():
        run = struct.pack("<4f", 0.5, value, -0.25, 0.0)
        assert _wire.float32_run_is_small(b"xx" + run, 2, 2 + len(run)) is small, value
        assert _wire.float32_run_is_small(run[:4] + run[8:], 0, 12)  # without it


def test_decode_fast_path_declines_odd_forms() -> None:
    mod = module("v1beta")
    layout = embedding_layout(mod.EmbedTextResponse)
    assert layout is not None
    twice = _len_field(1, _len_field(1, _packed([1.0]))) * 2  # singular field sent twice
    unpacked = _len_field(1, b"\x0d" + _packed([1.0]))
    odd_length = _len_field(1, _len_field(1, b"\x00\x00\x80"))
    for data in (twice, unpacked, odd_length, b"\x12\x00"):
        assert _codec.decode_fast(data, mod.EmbedTextResponse, layout) is None
        ours, generic = _ours(data, mod.EmbedTextResponse), _generic(data, mod.EmbedTextResponse)
        assert ours[0] == generic[0]
        assert _same(ours[1], generic[1]) if ours[0] == "ok" else ours[1] is generic[1]
    # the singular field sent twice: last one wins, as betterproto2 decides
    assert codec.decode(twice, mod.EmbedTextResponse).embedding.value == [1.0]


def test_other_messages_use_generic_path() -> None:
    mod = module("v1beta")
    message = mod.GenerateTextResponse(candidates=[mod.TextCompletion(output="hi")])
    data = codec.encode(message, mod.GenerateTextResponse)
    assert data == bytes(message)
    assert codec.decode(data, mod.GenerateTextResponse) == message


def test_a_100_by_768_batch_round_trips() -> None:
    mod = module("v1beta")
    batch = [[math.ldexp(i + 1, -j % 20) for j in range(768)] for i in range(100)]
    message = mod.BatchEmbedTextResponse(embeddings=[mod.Embedding(value=v) for v in batch])
    data = codec.encode(message, mod.BatchEmbedTextResponse)
    assert data == bytes(message)
    assert [e.value for e in codec.decode(data, mod.BatchEmbedTextResponse).embeddings] == batch


# -- the wire helpers ------------------------------------------------------------------------


@given(st.integers(0, 2**64 - 1))
def test_varint_round_trip(n: int) -> None:
    data = _wire.encode_varint(n)
    assert data == betterproto2.encode_varint(n)
    assert _wire.read_varint(data + b"\x01", 0) == (n, len(data))


def test_varint_errors() -> None:
    with pytest.raises(_wire.WireError, match="ends inside"):
        _wire.read_varint(b"\x80\x80", 0)
    with pytest.raises(_wire.WireError, match="longer than ten"):
        _wire.read_varint(b"\xff" * 11, 0)
    with pytest.raises(ValueError, match="out of range"):
        _wire.encode_varint(-1)


@given(vectors)
def test_unpack_matches_struct(values: list[float]) -> None:
    data = _packed(values)
    assert _bits(_wire.unpack_float32(data)) == _bits(list(struct.unpack(f"<{len(values)}f", data)))
    assert _wire.pack_float32(values) == data


def test_unpack_rejects_partial_floats() -> None:
    with pytest.raises(_wire.WireError, match="multiple of 4"):
        _wire.unpack_float32(b"\x00\x00\x00")


def test_unpack_without_a_float32_array(monkeypatch: pytest.MonkeyPatch) -> None:
    # the struct fallback (for a platform whose array('f') is not 4 bytes) gives the same
    data = _packed([1.5, -2.25, 3.0])
    monkeypatch.setattr(_wire, "_ARRAY_FLOAT_IS_FLOAT32", False)
    assert _wire.unpack_float32(data) == [1.5, -2.25, 3.0]


def test_big_endian_host_byteswaps(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate a big-endian host: its array('f') reads native (big-endian) words, so a
    # little-endian wire run must be swapped. On this (little-endian) host, bytes swapped in
    # advance play the role of the big-endian memory image.
    values = [1.5, -2.25, 3.0]
    big_endian_image = struct.pack(f">{len(values)}f", *values)
    monkeypatch.setattr(_wire, "_HOST_IS_LITTLE_ENDIAN", False)
    assert _wire.unpack_float32(big_endian_image) == values


# -- string-only requests ------------------------------------------------------------------

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


def _encode_like_generic(message: Any) -> None:
    """Codec bytes equal betterproto2's, or both raise the same kind of error."""
    try:
        expected: bytes | type[Exception] = bytes(message)
    except Exception as exc:
        expected = type(exc)
    try:
        got: bytes | type[Exception] = codec.encode(message, type(message))
    except Exception as exc:
        got = type(exc)
    assert got == expected


@SETTINGS
@given(st.sampled_from(VERSIONS), texts, texts)
def test_string_requests_take_betterproto2s_path(version: str, model: str, text: str) -> None:
    # TextService's embedding requests are written by hand where they are made (prebuilt:
    # tests/test_content_requests.py); a message built the ordinary way is betterproto2's
    _encode_like_generic(module(version).EmbedTextRequest(model=model, text=text))


# -- array output (output="numpy") -----------------------------------------------------------
#
# ``ArrayReply.FromString`` must give the list output's values exactly (compared as the Python
# floats both become, bit for bit, NaNs included) for every wire form, and must read canonical
# bytes without the list decoders (so no Python float per value).


def _array(data: bytes, message_type: Any) -> tuple[str, Any]:
    reply = _arrays.array_reply(message_type)
    assert reply is not None
    try:
        return "ok", reply.FromString(data)
    except Exception as exc:
        return "error", type(exc)


def _listed_vectors(message: Any) -> list[list[float]]:
    if hasattr(message, "embeddings"):
        return [e.value for e in message.embeddings]
    return [message.embedding.value if message.embedding is not None else []]


@SETTINGS
@given(st.sampled_from(VERSIONS), st.booleans(), batch_wire())
def test_array_output_equals_list_output_bit_for_bit(
    version: str, batch: bool, data: bytes
) -> None:
    mod = module(version)
    if batch and version not in batch_versions:
        batch = False
    message_type = mod.BatchEmbedTextResponse if batch else mod.EmbedTextResponse
    listed, arrays = _ours(data, message_type), _array(data, message_type)
    if listed[0] == "error":
        assert arrays == listed
        return
    vectors = _listed_vectors(listed[1])
    if len({len(v) for v in vectors}) > 1:  # ragged: no array; the lists, for the engine
        assert arrays[0] == "ok"  # to name what is wrong (and raise Internal)
        assert [_bits(v) for v in arrays[1]] == [_bits(v) for v in vectors]
        with pytest.raises(errors.Internal, match="different lengths"):
            _arrays.rows_array(arrays[1])
        return
    assert arrays[0] == "ok", arrays
    array = arrays[1]
    assert isinstance(array, np.ndarray) and array.dtype == np.float32
    assert array.flags.c_contiguous
    if batch:
        assert array.shape == ((len(vectors), len(vectors[0])) if vectors else (0, 0))
        assert [_bits(row) for row in array.tolist()] == [_bits(v) for v in vectors]
    else:
        (vector,) = vectors
        assert array.shape == (len(vector),)
        assert _bits(array.tolist()) == _bits(vector)


@SETTINGS
@given(st.sampled_from(batch_versions), st.integers(0, 6), st.integers(0, 40), st.data())
def test_array_output_reads_canonical_bytes_as_they_are(
    version: str, rows: int, dim: int, data: st.DataObject
) -> None:
    batch = [data.draw(st.lists(float32s, min_size=dim, max_size=dim)) for _ in range(rows)]
    mod = module(version)
    wire = bytes(mod.BatchEmbedTextResponse(embeddings=[_embedding(version, v) for v in batch]))
    array = _arrays.decode_rows(wire)  # the fast path takes it
    assert array is not None
    assert array.shape == ((rows, dim) if rows else (0, 0))
    # the exact float32 bits of the wire (signalling NaNs too), in order
    assert array.astype("<f4").tobytes() == b"".join(_packed(v) for v in batch)
    single = bytes(mod.EmbedTextResponse(embedding=_embedding(version, batch[0]) if rows else None))
    assert _arrays.decode_rows(single) is not None


def test_array_output_never_uses_the_list_decoders_for_canonical_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mod = module("v1beta")
    batch = [[float(i), -0.5, math.inf, math.nan] for i in range(100)]
    data = bytes(mod.BatchEmbedTextResponse(embeddings=[mod.Embedding(value=v) for v in batch]))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a list decoder was used")

    monkeypatch.setattr(_wire, "unpack_float32", refuse)
    monkeypatch.setattr(_codec, "unpack_float32", refuse)
    monkeypatch.setattr(mod.BatchEmbedTextResponse, "parse", refuse)
    monkeypatch.setattr(Codec, "decode", refuse)  # the class arrays.py decodes lists with
    reply = _arrays.array_reply(mod.BatchEmbedTextResponse)
    assert reply is not None
    array = _ndarray(reply.FromString(data))
    assert array.shape == (100, 4)
    assert _bits(array[:, :3].ravel().tolist()) == _bits([x for v in batch for x in v[:3]])
    assert np.isnan(array[:, 3]).all()


def test_array_output_declines_odd_forms_and_refuses_ragged_embeddings() -> None:
    mod = module("v1beta")
    row = _len_field(1, _len_field(1, _packed([1.0, 2.0])))
    odd = {
        "unpacked": _len_field(1, b"\x0d" + _packed([1.0]) + b"\x0d" + _packed([2.0])),
        "split": _len_field(1, _len_field(1, _packed([1.0])) + _len_field(1, _packed([2.0]))),
        "unknown field": row + b"\x10\x07",
        "truncated": row[:-1],
        "partial float": _len_field(1, _len_field(1, b"\x00\x00\x80")),
        # a canonical row, then an unpacked one taking exactly as many bytes
        "mixed": row + _len_field(1, b"\x0d" + _packed([3.0]) + b"\x0d" + _packed([4.0])),
    }
    for name, data in odd.items():
        assert _arrays.decode_rows(data) is None, name
    reply = _arrays.array_reply(mod.BatchEmbedTextResponse)
    assert reply is not None
    assert _ndarray(reply.FromString(odd["unpacked"])).tolist() == [[1.0, 2.0]]
    assert _ndarray(reply.FromString(odd["unknown field"])).tolist() == [[1.0, 2.0]]
    assert len(odd["mixed"]) == 2 * len(row)
    assert _ndarray(reply.FromString(odd["mixed"])).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    ragged = row + _len_field(1, _len_field(1, _packed([1.0, 2.0, 3.0])))
    assert _arrays.decode_rows(ragged) is None
    assert reply.FromString(ragged) == [[1.0, 2.0], [1.0, 2.0, 3.0]]  # lists: no array holds them
    with pytest.raises(errors.Internal, match=r"different lengths \(2, 3\).*output='list'"):
        _arrays.rows_array(reply.FromString(ragged))
    # an unset embedding is an empty vector, as in the list output
    single = _arrays.array_reply(mod.EmbedTextResponse)
    assert single is not None
    assert _ndarray(single.FromString(b"")).shape == (0,)
    assert (
        _ndarray(single.FromString(row * 2)).tolist()
        == codec.decode(row * 2, mod.EmbedTextResponse).embedding.value
    )


def test_row_writer_fills_rows_in_any_order() -> None:
    # (a batch of another width never reaches it: the engine refuses it for every output
    # of a call, tests/engine/test_bad_vectors.py and test_iter_embeddings.py)
    writer = _arrays.RowWriter(5)
    writer.put(3, np.array([[3.0, 3.5], [4.0, 4.5]], np.float32))
    writer.put(0, np.array([[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]], np.float32))
    assert writer.result().tolist() == [[i, i + 0.5] for i in range(5)]
    assert sorted(writer.rows()) == [0, 1, 2, 3, 4]
    assert _arrays.RowWriter(0).result().shape == (0, 0)
    with pytest.raises(errors.Internal, match="different lengths"):
        _arrays.stack_rows([np.zeros((1, 2), np.float32), np.zeros((1, 3), np.float32)])
