"""``output="numpy"``: embedding responses decoded straight into float32 arrays.

numpy is optional (``textservice._numpy``): it is imported when an array is asked for, never
by ``import textservice``.

The canonical bytes of a (Batch)EmbedTextResponse are a run of embeddings, each
``0x0a <len> 0x0a <len> <dim little-endian float32s>`` (see ``textservice._encoding.codec``).
When every embedding has the same length, every one has the same header bytes and takes the
same number of bytes, so the floats of the whole response are one strided view of its bytes:
``decode_rows`` checks exactly that (the bytes are whole rows, every row's header equals the
first's) and copies the view into a C-contiguous native float32 array. No Python float is
made. Any other wire form (unpacked or split floats, unknown fields, embeddings of different
lengths) is parsed like the list output is (``Codec.decode``: its own fast path or
betterproto2) and converted with ``numpy.asarray``, so both outputs hold the same values.

``ArrayReply`` carries this to grpclib: it stands where a response message class would
(grpclib's codecs call ``message_type.FromString(data)``, ours included, for anything that is
not an embedding message), and its ``FromString`` returns the array.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import betterproto2

from textservice._encoding.codec import Codec, EmbeddingLayout, embedding_layout
from textservice._encoding.wire import WIRE_LEN, WireError, read_varint, tag
from textservice.errors import Internal

if TYPE_CHECKING:
    from textservice._numpy import Float32Array

__all__ = [
    "ArrayReply",
    "RowWriter",
    "array_reply",
    "decode_array",
    "decode_rows",
    "first_not_finite",
    "pick_rows",
    "ragged",
    "rows_array",
    "stack_rows",
    "vector_array",
    "vectors_array",
]

_KEY = tag(1, WIRE_LEN)[0]  # 0x0a: field 1, length-delimited (the embeddings, their values)


def decode_rows(data: bytes) -> Float32Array | None:
    """The embeddings of canonical bytes as a ``(rows, dim)`` float32 array, else ``None``.

    ``data`` is the body of an embedding-bearing response (see the module docstring). Bytes
    holding no embedding give shape ``(0, 0)``. ``None`` means another wire form (or
    embeddings of different lengths): the caller parses it the generic way.
    """
    import numpy

    end = len(data)
    if end == 0:
        return numpy.empty((0, 0), numpy.float32)
    if data[0] != _KEY:
        return None
    try:
        outer, body = read_varint(data, 1)
        stride = body + outer  # the bytes of one embedding, its key included
        if stride > end or end % stride:
            return None
        if outer == 0:  # an Embedding with no values
            header, dim = body, 0
        else:
            if data[body] != _KEY:
                return None
            inner, header = read_varint(data, body + 1)
            if header + inner != stride or inner % 4:
                return None
            dim = inner // 4
    except (WireError, IndexError):
        return None
    rows = end // stride
    if rows > 1:
        headers = numpy.ndarray((rows, header), numpy.uint8, buffer=data, strides=(stride, 1))
        if not (headers == headers[0]).all():
            return None
    if dim == 0:
        return numpy.empty((rows, 0), numpy.float32)
    values = numpy.ndarray(
        (rows, dim), numpy.dtype("<f4"), buffer=data, offset=header, strides=(stride, 4)
    )
    # One copy: C-contiguous, native byte order, and no reference to the response bytes.
    result: Float32Array = values.astype(numpy.float32)
    return result


def vectors_array(vectors: list[list[float]]) -> Float32Array:
    """Vectors of equal length as a ``(rows, dim)`` float32 array (``(0, 0)`` for none).

    Raises ``Internal`` for vectors of different lengths: they make no 2-D array, and the
    API gives every text of a model the same dimension.
    """
    import numpy

    if not vectors:
        return numpy.empty((0, 0), numpy.float32)
    dims = {len(v) for v in vectors}
    if len(dims) > 1:
        raise ragged(sorted(dims))
    return numpy.asarray(vectors, dtype=numpy.float32).reshape(len(vectors), dims.pop())


def rows_array(rows: Float32Array | list[list[float]]) -> Float32Array:
    """``rows`` as a ``(rows, dim)`` float32 array: an array as it is, lists converted
    (``Internal`` for lists of different lengths, as ``vectors_array``)."""
    if isinstance(rows, list):
        return vectors_array(rows)
    return rows


def vector_array(vector: list[float]) -> Float32Array:
    """One vector as a ``(dim,)`` float32 array."""
    import numpy

    return numpy.asarray(vector, dtype=numpy.float32).reshape(len(vector))


def stack_rows(parts: Sequence[Float32Array]) -> Float32Array:
    """2-D float32 arrays of the same width, one after the other (``Internal`` otherwise)."""
    import numpy

    widths = sorted({int(part.shape[1]) for part in parts})
    if len(widths) > 1:
        raise ragged(widths)
    joined: Float32Array = numpy.concatenate(parts)
    return joined


def pick_rows(picks: Sequence[tuple[Float32Array, int]]) -> Float32Array:
    """A new ``(len(picks), dim)`` array whose row ``k`` is row ``i`` of ``rows`` for the
    ``k``-th pick ``(rows, i)`` (``Internal`` for rows of different widths)."""
    import numpy

    widths = sorted({int(rows.shape[1]) for rows, _ in picks})
    if len(widths) > 1:
        raise ragged(widths)
    out: Float32Array = numpy.empty((len(picks), widths[0] if widths else 0), numpy.float32)
    for k, (rows, i) in enumerate(picks):
        out[k] = rows[i]
    return out


def first_not_finite(rows: Float32Array) -> int | None:
    """The index of the first row of a ``(rows, dim)`` array holding NaN or an infinity, or
    ``None`` when every value is finite."""
    import numpy

    finite = numpy.isfinite(rows)
    if finite.all():
        return None
    return int(numpy.flatnonzero(~finite.all(axis=1))[0])


def ragged(dims: list[int], details: Sequence[Any] = ()) -> Internal:
    """The error for embeddings of the lengths ``dims`` in one float32 result."""
    shown = ", ".join(map(str, dims))
    return Internal(
        f"the server returned embeddings of different lengths ({shown}), which make no "
        "float32 array; output='list' returns them as they are",
        details=details,
    )


_generic = Codec()


def decode_array(
    data: bytes, message_type: type[betterproto2.Message], layout: EmbeddingLayout
) -> Float32Array | list[list[float]]:
    """A response's embeddings as float32: ``(rows, dim)`` for a repeated field, else ``(dim,)``.

    Canonical bytes take ``decode_rows``; any other form is parsed as the list output is.
    Embeddings of different lengths, which no 2-D array holds, are returned as lists: the
    engine, which knows which texts they belong to, says what is wrong with them. An unset
    singular embedding gives shape ``(0,)`` (the list output gives ``[]``).
    """
    quick = decode_array_quick(data, layout)
    return quick if quick is not None else decode_array_slow(data, message_type, layout)


def decode_array_quick(data: bytes, layout: EmbeddingLayout) -> Float32Array | None:
    """``decode_array`` for canonical bytes (``decode_rows``), else ``None``."""
    rows = decode_rows(data)
    if rows is None:
        return None
    if layout.repeated:
        return rows
    if len(rows) == 1:
        row: Float32Array = rows[0]
        return row
    if len(rows) == 0:
        return vector_array([])
    return None  # the singular field sent more than once: betterproto2 decides what it means


def decode_array_slow(
    data: bytes, message_type: type[betterproto2.Message], layout: EmbeddingLayout
) -> Float32Array | list[list[float]]:
    """``decode_array`` for any bytes: parsed as the list output parses them."""
    message = _generic.decode(data, message_type)
    value = getattr(message, layout.field)
    if layout.repeated:
        vectors: list[list[float]] = [getattr(e, layout.values_field) for e in value]
        if len({len(vector) for vector in vectors}) > 1:
            return vectors
        return vectors_array(vectors)
    return vector_array([] if value is None else getattr(value, layout.values_field))


@dataclass(frozen=True)
class ArrayReply:
    """Stands for an embedding response type in an RPC; decodes the reply as a float32 array.

    grpclib's codecs (``textservice._encoding.codec.Codec`` and grpclib's ``ProtoCodec``) call
    ``message_type.FromString(data)``; this one returns ``decode_array(...)``. Its two halves
    are ``decode_quick`` and ``decode_slow`` (``codec.decode_quick`` / ``decode_slow``).
    """

    message_type: type[betterproto2.Message]
    layout: EmbeddingLayout

    def FromString(  # the name grpclib's codecs call
        self, data: bytes
    ) -> Float32Array | list[list[float]]:
        """The reply's embeddings as a float32 array (see ``decode_array``)."""
        return decode_array(data, self.message_type, self.layout)

    def FromJson(  # the name the REST transport calls (``rest.connection.decode_reply``)
        self, data: bytes
    ) -> Float32Array | list[list[float]]:
        """A REST reply's embeddings (proto3 JSON) as a float32 array: the parsed JSON arrays
        go to numpy at once, no message in between. Embeddings of different lengths come
        back as lists, as ``decode_array`` gives them."""
        import numpy

        # imported here: gRPC calls never need the JSON mapping (or orjson)
        from textservice._encoding import json_mapping

        parsed = json_mapping.loads(data)
        rows = json_mapping.embedding_values(self.layout, parsed)
        if len({len(row) for row in rows}) > 1:
            return json_mapping.read_embeddings(self.layout, parsed)
        values: array[float] = array("f")
        for row in rows:
            json_mapping.extend_float32(values, row)
            row.clear()  # the parsed row goes at once: a batch's values are not held twice
        flat: Float32Array = numpy.frombuffer(values, numpy.float32)
        if self.layout.repeated:
            width = len(flat) // len(rows) if rows else 0
            return flat.reshape(len(rows), width)
        return flat

    def decode_quick(self, data: bytes) -> Float32Array | None:
        """The array of canonical bytes, else ``None``."""
        return decode_array_quick(data, self.layout)

    def decode_slow(self, data: bytes) -> Float32Array | list[list[float]]:
        """The array (or lists) of any bytes."""
        return decode_array_slow(data, self.message_type, self.layout)


def array_reply(message_type: Any) -> ArrayReply | None:
    """The array reply for an embedding response type; ``None`` if its layout is not known."""
    layout = embedding_layout(message_type)
    return None if layout is None else ArrayReply(message_type, layout)


@dataclass
class RowWriter:
    """The rows of a list embedding, written into one ``(total, dim)`` array as batches finish.

    The array is made when the first batch arrives (its width is the dimension); the engine
    has checked that every batch of the call has that width.
    """

    total: int
    array: Float32Array | None = None
    written: list[tuple[int, int]] = field(default_factory=list)
    """``(start, count)`` of every batch written."""

    def put(self, start: int, rows: Float32Array) -> None:
        """Write ``rows`` (2-D float32) at row ``start``."""
        if self.array is None:
            import numpy

            self.array = numpy.empty((self.total, rows.shape[1]), numpy.float32)
        self.array[start : start + len(rows)] = rows
        self.written.append((start, len(rows)))

    def result(self) -> Float32Array:
        """The whole array (once every row is written); ``(0, 0)`` when ``total`` is 0."""
        if self.array is None:
            import numpy

            return numpy.empty((self.total, 0), numpy.float32)
        return self.array

    def rows(self) -> dict[int, Float32Array]:
        """Each row written so far by input index (views of the array), for a partial result."""
        if self.array is None:
            return {}
        array = self.array
        return {i: array[i] for start, count in self.written for i in range(start, start + count)}
