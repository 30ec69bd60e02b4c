"""Output strategies: how embeddings are returned, chosen once per call.

``output="list"`` gives Python floats (a vector is ``list[float]``, a batch
``list[list[float]]``); ``output="numpy"`` gives float32 arrays (``(dim,)`` and ``(n, dim)``),
each reply decoded straight from its bytes (``textservice._encoding.arrays``). Everything the
engine does differently for the two lives in one strategy object: what an RPC's reply is
decoded as and how its rows are read, how a list's rows are collected as batches arrive (the
sink), how batches are joined, how identical texts' rows are fanned back out (``gather``),
what the format needs installed, how its vectors are made unit-length, and the result for no
texts. ``OUTPUTS`` is the table of formats, and ``output_for`` the one place a call's
``output=`` (and ``normalize=``) is turned into its strategy: a new format is a new strategy
here and a row in it, and nothing else changes.

``normalized(strategy)`` wraps either one so that every vector is scaled to unit length as
its batch arrives (``embed_content(..., normalize=True)``): lists in Python floats (double
precision), arrays in float32 (their norms computed in float64). A vector of zeros stays
zeros (it has no direction).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar, cast, overload

from textservice._engine.recipes import ChunkRpc
from textservice._numpy import require_numpy

# ``_encoding.arrays`` (and with it the grpclib codec and asyncio) is imported by the numpy
# strategy's methods, when a call asks for arrays, not when a facade is imported (issue 21).
if TYPE_CHECKING:
    from textservice._numpy import Float32Array
    from textservice._transport.connection import Reply

__all__ = [
    "LIST",
    "NUMPY",
    "OUTPUTS",
    "ListOutput",
    "NumpyOutput",
    "Output",
    "OutputStrategy",
    "Reader",
    "Sink",
    "check_output",
    "normalized",
    "output_for",
    "strategy",
    "unit_array",
    "unit_lists",
]

Output = Literal["list", "numpy"]
"""How embeddings are returned: lists of Python floats, or float32 numpy arrays."""

RawRows: TypeAlias = "list[list[float]] | Float32Array"
"""A reply's rows as read, before the engine checks them: lists, or an array decoded from
the reply's bytes."""

Vector: TypeAlias = "list[float] | Float32Array"
"""One text's embedding, in either output."""

V = TypeVar("V")
"""One vector of an output."""
R = TypeVar("R", bound=Sized)
"""A batch of vectors (rows) of an output."""


@dataclass(frozen=True)
class Reader:
    """How one RPC's reply is decoded and where its rows are."""

    reply: Reply[Any] | type[Any]
    """What the reply is decoded as: the response message class, or a stand-in for it."""
    rows: Callable[[Any], RawRows]
    """The decoded reply's rows."""


class Sink(ABC, Generic[R]):
    """A list result, filled at each input index as batches arrive (in any order)."""

    @abstractmethod
    def put(self, start: int, rows: R) -> None:
        """Keep ``rows`` as the vectors of inputs ``start ..``."""

    @abstractmethod
    def result(self) -> R:
        """Every vector, in input order (once every batch was put)."""

    @abstractmethod
    def received(self) -> dict[int, Vector]:
        """The vectors received so far, by input index (for a partial result)."""


class OutputStrategy(ABC, Generic[V, R]):
    """Everything the engine does differently for one output format."""

    name: Output

    def require(self) -> None:
        """Raise when what this format needs is not installed (nothing, by default)."""

    @abstractmethod
    def unit(self, rows: R) -> R:
        """``rows`` with every vector scaled to unit length (see ``normalized``)."""

    @abstractmethod
    def reader(self, rpc: ChunkRpc) -> Reader:
        """How ``rpc``'s replies are decoded and read."""

    @abstractmethod
    def rows(self, raw: RawRows) -> R:
        """A reply's rows, checked by the engine, in this format."""

    @abstractmethod
    def first(self, rows: R) -> V:
        """The one vector of a chunk of one text."""

    @abstractmethod
    def width(self, rows: R) -> int | None:
        """The length every vector of a call must share, read from a batch's rows (``None``:
        this format holds vectors of any lengths)."""

    @abstractmethod
    def sink(self, total: int) -> Sink[R]:
        """Where a list of ``total`` texts collects its rows."""

    @abstractmethod
    def join(self, parts: Sequence[R]) -> R:
        """Batches, one after the other, as one batch."""

    @abstractmethod
    def empty(self) -> R:
        """The result for no texts (no call is made)."""

    @abstractmethod
    def gather(self, picks: Sequence[tuple[R, int]], owned: R | None = None) -> R:
        """A batch whose row ``k`` is row ``i`` of ``rows`` for the ``k``-th pick ``(rows,
        i)``: identical texts' vectors fanned back out. Every row is a vector of its own
        (changing one never changes another); a row of ``owned`` may be used as it is the
        first time it is picked."""


class _ListSink(Sink[list[list[float]]]):
    def __init__(self, total: int) -> None:
        self.vectors: list[list[float] | None] = [None] * total

    def put(self, start: int, rows: list[list[float]]) -> None:
        self.vectors[start : start + len(rows)] = rows

    def result(self) -> list[list[float]]:
        return cast("list[list[float]]", self.vectors)

    def received(self) -> dict[int, Vector]:
        return {i: vector for i, vector in enumerate(self.vectors) if vector is not None}


class ListOutput(OutputStrategy[list[float], list[list[float]]]):
    """``output="list"``: Python floats, read from the response messages."""

    name: Output = "list"

    def reader(self, rpc: ChunkRpc) -> Reader:
        """The response message, its vectors read by the recipe."""
        return Reader(rpc.method.response_type, rpc.vectors)

    def rows(self, raw: RawRows) -> list[list[float]]:
        """The rows as read (a list reader gives lists)."""
        assert isinstance(raw, list)
        return raw

    def first(self, rows: list[list[float]]) -> list[float]:
        """The first vector."""
        return rows[0]

    def unit(self, rows: list[list[float]]) -> list[list[float]]:
        """``unit_lists``."""
        return unit_lists(rows)

    def width(self, rows: list[list[float]]) -> None:
        """``None``: lists are returned as the server sent them, whatever their lengths."""
        return None

    def sink(self, total: int) -> Sink[list[list[float]]]:
        """A list with a slot per input."""
        return _ListSink(total)

    def join(self, parts: Sequence[list[list[float]]]) -> list[list[float]]:
        """The vectors of every part, in order."""
        return [vector for part in parts for vector in part]

    def empty(self) -> list[list[float]]:
        """``[]``."""
        return []

    def gather(
        self, picks: Sequence[tuple[list[list[float]], int]], owned: list[list[float]] | None = None
    ) -> list[list[float]]:
        """The picked vectors; copies but for the first pick of each of ``owned``'s."""
        out: list[list[float]] = []
        used: set[int] = set()
        for rows, i in picks:
            if rows is owned and i not in used:
                used.add(i)
                out.append(rows[i])
            else:
                out.append(list(rows[i]))
        return out


class _ArraySink(Sink["Float32Array"]):
    def __init__(self, total: int) -> None:
        from textservice._encoding import arrays

        self.writer = arrays.RowWriter(total)

    def put(self, start: int, rows: Float32Array) -> None:
        self.writer.put(start, rows)

    def result(self) -> Float32Array:
        return self.writer.result()

    def received(self) -> dict[int, Vector]:
        return dict(self.writer.rows())


class NumpyOutput(OutputStrategy["Float32Array", "Float32Array"]):
    """``output="numpy"``: float32 arrays, decoded straight from the reply bytes."""

    name: Output = "numpy"

    def reader(self, rpc: ChunkRpc) -> Reader:
        """An array reply when the codec knows the response's layout (a singular embedding
        read as one row), else the response message read as lists (made an array by
        ``rows``)."""
        from textservice._encoding import arrays

        reply = arrays.array_reply(rpc.method.response_type)
        if reply is None:
            return Reader(rpc.method.response_type, rpc.vectors)
        if reply.layout.repeated:
            return Reader(reply, _as_rows)
        return Reader(reply, _one_row)

    def rows(self, raw: RawRows) -> Float32Array:
        """The rows as one ``(n, dim)`` array (``Internal`` for lists of different lengths)."""
        from textservice._encoding import arrays

        return arrays.rows_array(raw)

    def require(self) -> None:
        """numpy (``NumpyMissingError`` saying how to install it)."""
        require_numpy()

    def first(self, rows: Float32Array) -> Float32Array:
        """The first row, shape ``(dim,)``."""
        row: Float32Array = rows[0]
        return row

    def unit(self, rows: Float32Array) -> Float32Array:
        """``unit_array``."""
        return unit_array(rows)

    def width(self, rows: Float32Array) -> int:
        """The rows' width: the arrays of one call (its batches, or the whole list) must
        stack into one ``(n, dim)`` array."""
        return int(rows.shape[1])

    def sink(self, total: int) -> Sink[Float32Array]:
        """One ``(total, dim)`` array, made when the first batch arrives."""
        return _ArraySink(total)

    def join(self, parts: Sequence[Float32Array]) -> Float32Array:
        """The parts stacked (``Internal`` for parts of different widths)."""
        from textservice._encoding import arrays

        return arrays.stack_rows(parts)

    def empty(self) -> Float32Array:
        """Shape ``(0, 0)``: no call was made, so there is no dimension."""
        from textservice._encoding import arrays

        return arrays.vectors_array([])

    def gather(
        self, picks: Sequence[tuple[Float32Array, int]], owned: Float32Array | None = None
    ) -> Float32Array:
        """A new array of the picked rows."""
        from textservice._encoding import arrays

        return arrays.pick_rows(picks)


def _as_rows(decoded: Any) -> RawRows:
    return cast("RawRows", decoded)


def _one_row(vector: Float32Array) -> Float32Array:
    return vector.reshape(1, len(vector))


def unit_lists(rows: list[list[float]]) -> list[list[float]]:
    """Each vector divided by its Euclidean norm (a vector of zeros as it is)."""
    out = []
    for vector in rows:
        norm = math.hypot(*vector)
        out.append([value / norm for value in vector] if norm else vector)
    return out


def unit_array(rows: Float32Array) -> Float32Array:
    """Each row of a ``(n, dim)`` float32 array divided by its norm (rows of zeros as they are),
    as a new float32 array."""
    import numpy

    norms = numpy.linalg.norm(rows.astype(numpy.float64), axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    scaled: Float32Array = (rows / norms).astype(numpy.float32)
    return scaled


class _Normalized(OutputStrategy[V, R]):
    """``inner`` with every batch's vectors scaled to unit length (see the module docstring)."""

    def __init__(self, inner: OutputStrategy[V, R]) -> None:
        self.inner = inner
        self.name = inner.name

    def require(self) -> None:
        self.inner.require()

    def unit(self, rows: R) -> R:
        return self.inner.unit(rows)

    def reader(self, rpc: ChunkRpc) -> Reader:
        return self.inner.reader(rpc)

    def rows(self, raw: RawRows) -> R:
        return self.inner.unit(self.inner.rows(raw))

    def first(self, rows: R) -> V:
        return self.inner.first(rows)

    def width(self, rows: R) -> int | None:
        return self.inner.width(rows)

    def sink(self, total: int) -> Sink[R]:
        return self.inner.sink(total)

    def join(self, parts: Sequence[R]) -> R:
        return self.inner.join(parts)

    def empty(self) -> R:
        return self.inner.empty()

    def gather(self, picks: Sequence[tuple[R, int]], owned: R | None = None) -> R:
        return self.inner.gather(picks, owned)  # rows already scaled by ``rows``


LIST = ListOutput()
NUMPY = NumpyOutput()

OUTPUTS: Mapping[Output, OutputStrategy[Any, Any]] = {"list": LIST, "numpy": NUMPY}
"""Every output format by its name (the ``output=`` argument)."""


def normalized(strategy: OutputStrategy[V, R]) -> OutputStrategy[V, R]:
    """``strategy`` returning unit-length vectors."""
    return _Normalized(strategy)


@overload
def strategy(output: Literal["list"]) -> ListOutput: ...


@overload
def strategy(output: Literal["numpy"]) -> NumpyOutput: ...


@overload
def strategy(output: Output) -> OutputStrategy[Any, Any]: ...


def strategy(output: Output) -> OutputStrategy[Any, Any]:
    """The strategy of an output format checked by ``check_output`` (its row in ``OUTPUTS``)."""
    return OUTPUTS[output]


def check_output(output: object) -> Output:
    """A name in ``OUTPUTS`` (else ``ValueError``) whose format has what it needs installed
    (``"numpy"``: numpy, else ``NumpyMissingError`` naming how to install it)."""
    for name, chosen in OUTPUTS.items():
        if output == name and isinstance(output, str):
            chosen.require()
            return name
    names = " or ".join(repr(name) for name in OUTPUTS)
    raise ValueError(f"output must be {names}, got {output!r}")


def output_for(output: object, normalize: bool = False) -> OutputStrategy[Any, Any]:
    """The one output decision of a call: the strategy of ``output`` (checked by
    ``check_output``), returning unit-length vectors with ``normalize``."""
    chosen = strategy(check_output(output))
    return normalized(chosen) if normalize else chosen
