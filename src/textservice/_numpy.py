"""The optional numpy import: ``output="numpy"`` needs it, ``import textservice`` never loads it.

numpy is an extra (``pip install numpy``, or ``textservice[numpy]``). Code that makes arrays
imports it where it needs it; code that must say "numpy is missing" first calls
``require_numpy``, which names the way to install it.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeAlias

    import numpy
    import numpy.typing

    Float32Array: TypeAlias = numpy.typing.NDArray[numpy.float32]
    """A float32 array: one embedding ``(dim,)`` or rows of them ``(n, dim)``."""

__all__ = ["NUMPY_EXTRA", "Float32Array", "require_numpy"]

NUMPY_EXTRA = "pip install numpy"
"""How to get numpy for ``output="numpy"``."""


def require_numpy() -> ModuleType:
    """The numpy module, or an ``ImportError`` saying how to install it."""
    try:
        import numpy
    except ImportError as exc:
        raise ImportError(f"output='numpy' needs numpy: {NUMPY_EXTRA}") from exc
    return numpy
